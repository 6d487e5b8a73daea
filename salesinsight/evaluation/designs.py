"""The designs :func:`salesinsight.evaluation.evaluate` runs, one function per design.

Each takes the unit panel (``frame``, from :mod:`salesinsight.evaluation.panel`), the outcome's
numerator and denominator, the enrolment starts and the analysis window, and returns the primary
:class:`~salesinsight.causal.Effect` plus the designs run alongside (see ``docs/causal.md``).

Randomized and staggered designs live here; single rollouts (DiD, synthetic control, company-wide
impact) in :mod:`.rollout`, observational programs (matched DiD, AIPW) in :mod:`.observational`,
their shared panel in :mod:`.comparison`, the checks shared by designs in :mod:`.checks` and
:class:`DesignRun` in :mod:`.design_run`.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.checks import designs_agree as designs_agree
from salesinsight.evaluation.comparison import _design_panel as _design_panel
from salesinsight.evaluation.design_run import DesignRun
from salesinsight.evaluation.design_run import _add as _add
from salesinsight.evaluation.matching import _matched as _matched
from salesinsight.evaluation.matching import _matched_balance as _matched_balance
from salesinsight.evaluation.observational import observational as observational
from salesinsight.evaluation.panel import _in_window, _linearized, _NoData, randomized_units
from salesinsight.evaluation.rollout import _did as _did
from salesinsight.evaluation.rollout import _did_placebo_date as _did_placebo_date
from salesinsight.evaluation.rollout import _within_varies as _within_varies

# names imported from this module by tests and benchmarks/null_evaluate_diagnostics.py are
# re-exported above with a redundant alias (``x as x``)

__all__ = ["DesignRun"]


# ---------------------------------------------------------------------- randomized
def _randomized(
    units: pd.DataFrame, joint_check: Diagnostic | None, alpha: float, seed: int, hib: bool
) -> Effect:
    from salesinsight.causal import experiment

    units = units[units["_den"] > 0].reset_index()
    if units["d"].nunique() < 2:
        raise _NoData("one arm has no units with a non-zero post-period denominator")
    eff = experiment(
        units,
        outcome="_num",
        treatment="d",
        ratio_denominator="_den",
        covariates=["pre"],
        cluster="unit_id",
        seed=seed,
        alpha=alpha,
        higher_is_better=hib,
        balance_required=False,
    )
    if joint_check is None:
        return eff
    # the assignment is one event: test it once per program (all outcomes' pre-period values
    # jointly), not once per outcome
    diags = tuple(joint_check if d.name == "randomization_check" else d for d in eff.diagnostics)
    return dataclasses.replace(eff, diagnostics=diags)


def _joint_randomization_check(pre: pd.DataFrame, d: pd.Series) -> Diagnostic | None:
    from salesinsight.causal._experiment import randomization_check

    x = pre.loc[:, pre.std(ddof=0) > 0]
    if x.shape[1] == 0:
        return None
    check = randomization_check(d.to_numpy(float), x.to_numpy(float), None)
    note = (
        f"joint F test (HC1, one row per assigned unit) that the pre-period values of "
        f"{', '.join(x.columns)} do not predict assignment; fails (p < 0.01) when the imbalance "
        "is beyond chance, a sign of broken randomization"
    )
    return dataclasses.replace(check, note=note)


def randomized_placebo_date(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> Diagnostic:
    """Re-run the experiment on pre-period data with a fake start a third of the pre-period early.

    Under randomization it rejects at rate ``alpha`` (informational: the required check is the
    joint randomization test).
    """
    arms = starts[starts["arm"].isin(["treatment", "control"])]
    start_t = int(arms["cohort"].min())
    f = frame[_in_window(frame, window)]
    times = sorted(f.loc[f["t"] < start_t, "t"].unique())
    h = max(1, len(times) // 3)
    if len(times) - h < 1:
        return Diagnostic("placebo_date", None, required=False, note="pre-period too short")
    fake = times[len(times) - h]
    last_pre = f.loc[f["t"] == start_t - 1, "period_start"].iloc[0]
    fake_starts = arms.assign(cohort=fake)
    units = randomized_units(frame, num, den, fake_starts, (window[0], last_pre))
    try:
        e = _randomized(units, None, alpha, seed, hib)
    except _NoData as exc:
        return Diagnostic("placebo_date", None, required=False, note=f"not computable: {exc}")
    ok = bool(e.p_value > alpha)
    return Diagnostic(
        name="placebo_date",
        passed=ok,
        p_value=float(e.p_value),
        value=float(e.estimate),
        required=False,
        note=f"the experiment on pre-period data, pretending it started {h} period(s) early: "
        + ("no difference between the arms" if ok else f"a difference of {e.estimate:.4g}"),
    )


# ---------------------------------------------------------------------- staggered
def _staggered(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> tuple[Effect, Effect, Effect]:
    from salesinsight.causal import staggered_did, twfe

    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)].copy()
    coh = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    f["cohort"] = f["unit_id"].map(coh).fillna(0).astype(int)
    # balanced on employment: keep units active in every period of the window
    present = f.groupby("unit_id")["_exposure"].agg(lambda s: bool((s > 0).all()))
    keep = present[present].index
    f = f[f["unit_id"].isin(keep)].copy()
    if f.empty or (f["cohort"] > 0).sum() == 0:
        raise _NoData("no treated unit is active throughout the analysis window")
    y, r = _linearized(f, f["_num"], f["_den"], f["cohort"])
    f["y"] = y
    f["d"] = ((f["cohort"] > 0) & (f["t"] >= f["cohort"])).astype(int)
    never = (f.groupby("unit_id")["cohort"].first() == 0).any()
    res = staggered_did(
        f,
        outcome="y",
        unit="unit_id",
        time="t",
        cohort="cohort",
        control_group="never_treated" if never else "not_yet_treated",
        alpha=alpha,
        seed=seed,
        higher_is_better=hib,
        # a handful of reps per cohort against several pre-periods: the chi-square Wald test of
        # every pre-period ATT(g,t) rejects a true null almost always (docs/validation.md)
        pretrend="event_f",
    )
    simple = res.aggregate("simple")
    dyn = res.aggregate("dynamic")
    alt = twfe(f, outcome="y", unit="unit_id", time="t", treatment="d", alpha=alpha)
    note = (
        f"units active in every period of the window only ({len(keep)} of "
        f"{frame['unit_id'].nunique()}); outcome linearized around the treated pre-period ratio"
    )
    spec = {**simple.spec, "evaluate_note": note}
    return dataclasses.replace(simple, baseline=r, spec=spec), dyn, alt


def _staggered_placebo_date(eff: Effect) -> Diagnostic | None:
    """Return the placebo-date test of staggered DiD (its pre-trend test).

    Every pre-period event time is a fake start. Mirrored under the common name, informational
    (the required check is ``pre_trends``, counted once).
    """
    pre = next((d for d in eff.diagnostics if d.name == "pre_trends"), None)
    if pre is None:
        return None
    return Diagnostic(
        name="placebo_date",
        passed=pre.passed,
        statistic=pre.statistic,
        p_value=pre.p_value,
        required=False,
        note="same test as pre_trends: each pre-period event time is a fake start date, and "
        "their effects are jointly zero" + ("" if pre.passed is not False else " — rejected"),
    )
