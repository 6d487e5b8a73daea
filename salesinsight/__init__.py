"""salesinsight: did the sales organisation's programs work? Quarterly, with evidence.

Sub-packages: ``data`` (contract, load, validate), ``metrics`` (KPI panels, profiles, forecasts,
early warnings), ``causal`` (effects and estimators), ``attribution`` (why the numbers moved),
``simulate`` (CRM simulator with ground truth), ``report`` (params, quarterly notebook runs).
"""

from __future__ import annotations

from salesinsight.evaluate import ProgramEvaluation, evaluate

__version__ = "0.1.0"

__all__ = ["ProgramEvaluation", "__version__", "evaluate"]
