"""Check a data folder against every rule of the data contract, reporting all problems at once.

Every check is a DuckDB query over the files that returns only the count, the first few offending
data rows and their values, so a 50-million-row activities file is validated without loading it.
Row-level rules of one table share a single scan (one aggregate per rule).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from salesinsight.data import contract as C
from salesinsight.data.problems import (
    ERROR,
    MAX_EXAMPLES,
    WARNING,
    Problem,
    QueryError,
    ValidationReport,
)
from salesinsight.data.rules import RowCheck, column_checks, row_select, t, table_rules
from salesinsight.data.sources import Source, connect, open_folder, quote_ident

__all__ = ["validate", "run_checks"]


def _problem(check: RowCheck, table: str, n: int, rows: list, values: list) -> Problem:
    vals = tuple(None if v in (None, "") else str(v) for v in (values or []))
    return Problem(
        check.severity,
        table,
        check.column,
        check.rule,
        check.message,
        tuple(int(x) for x in (rows or [])),
        int(n),
        vals,
    )


def _run_row_checks(
    con: duckdb.DuckDBPyConnection, spec: C.Table, src: Source, checks: list[RowCheck]
) -> list[Problem]:
    """Evaluate all row-level checks of one table in a single scan."""
    if not checks:
        return []
    k = MAX_EXAMPLES
    aggs = []
    for i, c in enumerate(checks):
        cond = f"coalesce(({c.condition}), false)"
        aggs.append(f"count_if({cond}) AS n{i}")
        aggs.append(f"min(_row, {k}) FILTER (WHERE {cond}) AS rows{i}")
        aggs.append(f"arg_min(coalesce({c.value}, ''), _row, {k}) FILTER (WHERE {cond}) AS v{i}")
    query = f"SELECT {', '.join(aggs)} FROM ({row_select(spec, src)})"
    out = con.execute(query).fetchall()[0]
    assert out is not None
    problems = []
    for i, c in enumerate(checks):
        n, rows, values = out[3 * i], out[3 * i + 1], out[3 * i + 2]
        if n:
            problems.append(_problem(c, spec.name, n, rows, values))
    return problems


#: A set-level check waiting to run: (check, table, SQL of the rows it looks at).
_Pending = tuple[RowCheck, str, str]


def _offenders(check: RowCheck, table: str, from_sql: str) -> list[_Pending]:
    """Return a check over ``SELECT ... FROM (from_sql) WHERE condition``, run later by :func:`_run_pending`."""
    return [(check, table, from_sql)]


def _pending_sql(check: RowCheck, from_sql: str) -> str:
    k = MAX_EXAMPLES
    return (
        f"SELECT count(*) AS n, min(_row, {k}) AS rows, "
        f"arg_min(coalesce({check.value}, ''), _row, {k}) AS vals "
        f"FROM ({from_sql}) WHERE {check.condition}"
    )


def _run_pending(con: duckdb.DuckDBPyConnection, pending: list[_Pending]) -> list[Problem]:
    """Run all pending checks in one query (aggregates only: count, first rows, first values)."""
    if not pending:
        return []
    query = " UNION ALL ".join(
        f"SELECT {i} AS i, * FROM ({_pending_sql(c, sql)})" for i, (c, _, sql) in enumerate(pending)
    )
    out = {i: (n, rows, vals) for i, n, rows, vals in con.execute(query).fetchall()}
    problems = []
    for i, (check, table, _) in enumerate(pending):
        n, rows, vals = out[i]
        if n:
            problems.append(_problem(check, table, n, rows, vals))
    return problems


def _key_checks(spec: C.Table, src: Source) -> list[_Pending]:
    if not spec.key or not all(k in src.columns for k in spec.key):
        return []
    keys = ", ".join(t(k) for k in spec.key)
    not_null = " AND ".join(f"{t(k)} IS NOT NULL" for k in spec.key)
    rows = row_select(spec, src)
    from_sql = (
        f"SELECT * FROM ({rows}) WHERE {not_null} AND ({keys}) IN "
        f"(SELECT ({keys}) FROM ({rows}) WHERE {not_null} GROUP BY {keys} HAVING count(*) > 1)"
    )
    value = " || '/' || ".join(t(k) for k in spec.key)
    check = RowCheck(
        spec.key[0], "unique", f"{'/'.join(spec.key)} is not unique (duplicated key)", "true", value
    )
    return _offenders(check, spec.name, from_sql)


def _foreign_keys(sources: dict[str, Source]) -> list[_Pending]:
    problems: list[_Pending] = []
    for spec in C.TABLES:
        src = sources.get(spec.name)
        if src is None:
            continue
        for col in spec.columns:
            fk = col.references
            if fk is None or col.name not in src.columns:
                continue
            parent = sources.get(fk.table)
            if parent is None or fk.column not in parent.columns:
                continue
            ref = f"SELECT DISTINCT {quote_ident(fk.column)} AS k FROM {quote_ident(fk.table)}"
            check = RowCheck(
                col.name,
                "foreign_key",
                f"{col.name} not found in {fk.table}.{fk.column}",
                f"{t(col.name)} IS NOT NULL AND {t(col.name)} NOT IN (SELECT k FROM ({ref}) WHERE k IS NOT NULL)",
                t(col.name),
            )
            problems += _offenders(check, spec.name, row_select(spec, src))
    return problems


def _enrollment_checks(sources: dict[str, Source]) -> tuple[list[Problem], list[_Pending]]:
    """unit_id per the program's unit; control arms only where randomized; randomized has control."""
    problems: list[Problem] = []
    pending: list[_Pending] = []
    prog, enr, reps = sources.get("programs"), sources.get("enrollments"), sources.get("reps")
    if prog is not None and enr is None:
        problems.append(
            Problem(
                ERROR,
                "enrollments",
                None,
                "required_with_programs",
                "enrollments table is missing but programs is present (required with programs)",
            )
        )
    if prog is None or enr is None:
        return problems, pending
    needed = {"program_id", "unit", "design"} <= set(prog.columns) and {"program_id"} <= set(
        enr.columns
    )
    if not needed:
        return problems, pending
    spec = C.table("enrollments")
    rows = (
        f"SELECT e.*, p.unit AS p_unit, p.design AS p_design FROM ({row_select(spec, enr)}) e "
        f"JOIN programs p ON e.{t('program_id')} = p.program_id"
    )
    if reps is not None and "unit_id" in enr.columns and "rep_id" in reps.columns:
        for unit, ref, label in (
            ("rep", "rep_id", "reps.rep_id"),
            ("team", "team_id", "reps.team_id"),
        ):
            if ref not in reps.columns:
                continue
            u = t("unit_id")
            check = RowCheck(
                "unit_id",
                "foreign_key",
                f"unit_id of a {unit}-level program not found in {label}",
                f"p_unit = '{unit}' AND {u} IS NOT NULL AND {u} NOT IN "
                f"(SELECT DISTINCT {ref} FROM reps WHERE {ref} IS NOT NULL)",
                f"{u} || ' (program ' || {t('program_id')} || ')'",
            )
            pending += _offenders(check, "enrollments", rows)
    if "arm" in enr.columns:
        check = RowCheck(
            "arm",
            "control_not_randomized",
            "control arm in a program whose design is not randomized",
            f"{t('arm')} = 'control' AND p_design IS DISTINCT FROM 'randomized'",
            f"'control (program ' || {t('program_id')} || ' is ' || coalesce(p_design, '?') || ')'",
        )
        pending += _offenders(check, "enrollments", rows)
        pspec = C.table("programs")
        check = RowCheck(
            "design",
            "randomized_without_control",
            "randomized program has no control arm in enrollments",
            f"{t('design')} = 'randomized' AND {t('program_id')} NOT IN "
            "(SELECT program_id FROM enrollments WHERE arm = 'control' AND program_id IS NOT NULL)",
            t("program_id"),
        )
        pending += _offenders(check, "programs", row_select(pspec, prog))
    return problems, pending


