"""Problems with the input (a data folder or a CRM export), the validation report, ``DataError``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = [
    "Problem",
    "ValueCount",
    "ValidationReport",
    "DataError",
    "QueryError",
    "ERROR",
    "WARNING",
    "INFO",
    "MAX_EXAMPLES",
]

ERROR = "error"
WARNING = "warning"
#: an import note that needs no action (e.g. an optional source file that is absent)
INFO = "info"

#: How many offending rows/values a problem lists (the total count is always given).
MAX_EXAMPLES = 5

#: where a problem was found: validating a data folder, or importing a CRM export into one
Stage = Literal["validate", "import"]
#: an offending value of an import problem: the value, its row count and its first rows
ValueCount = tuple[str | None, int, tuple[int, ...]]


def _fmt_value(value: Any) -> str:
    if value is None:
        return "<empty>"
    return repr(str(value))


@dataclass(frozen=True)
class Problem:
    """One problem with the input: a rule broken by a data folder or by a CRM export.

    Attributes
    ----------
    severity : ``"error"``, ``"warning"`` or (imports) ``"info"``.
    table : contract table (``None`` for folder- or mapping-level problems).
    column : column concerned, or ``None`` for table-level problems.
    rule : short rule name, e.g. ``"foreign_key"``, ``"close_before_created"``, ``"date"``.
    message : what is wrong, in words.
    rows : first offending data rows (1-based: row 1 is the first row after the header), at most 5.
    n_rows : total number of offending rows (0 for table- or column-level problems).
    values : offending values. Validation: the value of each row in ``rows`` (same order), as
        text. Import: ``(value, row count, first rows)`` per distinct value, most frequent first.
    file : import: the source file (name relative to the source folder).
    source_column : import: the source header(s) the column is read from.
    n_values : import: number of distinct offending values.
    stage : ``"validate"`` (a data folder) or ``"import"`` (a CRM export); where the problem was
        found, which decides how it is located in words (``table.column`` against
        ``file [header] -> table.column``).
    """

    severity: str
    table: str | None
    column: str | None
    rule: str
    message: str
    rows: tuple[int, ...] = ()
    n_rows: int = 0
    values: tuple[str | None, ...] | tuple[ValueCount, ...] = ()
    file: str | None = None
    source_column: str | None = None
    n_values: int = 0
    stage: Stage = "validate"

    @property
    def location(self) -> str:
        """``table.column``, ``table`` or ``<folder>``; imports: ``file [header] -> table.column``."""
        where = f"{self.table}.{self.column}" if self.table and self.column else self.table
        if self.stage == "validate":
            return where or "<folder>"
        parts = []
        if self.file:
            parts.append(self.file + (f" [{self.source_column}]" if self.source_column else ""))
        if where:
            parts.append(where)
        return " -> ".join(parts) or "<mapping>"

    def __str__(self) -> str:
        text = f"{self.severity.upper()} {self.location} [{self.rule}]: {self.message}"
        if self.stage == "import":
            return text + self._import_detail()
        if self.n_rows:
            more = f" (first {len(self.rows)} shown)" if self.n_rows > len(self.rows) else ""
            plural = "s" if self.n_rows != 1 else ""
            rows = ", ".join(str(r) for r in self.rows)
            text += (
                f"; {self.n_rows} row{plural}{more}: row{'s' if len(self.rows) > 1 else ''} {rows}"
            )
            if self.values:
                text += "; values " + ", ".join(_fmt_value(v) for v in self.values)
        return text

    def _import_detail(self) -> str:
        text = ""
        if self.n_rows:
            text += f"; {self.n_rows} row{'s' if self.n_rows != 1 else ''}"
            if self.rows:
                more = ", ..." if self.n_rows > len(self.rows) else ""
                text += f" (row {', '.join(map(str, self.rows))}{more})"
        for value, count, rows in self._value_counts():
            shown = "<empty>" if value is None else repr(value)
            more = ", ..." if count > len(rows) else ""
            row_list = ", ".join(str(r) for r in rows)
            text += (
                f"\n      {shown}: {count} row{'s' if count != 1 else ''} (row {row_list}{more})"
            )
        if self.n_values > len(self.values):
            text += f"\n      ... and {self.n_values - len(self.values)} more distinct value(s)"
        return text

    def _value_counts(self) -> tuple[ValueCount, ...]:
        return self.values  # type: ignore[return-value]  # import problems hold value counts

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable); an import problem's also has its source."""
        if self.stage == "import":
            return {
                "severity": self.severity,
                "rule": self.rule,
                "message": self.message,
                "table": self.table,
                "column": self.column,
                "file": self.file,
                "source_column": self.source_column,
                "n_rows": self.n_rows,
                "values": [
                    {"value": v, "count": n, "rows": list(rows)}
                    for v, n, rows in self._value_counts()
                ],
                "n_values": self.n_values,
                "rows": list(self.rows),
            }
        return {
            "severity": self.severity,
            "table": self.table,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "rows": list(self.rows),
            "n_rows": self.n_rows,
            "values": list(self.values),
        }


@dataclass(frozen=True)
class ValidationReport:
    """All problems found in a data folder, errors and warnings, in one immutable object."""

    folder: Path
    problems: tuple[Problem, ...] = ()
    tables: tuple[str, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems with severity ``"error"`` (the folder breaks the contract)."""
        return tuple(p for p in self.problems if p.severity == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems with severity ``"warning"`` (allowed, but some analyses may be switched off)."""
        return tuple(p for p in self.problems if p.severity == WARNING)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: severity, table, column, rule, message, rows, n_rows, values."""
        cols = ["severity", "table", "column", "rule", "message", "rows", "n_rows", "values"]
        return pd.DataFrame([p.to_dict() for p in self.problems], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        return {
            "folder": str(self.folder),
            "ok": self.ok,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "tables": list(self.tables),
            "problems": [p.to_dict() for p in self.problems],
        }

    def summary(self) -> str:
        """Human-readable text, grouped by table (same as ``str(report)``)."""
        return str(self)

    def __str__(self) -> str:
        n_err, n_warn = len(self.errors), len(self.warnings)
        verdict = "OK" if self.ok else "FAILED"
        lines = [
            f"Validation of {self.folder}: {verdict} ({n_err} error(s), {n_warn} warning(s))",
        ]
        if self.tables:
            lines.append(f"Tables found: {', '.join(self.tables)}")
        if self.problems:
            lines.append(
                "Row numbers count data rows from 1 (row 1 is the first row after the header)."
            )
        for group, problems in _grouped(self.problems):
            lines.append("")
            lines.append(f"{group}:")
            for p in problems:
                lines.append(f"  - {p}")
        return "\n".join(lines)


def _grouped(problems: Sequence[Problem]) -> Iterable[tuple[str, list[Problem]]]:
    order: dict[str, list[Problem]] = {}
    for p in problems:
        order.setdefault("<folder>" if p.table is None else p.table, []).append(p)
    for key, items in order.items():
        items.sort(key=lambda p: (p.severity != ERROR,))
        yield key, items


class DataError(ValueError):
    """A data folder breaks the contract; ``.report`` holds every problem found."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(str(report))


class QueryError(RuntimeError):
    """A query failed on an engine other than the embedded DuckDB (e.g. Spark), with its message."""
