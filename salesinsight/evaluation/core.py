"""``evaluate(data, program_id)``: program -> design -> panel -> estimators -> diagnostics -> verdicts.

:func:`evaluate` checks the options, reads the program, lets the design registry
(:mod:`.registry`) build the program's inputs and design, runs the design on every outcome with
the shared checks (placebo outcome, design agreement), applies the multiplicity correction
(:mod:`.verdicts`) and assembles a :class:`ProgramEvaluation`. See the package docstring and
``docs/causal.md`` ("Program evaluation") for the designs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, Verdict
from salesinsight.evaluation.checks import DESIGN_ROLES, designs_agree, placebo_outcome_diag
from salesinsight.evaluation.design_run import Design, DesignRun, _add
from salesinsight.evaluation.naive import NAIVE_COLUMNS, _naive
from salesinsight.evaluation.panel import (
    _WINDOWS,
    DEFAULT_OUTCOMES,
    KPI_DEFINITIONS,
    PLACEBO_OUTCOME,
    _finite,
    _no_data_reason,
    _NoData,
    _NotSupported,
    _unavailable,
    program_info,
)
from salesinsight.evaluation.registry import prepare
from salesinsight.evaluation.result import ProgramEvaluation
from salesinsight.evaluation.verdicts import adjust_p_values, adjusted_verdict
from salesinsight.kpis import KPIS
from salesinsight.min_effect import min_effect_specs, resolve_min_effect

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = ["evaluate"]

Grain = Literal["week", "month", "quarter"]


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
    from salesinsight.data import load

    _check_options(alpha, correction, grain=grain, did_grain=did_grain, design_grain=design_grain)
    ds = load(Path(data)) if isinstance(data, str | Path) else data  # a Dataset of any engine
    program, enroll = program_info(ds, program_id)
    outs = _outcomes(outcomes, program)
    mins = min_effect_specs(min_effect, outs)
    design = prepare(
        ds,
        program,
        enroll,
        outs,
        grain=grain,
        did_grain=did_grain,
        design_grain=design_grain,
        pre_periods=pre_periods,
        post_periods=post_periods,
        end=end,
        adjust_other_programs=adjust_other_programs,
        alpha=alpha,
        seed=seed,
        correction=correction,
        min_effect=mins,
    )
    return _assemble(program, design, _run_outcomes(design))


# ---------------------------------------------------------------------- helpers
def _check_options(alpha: float, correction: str, **grains: str | None) -> None:
    """Raise ValueError for an unknown correction, an alpha outside (0, 1) or an unknown grain."""
    if correction not in ("holm", "bh"):
        raise ValueError(f"correction must be 'holm' or 'bh', got {correction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    for name, g in grains.items():
        if (g is not None or name == "grain") and g not in _WINDOWS:
            raise ValueError(f"{name} must be one of {sorted(_WINDOWS)}, got {g!r}")


def _outcomes(outcomes: Sequence[str] | None, program: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the outcomes to evaluate; raise ValueError for an unknown one (with a hint)."""
    unit = program["unit"]
    if outcomes is None:  # the defaults defined for the program's unit
        outs = tuple(o for o in DEFAULT_OUTCOMES if KPIS[o].defined_for(unit))
    else:
        outs = tuple(outcomes)
    bad = [o for o in outs if o not in KPI_DEFINITIONS]
    if bad:
        close = difflib.get_close_matches(bad[0], sorted(KPI_DEFINITIONS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown outcome(s) {bad}{hint}; known KPIs: {sorted(KPI_DEFINITIONS)} (programs "
            f"table, program {program['program_id']!r})"
        )
    for o in outs:
        if not KPIS[o].defined_for(unit):
            raise ValueError(f"outcome {o!r} is defined for team programs only (unit = team)")
    return outs


@dataclass
class _Runs:
    """What the design gave per outcome, filled by :func:`_run_outcomes`."""

    effects: dict[str, Effect | None] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    dynamic: dict[str, Effect] = field(default_factory=dict)
    alternatives: dict[str, dict[str, Effect]] = field(default_factory=dict)
    naive: list[dict[str, Any]] = field(default_factory=list)
    not_estimable: set[str] = field(default_factory=set)

    def verdict(
        self, o: str, min_effect: float | str, alpha: float, p_adj: float | None, correction: str
    ) -> Verdict:
        """Return the verdict of outcome ``o`` after the multiplicity correction."""
        if o in self.not_estimable:
            return Verdict("not estimable", self.messages[o])
        eff = self.effects.get(o)
        if eff is None:
            return Verdict("inconclusive", self.messages.get(o, "") or "not estimated")
        baseline = None if eff.baseline is None else float(eff.baseline)
        return adjusted_verdict(
            eff,
            min_effect=resolve_min_effect(min_effect, baseline),
            alpha=alpha,
            p_adjusted=p_adj,
            correction=correction,
        )


def _run_outcomes(design: Design) -> _Runs:
    """Run the design on every outcome with the shared checks; say why where it cannot."""
    i = design.inputs
    placebo = _placebo_outcome(design)
    runs = _Runs()
    for o in i.outcomes:
        num, den = i.num_den(o)
        why = _unavailable(i.data, o) or _no_data_reason(i.frame, num, den, i.window)
        if why is not None:
            runs.effects[o], runs.messages[o] = None, why
            runs.not_estimable.add(o)
            continue
        runs.naive.extend(_naive(i.frame, num, den, i.starts, i.window, o, i.design))
        try:
            res = design.run(o)
        except _NotSupported as exc:
            runs.effects[o], runs.messages[o] = None, str(exc)
            continue
        except _NoData as exc:
            runs.effects[o], runs.messages[o] = None, f"could not be estimated: {exc}"
            continue
        _add_run(runs, design, o, res, placebo)
    return runs


def _add_run(runs: _Runs, design: Design, o: str, res: DesignRun, placebo: Diagnostic) -> None:
    """Add one outcome's run with the placebo outcome, the design's checks and design agreement."""
    eff = res.primary
    extra: list[Diagnostic | None] = [placebo, *design.checks(o, eff)]
    alts = {k: dataclasses.replace(v, outcome=o) for k, v in res.alternatives.items()}
    design_alts = {k: v for k, v in alts.items() if k in DESIGN_ROLES}
    if design_alts:
        extra.append(designs_agree(eff, design_alts, design.inputs.alpha))
    runs.effects[o] = dataclasses.replace(_add(eff, *extra), outcome=o)
    if alts:
        runs.alternatives[o] = alts
    if res.dynamic is not None:
        runs.dynamic[o] = dataclasses.replace(res.dynamic, outcome=o)


def _assemble(program: dict[str, Any], design: Design, runs: _Runs) -> ProgramEvaluation:
    """Correct for multiplicity across the outcomes, give the verdicts, build the result."""
    i = design.inputs
    raw_p = {
        o: e.p_value
        for o in i.outcomes
        if (e := runs.effects.get(o)) is not None and _finite(e.p_value)
    }
    p_adj = adjust_p_values(raw_p, alpha=i.alpha, correction=i.correction)
    return ProgramEvaluation(
        program=program,
        outcomes=i.outcomes,
        effects=runs.effects,
        verdicts={
            o: runs.verdict(o, i.min_effect[o], i.alpha, p_adj.get(o), i.correction)
            for o in i.outcomes
        },
        p_adjusted=p_adj,
        naive=pd.DataFrame(runs.naive, columns=NAIVE_COLUMNS),
        dynamic=runs.dynamic,
        alternatives=runs.alternatives,
        messages=runs.messages,
        spec=i.spec(),
    )


def _placebo_outcome(design: Design) -> Diagnostic:
    """Run the program's design on quota per active rep-period (see ``placebo_outcome_diag``)."""
    frame, alpha = design.inputs.frame, design.inputs.alpha
    if "quota" not in frame.columns or not frame["quota"].fillna(0).gt(0).any():
        return placebo_outcome_diag(None, "no quotas in the data: placebo outcome not run", alpha)
    try:
        res = design.run(PLACEBO_OUTCOME)
    except (_NoData, _NotSupported, ValueError) as exc:
        return placebo_outcome_diag(None, f"placebo outcome not computable: {exc}", alpha)
    return placebo_outcome_diag(res.primary, "", alpha)
