"""What a design is (:class:`Design`), what it returns (:class:`DesignRun`), and diagnostic edits."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.inputs import ProgramInputs
from salesinsight.evaluation.panel import _WINDOWS

__all__ = ["DESIGN_WINDOWS", "Design", "DesignRun"]

#: default windows (periods before the first start, after the last start) for single-rollout and
#: observational programs: synthetic control, matching and the placebo dates need a long
#: pre-period, so a year on each side by default, clipped to the data
DESIGN_WINDOWS = {"week": (52, 52), "month": (12, 12), "quarter": (4, 4)}


@dataclass(frozen=True)
class DesignRun:
    """Primary effect of one outcome, the designs run alongside and the event study (if any)."""

    primary: Effect
    alternatives: Mapping[str, Effect] = field(default_factory=dict)
    dynamic: Effect | None = None


class Design(ABC):
    """One evaluation design: built once per program, run once per outcome.

    A subclass says on what panel it runs (:meth:`panel_grain`, :attr:`windows`, :meth:`context`)
    and how it estimates one outcome (:meth:`run`) and checks it (:meth:`checks`). The designs
    are registered by the program's ``design`` value in
    :data:`salesinsight.evaluation.registry.DESIGNS`.

    Parameters
    ----------
    inputs : ProgramInputs
    """

    #: the name in ``spec["route"]``
    name: ClassVar[str]
    #: default analysis window (periods before the first start, after the last start) by grain
    windows: ClassVar[Mapping[str, tuple[int, int]]] = _WINDOWS

    def __init__(self, inputs: ProgramInputs) -> None:
        self.inputs = inputs

    @classmethod
    def panel_grain(cls, grain: str, did_grain: str | None, design_grain: str | None) -> str:
        """Return the grain of the design's unit panel (default ``grain``)."""
        return grain

    @classmethod
    def resolve(cls, frame: pd.DataFrame, starts: pd.DataFrame) -> type[Design]:
        """Return the design that runs on this enrolment (default: this one)."""
        return cls

    @classmethod
    def context(
        cls,
        ds: Any,
        program: Mapping[str, Any],
        enroll: pd.DataFrame,
        frame: pd.DataFrame,
        grain: str,
        adjust_other_programs: bool,
    ) -> dict[str, Any]:
        """Return the design's extra :class:`ProgramInputs` fields (``exclude``, ``exposure``, ...)."""
        return {}

    @abstractmethod
    def run(self, outcome: str) -> DesignRun:
        """Estimate the program's effect on ``outcome``.

        Raises ``_NoData`` (or ``_NotSupported``) when it cannot, with the reason.
        """

    def checks(self, outcome: str, primary: Effect) -> tuple[Diagnostic | None, ...]:
        """Return the design's own checks of a primary effect, added after the placebo outcome."""
        return ()


def _rename(eff: Effect, old: str, new: str) -> Effect:
    diags = tuple(dataclasses.replace(d, name=new) if d.name == old else d for d in eff.diagnostics)
    return dataclasses.replace(eff, diagnostics=diags)


def _add(eff: Effect, *diags: Diagnostic | None) -> Effect:
    extra = tuple(d for d in diags if d is not None)
    return dataclasses.replace(eff, diagnostics=(*eff.diagnostics, *extra))
