"""Causal estimators returning :class:`Effect` objects with diagnostics and verdicts."""

from __future__ import annotations

from salesinsight.causal.did import staggered_did
from salesinsight.causal.effect import Diagnostic, Effect, Verdict
from salesinsight.causal.experiment import experiment
from salesinsight.causal.synth import synthetic_control
from salesinsight.causal.twfe import twfe

__all__ = [
    "Diagnostic",
    "Effect",
    "Verdict",
    "experiment",
    "staggered_did",
    "synthetic_control",
    "twfe",
]

# Estimator modules still being written are imported only once they exist (guards removed then).
try:
    from salesinsight.causal.impact import impact

    __all__ += ["impact"]
except ImportError:  # pragma: no cover - module not written yet
    pass
try:
    from salesinsight.causal.aipw import aipw

    __all__ += ["aipw"]
except ImportError:  # pragma: no cover - module not written yet
    pass
