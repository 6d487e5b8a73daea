"""Small HTML helpers for the report: escaping, pseudonyms, verdict badges, tables.

Every string that comes from data (names, ids, program names) goes through :func:`html.escape`
before it reaches the page; tables are rendered with ``escape=True``.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from salesinsight.results import Summary, Table

__all__ = [
    "STYLE",
    "VERDICT_COLOURS",
    "badge",
    "cells_table",
    "element",
    "check_result",
    "esc",
    "mask_frame",
    "number",
    "pseudonym",
    "summary_table",
    "table_html",
]

#: the report blocks' own CSS (tables, notes), put before each block.
STYLE = """<style>
.si-table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.si-table th,.si-table td{padding:3px 9px;border-bottom:1px solid #ddd;text-align:right}
.si-table th:first-child,.si-table td:first-child{text-align:left}
.si-note{color:#555;font-size:13px}
pre.si-note{white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere}
.si-summary>li{margin-bottom:8px}
.si-outcomes{list-style:none;padding-left:12px;font-size:13px}
.si-outcomes li{margin:2px 0}
.si-table td.si-num,.si-table th.si-num{text-align:right}
.si-effects .si-num{white-space:nowrap}
.si-table td.si-text,.si-table th.si-text{text-align:left}
</style>"""

VERDICT_COLOURS: Mapping[str, str] = {
    "worked": "#1b7f3b",
    "harmed": "#b3261e",
    "no detectable effect": "#5f6368",
    "inconclusive": "#b26a00",
    "not evaluated": "#5f6368",
    "not estimable": "#5f6368",
}


def esc(value: object) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(value), quote=True)


def pseudonym(identifier: object, *, prefix: str = "Rep") -> str:
    """Return a stable pseudonym for an identifier: the same id always maps to the same label.

    Parameters
    ----------
    identifier
        The rep id (or any id) to hide.
    prefix
        Word put before the 6-character hash.
    """
    digest = hashlib.sha256(f"salesinsight:{identifier}".encode()).hexdigest()[:6].upper()
    return f"{prefix}-{digest}"


def mask_frame(
    df: pd.DataFrame,
    *,
    id_columns: Iterable[str] = ("rep_id", "mentor_id", "manager_id", "reviewer_id"),
) -> pd.DataFrame:
    """Return a copy with rep ids replaced by pseudonyms and the ``name`` column dropped."""
    out = df.copy()
    for col in id_columns:
        if col in out.columns:
            out[col] = [None if pd.isna(v) else pseudonym(v) for v in out[col]]
    if "name" in out.columns:
        out = out.drop(columns="name")
    return out


def badge(label: str) -> str:
    """Render a coloured verdict badge (``worked``, ``harmed``, ...)."""
    colour = VERDICT_COLOURS.get(label, "#5f6368")
    return (
        f'<span style="background:{colour};color:#fff;border-radius:4px;padding:1px 8px;'
        f'font-weight:600;white-space:nowrap">{esc(label)}</span>'
    )


def number(value: float) -> str:
    """Format a number for people: thousands separators when large, else 3 significant digits."""
    if pd.isna(value):
        return ""
    v = float(value)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def table_html(df: pd.DataFrame, *, max_rows: int = 50) -> str:
    """Render a small table with every cell escaped and numbers formatted for reading.

    Numeric columns are right-aligned, text columns left-aligned (long notes stay readable).
    """
    shown = df.head(max_rows)
    numeric = [
        pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
        for c in shown.columns
    ]
    floats = [pd.api.types.is_float_dtype(shown[c]) for c in shown.columns]

    def cell(value: object, is_float: bool) -> str:
        if is_float:
            return number(value)  # type: ignore[arg-type]
        try:
            missing = bool(pd.isna(value))
        except (TypeError, ValueError):  # list-like cell
            missing = False
        return "" if missing else esc(value)

    align = ["right" if n else "left" for n in numeric]
    head = "".join(
        f'<th style="text-align:{a}">{esc(c)}</th>'
        for c, a in zip(shown.columns, align, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="text-align:{a}">{cell(v, f)}</td>'
            for v, a, f in zip(row, align, floats, strict=True)
        )
        + "</tr>"
        for row in shown.itertuples(index=False, name=None)
    )
    return f'<table class="si-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cells_table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """Render a table of formatted, not yet escaped cells; ``numeric`` columns right-aligned."""
    numeric = numeric or set()

    def align(i: int) -> str:
        return "right" if i in numeric else "left"

    head = "".join(
        f'<th style="text-align:{align(i)}">{esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td style="text-align:{align(i)}">{esc(c)}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f'<table class="si-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def element(tag: str, text: str, cls: str = "") -> str:
    """Return an element holding the escaped text."""
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<{tag}{attr}>{esc(text)}</{tag}>"


def check_result(passed: bool | None, required: bool) -> str:
    """How a diagnostic reads in a checks table.

    Only a *required* check that fails is "FAILED" (it makes the verdict inconclusive); an
    informational check that does not pass is "flagged (informational)", so the table never shows
    "FAILED" beside a verdict that the check did not decide. ``None`` is "n/a" (not applicable).
    """
    if passed is None:
        return "n/a"
    if passed:
        return "passed"
    return "FAILED" if required else "flagged (informational)"


def summary_table(
    language: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    css: str = "",
) -> str:
    """Render a report table through :meth:`salesinsight.results.Summary.to_html`.

    Parameters
    ----------
    language : {"en", "zh-CN"}
        The report's language (of the summary's own words and of :class:`~salesinsight.results.KpiName`
        cells).
    headers : sequence of str
        Column headers, already in the report's language.
    rows : sequence of sequences
        Cells: formatted strings, :class:`~salesinsight.results.KpiName` or
        :class:`~salesinsight.results.Badge`; every one escaped by the renderer.
    numeric : sequence of int
        Positions of the columns aligned as numbers (class ``si-num``; the others ``si-text``).
    css : str
        Further class of the ``<table>`` (``si-effects``).

    Returns
    -------
    str
        ``<div class="si-result"><table class="si-table ...">...</table></div>``, every row shown.
    """
    frame = pd.DataFrame(list(rows), columns=pd.Index(list(headers), dtype=object), dtype=object)
    table = Table(frame, numeric=numeric, css=css, max_rows=None)
    return Summary("", tables=[table], language=language).to_html()
