"""A data folder's files as DuckDB sources: connection, quoting, typed expressions, raw and typed views.

CSV files are read with every column as VARCHAR (explicit column list) and typed in SQL with
``TRY_CAST``; Parquet files are read with their own types and cast to the contract types. Non-UTF-8
CSV files (GBK/GB18030, UTF-16) are transcoded to a temporary UTF-8 copy, never in the input folder.
A table may also be a Delta Lake table, a directory ``<table>/`` with a ``_delta_log``: its current
version is scanned as a pyarrow dataset (:mod:`salesinsight.data.delta`), in batches.
This is the bottom of the data layer: :mod:`~salesinsight.data.rules`,
:mod:`~salesinsight.data.validate` and :mod:`~salesinsight.data.load` build on it, and it imports
none of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from salesinsight.data import contract as C
from salesinsight.data.delta import DeltaUnsupported, delta_dataset, is_delta_table
from salesinsight.data.encoding import (
    UTF8,
    UTF8_SIG,
    detect_encoding,
    encoding_label,
    transcode_to_utf8,
)
from salesinsight.data.memory import duckdb_memory_limit
from salesinsight.data.problems import ERROR, WARNING, Problem

__all__ = [
    "RAW_SCHEMA",
    "Source",
    "connect",
    "open_folder",
    "quote_ident",
    "typed_expr",
    "typed_select",
]

#: Schema holding the internal raw views (``_si.<table>``: ``_row`` + the file's columns as read).
RAW_SCHEMA = "_si"

_NUMERIC_PREFIXES: tuple[str, ...]
_NUMERIC_PREFIXES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_NUMERIC_PREFIXES += ("UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")


def connect(tmpdir: Path, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open a new in-memory DuckDB connection: no progress bar, bounded memory, spills under ``tmpdir``.

    ``memory_limit`` (``"50%"`` of the machine's memory, ``"4GB"``, ...) defaults to the
    ``SALESINSIGHT_MEMORY_LIMIT`` environment variable, else half the machine's memory
    (:func:`salesinsight.data.memory.duckdb_memory_limit`); above it DuckDB spills to
    ``tmpdir/duckdb-spill`` instead of running out of memory.
    """
    config: dict[str, str | bool | int | float | list[str]] = {
        "temp_directory": str(tmpdir / "duckdb-spill")
    }
    limit = duckdb_memory_limit(memory_limit)
    if limit is not None:
        config["memory_limit"] = limit
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # inside a Jupyter kernel without ipywidgets the setting is already off
        pass
    return con


def quote_ident(name: str) -> str:
    """Quote a SQL identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """One table file found in the folder.

    Attributes
    ----------
    table : contract table name.
    path : the file in the input folder.
    fmt : ``"csv"``, ``"parquet"`` or ``"delta"`` (a Delta table directory).
    read_path : the file DuckDB reads (a temporary UTF-8 copy for non-UTF-8 CSV; the table
        directory for Delta).
    encoding : detected encoding (CSV) or ``None`` (Parquet, Delta).
    columns : column names as in the file, in file order.
    types : DuckDB type of each column as read (all ``VARCHAR`` for CSV).
    """

    table: str
    path: Path
    fmt: str
    read_path: Path
    encoding: str | None
    columns: tuple[str, ...]
    types: tuple[str, ...]

    def scan_sql(self, row_numbers: bool = False, rejects: str | None = None) -> str:
        """Return the SQL table function reading the file.

        ``row_numbers`` adds ``file_row_number`` (Parquet); ``rejects`` (CSV) stores unparseable
        lines in the tables ``<rejects>_errors``/``<rejects>_scans`` instead of failing.
        """
        if self.fmt == "delta":  # the pyarrow dataset registered by open_folder (no row numbers)
            return quote_ident(delta_view(self.table))
        path = _quote_str(str(self.read_path))
        if self.fmt == "parquet":
            extra = ", file_row_number=true" if row_numbers else ""
            return f"read_parquet({path}{extra})"
        cols = ", ".join(f"{_quote_str(c)}: 'VARCHAR'" for c in self.columns)
        store = ""
        if rejects:
            store = (
                f", store_rejects=true, rejects_table='{rejects}_errors', "
                f"rejects_scan='{rejects}_scans'"
            )
        return (
            f"read_csv({path}, header=true, auto_detect=false, delim=',', quote='\"', "
            f"escape='\"', columns={{{cols}}}{store})"
        )

    def type_of(self, column: str) -> str:
        """DuckDB type of ``column`` as read from the file."""
        return self.types[self.columns.index(column)]


def typed_expr(column: C.Column, source_type: str, ref: str) -> str:
    """Return the SQL expression giving the contract-typed value of ``ref`` (a column read as ``source_type``).

    Empty or blank text is missing (NULL); unparseable values become NULL (validation reports them).
    """
    t = source_type.upper()
    is_text = t == "VARCHAR"
    if column.kind in (C.ID, C.STR):
        expr = f"CASE WHEN trim({ref}) = '' THEN NULL ELSE {ref} END" if is_text else None
        expr = expr or f"CAST({ref} AS VARCHAR)"
    elif column.kind == C.DATE:
        if t == "DATE":
            expr = ref
        elif t.startswith("TIMESTAMP"):
            expr = f"CAST({ref} AS DATE)"
        else:
            text = ref if is_text else f"CAST({ref} AS VARCHAR)"
            # ISO only: DuckDB alone would also read 'epoch', 'infinity', '2026/07/14', '2026-7-4'
            # (the plausible range, C.DATE_RANGE, is a validation rule: see rules.column_checks)
            expr = (
                f"CASE WHEN regexp_full_match({text}, '\\s*{C.ISO_DATE_PATTERN}\\s*') "
                f"THEN TRY_CAST({text} AS DATE) END"
            )
    else:  # number; NaN and infinities are not numbers here
        if t.startswith(_NUMERIC_PREFIXES):
            value = f"CAST({ref} AS DOUBLE)"
        else:
            value = f"TRY_CAST({ref if is_text else f'CAST({ref} AS VARCHAR)'} AS DOUBLE)"
        expr = f"CASE WHEN isfinite({value}) THEN {value} END"
    if column.default is not None:
        expr = f"COALESCE({expr}, {float(column.default)!r})"
    return expr


def _read_csv_header(path: Path) -> list[str] | None:
    with path.open("r", encoding=UTF8_SIG, newline="") as fh:
        try:
            return next(csv.reader(fh))
        except StopIteration:
            return None


def delta_view(table: str) -> str:
    """Name under which a Delta table's pyarrow dataset is registered on the connection."""
    return f"_si_delta_{table}"


