"""Metrics: KPI panels per rep, team or company and period (DuckDB SQL), and what builds on them."""

from salesinsight.metrics.early_warning import EarlyWarning, early_warning
from salesinsight.metrics.forecast import QuotaPlan, forecast
from salesinsight.metrics.leading import LeadingIndicators, leading_indicators
from salesinsight.metrics.panel import panel
from salesinsight.metrics.profiles import Profiles, profiles

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
