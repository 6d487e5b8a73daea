"""Goal calibration (目标校准): next-quarter revenue forecasts with prediction intervals, suggested quotas.

Model (deliberately simple, every part checked by the rolling-origin backtest reported in the result):

* ``y_it = log(revenue_it + c)`` with ``c`` = ``offset_share`` x the median positive rep-quarter revenue
  (so zero-revenue quarters are kept; draws are mapped back by ``max(exp(z) - c, 0)``, which puts
  probability mass on zero).
* Two-way decomposition ``y_it = a_i + g_t + e_it`` (rep level, common quarter effect, noise) fitted by
  alternating means on the unbalanced panel; ``sigma^2`` = residual variance with its degrees of freedom.
* Quarter effects ``g_t``: quarter-of-year seasonality when every quarter of the year has been seen at least
  twice; the next effect is the mean of the last four deseasonalised effects plus the target's seasonal
  term, with a common shock of variance ``var(g_t - s_q)`` shared by all reps (so team totals are not
  falsely precise).
* Rep levels drift: a random-walk variance ``q`` per quarter is estimated from the variogram of
  within-rep deviations (``E[(u_is - u_ir)^2] = 2 sigma^2 + q |s - r|``) and added to each rep's
  predictive variance in proportion to the distance from the centre of its history to the target.
* Rep levels ``a_i``: normal-normal empirical-Bayes shrinkage of each rep's mean toward the team (company
  when the team has fewer than ``min_group_size`` reps with history), sampling variance ``sigma^2 / n_i``.
  Reps without history get the group prior.
* Only periods inside the data's coverage are used (:func:`observed_periods`: leading/trailing quarters
  with less than a quarter of the median company activity are dropped).
* The predictive distribution is simulated (``n_draws``, seeded); team totals are sums of rep draws.

Suggested quota: ``quota_i = k x median_i`` with one common multiplier ``k`` chosen so that the expected
share of reps reaching quota, ``mean_i P(R_i >= k median_i)``, equals ``share_at_quota``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.calendar import next_period_start
from salesinsight.metrics.shrinkage import fit_normal_normal
from salesinsight.results import ResultMixin, Summary

__all__ = ["QuotaPlan", "forecast", "observed_periods"]


@dataclass(frozen=True)
class QuotaPlan(ResultMixin):
    """Next-quarter forecast per rep and team, suggested quotas and the backtest.

    Attributes
    ----------
    reps : DataFrame
        One row per rep (see :meth:`to_frame`).
    teams : DataFrame
        One row per team: ``team_id, n_reps, revenue_median, revenue_mean, revenue_low, revenue_high,
        suggested_quota``.
    backtest : DataFrame
        Rolling-origin backtest: one row per target quarter and level (``rep``/``team``) plus pooled rows
        with ``target == "all"``: ``target, level, n, coverage, mape, wape, nominal``.
    target_quarter : str
    multiplier : float
        The common stretch multiplier ``k`` on each rep's forecast median.
    share_at_quota : float
        Targeted share of reps at or above quota.
    alpha : float
        Prediction intervals are ``1 - alpha``.
    spec : mapping
    """

    reps: pd.DataFrame
    teams: pd.DataFrame
    backtest: pd.DataFrame
    target_quarter: str
    multiplier: float
    share_at_quota: float
    alpha: float
    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per rep (a copy).

        Columns ``rep_id, team_id, target_quarter, n_history, revenue_median, revenue_mean,
        revenue_low, revenue_high, p_zero, suggested_quota, p_reach_suggested`` and, when the target
        quarter's quota is known, ``quota, attainment_median, attainment_low, attainment_high,
        p_reach_quota``.
        """
        return self.reps.copy()

    def _summary(self) -> Summary:
        """Summarise the forecast, suggested quotas and the backtest."""
        r = self.reps
        lo, hi = self.reps["revenue_low"].sum(), self.reps["revenue_high"].sum()
        level = f"{1 - self.alpha:.0%}"
        rows: list[tuple[str, Any]] = [
            ("reps", len(r)),
            ("company revenue median", f"{self.teams['revenue_median'].sum():,.0f}"),
            (f"sum of rep {level} bounds", f"{lo:,.0f}-{hi:,.0f}"),
            ("quota multiplier", f"{self.multiplier:.3f} x each rep's forecast median"),
            (
                "reps at quota",
                f"{self.share_at_quota:.0%} targeted, {r['p_reach_suggested'].mean():.1%} expected",
            ),
        ]
        notes = ["Team intervals are in the team table (`teams`)."]
        pooled = self.backtest[self.backtest["target"] == "all"]
        tables = []
        if pooled.empty:
            notes.append("Backtest: not enough history (needs more than min_history quarters).")
        else:
            shown = pooled[["level", "n", "coverage", "mape", "wape"]].rename(
                columns={"n": "forecasts", "coverage": f"{level} coverage"}
            )
            tables.append(("Backtest (pooled; MAPE over nonzero actuals)", shown))
        return Summary(
            title=f"Forecast for {self.target_quarter}", rows=rows, tables=tables, notes=notes
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Forecast median and interval per rep (sorted), with suggested quotas, on ``ax``.

        Returns the Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        r = self.reps.sort_values("revenue_median").reset_index(drop=True)
        x = np.arange(len(r))
        ax.vlines(x, r["revenue_low"], r["revenue_high"], color="tab:blue", alpha=0.4, lw=1)
        ax.plot(x, r["revenue_median"], ".", color="tab:blue", label="forecast median")
        ax.plot(x, r["suggested_quota"], "_", color="tab:red", label="suggested quota")
        ax.set_xlabel("reps (sorted by forecast)")
        ax.set_ylabel("revenue")
        ax.set_title(f"{self.target_quarter} forecast, {1 - self.alpha:.0%} intervals")
        ax.legend()
        return ax


# ----------------------------------------------------------------------------------------------------------
def _quarter_of_year(label: str) -> int:
    label = str(label)
    if len(label) < 2 or label[-2] != "Q" or label[-1] not in "1234":
        raise ValueError(
            f"period label {label!r} is not a quarter label like '2026Q2' or 'FY2027Q1'"
        )
    return int(label[-1])


def _next_label(label: str) -> str:
    q = _quarter_of_year(label)
    prefix = "FY" if str(label).startswith("FY") else ""
    year = int(str(label)[len(prefix) : -2])
    return f"{prefix}{year + (q == 4)}Q{q % 4 + 1}"


def _two_way(y: np.ndarray, i: np.ndarray, t: np.ndarray, n_i: int, n_t: int, iters: int = 200):
    """Alternating-means fit of ``y = a_i + g_t``; returns a, g (g centred at 0), residuals."""
    g = np.zeros(n_t)
    a = np.zeros(n_i)
    cnt_i = np.bincount(i, minlength=n_i).astype(float)
    cnt_t = np.bincount(t, minlength=n_t).astype(float)
    for _ in range(iters):
        a_new = np.bincount(i, weights=y - g[t], minlength=n_i) / np.maximum(cnt_i, 1)
        g_new = np.bincount(t, weights=y - a_new[i], minlength=n_t) / np.maximum(cnt_t, 1)
        shift = g_new.mean()
        g_new -= shift
        a_new += shift
        done = np.max(np.abs(a_new - a)) < 1e-10 and np.max(np.abs(g_new - g)) < 1e-10
        a, g = a_new, g_new
        if done:
            break
    return a, g, y - a[i] - g[t]


@dataclass(frozen=True)
class _Fit:
    c: float
    sigma2: float
    g_next: float
    shock_var: float
    rep_mean: pd.Series  # posterior mean of a_i by rep_id
    rep_var: pd.Series
    group_prior: dict[str, tuple[float, float]]
    n_hist: pd.Series
    drift: float = 0.0


def _drift_variance(u: np.ndarray, i: np.ndarray, t: np.ndarray) -> float:
    """Return the per-quarter random-walk variance of rep levels, ``max(q, 0)``.

    From the variogram of ``u = y - g_t`` within reps, ``E[(u_is - u_ir)^2] = 2 sigma^2 + q |s - r|``,
    by least squares.
    """
    order = np.lexsort((t, i))
    u, i, t = u[order], i[order], t[order]
    d2, lag = [], []
    starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
    ends = np.r_[starts[1:], len(i)]
    for a, b in zip(starts, ends, strict=True):
        if b - a < 2:
            continue
        uu, tt = u[a:b], t[a:b]
        jj, kk = np.triu_indices(b - a, 1)
        d2.append((uu[jj] - uu[kk]) ** 2)
        lag.append(np.abs(tt[jj] - tt[kk]).astype(float))
    if not d2:
        return 0.0
    dd, ll = np.concatenate(d2), np.concatenate(lag)
    if np.ptp(ll) == 0:
        return 0.0
    x = np.column_stack([np.ones_like(ll), ll])
    coef, *_ = np.linalg.lstsq(x, dd, rcond=None)
    return float(max(coef[1], 0.0))


def _fit(
    hist: pd.DataFrame,
    target_qoy: int,
    *,
    by_group: str,
    min_group_size: int,
    offset_share: float,
) -> _Fit:
    pos = hist["revenue"][hist["revenue"] > 0]
    c = float(offset_share * pos.median()) if len(pos) else 1.0
    y = np.log(hist["revenue"].to_numpy(float) + c)
    reps = pd.Index(sorted(hist["rep_id"].unique()))
    periods = hist[["period_start", "period"]].drop_duplicates().sort_values("period_start")
    per_idx = pd.Index(periods["period"].astype(str))
    i = reps.get_indexer(hist["rep_id"])
    t = per_idx.get_indexer(hist["period"].astype(str))
    a, g, resid = _two_way(y, i, t, len(reps), len(per_idx))
    dof = len(y) - len(reps) - len(per_idx) + 1
    sigma2 = float(np.sum(resid**2) / dof) if dof > 0 else float(np.var(y))

    qoy = np.array([_quarter_of_year(p) for p in per_idx])
    seen = np.bincount(qoy, minlength=5)[1:]
    seasonal = bool(np.all(seen >= 2))
    s = np.zeros(5)
    if seasonal:
        for q in range(1, 5):
            s[q] = g[qoy == q].mean()
        s[1:] -= s[1:].mean()
    d = g - s[qoy]
    last = d[-4:]
    g_next = float(last.mean() + s[target_qoy])
    ddof = 1 + (3 if seasonal else 0)
    shock = float(np.sum((d - d.mean()) ** 2) / (len(d) - ddof)) if len(d) > ddof else 0.0
    shock_var = shock * (1 + 1 / len(last))

    n_i = np.bincount(i, minlength=len(reps)).astype(float)
    drift = _drift_variance(y - g[t], i, t)
    # horizon from the centre of each rep's history to the target (one quarter after the last period)
    t_mean = np.bincount(i, weights=t.astype(float), minlength=len(reps)) / np.maximum(n_i, 1)
    extra = drift * (len(per_idx) - t_mean)
    s2 = sigma2 / n_i
    groups = hist.groupby("rep_id")[by_group].last().reindex(reps).astype(str)
    company = fit_normal_normal(a, s2)
    group_prior: dict[str, tuple[float, float]] = {"__company__": company}
    for grp in sorted(groups.unique()):
        m = (groups == grp).to_numpy()
        group_prior[grp] = fit_normal_normal(a[m], s2[m]) if m.sum() >= min_group_size else company
    mu = np.array([group_prior[gr][0] for gr in groups])
    tau2 = np.array([group_prior[gr][1] for gr in groups])
    with np.errstate(divide="ignore"):
        prec = np.where(tau2 > 0, 1 / np.where(tau2 > 0, tau2, 1), np.inf)
    w = 1 / s2
    post_mean = np.where(
        np.isinf(prec),
        mu,
        (w * a + np.where(np.isinf(prec), 0, prec) * mu) / (w + np.where(np.isinf(prec), 0, prec)),
    )
    post_var = np.where(np.isinf(prec), 0.0, 1 / (w + np.where(np.isinf(prec), 0, prec)))
    return _Fit(
        c=c,
        sigma2=sigma2,
        g_next=g_next,
        shock_var=shock_var,
        rep_mean=pd.Series(post_mean, index=reps),
        rep_var=pd.Series(post_var + extra, index=reps),
        group_prior=group_prior,
        n_hist=pd.Series(n_i, index=reps),
        drift=drift,
    )


def _draws(fit: _Fit, who: pd.DataFrame, by_group: str, n_draws: int, seed: int) -> np.ndarray:
    """Predictive revenue draws, shape (n_draws, len(who))."""
    rng = np.random.default_rng(seed)
    m = np.empty(len(who))
    v = np.empty(len(who))
    for k, (rep, grp) in enumerate(zip(who["rep_id"], who[by_group].astype(str), strict=True)):
        if rep in fit.rep_mean.index:
            m[k], v[k] = fit.rep_mean[rep], fit.rep_var[rep]
        else:
            m[k], v[k] = fit.group_prior.get(grp, fit.group_prior["__company__"])
    shock = rng.normal(0.0, np.sqrt(fit.shock_var), size=(n_draws, 1))
    z = fit.g_next + m + shock + rng.normal(size=(n_draws, len(who))) * np.sqrt(v + fit.sigma2)
    return np.maximum(np.exp(z) - fit.c, 0.0)


def _multiplier(draws: np.ndarray, med: np.ndarray, share: float) -> float:
    ok = med > 0
    if not ok.any():
        return float("nan")
    d, mm = draws[:, ok], med[ok]

    def achieved(k: float) -> float:
        return float(np.mean(np.mean(d >= k * mm, axis=0)))

    lo, hi = 1e-3, 20.0
    if achieved(lo) < share or achieved(hi) > share:
        return float("nan")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if achieved(mid) >= share:
            lo = mid
        else:
            hi = mid
    return lo


def observed_periods(pnl: pd.DataFrame, *, min_share: float = 0.25) -> list[str]:
    """Return the periods inside the data's coverage.

    Leading and trailing periods whose company total (activities when recorded, else revenue) is
    below ``min_share`` x the median period total are dropped (a data extract that starts or ends
    inside a quarter, or pipeline that predates the activity log).
    """
    col = (
        "activities" if "activities" in pnl and pnl["activities"].fillna(0).sum() > 0 else "revenue"
    )
    tot = (
        pnl.assign(_v=pd.to_numeric(pnl[col], errors="coerce").fillna(0))
        .groupby(["period_start", "period"], sort=True)["_v"]
        .sum()
        .reset_index()
    )
    if tot.empty:
        return []
    pos = tot["_v"][tot["_v"] > 0]
    if pos.empty:
        return []
    ok = (tot["_v"] >= min_share * float(pos.median())).to_numpy()
    first, last = int(np.argmax(ok)), len(ok) - int(np.argmax(ok[::-1])) - 1
    return [str(p) for p in tot["period"].iloc[first : last + 1]]


def _history(pnl: pd.DataFrame) -> pd.DataFrame:
    keep = set(observed_periods(pnl))
    h = pnl[pnl["active"].astype(bool) & pnl["revenue"].notna() & pnl["period"].isin(keep)].copy()
    h["revenue"] = pd.to_numeric(h["revenue"]).astype(float)
    return h


def _prepare(hist: pd.DataFrame, drop_first_quarter: bool) -> pd.DataFrame:
    if not drop_first_quarter:
        return hist
    h = hist.sort_values("period_start")
    first = h.groupby("rep_id")["period_start"].transform("min")
    n = h.groupby("rep_id")["period_start"].transform("size")
    return h[(h["period_start"] != first) | (n < 2)]


def forecast(
    panel_or_data: Any,
    *,
    target_quarter: str | None = None,
    share_at_quota: float = 0.55,
    alpha: float = 0.1,
    by_group: str = "team_id",
    min_group_size: int = 5,
    min_history: int = 4,
    offset_share: float = 0.1,
    drop_first_quarter: bool = True,
    n_draws: int = 4000,
    seed: int = 0,
    fiscal_year_start_month: int = 1,
) -> QuotaPlan:
    """Forecast next-quarter revenue per rep and team, suggest quotas and backtest the forecaster.

    Parameters
    ----------
    panel_or_data : DataFrame or Dataset
        A quarter x rep panel (``panel(ds, grain="quarter", by="rep")``) or a dataset.
    target_quarter : str, optional
        Quarter to forecast; default the quarter after the last one with revenue. History is every
        quarter before it.
    share_at_quota : float
        Targeted expected share of reps reaching their suggested quota.
    alpha : float
        Prediction intervals cover ``1 - alpha``.
    by_group, min_group_size : str, int
        Shrinkage target of rep levels (groups with fewer reps with history use the company).
    min_history : int
        Backtest origins need at least this many quarters of history.
    offset_share : float
        ``c`` in ``log(revenue + c)`` as a share of the median positive rep-quarter revenue.
    drop_first_quarter : bool
        Drop each rep's first active quarter (partial and ramping) when the rep has later quarters.
    n_draws, seed : int
        Monte Carlo size and seed of the predictive simulation.

    Returns
    -------
    QuotaPlan
    """
    if not 0 < share_at_quota < 1:
        raise ValueError(f"share_at_quota must be in (0, 1), got {share_at_quota}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    from salesinsight.metrics._profiles import _is_dataset

    dataset = panel_or_data if _is_dataset(panel_or_data) else None
    pnl = _forecast_panel(panel_or_data, by_group, fiscal_year_start_month)
    periods = pnl[["period_start", "period"]].drop_duplicates().sort_values("period_start")
    target_quarter, hist = _target_and_history(pnl, periods, target_quarter)
    who = _reps_to_forecast(pnl, dataset, periods, hist, target_quarter, by_group)
    kw: dict[str, Any] = {
        "by_group": by_group,
        "min_group_size": min_group_size,
        "offset_share": offset_share,
    }
    fit = _fit(_prepare(hist, drop_first_quarter), _quarter_of_year(target_quarter), **kw)
    draws = _draws(fit, who, by_group, n_draws, seed)
    lo_q, hi_q = alpha / 2, 1 - alpha / 2
    reps, k = _rep_table(pnl, who, fit, draws, target_quarter, share_at_quota, lo_q, hi_q)
    teams = _team_table(reps, draws, by_group, lo_q, hi_q)
    backtest = _backtest(
        hist,
        periods,
        alpha=alpha,
        min_history=min_history,
        drop_first_quarter=drop_first_quarter,
        n_draws=n_draws,
        seed=seed,
        **kw,
    )
    spec = {
        "target_quarter": target_quarter,
        "share_at_quota": share_at_quota,
        "alpha": alpha,
        "by_group": by_group,
        "min_group_size": min_group_size,
        "min_history": min_history,
        "offset_share": offset_share,
        "offset": fit.c,
        "drop_first_quarter": drop_first_quarter,
        "n_draws": n_draws,
        "seed": seed,
        "sigma2": fit.sigma2,
        "shock_var": fit.shock_var,
        "drift_var": fit.drift,
        "history_quarters": sorted(hist["period"].unique()),
    }
    return QuotaPlan(
        reps=reps,
        teams=teams,
        backtest=backtest,
        target_quarter=target_quarter,
        multiplier=k,
        share_at_quota=share_at_quota,
        alpha=alpha,
        spec=spec,
    )


def _forecast_panel(
    panel_or_data: Any, by_group: str, fiscal_year_start_month: int
) -> pd.DataFrame:
    """Return a copy of the quarter x rep panel with the needed columns and text period labels."""
    from salesinsight.metrics._profiles import _check_columns, _quarter_panel

    pnl = _quarter_panel(panel_or_data, fiscal_year_start_month)
    _check_columns(
        pnl,
        ["period_start", "period", "rep_id", by_group, "active", "revenue", "quota"],
        "forecast",
    )
    pnl = pnl.copy()
    pnl["period"] = pnl["period"].astype(str)
    return pnl


def _target_and_history(
    pnl: pd.DataFrame, periods: pd.DataFrame, target_quarter: str | None
) -> tuple[str, pd.DataFrame]:
    """Return the target quarter (default: after the last with revenue) and the history before it."""
    hist_all = _history(pnl)
    if hist_all.empty:
        raise ValueError("forecast: the panel has no active rep-quarter with revenue")
    if target_quarter is None:
        last = hist_all.sort_values("period_start")["period"].iloc[-1]
        target_quarter = _next_label(last)
    target_quarter = str(target_quarter)
    _quarter_of_year(target_quarter)
    labels = list(periods["period"])
    if target_quarter in labels:
        cut = periods.loc[periods["period"] == target_quarter, "period_start"].iloc[0]
        hist = hist_all[hist_all["period_start"] < cut]
    else:
        hist = hist_all
    if hist.empty:
        raise ValueError(f"forecast: no history before {target_quarter}")
    return target_quarter, hist


def _reps_to_forecast(
    pnl: pd.DataFrame,
    dataset: Any,
    periods: pd.DataFrame,
    hist: pd.DataFrame,
    target_quarter: str,
    by_group: str,
) -> pd.DataFrame:
    """Reps active in the last history quarter, less those terminated before the target starts."""
    last_period = hist.sort_values("period_start")["period"].iloc[-1]
    who = (
        pnl[(pnl["period"] == last_period) & pnl["active"].astype(bool)][["rep_id", by_group]]
        .drop_duplicates("rep_id")
        .sort_values("rep_id")
        .reset_index(drop=True)
    )
    if dataset is not None and dataset.has("reps"):
        start = _target_start(periods, target_quarter)
        gone = dataset.sql(
            "SELECT rep_id FROM reps WHERE termination_date IS NOT NULL AND termination_date < ?",
            [start.date()],
        )["rep_id"]
        who = who[~who["rep_id"].isin(set(gone))].reset_index(drop=True)
    return who


def _rep_table(
    pnl: pd.DataFrame,
    who: pd.DataFrame,
    fit: _Fit,
    draws: np.ndarray,
    target_quarter: str,
    share_at_quota: float,
    lo_q: float,
    hi_q: float,
) -> tuple[pd.DataFrame, float]:
    """Per-rep forecast, suggested quota and, where known, attainment; and the quota multiplier."""
    med = np.median(draws, axis=0)
    reps = who.copy()
    reps["target_quarter"] = target_quarter
    reps["n_history"] = fit.n_hist.reindex(who["rep_id"]).fillna(0).astype(int).to_numpy()
    reps["revenue_median"] = med
    reps["revenue_mean"] = draws.mean(axis=0)
    reps["revenue_low"] = np.quantile(draws, lo_q, axis=0)
    reps["revenue_high"] = np.quantile(draws, hi_q, axis=0)
    reps["p_zero"] = np.mean(draws <= 0, axis=0)
    k = _multiplier(draws, med, share_at_quota)
    sq = np.where(med > 0, k * med, np.nan)
    reps["suggested_quota"] = sq
    with np.errstate(invalid="ignore"):
        reps["p_reach_suggested"] = np.where(med > 0, np.mean(draws >= sq, axis=0), np.nan)
    known = pnl[(pnl["period"] == target_quarter)][["rep_id", "quota"]].dropna()
    if len(known):
        q = reps["rep_id"].map(known.drop_duplicates("rep_id").set_index("rep_id")["quota"])
        qv = q.to_numpy(float)
        reps["quota"] = qv
        with np.errstate(invalid="ignore", divide="ignore"):
            reps["attainment_median"] = med / qv
            reps["attainment_low"] = reps["revenue_low"] / qv
            reps["attainment_high"] = reps["revenue_high"] / qv
            reps["p_reach_quota"] = np.where(qv > 0, np.mean(draws >= qv, axis=0), np.nan)
    return reps, k


def _target_start(periods: pd.DataFrame, target: str) -> pd.Timestamp:
    hit = periods.loc[periods["period"] == target, "period_start"]
    if len(hit):
        return pd.Timestamp(hit.iloc[0])
    return pd.Timestamp(next_period_start(periods["period_start"].max(), "quarter"))


def _team_table(
    reps: pd.DataFrame, draws: np.ndarray, by_group: str, lo_q: float, hi_q: float
) -> pd.DataFrame:
    rows = []
    for grp, idx in reps.groupby(by_group).indices.items():
        tot = draws[:, idx].sum(axis=1)
        rows.append(
            {
                by_group: grp,
                "n_reps": len(idx),
                "revenue_median": float(np.median(tot)),
                "revenue_mean": float(tot.mean()),
                "revenue_low": float(np.quantile(tot, lo_q)),
                "revenue_high": float(np.quantile(tot, hi_q)),
                "suggested_quota": float(np.nansum(reps["suggested_quota"].to_numpy()[idx])),
            }
        )
    return pd.DataFrame(rows)


def _scores(
    actual: np.ndarray, med: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> dict[str, float]:
    nz = actual > 0
    return {
        "n": len(actual),
        "coverage": float(np.mean((actual >= lo) & (actual <= hi))) if len(actual) else np.nan,
        "mape": float(np.mean(np.abs(actual[nz] - med[nz]) / actual[nz])) if nz.any() else np.nan,
        "wape": float(np.sum(np.abs(actual - med)) / np.sum(actual))
        if actual.sum() > 0
        else np.nan,
    }


def _backtest(
    hist: pd.DataFrame,
    periods: pd.DataFrame,
    *,
    by_group: str,
    alpha: float,
    min_history: int,
    min_group_size: int,
    offset_share: float,
    drop_first_quarter: bool,
    n_draws: int,
    seed: int,
) -> pd.DataFrame:
    """Backtest by rolling origin: forecast each past quarter from the quarters before it only."""
    labels = [p for p in periods["period"] if p in set(hist["period"])]
    lo_q, hi_q = alpha / 2, 1 - alpha / 2
    rows: list[dict[str, Any]] = []
    pooled: dict[str, list[np.ndarray]] = {"rep": [], "team": []}
    for j in range(min_history, len(labels)):
        target, prev = labels[j], labels[j - 1]
        past = hist[hist["period"].isin(labels[:j])]
        cur = hist[hist["period"] == target].set_index("rep_id")
        who = (
            hist[(hist["period"] == prev)][["rep_id", by_group]]
            .drop_duplicates("rep_id")
            .sort_values("rep_id")
        )
        who = who[who["rep_id"].isin(cur.index)].reset_index(drop=True)
        if who.empty:
            continue
        fit = _fit(
            _prepare(past, drop_first_quarter),
            _quarter_of_year(target),
            by_group=by_group,
            min_group_size=min_group_size,
            offset_share=offset_share,
        )
        d = _draws(fit, who, by_group, n_draws, seed + j)
        act = cur.loc[who["rep_id"], "revenue"].to_numpy(float)
        arr = np.vstack([act, np.median(d, 0), np.quantile(d, lo_q, 0), np.quantile(d, hi_q, 0)])
        pooled["rep"].append(arr)
        rows.append({"target": target, "level": "rep", **_scores(*arr), "nominal": 1 - alpha})
        tarr = []
        for _, idx in who.groupby(by_group).indices.items():
            tot = d[:, idx].sum(1)
            tarr.append(
                [act[idx].sum(), np.median(tot), np.quantile(tot, lo_q), np.quantile(tot, hi_q)]
            )
        tarr_np = np.array(tarr).T
        pooled["team"].append(tarr_np)
        rows.append({"target": target, "level": "team", **_scores(*tarr_np), "nominal": 1 - alpha})
    for level, parts in pooled.items():
        if parts:
            arr = np.hstack(parts)
            rows.append({"target": "all", "level": level, **_scores(*arr), "nominal": 1 - alpha})
    return pd.DataFrame(
        rows, columns=["target", "level", "n", "coverage", "mape", "wape", "nominal"]
    )