def _delta_source(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, problems: list[Problem]
) -> Source | None:
    """Register the current version of the Delta table ``path`` and describe its columns."""
    try:
        dataset = delta_dataset(path)
        con.register(delta_view(name), dataset)
        rel = con.sql(f"SELECT * FROM {quote_ident(delta_view(name))} LIMIT 0")
        cols, types = tuple(rel.columns), tuple(str(t) for t in rel.types)
    except (DeltaUnsupported, duckdb.Error) as exc:
        problems.append(Problem(ERROR, name, None, "unreadable", f"{path.name}/: {exc}"))
        return None
    return Source(name, path, "delta", path, None, cols, types)


def _find_source(
    con: duckdb.DuckDBPyConnection, folder: Path, name: str, tmpdir: Path, problems: list[Problem]
) -> Source | None:
    csv_path, pq_path = folder / f"{name}.csv", folder / f"{name}.parquet"
    delta_path = folder / name
    if is_delta_table(delta_path):
        others = [p.name for p in (csv_path, pq_path) if p.exists()]
        if others:
            problems.append(
                Problem(
                    ERROR,
                    name,
                    None,
                    "duplicate_file",
                    f"both {', '.join(others)} and the Delta table {name}/ exist; keep exactly "
                    "one per table",
                )
            )
            return None
        return _delta_source(con, name, delta_path, problems)
    for path in (csv_path, pq_path):
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            problems.append(
                Problem(
                    ERROR,
                    name,
                    None,
                    "unreadable",
                    f"{path.name} is {kind}: a table must be one CSV or Parquet file",
                )
            )
            return None
    has_csv, has_pq = csv_path.is_file(), pq_path.is_file()
    if has_csv or has_pq:
        path = pq_path if has_pq else csv_path
        try:
            with path.open("rb") as fh:
                fh.read(1)
        except OSError as exc:
            problems.append(
                Problem(
                    ERROR,
                    name,
                    None,
                    "unreadable",
                    f"{path.name} cannot be read: {exc.strerror or exc}",
                )
            )
            return None
    if has_csv and has_pq:
        problems.append(
            Problem(
                ERROR,
                name,
                None,
                "duplicate_file",
                f"both {csv_path.name} and {pq_path.name} exist; keep exactly one file per table",
            )
        )
        return None
    if has_pq:
        try:
            rel = con.sql(f"SELECT * FROM read_parquet({_quote_str(str(pq_path))}) LIMIT 0")
            cols, types = tuple(rel.columns), tuple(str(t) for t in rel.types)
        except duckdb.Error as exc:
            problems.append(
                Problem(ERROR, name, None, "unreadable", f"{pq_path.name} cannot be read: {exc}")
            )
            return None
        return Source(name, pq_path, "parquet", pq_path, None, cols, types)
    if not has_csv:
        return None
    encoding = detect_encoding(csv_path)
    if encoding is None:
        problems.append(
            Problem(
                ERROR,
                name,
                None,
                "encoding",
                f"{csv_path.name} is not UTF-8 (nor GB18030, Windows-1252 or Big5): save it as "
                "UTF-8 CSV",
            )
        )
        return None
    read_path = csv_path
    if encoding not in (UTF8, UTF8_SIG):
        read_path = transcode_to_utf8(csv_path, tmpdir / csv_path.name, encoding)
        problems.append(
            Problem(
                WARNING,
                name,
                None,
                "encoding",
                f"{csv_path.name} is not UTF-8; decoded as {encoding_label(encoding)} "
                "(check that names read correctly)",
            )
        )
    header = _read_csv_header(read_path)
    if not header:
        problems.append(
            Problem(ERROR, name, None, "unreadable", f"{csv_path.name} is empty (no header row)")
        )
        return None
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        problems.append(
            Problem(
                ERROR,
                name,
                dupes[0],
                "duplicate_column",
                f"{csv_path.name} has duplicate column name(s): {', '.join(dupes)}",
            )
        )
        return None
    return Source(
        name, csv_path, "csv", read_path, encoding, tuple(header), ("VARCHAR",) * len(header)
    )


