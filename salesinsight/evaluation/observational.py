"""Observational programs: three designs, their checks, and a verdict only where they agree.

Three designs with different identifying assumptions, each with the checks that can refute it, and
a verdict only where every design that survives its checks agrees.

Why people were enrolled decides which comparison is right, and the analyst rarely knows:

* enrolment on a **persistent** level (skill, territory): the fixed-effects DiD is right, the
  lagged-outcome regression is biased away from zero in the direction of selection;
* enrolment on a **transient** shock that fades (a hot streak, a dip): the lagged-outcome
  regression is right, the fixed-effects DiD reads the fade as an effect;
* a mix: the truth lies between the two (the bracketing relation, Angrist & Pischke 2009 §5.4;
  Ding & Li 2019). Synthetic DiD (Arkhangelsky et al. 2021) is run as a third design.

Each design must pass its own checks to *carry* the verdict: the fixed-effects DiD its pre-period
divergence test (required), every design a placebo start date whose fake post-period lies before
the window enrolment was selected on (the two quarters before the start), so that a transient
selection shock cannot fail it by construction. The verdict then comes from the *bracket* of the
carrying designs: *worked* / *harmed* only when every carrying design's interval clears zero on the
same side (and every estimate clears the minimum effect for *worked*); otherwise inconclusive, with
the range in words. See ``docs/causal.md`` and ``docs/validation-observational.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.fixed_effects_did import (
    fe_did_history,
    selection_window_divergence,
    trend_sensitivity,
)
from salesinsight.causal.inference import z_critical
from salesinsight.causal.lagged_regression import lagged_outcome_history
from salesinsight.causal.overlap import covariate_overlap
from salesinsight.causal.synth_did import synthetic_did_history
from salesinsight.causal.unit_history import UnitHistory, unit_history
from salesinsight.evaluation.checks import designs_agree
from salesinsight.evaluation.comparison import _design_panel, _periods_per_quarter
from salesinsight.evaluation.design_run import DesignRun
from salesinsight.evaluation.matching import _with_exposure_change
from salesinsight.evaluation.panel import _NoData

__all__ = [
    "BRACKET_ENDS",
    "OBSERVATIONAL_DESIGNS",
    "bracket_designs",
    "observational",
    "observational_history",
]

#: the designs run on every observational program, with the assumption each rests on
OBSERVATIONAL_DESIGNS: dict[str, str] = {
    "fe_did": "parallel trends (enrolment on persistent differences)",
    "lagged_outcome": "selection on the observed pre-period history (enrolment on recent results)",
    "synthetic_did": "parallel trends of a reweighted comparison group",
}

#: the two designs whose biases go in opposite directions under selection on a persistent level
#: and on a transient shock (the ends of the bracket); at least one must carry the verdict
BRACKET_ENDS: tuple[str, ...] = ("fe_did", "lagged_outcome")

_LABELS = {
    "fe_did": "fixed-effects DiD",
    "lagged_outcome": "lagged-outcome regression",
    "synthetic_did": "synthetic DiD",
}


def observational(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
    exclude: frozenset[str] = frozenset(),
    exposure: pd.DataFrame | None = None,
    tenure: pd.Series | None = None,
) -> DesignRun:
    """Run the observational designs on the program's unit panel and bracket them.

    ``exposure``: per ``unit_id`` and ``t``, other programs' exposure (``exposure_<id>``); its
    change between the pre- and the post-period is adjusted for in the fixed-effects DiD and the
    lagged-outcome regression, as is ``tenure`` (months at the start per ``unit_id``, rep
    programs).
    """
    h, ppq = observational_history(frame, num, den, starts, window, exclude, exposure, tenure)
    return bracket_designs(h, alpha=alpha, higher_is_better=hib, bin_size=ppq)


def observational_history(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    exclude: frozenset[str] = frozenset(),
    exposure: pd.DataFrame | None = None,
    tenure: pd.Series | None = None,
) -> tuple[UnitHistory, int]:
    """Build the unit history the observational designs read and the periods per quarter.

    Covariates: the change in other programs' exposure and, for rep programs, tenure at the start
    (``tenure``: months per ``unit_id``, capped at 24, with its square) so that sellers still on
    their learning curve are compared with sellers of the same tenure (conditional parallel
    trends; Abadie 2005).
    """
    f, _ = _design_panel(frame, num, den, starts, window, exclude)
    if tenure is not None:
        ten = f["unit_id"].map(tenure.clip(lower=0, upper=24)).astype(float)
        ten = ten.fillna(float(tenure.clip(lower=0, upper=24).median()))
        f["tenure"], f["tenure_sq"] = ten, ten**2

    if exposure is not None:
        cols = [c for c in exposure.columns if c.startswith("exposure_")]
        f = f.merge(exposure, on=["unit_id", "t"], how="left", validate="one_to_one")
        f[cols] = f[cols].fillna(0.0)
    start_t = int(f.loc[f["treated"] == 1, "cohort"].min())
    if f.loc[f["t"] < start_t, "t"].nunique() < 1 or f.loc[f["t"] >= start_t].empty:
        raise _NoData("the window has no pre- or post-period")
    f, change = _with_exposure_change(f, start_t)
    if tenure is not None:
        change = [*change, "tenure", "tenure_sq"]
    change = [c for c in change if f.groupby("unit_id")[c].first().std() > 1e-12]
    try:
        h = unit_history(
            f,
            outcome="y",
            unit="unit_id",
            time="t",
            treated="treated",
            treatment_time=start_t,
            covariates=change,
        )
    except ValueError as exc:
        raise _NoData(str(exc)) from None
    ppq = _periods_per_quarter(f)
    return h, ppq


def bracket_designs(
    h: UnitHistory,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    bin_size: int = 3,
    selection_periods: int | None = None,
    skip_selection_window: bool = True,
    divergence_required: bool = True,
) -> DesignRun:
    """Run the three observational designs on one history, their checks, and the bracket.

    Parameters
    ----------
    h : UnitHistory
        Outcome history (``y`` in the outcome's units), enrolled flag, start, covariates (the
        change in other programs' exposure, used by the fixed-effects DiD and the lagged-outcome
        regression).
    alpha : float
        One minus the interval level; level of every check.
    higher_is_better : bool
    bin_size : int
        Periods per quarter: the bins of the pre-period history and of the divergence test.
    selection_periods : int, optional
        Periods before the start in which enrolment may have been decided (default two quarters,
        ``2 * bin_size``); the placebo start dates use only data before them.

    Returns
    -------
    DesignRun
        ``primary``: the bracket (``method="bracket of observational designs"``); alternatives:
        ``fe_did``, ``lagged_outcome``, ``synthetic_did``, each with its own checks.
    """
    sel = 2 * bin_size if selection_periods is None else int(selection_periods)
    skip = sel if (skip_selection_window and h.n_pre - sel >= 2) else 0
    h_did = h.skip_last_pre(skip)
    fe = _run_design("fe_did", h_did, bin_size, alpha, higher_is_better)
    div = selection_window_divergence(h, selection_periods=sel, alpha=alpha)
    if not divergence_required:
        div = dataclasses.replace(div, required=False)
    fe = dataclasses.replace(
        fe,
        diagnostics=(
            div,
            trend_sensitivity(h_did, fe, bin_size=bin_size),
            *(d for d in fe.diagnostics if d.name != "pre_trends"),
        ),
    )
    designs: dict[str, Effect] = {
        "fe_did": fe,
        "lagged_outcome": _run_design("lagged_outcome", h, bin_size, alpha, higher_is_better),
        "synthetic_did": _run_design("synthetic_did", h_did, bin_size, alpha, higher_is_better),
    }
    if "tenure" in h.covariates.columns:
        overlap = covariate_overlap(h, "tenure", label="tenure", unit_label="months")
        for name in BRACKET_ENDS:  # the designs that adjust for tenure
            eff = designs[name]
            designs[name] = dataclasses.replace(eff, diagnostics=(overlap, *eff.diagnostics))
    placebo_h = _placebo_history(h, sel, bin_size)
    for name, eff in designs.items():
        designs[name] = dataclasses.replace(
            eff,
            diagnostics=(
                *eff.diagnostics,
                _placebo_date(name, placebo_h, sel, bin_size, alpha, higher_is_better),
            ),
        )
    return DesignRun(_bracket(designs, alpha, higher_is_better), designs)


# ---------------------------------------------------------------------- placebo start date
def _placebo_history(h: UnitHistory, sel: int, bin_size: int) -> UnitHistory | str:
    """Cut the pre-period before the selection window with a fake start, or say why there is none."""
    n_early = h.n_pre - sel
    fake_post = max(1, min(bin_size, n_early // 2))
    fake_start = n_early - fake_post
    if n_early < 3 or fake_start < 2:
        return (
            f"not applicable: the pre-period has {h.n_pre} period(s); a placebo start date needs "
            f"at least 3 before the {sel} period(s) in which enrolment may have been decided"
        )
    # the periods before the selection window, a fake start, no covariates (they describe the
    # real post-period: other programs' exposure change, tenure at the real start)
    early = h.skip_last_pre(sel).before(fake_start)
    return dataclasses.replace(early, covariates=h.covariates.iloc[:, :0])


def _run_design(name: str, h: UnitHistory, bin_size: int, alpha: float, hib: bool) -> Effect:
    kw = {"outcome": "y", "alpha": alpha, "higher_is_better": hib}
    if name == "fe_did":
        return fe_did_history(h, bin_size=bin_size, **kw)  # type: ignore[arg-type]
    if name == "lagged_outcome":
        return lagged_outcome_history(h, bin_size=bin_size, **kw)  # type: ignore[arg-type]
    return synthetic_did_history(h, **kw)  # type: ignore[arg-type]


def _placebo_date(
    name: str,
    ph: UnitHistory | str,
    sel: int,
    bin_size: int,
    alpha: float,
    hib: bool,
) -> Diagnostic:
    """Run the design at a placebo start date (a required check).

    The design on pre-period data only, pretending the program started earlier, with the fake
    post-period ending before the selection window.
    """
    if isinstance(ph, str):
        return Diagnostic("placebo_date", None, required=True, note=ph)
    e = _run_design(name, ph, bin_size, alpha, hib)
    if not (np.isfinite(e.p_value) and np.isfinite(e.estimate)):
        return Diagnostic(
            "placebo_date", None, required=True, note="placebo start date: no finite estimate"
        )
    ok = bool(e.p_value > alpha)
    n_fake = ph.n_post
    return Diagnostic(
        name="placebo_date",
        passed=ok,
        p_value=float(e.p_value),
        value=float(e.estimate),
        required=True,
        note=(
            f"the same design on the {ph.y.shape[1]} period(s) before the {sel} in which "
            f"enrolment may have been decided, pretending the program started {n_fake} period(s) "
            "before their end: "
            + (
                "no 'effect', as it should be"
                if ok
                else f"an 'effect' of {e.estimate:.4g} (p = {e.p_value:.3g}) where there can be "
                "none, so this design's assumption fails on this program"
            )
        ),
    )


# ---------------------------------------------------------------------- the bracket
def _carries(eff: Effect) -> tuple[bool, str]:
    """Whether a design may carry the verdict: a finite interval and no failed required check."""
    if not all(np.isfinite(x) for x in (eff.estimate, eff.ci_low, eff.ci_high)):
        return False, "no finite interval"
    failed = [d.name for d in eff.diagnostics if d.required and d.passed is False]
    if failed:
        return False, "failed " + ", ".join(failed)
    return True, ""


def _bracket(designs: Mapping[str, Effect], alpha: float, hib: bool) -> Effect:
    """One effect spanning the designs that survive their checks.

    Interval: the union of their intervals (it covers the truth whenever any carrying design's
    interval does and the truth lies between the designs). Test: intersection-union, the largest
    of their p-values (a verdict needs every carrying design to reject). Estimate: the middle of
    the range of their estimates; ``extras["bracket"]`` holds the range, which the verdict uses
    for the minimum effect.
    """
    carrying: dict[str, Effect] = {}
    dropped: dict[str, str] = {}
    for name, eff in designs.items():
        ok, why = _carries(eff)
        if ok:
            carrying[name] = eff
        else:
            dropped[name] = why
    if "synthetic_did" in carrying and not set(carrying) & set(BRACKET_ENDS):
        # synthetic DiD uses no covariates (tenure, other programs): it may widen the bracket of
        # the two designs that do, never stand in for both
        dropped["synthetic_did"] = (
            "cannot carry it alone (it does not adjust for tenure or other programs, and both "
            "designs that do failed their checks)"
        )
        carrying.pop("synthetic_did")
    diags = [_carry_diag(designs, carrying, dropped), _agree_diag(designs, alpha)]
    ref = next(iter(designs.values()))
    if not carrying:
        est = se = lo = hi = p = float("nan")
        rng: tuple[float, float] | None = None
    else:
        ests = [e.estimate for e in carrying.values()]
        rng = (float(min(ests)), float(max(ests)))
        lo = float(min(e.ci_low for e in carrying.values()))
        hi = float(max(e.ci_high for e in carrying.values()))
        est = float(np.mean(rng))
        p = float(max(e.p_value for e in carrying.values()))
        se = float((hi - lo) / (2 * z_critical(alpha)))
    names = ", ".join(_LABELS[n] for n in carrying) or "none"
    return Effect(
        estimate=est,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        n_units=ref.n_units,
        n_obs=ref.n_obs,
        method="bracket of observational designs",
        outcome=ref.outcome,
        spec={
            "method": "bracket of observational designs",
            "ci_level": 1 - alpha,
            "alpha": alpha,
            "designs": list(designs),
            "carrying": list(carrying),
            "inference": "union of the carrying designs' intervals; intersection-union test "
            "(largest p-value)",
            "notes": [
                f"designs that carry the verdict: {names}",
                *(f"{_LABELS[n]} does not carry it: {why}" for n, why in dropped.items()),
            ],
            "versions": library_versions(),
        },
        diagnostics=tuple(diags),
        baseline=float(np.nanmean([e.baseline for e in carrying.values()]))
        if carrying and all(e.baseline is not None for e in carrying.values())
        else ref.baseline,
        higher_is_better=hib,
        extras={
            "bracket": rng,
            "carrying": tuple(carrying),
            "estimates": {n: float(e.estimate) for n, e in designs.items()},
            "n_treated": ref.extras.get("n_treated"),
        },
    )


def _carry_diag(
    designs: Mapping[str, Effect], carrying: Mapping[str, Effect], dropped: Mapping[str, str]
) -> Diagnostic:
    """Check that at least one design survives its own checks (required)."""
    parts = [f"{_LABELS[n]} carries it" for n in carrying]
    parts += [f"{_LABELS[n]} {why}" for n, why in dropped.items()]
    return Diagnostic(
        name="designs_carrying",
        passed=bool(carrying),
        value=float(len(carrying)),
        required=True,
        note="; ".join(parts)
        + ("" if carrying else " — no design's assumptions survive their checks"),
    )


def _agree_diag(designs: Mapping[str, Effect], alpha: float) -> Diagnostic:
    """Compare the fixed-effects DiD and the lagged-outcome regression (informational).

    They rest on different identifying assumptions; where they differ, why people were enrolled
    decides which is right, and the bracket shows the range.
    """
    return designs_agree(designs["fe_did"], {"lagged_outcome": designs["lagged_outcome"]}, alpha)
