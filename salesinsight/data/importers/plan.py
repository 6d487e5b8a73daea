"""One source file opened for import: :class:`_Plan` and :func:`_open_source`.

:class:`_Plan` holds its text scan in DuckDB, the output column expressions and the row-level
:class:`_Check` list; :func:`_open_source` finds the file format, encoding, delimiter and headers.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from salesinsight.data.encoding import (
    CANDIDATES,
    UTF8,
    UTF8_SIG,
    encoding_label,
    guess_encoding,
    transcode_to_utf8,
)
from salesinsight.data.importers.delimiter import sniff_delimiter
from salesinsight.data.importers.excel import EXCEL_SUFFIXES, ExcelError, sheet_to_csv_at
from salesinsight.data.importers.problems import import_problem
from salesinsight.data.importers.snapshots import history_from_snapshots
from salesinsight.data.importers.spec import SourceSpec
from salesinsight.data.importers.sql import _lit
from salesinsight.data.problems import ERROR, INFO, WARNING, Problem
from salesinsight.data.sources import quote_ident


@dataclass(frozen=True)
class _Check:
    """A row-level check over a source; ``condition`` is true on offending rows."""

    severity: str
    rule: str
    message: str
    column: str | None
    source_column: str | None
    condition: str
    value: str
    list_values: bool = True


@dataclass(frozen=True)
class _Currency:
    """One amount column of a source with its currency: SQL of the code and of the raw amount."""

    column: str
    code: str  # SQL: upper-case ISO code per row (NULL when empty)
    amount: str  # SQL: the amount before conversion
    label: str | None  # source header of the code (None for a fixed code)
    converted: bool = False  # converted by a per-row rate (rate_column): no FX rate needed


@dataclass
class _Plan:
    """One source file ready to transform: its scan, the column expressions and the checks."""

    spec: SourceSpec
    path: Path
    scan: str  # SQL producing the columns c0, c1, ... as text, in file order
    headers: list[str]
    numbered: str = ""  # the same plus _row (1-based data row), for locating problems
    dropped: _Check | None = None  # rows left out by keep_rows (checked on the unfiltered file)
    unfiltered: str = ""
    exprs: dict[str, str] = field(default_factory=dict)  # output column -> typed SQL
    checks: list[_Check] = field(default_factory=list)
    currencies: list[_Currency] = field(default_factory=list)  # amounts with a currency
    extra_exprs: dict[str, str] = field(default_factory=dict)  # derived output columns
    keep: str | None = None  # condition of the rows kept by keep_rows / exclude_rows
    output_filter: list[str] = field(default_factory=list)  # further conditions on written rows


def _source_encoding(
    path: Path, spec: SourceSpec, problem: Callable[[str, str, str], None]
) -> str | None:
    """Return the mapping's ``encoding:``, else a content-based guess (a warning when not certain)."""
    if spec.encoding:
        return spec.encoding
    guess = guess_encoding(path)
    if guess.encoding is None:
        problem(
            ERROR,
            "encoding",
            f"{path.name} is not UTF-8 and decodes as none of "
            f"{', '.join(encoding_label(e) for e in CANDIDATES)}; save it as UTF-8 CSV or set "
            f"`encoding:` for this file in the mapping",
        )
        return None
    if not guess.certain:
        others = ", ".join(encoding_label(e) for e in guess.alternatives) or "another encoding"
        problem(
            WARNING,
            "encoding",
            f"{path.name}: encoding guessed as {guess.label}, not certain ({others} also "
            f"decode it); check accented or Chinese text in the output and set "
            f"`encoding:` for this file in the mapping (e.g. `encoding: {guess.encoding}`)",
        )
    elif guess.encoding not in (UTF8, UTF8_SIG):
        problem(INFO, "encoding", f"{path.name} decoded as {guess.label}")
    return guess.encoding


