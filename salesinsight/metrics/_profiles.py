"""Capability profiles (能力画像): per-rep funnel rates with hierarchical empirical-Bayes shrinkage.

Each funnel stage of a rep in one quarter is a noisy measurement of the rep's true rate. A rep with three
closed deals and three wins does not have a true win rate of 100%. Every rep is shrunk toward the mean of
their team, itself partially pooled toward the company, by exactly as much as the data warrant:

* proportions (win rate, follow-up share): beta-binomial, posterior ``Beta(a_i + k, b_i + n - k)``;
* counts per exposure (activities, opportunities created per activity): gamma-Poisson, posterior
  ``Gamma(a_i + y, b_i + E)``;
* amounts (deal size, cycle days, CSAT): normal-normal with each rep's own sampling variance
  ``s_i^2 = sigma_w^2 / n_i``.

The prior of rep ``i`` (``a_i, b_i``) is built by :func:`~salesinsight.metrics.shrinkage.fit_hierarchical`:
team means partially pooled toward the company (between-team variance by ML over teams), one within-team
spread fitted on all reps of the quarter (not per team of ~9 reps, where it can run off to a degenerate
value) with a boundary-avoiding penalty, and the team mean taken from the rep's team-mates
(leave-one-out) with its uncertainty carried into the prior.

Shrunk values are then ranked among the reps with data for the stage, turned into strengths and weak
spots in words, archetypes ("high activity, low conversion" ...) and a high-potential probability
``P(true win rate > company top-quartile true win rate)`` from the posterior. Reps with no activity and
no closed opportunity in the period (managers) are excluded and listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.calendar import next_period_start
from salesinsight.metrics._sql import exact_sum
from salesinsight.metrics.shrinkage import _SPREAD_NAME, fit_hierarchical
from salesinsight.results import ResultMixin, Summary

#: a CSAT response as a share of its scale
_CS = "score / coalesce(scale, 5)"

__all__ = [
    "ARCHETYPES",
    "INSUFFICIENT",
    "STAGES",
    "Profiles",
    "Stage",
    "profiles",
]


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
    "insufficient data",
)
INSUFFICIENT = "insufficient data"  # no activity or no closed opportunity: no archetype can be read


# ----------------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profiles(ResultMixin):
    """Capability profiles of every active rep with data in one period.

    Attributes
    ----------
    table : DataFrame
        One row per rep (see :meth:`to_frame`).
    priors : DataFrame
        One row per stage and group, plus a ``"(company)"`` row: the prior of a new rep of that group
        (``param1, param2``: beta ``a, b``, gamma ``shape, rate`` or normal ``mean, variance``), the
        partially pooled group mean and its sd, the pooled within-team ``spread`` and the
        ``between_team_var``.
    period : str
    spec : mapping
        Every argument that produced the profiles.
    rep_priors : DataFrame
        ``rep_id, stage, family, param1, param2``: the prior each rep was updated from (built from its
        team-mates); the posterior is its conjugate update.
    excluded : DataFrame
        ``rep_id``, group, ``reason``: active reps left out because they had no activity and no closed
        opportunity in the period (e.g. managers).
    """

    table: pd.DataFrame
    priors: pd.DataFrame
    period: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    rep_priors: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per rep (a copy).

        Columns ``rep_id, team_id, period``, then per stage ``<stage>_raw``, ``<stage>_n``
        (denominator: activities, closed or won deals, responses), ``<stage>`` (shrunk), ``<stage>_low``,
        ``<stage>_high`` (posterior interval), ``<stage>_pctl`` (0-100 among the reps with data for the
        stage, on the shrunk value, 100 = best, direction-aware; NaN without data), then ``strengths``,
        ``weak_spots``, ``archetype``, ``p_high_potential`` (NaN without a closed opportunity) and
        ``high_potential``.
        """
        return self.table.copy()

    def rep(self, rep_id: str) -> pd.Series:
        """Return the profile row of one rep."""
        hit = self.table[self.table["rep_id"] == rep_id]
        if hit.empty:
            ex = self.excluded
            if len(ex) and (ex["rep_id"] == rep_id).any():
                reason = ex.loc[ex["rep_id"] == rep_id, "reason"].iloc[0]
                raise KeyError(
                    f"rep_id {rep_id!r} is excluded from the {self.period} profiles: {reason}"
                )
            raise KeyError(f"rep_id {rep_id!r} has no profile in period {self.period}")
        return hit.iloc[0].copy()

    def _summary(self) -> Summary:
        """Summarise counts per archetype, the high-potential reps and the shrinkage used."""
        t = self.table
        rows: list[tuple[str, Any]] = [
            ("active reps with data", len(t)),
            (
                "shrinkage",
                f"empirical Bayes toward {self.spec.get('by_group', 'team_id')} means, "
                "themselves pooled toward the company",
            ),
            (
                "archetypes",
                ", ".join(f"{k} {v}" for k, v in t["archetype"].value_counts().items() if v > 0),
            ),
        ]
        notes = []
        if len(self.excluded):
            rows.append(("excluded", len(self.excluded)))
            notes.append(
                f"Excluded: {len(self.excluded)} active reps with no activity and no closed "
                "opportunity in the period (e.g. managers)."
            )
        hp = t[t["high_potential"]].sort_values("p_high_potential", ascending=False)
        threshold = f"{self.spec.get('high_potential_prob', 0.7):.0%}"
        rows.append(
            (
                f"high potential (P >= {threshold})",
                ", ".join(f"{r.rep_id} ({r.p_high_potential:.0%})" for r in hp.itertuples())
                or "none",
            )
        )
        notes.append(
            "High potential: P(true win rate above the company's top quartile) of at least "
            f"{threshold}."
        )
        case = t[t["archetype"] == "high activity, low conversion"]
        if len(case):
            rows.append(("high activity, low conversion", ", ".join(case["rep_id"].astype(str))))
            notes.append("High activity, low conversion: coach closing, not prospecting.")
        return Summary(title=f"Capability profiles, {self.period}", rows=rows, notes=notes)

    def plot(self, *, ax: Any = None, rep_id: str | None = None) -> Any:
        """Plot the percentile profile of one rep, or the archetype counts.

        Bars with the shrunk value's percentile among peers; the archetype counts when ``rep_id``
        is None.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        rep_id : str, optional
            The rep whose profile to draw.

        Returns
        -------
        matplotlib Axes
        """
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
        pct = [float(row[f"{s.name}_pctl"]) for s in STAGES]
        vals = [v if np.isfinite(v) else 0.0 for v in pct]  # no data: empty bar
        colors = ["tab:green" if v >= 75 else "tab:red" if v <= 25 else "tab:gray" for v in pct]
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
        from salesinsight.metrics._panel import panel

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
        f"""
        SELECT rep_id,
               count(*) AS n_won,
               {exact_sum("amount")} AS s_amt, {exact_sum("amount * amount")} AS ss_amt,
               sum(date_diff('day', created_date, close_date)) AS s_cyc,
               sum(date_diff('day', created_date, close_date)
                   * date_diff('day', created_date, close_date)) AS ss_cyc
        FROM opportunities
        WHERE status = 'won' AND close_date BETWEEN ? AND ?
        GROUP BY rep_id ORDER BY rep_id
        """,
        params,
    )
    if data.has("csat"):
        cs = data.sql(
            f"""
            SELECT rep_id, count(*) AS n_cs, {exact_sum(_CS)} AS s_cs,
                   {exact_sum(f"({_CS}) * ({_CS})")} AS ss_cs
            FROM csat WHERE response_date BETWEEN ? AND ?
            GROUP BY rep_id ORDER BY rep_id
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
    """Return the method-of-moments within variance when only unit means are known.

    ``E[(y_i - mu)^2] = tau^2 + sigma_w^2 / n_i``, regressed on ``1 / n_i``.
    """
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


def _no_data_mask(cur: pd.DataFrame) -> np.ndarray:
    """Reps with no activity and no closed opportunity in the period (e.g. managers)."""
    act = pd.to_numeric(cur["activities"], errors="coerce").fillna(0).to_numpy(float)
    closed = pd.to_numeric(cur["opps_closed"], errors="coerce").fillna(0).to_numpy(float)
    return (act <= 0) & (closed <= 0)


def profiles(
    data_or_panel: Any,
    period: str = "2026Q2",
    *,
    by_group: str = "team_id",
    min_group_size: int = 3,
    interval: float = 0.9,
    high_potential_quantile: float = 0.75,
    high_potential_prob: float = 0.7,
    fiscal_year_start_month: int = 1,
) -> Profiles:
    """Capability profile of every active rep with data in ``period``.

    Reps that are active but have no activity and no closed opportunity in the period (managers,
    reps on leave) carry no information on any selling stage: they are left out of the table and
    listed in ``Profiles.excluded``. A rep without observations in one stage (e.g. no closed deal)
    gets the prior as posterior for it, but no percentile, strength, weak spot or high-potential
    probability from it.

    Parameters
    ----------
    data_or_panel : Dataset or DataFrame
        A loaded dataset (the quarter x rep panel is built with ``panel``, and per-deal variances are
        aggregated in DuckDB) or a quarter x rep panel (deal-size/cycle/CSAT within-rep variances are
        then estimated by the method of moments from the rep means alone, which is cruder).
    period : str
        Quarter label, e.g. ``"2026Q2"`` (fiscal label when the panel is fiscal).
    by_group : str
        Panel column whose groups are the middle level of the prior (default team).
    min_group_size : int
        Groups with fewer reps carrying data for a stage are not given an estimated mean for it; their
        reps are shrunk toward the company mean (with the between-team spread added to the prior).
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
    cur, excluded = _current_reps(pnl, period, by_group)
    within = _within_variances(dataset, cur) if dataset is not None else {}
    out = cur[["rep_id", by_group]].copy()
    out.insert(2, "period", str(period))
    fits = _fit_stages(cur, out, by_group, within, min_group_size, interval)
    _rank_and_describe(out, fits.has_by_stage)
    threshold = _high_potential(out, fits, high_potential_quantile, high_potential_prob)
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
        "prior": "hierarchical empirical Bayes (rep <- team <- company, within-team spread pooled)",
        "n_excluded": len(excluded),
    }
    rep_priors = (
        pd.concat(fits.rep_prior_rows, ignore_index=True)
        if fits.rep_prior_rows
        else pd.DataFrame(columns=["rep_id", "stage", "family", "param1", "param2"])
    )
    return Profiles(
        table=out,
        priors=pd.concat(fits.prior_rows, ignore_index=True),
        period=str(period),
        spec=spec,
        rep_priors=rep_priors,
        excluded=excluded,
    )


