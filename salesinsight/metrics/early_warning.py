"""Early warning (智能预警): mid-quarter chance of reaching quota, drop alerts and attrition risk.

Three parts, all as of a date inside the current quarter (``as_of``):

1. **Chance of reaching quota.** Revenue won so far in the quarter, plus a Monte Carlo of what is still to
   come: each opportunity open at ``as_of`` is won before quarter end with probability
   ``pi x r_i`` (``pi`` = the company share of opportunities open at the same day of the quarter that were
   won by that quarter's end, over the previous quarters; ``r_i`` = the rep's empirical-Bayes shrunk win
   rate over the company win rate, so strong closers convert more), for its recorded amount; plus new
   business created after ``as_of`` and won within the quarter: a Poisson count with the rep's
   gamma-Poisson shrunk rate per quarter at the same phase, each deal an amount resampled from the rep's
   own won deals (company deals when the rep has fewer than five).
2. **Drop alerts** for activities, opportunities created and win rate, quarter-to-date versus the rep's
   own same-phase windows of the previous quarters, adjusted for the company-wide change (seasonality):
   counts by a conditional binomial (rate-ratio) test with a quasi-Poisson dispersion estimated from
   the reps' past windows; win rate by an exact conditional test (Fisher's noncentral hypergeometric,
   odds ratio fixed at the company-wide odds ratio current vs past).
   One-sided p-values for a drop; Benjamini-Hochberg across all reps and components (statsmodels
   ``multipletests``). A company-wide drop is absorbed by the adjustment and is not a rep alert.
3. **Attrition risk**: logistic regression (scikit-learn, standardised, median-imputed) of "leaves in the
   next quarter" on rep-quarter features, evaluated on a time split (train on earlier quarters, test on
   the latest ``test_quarters``) with AUC and Brier score (and the Brier of always predicting the
   training base rate), then refitted on all labelled quarters to score the last complete quarter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from salesinsight.metrics.shrinkage import fit_beta_binomial, fit_gamma_poisson

__all__ = [
    "ATTRITION_FEATURES",
    "EarlyWarning",
    "attrition_model",
    "drop_tests",
    "early_warning",
]

COMPONENT_WORDS = {
    "activities": "activities",
    "opps_created": "pipeline creation (opportunities created)",
    "win_rate": "win rate",
}
ATTRITION_FEATURES = (
    "attainment",
    "attainment_change",
    "activity_log_ratio",
    "win_rate",
    "log_revenue",
    "tenure_quarters",
    "team_attrition",
)


@dataclass(frozen=True)
class EarlyWarning:
    """Mid-quarter early warning for every active rep.

    Attributes
    ----------
    reps : DataFrame
        One row per active rep (see :meth:`to_frame`).
    alerts : DataFrame
        Significant drops after Benjamini-Hochberg: ``rep_id, team_id, component, observed, expected,
        change, p_value, p_adj, message``.
    tests : DataFrame
        Every test run (same columns plus ``alert``), for audit.
    attrition : mapping
        Evaluation of the attrition model on the time split: ``auc, brier, brier_base_rate, n_train,
        n_test, positives_train, positives_test, train_quarters, test_quarters, note``.
    as_of : date
    quarter : str
    spec : mapping
    """

    reps: pd.DataFrame
    alerts: pd.DataFrame
    tests: pd.DataFrame
    attrition: Mapping[str, Any]
    as_of: dt.date
    quarter: str
    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per active rep: ``rep_id, team_id, quarter, revenue_to_date, quota, open_pipeline,
        n_open, expected_revenue, revenue_low, revenue_high, p_reach_quota, n_alerts, alerts,
        p_attrition``."""
        return self.reps.copy()

    def summary(self) -> str:
        """Headline counts, the alerts in words and the attrition model's evaluation."""
        r = self.reps
        lines = [
            f"Early warning for {self.quarter} as of {self.as_of}: {len(r)} active reps; "
            f"median chance of reaching quota {r['p_reach_quota'].median():.0%}; "
            f"{int((r['p_reach_quota'] < 0.2).sum())} reps below 20%.",
            f"{len(self.alerts)} drop alert(s) out of {len(self.tests)} tests "
            f"(Benjamini-Hochberg, FDR {self.spec.get('fdr', 0.1):.0%}).",
        ]
        for a in self.alerts.sort_values("p_adj").head(10).itertuples():
            lines.append(f"  {a.rep_id}: {a.message}")
        ev = self.attrition
        if ev.get("auc") is not None and np.isfinite(ev.get("auc", np.nan)):
            lines.append(
                f"Attrition model (logistic, time split, test on {', '.join(ev['test_quarters'])}): "
                f"AUC {ev['auc']:.2f}, Brier {ev['brier']:.3f} (base-rate Brier "
                f"{ev['brier_base_rate']:.3f}), {ev['positives_test']} leavers in {ev['n_test']} "
                "test rep-quarters."
            )
        else:
            lines.append(f"Attrition model: {ev.get('note', 'not fitted')}.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        return "<pre>" + escape(self.summary()) + "</pre>"

    def plot(self, ax: Any = None) -> Any:
        """Chance of reaching quota per rep (sorted), reps with alerts highlighted. Returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        r = self.reps.sort_values("p_reach_quota").reset_index(drop=True)
        colors = np.where(r["n_alerts"] > 0, "tab:red", "tab:blue")
        ax.bar(np.arange(len(r)), r["p_reach_quota"], color=colors)
        ax.axhline(0.5, color="black", lw=0.8)
        ax.set_ylim(0, 1)
        ax.set_xlabel("reps (red: at least one drop alert)")
        ax.set_ylabel("P(reach quota)")
        ax.set_title(f"{self.quarter} as of {self.as_of}")
        return ax


# ----------------------------------------------------------------------------------------------------------
# Drop tests (pure, on per-rep window counts)
# ----------------------------------------------------------------------------------------------------------
def _count_tests(
    counts: pd.DataFrame, component: str, *, min_expected: float
) -> tuple[pd.DataFrame, float]:
    """Conditional binomial rate-ratio test of window 0 vs the rep's past windows (1..K)."""
    c = counts[["rep_id", "window", component]].rename(columns={component: "x"})
    m = c.groupby("window")["x"].mean()  # company mean per eligible rep, per window
    c = c.assign(m=c["window"].map(m))
    cur = c[c["window"] == 0].set_index("rep_id")
    past = c[c["window"] > 0]
    agg = past.groupby("rep_id").agg(x_past=("x", "sum"), m_past=("m", "sum"), k=("x", "size"))
    # quasi-Poisson dispersion from the past windows
    pe = past.merge(agg, on="rep_id")
    pe = pe[(pe["k"] >= 2) & (pe["x_past"] > 0)]
    e = pe["x_past"] * pe["m"] / pe["m_past"]
    chi2 = float(np.sum((pe["x"] - e) ** 2 / e))
    dof = float(agg.loc[agg.index.isin(pe["rep_id"]), "k"].sub(1).sum())
    phi = max(1.0, chi2 / dof) if dof > 0 else 1.0
    j = cur.join(agg, how="inner")
    j = j[j["m_past"] > 0]
    m0 = float(m.get(0, np.nan))
    expected = j["x_past"] * m0 / j["m_past"]
    n = j["x"] + j["x_past"]
    p0 = m0 / (m0 + j["m_past"])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (j["x"] - n * p0) / np.sqrt(phi * n * p0 * (1 - p0))
    out = pd.DataFrame(
        {
            "rep_id": j.index,
            "component": component,
            "observed": j["x"].to_numpy(float),
            "expected": expected.to_numpy(float),
            "p_value": stats.norm.cdf(z.to_numpy(float)),
        }
    )
    out["change"] = out["observed"] / out["expected"] - 1
    out = out[out["expected"] >= min_expected]
    return out, phi


def _win_rate_tests(counts: pd.DataFrame, *, min_closed: int) -> pd.DataFrame:
    """Exact conditional test of the current win rate vs the rep's own past, company shift removed."""
    cur = counts[counts["window"] == 0].set_index("rep_id")
    past = counts[counts["window"] > 0].groupby("rep_id")[["opps_won", "opps_closed"]].sum()
    comp_cur = cur["opps_won"].sum() / max(cur["opps_closed"].sum(), 1)
    comp_past = past["opps_won"].sum() / max(past["opps_closed"].sum(), 1)
    if not (0 < comp_cur < 1 and 0 < comp_past < 1):
        return pd.DataFrame(columns=["rep_id", "component", "observed", "expected", "p_value"])
    shift = special.logit(comp_cur) - special.logit(comp_past)
    j = cur[["opps_won", "opps_closed"]].merge(
        past.add_suffix("_past"), left_index=True, right_index=True, how="inner"
    )
    j = j[(j["opps_closed"] >= min_closed) & (j["opps_closed_past"] >= min_closed)]
    x, n = j["opps_won"], j["opps_closed"]
    xp, n_p = j["opps_won_past"], j["opps_closed_past"]
    # exact conditional test: given the margins, current wins follow Fisher's noncentral
    # hypergeometric law with odds ratio exp(shift) under "no change beyond the company's"
    cdf = stats.nchypergeom_fisher.cdf(
        x.to_numpy(int),
        (n + n_p).to_numpy(int),
        (x + xp).to_numpy(int),
        n.to_numpy(int),
        float(np.exp(shift)),
    )
    expected = special.expit(special.logit(np.clip(xp / n_p, 1e-3, 1 - 1e-3)) + shift)
    out = pd.DataFrame(
        {
            "rep_id": j.index,
            "component": "win_rate",
            "observed": (x / n).to_numpy(float),
            "expected": np.asarray(expected, dtype=float),
            "p_value": np.asarray(cdf, dtype=float),
        }
    )
    out["change"] = out["observed"] - out["expected"]  # probability points
    return out


def drop_tests(
    counts: pd.DataFrame,
    *,
    fdr: float = 0.1,
    min_expected: float = 5.0,
    min_closed: int = 5,
    components: tuple[str, ...] = ("activities", "opps_created", "win_rate"),
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Test every rep and component for a drop and control the FDR with Benjamini-Hochberg.

    Parameters
    ----------
    counts : DataFrame
        One row per rep and window in which the rep was employed throughout: ``rep_id``, ``window``
        (0 = current quarter-to-date, 1..K = the same phase of the K previous quarters), and the counts
        ``activities``, ``opps_created``, ``opps_won``, ``opps_closed``.
    fdr : float
        Benjamini-Hochberg false discovery rate over all tests.
    min_expected, min_closed : float, int
        Tests with fewer expected counts / closed opportunities (now or in the past) are not run.

    Returns
    -------
    (tests, dispersion) : DataFrame with ``rep_id, component, observed, expected, change, p_value,
        p_adj, alert, message``; dict of quasi-Poisson dispersion per count component.
    """
    from statsmodels.stats.multitest import multipletests

    needed = {"rep_id", "window", "activities", "opps_created", "opps_won", "opps_closed"}
    missing = needed - set(counts.columns)
    if missing:
        raise ValueError(f"drop_tests: counts lack column(s) {sorted(missing)}")
    parts, phis = [], {}
    for comp in components:
        if comp == "win_rate":
            parts.append(_win_rate_tests(counts, min_closed=min_closed))
        else:
            t, phis[comp] = _count_tests(counts, comp, min_expected=min_expected)
            parts.append(t)
    tests = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame()
    cols = ["rep_id", "component", "observed", "expected", "change", "p_value", "p_adj", "alert"]
    if tests.empty:
        return pd.DataFrame(columns=[*cols, "message"]), phis
    tests["p_value"] = tests["p_value"].clip(0, 1)
    reject, p_adj, _, _ = multipletests(tests["p_value"].to_numpy(), alpha=fdr, method="fdr_bh")
    tests["p_adj"] = p_adj
    tests["alert"] = reject
    tests["message"] = [_message(r) for r in tests.itertuples()]
    tests = tests.sort_values(["p_value", "rep_id", "component"], kind="mergesort")
    return tests[[*cols, "message"]].reset_index(drop=True), phis


def _message(r: Any) -> str:
    word = COMPONENT_WORDS.get(r.component, r.component)
    if r.component == "win_rate":
        return (
            f"{word} {abs(r.change) * 100:.0f} pp {'below' if r.change < 0 else 'above'} own baseline "
            f"({r.observed:.0%} vs {r.expected:.0%} expected, p_adj={r.p_adj:.2g})"
        )
    return (
        f"{word} {abs(r.change):.0%} {'below' if r.change < 0 else 'above'} own baseline "
        f"({r.observed:.0f} vs {r.expected:.0f} expected, p_adj={r.p_adj:.2g})"
    )


# ----------------------------------------------------------------------------------------------------------
# Attrition model (pure, on a rep-quarter feature frame)
# ----------------------------------------------------------------------------------------------------------
def attrition_model(
    features: pd.DataFrame,
    *,
    label: str = "left_next",
    time: str = "period",
    feature_names: tuple[str, ...] = ATTRITION_FEATURES,
    test_quarters: int = 2,
    seed: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """Fit and evaluate a logistic attrition model on a time split.

    Parameters
    ----------
    features : DataFrame
        One row per rep-quarter with ``time`` (sortable label), the ``feature_names`` and a 0/1
        ``label`` (rows whose label is unknown are NaN and ignored).
    test_quarters : int
        The latest ``test_quarters`` labelled quarters form the test set.

    Returns
    -------
    (model, evaluation) : the pipeline refitted on all labelled rows (None when it cannot be fitted)
        and a dict with ``auc, brier, brier_base_rate, n_train, n_test, positives_train,
        positives_test, train_quarters, test_quarters, note``.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lab = features[features[label].notna()].copy()
    times = sorted(lab[time].astype(str).unique())
    ev: dict[str, Any] = {
        "auc": np.nan,
        "brier": np.nan,
        "brier_base_rate": np.nan,
        "n_train": 0,
        "n_test": 0,
        "positives_train": 0,
        "positives_test": 0,
        "train_quarters": [],
        "test_quarters": [],
        "note": "",
    }

    def make() -> Any:
        return make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(),
            LogisticRegression(C=1.0, max_iter=1000, random_state=seed),
        )

    x_all = lab[list(feature_names)].to_numpy(float)
    y_all = lab[label].to_numpy(int)
    if len(times) <= test_quarters or y_all.sum() < 5 or y_all.sum() == len(y_all):
        ev["note"] = "too few labelled quarters or leavers to fit and evaluate"
        return None, ev
    test_t = times[-test_quarters:]
    is_test = lab[time].astype(str).isin(test_t).to_numpy()
    ytr, yte = y_all[~is_test], y_all[is_test]
    ev.update(
        n_train=int((~is_test).sum()),
        n_test=int(is_test.sum()),
        positives_train=int(ytr.sum()),
        positives_test=int(yte.sum()),
        train_quarters=times[:-test_quarters],
        test_quarters=test_t,
    )
    if ytr.sum() >= 2 and ytr.sum() < len(ytr):
        model = make().fit(x_all[~is_test], ytr)
        p = model.predict_proba(x_all[is_test])[:, 1]
        ev["brier"] = float(brier_score_loss(yte, p))
        ev["brier_base_rate"] = float(brier_score_loss(yte, np.full(len(yte), ytr.mean())))
        ev["mean_predicted_test"] = float(p.mean())
        ev["observed_rate_test"] = float(yte.mean())
        if 0 < yte.sum() < len(yte):
            ev["auc"] = float(roc_auc_score(yte, p))
        else:
            ev["note"] = "test quarters have no leavers (or only leavers): AUC undefined"
    else:
        ev["note"] = "training quarters have too few leavers"
    final = make().fit(x_all, y_all)
    return final, ev


# ----------------------------------------------------------------------------------------------------------
# Gathering from a dataset (DuckDB)
# ----------------------------------------------------------------------------------------------------------
def _windows(as_of: dt.date, n_history: int, m: int) -> tuple[str, pd.DataFrame]:
    from salesinsight.calendar import quarter_bounds, quarter_label

    label = quarter_label(as_of, m)
    qs, qe = quarter_bounds(label, m)
    phase = (as_of - qs).days
    rows = [{"window": 0, "quarter": label, "s": qs, "e": as_of, "qe": qe}]
    lab = label
    from salesinsight.calendar import previous_quarter

    for k in range(1, n_history + 1):
        lab = previous_quarter(lab, m)
        s, e = quarter_bounds(lab, m)
        rows.append(
            {
                "window": k,
                "quarter": lab,
                "s": s,
                "e": min(s + dt.timedelta(days=phase), e),
                "qe": e,
            }
        )
    return label, pd.DataFrame(rows)


def _values_sql(w: pd.DataFrame) -> str:
    vals = ", ".join(
        f"({int(r.window)}, DATE '{r.s.isoformat()}', DATE '{r.e.isoformat()}', "
        f"DATE '{r.qe.isoformat()}')"
        for r in w.itertuples()
    )
    return f"(VALUES {vals}) AS w(k, s, e, qe)"


def _window_counts(data: Any, w: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    v = _values_sql(w)
    q = f"""
        WITH w AS (SELECT * FROM {v}),
        cre AS (
            SELECT w.k, o.rep_id, count(*) AS opps_created
            FROM opportunities o JOIN w ON o.created_date BETWEEN w.s AND w.e GROUP BY ALL),
        clo AS (
            SELECT w.k, o.rep_id, count(*) FILTER (WHERE o.status = 'won') AS opps_won,
                   count(*) AS opps_closed
            FROM opportunities o JOIN w ON o.close_date BETWEEN w.s AND w.e
            WHERE o.status IN ('won', 'lost') GROUP BY ALL)
        SELECT coalesce(cre.k, clo.k) AS k, coalesce(cre.rep_id, clo.rep_id) AS rep_id,
               opps_created, opps_won, opps_closed
        FROM cre FULL OUTER JOIN clo ON cre.k = clo.k AND cre.rep_id = clo.rep_id
    """
    opp = data.sql(q)
    if data.has("activities"):
        act = data.sql(
            f"""WITH w AS (SELECT * FROM {v})
                SELECT w.k, a.rep_id, count(*) AS activities
                FROM activities a JOIN w ON a.activity_date BETWEEN w.s AND w.e GROUP BY ALL"""
        )
    else:
        act = pd.DataFrame(columns=["k", "rep_id", "activities"])
    # eligible rep-windows: employed for the whole window
    grid = reps[["rep_id", "hire_date", "termination_date"]].merge(w, how="cross")
    emp = (grid["hire_date"] <= grid["s"]) & (
        grid["termination_date"].isna() | (grid["termination_date"] > grid["e"])
    )
    grid = grid.loc[emp, ["rep_id", "window"]]
    out = grid.merge(
        opp.rename(columns={"k": "window"}), on=["rep_id", "window"], how="left"
    ).merge(act.rename(columns={"k": "window"}), on=["rep_id", "window"], how="left")
    for c in ("activities", "opps_created", "opps_won", "opps_closed"):
        out[c] = pd.to_numeric(out[c]).fillna(0).astype(float)
    return out


def _quota_outlook(
    data: Any,
    w: pd.DataFrame,
    active: pd.DataFrame,
    *,
    n_draws: int,
    seed: int,
    interval: float,
) -> pd.DataFrame:
    """Monte Carlo distribution of the quarter's revenue for each active rep."""
    cur = w.iloc[0]
    qs, as_of, qe = cur["s"], cur["e"], cur["qe"]
    v = _values_sql(w)
    # history: open at the same phase and won by quarter end, and new business after the phase
    hist = data.sql(
        f"""
        WITH w AS (SELECT * FROM {v} WHERE k > 0)
        SELECT w.k, o.rep_id,
          count(*) FILTER (WHERE o.created_date <= w.e
                           AND (o.status = 'open' OR o.close_date > w.e)) AS n_open,
          count(*) FILTER (WHERE o.created_date <= w.e AND o.status = 'won'
                           AND o.close_date > w.e AND o.close_date <= w.qe) AS n_open_won,
          count(*) FILTER (WHERE o.created_date > w.e AND o.status = 'won'
                           AND o.close_date <= w.qe) AS n_new_won
        FROM opportunities o JOIN w ON o.created_date <= w.qe
        GROUP BY ALL
        """
    )
    pi = float(hist["n_open_won"].sum() / max(hist["n_open"].sum(), 1))
    first_start = w["s"].min()
    wr = data.sql(
        """SELECT rep_id, count(*) FILTER (WHERE status = 'won') AS won, count(*) AS closed
           FROM opportunities WHERE status IN ('won', 'lost') AND close_date BETWEEN ? AND ?
           GROUP BY rep_id""",
        [first_start, as_of],
    ).set_index("rep_id")
    won_amts = data.sql(
        """SELECT rep_id, amount FROM opportunities
           WHERE status = 'won' AND close_date BETWEEN ? AND ? AND amount IS NOT NULL""",
        [first_start, as_of],
    )
    so_far = data.sql(
        """SELECT rep_id, sum(amount) AS revenue_to_date FROM opportunities
           WHERE status = 'won' AND close_date BETWEEN ? AND ? GROUP BY rep_id""",
        [qs, as_of],
    ).set_index("rep_id")["revenue_to_date"]
    open_now = data.sql(
        """SELECT rep_id, amount FROM opportunities
           WHERE created_date <= ? AND (status = 'open' OR close_date > ?)""",
        [as_of, as_of],
    )
    quota = pd.Series(dtype=float)
    if data.has("quotas"):
        quota = data.sql(
            """SELECT rep_id, sum(quota_amount
                   * (date_diff('day', greatest(period_start, ?), least(period_end, ?)) + 1)
                   / (date_diff('day', period_start, period_end) + 1)) AS quota
               FROM quotas WHERE period_start <= ? AND period_end >= ?
               GROUP BY rep_id""",
            [qs, qe, qe, qs],
        ).set_index("rep_id")["quota"]

    ids = active["rep_id"].to_numpy()
    # shrunk win rates (beta-binomial across active reps)
    k = wr["won"].reindex(ids).fillna(0).to_numpy(float)
    n = wr["closed"].reindex(ids).fillna(0).to_numpy(float)
    comp_wr = k.sum() / max(n.sum(), 1)
    if n.sum() > 0 and (n > 0).sum() >= 2:
        a, b = fit_beta_binomial(k, n)
        shrunk_wr = (a + k) / (a + b + n)
    else:
        shrunk_wr = np.full(len(ids), comp_wr)
    ratio = shrunk_wr / comp_wr if comp_wr > 0 else np.ones(len(ids))
    # new business: gamma-Poisson over past windows
    nb = hist.groupby("rep_id")["n_new_won"].sum().reindex(ids).fillna(0).to_numpy(float)
    nwin = hist.groupby("rep_id")["k"].nunique().reindex(ids).fillna(0).to_numpy(float)
    if (nwin > 0).sum() >= 2 and nb.sum() > 0:
        ga, gb = fit_gamma_poisson(nb, nwin)
        lam = (ga + nb) / (gb + nwin)
    else:
        lam = np.full(len(ids), nb.sum() / max(nwin.sum(), 1))

    company_amts = won_amts["amount"].to_numpy(float)
    by_rep = {r: g["amount"].to_numpy(float) for r, g in won_amts.groupby("rep_id")}
    open_by_rep = {r: g["amount"].to_numpy(float) for r, g in open_now.groupby("rep_id")}
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    rows = []
    for idx, rep in enumerate(ids):
        own = by_rep.get(rep, np.array([]))
        pool = own if own.size >= 5 else company_amts
        fallback = float(pool.mean()) if pool.size else 0.0
        amts = open_by_rep.get(rep, np.array([]))
        amts = np.where(np.isfinite(amts), amts, fallback)
        p_win = float(min(pi * ratio[idx], 0.95))
        wins = rng.random((n_draws, amts.size)) < p_win
        from_open = wins.astype(float) @ amts if amts.size else np.zeros(n_draws)
        cnt = rng.poisson(lam[idx], n_draws)
        tot = int(cnt.sum())
        if tot and pool.size:
            sizes = rng.choice(pool, size=tot, replace=True)
            new = np.bincount(np.repeat(np.arange(n_draws), cnt), weights=sizes, minlength=n_draws)
        else:
            new = np.zeros(n_draws)
        done = float(so_far.get(rep, 0.0) or 0.0)
        total = done + from_open + new
        qv = float(quota.get(rep, np.nan)) if len(quota) else np.nan
        rows.append(
            {
                "rep_id": rep,
                "revenue_to_date": done,
                "quota": qv,
                "open_pipeline": float(amts.sum()),
                "n_open": int(amts.size),
                "p_open_win": p_win,
                "new_deals_expected": float(lam[idx]),
                "expected_revenue": float(total.mean()),
                "revenue_low": float(np.quantile(total, lo_q)),
                "revenue_high": float(np.quantile(total, hi_q)),
                "p_reach_quota": float(np.mean(total >= qv)) if qv > 0 else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["pi"] = pi
    return out


def _attrition_features(data: Any, reps: pd.DataFrame, m: int, current: str) -> pd.DataFrame:
    """Rep-quarter features and the next-quarter-leaver label from the quarter panel."""
    from salesinsight.calendar import next_quarter, quarter_bounds
    from salesinsight.metrics.forecast import observed_periods
    from salesinsight.metrics.panel import panel

    full = panel(data, grain="quarter", by="rep", fiscal_year_start_month=m)
    full["period"] = full["period"].astype(str)
    full = full[full["period"].isin(set(observed_periods(full)))]
    p = full[full["active"].astype(bool)].copy()
    p = p.sort_values(["rep_id", "period_start"])
    bounds = {q: quarter_bounds(q, m) for q in p["period"].unique()}
    p["q_end"] = p["period"].map(lambda q: bounds[q][1])
    r = reps.set_index("rep_id")
    term = pd.to_datetime(p["rep_id"].map(r["termination_date"]))
    hire = pd.to_datetime(p["rep_id"].map(r["hire_date"]))
    q_end = pd.to_datetime(p["q_end"])
    # drop quarters in which the rep already left
    p = p[~(term <= q_end)].copy()
    term, hire, q_end = term[p.index], hire[p.index], q_end[p.index]
    nxt = {q: quarter_bounds(next_quarter(q, m), m) for q in p["period"].unique()}
    nxt_end = pd.to_datetime(p["period"].map(lambda q: nxt[q][1]))
    cur_start = pd.Timestamp(quarter_bounds(current, m)[0])
    observable = nxt_end < cur_start
    p["left_next"] = np.where(observable, (term <= nxt_end).astype(float), np.nan)
    g = p.groupby("rep_id")
    att = pd.to_numeric(p["attainment"], errors="coerce").clip(upper=5)
    p["attainment"] = att
    p["attainment_change"] = att - g["attainment"].shift(1).clip(upper=5)
    acts = pd.to_numeric(p["activities"], errors="coerce").astype(float)
    p["activity_log_ratio"] = np.log1p(acts) - np.log1p(g["activities"].shift(1).astype(float))
    p["win_rate"] = pd.to_numeric(p["win_rate"], errors="coerce")
    p["log_revenue"] = np.log1p(pd.to_numeric(p["revenue"], errors="coerce").astype(float))
    p["tenure_quarters"] = (q_end - hire).dt.days / 91.3
    # team attrition in the quarter (leavers among the team's reps active that quarter), from reps
    all_rows = full[full["active"].astype(bool)].copy()
    s_e = all_rows["period"].map(lambda q: bounds.get(q, quarter_bounds(q, m)))
    t_all = pd.to_datetime(all_rows["rep_id"].map(r["termination_date"]))
    left = (t_all >= pd.to_datetime(s_e.map(lambda b: b[0]))) & (
        t_all <= pd.to_datetime(s_e.map(lambda b: b[1]))
    )
    all_rows["left"] = left.astype(float)
    team = all_rows.groupby(["team_id", "period"])["left"].mean()
    p["team_attrition"] = [
        team.get((t, q), np.nan) for t, q in zip(p["team_id"], p["period"], strict=True)
    ]
    return p[["rep_id", "team_id", "period", "period_start", *ATTRITION_FEATURES, "left_next"]]


def early_warning(
    data: Any,
    *,
    as_of: str | dt.date = "2026-05-15",
    fdr: float = 0.1,
    n_history: int = 4,
    min_expected: float = 5.0,
    min_closed: int = 5,
    interval: float = 0.9,
    test_quarters: int = 2,
    n_draws: int = 4000,
    seed: int = 0,
    fiscal_year_start_month: int = 1,
) -> EarlyWarning:
    """Mid-quarter early warning for every rep employed on ``as_of``.

    Parameters
    ----------
    data : Dataset
        Loaded data folder (needs ``reps`` and ``opportunities``; ``activities`` and ``quotas`` switch on
        activity alerts and quota probabilities).
    as_of : date or ISO string
        The day of the warning; only information up to this day is used for the current quarter.
    fdr : float
        Benjamini-Hochberg false discovery rate across all reps and components.
    n_history : int
        Number of previous quarters whose same-phase windows form each rep's own baseline.
    min_expected, min_closed : float, int
        Minimum expected count / closed opportunities for a test to be run.
    interval : float
        Mass of the revenue interval.
    test_quarters : int
        Latest labelled quarters held out to evaluate the attrition model.
    n_draws, seed : int
        Monte Carlo size and seed.

    Returns
    -------
    EarlyWarning
    """
    from salesinsight.calendar import to_date

    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be in (0, 1), got {fdr}")
    as_of_d = to_date(as_of)
    m = fiscal_year_start_month
    for t in ("reps", "opportunities"):
        if not data.has(t):
            raise ValueError(f"early_warning needs the {t!r} table, which the data folder lacks")
    reps = data.sql("SELECT rep_id, team_id, hire_date, termination_date FROM reps")
    for c in ("hire_date", "termination_date"):
        reps[c] = pd.to_datetime(reps[c]).dt.date
    label, w = _windows(as_of_d, n_history, m)
    active = reps[
        (reps["hire_date"] <= as_of_d)
        & (reps["termination_date"].isna() | (reps["termination_date"] > as_of_d))
    ].sort_values("rep_id")
    counts = _window_counts(data, w, reps)
    comps = (
        ("activities", "opps_created", "win_rate")
        if data.has("activities")
        else (
            "opps_created",
            "win_rate",
        )
    )
    counts = counts[counts["rep_id"].isin(set(active["rep_id"]))]
    tests, phis = drop_tests(
        counts, fdr=fdr, min_expected=min_expected, min_closed=min_closed, components=comps
    )
    team = active.set_index("rep_id")["team_id"]
    tests.insert(1, "team_id", tests["rep_id"].map(team))
    alerts = tests[tests["alert"].astype(bool)].drop(columns="alert").reset_index(drop=True)

    outlook = _quota_outlook(data, w, active, n_draws=n_draws, seed=seed, interval=interval)
    feats = _attrition_features(data, reps, m, label)
    model, ev = attrition_model(feats, test_quarters=test_quarters, seed=seed)
    last_complete = w.iloc[1]["quarter"]
    score = feats[(feats["period"] == last_complete) & feats["rep_id"].isin(set(active["rep_id"]))]
    p_attr = pd.Series(dtype=float)
    if model is not None and len(score):
        p_attr = pd.Series(
            model.predict_proba(score[list(ATTRITION_FEATURES)].to_numpy(float))[:, 1],
            index=score["rep_id"].to_numpy(),
        )

    out = active[["rep_id", "team_id"]].reset_index(drop=True)
    out.insert(2, "quarter", label)
    out = out.merge(outlook, on="rep_id", how="left")
    n_al = alerts.groupby("rep_id").size()
    out["n_alerts"] = out["rep_id"].map(n_al).fillna(0).astype(int)
    msgs = alerts.groupby("rep_id")["message"].agg("; ".join)
    out["alerts"] = [str(msgs.get(r, "")) for r in out["rep_id"]]
    out["p_attrition"] = out["rep_id"].map(p_attr).astype(float)
    spec = {
        "as_of": as_of_d.isoformat(),
        "fdr": fdr,
        "n_history": n_history,
        "min_expected": min_expected,
        "min_closed": min_closed,
        "interval": interval,
        "test_quarters": test_quarters,
        "n_draws": n_draws,
        "seed": seed,
        "fiscal_year_start_month": m,
        "dispersion": phis,
        "pipeline_conversion": outlook.attrs.get("pi"),
        "attrition_score_quarter": last_complete,
        "windows": [
            (int(r.window), r.quarter, r.s.isoformat(), r.e.isoformat()) for r in w.itertuples()
        ],
    }
    return EarlyWarning(
        reps=out,
        alerts=alerts,
        tests=tests,
        attrition=ev,
        as_of=as_of_d,
        quarter=label,
        spec=spec,
    )
