"""Generic, mapping-driven importer: CRM export files -> a canonical data folder.

A *mapping* (a YAML file or a dict) says, per contract table, which source file(s) to read and how
each contract column is made from the source columns: renames (Chinese headers work), constants,
value maps for categorical columns, date formats, number clean-up. The transformation runs in DuckDB
SQL over the files read as text, so large activity exports stream and are never loaded into pandas.

Every problem (missing files or headers, unmapped required columns, unknown categorical values,
unparseable dates and numbers) is collected and reported at once, naming the source file, column,
rows and values, **before anything is written**. Output goes to a new folder (written to a staging
folder beside it, then renamed); the input files are only read.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from salesinsight.data import contract as C
from salesinsight.data.encoding import UTF8_SIG, detect_encoding, transcode_to_utf8
from salesinsight.data.load import connect, quote_ident
from salesinsight.data.problems import ValidationReport

__all__ = [
    "ColumnSpec",
    "SourceSpec",
    "ImportMapping",
    "ImportProblem",
    "ImportResult",
    "ImporterError",
    "load_mapping",
    "merge_mappings",
    "list_presets",
    "preset_path",
    "preset_dict",
    "check_import",
    "import_folder",
    "DEFAULT_DATE_FORMATS",
]

ERROR = "error"
WARNING = "warning"
INFO = "info"

#: Date formats tried (after ISO 8601, which is always tried first) unless a mapping sets its own.
#: Only unambiguous orders: year first, or day.month.year with dots (the European convention).
#: ``7/14/2026`` vs ``14/7/2026`` cannot be told apart in general: set ``date_formats`` for it.
DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%Y年%m月%d日",
    "%Y%m%d",
)

#: Plausible calendar years; a date outside (e.g. year 26 from a two-digit year) is unparseable.
YEAR_RANGE = (1900, 2200)

#: Distinct offending values listed per problem (the total count is always given).
MAX_VALUES = 12
#: Rows listed per offending value.
MAX_ROWS = 5

_TABLE_KEYS = {
    "file",
    "optional",
    "delimiter",
    "encoding",
    "columns",
    "constants",
    "extra",
    "date_formats",
    "thousands",
    "decimal",
    "excel_dates",
    "keep_rows",
    "note",
}
_COLUMN_KEYS = {
    "from",
    "values",
    "patterns",
    "unmapped",
    "empty",
    "date_formats",
    "excel_dates",
    "match",
    "only_when",
    "hint",
}
_TOP_KEYS = {"name", "description", "tables", "date_formats", "thousands", "decimal", "excel_dates"}


# --------------------------------------------------------------------------------------------------
# problems
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# the mapping
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """How one contract column is made from a source file.

    Attributes
    ----------
    name : contract column.
    sources : source header(s). Several headers: with ``values``/``patterns`` their trimmed texts
        are joined with ``|`` (e.g. ``"true|false"``); otherwise the first non-empty one is used.
    constant : a fixed value for every row (instead of ``sources``).
    values : value map, source text (compared trimmed and case-insensitively) -> canonical value.
    patterns : ordered (regular expression, value) pairs tried, case-insensitively, where ``values``
        has no entry.
    unmapped : value for non-empty source values matched by nothing (reported as a warning);
        ``None`` makes them errors on categorical columns.
    empty : value where the source is empty (reported as info).
    date_formats : strptime formats tried after ISO 8601 (``None``: the source's formats).
    excel_dates : read 5-digit numbers as Excel serial dates (``None``: the source's setting).
    match : regular expression a value must match (search); others are left empty (info).
    only_when : (contract column, allowed values) pairs; the value is left empty in rows where that
        other column's canonical value is not among them (e.g. close_date only when won/lost).
    hint : shown when the column is required but not mapped.
    """

    name: str
    sources: tuple[str, ...] = ()
    constant: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    patterns: tuple[tuple[str, str], ...] = ()
    unmapped: str | None = None
    empty: str | None = None
    date_formats: tuple[str, ...] | None = None
    excel_dates: bool | None = None
    match: str | None = None
    only_when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    hint: str = ""

    @property
    def mapped(self) -> bool:
        """True when the column gets a value (from source headers or a constant)."""
        return bool(self.sources) or self.constant is not None


@dataclass(frozen=True)
class SourceSpec:
    """One source file feeding a contract table.

    ``columns`` is ``None`` when the mapping lists no columns: every contract column whose name is
    a header of the file (compared case-insensitively) is then taken as it is. ``keep_rows``
    (source header, values) pairs keep only the rows whose value (trimmed, case-insensitive) is
    listed; the dropped rows are reported as a note.
    """

    table: str
    file: str
    columns: tuple[ColumnSpec, ...] | None
    extra: tuple[tuple[str, str], ...] = ()
    keep_rows: tuple[tuple[str, tuple[str, ...]], ...] = ()
    optional: bool = False
    delimiter: str | None = None
    encoding: str | None = None
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    thousands: str = ","
    decimal: str = "."
    excel_dates: bool = False


@dataclass(frozen=True)
class ImportMapping:
    """A parsed mapping: per contract table, the source files that feed it (in order).

    Build it with :meth:`from_dict` or :func:`load_mapping`; it is immutable.
    """

    name: str
    tables: tuple[tuple[str, tuple[SourceSpec, ...]], ...]
    description: str = ""

    def sources(self, table: str) -> tuple[SourceSpec, ...]:
        """Source specs of ``table`` (empty when the mapping does not produce it)."""
        return dict(self.tables).get(table, ())

    @property
    def table_names(self) -> tuple[str, ...]:
        """Tables the mapping produces, in contract order."""
        return tuple(t for t, _ in self.tables)

    @classmethod
    def from_dict(cls, spec: dict[str, Any], name: str | None = None) -> ImportMapping:
        """Parse a mapping dict (the YAML structure of ``docs/importers.md``).

        Raises
        ------
        ImporterError
            Listing every problem of the mapping at once (unknown tables, columns or keys, ...).
        """
        problems: list[ImportProblem] = []
        mapping = _parse_mapping(spec, name, problems)
        if any(p.severity == ERROR for p in problems):
            raise ImporterError(problems)
        return mapping


def _mapping_problem(
    message: str, table: str | None = None, column: str | None = None
) -> ImportProblem:
    return ImportProblem(ERROR, "mapping", message, table=table, column=column)


def _as_bool(value: Any, what: str, problems: list[ImportProblem]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    problems.append(_mapping_problem(f"{what} must be true or false, got {value!r}"))
    return False


def _as_str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None)
    return (str(value),)


def _norm_key(value: Any) -> str:
    return str(value).strip().lower()


def _pairs(value: Any, what: str, problems: list[ImportProblem]) -> tuple[tuple[str, str], ...]:
    """Ordered (key, value) pairs from a dict or a list of two-item lists."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple((str(k), str(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)) and all(
        isinstance(x, (list, tuple)) and len(x) == 2 for x in value
    ):
        return tuple((str(k), str(v)) for k, v in value)
    problems.append(_mapping_problem(f"{what} must be a mapping (or a list of [key, value] pairs)"))
    return ()


def _parse_column(
    table: C.Table, name: str, raw: Any, problems: list[ImportProblem]
) -> ColumnSpec | None:
    where = f"tables.{table.name}.columns.{name}"
    if name not in table.column_names:
        hint = ""
        if isinstance(raw, str) and raw in table.column_names:
            hint = f" (the mapping goes contract column -> source header: write `{raw}: {name}`)"
        problems.append(
            _mapping_problem(
                f"{name!r} is not a column of {table.name} "
                f"(columns: {', '.join(table.column_names)}){hint}; "
                "use `extra:` to keep a non-contract column",
                table.name,
                name,
            )
        )
        return None
    if raw is None or isinstance(raw, (str, int, float)):
        return ColumnSpec(name, sources=_as_str_list(raw))
    if isinstance(raw, (list, tuple)):
        return ColumnSpec(name, sources=_as_str_list(raw))
    if not isinstance(raw, dict):
        problems.append(
            _mapping_problem(f"{where} must be a header or a mapping", table.name, name)
        )
        return None
    unknown = sorted(set(map(str, raw)) - _COLUMN_KEYS)
    if unknown:
        problems.append(
            _mapping_problem(
                f"{where} has unknown key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_COLUMN_KEYS))})",
                table.name,
                name,
            )
        )
    values = tuple((_norm_key(k), v) for k, v in _pairs(raw.get("values"), where, problems))
    patterns = _pairs(raw.get("patterns"), where + ".patterns", problems)
    regexes = [pattern for pattern, _ in patterns]
    regexes += [str(raw["match"])] if raw.get("match") is not None else []
    for pattern in regexes:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(
                _mapping_problem(f"{where}: bad regular expression {pattern!r}: {exc}", table.name)
            )
    col = table.column(name)
    if col.allowed:
        targets = [v for _, v in values + patterns]
        targets += [raw[k] for k in ("unmapped", "empty") if raw.get(k) is not None]
        bad = sorted({str(v) for v in targets} - set(col.allowed))
        if bad:
            problems.append(
                _mapping_problem(
                    f"{where} maps onto value(s) {', '.join(map(repr, bad))} that the contract "
                    f"does not allow (allowed: {', '.join(col.allowed)})",
                    table.name,
                    name,
                )
            )
    only_when = []
    ow = raw.get("only_when") or {}
    if not isinstance(ow, dict):
        problems.append(_mapping_problem(f"{where}.only_when must be a mapping", table.name, name))
        ow = {}
    for other, allowed in ow.items():
        if other not in table.column_names:
            problems.append(
                _mapping_problem(
                    f"{where}.only_when refers to {other!r}, not a column of {table.name}",
                    table.name,
                    name,
                )
            )
            continue
        only_when.append((str(other), tuple(_norm_key(v) for v in _as_str_list(allowed))))
    excel = raw.get("excel_dates")
    return ColumnSpec(
        name,
        sources=_as_str_list(raw.get("from")),
        values=values,
        patterns=patterns,
        unmapped=None if raw.get("unmapped") is None else str(raw["unmapped"]),
        empty=None if raw.get("empty") is None else str(raw["empty"]),
        date_formats=_as_str_list(raw["date_formats"]) if raw.get("date_formats") else None,
        excel_dates=None if excel is None else _as_bool(excel, where + ".excel_dates", problems),
        match=None if raw.get("match") is None else str(raw["match"]),
        only_when=tuple(only_when),
        hint=str(raw.get("hint") or ""),
    )


def _parse_source(
    table: C.Table, raw: Any, defaults: dict[str, Any], problems: list[ImportProblem]
) -> SourceSpec | None:
    where = f"tables.{table.name}"
    if isinstance(raw, str):
        raw = {"file": raw}
    if not isinstance(raw, dict) or not raw.get("file"):
        problems.append(
            _mapping_problem(f"{where} needs `file:` (the source file to read)", table.name)
        )
        return None
    unknown = sorted(set(map(str, raw)) - _TABLE_KEYS)
    if unknown:
        problems.append(
            _mapping_problem(
                f"{where} has unknown key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_TABLE_KEYS))})",
                table.name,
            )
        )
    columns: list[ColumnSpec] | None = None
    if raw.get("columns") is not None or raw.get("constants") is not None:
        columns = []
        raw_cols = raw.get("columns") or {}
        if not isinstance(raw_cols, dict):
            problems.append(
                _mapping_problem(f"{where}.columns must map contract column -> source", table.name)
            )
            raw_cols = {}
        for name, spec in raw_cols.items():
            col = _parse_column(table, str(name), spec, problems)
            if col is not None:
                columns.append(col)
        constants = raw.get("constants") or {}
        if not isinstance(constants, dict):
            problems.append(_mapping_problem(f"{where}.constants must be a mapping", table.name))
            constants = {}
        for name, value in constants.items():
            if str(name) not in table.column_names:
                problems.append(
                    _mapping_problem(
                        f"{where}.constants: {name!r} is not a column of {table.name}", table.name
                    )
                )
                continue
            columns = [c for c in columns if c.name != str(name)]
            columns.append(ColumnSpec(str(name), constant=None if value is None else str(value)))
    extra = _pairs(raw.get("extra"), where + ".extra", problems)
    clash = sorted({k for k, _ in extra} & set(table.column_names))
    if clash:
        problems.append(
            _mapping_problem(
                f"{where}.extra: {', '.join(clash)} are contract columns (map them under `columns`)",
                table.name,
            )
        )

    keep = raw.get("keep_rows") or {}
    if not isinstance(keep, dict):
        problems.append(
            _mapping_problem(f"{where}.keep_rows must map header -> values", table.name)
        )
        keep = {}
    keep_rows = tuple(
        (str(h), tuple(_norm_key(v) for v in _as_str_list(vals))) for h, vals in keep.items()
    )

    def setting(key: str) -> Any:
        return raw[key] if raw.get(key) is not None else defaults.get(key)

    fmts = setting("date_formats")
    delimiter = raw.get("delimiter")
    if delimiter is not None and (len(str(delimiter)) != 1):
        problems.append(_mapping_problem(f"{where}.delimiter must be one character", table.name))
        delimiter = None
    thousands = str(setting("thousands") if setting("thousands") is not None else ",")
    decimal = str(setting("decimal") if setting("decimal") is not None else ".")
    if decimal not in (".", ",") or len(thousands) > 1 or thousands == decimal:
        problems.append(
            _mapping_problem(
                f"{where}: decimal must be '.' or ',' and thousands one character (or empty) "
                f"different from it; got decimal={decimal!r}, thousands={thousands!r}",
                table.name,
            )
        )
    return SourceSpec(
        table=table.name,
        file=str(raw["file"]),
        columns=None if columns is None else tuple(columns),
        extra=extra,
        keep_rows=keep_rows,
        optional=_as_bool(raw.get("optional", False), where + ".optional", problems),
        delimiter=None if delimiter is None else str(delimiter),
        encoding=None if raw.get("encoding") is None else str(raw["encoding"]),
        date_formats=DEFAULT_DATE_FORMATS if fmts is None else _as_str_list(fmts),
        thousands=thousands,
        decimal=decimal,
        excel_dates=_as_bool(setting("excel_dates") or False, where + ".excel_dates", problems),
    )


def _parse_mapping(spec: Any, name: str | None, problems: list[ImportProblem]) -> ImportMapping:
    if not isinstance(spec, dict):
        problems.append(_mapping_problem("a mapping must be a dict with a `tables:` key"))
        return ImportMapping(name or "mapping", ())
    unknown = sorted(set(map(str, spec)) - _TOP_KEYS)
    if unknown:
        problems.append(
            _mapping_problem(
                f"unknown top-level key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_TOP_KEYS))})"
            )
        )
    defaults = {k: spec.get(k) for k in ("date_formats", "thousands", "decimal", "excel_dates")}
    tables_raw = spec.get("tables") or {}
    if not isinstance(tables_raw, dict):
        problems.append(_mapping_problem("`tables:` must map table name -> source(s)"))
        tables_raw = {}
    tables: dict[str, tuple[SourceSpec, ...]] = {}
    for tname, raw in tables_raw.items():
        if str(tname) not in C.TABLE_NAMES:
            problems.append(
                _mapping_problem(
                    f"{tname!r} is not a contract table (tables: {', '.join(C.TABLE_NAMES)})"
                )
            )
            continue
        table = C.table(str(tname))
        raws = raw if isinstance(raw, list) else [raw]
        sources = [_parse_source(table, r, defaults, problems) for r in raws]
        tables[table.name] = tuple(s for s in sources if s is not None)
    for req in (t for t in C.TABLES if t.required):
        if req.name not in tables:
            problems.append(
                _mapping_problem(
                    f"the mapping has no {req.name} table (required by the data contract)",
                    req.name,
                )
            )
    ordered = tuple((t, tables[t]) for t in C.TABLE_NAMES if t in tables)
    return ImportMapping(
        name=str(spec.get("name") or name or "mapping"),
        tables=ordered,
        description=str(spec.get("description") or ""),
    )


class _TextLoader(yaml.SafeLoader):
    """YAML loader that keeps scalars as text (``yes``, ``007``, ``1.0`` stay strings); ``~``/null
    is still ``None``."""


_TextLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_TextLoader)
    except yaml.YAMLError as exc:
        raise ImporterError([_mapping_problem(f"{path}: not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise ImporterError([_mapping_problem(f"{path}: a mapping file must be a YAML mapping")])
    return data


def list_presets() -> dict[str, str]:
    """Bundled presets: name -> one-line description."""
    out = {}
    for entry in sorted(resources.files(__package__).joinpath("presets").iterdir(), key=str):
        if entry.name.endswith(".yaml"):
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_TextLoader)
            out[entry.name[: -len(".yaml")]] = str(data.get("description") or "").split("\n")[0]
    return out


def preset_path(name: str) -> Path:
    """Path of the bundled preset ``name`` (``KeyError`` naming the presets if unknown)."""
    entry = resources.files(__package__).joinpath("presets", f"{name}.yaml")
    if not entry.is_file():
        raise KeyError(f"no preset {name!r}; presets: {', '.join(list_presets())}")
    return Path(str(entry))


def preset_dict(name: str) -> dict[str, Any]:
    """The bundled preset ``name`` as a mapping dict (to edit, or to merge overrides onto)."""
    return _read_yaml(preset_path(name))


def merge_mappings(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two mapping dicts: dicts merge key by key, anything else in ``overlay`` replaces.

    A table given as a list of sources in ``base`` receives a dict ``overlay`` on every source.
    """
    out = dict(base)
    for key, value in overlay.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_mappings(old, value)
        elif (
            isinstance(old, list)
            and isinstance(value, dict)
            and all(isinstance(x, dict) for x in old)
        ):
            out[key] = [merge_mappings(x, value) for x in old]
        else:
            out[key] = value
    return out


def load_mapping(
    mapping: str | Path | dict[str, Any] | ImportMapping | None = None,
    *,
    preset: str | None = None,
    overrides: Iterable[dict[str, Any]] = (),
) -> ImportMapping:
    """Build an :class:`ImportMapping` from a preset and/or a YAML file or dict, plus overrides.

    Parameters
    ----------
    mapping : YAML file, mapping dict or parsed mapping. With ``preset``, it is merged onto the
        preset (see :func:`merge_mappings`).
    preset : name of a bundled preset (:func:`list_presets`).
    overrides : further mapping dicts merged in order (e.g. from ``--column`` options).
    """
    if isinstance(mapping, ImportMapping):
        if preset is not None or list(overrides):
            raise ValueError("a parsed ImportMapping cannot be merged; pass dicts or files")
        return mapping
    spec: dict[str, Any] = {}
    name = None
    if preset is not None:
        try:
            spec = preset_dict(preset)
        except KeyError as exc:
            raise ImporterError([_mapping_problem(str(exc.args[0]))]) from None
        name = preset
    if mapping is not None:
        if isinstance(mapping, dict):
            extra = mapping
        else:
            path = Path(mapping)
            if not path.is_file():
                raise ImporterError([_mapping_problem(f"mapping file {path} does not exist")])
            extra = _read_yaml(path)
            name = name or path.stem
        spec = merge_mappings(spec, extra) if spec else dict(extra)
    for o in overrides:
        spec = merge_mappings(spec, o)
    if not spec:
        raise ImporterError([_mapping_problem("give a preset or a mapping")])
    return ImportMapping.from_dict(spec, name=name)


# --------------------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _lit_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _with_times(formats: Sequence[str]) -> tuple[str, ...]:
    """Each date format, then the same followed by a time of day (unless it has one)."""
    out: list[str] = []
    for f in formats:
        out.append(f)
        if "%H" not in f and "%I" not in f:
            out += [f"{f} %H:%M:%S", f"{f} %H:%M"]
    return tuple(dict.fromkeys(out))


def _date_sql(v: str, formats: Sequence[str], excel: bool) -> str:
    """DATE parsed from text ``v``: ISO 8601 first, then ``formats``, then Excel serials."""
    parts = [f"TRY_CAST({v} AS DATE)", f"CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE)"]
    if formats:
        parts.append(f"CAST(try_strptime({v}, {_lit_list(_with_times(formats))}) AS DATE)")
    if excel:
        parts.append(
            f"CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') THEN "
            f"DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) END"
        )
    d = f"coalesce({', '.join(parts)})"
    lo, hi = YEAR_RANGE
    return f"CASE WHEN year({d}) BETWEEN {lo} AND {hi} THEN {d} END"


def _number_sql(v: str, thousands: str, decimal: str) -> str:
    """DOUBLE from text ``v``: currency symbols/codes, spaces and thousands separators removed,
    ``decimal`` as decimal mark, a trailing ``%`` divides by 100. Malformed grouping -> NULL."""
    s = f"regexp_replace({v}, '[\\s\u00a0\u202f'']', '', 'g')"
    pct = f"ends_with({s}, '%')"
    s = f"rtrim({s}, '%')"
    s = f"regexp_replace({s}, '^([+-]?)[^0-9.,+-]+', '\\1')"  # leading currency (¥, $, USD, ...)
    s = f"regexp_replace({s}, '[^0-9.,]+$', '')"  # trailing currency (元, CNY, ...)
    t, d = re.escape(thousands) if thousands else "", re.escape(decimal)
    grouped = f"|[0-9]{{1,3}}({t}[0-9]{{3}})+" if thousands else ""
    pattern = f"[+-]?([0-9]+{grouped})?({d}[0-9]+)?([eE][+-]?[0-9]+)?"
    plain = s
    if thousands:
        plain = f"replace({plain}, {_lit(thousands)}, '')"
    if decimal != ".":
        plain = f"replace({plain}, {_lit(decimal)}, '.')"
    value = f"TRY_CAST({plain} AS DOUBLE)"
    ok = f"(regexp_full_match({s}, {_lit(pattern)}) AND regexp_matches({s}, '[0-9]'))"
    return (
        f"CASE WHEN {ok} AND isfinite({value}) THEN "
        f"CASE WHEN {pct} THEN {value} / 100.0 ELSE {value} END END"
    )


def _categorical_sql(v: str, col: ColumnSpec, allowed: tuple[str, ...] | None) -> tuple[str, str]:
    """(value expression, condition true where the source value is not matched by anything)."""
    norm = f"lower({v})"
    whens = [f"WHEN {norm} = {_lit(k)} THEN {_lit(val)}" for k, val in col.values]
    known = [f"{norm} IN ({', '.join(_lit(k) for k, _ in col.values)})"] if col.values else []
    if allowed:
        whens.append(f"WHEN {norm} IN ({', '.join(_lit(a) for a in allowed)}) THEN {norm}")
        known.append(f"{norm} IN ({', '.join(_lit(a) for a in allowed)})")
    for pattern, val in col.patterns:
        cond = f"regexp_matches({v}, {_lit('(?i)' + pattern)})"
        whens.append(f"WHEN {cond} THEN {_lit(val)}")
        known.append(cond)
    if col.unmapped is not None:
        fallback = _lit(col.unmapped)
    else:
        fallback = "NULL" if allowed else v
    empty = "NULL" if col.empty is None else _lit(col.empty)
    expr = f"CASE WHEN {v} IS NULL THEN {empty} {' '.join(whens)} ELSE {fallback} END"
    unknown = f"({v} IS NOT NULL AND NOT coalesce({' OR '.join(known) or 'false'}, false))"
    return expr, unknown


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


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _open_source(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    spec: SourceSpec,
    tmpdir: Path,
    index: int,
    problems: list[ImportProblem],
) -> _Plan | None:
    path = Path(spec.file) if Path(spec.file).is_absolute() else root / spec.file
    label = spec.file

    def problem(severity: str, rule: str, message: str) -> None:
        problems.append(ImportProblem(severity, rule, message, table=spec.table, file=label))

    if not path.is_file():
        if spec.optional:
            problem(INFO, "missing_file", f"{path} not found; optional source skipped")
        else:
            present = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
            near = difflib.get_close_matches(path.name, present, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            problem(ERROR, "missing_file", f"source file {path} does not exist{hint}")
        return None
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        problem(
            ERROR,
            "unsupported_format",
            f"{path.name}: Excel workbooks are not read directly; save the sheet as "
            "'CSV UTF-8' (or plain CSV; GBK is detected) and point the mapping at the .csv",
        )
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
    encoding = spec.encoding or detect_encoding(path)
    if encoding is None:
        problem(
            ERROR,
            "encoding",
            f"{path.name} is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV "
            "or set `encoding:` in the mapping",
        )
        return None
    read_path = path
    if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
        try:
            read_path = transcode_to_utf8(path, tmpdir / f"src{index}.csv", encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            problem(ERROR, "encoding", f"{path.name} cannot be decoded as {encoding}: {exc}")
            return None
        if encoding != spec.encoding:
            problem(INFO, "encoding", f"{path.name} decoded as {encoding.upper()}")
    with read_path.open("r", encoding=UTF8_SIG, newline="") as fh:
        first = fh.readline()
        delimiter = spec.delimiter or _sniff_delimiter(first)
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
        f"read_csv({_lit(str(read_path))}, header=true, auto_detect=false, "
        f"delim={_lit(delimiter)}, quote='\"', escape='\"', columns={{{cols}}})"
    )
    scan = f"SELECT * FROM {read}"
    numbered = f"SELECT row_number() OVER () AS _row, * FROM {read}"
    return _Plan(spec, path, scan, headers, numbered)


def _find_header(headers: list[str], wanted: str) -> int | None:
    if wanted in headers:
        return headers.index(wanted)
    folded = [h.casefold() for h in headers]
    if folded.count(wanted.strip().casefold()) == 1:
        return folded.index(wanted.strip().casefold())
    return None


def _resolve_columns(plan: _Plan) -> tuple[ColumnSpec, ...]:
    """Explicit column specs, or identity specs for headers named like contract columns."""
    if plan.spec.columns is not None:
        return plan.spec.columns
    table = C.table(plan.spec.table)
    return tuple(
        ColumnSpec(c.name, sources=(plan.headers[i],))
        for c in table.columns
        if (i := _find_header(plan.headers, c.name)) is not None
    )


@dataclass(frozen=True)
class _Reporter:
    """Appends problems located in one source file."""

    problems: list[ImportProblem]
    table: str
    file: str

    def __call__(
        self,
        rule: str,
        message: str,
        column: str | None,
        source: str | None = None,
        severity: str = ERROR,
    ) -> None:
        self.problems.append(
            ImportProblem(severity, rule, message, self.table, column, self.file, source)
        )


def _check_unmapped(plan: _Plan, columns: tuple[ColumnSpec, ...], report: _Reporter) -> None:
    """An error per required contract column that gets no value (with the preset's hint)."""
    table = C.table(plan.spec.table)
    by_name = {c.name: c for c in columns}
    for col in table.columns:
        c = by_name.get(col.name)
        if col.required and (c is None or not c.mapped):
            hint = c.hint.strip() if c is not None and c.hint else ""
            how = (
                f"map it with `columns: {{{col.name}: <source header>}}`, `constants:`, "
                f"or --column {table.name}.{col.name}=<header>"
            )
            report(
                "unmapped_column",
                f"required column {table.name}.{col.name} is not mapped from {plan.spec.file} "
                f"(headers: {', '.join(plan.headers)}). {hint or how}",
                col.name,
            )


def _source_text(
    plan: _Plan, c: ColumnSpec, col: C.Column, report: _Reporter
) -> tuple[str, str, str | None] | None:
    """(text expression after ``match``, text as read, source header label); ``None`` when a
    header is missing (reported: an error for a required column, else a warning)."""
    if c.constant is not None:
        return _lit(c.constant), _lit(c.constant), None
    idx = []
    for h in c.sources:
        i = _find_header(plan.headers, h)
        if i is None:
            near = difflib.get_close_matches(h, plan.headers, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            what = "needed for" if col.required else "optional column left out:"
            report(
                "missing_header",
                f"{plan.spec.file} has no column {h!r} ({what} {plan.spec.table}.{c.name}){hint}; "
                f"headers: {', '.join(plan.headers)}",
                c.name,
                h,
                ERROR if col.required else WARNING,
            )
        idx.append(i)
    if any(i is None for i in idx):
        return None
    refs = [f"NULLIF(trim(c{i}), '')" for i in idx]
    label = " | ".join(plan.headers[i] for i in idx)  # type: ignore[index]
    if len(refs) == 1:
        v = refs[0]
    elif c.values or c.patterns:  # several headers matched together: "a|b"
        joined = " || '|' || ".join(f"coalesce({r}, '')" for r in refs)
        v = f"CASE WHEN coalesce({', '.join(refs)}) IS NOT NULL THEN {joined} END"
    else:  # first non-empty
        v = f"coalesce({', '.join(refs)})"
    raw = v
    if c.match is not None:
        matched = f"regexp_matches({v}, {_lit(c.match)})"
        plan.checks.append(
            _Check(
                INFO,
                "not_matched",
                f"value does not match {c.match!r} and is left empty",
                c.name,
                label,
                f"{v} IS NOT NULL AND NOT {matched}",
                v,
                list_values=False,
            )
        )
        v = f"CASE WHEN {matched} THEN {v} END"
    return v, raw, label


def _categorical_expr(
    plan: _Plan, c: ColumnSpec, col: C.Column, v: str, raw: str, label: str | None
) -> str:
    expr, unknown = _categorical_sql(v, c, col.allowed)
    if col.allowed and c.unmapped is None:
        plan.checks.append(
            _Check(
                ERROR,
                "unknown_value",
                f"value(s) not in the value map and not an allowed value "
                f"({', '.join(col.allowed)}); add them under `values:` (or set `unmapped:`)",
                c.name,
                label,
                unknown,
                raw,
            )
        )
    elif c.unmapped is not None:
        plan.checks.append(
            _Check(
                WARNING,
                "unmapped_value",
                f"value(s) matched by no entry, set to {c.unmapped!r}",
                c.name,
                label,
                unknown,
                raw,
            )
        )
    if c.empty is not None:
        plan.checks.append(
            _Check(
                INFO,
                "empty_filled",
                f"empty value(s) set to {c.empty!r}",
                c.name,
                label,
                f"{v} IS NULL",
                raw,
                list_values=False,
            )
        )
    return expr


def _date_expr(plan: _Plan, c: ColumnSpec, v: str, raw: str, label: str | None) -> str:
    spec = plan.spec
    fmts = c.date_formats if c.date_formats is not None else spec.date_formats
    excel = spec.excel_dates if c.excel_dates is None else c.excel_dates
    expr = _date_sql(v, fmts, excel)
    tried = "ISO 8601 (2026-07-14, 2026-07-14 10:30:00)" + (", " + ", ".join(fmts) if fmts else "")
    tried += ", Excel serial numbers" if excel else ""
    plan.checks.append(
        _Check(
            ERROR,
            "date",
            f"not a date in the accepted formats ({tried}) with a year in "
            f"{YEAR_RANGE[0]}-{YEAR_RANGE[1]}; add the format under `date_formats:`",
            c.name,
            label,
            f"{v} IS NOT NULL AND {expr} IS NULL",
            raw,
        )
    )
    return expr


def _number_expr(plan: _Plan, c: ColumnSpec, v: str, raw: str, label: str | None) -> str:
    spec = plan.spec
    expr = _number_sql(v, spec.thousands, spec.decimal)
    plan.checks.append(
        _Check(
            ERROR,
            "number",
            f"not a number (decimal mark {spec.decimal!r}, thousands separator "
            f"{spec.thousands!r}, currency symbols and a trailing % allowed)",
            c.name,
            label,
            f"{v} IS NOT NULL AND {expr} IS NULL",
            raw,
        )
    )
    return expr


def _id_expr(plan: _Plan, c: ColumnSpec, v: str, raw: str, label: str | None) -> str:
    plan.checks.append(
        _Check(
            ERROR,
            "id_scientific",
            "identifier in scientific notation (a spreadsheet turned it into a number and its "
            "digits are lost); re-export with the column as text",
            c.name,
            label,
            f"regexp_full_match(coalesce({v}, ''), '[0-9](\\.[0-9]+)?[eE]\\+[0-9]+')",
            raw,
        )
    )
    return v


def _apply_only_when(
    plan: _Plan, columns: tuple[ColumnSpec, ...], base: dict[str, str], report: _Reporter
) -> None:
    """Final expressions: ``base`` with ``only_when`` conditions on other canonical values."""
    for c in columns:
        if c.name not in base:
            continue
        expr = base[c.name]
        for other, allowed in c.only_when:
            if other not in base:
                report(
                    "mapping",
                    f"{plan.spec.table}.{c.name}: only_when refers to {other}, which is not mapped",
                    c.name,
                )
                continue
            cond = f"{base[other]} IN ({', '.join(_lit(a) for a in allowed)})"
            plan.checks.append(
                _Check(
                    INFO,
                    "only_when",
                    f"left empty where {other} is not {' / '.join(allowed)}",
                    c.name,
                    None,
                    f"({expr}) IS NOT NULL AND NOT coalesce({cond}, false)",
                    "NULL",
                    list_values=False,
                )
            )
            expr = f"CASE WHEN {cond} THEN {expr} END"
        plan.exprs[c.name] = expr


def _apply_keep_rows(plan: _Plan, report: _Reporter) -> None:
    """Filter the scans to the rows ``keep_rows`` keeps; the dropped rows become a note."""
    keep = []
    for header, values in plan.spec.keep_rows:
        i = _find_header(plan.headers, header)
        if i is None:
            report("missing_header", f"{plan.spec.file} has no column {header!r} (keep_rows)", None)
            continue
        keep.append((i, f"lower(trim(c{i})) IN ({', '.join(_lit(v) for v in values)})"))
    if not keep:
        return
    cond = " AND ".join(f"coalesce({c}, false)" for _, c in keep)
    heads = " | ".join(plan.headers[i] for i, _ in keep)
    value = " || '|' || ".join(f"coalesce(c{i}, '')" for i, _ in keep)
    allowed = "; ".join(f"{h}: {', '.join(v)}" for h, v in plan.spec.keep_rows)
    plan.dropped = _Check(
        INFO,
        "rows_dropped",
        f"rows left out (keep_rows {allowed})",
        None,
        heads,
        f"NOT ({cond})",
        value,
    )
    plan.unfiltered = plan.numbered
    plan.scan = f"SELECT * FROM ({plan.scan}) WHERE {cond}"
    plan.numbered = f"SELECT * FROM ({plan.numbered}) WHERE {cond}"


def _build(plan: _Plan, problems: list[ImportProblem]) -> None:
    """Fill ``plan.exprs`` and ``plan.checks``; report unmapped columns and missing headers."""
    table = C.table(plan.spec.table)
    report = _Reporter(problems, plan.spec.table, plan.spec.file)
    columns = _resolve_columns(plan)
    _check_unmapped(plan, columns, report)
    base: dict[str, str] = {}  # canonical column -> typed expression before only_when
    for c in columns:
        if not c.mapped:
            continue
        col = table.column(c.name)
        text = _source_text(plan, c, col, report)
        if text is None:
            continue
        v, raw, label = text
        if col.allowed or c.values or c.patterns:
            base[c.name] = _categorical_expr(plan, c, col, v, raw, label)
        elif col.kind == C.DATE:
            base[c.name] = _date_expr(plan, c, v, raw, label)
        elif col.kind == C.NUMBER:
            base[c.name] = _number_expr(plan, c, v, raw, label)
        elif col.kind == C.ID:
            base[c.name] = _id_expr(plan, c, v, raw, label)
        else:
            base[c.name] = v
    _apply_only_when(plan, columns, base, report)
    _apply_keep_rows(plan, report)
    for out, header in plan.spec.extra:
        i = _find_header(plan.headers, header)
        if i is None:
            report("missing_header", f"{plan.spec.file} has no column {header!r} (extra)", out)
            continue
        plan.exprs[out] = f"NULLIF(trim(c{i}), '')"


def _run_checks(con: duckdb.DuckDBPyConnection, plan: _Plan, problems: list[ImportProblem]) -> None:
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
    problems: list[ImportProblem],
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
            ImportProblem(
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
            ImportProblem(
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


# --------------------------------------------------------------------------------------------------
# the import
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote.

    Attributes
    ----------
    folder : the new data folder.
    source : the folder the CRM export was read from (unchanged).
    mapping : name of the mapping or preset used.
    rows : rows written per table, in contract order.
    files : source file(s) read per table.
    problems : warnings and notes of the import (no errors: those stop it).
    report : validation report of the written folder (``None`` if validation was skipped).
    """

    folder: Path
    source: Path
    mapping: str
    rows: dict[str, int]
    files: dict[str, tuple[str, ...]]
    problems: tuple[ImportProblem, ...] = ()
    report: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        """True when the written folder passed validation (or validation was skipped)."""
        return self.report is None or self.report.ok

    def to_frame(self) -> pd.DataFrame:
        """One row per table written: table, rows, source files."""
        return pd.DataFrame(
            [
                {"table": t, "rows": n, "files": ", ".join(self.files.get(t, ()))}
                for t, n in self.rows.items()
            ],
            columns=["table", "rows", "files"],
        )

    def summary(self) -> str:
        """Human-readable text: tables written, import notes, validation verdict."""
        lines = [f"Imported {self.source} with mapping {self.mapping!r} into {self.folder}"]
        for t, n in self.rows.items():
            lines.append(f"  {t}: {n} rows from {', '.join(self.files.get(t, ()))}")
        if self.problems:
            lines.append("Import notes:")
            lines += [f"  - {p}" for p in self.problems]
        if self.report is not None:
            lines.append("")
            lines.append(str(self.report))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _plan_all(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    mapping: ImportMapping,
    tmpdir: Path,
    problems: list[ImportProblem],
) -> dict[str, list[_Plan]]:
    plans: dict[str, list[_Plan]] = {}
    k = 0
    for table_name, specs in mapping.tables:
        for spec in specs:
            k += 1
            plan = _open_source(con, source, spec, tmpdir, k, problems)
            if plan is None:
                continue
            _build(plan, problems)
            plans.setdefault(table_name, []).append(plan)
    if not any(p.severity == ERROR for p in problems):
        for table_plans in plans.values():
            for plan in table_plans:
                _run_checks(con, plan, problems)
    return plans


def check_import(source: str | Path, mapping: ImportMapping) -> tuple[ImportProblem, ...]:
    """Dry run: every problem an import of ``source`` with ``mapping`` would meet; writes nothing.

    Returns all problems (errors, warnings and notes); the import would fail if any is an error.
    """
    source = Path(source)
    problems: list[ImportProblem] = []
    with tempfile.TemporaryDirectory(prefix="salesinsight-import-") as tmp:
        con = connect(Path(tmp))
        try:
            _plan_all(con, source, mapping, Path(tmp), problems)
        finally:
            con.close()
    return tuple(problems)


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
    return f"SELECT {', '.join(parts)} FROM ({plan.scan})"


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
    except ValueError:
        return False
    return True


def import_folder(
    source: str | Path,
    out: str | Path,
    mapping: ImportMapping | str | Path | dict[str, Any] | None = None,
    *,
    preset: str | None = None,
    force: bool = False,
    fmt: str = "csv",
    validate: bool = True,
) -> ImportResult:
    """Import a CRM export folder into a new canonical data folder.

    Parameters
    ----------
    source : folder holding the export files (only read, never modified).
    out : the data folder to create. Must not exist unless ``force`` (then it is replaced, once the
        new folder is complete); must not be inside ``source``.
    mapping : parsed mapping, mapping dict or YAML file; merged onto ``preset`` when both are given.
    preset : bundled preset name, e.g. ``"salesforce"`` or ``"jiandaoyun"``.
    force : replace an existing ``out``.
    fmt : ``"csv"`` (UTF-8, ISO dates) or ``"parquet"``.
    validate : run :func:`salesinsight.data.validate` on the written folder.

    Returns
    -------
    ImportResult
        Rows written per table, import notes and the validation report.

    Raises
    ------
    ImporterError
        Before anything is written, listing every problem found at once.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if not isinstance(mapping, ImportMapping):
        mapping = load_mapping(mapping, preset=preset)
    elif preset is not None:
        raise ValueError("pass either a parsed ImportMapping or a preset, not both")
    source, out = Path(source), Path(out)
    problems: list[ImportProblem] = []
    src_abs, out_abs = source.resolve(), out.resolve()
    if not source.is_dir():
        problems.append(ImportProblem(ERROR, "source", f"source folder {source} does not exist"))
    elif _inside(out_abs, src_abs) or _inside(src_abs, out_abs):
        problems.append(
            ImportProblem(
                ERROR,
                "output",
                f"output folder {out} overlaps the source folder {source}; "
                "write the data folder somewhere else (the input is never modified)",
            )
        )
    if out.exists() and not force:
        problems.append(
            ImportProblem(
                ERROR,
                "output",
                f"output folder {out} already exists; choose a new folder or pass force=True "
                "(--force) to replace it",
            )
        )
    if problems:
        raise ImporterError(problems)
    with tempfile.TemporaryDirectory(prefix="salesinsight-import-") as tmp:
        con = connect(Path(tmp))
        try:
            plans = _plan_all(con, source, mapping, Path(tmp), problems)
            for req in (t for t in C.TABLES if t.required):
                if req.name in mapping.table_names and req.name not in plans:
                    if not any(p.severity == ERROR and p.table == req.name for p in problems):
                        problems.append(
                            ImportProblem(
                                ERROR,
                                "missing_table",
                                f"no source of {req.name} was read",
                                req.name,
                            )
                        )
            if any(p.severity == ERROR for p in problems):
                raise ImporterError(problems)
            rows = _write(con, plans, out_abs, fmt, force)
        finally:
            con.close()
    report = None
    if validate:
        from salesinsight.data.validate import validate as run_validate

        report = run_validate(out)
    files = {t: tuple(p.spec.file for p in ps) for t, ps in plans.items()}
    return ImportResult(out, source, mapping.name, rows, files, tuple(problems), report)


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
) -> dict[str, int]:
    """Write every table into a staging folder beside ``out``, then move it into place."""
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
        old = None
        if out.exists():
            if not force:  # appeared meanwhile
                raise ImporterError(
                    [ImportProblem(ERROR, "output", f"output folder {out} already exists")]
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
