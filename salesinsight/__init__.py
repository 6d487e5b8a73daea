"""salesinsight: did the sales organisation's programs work? Quarterly, with evidence.

Sub-packages: ``data`` (contract, load, validate), ``metrics`` (KPI panels, profiles, forecasts,
early warnings), ``causal`` (effects and estimators), ``evaluation`` (program evaluation),
``attribution`` (why the numbers moved), ``simulate`` (CRM simulator with ground truth),
``report`` (params, quarterly notebook runs), ``research``, ``reviews``, ``mentoring``.

The package root is lazy: ``import salesinsight`` (or ``import salesinsight.calendar``) loads no
sub-package; each is imported on first attribute access, so ``import salesinsight`` then
``salesinsight.data.load(folder)`` works without loading scikit-learn or statsmodels.
``salesinsight.evaluate`` is the function :func:`salesinsight.evaluation.evaluate` (loaded on first
access, like ``ProgramEvaluation``); ``salesinsight.evaluation`` is the sub-package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from salesinsight import (
        actions,
        attribution,
        calendar,
        causal,
        data,
        engines,
        evaluation,
        export,
        folders,
        mentoring,
        metrics,
        min_effect,
        report,
        research,
        reviews,
        safe_yaml,
        simulate,
    )
    from salesinsight.evaluation import ProgramEvaluation, evaluate

__version__ = "0.1.0"

#: Sub-modules and sub-packages importable as attributes of the package root.
_SUBMODULES = frozenset(
    {
        "actions",
        "attribution",
        "calendar",
        "causal",
        "data",
        "engines",
        "evaluation",
        "export",
        "folders",
        "mentoring",
        "metrics",
        "min_effect",
        "report",
        "research",
        "reviews",
        "safe_yaml",
        "simulate",
    }
)

#: Names re-exported from a sub-module, loaded on first access.
_LAZY_NAMES = {
    "ProgramEvaluation": "salesinsight.evaluation",
    "evaluate": "salesinsight.evaluation",
}

__all__ = [
    "ProgramEvaluation",
    "__version__",
    "actions",
    "attribution",
    "calendar",
    "causal",
    "data",
    "engines",
    "evaluate",
    "evaluation",
    "export",
    "folders",
    "mentoring",
    "metrics",
    "min_effect",
    "report",
    "research",
    "reviews",
    "safe_yaml",
    "simulate",
]


def __getattr__(name: str) -> Any:
    """Import a sub-package (or a re-exported name) on first access (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Return the package's names, including the sub-packages not imported yet."""
    return sorted(set(globals()) | _SUBMODULES | set(_LAZY_NAMES))
