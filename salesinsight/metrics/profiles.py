"""Capability profiles (能力画像): per-rep funnel rates with empirical-Bayes shrinkage.

Each funnel stage of a rep in one quarter is a noisy measurement of the rep's true rate. A rep with three
closed deals and three wins does not have a true win rate of 100%. We shrink every rep toward the rate of
their team (or of the company when the team is small) by exactly as much as the data warrant, with priors
fitted to all reps by marginal maximum likelihood (empirical Bayes):

* proportions (win rate, follow-up share): beta-binomial, posterior ``Beta(a + k, b + n - k)``;
* counts per exposure (activities, opportunities created per activity): gamma-Poisson, posterior
  ``Gamma(a + y, b + E)``;
* amounts (deal size, cycle days, CSAT): normal-normal with each rep's own sampling variance
  ``s_i^2 = sigma_w^2 / n_i``, posterior mean ``(y/s^2 + mu/tau^2) / (1/s^2 + 1/tau^2)``.

Shrunk values are then ranked among all reps of the quarter, turned into strengths and weak spots in
words, archetypes ("high activity, low conversion" ...) and a high-potential probability
``P(true win rate > company top-quartile true win rate)`` from the posterior.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "STAGES",
    "Profiles",
    "Stage",
    "fit_beta_binomial",
    "fit_gamma_poisson",
    "fit_normal_normal",
    "profiles",
]


# ----------------------------------------------------------------------------------------------------------
# Empirical-Bayes building blocks (pure functions, tested by hand)
# ----------------------------------------------------------------------------------------------------------
def fit_beta_binomial(
    k: np.ndarray, n: np.ndarray, *, max_kappa: float = 1e5
) -> tuple[float, float]:
    """Fit the beta prior ``Beta(a, b)`` of a beta-binomial by marginal maximum likelihood.

    Parameters
    ----------
    k, n : array of shape (m,)
        Successes and trials per unit (units with ``n == 0`` carry no information and are ignored).
    max_kappa : float
        Upper bound of the prior strength ``a + b`` (reached when units show no extra-binomial spread).

    Returns
    -------
    (a, b) : tuple of float
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if k.size == 0:
        raise ValueError("fit_beta_binomial: no unit has n > 0")
    p = k.sum() / n.sum()
    p = float(np.clip(p, 1e-4, 1 - 1e-4))
    if k.size == 1:
        return p * max_kappa, (1 - p) * max_kappa

    lo_k, hi_k = np.log(0.1), np.log(max_kappa)
    const = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)

    def nll(theta: np.ndarray) -> float:
        mu = special.expit(np.clip(theta[0], -12.0, 12.0))
        kappa = np.exp(np.clip(theta[1], lo_k, hi_k))
        a, b = mu * kappa, (1 - mu) * kappa
        ll = (
            const
            + special.gammaln(k + a)
            + special.gammaln(n - k + b)
            - special.gammaln(n + kappa)
            - special.gammaln(a)
            - special.gammaln(b)
            + special.gammaln(kappa)
        )
        return -float(np.sum(ll))

    start = np.array([special.logit(p), np.log(20.0)])
    # Nelder-Mead on a 2-parameter smooth likelihood: robust and cheap; bounds by clipping
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000}
    )
    res.x = np.array([np.clip(res.x[0], -12.0, 12.0), np.clip(res.x[1], lo_k, hi_k)])
    mu = float(special.expit(res.x[0]))
    kappa = float(np.exp(res.x[1]))
    return mu * kappa, (1 - mu) * kappa


