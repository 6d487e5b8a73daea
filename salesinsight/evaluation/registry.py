"""The designs by the programs table's ``design`` value, and the inputs they run on.

:data:`DESIGNS` maps each ``design`` of the data contract to its :class:`Design`;
:func:`prepare` builds a program's :class:`ProgramInputs` (the unit panel at the design's grain,
the enrolment starts, the analysis window and the design's context) and returns the design that
runs on it. A new design is a :class:`Design` subclass added to :data:`DESIGNS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from salesinsight.evaluation.design_run import Design, DesignRun
from salesinsight.evaluation.inputs import ProgramInputs
from salesinsight.evaluation.observational import ObservationalDesign
from salesinsight.evaluation.panel import _NotSupported, analysis_window, unit_panel, unit_starts
from salesinsight.evaluation.randomized import RandomizedDesign
from salesinsight.evaluation.rollout import SingleRolloutDesign
from salesinsight.evaluation.staggered import StaggeredDesign

__all__ = ["DESIGNS", "prepare"]

#: programs.design -> the design that evaluates it
DESIGNS: dict[str, type[Design]] = {
    "randomized": RandomizedDesign,
    "staggered": StaggeredDesign,
    "single_rollout": SingleRolloutDesign,
    "observational": ObservationalDesign,
}


class _UnsupportedDesign(Design):
    """A ``design`` value no design is registered for: every outcome says so."""

    name = "unsupported"

    def run(self, outcome: str) -> DesignRun:
        """Raise ``_NotSupported`` naming the design."""
        raise _NotSupported(f"design {self.inputs.design!r} is not supported")


def prepare(
    ds: Any,
    program: Mapping[str, Any],
    enroll: pd.DataFrame,
    outcomes: tuple[str, ...],
    *,
    grain: str,
    did_grain: str | None,
    design_grain: str | None,
    pre_periods: int | None,
    post_periods: int | None,
    end: dt.date | str | None,
    adjust_other_programs: bool,
    alpha: float,
    seed: int,
    correction: str,
    min_effect: Mapping[str, float | str],
) -> Design:
    """Return the design of a program, built on the program's :class:`ProgramInputs`.

    Parameters
    ----------
    ds : Dataset
    program, enroll
        From :func:`~salesinsight.evaluation.panel.program_info`.
    outcomes : tuple of str
    grain, did_grain, design_grain, pre_periods, post_periods, end, adjust_other_programs
        As in :func:`salesinsight.evaluation.evaluate`.
    alpha, seed, correction, min_effect
        Passed through to :class:`ProgramInputs`.

    Returns
    -------
    Design
        The registered design of ``program["design"]`` (or the one it resolves to on this
        enrolment, e.g. company-wide for a single rollout without never-enrolled units).
    """
    cls = DESIGNS.get(str(program["design"]), _UnsupportedDesign)
    unit = str(program["unit"])
    panel_grain = cls.panel_grain(grain, did_grain, design_grain)
    frame, periods = unit_panel(ds, unit=unit, grain=panel_grain, end=end)
    starts = unit_starts(enroll, frame, periods)
    route_cls = cls.resolve(frame, starts)
    if route_cls is not cls and route_cls.panel_grain(grain, did_grain, design_grain) != (
        panel_grain
    ):
        panel_grain = route_cls.panel_grain(grain, did_grain, design_grain)
        frame, periods = unit_panel(ds, unit=unit, grain=panel_grain, end=end)
        starts = unit_starts(enroll, frame, periods)
    pre_n, post_n = route_cls.windows[panel_grain]
    pre_n = pre_periods if pre_periods is not None else pre_n
    post_n = post_periods if post_periods is not None else post_n
    inputs = ProgramInputs(
        data=ds,
        program=program,
        enroll=enroll,
        outcomes=outcomes,
        route=str(program["design"]) if route_cls is cls else route_cls.name,
        grain=panel_grain,
        alpha=alpha,
        seed=seed,
        correction=correction,
        min_effect=min_effect,
        frame=frame,
        periods=periods,
        starts=starts,
        window=analysis_window(periods, starts, pre_n, post_n),
        pre_periods=pre_n,
        post_periods=post_n,
        did_grain=did_grain,
        design_grain=design_grain,
        end=end,
        adjust_other_programs=adjust_other_programs,
        **route_cls.context(ds, program, enroll, frame, panel_grain, adjust_other_programs),
    )
    return route_cls(inputs)
