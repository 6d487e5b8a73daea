"""Difference-in-differences with unit and period fixed effects for one common start.

Identifying assumption: **parallel trends** — without the program, enrolled and comparison units'
outcomes would have moved by the same amount. Enrolment may depend on anything *persistent* about
a unit (its skill, territory, level), which the unit effects absorb; it may not depend on a
*transient* shock that fades after the start (a hot streak or a dip), which the DiD then reads as
an effect (Ashenfelter 1978). The pre-period divergence check below is the design's own test of
its assumption and is required.

With one start and a balanced panel, the two-way fixed-effects coefficient equals the difference
between enrolled and comparison units of ``mean(post) - mean(pre)`` per unit; the regression of
that per-unit change on the enrolment flag (and the change in time-invariant adjustments, e.g.
other programs' exposure) gives it with HC2 errors, one row per unit, i.e. clustered by unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.inference import t_critical, wald_p_value
from salesinsight.causal.unit_history import UnitHistory, ols_hc2, pre_bins, unit_history

__all__ = [
    "fe_did",
    "fe_did_history",
    "pre_period_divergence",
    "selection_window_divergence",
    "trend_sensitivity",
]


def fe_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    treatment_time: object,
    covariates: Sequence[str] | None = None,
    bin_size: int = 3,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Fixed-effects DiD (unit and period effects) of a program with one start.

    Parameters
    ----------
    df : DataFrame
        Long panel: one row per unit and period.
    outcome, unit, time, treated : str
        Column names; ``treated`` is 0/1 and constant within a unit.
    treatment_time : scalar
        First treated period.
    covariates : sequence of str, optional
        Time-invariant unit columns whose coefficient on the change is estimated (e.g. the change
        in another program's exposure between the pre- and the post-period).
    bin_size : int, default 3
        Periods per bin of the pre-period divergence check (3 months = a quarter).
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ``method="fixed-effects DiD"``; diagnostics: ``pre_trends`` (required).
    """
    h = unit_history(
        df,
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        treatment_time=treatment_time,
        covariates=covariates,
    )
    return fe_did_history(
        h, outcome=outcome, bin_size=bin_size, alpha=alpha, higher_is_better=higher_is_better
    )


