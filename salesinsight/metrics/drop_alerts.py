"""Drop alerts (智能预警, part 2): own-history drop tests with Benjamini-Hochberg.

Activities, opportunities created and win rate, quarter-to-date versus the rep's own same-phase
windows of the previous quarters, adjusted for the company-wide change (seasonality): counts by a
conditional binomial (rate-ratio) test with a quasi-Poisson dispersion estimated from the reps' past
windows; win rate by an exact conditional test (Fisher's noncentral hypergeometric, odds ratio fixed at
the company-wide odds ratio current vs past). One-sided p-values for a drop; Benjamini-Hochberg across
all reps and components (statsmodels ``multipletests``). A company-wide drop is absorbed by the
adjustment and is not a rep alert.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from salesinsight.metrics._phase_windows import _values_sql

__all__ = ["COMPONENT_WORDS", "drop_tests"]

COMPONENT_WORDS = {
    "activities": "activities",
    "opps_created": "pipeline creation (opportunities created)",
    "win_rate": "win rate",
}


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
# Gathering from a dataset (DuckDB)
# ----------------------------------------------------------------------------------------------------------
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
