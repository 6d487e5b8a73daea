"""Writing the output folder, through a staging folder moved into place when complete.

Each table's sources in the output columns and types go into a staging folder beside the target,
then moved into place (replacing an old folder only when complete).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from salesinsight.data import contract as C
from salesinsight.data.importers.plan import _Plan
from salesinsight.data.importers.problems import ImporterError, import_problem
from salesinsight.data.importers.sql import _lit, _lit_list
from salesinsight.data.problems import ERROR
from salesinsight.data.sources import quote_ident


def _output_columns(table: C.Table, plans: list[_Plan]) -> list[str]:
    """Output columns: mapped contract columns in contract order, then extra columns."""
    names = [c.name for c in table.columns if any(c.name in p.exprs for p in plans)]
    for p in plans:
        names += [n for n in p.exprs if n not in names]
    return names


def _output_sql(table: C.Table, plan: _Plan, names: list[str], fmt: str) -> str:
    """SELECT of one source's rows in the output columns and types (streams, file order)."""
    parts = []
    for n in names:
        kind = table.column(n).kind if n in table.column_names else C.STR
        expr = plan.exprs.get(n, "NULL")
        if kind == C.DATE:
            expr = f"CAST({expr} AS DATE)"
            if fmt == "csv":
                expr = f"strftime({expr}, '%Y-%m-%d')"
        elif kind == C.NUMBER:
            expr = f"CAST({expr} AS DOUBLE)"
        else:
            expr = f"CAST({expr} AS VARCHAR)"
        parts.append(f"{expr} AS {quote_ident(n)}")
    where = f" WHERE {' AND '.join(plan.output_filter)}" if plan.output_filter else ""
    return f"SELECT {', '.join(parts)} FROM ({plan.scan}){where}"


def _write_table(
    con: duckdb.DuckDBPyConnection, table: C.Table, plans: list[_Plan], target: Path, fmt: str
) -> int:
    """Write one table from its sources, in source order then file order; returns rows written."""
    names = _output_columns(table, plans)
    if fmt == "parquet" and len(plans) == 1:
        sql = _output_sql(table, plans[0], names, fmt)
        res = con.execute(f"COPY ({sql}) TO {_lit(str(target))} (FORMAT parquet)").fetchall()[0]
        return int(res[0]) if res else 0
    total = 0
    parts = []
    for i, p in enumerate(plans):  # one part per source, then concatenated in source order
        part = target.with_name(f".{target.name}.part{i}")
        options = "FORMAT parquet" if fmt == "parquet" else f"FORMAT csv, HEADER {i == 0}"
        res = con.execute(
            f"COPY ({_output_sql(table, p, names, fmt)}) TO {_lit(str(part))} ({options})"
        ).fetchall()[0]
        total += int(res[0]) if res else 0
        parts.append(part)
    if fmt == "parquet":
        files = _lit_list(str(x) for x in parts)
        con.execute(
            f"COPY (SELECT * FROM read_parquet({files})) TO {_lit(str(target))} ({options})"
        )
        for part in parts:
            part.unlink()
        return total
    with target.open("wb") as dst:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, dst, length=1 << 20)
            part.unlink()
    return total


def _write(
    con: duckdb.DuckDBPyConnection,
    plans: dict[str, list[_Plan]],
    out: Path,
    fmt: str,
    force: bool,
    files: dict[str, str] | None = None,
) -> dict[str, int]:
    """Write every table into a staging folder beside ``out``, then move it into place.

    ``files`` are further text files (name -> UTF-8 content) written into the folder, e.g. the
    export's declared lacks (``availability.json``).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    staging = out.parent / f".{out.name}.staging-{token}"
    staging.mkdir()
    rows: dict[str, int] = {}
    try:
        for table in C.TABLES:
            if table.name in plans:
                target = staging / f"{table.name}.{fmt}"
                rows[table.name] = _write_table(con, table, plans[table.name], target, fmt)
        for name, text in (files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        old = None
        if out.exists():
            if not force:  # appeared meanwhile
                raise ImporterError(
                    [import_problem(ERROR, "output", f"output folder {out} already exists")]
                )
            old = out.parent / f".{out.name}.old-{token}"
            os.replace(out, old)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return rows
