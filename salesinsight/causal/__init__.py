"""Causal estimators returning :class:`Effect` objects with diagnostics and verdicts."""

from __future__ import annotations

from salesinsight.causal.effect import Diagnostic, Effect, Verdict

__all__ = ["Diagnostic", "Effect", "Verdict"]

# Estimator modules still being written are imported only once they exist (guards removed then).
try:
    from salesinsight.causal.experiment import experiment

    __all__ += ["experiment"]
except ImportError:  # pragma: no cover - module not written yet
    pass
try:
    from salesinsight.causal.twfe import twfe

    __all__ += ["twfe"]
except ImportError:  # pragma: no cover - module not written yet
    pass
try:
    from salesinsight.causal.did import staggered_did

    __all__ += ["staggered_did"]
except ImportError:  # pragma: no cover - module not written yet
    pass
try:
    from salesinsight.causal.synth import synthetic_control

    __all__ += ["synthetic_control"]
except ImportError:  # pragma: no cover - module not written yet
    pass
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
