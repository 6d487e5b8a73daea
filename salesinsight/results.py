"""The results contract: one summary rendered as text, HTML and Markdown, and what every result offers.

Every public result object (an :class:`~salesinsight.causal.effect.Effect`, ``Profiles``,
``Decomposition``, ``ReviewAnalysis``, ...) builds one :class:`Summary` in ``_summary()``;
:class:`ResultMixin` turns it into ``summary()``, ``str(result)`` and the notebook's ``_repr_html_``, so
the plain text, the HTML and the Markdown always show the same numbers. :class:`Result` is the typing
protocol a result satisfies: ``summary()``, ``to_frame()`` (tidy, the data behind the summary),
``plot(*, ax=None, ...)`` (keyword-only Axes, returned) and ``_repr_html_()``.

Text that comes from data (rep ids, team names, notes) is escaped for its context: HTML-escaped in
:meth:`Summary.to_html` (element text and attribute values), Markdown- and HTML-escaped in
:meth:`Summary.to_markdown`.

A summary is in one of the report languages (``language``, :data:`salesinsight.i18n.LANGUAGES`): its
own words ("n/a", "yes", "... 3 more rows") come from the message catalogs through
:class:`~salesinsight.i18n.Lang`, and a :class:`KpiName` cell is named by the KPI registry in that
language. The report builds its per-program and per-outcome tables as summaries in the run's language
and renders them with :meth:`Summary.to_html` (a :class:`Table` carries the report's column alignment,
a :class:`Badge` a verdict's coloured mark).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from salesinsight.i18n import LANGUAGES, N_, Lang
from salesinsight.kpis import KpiName, display_name

__all__ = [
    "MAX_TABLE_ROWS",
    "Badge",
    "KpiName",
    "Result",
    "ResultMixin",
    "Summary",
    "Table",
    "fmt_value",
]

#: tables in a summary show at most this many rows (``to_frame()`` has them all).
MAX_TABLE_ROWS = 30

#: width of the key column of the text rendering (keys longer than this widen it).
_KEY_WIDTH = 16


_NA = N_("n/a")
_YES = N_("yes")
_NO = N_("no")
_MORE_ROWS = N_("... {more} more rows (first {shown} of {total} shown)")
_ITEM = N_("item")
_VALUE = N_("value")


@dataclass(frozen=True)
class Badge:
    """A coloured mark in a summary cell (a verdict): its words, and how the HTML shows them.

    Parameters
    ----------
    text : str
        The words (already in the summary's language); text and Markdown show only these.
    colour : str
        CSS background colour of the HTML mark.
    style : str
        Further CSS declarations of the HTML mark (``color:#fff;padding:1px 8px``).
    """

    text: str
    colour: str = "#5f6368"
    style: str = ""

    def __str__(self) -> str:
        return self.text

    def to_html(self) -> str:
        """Return ``<span class="si-badge" style="...">text</span>``, text and attribute escaped."""
        css = f"background:{self.colour}" + (f";{self.style}" if self.style else "")
        return f'<span class="si-badge" style="{_esc_html(css)}">{_esc_html(self.text)}</span>'


@dataclass(frozen=True, eq=False)
class Table:
    """A captioned table of a summary, with its HTML layout.

    Parameters
    ----------
    frame : DataFrame
        The cells (formatted by :func:`fmt_value`; strings kept as they are).
    caption : str
        Shown above the table (nothing when empty).
    numeric : sequence of int or None
        Positions of the columns aligned as numbers (HTML class ``si-num``; the others ``si-text``).
        None (the default) leaves the cells without layout classes.
    css : str
        Further class of the HTML ``<table>`` (which has ``si-table`` whenever a layout is given).
    max_rows : int or None
        Rows shown at most (None: all), then a line saying how many more ``to_frame()`` has.
    """

    frame: pd.DataFrame
    caption: str = ""
    numeric: Sequence[int] | None = None
    css: str = ""
    max_rows: int | None = MAX_TABLE_ROWS

    def __post_init__(self) -> None:
        object.__setattr__(self, "caption", str(self.caption))
        if self.numeric is not None:
            object.__setattr__(self, "numeric", tuple(int(i) for i in self.numeric))

    @property
    def layout(self) -> bool:
        """Whether the HTML carries the report's layout classes."""
        return self.numeric is not None or bool(self.css)


def fmt_value(x: Any, language: str = "en") -> str:
    """Format one value for a summary: floats to four significant digits, missing values as ``n/a``.

    Parameters
    ----------
    x : Any
        A number, string, boolean, missing value, :class:`KpiName` or :class:`Badge`.
    language : {"en", "zh-CN"}
        The language of the words (``n/a``, ``yes``, ``no``, KPI names).

    Returns
    -------
    str
        ``"0.1235"``, ``"1.235e+04"``, ``"12"``, ``"yes"`` / ``"no"`` for booleans, ``"n/a"`` for
        None / NaN / NA (in ``language``), a KPI's registry name, a badge's words; anything else
        through ``str``.
    """
    if isinstance(x, KpiName):
        return display_name(x.name, language)
    if isinstance(x, Badge):
        return x.text
    if x is None or x is pd.NA or x is pd.NaT:
        return _tr(language, _NA)
    if isinstance(x, bool | np.bool_):
        return _tr(language, _YES if x else _NO)
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        v = float(x)
        return _tr(language, _NA) if not math.isfinite(v) else f"{v:.4g}"
    return str(x)


def _tr(language: str, message: str, **values: object) -> str:
    return Lang(language).tr(message, **values)


@dataclass(frozen=True, eq=False)
class Summary:
    """A result in words and numbers, rendered from one source as text, HTML and Markdown.

    Parameters
    ----------
    title : str
        One line naming the result (nothing is shown when empty).
    rows : sequence of (str, value)
        Key/value lines (values formatted by :func:`fmt_value`, strings kept as they are).
    tables : sequence of Table or (str, DataFrame)
        Tables (a pair is a caption and a frame: a :class:`Table` without layout). Cells formatted by
        :func:`fmt_value`; at most :data:`MAX_TABLE_ROWS` rows shown unless the table says
        otherwise, with a line saying how many more ``to_frame()`` has.
    notes : sequence of str
        Sentences shown as a list under the rows and tables.
    sections : sequence of Summary
        Nested summaries (e.g. the parts of a composite result, or an estimate's diagnostics).
    language : {"en", "zh-CN"}
        The language of the summary's own words and of :class:`KpiName` cells (the title, rows and
        captions are shown as given: the caller writes them in this language).
    """

    title: str
    rows: Sequence[tuple[str, Any]] = ()
    tables: Sequence[Table | tuple[str, pd.DataFrame]] = ()
    notes: Sequence[str] = ()
    sections: Sequence[Summary] = field(default_factory=tuple)
    language: str = "en"

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r} is not one of {sorted(LANGUAGES)}")
        object.__setattr__(self, "rows", tuple((str(k), v) for k, v in self.rows))
        tables = tuple(t if isinstance(t, Table) else Table(t[1], str(t[0])) for t in self.tables)
        object.__setattr__(self, "tables", tables)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        object.__setattr__(self, "sections", tuple(self.sections))
        for s in self.sections:
            if not isinstance(s, Summary):
                raise TypeError(f"Summary sections must be Summary objects, got {type(s).__name__}")

    @classmethod
    def from_lines(
        cls, lines: Sequence[str], *, tables: Sequence[tuple[str, pd.DataFrame]] = ()
    ) -> Summary:
        """Build a summary of sentences: the first line the title, each further line a note.

        Leading list markers (``"- "``, indentation) are dropped; the notes are shown as a list.
        """
        if not lines:
            raise ValueError("Summary.from_lines needs at least a title line")
        notes = [ln.strip().removeprefix("- ") for ln in lines[1:] if ln.strip()]
        return cls(title=lines[0], tables=tables, notes=notes)

    def _tables(self) -> tuple[Table, ...]:
        """Return the tables (every pair became a :class:`Table` in ``__post_init__``)."""
        return tuple(t for t in self.tables if isinstance(t, Table))

    def _fmt(self, value: Any) -> str:
        return fmt_value(value, self.language)

    def _cells(self, table: Table) -> tuple[list[str], list[list[Any]], str]:
        """Header, the shown rows' values (unformatted) and a "N more rows" line."""
        frame = table.frame
        shown = frame if table.max_rows is None else frame.head(table.max_rows)
        header = [self._fmt(c) if isinstance(c, KpiName) else str(c) for c in frame.columns]
        cells = [list(row) for row in shown.itertuples(index=False, name=None)]
        more = ""
        if len(frame) > len(shown):
            more = _tr(
                self.language,
                _MORE_ROWS,
                more=len(frame) - len(shown),
                shown=len(shown),
                total=len(frame),
            )
        return header, cells, more

    # ------------------------------------------------------------------ text
    def to_text(self) -> str:
        """Plain text: title, indented key/value rows, tables, notes as ``- ...``, then sections."""
        return "\n".join(self._text_lines())

    def _text_lines(self) -> list[str]:
        lines = [self.title] if self.title else []
        if self.rows:
            width = max(_KEY_WIDTH, max(len(k) for k, _ in self.rows) + 2)
            lines.extend(f"  {k:<{width}}{self._fmt(v)}".rstrip() for k, v in self.rows)
        for table in self._tables():
            header, cells, more = self._cells(table)
            if table.caption:
                lines.append(table.caption)
            text = [[self._fmt(v) for v in row] for row in cells]
            lines.extend("  " + line for line in _aligned(header, text))
            if more:
                lines.append(f"  {more}")
        lines.extend(f"  - {n}" for n in self.notes)
        for section in self.sections:
            lines.append("")
            lines.extend(section._text_lines())
        return lines

    def __str__(self) -> str:
        return self.to_text()

    # ------------------------------------------------------------------ HTML
    def to_html(self) -> str:
        """HTML (every string escaped): a titled block with a key/value table, tables, notes, sections."""
        return f'<div class="si-result">{self._html_body()}</div>'

    def _html_body(self) -> str:
        esc = _esc_html
        out = [f"<strong>{esc(self.title)}</strong>"] if self.title else []
        if self.rows:
            body = "".join(
                f"<tr><th>{esc(k)}</th><td>{esc(self._fmt(v))}</td></tr>" for k, v in self.rows
            )
            out.append(f"<table>{body}</table>")
        out.extend(self._html_table(t) for t in self._tables())
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>")
        out.extend(f"<div>{s._html_body()}</div>" for s in self.sections)
        return "".join(out)

    def _html_table(self, table: Table) -> str:
        esc = _esc_html
        header, cells, more = self._cells(table)
        numeric = set(table.numeric or ())

        def attr(i: int) -> str:
            if not table.layout:
                return ""
            return ' class="si-num"' if i in numeric else ' class="si-text"'

        def cell(value: Any) -> str:
            return value.to_html() if isinstance(value, Badge) else esc(self._fmt(value))

        head = "".join(f"<th{attr(i)}>{esc(h)}</th>" for i, h in enumerate(header))
        body = "".join(
            "<tr>" + "".join(f"<td{attr(i)}>{cell(v)}</td>" for i, v in enumerate(row)) + "</tr>"
            for row in cells
        )
        css = " ".join(c for c in ("si-table", table.css) if c) if table.layout else ""
        tag = f'<table class="{esc(css)}">' if css else "<table>"
        out = f"<p>{esc(table.caption)}</p>" if table.caption else ""
        out += f"{tag}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return out + (f"<p>{esc(more)}</p>" if more else "")

    def _repr_html_(self) -> str:
        return self.to_html()

    # ------------------------------------------------------------------ Markdown
    def to_markdown(self) -> str:
        """Markdown (text escaped for Markdown and HTML): bold title, pipe tables, a bullet list."""
        return "\n".join(self._markdown_lines()).strip() + "\n"

    def _markdown_lines(self) -> list[str]:
        esc = _esc_markdown
        lines = [f"**{esc(self.title)}**", ""] if self.title else []
        if self.rows:
            item, value = _tr(self.language, _ITEM), _tr(self.language, _VALUE)
            lines += [f"| {esc(item)} | {esc(value)} |", "|---|---|"]
            lines += [f"| {esc(k)} | {esc(self._fmt(v))} |" for k, v in self.rows]
            lines.append("")
        for table in self._tables():
            header, cells, more = self._cells(table)
            if table.caption:
                lines += [esc(table.caption), ""]
            lines.append("| " + " | ".join(esc(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(esc(self._fmt(c)) for c in row) + " |" for row in cells]
            lines.append("")
            if more:
                lines += [esc(more), ""]
        if self.notes:
            lines += [f"- {esc(n)}" for n in self.notes]
            lines.append("")
        for section in self.sections:
            lines += section._markdown_lines()
        return lines

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


class ResultMixin:
    """``summary()``, ``str(result)`` and ``_repr_html_()`` from one ``_summary()``.

    A result class defines ``_summary() -> Summary`` (and ``to_frame()``, ``plot(*, ax=None)``); the
    text, the notebook HTML and the report then cannot disagree.
    """

    def _summary(self) -> Summary:  # pragma: no cover - every result class defines it
        raise NotImplementedError(f"{type(self).__name__} must define _summary()")

    def summary(self) -> Summary:
        """Return the result's :class:`Summary` (``str()`` gives text, ``.to_html()`` HTML)."""
        return self._summary()

    def __str__(self) -> str:
        return self._summary().to_text()

    def _repr_html_(self) -> str:
        return self._summary().to_html()


@runtime_checkable
class Result(Protocol):
    """What every public result object offers (checked by ``tests/test_results.py``)."""

    def summary(self) -> Summary:
        """Return the summary (text by ``str``, HTML by ``to_html``, Markdown by ``to_markdown``)."""
        ...

    def to_frame(self) -> pd.DataFrame:
        """Return the tidy data behind the summary and the plot."""
        ...

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Draw on ``ax`` (a new figure when None) and return the Axes."""
        ...

    def _repr_html_(self) -> str: ...


# ---------------------------------------------------------------------- helpers
def _aligned(header: list[str], cells: Iterable[list[str]]) -> list[str]:
    rows = [header, *cells]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _esc_html(text: str) -> str:
    return html.escape(str(text), quote=True)


_MD_SPECIAL = str.maketrans(
    {c: "\\" + c for c in "\\`*_[]|#"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " "}
)


def _esc_markdown(text: str) -> str:
    return str(text).translate(_MD_SPECIAL)