def fit_gamma_poisson(
    y: np.ndarray, exposure: np.ndarray, *, max_shape: float = 1e5
) -> tuple[float, float]:
    """Fit the gamma prior ``Gamma(shape=a, rate=b)`` of ``y ~ Poisson(exposure * lam)`` by marginal ML.

    The marginal of ``y`` is negative binomial with ``n = a`` and ``p = b / (b + exposure)``.

    Returns
    -------
    (a, b) : tuple of float, prior mean ``a / b`` in units of ``y`` per unit of exposure.
    """
    y = np.asarray(y, dtype=float)
    e = np.asarray(exposure, dtype=float)
    keep = e > 0
    y, e = y[keep], e[keep]
    if y.size == 0:
        raise ValueError("fit_gamma_poisson: no unit has exposure > 0")
    rate = max(y.sum() / e.sum(), 1e-8)
    if y.size == 1:
        return max_shape, max_shape / rate

    lo_a, hi_a = np.log(0.05), np.log(max_shape)
    lr = np.log(rate)
    const = -special.gammaln(y + 1)

    def nll(theta: np.ndarray) -> float:
        mu = np.exp(np.clip(theta[0], lr - 10, lr + 10))
        a = np.exp(np.clip(theta[1], lo_a, hi_a))
        b = a / mu
        # negative binomial: Gamma(y + a) / (Gamma(a) y!) (b / (b + e))^a (e / (b + e))^y
        ll = (
            special.gammaln(y + a)
            - special.gammaln(a)
            + const
            + a * np.log(b / (b + e))
            + special.xlogy(y, e / (b + e))
        )
        return -float(np.sum(ll))

    start = np.array([lr, np.log(5.0)])
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000}
    )
    res.x = np.array([np.clip(res.x[0], lr - 10, lr + 10), np.clip(res.x[1], lo_a, hi_a)])
    mu = float(np.exp(res.x[0]))
    a = float(np.exp(res.x[1]))
    return a, a / mu


def fit_normal_normal(y: np.ndarray, s2: np.ndarray) -> tuple[float, float]:
    """Fit ``y_i ~ N(mu, tau^2 + s2_i)`` by maximum likelihood.

    Parameters
    ----------
    y : array of shape (m,)
        Unit estimates.
    s2 : array of shape (m,)
        Their sampling variances (known).

    Returns
    -------
    (mu, tau2) : tuple of float
    """
    y = np.asarray(y, dtype=float)
    s2 = np.asarray(s2, dtype=float)
    keep = np.isfinite(y) & np.isfinite(s2) & (s2 > 0)
    y, s2 = y[keep], s2[keep]
    if y.size == 0:
        raise ValueError("fit_normal_normal: no unit with a finite estimate and variance")
    if y.size == 1:
        return float(y[0]), 0.0

    def profile(tau2: float) -> tuple[float, float]:
        w = 1.0 / (tau2 + s2)
        mu = float(np.sum(w * y) / np.sum(w))
        nll = 0.5 * float(np.sum(np.log(tau2 + s2) + w * (y - mu) ** 2))
        return mu, nll

    upper = float(np.var(y)) * 4 + float(np.max(s2))
    res = optimize.minimize_scalar(lambda t: profile(t)[1], bounds=(0.0, upper), method="bounded")
    tau2 = float(res.x)
    # the boundary tau2 = 0 is a legitimate ML solution; check it explicitly
    if profile(0.0)[1] <= profile(tau2)[1]:
        tau2 = 0.0
    return profile(tau2)[0], tau2


