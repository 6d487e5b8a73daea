"""Metrics: KPI panels per rep, team or company and period (DuckDB SQL), and what builds on them."""

from salesinsight.metrics.panel import panel

__all__ = ["panel"]
