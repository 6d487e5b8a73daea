"""Metrics: KPI panels per rep, team or company and period (DuckDB SQL), and what builds on them."""

from salesinsight.metrics._early_warning import EarlyWarning, early_warning
from salesinsight.metrics._forecast import QuotaPlan, forecast
from salesinsight.metrics._panel import panel
from salesinsight.metrics._profiles import Profiles, profiles
from salesinsight.metrics.leading import LeadingIndicators, leading_indicators

__all__ = [
    "panel",
    "profiles",
    "Profiles",
    "forecast",
    "QuotaPlan",
    "early_warning",
    "EarlyWarning",
    "leading_indicators",
    "LeadingIndicators",
]