# ----------------------------------------------------------------------------------------------------------
# Steps: select the reps -> within variances -> fit each stage -> rank and describe -> high potential
# ----------------------------------------------------------------------------------------------------------
def _current_reps(
    pnl: pd.DataFrame, period: str, by_group: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the active reps of ``period`` with data (numeric stage columns) and those excluded."""
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
    empty = _no_data_mask(cur)
    excluded = cur.loc[empty, ["rep_id", by_group]].reset_index(drop=True)
    excluded["reason"] = "no activity and no closed opportunity in the period"
    cur = cur.loc[~empty].reset_index(drop=True)
    if cur.empty:
        raise ValueError(
            f"profiles: none of the {len(excluded)} active reps of {period!r} has any activity or "
            "closed opportunity"
        )
    return cur, excluded


def _within_variances(dataset: Any, cur: pd.DataFrame) -> dict[str, float]:
    """Pooled within-rep variances of deal size, cycle days and CSAT from the per-deal rows."""
    within: dict[str, float] = {}
    start = pd.Timestamp(cur["period_start"].iloc[0])
    end = pd.Timestamp(next_period_start(start, "quarter")) - pd.Timedelta(days=1)
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
    return within


@dataclass
class _StageFits:
    """What the stage fits leave for the later steps."""

    prior_rows: list[pd.DataFrame] = field(default_factory=list)
    rep_prior_rows: list[pd.DataFrame] = field(default_factory=list)
    has_by_stage: dict[str, np.ndarray] = field(default_factory=dict)
    post_beta_win: tuple[np.ndarray, np.ndarray] | None = None
    company_win_prior: tuple[float, float] | None = None


def _fit_stages(
    cur: pd.DataFrame,
    out: pd.DataFrame,
    by_group: str,
    within: dict[str, float],
    min_group_size: int,
    interval: float,
) -> _StageFits:
    """Fit each stage's hierarchical prior and write raw, shrunk and interval columns to ``out``."""
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    groups = cur[by_group].astype(str).to_numpy()
    fits = _StageFits()
    for st in STAGES:
        num = cur[st.numerator].to_numpy(dtype=float)
        den = (
            cur[st.denominator].fillna(0).to_numpy(dtype=float)
            if st.denominator
            else np.ones(len(cur))
        )
        has = np.isfinite(num) & (den > 0)
        fits.has_by_stage[st.name] = has
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.where(has, num / den if st.family != "normal" else num, np.nan)
        out[f"{st.name}_raw"] = raw
        out[f"{st.name}_n"] = den
        if not has.any():
            fits.prior_rows.append(
                pd.DataFrame([{"stage": st.name, "group": "(none)", "note": "no data"}])
            )
            for suffix in ("", "_low", "_high"):
                out[f"{st.name}{suffix}"] = np.full(len(cur), np.nan)
            continue
        sw2 = _stage_within_var(st, within, raw, den)
        fit = fit_hierarchical(
            st.family, num, den, groups, within_var=sw2, min_group_size=min_group_size
        )
        fits.prior_rows.append(_prior_table(st, fit, int(has.sum())))
        fits.rep_prior_rows.append(
            pd.DataFrame(
                {
                    "rep_id": cur["rep_id"].to_numpy(),
                    "stage": st.name,
                    "family": st.family,
                    "param1": fit.unit_param1,
                    "param2": fit.unit_param2,
                }
            )
        )
        shrunk, low, high, post = _posterior(st, fit, num, den, raw, has, sw2, lo_q, hi_q)
        if st.name == "win_rate" and post is not None:
            fits.post_beta_win = post
            fits.company_win_prior = fit.company
        out[st.name] = shrunk
        out[f"{st.name}_low"] = low
        out[f"{st.name}_high"] = high
    return fits


def _stage_within_var(
    st: Stage, within: dict[str, float], raw: np.ndarray, den: np.ndarray
) -> float | None:
    """Within-rep variance of a normal stage (per-deal, else moments, else tiny); None otherwise."""
    if st.family != "normal":
        return None
    sw2 = within.get(st.name, float("nan"))
    if not np.isfinite(sw2) or sw2 <= 0:
        sw2 = _moment_within_var(raw, den)
    if not sw2 > 0:  # no spread at all: any tiny positive variance gives the same answer
        sw2 = 1e-12 * (float(np.nanmean(raw)) ** 2 + 1.0)
    return sw2


def _prior_table(st: Stage, fit: Any, n_reps: int) -> pd.DataFrame:
    """Return the group priors of one stage plus its ``"(company)"`` row."""
    table = fit.groups.rename(columns={"n_units": "n_reps"})
    company = pd.DataFrame(
        [
            {
                "group": "(company)",
                "level": "company",
                "n_reps": n_reps,
                "group_mean": fit.center,
                "group_mean_sd": float(np.sqrt(fit.between_group_var)),
                "param1": fit.company[0],
                "param2": fit.company[1],
                "prior_mean": fit.center,
            }
        ]
    )
    table = pd.concat([table, company], ignore_index=True)
    table.insert(0, "stage", st.name)
    table.insert(3, "family", st.family)
    table["spread_name"] = _SPREAD_NAME[st.family]
    table["spread"] = fit.spread
    table["between_team_var"] = fit.between_group_var
    return table


def _posterior(
    st: Stage,
    fit: Any,
    num: np.ndarray,
    den: np.ndarray,
    raw: np.ndarray,
    has: np.ndarray,
    sw2: float | None,
    lo_q: float,
    hi_q: float,
) -> tuple[Any, Any, Any, tuple[np.ndarray, np.ndarray] | None]:
    """Conjugate update of each rep's prior: shrunk value, interval and the beta posterior."""
    p1, p2 = fit.unit_param1, fit.unit_param2
    x = np.where(has, num, 0.0)
    if st.family == "beta":
        a, b = p1 + x, p2 + den - x
        low, high = stats.beta.ppf(lo_q, a, b), stats.beta.ppf(hi_q, a, b)
        return a / (a + b), low, high, (a, b)
    if st.family == "gamma":
        a, b = p1 + x, p2 + np.where(has, den, 0.0)
        low, high = stats.gamma.ppf(lo_q, a, scale=1 / b), stats.gamma.ppf(hi_q, a, scale=1 / b)
        return a / b, low, high, None
    s2 = np.where(has, sw2 / np.where(has, den, 1.0), np.inf)
    w_data = np.where(has, 1.0 / s2, 0.0)
    post_var = 1.0 / (w_data + 1.0 / p2)
    shrunk = post_var * (w_data * np.where(has, raw, 0.0) + p1 / p2)
    z = stats.norm.ppf(hi_q)
    return shrunk, shrunk - z * np.sqrt(post_var), shrunk + z * np.sqrt(post_var), None


def _rank_and_describe(out: pd.DataFrame, has_by_stage: dict[str, np.ndarray]) -> None:
    """Add percentiles among the reps with data (100 = best), strengths, weak spots, archetypes."""
    for st in STAGES:
        v = out[st.name] if st.higher_is_better else -out[st.name]
        out[f"{st.name}_pctl"] = 100.0 * v.where(has_by_stage[st.name]).rank(
            pct=True, method="average"
        )
    out["strengths"] = [_words(r, strong=True) for _, r in out.iterrows()]
    out["weak_spots"] = [_words(r, strong=False) for _, r in out.iterrows()]
    out["archetype"] = [_archetype(r) for _, r in out.iterrows()]


def _high_potential(out: pd.DataFrame, fits: _StageFits, quantile: float, prob: float) -> float:
    """Add ``p_high_potential`` and ``high_potential``; return the company win-rate threshold."""
    if fits.post_beta_win is not None and fits.company_win_prior is not None:
        threshold = float(stats.beta.ppf(quantile, *fits.company_win_prior))
        p_hp = stats.beta.sf(threshold, *fits.post_beta_win)
        out["p_high_potential"] = np.where(fits.has_by_stage["win_rate"], p_hp, np.nan)
    else:
        threshold = float("nan")
        out["p_high_potential"] = np.nan
    out["high_potential"] = (out["p_high_potential"] >= prob).astype(bool)
    return threshold


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
    if not (np.isfinite(act) and np.isfinite(win)):
        return INSUFFICIENT
    hi, lo = 200 / 3, 100 / 3
    if act >= hi and win <= lo:
        return "high activity, low conversion"
    if act >= hi and win >= hi:
        return "all-round performer"
    if win >= hi:
        return "efficient closer"
    if np.isfinite(opp) and opp >= hi:
        return "pipeline builder"
    if act <= lo and win <= lo:
        return "developing"
    return "steady"
