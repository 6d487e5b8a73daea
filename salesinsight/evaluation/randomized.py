"""Randomized programs: the experiment per assigned unit, one joint check of the assignment.

:class:`RandomizedDesign` compares the arms' post-period ratios of sums per assigned unit
(:func:`salesinsight.causal.experiment`, the pre-period ratio as Lin covariate, clustered by the
unit of assignment), checks the assignment once per program (joint F test of the pre-period KPIs)
and runs the experiment on pre-period data at a placebo start date (informational).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.design_run import Design, DesignRun
from salesinsight.evaluation.inputs import ProgramInputs
from salesinsight.evaluation.panel import (
    PLACEBO_OUTCOME,
    _in_window,
    _NoData,
    randomized_units,
)

__all__ = ["JOINT_CHECK_OUTCOMES", "RandomizedDesign"]

#: pre-period KPIs of the randomized design's joint balance check (always these, whatever the
#: requested outcomes; constant ones, e.g. CSAT without responses, are left out by the check)
JOINT_CHECK_OUTCOMES: tuple[str, ...] = ("win_rate", "revenue", "follow_ups", "csat")


class RandomizedDesign(Design):
    """Randomized programs: the experiment on one row per assigned unit.

    Built once per program: the units of every outcome (and of the joint check's KPIs and the
    placebo outcome) and the joint randomization check, so that the assignment is tested once.
    """

    name = "randomized"

    def __init__(self, inputs: ProgramInputs) -> None:
        super().__init__(inputs)
        i = inputs
        self.units: dict[str, pd.DataFrame] = {
            o: randomized_units(i.frame, *i.num_den(o), i.starts, i.window)
            for o in dict.fromkeys((*i.outcomes, *JOINT_CHECK_OUTCOMES, PLACEBO_OUTCOME))
        }
        # the assignment is checked on a fixed set of pre-period KPIs, whatever outcomes were
        # asked for: a verdict depends only on the program, its outcome, the data and the params
        pre = pd.DataFrame({o: self.units[o]["pre"] for o in JOINT_CHECK_OUTCOMES})
        self.joint_check = _joint_randomization_check(pre, self.units[JOINT_CHECK_OUTCOMES[0]]["d"])

    def run(self, outcome: str) -> DesignRun:
        """Run the experiment on ``outcome``; the joint check replaces its own balance check."""
        i = self.inputs
        eff = _randomized(
            self.units[outcome], self.joint_check, i.alpha, i.seed, i.higher_is_better(outcome)
        )
        return DesignRun(eff)

    def checks(self, outcome: str, primary: Effect) -> tuple[Diagnostic | None, ...]:
        """Return the placebo start date (informational)."""
        return (self._placebo_date(outcome),)

    def _placebo_date(self, outcome: str) -> Diagnostic:
        """Re-run the experiment on pre-period data with a fake start a third of the pre-period early.

        Under randomization it rejects at rate ``alpha`` (informational: the required check is the
        joint randomization test).
        """
        i = self.inputs
        frame, window, alpha = i.frame, i.window, i.alpha
        arms = i.starts[i.starts["arm"].isin(["treatment", "control"])]
        start_t = int(arms["cohort"].min())
        f = frame[_in_window(frame, window)]
        times = sorted(f.loc[f["t"] < start_t, "t"].unique())
        h = max(1, len(times) // 3)
        if len(times) - h < 1:
            return Diagnostic("placebo_date", None, required=False, note="pre-period too short")
        fake = times[len(times) - h]
        last_pre = f.loc[f["t"] == start_t - 1, "period_start"].iloc[0]
        fake_starts = arms.assign(cohort=fake)
        units = randomized_units(frame, *i.num_den(outcome), fake_starts, (window[0], last_pre))
        try:
            e = _randomized(units, None, alpha, i.seed, i.higher_is_better(outcome))
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