def _structure(spec: C.Table, src: Source) -> list[Problem]:
    problems = []
    for col in spec.columns:
        if col.required and col.name not in src.columns:
            problems.append(
                Problem(
                    ERROR,
                    spec.name,
                    col.name,
                    "missing_column",
                    f"required column {col.name} is missing from {src.path.name} "
                    f"(columns found: {', '.join(src.columns)})",
                )
            )
    optional = [c.name for c in spec.columns if not c.required and c.name not in src.columns]
    if optional:
        problems.append(
            Problem(
                WARNING,
                spec.name,
                None,
                "missing_optional_column",
                f"optional column(s) absent (filled with empty values): {', '.join(optional)}",
            )
        )
    known = C.with_extensions(spec).column_names  # extension columns are not extra
    extra = [c for c in src.columns if c not in known]
    if extra:
        problems.append(
            Problem(
                WARNING,
                spec.name,
                None,
                "extra_column",
                f"extra column(s) kept: {', '.join(extra)}",
            )
        )
    if src.fmt in ("parquet", "delta"):
        for col in spec.columns:
            if col.kind == C.ID and col.name in src.columns:
                typ = src.type_of(col.name).upper()
                if typ != "VARCHAR":
                    problems.append(
                        Problem(
                            WARNING,
                            spec.name,
                            col.name,
                            "id_not_text",
                            f"identifier stored as {typ} in {src.path.name}; read as text, "
                            "but leading zeros may already have been lost",
                        )
                    )
    return problems


