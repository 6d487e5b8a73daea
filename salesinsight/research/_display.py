"""Display helpers shared by the research results: number formatting and the effects table."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["effects_html", "fmt"]


def fmt(x: Any) -> str:
    """Format a number with four significant digits and thousands separators ("n/a" if missing)."""
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.4g}"


def effects_html(title: str, frame: pd.DataFrame, *, header: bool = False) -> str:
    """Render ``term``/``estimate``/``ci_low``/``ci_high`` rows as a titled HTML table.

    ``title`` is plain text (escaped here); ``header`` adds a quantity/estimate/interval header row.
    """
    rows = "".join(
        f"<tr><th>{html.escape(str(r.term))}</th><td>{fmt(r.estimate)}</td>"
        f"<td>[{fmt(r.ci_low)}, {fmt(r.ci_high)}]</td></tr>"
        for r in frame.itertuples()
    )
    head = "<tr><th>quantity</th><th>estimate</th><th>interval</th></tr>" if header else ""
    return f"<div><strong>{html.escape(title)}</strong><table>{head}{rows}</table></div>"
