"""Rows left out of one table take their dependent rows along, so the folder stays consistent.

Records owned by reps left out of ``reps`` (system, integration or inactive users), and the
stage history and references of opportunities left out of ``opportunities``.

Each effect is a warning (rows left out) or a note (a reference emptied), with counts and values.
"""

from __future__ import annotations

import duckdb

from salesinsight.data.importers.plan import _Plan
from salesinsight.data.importers.problems import import_problem
from salesinsight.data.problems import INFO, WARNING, Problem

_MAX_VALUES = 12


def _kept(plan: _Plan) -> str:
    return " AND ".join(f"({f})" for f in plan.output_filter) or "TRUE"


def _excluded_reps(con: duckdb.DuckDBPyConnection, plans: dict[str, list[_Plan]]) -> bool:
    """Temp table ``_excluded_reps(id)``: rep ids of rows left out of reps and not kept anywhere."""
    left, kept = [], []
    for p in plans.get("reps", []):
        rep = p.exprs.get("rep_id")
        if rep is None:
            continue
        kept.append(f"SELECT {rep} AS id FROM ({p.scan}) WHERE {_kept(p)}")
        if p.keep is not None:
            left.append(
                f"SELECT {rep} AS id FROM ({p.unfiltered}) WHERE NOT coalesce({p.keep}, false)"
            )
        if p.output_filter:
            left.append(f"SELECT {rep} AS id FROM ({p.scan}) WHERE NOT ({_kept(p)})")
    if not left:
        return False
    kept_sql = " UNION ".join(kept) or "SELECT NULL AS id"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _excluded_reps AS SELECT DISTINCT id FROM ("
        f"{' UNION ALL '.join(left)}) WHERE id IS NOT NULL AND id NOT IN "
        f"(SELECT id FROM ({kept_sql}) WHERE id IS NOT NULL)"
    )
    return True


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, tuple, int]:
    rows = con.execute(
        f"SELECT v, count(*) AS n, list(_row ORDER BY _row)[1:5] FROM ({sql}) GROUP BY v "
        "ORDER BY n DESC, v"
    ).fetchall()
    values = tuple((v, int(n), tuple(r)) for v, n, r in rows[:_MAX_VALUES])
    return sum(int(n) for _, n, _ in rows), values, len(rows)


def _drop_owned(
    con: duckdb.DuckDBPyConnection, plans: dict[str, list[_Plan]], problems: list[Problem]
) -> None:
    for table, table_plans in plans.items():
        if table == "reps":
            continue
        for p in table_plans:
            rep = p.exprs.get("rep_id")
            if rep is None:
                continue
            hit = f"coalesce({rep} IN (SELECT id FROM _excluded_reps), false)"
            n, values, n_values = _values(
                con, f"SELECT _row, {rep} AS v FROM ({p.numbered}) WHERE {hit} AND {_kept(p)}"
            )
            if n:
                problems.append(
                    import_problem(
                        WARNING,
                        "owner_excluded",
                        "rows owned by users left out of reps are left out too",
                        table,
                        "rep_id",
                        p.spec.file,
                        None,
                        n,
                        values,
                        n_values,
                    )
                )
            p.output_filter.append(f"NOT {hit}")
            mentor = p.exprs.get("mentor_id")
            if mentor is not None:
                p.exprs["mentor_id"] = (
                    f"CASE WHEN coalesce({mentor} IN (SELECT id FROM _excluded_reps), false) "
                    f"THEN NULL ELSE {mentor} END"
                )


def _dropped_opps(con: duckdb.DuckDBPyConnection, plans: dict[str, list[_Plan]]) -> bool:
    """Temp table ``_dropped_opps(id)``: opportunity ids of rows that will not be written."""
    parts = [
        f"SELECT {p.exprs['opp_id']} AS id FROM ({p.scan}) WHERE NOT ({_kept(p)})"
        for p in plans.get("opportunities", [])
        if p.output_filter and "opp_id" in p.exprs
    ]
    if not parts:
        return False
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dropped_opps AS SELECT DISTINCT id FROM "
        f"({' UNION ALL '.join(parts)}) WHERE id IS NOT NULL"
    )
    return bool(con.execute("SELECT count(*) FROM _dropped_opps").fetchone()[0])  # type: ignore[index]


def _follow_dropped_opps(
    con: duckdb.DuckDBPyConnection, plans: dict[str, list[_Plan]], problems: list[Problem]
) -> None:
    for table, table_plans in plans.items():
        if table == "opportunities":
            continue
        for p in table_plans:
            opp = p.exprs.get("opp_id")
            if opp is None:
                continue
            hit = f"coalesce({opp} IN (SELECT id FROM _dropped_opps), false)"
            n, values, n_values = _values(
                con, f"SELECT _row, {opp} AS v FROM ({p.numbered}) WHERE {hit} AND {_kept(p)}"
            )
            if not n:
                continue
            required = table == "stage_history"
            problems.append(
                import_problem(
                    WARNING if required else INFO,
                    "opportunity_left_out",
                    "rows of opportunities left out are left out too"
                    if required
                    else "reference to an opportunity left out is emptied",
                    table,
                    "opp_id",
                    p.spec.file,
                    None,
                    n,
                    values,
                    n_values,
                )
            )
            if required:
                p.output_filter.append(f"NOT {hit}")
            else:
                p.exprs["opp_id"] = f"CASE WHEN {hit} THEN NULL ELSE {opp} END"


def cascade(
    con: duckdb.DuckDBPyConnection, plans: dict[str, list[_Plan]], problems: list[Problem]
) -> None:
    """Leave out (or empty references to) the rows that depend on rows left out elsewhere."""
    if _excluded_reps(con, plans):
        _drop_owned(con, plans, problems)
    if _dropped_opps(con, plans):
        _follow_dropped_opps(con, plans, problems)