def _short(exc: Exception) -> str:
    """First lines of a DuckDB error, without its generic advice."""
    text = str(exc).split("Possible fixes")[0]
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _read_error(con: duckdb.DuckDBPyConnection, src: Source, exc: Exception) -> Problem:
    """Problem for a file DuckDB cannot read; for CSV, every malformed line (first few + count)."""
    if src.fmt == "csv":
        name = f"_rej_{src.table}"
        try:
            con.execute(f"SELECT count(*) FROM {src.scan_sql(rejects=name)}").fetchall()
            n, lines, errs = con.execute(
                f"SELECT count(*), min(line, {MAX_EXAMPLES}), "
                f"arg_min(error_type || ': ' || left(csv_line, 80), line, {MAX_EXAMPLES}) "
                f"FROM (SELECT line, min(error_type) AS error_type, min(csv_line) AS csv_line "
                f"FROM {name}_errors GROUP BY line)"
            ).fetchall()[0]  # type: ignore[misc]
        except (duckdb.Error, QueryError):
            n = 0
        if n:
            return Problem(
                ERROR,
                src.table,
                None,
                "malformed_csv",
                f"{src.path.name} has lines that cannot be parsed as CSV (wrong number of "
                "fields or unbalanced quotes); row N is line N+1 of the file",
                tuple(int(line) - 1 for line in lines),
                int(n),
                tuple(str(e).strip() for e in errs),
            )
    return Problem(ERROR, src.table, None, "unreadable", f"{src.path.name}: {_short(exc)}")


def run_checks(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    sources: dict[str, Source],
    problems: list[Problem],
) -> ValidationReport:
    """Run every contract check on a folder opened by :func:`~salesinsight.data.sources.open_folder`."""
    found = list(problems)
    readable: dict[str, Source] = {}
    for spec in C.TABLES:
        src = sources.get(spec.name)
        if src is None:
            if not any(p.table == spec.name for p in problems):
                sev = ERROR if spec.required else WARNING
                what = "required table" if spec.required else "optional table"
                found.append(
                    Problem(
                        sev,
                        spec.name,
                        None,
                        "missing_table",
                        f"{what} missing: no {spec.name}.csv or {spec.name}.parquet in the folder",
                    )
                )
            continue
        found += _structure(spec, src)
        checked = C.with_extensions(spec)  # the extension columns' values are checked too
        try:
            found += _run_row_checks(
                con, checked, src, column_checks(checked, src) + table_rules(checked, src)
            )
        except (duckdb.Error, QueryError) as exc:
            found.append(_read_error(con, src, exc))
            continue
        readable[spec.name] = src
    pending = [p for name, src in readable.items() for p in _key_checks(C.table(name), src)]
    pending += _foreign_keys(readable)
    enrollment_problems, enrollment_pending = _enrollment_checks(readable)
    errored = {p.table for p in found if p.severity == ERROR}
    found += [p for p in enrollment_problems if p.table not in errored]  # unreadable != missing
    try:
        found += _run_pending(con, pending + enrollment_pending)
    except (duckdb.Error, QueryError) as exc:  # pragma: no cover - defensive
        found.append(Problem(ERROR, None, None, "unreadable", _short(exc)))
    order = {name: i for i, name in enumerate(C.TABLE_NAMES)}
    found.sort(key=lambda p: -1 if p.table is None else order.get(p.table, 99))
    return ValidationReport(Path(folder), tuple(found), tuple(sources))


def validate(folder: str | Path) -> ValidationReport:
    """Check ``folder`` against every rule of the data contract.

    Parameters
    ----------
    folder : data folder with one ``<table>.csv`` or ``<table>.parquet`` per table.

    Returns
    -------
    ValidationReport
        All problems at once (``.ok`` is False when any error was found). The folder is only read.
    """
    folder = Path(folder)
    with tempfile.TemporaryDirectory(prefix="salesinsight-") as tmp:
        con = connect(Path(tmp))
        try:
            sources, problems = open_folder(con, folder, Path(tmp))
            return run_checks(con, folder, sources, problems)
        finally:
            con.close()
