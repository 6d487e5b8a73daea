"""The results contract: one summary rendered as text, HTML and Markdown, and what every result offers.

Every public result object (an :class:`~salesinsight.causal.effect.Effect`, ``Profiles``,
``Decomposition``, ``ReviewAnalysis``, ...) builds one :class:`Summary` in ``_summary()``;
:class:`ResultMixin` turns it into ``summary()``, ``str(result)`` and the notebook's ``_repr_html_``, so
the plain text, the HTML and the Markdown always show the same numbers. :class:`Result` is the typing
protocol a result satisfies: ``summary()``, ``to_frame()`` (tidy, the data behind the summary),
``plot(*, ax=None, ...)`` (keyword-only Axes, returned) and ``_repr_html_()``.

Text that comes from data (rep ids, team names, notes) is escaped for its context: HTML-escaped in
:meth:`Summary.to_html`, Markdown- and HTML-escaped in :meth:`Summary.to_markdown`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["MAX_TABLE_ROWS", "Result", "ResultMixin", "Summary", "fmt_value"]

#: tables in a summary show at most this many rows (``to_frame()`` has them all).
MAX_TABLE_ROWS = 30

#: width of the key column of the text rendering (keys longer than this widen it).
_KEY_WIDTH = 16


def fmt_value(x: Any) -> str:
    """Format one value for a summary: floats to four significant digits, missing values as ``n/a``.

    Parameters
    ----------
    x : Any
        A number, string, boolean or missing value.

    Returns
    -------
    str
        ``"0.1235"``, ``"1.235e+04"``, ``"12"``, ``"yes"`` / ``"no"`` for booleans, ``"n/a"`` for
        None / NaN / NA; anything else through ``str``.
    """
    if x is None or x is pd.NA or x is pd.NaT:
        return "n/a"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        v = float(x)
        return "n/a" if not math.isfinite(v) else f"{v:.4g}"
    return str(x)


@dataclass(frozen=True, eq=False)
class Summary:
    """A result in words and numbers, rendered from one source as text, HTML and Markdown.

    Parameters
    ----------
    title : str
        One line naming the result.
    rows : sequence of (str, value)
        Key/value lines (values formatted by :func:`fmt_value`, strings kept as they are).
    tables : sequence of (str, DataFrame)
        Captioned tables (cells formatted by :func:`fmt_value`; at most :data:`MAX_TABLE_ROWS` rows
        shown, with a line saying how many more ``to_frame()`` has).
    notes : sequence of str
        Sentences shown as a list under the rows and tables.
    sections : sequence of Summary
        Nested summaries (e.g. the parts of a composite result, or an estimate's diagnostics).
    """

    title: str
    rows: Sequence[tuple[str, Any]] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    notes: Sequence[str] = ()
    sections: Sequence[Summary] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple((str(k), v) for k, v in self.rows))
        object.__setattr__(self, "tables", tuple((str(c), f) for c, f in self.tables))
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

    # ------------------------------------------------------------------ text
    def to_text(self) -> str:
        """Plain text: title, indented key/value rows, tables, notes as ``- ...``, then sections."""
        return "\n".join(self._text_lines())

    def _text_lines(self) -> list[str]:
        lines = [self.title]
        if self.rows:
            width = max(_KEY_WIDTH, max(len(k) for k, _ in self.rows) + 2)
            lines.extend(f"  {k:<{width}}{fmt_value(v)}".rstrip() for k, v in self.rows)
        for caption, frame in self.tables:
            header, cells, more = _cells(frame)
            if caption:
                lines.append(caption)
            lines.extend("  " + line for line in _aligned(header, cells))
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
        out = [f"<strong>{esc(self.title)}</strong>"]
        if self.rows:
            body = "".join(
                f"<tr><th>{esc(k)}</th><td>{esc(fmt_value(v))}</td></tr>" for k, v in self.rows
            )
            out.append(f"<table>{body}</table>")
        for caption, frame in self.tables:
            header, cells, more = _cells(frame)
            if caption:
                out.append(f"<p>{esc(caption)}</p>")
            head = "".join(f"<th>{esc(h)}</th>" for h in header)
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in cells
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            if more:
                out.append(f"<p>{esc(more)}</p>")
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>")
        out.extend(f"<div>{s._html_body()}</div>" for s in self.sections)
        return "".join(out)

    def _repr_html_(self) -> str:
        return self.to_html()

    # ------------------------------------------------------------------ Markdown
    def to_markdown(self) -> str:
        """Markdown (text escaped for Markdown and HTML): bold title, pipe tables, a bullet list."""
        return "\n".join(self._markdown_lines()).strip() + "\n"

    def _markdown_lines(self) -> list[str]:
        esc = _esc_markdown
        lines = [f"**{esc(self.title)}**", ""]
        if self.rows:
            lines += ["| item | value |", "|---|---|"]
            lines += [f"| {esc(k)} | {esc(fmt_value(v))} |" for k, v in self.rows]
            lines.append("")
        for caption, frame in self.tables:
            header, cells, more = _cells(frame)
            if caption:
                lines += [esc(caption), ""]
            lines.append("| " + " | ".join(esc(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
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
def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]], str]:
    """Header, formatted cells (at most MAX_TABLE_ROWS rows) and a "N more rows" line."""
    shown = frame.head(MAX_TABLE_ROWS)
    header = [str(c) for c in frame.columns]
    cells = [[fmt_value(v) for v in row] for row in shown.itertuples(index=False, name=None)]
    more = ""
    if len(frame) > len(shown):
        more = f"... {len(frame) - len(shown)} more rows (first {len(shown)} of {len(frame)} shown)"
    return header, cells, more


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