def open_folder(
    con: duckdb.DuckDBPyConnection, folder: Path, tmpdir: Path
) -> tuple[dict[str, Source], list[Problem]]:
    """Find the table files of ``folder`` and create the views on ``con``.

    Creates ``main.<table>`` (typed per the contract, optional columns filled with NULL, extra
    columns kept) and ``_si.<table>`` (``_row`` = 1-based data row number, then the file's columns
    as read). Returns the sources found and the file-level problems (duplicates, encoding, ...).
    """
    problems: list[Problem] = []
    sources: dict[str, Source] = {}
    if not folder.is_dir():
        problems.append(
            Problem(ERROR, None, None, "folder", f"data folder {folder} does not exist")
        )
        return sources, problems
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for spec in C.TABLES:
        src = _find_source(con, folder, spec.name, tmpdir, problems)
        if src is None:
            continue
        try:
            _create_views(con, spec, src)
        except duckdb.Error as exc:
            problems.append(
                Problem(ERROR, spec.name, None, "unreadable", f"{src.path.name}: {exc}")
            )
            continue
        sources[spec.name] = src
    known = {f"{t}.{ext}" for t in C.TABLE_NAMES for ext in ("csv", "parquet")}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".csv", ".parquet") and path.name not in known:
            problems.append(
                Problem(
                    WARNING,
                    None,
                    None,
                    "unknown_file",
                    f"{path.name} is not a contract table file and is ignored "
                    f"(tables: {', '.join(C.TABLE_NAMES)})",
                )
            )
    return sources, problems


def typed_select(spec: C.Table, src: Source) -> str:
    """Select list of the typed view of ``spec`` over the columns of ``src`` (DuckDB SQL).

    Contract columns typed per the contract (absent optional ones as NULL or their default), then
    the file's extra columns unchanged. Shared by every engine (Spark runs it transpiled).
    """
    present = set(src.columns)
    select = []
    for col in spec.columns:
        if col.name in present:
            expr = typed_expr(col, src.type_of(col.name), quote_ident(col.name))
        elif col.default is not None:
            expr = f"CAST({float(col.default)!r} AS {col.sql_type})"
        else:
            expr = f"CAST(NULL AS {col.sql_type})"
        select.append(f"{expr} AS {quote_ident(col.name)}")
    contract_cols = set(spec.column_names)
    select += [quote_ident(c) for c in src.columns if c not in contract_cols]
    return ", ".join(select)


def _create_views(con: duckdb.DuckDBPyConnection, spec: C.Table, src: Source) -> None:
    name = quote_ident(spec.name)
    con.execute(
        f"CREATE OR REPLACE VIEW {name} AS SELECT {typed_select(spec, src)} FROM {src.scan_sql()}"
    )
    if src.fmt == "parquet":
        raw = f"SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row FROM {src.scan_sql(True)}"
    else:
        raw = f"SELECT *, row_number() OVER () AS _row FROM {src.scan_sql()}"
    con.execute(f"CREATE OR REPLACE VIEW {RAW_SCHEMA}.{name} AS {raw}")
