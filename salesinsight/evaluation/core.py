"""``evaluate(data, program_id)``: program -> design -> panel -> estimators -> diagnostics -> verdicts.

See the package docstring and ``docs/causal.md`` ("Program evaluation") for the designs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, Verdict, library_versions
from salesinsight.evaluation.checks import DESIGN_ROLES, designs_agree, placebo_outcome_diag
from salesinsight.evaluation.design_run import DesignRun, _add
from salesinsight.evaluation.designs import (
    _joint_randomization_check,
    _randomized,
    _staggered,
    _staggered_placebo_date,
    randomized_placebo_date,
)
from salesinsight.evaluation.naive import NAIVE_COLUMNS, _naive
from salesinsight.evaluation.observational import observational
from salesinsight.evaluation.panel import (
    _WINDOWS,
    DEFAULT_OUTCOMES,
    KPI_DEFINITIONS,
    LOWER_IS_BETTER,
    PLACEBO_OUTCOME,
    _finite,
    _no_data_reason,
    _NoData,
    _NotSupported,
    _other_exposure,
    _unavailable,
    analysis_window,
    num_den,
    program_info,
    randomized_units,
    unit_panel,
    unit_starts,
)
from salesinsight.evaluation.result import ProgramEvaluation
from salesinsight.evaluation.rollout import company_wide, single_rollout
from salesinsight.kpis import KPIS
from salesinsight.min_effect import min_effect_specs, resolve_min_effect

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = ["evaluate"]

#: default windows (periods before the first start, after the last start) for single-rollout and
#: observational programs: synthetic control, matching and the placebo dates need a long
#: pre-period, so a year on each side by default, clipped to the data
_DESIGN_WINDOWS = {"week": (52, 52), "month": (12, 12), "quarter": (4, 4)}

Grain = Literal["week", "month", "quarter"]

#: pre-period KPIs of the randomized design's joint balance check (always these, whatever the
#: requested outcomes; constant ones, e.g. CSAT without responses, are left out by the check)
JOINT_CHECK_OUTCOMES: tuple[str, ...] = ("win_rate", "revenue", "follow_ups", "csat")


def evaluate(
    data: Dataset | str | Path,
    program_id: str,
    outcomes: Sequence[str] | None = None,
    grain: Grain = "week",
    alpha: float = 0.05,
    min_effect: float | str | Mapping[str, float | str] | None = None,
    seed: int = 0,
    correction: Literal["holm", "bh"] = "holm",
    *,
    pre_periods: int | None = None,
    post_periods: int | None = None,
    did_grain: Grain | None = "quarter",
    design_grain: Grain | None = "month",
    end: dt.date | str | None = None,
    adjust_other_programs: bool = True,
) -> ProgramEvaluation:
    """Evaluate one program on its outcomes with the design(s) its enrolment allows.

    Parameters
    ----------
    data : Dataset or path
        A loaded dataset or a data folder (loaded and validated).
    program_id : str
    outcomes : sequence of str, optional
        KPI names (``salesinsight.kpis.OUTCOMES``); default ``DEFAULT_OUTCOMES``, those of them
        defined for the program's unit (``attrition`` for team programs only).
    grain : {"week", "month", "quarter"}
        Grain of randomized programs and of a company-wide rollout's time series.
    alpha : float
        One minus the interval level, and the familywise (Holm) / false-discovery (BH) level.
    min_effect : float, str or mapping outcome -> float or str, optional
        Smallest effect that matters, in the outcome's units, or ``"N%"`` of the effect's
        untreated baseline (as in the run parameters); default 0.
    seed : int
    correction : {"holm", "bh"}
    pre_periods, post_periods : int, optional
        Analysis window: periods before the (first) start and after the (last) start; defaults by
        grain (randomized / staggered: week 26/52, month 6/12, quarter 2/4; single-rollout and
        observational: a year on each side), clipped to the data.
    did_grain : {"week", "month", "quarter"} or None, default "quarter"
        Grain of the staggered-DiD panel (None = ``grain``). Callaway & Sant'Anna compare every
        cohort with its single last pre-treatment period, so a weekly base period makes every
        post-period cell share one week's noise; quarters (the usual enrolment rhythm) avoid it.
    design_grain : {"week", "month", "quarter"} or None, default "month"
        Grain of the unit panel for single-rollout programs with untreated units (DiD, synthetic
        control) and observational programs (matched DiD, AIPW); None = ``grain``. Months give a
        synthetic control or a trajectory match enough pre-periods without weekly noise.
    end : date or str, optional
        Last day of data used (e.g. the report quarter's last day); default: all data.
    adjust_other_programs : bool, default True
        Single rollouts: adjust the DiD for the time-varying exposure of each unit to the other
        programs in the data (share of its rep-periods under each), which otherwise contaminate
        the comparison when they are unevenly split between treated and comparison units.
    """
    from statsmodels.stats.multitest import multipletests

    from salesinsight.data import load

    if correction not in ("holm", "bh"):
        raise ValueError(f"correction must be 'holm' or 'bh', got {correction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    for name, g in (("grain", grain), ("did_grain", did_grain), ("design_grain", design_grain)):
        if (g is not None or name == "grain") and g not in _WINDOWS:
            raise ValueError(f"{name} must be one of {sorted(_WINDOWS)}, got {g!r}")
    ds = load(Path(data)) if isinstance(data, str | Path) else data  # a Dataset of any engine
    program, enroll = program_info(ds, program_id)
    unit = program["unit"]
    design = program["design"]
    level = "rep" if unit == "rep" else "team"
    if outcomes is None:  # the defaults defined for the program's unit
        outs = tuple(o for o in DEFAULT_OUTCOMES if level in KPIS[o].levels)
    else:
        outs = tuple(outcomes)
    bad = [o for o in outs if o not in KPI_DEFINITIONS]
    if bad:
        close = difflib.get_close_matches(bad[0], sorted(KPI_DEFINITIONS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown outcome(s) {bad}{hint}; known KPIs: {sorted(KPI_DEFINITIONS)} (programs "
            f"table, program {program_id!r})"
        )
    for o in outs:
        if level not in KPIS[o].levels:
            raise ValueError(f"outcome {o!r} is defined for team programs only (unit = team)")
    mins = min_effect_specs(min_effect, outs)

    windows = _WINDOWS
    base_grain = grain
    if design == "staggered" and did_grain is not None:
        grain = did_grain
    elif design in ("single_rollout", "observational"):
        windows = _DESIGN_WINDOWS
        grain = design_grain or grain
    frame, periods = unit_panel(ds, unit=unit, grain=grain, end=end)
    starts = unit_starts(enroll, frame, periods)
    route = design
    if design == "single_rollout" and not _has_untreated(frame, starts):
        # every unit enrolled at once: no comparison group; company-level series at `grain`
        route = "company_wide"
        if grain != base_grain:
            grain = base_grain
            frame, periods = unit_panel(ds, unit=unit, grain=grain, end=end)
            starts = unit_starts(enroll, frame, periods)
    pre_n, post_n = windows[grain]
    pre_n = pre_periods if pre_periods is not None else pre_n
    post_n = post_periods if post_periods is not None else post_n
    window = analysis_window(periods, starts, pre_n, post_n)
    first_start = pd.to_datetime(enroll.loc[enroll["arm"] == "treatment", "start_date"]).min()
    exclude = (
        _other_programs(ds, program_id, unit, before=first_start if adjust_other_programs else None)
        if design == "observational"
        else frozenset()
    )
    exposure = (
        _other_exposure(ds, program_id, unit, frame, grain)
        if route in ("single_rollout", "observational") and adjust_other_programs
        else None
    )

    tenure = _tenure_months(ds, first_start) if route == "observational" and unit == "rep" else None

    def run(num: pd.Series, den: pd.Series, hib: bool, o: str) -> DesignRun:
        if route == "randomized":
            return DesignRun(_randomized(rand_units[o], joint, alpha, seed, hib))
        if route == "staggered":
            eff, dyn, alt = _staggered(frame, num, den, starts, window, alpha, seed, hib)
            return DesignRun(eff, {"twfe": alt}, dyn)
        if route == "single_rollout":
            return single_rollout(frame, num, den, starts, window, alpha, seed, hib, unit, exposure)
        if route == "company_wide":
            return company_wide(frame, num, den, starts, window, alpha, seed, hib)
        if route == "observational":
            return observational(
                frame, num, den, starts, window, alpha, seed, hib, exclude, exposure, tenure
            )
        raise _NotSupported(f"design {design!r} is not supported")

    rand_units: dict[str, pd.DataFrame] = {}
    joint: Diagnostic | None = None
    if route == "randomized":
        for o in dict.fromkeys((*outs, *JOINT_CHECK_OUTCOMES, PLACEBO_OUTCOME)):
            rand_units[o] = randomized_units(frame, *num_den(frame, o), starts, window)
        # the assignment is checked on a fixed set of pre-period KPIs, whatever outcomes were
        # asked for: a verdict depends only on the program, its outcome, the data and the params
        pre = pd.DataFrame({o: rand_units[o]["pre"] for o in JOINT_CHECK_OUTCOMES})
        joint = _joint_randomization_check(pre, rand_units[JOINT_CHECK_OUTCOMES[0]]["d"])

    placebo = _placebo_outcome(frame, run, alpha)
    effects: dict[str, Effect | None] = {}
    messages: dict[str, str] = {}
    dynamic: dict[str, Effect] = {}
    alternatives: dict[str, dict[str, Effect]] = {}
    naive_rows: list[dict[str, Any]] = []
    not_estimable: set[str] = set()
    for o in outs:
        hib = o not in LOWER_IS_BETTER
        num, den = num_den(frame, o)
        why = _unavailable(ds, o) or _no_data_reason(frame, num, den, window)
        if why is not None:
            effects[o], messages[o] = None, why
            not_estimable.add(o)
            continue
        naive_rows.extend(_naive(frame, num, den, starts, window, o, design))
        try:
            res = run(num, den, hib, o)
        except _NotSupported as exc:
            effects[o], messages[o] = None, str(exc)
            continue
        except _NoData as exc:
            effects[o], messages[o] = None, f"could not be estimated: {exc}"
            continue
        eff = res.primary
        extra: list[Diagnostic | None] = [placebo]
        if route == "randomized":
            extra.append(randomized_placebo_date(frame, num, den, starts, window, alpha, seed, hib))
        elif route == "staggered":
            extra.append(_staggered_placebo_date(eff))
        alts = {k: dataclasses.replace(v, outcome=o) for k, v in res.alternatives.items()}
        design_alts = {k: v for k, v in alts.items() if k in DESIGN_ROLES}
        if design_alts:
            extra.append(designs_agree(eff, design_alts, alpha))
        eff = _add(eff, *extra)
        effects[o] = dataclasses.replace(eff, outcome=o)
        if alts:
            alternatives[o] = alts
        if res.dynamic is not None:
            dynamic[o] = dataclasses.replace(res.dynamic, outcome=o)

    raw_p = {o: e.p_value for o in outs if (e := effects.get(o)) is not None and _finite(e.p_value)}
    estimated = list(raw_p)
    p_adj: dict[str, float] = {}
    if estimated:
        raw = list(raw_p.values())
        method = "holm" if correction == "holm" else "fdr_bh"
        adj = multipletests(raw, alpha=alpha, method=method)[1]
        p_adj = {o: float(a) for o, a in zip(estimated, adj, strict=True)}
    verdicts = {
        o: Verdict("not estimable", messages[o])
        if o in not_estimable
        else _verdict(
            effects.get(o),
            messages.get(o, ""),
            resolve_min_effect(mins[o], _baseline(effects.get(o))),
            alpha,
            p_adj.get(o),
            correction,
        )
        for o in outs
    }
    spec = {
        "program_id": program_id,
        "outcomes": outs,
        "grain": grain,
        "did_grain": did_grain,
        "design_grain": design_grain,
        "route": route,
        "alpha": alpha,
        "min_effect": dict(mins),
        "seed": seed,
        "correction": correction,
        "pre_periods": pre_n,
        "post_periods": post_n,
        "window": (str(window[0].date()), str(window[1].date())),
        "excluded_controls": len(exclude),
        "end": None if end is None else str(end),
        "adjust_other_programs": adjust_other_programs,
        "versions": library_versions(),
    }
    return ProgramEvaluation(
        program=program,
        outcomes=outs,
        effects=effects,
        verdicts=verdicts,
        p_adjusted=p_adj,
        naive=pd.DataFrame(naive_rows, columns=NAIVE_COLUMNS),
        dynamic=dynamic,
        alternatives=alternatives,
        messages=messages,
        spec=spec,
    )


# ---------------------------------------------------------------------- helpers
def _has_untreated(frame: pd.DataFrame, starts: pd.DataFrame) -> bool:
    """Whether any unit with activity was never enrolled (a comparison group exists)."""
    treated = set(starts.loc[starts["arm"] == "treatment", "unit_id"])
    active = frame.loc[frame["_exposure"] > 0, "unit_id"].astype(str)
    return bool((~active.isin(treated)).any())


def _other_programs(
    ds: Any, program_id: str, unit: str, before: Any | None = None
) -> frozenset[str]:
    """Return the units enrolled (treatment arm) in another program of the same unit type.

    They are dropped from an observational program's comparison group, whose outcomes those
    programs may have moved.

    ``before``: only enrolments that started before this date (the evaluated program's first
    start). Units enrolled in another program *later* stay in the comparison group, with their
    exposure adjusted for: dropping them would select the comparison group on a later decision
    (managers nominate their weakest reps for training after mentoring began), which given the
    same pre-period record keeps the reps of higher persistent ability and with them a larger
    rebound (docs/validation.md).
    """
    progs = ds.table("programs")
    same = progs.loc[(progs["unit"] == unit) & (progs["program_id"] != program_id), "program_id"]
    enr = ds.table("enrollments")
    enr = enr[enr["program_id"].isin(set(same)) & (enr["arm"] == "treatment")]
    if before is not None:
        enr = enr[pd.to_datetime(enr["start_date"]) < pd.Timestamp(before)]
    return frozenset(enr["unit_id"].astype(str))


def _tenure_months(ds: Any, at: Any) -> pd.Series | None:
    """Return the months from each rep's hire date to ``at`` (the program's first start).

    By ``rep_id``; None when the reps table has no hire dates.
    """
    reps = ds.table("reps")
    if "hire_date" not in reps.columns or reps["hire_date"].isna().all():
        return None
    hire = pd.to_datetime(reps["hire_date"])
    months = (pd.Timestamp(at) - hire).dt.days / 30.4375
    return pd.Series(months.to_numpy(dtype=float), index=reps["rep_id"].astype(str))


def _placebo_outcome(frame: pd.DataFrame, run: Any, alpha: float) -> Diagnostic:
    """Run the program's design on quota per active rep-period (see ``placebo_outcome_diag``)."""
    if "quota" not in frame.columns or not frame["quota"].fillna(0).gt(0).any():
        return placebo_outcome_diag(None, "no quotas in the data: placebo outcome not run", alpha)
    try:
        res = run(*num_den(frame, PLACEBO_OUTCOME), True, PLACEBO_OUTCOME)
    except (_NoData, _NotSupported, ValueError) as exc:
        return placebo_outcome_diag(None, f"placebo outcome not computable: {exc}", alpha)
    return placebo_outcome_diag(res.primary, "", alpha)


def _verdict(
    eff: Effect | None,
    message: str,
    min_effect: float,
    alpha: float,
    p_adj: float | None,
    correction: str,
) -> Verdict:
    if eff is None:
        return Verdict("inconclusive", message or "not estimated")
    v = eff.verdict(min_effect=min_effect, alpha=alpha)
    if v.label in ("worked", "harmed") and p_adj is not None and p_adj >= alpha:
        name = "Holm" if correction == "holm" else "Benjamini-Hochberg"
        return Verdict(
            "inconclusive",
            f"{v.reason[:-1]}, but the {name}-adjusted p-value {p_adj:.3g} across the program's "
            f"outcomes is not below {alpha}.",
        )
    return v


def _baseline(eff: Effect | None) -> float | None:
    return None if eff is None or eff.baseline is None else float(eff.baseline)
