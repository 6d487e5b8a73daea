"""Import problems (the data layer's ``Problem``, found while importing) and ``ImporterError``.

An import problem is a :class:`~salesinsight.data.problems.Problem` with ``stage="import"``, located
by file, header, table, column, rows and values (:func:`import_problem` builds one);
:class:`ImporterError` is raised with every problem found at once. ``ImportProblem`` is the same
class under its former name.
"""

from __future__ import annotations

from collections.abc import Sequence

from salesinsight.data.problems import ERROR, Problem, ValueCount

__all__ = [
    "ImportProblem",
    "ImporterError",
    "import_problem",
]

#: the former name of an import problem's class (one class: :class:`Problem`)
ImportProblem = Problem


def import_problem(
    severity: str,
    rule: str,
    message: str,
    table: str | None = None,
    column: str | None = None,
    file: str | None = None,
    source_column: str | None = None,
    n_rows: int = 0,
    values: tuple[ValueCount, ...] = (),
    n_values: int = 0,
    rows: tuple[int, ...] = (),
) -> Problem:
    """Return a problem found while importing (arguments in the order importers name them).

    Parameters
    ----------
    severity : {"error", "warning", "info"}
        ``"error"``: nothing is written.
    rule, message : str
        Short rule name (``"unknown_value"``, ``"date"``, ``"missing_header"``) and what is wrong.
    table, column : str, optional
        The contract table and column concerned.
    file, source_column : str, optional
        The source file (relative to the source folder) and the header(s) the column is read from.
    n_rows : int
        Number of offending rows (0 for file- or column-level problems).
    values : tuple of (value, count, first rows)
        Offending values with their row count and first rows (1-based data rows), most frequent
        first.
    n_values : int
        Number of distinct offending values.
    rows : tuple of int
        First offending rows (1-based data rows: row 1 is the first row after the header).
    """
    return Problem(
        severity=severity,
        table=table,
        column=column,
        rule=rule,
        message=message,
        rows=rows,
        n_rows=n_rows,
        values=values,
        file=file,
        source_column=source_column,
        n_values=n_values,
        stage="import",
    )


def _format_problems(problems: Sequence[Problem]) -> str:
    errors = [p for p in problems if p.severity == ERROR]
    lines = [
        f"import failed: {len(errors)} error(s); nothing was written. "
        "Row numbers count data rows from 1 (row 1 is the first row after the header)."
    ]
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


class ImporterError(ValueError):
    """The import cannot proceed; ``.problems`` holds every problem found (errors and others)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_format_problems(self.problems))

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems with severity ``"error"``."""
        return tuple(p for p in self.problems if p.severity == ERROR)


def _mapping_problem(message: str, table: str | None = None, column: str | None = None) -> Problem:
    return import_problem(ERROR, "mapping", message, table=table, column=column)