def _open_source(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    spec: SourceSpec,
    tmpdir: Path,
    index: int,
    problems: list[Problem],
) -> _Plan | None:
    if spec.snapshots is not None:
        return _snapshot_plan(con, root, spec, tmpdir, index, problems)
    for option in spec.file_options[1:]:  # the first file of the list that exists
        if not (root / spec.file).is_file() and (root / option).is_file():
            spec = dataclasses.replace(spec, file=option)
    path = Path(spec.file) if Path(spec.file).is_absolute() else root / spec.file
    label = spec.file

    def problem(severity: str, rule: str, message: str) -> None:
        problems.append(import_problem(severity, rule, message, table=spec.table, file=label))

    if not path.is_file():
        if spec.optional:
            problem(INFO, "missing_file", f"{path} not found; optional source skipped")
        else:
            present = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
            near = difflib.get_close_matches(path.name, present, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            alts = spec.file_options[1:]
            also = f" (nor {', '.join(alts)})" if alts else ""
            problem(ERROR, "missing_file", f"source file {path} does not exist{also}{hint}")
        return None
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        try:
            csv_path, row = sheet_to_csv_at(
                path, tmpdir / f"src{index}.csv", spec.sheet, spec.header_row
            )
        except ExcelError as exc:
            problem(ERROR, "unreadable", str(exc))
            return None
        if spec.header_row is None and row > 1:
            problem(INFO, "header_row", f"{path.name}: header on row {row} (title rows above)")
        if spec.excel_dates is None:  # a number in a date column of a workbook is a serial date
            spec = dataclasses.replace(spec, excel_dates=True)
        spec = dataclasses.replace(spec, delimiter=",", header_row=None)  # CSV starts at the header
        return _csv_plan(spec, path, csv_path, problem)
    elif spec.sheet is not None:
        problem(ERROR, "mapping", f"`sheet: {spec.sheet}` is set but {path.name} is no workbook")
        return None
    if suffix in (".parquet", ".pq"):
        try:
            rel = con.sql(f"SELECT * FROM read_parquet({_lit(str(path))}) LIMIT 0")
        except duckdb.Error as exc:
            problem(ERROR, "unreadable", f"{path.name} cannot be read as Parquet: {exc}")
            return None
        headers = list(rel.columns)
        cols = ", ".join(
            f"CAST({quote_ident(h)} AS VARCHAR) AS c{i}" for i, h in enumerate(headers)
        )
        read = f"read_parquet({_lit(str(path))}, file_row_number=true)"
        scan = f"SELECT {cols} FROM {read}"
        numbered = f"SELECT file_row_number + 1 AS _row, {cols} FROM {read}"
        return _Plan(spec, path, scan, headers, numbered)
    encoding = _source_encoding(path, spec, problem)
    if encoding is None:
        return None
    read_path = path
    if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
        try:
            read_path = transcode_to_utf8(path, tmpdir / f"src{index}.csv", encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            problem(ERROR, "encoding", f"{path.name} cannot be decoded as {encoding}: {exc}")
            return None
    return _csv_plan(spec, path, read_path, problem)


def _snapshot_plan(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    spec: SourceSpec,
    tmpdir: Path,
    index: int,
    problems: list[Problem],
) -> _Plan | None:
    """stage_history diffed from dated snapshots, then read like a CSV with contract headers."""

    def problem(severity: str, rule: str, message: str) -> None:
        problems.append(import_problem(severity, rule, message, table=spec.table, file=spec.file))

    by_name = {c.name: c for c in spec.columns or ()}
    headers = {}
    for name in ("opp_id", "stage"):
        c = by_name.get(name)
        if c is None or len(c.sources) != 1:
            problem(
                ERROR, "mapping", f"snapshots need `columns: {{{name}: <header>}}` (one header)"
            )
            return None
        headers[name] = c.sources[0]
    work = tmpdir / f"snapshots{index}"
    work.mkdir()
    out = history_from_snapshots(
        con,
        root,
        spec.snapshots or "",
        headers["opp_id"],
        headers["stage"],
        work / "h.csv",
        problem,
    )
    if out is None:
        return None
    spec = dataclasses.replace(spec, columns=None, delimiter=",", keep_rows=(), header_row=None)
    return _csv_plan(spec, out, out, problem)


def _csv_plan(
    spec: SourceSpec, path: Path, read_path: Path, problem: Callable[[str, str, str], None]
) -> _Plan | None:
    """Return the plan of a UTF-8 CSV file ``read_path`` (``path``: the source it was made from)."""
    skip = (spec.header_row or 1) - 1
    with read_path.open("r", encoding=UTF8_SIG, newline="") as fh:
        for _ in range(skip):
            fh.readline()
        first = fh.readline()
        delimiter = spec.delimiter or sniff_delimiter(first)
        header = next(csv.reader([first], delimiter=delimiter), None)
    if not header or not any(h.strip() for h in header):
        problem(ERROR, "unreadable", f"{path.name} is empty (no header row)")
        return None
    headers = [h.strip() for h in header]
    dupes = sorted({h for h in headers if headers.count(h) > 1 and h})
    if dupes:
        problem(ERROR, "duplicate_header", f"{path.name} repeats header(s): {', '.join(dupes)}")
        return None
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(headers)))
    read = (
        f"read_csv({_lit(str(read_path))}, header=true, auto_detect=false, skip={skip}, "
        f"delim={_lit(delimiter)}, quote='\"', escape='\"', columns={{{cols}}})"
    )
    scan = f"SELECT * FROM {read}"
    numbered = f"SELECT row_number() OVER () AS _row, * FROM {read}"
    return _Plan(spec, path, scan, headers, numbered)
