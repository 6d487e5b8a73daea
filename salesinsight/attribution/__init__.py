"""salesinsight.attribution: why did the numbers move, and which behaviours moved them."""

from __future__ import annotations

from salesinsight.attribution.funnel import FunnelGap, funnel_gap
from salesinsight.attribution.markov import ActivityAttribution, activity_attribution
from salesinsight.attribution.oaxaca import OaxacaResult, oaxaca_blinder
from salesinsight.attribution.shapley import (
    Decomposition,
    IdentityError,
    MixRate,
    decompose_change,
    lmdi_product,
    mix_rate,
    shapley_product,
)

__all__ = [
    "ActivityAttribution",
    "Decomposition",
    "FunnelGap",
    "IdentityError",
    "MixRate",
    "OaxacaResult",
    "activity_attribution",
    "decompose_change",
    "funnel_gap",
    "lmdi_product",
    "mix_rate",
    "oaxaca_blinder",
    "shapley_product",
]