# ----------------------------------------------------------------------------------------------------------
# Stages
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One funnel stage of a profile.

    ``family`` is ``"beta"`` (numerator/denominator proportion), ``"gamma"`` (count per exposure) or
    ``"normal"`` (mean amount with ``denominator`` observations).
    """

    name: str
    label: str
    family: str
    numerator: str
    denominator: str | None
    higher_is_better: bool = True


STAGES: tuple[Stage, ...] = (
    Stage("activity", "activity volume", "gamma", "activities", None),
    Stage(
        "opp_creation", "opportunities created per activity", "gamma", "opps_created", "activities"
    ),
    Stage("win_rate", "win rate", "beta", "opps_won", "opps_closed"),
    Stage("deal_size", "deal size", "normal", "avg_deal_size", "opps_won"),
    Stage("cycle_days", "sales cycle", "normal", "cycle_days", "opps_won", higher_is_better=False),
    Stage("follow_up_share", "follow-up intensity", "beta", "follow_ups", "activities"),
    Stage("csat", "customer satisfaction", "normal", "csat", "csat_responses"),
)

ARCHETYPES = (
    "high activity, low conversion",
    "all-round performer",
    "efficient closer",
    "pipeline builder",
    "developing",
    "steady",
)


# ----------------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profiles:
    """Capability profiles of every active rep in one period.

    Attributes
    ----------
    table : DataFrame
        One row per rep (see :meth:`to_frame`).
    priors : DataFrame
        One row per stage and group: the fitted prior (family, group, parameters, prior mean, spread).
    period : str
    spec : mapping
        Every argument that produced the profiles.
    """

    table: pd.DataFrame
    priors: pd.DataFrame
    period: str
    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per rep: ``rep_id, team_id, period``, then per stage ``<stage>_raw``, ``<stage>_n``
        (denominator: activities, closed or won deals, responses), ``<stage>`` (shrunk), ``<stage>_low``,
        ``<stage>_high`` (posterior interval), ``<stage>_pctl`` (0-100 among peers on the shrunk value,
        100 = best, direction-aware), then ``strengths``, ``weak_spots``, ``archetype``,
        ``p_high_potential`` and ``high_potential``."""
        return self.table.copy()

    def rep(self, rep_id: str) -> pd.Series:
        """The profile row of one rep."""
        hit = self.table[self.table["rep_id"] == rep_id]
        if hit.empty:
            raise KeyError(f"rep_id {rep_id!r} has no profile in period {self.period}")
        return hit.iloc[0].copy()

    def summary(self) -> str:
        """Counts per archetype, the high-potential reps, and the shrinkage used, in words."""
        t = self.table
        lines = [
            f"Capability profiles, {self.period}: {len(t)} active reps "
            f"(empirical-Bayes shrinkage toward {self.spec.get('by_group', 'team_id')} or company).",
            "Archetypes: "
            + ", ".join(f"{k} {v}" for k, v in t["archetype"].value_counts().items() if v > 0),
        ]
        hp = t[t["high_potential"]].sort_values("p_high_potential", ascending=False)
        if len(hp):
            lines.append(
                "High potential (P(true win rate above company top quartile) >= "
                f"{self.spec.get('high_potential_prob', 0.7):.0%}): "
                + ", ".join(f"{r.rep_id} ({r.p_high_potential:.0%})" for r in hp.itertuples())
            )
        else:
            lines.append("No rep is high-potential with the required probability.")
        case = t[t["archetype"] == "high activity, low conversion"]
        if len(case):
            lines.append(
                "High activity, low conversion (coach closing, not prospecting): "
                + ", ".join(case["rep_id"].astype(str))
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        return "<pre>" + escape(self.summary()) + "</pre>"

    def plot(self, rep_id: str | None = None, ax: Any = None) -> Any:
        """Percentile profile of one rep (bars with the shrunk value's percentile among peers), or, when
        ``rep_id`` is None, the archetype counts. Returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        if rep_id is None:
            counts = self.table["archetype"].value_counts()
            ax.barh(counts.index.astype(str), counts.to_numpy())
            ax.set_xlabel("reps")
            ax.set_title(f"Archetypes, {self.period}")
            return ax
        row = self.rep(rep_id)
        names = [s.label for s in STAGES]
        vals = [float(row[f"{s.name}_pctl"]) for s in STAGES]
        colors = ["tab:green" if v >= 75 else "tab:red" if v <= 25 else "tab:gray" for v in vals]
        ax.barh(names, vals, color=colors)
        ax.axvline(50, color="black", lw=0.8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("percentile among peers (100 = best)")
        ax.set_title(f"{rep_id}: {row['archetype']}")
        ax.invert_yaxis()
        return ax


# ----------------------------------------------------------------------------------------------------------
# Main function
# ----------------------------------------------------------------------------------------------------------
def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "con") and hasattr(obj, "sql") and not isinstance(obj, pd.DataFrame)


def _quarter_panel(data: Any, fiscal_year_start_month: int) -> pd.DataFrame:
    if _is_dataset(data):
        from salesinsight.metrics.panel import panel

        return panel(
            data, grain="quarter", by="rep", fiscal_year_start_month=fiscal_year_start_month
        )
    if isinstance(data, pd.DataFrame):
        return data
    raise TypeError(
        f"expected a salesinsight Dataset or a quarter x rep panel DataFrame, got {type(data).__name__}"
    )


def _check_columns(df: pd.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: the panel lacks column(s) {missing}; pass panel(ds, grain='quarter', by='rep')"
        )


def _within_variance_sql(data: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Per-rep sums and sums of squares of won amounts, cycle days and CSAT scores (DuckDB)."""
    params = [start.date(), end.date()]
    deals = data.sql(
        """
        SELECT rep_id,
               count(*) AS n_won,
               sum(amount) AS s_amt, sum(amount * amount) AS ss_amt,
               sum(date_diff('day', created_date, close_date)) AS s_cyc,
               sum(date_diff('day', created_date, close_date)
                   * date_diff('day', created_date, close_date)) AS ss_cyc
        FROM opportunities
        WHERE status = 'won' AND close_date BETWEEN ? AND ?
        GROUP BY rep_id
        """,
        params,
    )
    if data.has("csat"):
        cs = data.sql(
            """
            SELECT rep_id, count(*) AS n_cs, sum(score / coalesce(scale, 5)) AS s_cs,
                   sum((score / coalesce(scale, 5)) * (score / coalesce(scale, 5))) AS ss_cs
            FROM csat WHERE response_date BETWEEN ? AND ?
            GROUP BY rep_id
            """,
            params,
        )
        deals = deals.merge(cs, on="rep_id", how="outer")
    return deals


def _pooled_within_var(n: np.ndarray, s: np.ndarray, ss: np.ndarray) -> float:
    """Pooled within-unit variance from per-unit counts, sums and sums of squares."""
    n = np.asarray(n, dtype=float)
    keep = np.isfinite(n) & (n > 0)
    n, s, ss = n[keep], np.asarray(s, float)[keep], np.asarray(ss, float)[keep]
    dof = float(np.sum(n - 1))
    if dof <= 0:
        return float("nan")
    return float(np.sum(ss - s * s / n) / dof)


def _moment_within_var(y: np.ndarray, n: np.ndarray) -> float:
    """Method-of-moments within variance when only unit means are known:
    ``E[(y_i - mu)^2] = tau^2 + sigma_w^2 / n_i``, regressed on ``1 / n_i``."""
    keep = np.isfinite(y) & (n > 0)
    y, n = y[keep], n[keep].astype(float)
    if y.size < 3:
        return float(np.var(y)) if y.size > 1 else 1.0
    mu = np.sum(n * y) / np.sum(n)
    d2 = (y - mu) ** 2
    x = np.column_stack([np.ones_like(n), 1.0 / n])
    coef, *_ = np.linalg.lstsq(x, d2, rcond=None)
    slope = float(coef[1])
    return slope if slope > 0 else float(np.var(y))


def profiles(
    data_or_panel: Any,
    period: str = "2026Q2",
    *,
    by_group: str = "team_id",
    min_group_size: int = 8,
    interval: float = 0.9,
    high_potential_quantile: float = 0.75,
    high_potential_prob: float = 0.7,
    fiscal_year_start_month: int = 1,
) -> Profiles:
    """Capability profile of every active rep in ``period``.

    Parameters
    ----------
    data_or_panel : Dataset or DataFrame
        A loaded dataset (the quarter x rep panel is built with ``panel``, and per-deal variances are
        aggregated in DuckDB) or a quarter x rep panel (deal-size/cycle/CSAT within-rep variances are
        then estimated by the method of moments from the rep means alone, which is cruder).
    period : str
        Quarter label, e.g. ``"2026Q2"`` (fiscal label when the panel is fiscal).
    by_group : str
        Panel column whose groups supply the shrinkage target (default team).
    min_group_size : int
        Groups with fewer reps carrying data for a stage shrink toward the company prior instead.
    interval : float
        Posterior interval mass (0.9 -> 5th to 95th posterior percentile).
    high_potential_quantile : float
        The threshold for "high potential" is this quantile of the company prior of true win rates.
    high_potential_prob : float
        ``high_potential`` is True when ``p_high_potential`` is at least this.
    fiscal_year_start_month : int
        Only used when a dataset is passed.

    Returns
    -------
    Profiles
    """
    if not 0 < interval < 1:
        raise ValueError(f"interval must be in (0, 1), got {interval}")
    dataset = data_or_panel if _is_dataset(data_or_panel) else None
    pnl = _quarter_panel(data_or_panel, fiscal_year_start_month)
    needed = ["period", "period_start", "rep_id", by_group, "active"] + sorted(
        {s.numerator for s in STAGES} | {s.denominator for s in STAGES if s.denominator}
    )
    _check_columns(pnl, needed, "profiles")
    cur = pnl[(pnl["period"].astype(str) == str(period)) & pnl["active"].astype(bool)].copy()
    if cur.empty:
        known = sorted(pnl["period"].astype(str).unique())
        raise ValueError(f"profiles: no active rep in period {period!r}; periods present: {known}")
    cur = cur.sort_values("rep_id").reset_index(drop=True)
    for c in needed[5:]:
        cur[c] = pd.to_numeric(cur[c], errors="coerce")

    within: dict[str, float] = {}
    per_rep_var: pd.DataFrame | None = None
    if dataset is not None:
        start = pd.Timestamp(cur["period_start"].iloc[0])
        end = start + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        per_rep_var = _within_variance_sql(dataset, start, end)
        within["deal_size"] = _pooled_within_var(
            per_rep_var["n_won"], per_rep_var["s_amt"], per_rep_var["ss_amt"]
        )
        within["cycle_days"] = _pooled_within_var(
            per_rep_var["n_won"], per_rep_var["s_cyc"], per_rep_var["ss_cyc"]
        )
        if "n_cs" in per_rep_var:
            within["csat"] = _pooled_within_var(
                per_rep_var["n_cs"], per_rep_var["s_cs"], per_rep_var["ss_cs"]
            )

    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    groups = cur[by_group].astype(str)
    out = cur[["rep_id", by_group]].copy()
    out.insert(2, "period", str(period))
    prior_rows: list[dict[str, Any]] = []
    post_beta_win: tuple[np.ndarray, np.ndarray] | None = None
    company_win_prior: tuple[float, float] | None = None

    for st in STAGES:
        num = cur[st.numerator].to_numpy(dtype=float)
        den = (
            cur[st.denominator].fillna(0).to_numpy(dtype=float)
            if st.denominator
            else np.ones(len(cur))
        )
        has = np.isfinite(num) & (den > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.where(has, num / den if st.family != "normal" else num, np.nan)
        shrunk = np.full(len(cur), np.nan)
        low = np.full(len(cur), np.nan)
        high = np.full(len(cur), np.nan)
        sw2 = float("nan")
        if st.family == "normal":
            sw2 = within.get(st.name, float("nan"))
            if not np.isfinite(sw2) or sw2 <= 0:
                sw2 = _moment_within_var(raw, den)
            if not sw2 > 0:  # no spread at all: any tiny positive variance gives the same answer
                sw2 = 1e-12 * (float(np.nanmean(raw)) ** 2 + 1.0) if has.any() else 1.0
        if not has.any():
            prior_rows.append({"stage": st.name, "group": "(none)", "note": "no data"})
            out[f"{st.name}_raw"] = raw
            out[f"{st.name}_n"] = den
            for suffix, arr in (("", shrunk), ("_low", low), ("_high", high)):
                out[f"{st.name}{suffix}"] = arr
            continue

        company = _fit_stage(st.family, num, den, raw, has, sw2, has)
        if st.name == "win_rate":
            company_win_prior = company
        prior_for = {}
        for g in sorted(groups.unique()):
            gmask = (groups == g).to_numpy()
            n_units = int((gmask & has).sum())
            if n_units >= min_group_size:
                prior_for[g] = (_fit_stage(st.family, num, den, raw, has, sw2, gmask & has), g)
            else:
                prior_for[g] = (company, "company")
        for g, (pr, level) in prior_for.items():
            prior_rows.append(
                {
                    "stage": st.name,
                    "group": g,
                    "level": level,
                    "family": st.family,
                    "param1": pr[0],
                    "param2": pr[1],
                    "prior_mean": (
                        pr[0] / (pr[0] + pr[1])
                        if st.family == "beta"
                        else pr[0] / pr[1]
                        if st.family == "gamma"
                        else pr[0]
                    ),
                    "n_reps": int(((groups == g).to_numpy() & has).sum()),
                }
            )
        p1 = np.array([prior_for[g][0][0] for g in groups])
        p2 = np.array([prior_for[g][0][1] for g in groups])
        x = np.where(has, num, 0.0)
        if st.family == "beta":
            a, b = p1 + x, p2 + den - x
            shrunk = a / (a + b)
            low, high = stats.beta.ppf(lo_q, a, b), stats.beta.ppf(hi_q, a, b)
            if st.name == "win_rate":
                post_beta_win = (a, b)
        elif st.family == "gamma":
            a, b = p1 + x, p2 + den
            shrunk = a / b
            low, high = stats.gamma.ppf(lo_q, a, scale=1 / b), stats.gamma.ppf(hi_q, a, scale=1 / b)
        else:
            mu, tau2 = p1, p2
            s2 = np.where(has, sw2 / np.where(den > 0, den, 1), np.inf)
            prec = np.where(tau2 > 0, 1 / np.where(tau2 > 0, tau2, 1), np.inf)
            w_data = np.where(has, 1 / s2, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                post_mean = np.where(
                    np.isinf(prec), mu, (w_data * np.nan_to_num(raw) + prec * mu) / (w_data + prec)
                )
                post_var = np.where(np.isinf(prec), 0.0, 1 / (w_data + prec))
            shrunk = post_mean
            z = stats.norm.ppf(hi_q)
            low, high = shrunk - z * np.sqrt(post_var), shrunk + z * np.sqrt(post_var)
        out[f"{st.name}_raw"] = raw
        out[f"{st.name}_n"] = den
        out[st.name] = shrunk
        out[f"{st.name}_low"] = low
        out[f"{st.name}_high"] = high

    # percentiles among peers (all active reps of the period), 100 = best
    for st in STAGES:
        v = out[st.name] if st.higher_is_better else -out[st.name]
        out[f"{st.name}_pctl"] = 100.0 * v.rank(pct=True, method="average")

    out["strengths"] = [_words(r, strong=True) for _, r in out.iterrows()]
    out["weak_spots"] = [_words(r, strong=False) for _, r in out.iterrows()]
    out["archetype"] = [_archetype(r) for _, r in out.iterrows()]

    if post_beta_win is not None and company_win_prior is not None:
        threshold = float(stats.beta.ppf(high_potential_quantile, *company_win_prior))
        out["p_high_potential"] = stats.beta.sf(threshold, *post_beta_win)
    else:
        threshold = float("nan")
        out["p_high_potential"] = np.nan
    out["high_potential"] = out["p_high_potential"] >= high_potential_prob

    spec = {
        "period": str(period),
        "by_group": by_group,
        "min_group_size": min_group_size,
        "interval": interval,
        "high_potential_quantile": high_potential_quantile,
        "high_potential_prob": high_potential_prob,
        "high_potential_threshold": threshold,
        "fiscal_year_start_month": fiscal_year_start_month,
        "within_variance": "duckdb per-deal" if dataset is not None else "method of moments",
    }
    return Profiles(table=out, priors=pd.DataFrame(prior_rows), period=str(period), spec=spec)


def _fit_stage(
    family: str,
    num: np.ndarray,
    den: np.ndarray,
    raw: np.ndarray,
    has: np.ndarray,
    sw2: float,
    mask: np.ndarray,
) -> tuple[float, float]:
    """Fit the prior of one stage on the units in ``mask`` (all with data)."""
    if family == "beta":
        return fit_beta_binomial(np.where(has, num, 0)[mask], den[mask])
    if family == "gamma":
        return fit_gamma_poisson(np.where(has, num, 0)[mask], den[mask])
    return fit_normal_normal(raw[mask], sw2 / den[mask])


def _words(row: pd.Series, *, strong: bool) -> str:
    parts = []
    for st in STAGES:
        p = row[f"{st.name}_pctl"]
        if not np.isfinite(p) or not row[f"{st.name}_n"] > 0:
            continue
        if strong and p >= 75:
            parts.append((p, f"{st.label} (top {max(100 - p, 1):.0f}%)"))
        elif not strong and p <= 25:
            parts.append((-p, f"{st.label} (bottom {max(p, 1):.0f}%)"))
    parts.sort(key=lambda t: -t[0])
    return "; ".join(s for _, s in parts)


def _archetype(row: pd.Series) -> str:
    act, win, opp = row["activity_pctl"], row["win_rate_pctl"], row["opp_creation_pctl"]
    hi, lo = 200 / 3, 100 / 3
    if act >= hi and win <= lo:
        return "high activity, low conversion"
    if act >= hi and win >= hi:
        return "all-round performer"
    if win >= hi:
        return "efficient closer"
    if opp >= hi:
        return "pipeline builder"
    if act <= lo and win <= lo:
        return "developing"
    return "steady"
