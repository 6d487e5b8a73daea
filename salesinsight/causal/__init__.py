"""Causal estimators returning :class:`Effect` objects with diagnostics and verdicts."""

from __future__ import annotations

from salesinsight.causal._aipw import aipw
from salesinsight.causal._experiment import experiment
from salesinsight.causal._heterogeneity import ConditionalEffects, dr_learner, heterogeneity
from salesinsight.causal._impact import impact
from salesinsight.causal._matched_did import matched_did
from salesinsight.causal._twfe import twfe
from salesinsight.causal.did import staggered_did
from salesinsight.causal.effect import Diagnostic, Effect, Verdict
from salesinsight.causal.fixed_effects_did import fe_did
from salesinsight.causal.lagged_regression import lagged_outcome
from salesinsight.causal.sensitivity import e_value, robustness_value
from salesinsight.causal.synth import synthetic_control
from salesinsight.causal.synth_did import synthetic_did

__all__ = [
    "ConditionalEffects",
    "Diagnostic",
    "Effect",
    "Verdict",
    "aipw",
    "dr_learner",
    "e_value",
    "experiment",
    "fe_did",
    "heterogeneity",
    "impact",
    "lagged_outcome",
    "matched_did",
    "robustness_value",
    "staggered_did",
    "synthetic_control",
    "synthetic_did",
    "twfe",
]
