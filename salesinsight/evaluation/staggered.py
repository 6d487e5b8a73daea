"""Staggered programs: Callaway & Sant'Anna DiD by enrolment cohort, TWFE alongside.

:class:`StaggeredDesign` keeps the units active in every period of the window (balanced on
employment), linearizes the outcome around the treated units' pre-period ratio and runs
:func:`salesinsight.causal.staggered_did` (never-treated or, without them, not-yet-treated
comparisons), with its event study and two-way fixed effects beside it for contrast.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.design_run import Design, DesignRun
from salesinsight.evaluation.panel import _in_window, _linearized, _NoData

__all__ = ["StaggeredDesign"]


class StaggeredDesign(Design):
    """Staggered programs: Callaway & Sant'Anna DiD, event study, TWFE for contrast."""

    name = "staggered"

    @classmethod
    def panel_grain(cls, grain: str, did_grain: str | None, design_grain: str | None) -> str:
        """Return ``did_grain`` (quarters by default: one base period per cohort), else ``grain``."""
        return did_grain if did_grain is not None else grain

    def run(self, outcome: str) -> DesignRun:
        """Estimate the overall effect on ``outcome``; the event study and TWFE alongside."""
        from salesinsight.causal import staggered_did, twfe

        i = self.inputs
        alpha = i.alpha
        f, r, n_kept = _staggered_panel(i.frame, *i.num_den(outcome), i.starts, i.window)
        never = (f.groupby("unit_id")["cohort"].first() == 0).any()
        res = staggered_did(
            f,
            outcome="y",
            unit="unit_id",
            time="t",
            cohort="cohort",
            control_group="never_treated" if never else "not_yet_treated",
            alpha=alpha,
            seed=i.seed,
            higher_is_better=i.higher_is_better(outcome),
            # a handful of reps per cohort against several pre-periods: the chi-square Wald test
            # of every pre-period ATT(g,t) rejects a true null almost always (docs/validation.md)
            pretrend="event_f",
        )
        simple = res.aggregate("simple")
        dyn = res.aggregate("dynamic")
        alt = twfe(f, outcome="y", unit="unit_id", time="t", treatment="d", alpha=alpha)
        note = (
            f"units active in every period of the window only ({n_kept} of "
            f"{i.frame['unit_id'].nunique()}); outcome linearized around the treated pre-period "
            "ratio"
        )
        spec = {**simple.spec, "evaluate_note": note}
        eff = dataclasses.replace(simple, baseline=r, spec=spec)
        return DesignRun(eff, {"twfe": alt}, dyn)

    def checks(self, outcome: str, primary: Effect) -> tuple[Diagnostic | None, ...]:
        """Return the placebo start date: the pre-trend test under its common name."""
        return (_staggered_placebo_date(primary),)


def _staggered_panel(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> tuple[pd.DataFrame, float, int]:
    """Return the window's rows of units active throughout, linearized ``y``, ``cohort``, ``d``.

    Also the baseline ``R`` (treated pre-period ratio) and the number of units kept.
    """
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
    return f, r, len(keep)


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
