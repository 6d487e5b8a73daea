"""salesinsight.attribution: why did the numbers move, and which behaviours moved them."""

from __future__ import annotations

from salesinsight.attribution.contribution import (
    ProgramContribution,
    program_contribution,
    program_exposure,
)
from salesinsight.attribution.funnel import FunnelGap, funnel_gap
from salesinsight.attribution.markov import ActivityAttribution, activity_attribution
from salesinsight.attribution.mix import MixRate, mix_rate
from salesinsight.attribution.oaxaca import OaxacaResult, oaxaca_blinder
from salesinsight.attribution.shapley import (
    Decomposition,
    IdentityError,
    decompose_change,
    lmdi_product,
    shapley_product,
)

__all__ = [
    "ActivityAttribution",
    "Decomposition",
    "FunnelGap",
    "IdentityError",
    "MixRate",
    "OaxacaResult",
    "ProgramContribution",
    "activity_attribution",
    "decompose_change",
    "funnel_gap",
    "lmdi_product",
    "mix_rate",
    "oaxaca_blinder",
    "program_contribution",
    "program_exposure",
    "shapley_product",
]
