"""Import problems: :class:`ImportProblem` and :class:`ImporterError`.

An :class:`ImportProblem` is one problem, located by file, header, table, column, rows and values;
:class:`ImporterError` is raised with every problem found at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ImportProblem",
    "ImporterError",
]

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class ImportProblem:
    """One problem found while importing.

    Attributes
    ----------
    severity : ``"error"`` (nothing is written), ``"warning"`` or ``"info"``.
    rule : short rule name, e.g. ``"unknown_value"``, ``"date"``, ``"missing_header"``.
    message : what is wrong, in words.
    table, column : the contract table and column concerned (``None`` when not applicable).
    file : the source file (name relative to the source folder).
    source_column : the source header(s) the column is read from.
    n_rows : number of offending rows (0 for file- or column-level problems).
    rows : first offending rows (1-based data rows: row 1 is the first row after the header).
    values : offending values with their row count and first rows (1-based data rows: row 1 is the
        first row after the header), most frequent first, at most ``MAX_VALUES``.
    n_values : number of distinct offending values.
    """

    severity: str
    rule: str
    message: str
    table: str | None = None
    column: str | None = None
    file: str | None = None
    source_column: str | None = None
    n_rows: int = 0
    values: tuple[tuple[str | None, int, tuple[int, ...]], ...] = ()
    n_values: int = 0
    rows: tuple[int, ...] = ()

    @property
    def location(self) -> str:
        """``file [header] -> table.column`` (the parts that are known)."""
        parts = []
        if self.file:
            src = self.file + (f" [{self.source_column}]" if self.source_column else "")
            parts.append(src)
        if self.table:
            parts.append(f"{self.table}.{self.column}" if self.column else self.table)
        return " -> ".join(parts) or "<mapping>"

    def __str__(self) -> str:
        text = f"{self.severity.upper()} {self.location} [{self.rule}]: {self.message}"
        if self.n_rows:
            text += f"; {self.n_rows} row{'s' if self.n_rows != 1 else ''}"
            if self.rows:
                more = ", ..." if self.n_rows > len(self.rows) else ""
                text += f" (row {', '.join(map(str, self.rows))}{more})"
        for value, count, rows in self.values:
            shown = "<empty>" if value is None else repr(value)
            more = ", ..." if count > len(rows) else ""
            row_list = ", ".join(str(r) for r in rows)
            text += (
                f"\n      {shown}: {count} row{'s' if count != 1 else ''} (row {row_list}{more})"
            )
        if self.n_values > len(self.values):
            text += f"\n      ... and {self.n_values - len(self.values)} more distinct value(s)"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        return {
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "table": self.table,
            "column": self.column,
            "file": self.file,
            "source_column": self.source_column,
            "n_rows": self.n_rows,
            "values": [{"value": v, "count": n, "rows": list(rows)} for v, n, rows in self.values],
            "n_values": self.n_values,
            "rows": list(self.rows),
        }


def _format_problems(problems: Sequence[ImportProblem]) -> str:
    errors = [p for p in problems if p.severity == ERROR]
    lines = [
        f"import failed: {len(errors)} error(s); nothing was written. "
        "Row numbers count data rows from 1 (row 1 is the first row after the header)."
    ]
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


class ImporterError(ValueError):
    """The import cannot proceed; ``.problems`` holds every problem found (errors and others)."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_format_problems(self.problems))

    @property
    def errors(self) -> tuple[ImportProblem, ...]:
        """The problems with severity ``"error"``."""
        return tuple(p for p in self.problems if p.severity == ERROR)


def _mapping_problem(
    message: str, table: str | None = None, column: str | None = None
) -> ImportProblem:
    return ImportProblem(ERROR, "mapping", message, table=table, column=column)