def fe_did_history(
    h: UnitHistory,
    *,
    outcome: str,
    bin_size: int = 3,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """:func:`fe_did` on a prepared :class:`UnitHistory`."""
    change = h.post_mean() - h.pre_mean()
    x = _design(h)
    coef, cov, dof = ols_hc2(change, x)
    est, se = float(coef[1]), float(np.sqrt(cov[1, 1]))
    return _effect(
        h,
        est,
        se,
        dof,
        method="fixed-effects DiD",
        outcome=outcome,
        alpha=alpha,
        higher_is_better=higher_is_better,
        diagnostics=(pre_period_divergence(h, bin_size=bin_size, alpha=alpha),),
        spec={"bin_size": bin_size, "assumption": "parallel trends"},
        baseline=float(h.post_mean()[h.treated].mean() - est),
    )


def selection_window_divergence(
    h: UnitHistory, *, selection_periods: int, alpha: float = 0.05
) -> Diagnostic:
    """Check whether the enrolled units diverged in the window enrolment was decided on.

    Compares the enrolled units with the comparison units: the per-unit mean over the last
    ``selection_periods`` pre-periods minus the mean over the earlier ones, enrolled vs comparison
    (adjusted like the estimate, HC2, t test).

    A transient shock that enrolment followed (a hot streak, a dip, a learning curve) shows here;
    selection on a persistent level does not. One degree of freedom aimed at that alternative is
    more powerful than a joint test over every pre-period bin.
    """
    early = h.n_pre - int(selection_periods)
    if early < 1 or selection_periods < 1:
        return Diagnostic(
            "pre_trends",
            None,
            required=True,
            note=f"pre-period of {h.n_pre} period(s) does not reach before the "
            f"{selection_periods} in which enrolment may have been decided: not testable",
        )
    d = h.y[:, early : h.n_pre].mean(axis=1) - h.y[:, :early].mean(axis=1)
    coef, cov, dof = ols_hc2(d, _design(h))
    est, se = float(coef[1]), float(np.sqrt(cov[1, 1]))
    if not (np.isfinite(se) and se > 0):
        return Diagnostic("pre_trends", None, required=True, note="not computable")
    p = wald_p_value(est, se, df=max(dof, 1))
    return Diagnostic(
        name="pre_trends",
        passed=bool(p > alpha),
        statistic=est / se,
        p_value=p,
        value=est,
        required=True,
        note=(
            f"enrolled minus comparison change from the {early} earlier pre-period(s) to the "
            f"{selection_periods} just before the start: {est:+.4g} (se {se:.3g}); "
            + (
                "no divergence before the start"
                if p > alpha
                else "the enrolled units moved away from the comparison units just before the "
                "start (a transient shock or a different trend), so parallel trends is in doubt"
            )
        ),
    )


def trend_sensitivity(h: UnitHistory, eff: Effect, *, bin_size: int = 3) -> Diagnostic:
    """Informational: the departure from parallel trends that would overturn the result.

    In the spirit of Rambachan & Roth (2023, relative magnitudes): the departure per quarter after
    the start is allowed to be ``M`` times the largest change of the enrolled-minus-comparison gap
    between consecutive pre-period bins; it accumulates over the bins from the middle of the
    pre-period to the middle of the post-period. The breakdown ``M`` is the smallest one at which
    that bias could move the interval's near end to zero. A linear bound, simpler than the
    package's conditional confidence sets (the reference Python port needs PyTorch).
    """
    bins = pre_bins(h.n_pre, bin_size)
    if len(bins) < 2:
        return Diagnostic(
            "trend_sensitivity",
            None,
            required=False,
            note="fewer than two pre-period bins: no pre-period trend to scale",
        )
    tr = h.treated
    gaps = np.array([h.y[tr][:, b].mean() - h.y[~tr][:, b].mean() for b in bins])
    step = float(np.max(np.abs(np.diff(gaps))))
    horizon = (h.n_pre + h.n_post) / (2.0 * bin_size)
    near = min(abs(eff.ci_low), abs(eff.ci_high))
    if not (np.isfinite(eff.ci_low) and np.isfinite(eff.ci_high)) or eff.ci_low <= 0 <= eff.ci_high:
        return Diagnostic(
            "trend_sensitivity",
            None,
            value=step,
            required=False,
            note="the interval includes zero: no result for a trend violation to overturn",
        )
    m = near / (step * horizon) if step > 0 else float("inf")
    return Diagnostic(
        name="trend_sensitivity",
        passed=None,
        statistic=float(m),
        value=step,
        required=False,
        note=(
            f"the result stands unless the trends after the start depart from parallel by more than "
            f"{m:.2g} times the largest quarter-to-quarter change in the pre-period gap "
            f"({step:.3g}); below 1 means a departure no larger than one already seen before the "
            "start would overturn it"
        ),
    )


def _design(h: UnitHistory) -> np.ndarray:
    cols = [np.ones(len(h.units)), h.treated.astype(float)]
    cols += [h.covariates[c].to_numpy(dtype=float) for c in h.covariates.columns]
    return np.column_stack(cols)


def pre_period_divergence(h: UnitHistory, *, bin_size: int = 3, alpha: float = 0.05) -> Diagnostic:
    """Check parallel trends (required): the enrolled-minus-comparison gap in every pre-period bin.

    Is the gap the same in every bin of the pre-period?

    Per unit, the mean of each earlier bin minus the mean of the last pre-period bin; the
    enrolled-vs-comparison differences of these (adjusted like the estimate) are tested jointly
    with a Wald test on their HC2 covariance (chi-squared, one degree of freedom per earlier bin).
    A transient shock that enrolment followed (a hot streak or a dip just before the start) shows
    as a gap in the last bin that the earlier bins do not share; selection on a persistent level
    does not.
    """
    bins = pre_bins(h.n_pre, bin_size)
    if len(bins) < 2:
        return Diagnostic(
            "pre_trends",
            None,
            required=True,
            note=f"pre-period of {h.n_pre} period(s) has fewer than two bins of {bin_size}: "
            "parallel trends not testable",
        )
    means = np.column_stack([h.y[:, b].mean(axis=1) for b in bins])
    d = means[:, :-1] - means[:, [-1]]
    x = _design(h)
    xtx_inv = np.linalg.pinv(x.T @ x)
    a = (xtx_inv @ x.T)[1]  # row giving the treated coefficient
    coef = d.T @ a
    resid = d - x @ (xtx_inv @ x.T @ d)
    lev = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    scores = a[:, None] * resid / np.sqrt(np.clip(1.0 - lev, 1e-8, None))[:, None]
    v = scores.T @ scores
    k = len(coef)
    try:
        wald = float(coef @ np.linalg.solve(v, coef))
    except np.linalg.LinAlgError:
        return Diagnostic("pre_trends", None, required=True, note="singular covariance")
    p = float(stats.chi2.sf(wald, k))
    gaps = ", ".join(f"{g:+.3g}" for g in coef)
    return Diagnostic(
        name="pre_trends",
        passed=bool(p > alpha),
        statistic=wald,
        p_value=p,
        required=True,
        note=(
            f"enrolled minus comparison gap in each earlier pre-period bin of {bin_size} periods "
            f"relative to the last one: {gaps} (joint Wald test, {k} df); "
            + (
                "no divergence before the start"
                if p > alpha
                else "the groups were already diverging before the start (a transient shock or a "
                "different trend), so parallel trends is in doubt"
            )
        ),
    )


def _effect(
    h: UnitHistory,
    est: float,
    se: float,
    dof: int,
    *,
    method: str,
    outcome: str,
    alpha: float,
    higher_is_better: bool,
    diagnostics: tuple[Diagnostic, ...],
    spec: dict[str, Any],
    baseline: float | None,
    extras: dict[str, Any] | None = None,
) -> Effect:
    """Assemble an :class:`Effect` with a t interval on ``dof`` degrees of freedom."""
    dof = max(int(dof), 1)
    crit = t_critical(alpha, dof)
    ok = np.isfinite(se) and se > 0
    p = wald_p_value(est, se, df=dof) if ok else float("nan")
    lo, hi = (est - crit * se, est + crit * se) if ok else (float("nan"), float("nan"))
    full_spec = {
        "method": method,
        "outcome": outcome,
        "alpha": alpha,
        "ci_level": 1 - alpha,
        "inference": f"HC2 errors, one row per unit (clustered by unit), t with {dof} df"
        if "synthetic" not in method
        else spec.get("inference", ""),
        "n_pre": h.n_pre,
        "n_post": h.n_post,
        "units_dropped_incomplete": h.n_dropped,
        "covariates": list(h.covariates.columns),
        "versions": library_versions(),
        **spec,
    }
    return Effect(
        estimate=float(est),
        se=float(se),
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=p,
        n_units=len(h.units),
        n_obs=int(h.y.size),
        method=method,
        outcome=outcome,
        spec=full_spec,
        diagnostics=diagnostics,
        baseline=baseline,
        higher_is_better=higher_is_better,
        extras={"n_treated": int(h.treated.sum()), **(extras or {})},
    )
