"""What every design reads about one program: :class:`ProgramInputs`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from salesinsight.causal.effect import library_versions
from salesinsight.evaluation.panel import LOWER_IS_BETTER, num_den

__all__ = ["ProgramInputs"]


@dataclass(frozen=True, eq=False)
class ProgramInputs:
    """One program's data, unit panel, window and options, as every design reads them.

    Built once per program by :func:`salesinsight.evaluation.registry.prepare`; a design runs on
    it once per outcome.

    Attributes
    ----------
    data : Dataset
        The loaded data folder.
    program : Mapping
        The program's row (:func:`~salesinsight.evaluation.panel.program_info`).
    enroll : DataFrame
        The program's enrolments.
    outcomes : tuple of str
        The outcomes to evaluate, in order.
    route : str
        The design that runs: the program's ``design``, or ``"company_wide"`` for a single
        rollout that enrolled every unit at once.
    grain : {"week", "month", "quarter"}
        Grain of the unit panel.
    alpha : float
        One minus the interval level; level of every check and of the multiplicity correction.
    seed : int
    correction : {"holm", "bh"}
    min_effect : Mapping
        Outcome -> smallest effect that matters (a number in the outcome's units or ``"N%"``).
    frame : DataFrame
        The unit panel (:func:`~salesinsight.evaluation.panel.unit_panel`).
    periods : DatetimeIndex
        Period starts of the panel; ``frame["t"]`` indexes them from 1.
    starts : DataFrame
        Enrolment starts per unit (:func:`~salesinsight.evaluation.panel.unit_starts`).
    window : tuple of Timestamp
        First and last period start of the analysis window.
    pre_periods, post_periods : int
        Periods before the first start and from the last start on, before clipping to the data.
    exclude : frozenset of str
        Units dropped from the comparison group (enrolled in another program of the same unit
        type before this one started; observational programs).
    exposure : DataFrame or None
        Per ``unit_id`` and ``t``, the exposure to every other program (``exposure_<id>``
        columns; single rollouts and observational programs), adjusted for as covariates.
    tenure : Series or None
        Months from hire to the program's first start, by ``rep_id`` (observational rep programs).
    did_grain, design_grain : str or None
        The grain options as given.
    end : date, str or None
        Last day of data used.
    adjust_other_programs : bool
    """

    data: Any
    program: Mapping[str, Any]
    enroll: pd.DataFrame
    outcomes: tuple[str, ...]
    route: str
    grain: str
    alpha: float
    seed: int
    correction: str
    min_effect: Mapping[str, float | str]
    frame: pd.DataFrame
    periods: pd.DatetimeIndex
    starts: pd.DataFrame
    window: tuple[pd.Timestamp, pd.Timestamp]
    pre_periods: int
    post_periods: int
    exclude: frozenset[str] = frozenset()
    exposure: pd.DataFrame | None = None
    tenure: pd.Series | None = None
    did_grain: str | None = None
    design_grain: str | None = None
    end: dt.date | str | None = None
    adjust_other_programs: bool = True

    @property
    def unit(self) -> str:
        """Return the program's unit, ``"rep"`` or ``"team"``."""
        return str(self.program["unit"])

    @property
    def design(self) -> str:
        """Return the program's ``design`` as the programs table gives it."""
        return str(self.program["design"])

    def num_den(self, outcome: str) -> tuple[pd.Series, pd.Series]:
        """Return the outcome's numerator and denominator on the unit panel (a ratio of sums)."""
        return num_den(self.frame, outcome)

    def higher_is_better(self, outcome: str) -> bool:
        """Return whether an increase of ``outcome`` is good (False for attrition, cycle days)."""
        return outcome not in LOWER_IS_BETTER

    def spec(self) -> dict[str, Any]:
        """Return every option and default of the evaluation, its window and library versions."""
        return {
            "program_id": self.program["program_id"],
            "outcomes": self.outcomes,
            "grain": self.grain,
            "did_grain": self.did_grain,
            "design_grain": self.design_grain,
            "route": self.route,
            "alpha": self.alpha,
            "min_effect": dict(self.min_effect),
            "seed": self.seed,
            "correction": self.correction,
            "pre_periods": self.pre_periods,
            "post_periods": self.post_periods,
            "window": (str(self.window[0].date()), str(self.window[1].date())),
            "excluded_controls": len(self.exclude),
            "end": None if self.end is None else str(self.end),
            "adjust_other_programs": self.adjust_other_programs,
            "versions": library_versions(),
        }
