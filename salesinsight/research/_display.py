"""The research results' number format (their summaries are ``salesinsight.results.Summary``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fmt"]


def fmt(x: Any) -> str:
    """Format a number with four significant digits and thousands separators ("n/a" if missing)."""
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.4g}"
