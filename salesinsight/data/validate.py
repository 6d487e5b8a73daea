"""Check a data folder against every rule of the data contract, reporting all problems at once.

Every check is a DuckDB query over the files that returns only the count, the first few offending
data rows and their values, so a 50-million-row activities file is validated without loading it.
Row-level rules of one table share a single scan (one aggregate per rule).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from salesinsight.data import contract as C
from salesinsight.data.load import RAW_SCHEMA, Source, open_folder, quote_ident, typed_expr
from salesinsight.data.problems import (
    ERROR,
    MAX_EXAMPLES,
    WARNING,
    Problem,
    ValidationReport,
)

__all__ = ["validate", "run_checks"]


@dataclass(frozen=True)
class _RowCheck:
    """A row-level rule: ``condition`` is true on offending rows; ``value`` shows the offence."""

    column: str
    rule: str
    message: str
    condition: str
    value: str
    severity: str = ERROR


def _t(col: str) -> str:
    """Reference to the typed value of ``col`` in the per-row select."""
    return quote_ident(f"t.{col}")


def _r(col: str) -> str:
    """Reference to the value of ``col`` as read from the file."""
    return quote_ident(f"r.{col}")


def _txt(ref: str) -> str:
    return f"CAST({ref} AS VARCHAR)"


def _blank(src: Source, col: str) -> str:
    if src.type_of(col).upper() == "VARCHAR":
        return f"({_r(col)} IS NULL OR trim({_r(col)}) = '')"
    return f"{_r(col)} IS NULL"


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _column_checks(spec: C.Table, src: Source) -> list[_RowCheck]:
    """Rules on single columns: required values, parseable types, allowed values, ranges."""
    checks: list[_RowCheck] = []
    present = set(src.columns)
    for col in spec.columns:
        if col.name not in present:
            continue
        t, r = _t(col.name), _r(col.name)
        if col.required:
            checks.append(
                _RowCheck(
                    col.name, "required", "required value is missing", _blank(src, col.name), "''"
                )
            )
        if col.kind == C.DATE:
            checks.append(
                _RowCheck(
                    col.name,
                    "date",
                    "not a valid date (expected YYYY-MM-DD or a timestamp)",
                    f"NOT {_blank(src, col.name)} AND {t} IS NULL",
                    _txt(r),
                )
            )
        if col.kind == C.NUMBER:
            checks.append(
                _RowCheck(
                    col.name,
                    "number",
                    "not a number (plain digits, '.' as decimal point, no thousands separators)",
                    f"NOT {_blank(src, col.name)} AND ({t} IS NULL OR NOT isfinite({t}))",
                    _txt(r),
                )
            )
        if col.allowed:
            checks.append(
                _RowCheck(
                    col.name,
                    "allowed_values",
                    f"not an allowed value (allowed, lower case: {', '.join(col.allowed)})",
                    f"{t} IS NOT NULL AND {t} NOT IN ({_sql_list(col.allowed)})",
                    _txt(r),
                )
            )
    return checks


def _range(col: str, rule: str, message: str, bad: str) -> _RowCheck:
    return _RowCheck(col, rule, message, f"{_t(col)} IS NOT NULL AND {bad}", _txt(_r(col)))


def _pair(later: str, earlier: str, rule: str) -> _RowCheck:
    message = f"{later} is before {earlier}"
    cond = f"{_t(later)} < {_t(earlier)}"
    value = f"{_txt(_t(later))} || ' < ' || {_txt(_t(earlier))}"
    return _RowCheck(later, rule, message, cond, value)


def _table_rules(spec: C.Table, src: Source) -> list[_RowCheck]:
    """Rules across columns of one row and value ranges, per table."""
    has = set(src.columns).__contains__
    checks: list[_RowCheck] = []
    name = spec.name
    if name == "reps" and has("termination_date") and has("hire_date"):
        checks.append(_pair("termination_date", "hire_date", "termination_before_hire"))
    if name == "opportunities":
        status = _t("status")
        if has("close_date") and has("status"):
            checks.append(
                _RowCheck(
                    "close_date",
                    "close_date_required",
                    "close_date is missing on a won/lost opportunity (required unless open)",
                    f"{status} IN ('won', 'lost') AND {_blank(src, 'close_date')}",
                    status,
                )
            )
        if has("close_date") and has("created_date"):
            checks.append(_pair("close_date", "created_date", "close_before_created"))
        if has("amount"):
            checks.append(
                _range("amount", "non_negative", "amount is negative", f"{_t('amount')} < 0")
            )
            if has("status"):
                checks.append(
                    _RowCheck(
                        "amount",
                        "won_amount_required",
                        "amount is missing on a won opportunity",
                        f"{status} = 'won' AND {_blank(src, 'amount')}",
                        status,
                    )
                )
        if has("discount"):
            d = _t("discount")
            checks.append(
                _range(
                    "discount",
                    "discount_range",
                    "discount is outside [0, 1]",
                    f"({d} < 0 OR {d} > 1)",
                )
            )
    if name == "quotas":
        if has("quota_amount"):
            checks.append(
                _range(
                    "quota_amount",
                    "positive",
                    "quota_amount is not > 0",
                    f"{_t('quota_amount')} <= 0",
                )
            )
        if has("period_end") and has("period_start"):
            checks.append(_pair("period_end", "period_start", "period_end_before_start"))
    if name == "csat":
        scale = _t("scale") if has("scale") else repr(C.CSAT_DEFAULT_SCALE)
        if has("scale"):
            checks.append(_range("scale", "positive", "scale is not > 0", f"{_t('scale')} <= 0"))
        if has("score"):
            s = _t("score")
            checks.append(
                _RowCheck(
                    "score",
                    "score_range",
                    "score is outside [0, scale]",
                    f"{s} IS NOT NULL AND ({s} < 0 OR {s} > {scale})",
                    f"{_txt(s)} || ' (scale ' || {_txt(scale)} || ')'",
                )
            )
    if name == "reviews" and has("period"):
        p = _t("period")
        checks.append(
            _RowCheck(
                "period",
                "quarter_label",
                "period is not a quarter label YYYYQn (e.g. 2026Q3)",
                f"{p} IS NOT NULL AND NOT regexp_full_match({p}, '{C.QUARTER_PATTERN[1:-1]}')",
                _txt(_r("period")),
            )
        )
    if name == "programs" and has("end_date") and has("start_date"):
        check = _pair("end_date", "start_date", "end_before_start")
        checks.append(_RowCheck(**{**check.__dict__, "severity": WARNING}))
    return checks


def _row_select(spec: C.Table, src: Source) -> str:
    """Per-row select: ``_row``, then typed ``t.<col>`` and as-read ``r.<col>`` per contract column."""
    parts = ["_row"]
    for col in spec.columns:
        if col.name in src.columns:
            ref = quote_ident(col.name)
            parts.append(f"{typed_expr(col, src.type_of(col.name), ref)} AS {_t(col.name)}")
            parts.append(f"{ref} AS {_r(col.name)}")
    return f"SELECT {', '.join(parts)} FROM {RAW_SCHEMA}.{quote_ident(spec.name)}"


def _problem(check: _RowCheck, table: str, n: int, rows: list, values: list) -> Problem:
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
    con: duckdb.DuckDBPyConnection, spec: C.Table, src: Source, checks: list[_RowCheck]
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
    query = f"SELECT {', '.join(aggs)} FROM ({_row_select(spec, src)})"
    out = con.execute(query).fetchone()
    assert out is not None
    problems = []
    for i, c in enumerate(checks):
        n, rows, values = out[3 * i], out[3 * i + 1], out[3 * i + 2]
        if n:
            problems.append(_problem(c, spec.name, n, rows, values))
    return problems


def _offenders(
    con: duckdb.DuckDBPyConnection, check: _RowCheck, table: str, from_sql: str
) -> list[Problem]:
    """Run ``SELECT ... FROM (from_sql) WHERE condition`` aggregated to count, rows, values."""
    k = MAX_EXAMPLES
    query = (
        f"SELECT count(*), min(_row, {k}), arg_min(coalesce({check.value}, ''), _row, {k}) "
        f"FROM ({from_sql}) WHERE {check.condition}"
    )
    n, rows, values = con.execute(query).fetchone()  # type: ignore[misc]
    return [_problem(check, table, n, rows, values)] if n else []


def _key_checks(con: duckdb.DuckDBPyConnection, spec: C.Table, src: Source) -> list[Problem]:
    if not spec.key or not all(k in src.columns for k in spec.key):
        return []
    keys = ", ".join(_t(k) for k in spec.key)
    not_null = " AND ".join(f"{_t(k)} IS NOT NULL" for k in spec.key)
    rows = _row_select(spec, src)
    from_sql = (
        f"SELECT * FROM ({rows}) WHERE {not_null} AND ({keys}) IN "
        f"(SELECT ({keys}) FROM ({rows}) WHERE {not_null} GROUP BY {keys} HAVING count(*) > 1)"
    )
    value = " || '/' || ".join(_t(k) for k in spec.key)
    check = _RowCheck(
        spec.key[0], "unique", f"{'/'.join(spec.key)} is not unique (duplicated key)", "true", value
    )
    return _offenders(con, check, spec.name, from_sql)


def _foreign_keys(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> list[Problem]:
    problems: list[Problem] = []
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
            check = _RowCheck(
                col.name,
                "foreign_key",
                f"{col.name} not found in {fk.table}.{fk.column}",
                f"{_t(col.name)} IS NOT NULL AND {_t(col.name)} NOT IN (SELECT k FROM ({ref}) WHERE k IS NOT NULL)",
                _t(col.name),
            )
            problems += _offenders(con, check, spec.name, _row_select(spec, src))
    problems += _enrollment_checks(con, sources)
    return problems


def _enrollment_checks(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> list[Problem]:
    """unit_id per the program's unit; control arms only where randomized; randomized has control."""
    problems: list[Problem] = []
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
        return problems
    needed = {"program_id", "unit", "design"} <= set(prog.columns) and {"program_id"} <= set(
        enr.columns
    )
    if not needed:
        return problems
    spec = C.table("enrollments")
    rows = (
        f"SELECT e.*, p.unit AS p_unit, p.design AS p_design FROM ({_row_select(spec, enr)}) e "
        f"JOIN programs p ON e.{_t('program_id')} = p.program_id"
    )
    if reps is not None and "unit_id" in enr.columns and "rep_id" in reps.columns:
        for unit, ref, label in (
            ("rep", "rep_id", "reps.rep_id"),
            ("team", "team_id", "reps.team_id"),
        ):
            if ref not in reps.columns:
                continue
            u = _t("unit_id")
            check = _RowCheck(
                "unit_id",
                "foreign_key",
                f"unit_id of a {unit}-level program not found in {label}",
                f"p_unit = '{unit}' AND {u} IS NOT NULL AND {u} NOT IN "
                f"(SELECT DISTINCT {ref} FROM reps WHERE {ref} IS NOT NULL)",
                f"{u} || ' (program ' || {_t('program_id')} || ')'",
            )
            problems += _offenders(con, check, "enrollments", rows)
    if "arm" in enr.columns:
        check = _RowCheck(
            "arm",
            "control_not_randomized",
            "control arm in a program whose design is not randomized",
            f"{_t('arm')} = 'control' AND p_design IS DISTINCT FROM 'randomized'",
            f"'control (program ' || {_t('program_id')} || ' is ' || coalesce(p_design, '?') || ')'",
        )
        problems += _offenders(con, check, "enrollments", rows)
        pspec = C.table("programs")
        check = _RowCheck(
            "design",
            "randomized_without_control",
            "randomized program has no control arm in enrollments",
            f"{_t('design')} = 'randomized' AND {_t('program_id')} NOT IN "
            "(SELECT program_id FROM enrollments WHERE arm = 'control' AND program_id IS NOT NULL)",
            _t("program_id"),
        )
        problems += _offenders(con, check, "programs", _row_select(pspec, prog))
    return problems


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
    extra = [c for c in src.columns if c not in spec.column_names]
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
    if src.fmt == "parquet":
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


def run_checks(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    sources: dict[str, Source],
    problems: list[Problem],
) -> ValidationReport:
    """Run every contract check on a folder opened by :func:`~salesinsight.data.load.open_folder`."""
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
        try:
            found += _run_row_checks(
                con, spec, src, _column_checks(spec, src) + _table_rules(spec, src)
            )
            found += _key_checks(con, spec, src)
        except duckdb.Error as exc:
            found.append(Problem(ERROR, spec.name, None, "unreadable", f"{src.path.name}: {exc}"))
            continue
        readable[spec.name] = src
    try:
        found += _foreign_keys(con, readable)
    except duckdb.Error as exc:  # pragma: no cover - defensive: a file became unreadable
        found.append(Problem(ERROR, None, None, "unreadable", str(exc)))
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
        con = duckdb.connect(":memory:")
        try:
            sources, problems = open_folder(con, folder, Path(tmp))
            return run_checks(con, folder, sources, problems)
        finally:
            con.close()
