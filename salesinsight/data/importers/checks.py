"""Running the row-level checks of a :class:`_Plan`.

All checks run in one scan of the source, then the offending values and rows of those that fired
are collected as :class:`Problem` objects.
"""

from __future__ import annotations

import duckdb

from salesinsight.data.importers.plan import _Check, _Plan
from salesinsight.data.importers.problems import import_problem
from salesinsight.data.problems import ERROR, Problem

#: Distinct offending values listed per problem (the total count is always given).
MAX_VALUES = 12
#: Rows listed per offending value.
MAX_ROWS = 5


def _run_checks(con: duckdb.DuckDBPyConnection, plan: _Plan, problems: list[Problem]) -> None:
    """Evaluate all checks of one source in one scan, then detail the ones that fired."""
    if plan.dropped is not None:
        if not _run_check_list(
            con, plan, [plan.dropped], plan.unfiltered, plan.unfiltered, problems
        ):
            return
    _run_check_list(con, plan, plan.checks, plan.scan, plan.numbered, problems)


def _run_check_list(
    con: duckdb.DuckDBPyConnection,
    plan: _Plan,
    checks: list[_Check],
    scan: str,
    numbered: str,
    problems: list[Problem],
) -> bool:
    """Run ``checks`` over ``scan`` (details over ``numbered``); False if the file is unreadable."""
    counts = ", ".join(["count(*)"] + [f"count_if(coalesce({c.condition}, false))" for c in checks])
    try:
        row = con.execute(f"SELECT {counts} FROM ({scan})").fetchall()[0]
    except duckdb.Error as exc:
        text = "; ".join(
            line.strip() for line in str(exc).split("Possible")[0].splitlines() if line.strip()
        )
        problems.append(
            import_problem(
                ERROR,
                "unreadable",
                f"{plan.path.name} cannot be parsed as CSV (wrong number of fields or unbalanced "
                f"quotes?): {text}",
                plan.spec.table,
                file=plan.spec.file,
            )
        )
        return False
    assert row is not None
    for check, n in zip(checks, row[1:], strict=True):
        if not n:
            continue
        values: tuple[tuple[str | None, int, tuple[int, ...]], ...] = ()
        n_values = 0
        rows: tuple[int, ...] = ()
        where = f"WHERE coalesce({check.condition}, false)"
        if check.list_values:
            detail = con.execute(
                f"SELECT v, count(*) AS n, min(_row, {MAX_ROWS}) AS rows, "
                f"count(*) OVER () AS n_values FROM "
                f"(SELECT _row, {check.value} AS v FROM ({numbered}) {where}) "
                f"GROUP BY v ORDER BY n DESC, v LIMIT {MAX_VALUES}"
            ).fetchall()
            values = tuple((v, int(k), tuple(int(r) for r in rows)) for v, k, rows, _ in detail)
            n_values = int(detail[0][3]) if detail else 0
        else:
            first = con.execute(
                f"SELECT min(_row, {MAX_ROWS}) FROM ({numbered}) {where}"
            ).fetchall()[0]
            rows = tuple(int(r) for r in ((first[0] if first else None) or []))
        problems.append(
            import_problem(
                check.severity,
                check.rule,
                check.message,
                plan.spec.table,
                check.column,
                plan.spec.file,
                check.source_column,
                int(n),
                values,
                n_values,
                rows,
            )
        )
    return True
