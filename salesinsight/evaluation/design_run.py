"""What a design returns (:class:`DesignRun`) and the helpers that edit a design's diagnostics."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from salesinsight.causal.effect import Diagnostic, Effect

__all__ = ["DesignRun"]


@dataclass(frozen=True)
class DesignRun:
    """Primary effect of one outcome, the designs run alongside and the event study (if any)."""

    primary: Effect
    alternatives: Mapping[str, Effect] = field(default_factory=dict)
    dynamic: Effect | None = None


def _rename(eff: Effect, old: str, new: str) -> Effect:
    diags = tuple(dataclasses.replace(d, name=new) if d.name == old else d for d in eff.diagnostics)
    return dataclasses.replace(eff, diagnostics=diags)


def _add(eff: Effect, *diags: Diagnostic | None) -> Effect:
    extra = tuple(d for d in diags if d is not None)
    return dataclasses.replace(eff, diagnostics=(*eff.diagnostics, *extra))
