"""The mapping format: :class:`ImportMapping`, :class:`SourceSpec` and :class:`ColumnSpec`.

Parsed from a mapping dict (the YAML structure of ``docs/importers.md``) with every problem
reported at once.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from salesinsight.data import contract as C
from salesinsight.data.importers.problems import ImporterError, _mapping_problem
from salesinsight.data.problems import ERROR, Problem

__all__ = [
    "ColumnSpec",
    "SourceSpec",
    "ImportMapping",
    "FxSpec",
    "DEFAULT_DATE_FORMATS",
]

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


_TABLE_KEYS = {
    "file",
    "sheet",
    "header_row",
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
    "exclude_rows",
    "exclude_matching",
    "close_before_created",
    "snapshots",
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
    "currency",
    "currency_column",
    "any_of",
    "join",
    "rate_column",
    "rate_quote",
}
_TOP_KEYS = {
    "name",
    "description",
    "tables",
    "date_formats",
    "thousands",
    "decimal",
    "excel_dates",
    "lacks",
    "fx",
}
_FX_KEYS = {"to", "rates", "file", "code", "rate", "quote", "optional", "start"}
#: What to do with an opportunity closed before it was created (data migrations do that).
CLOSE_POLICIES = ("error", "clamp", "drop")
#: How an FX rate is quoted: reporting-currency units per 1 unit of the currency (``per_unit``,
#: e.g. MXN 0.055 for USD reporting), or currency units per 1 reporting unit (``per_reporting``,
#: e.g. MXN 18.2: Salesforce's CurrencyType.ConversionRate).
FX_QUOTES = ("per_unit", "per_reporting")

#: What a mapping can declare the export lacks (``lacks:``); the KPIs that need it are then
#: "not available" (``salesinsight.metrics.availability``), never a number made up by the absence.
LACK_NAMES: tuple[str, ...] = ("lost_deals", "open_deals", "created_dates", "activities")
#: File of the data folder where an import records the export's declared lacks.
AVAILABILITY_FILE = "availability.json"


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
    currency : ISO code of every amount of this column (a file in one currency).
    currency_column : source header holding each row's currency code (e.g. Salesforce's
        ``CurrencyIsoCode``); when the file has no such header, amounts are taken as they are.
    alternatives : ``any_of``: header sets tried in order; the first whose headers are all in the
        file is used like ``sources`` (an export with API names or with labels, one preset).
    join : with several headers, their non-empty texts joined with this separator (e.g. first
        and last name) instead of the first non-empty one.
    rate_columns : ``rate_column``: header(s), the first present is used, holding each row's
        exchange rate to the reporting currency (Zoho's ``Exchange_Rate``); the amount is
        converted row by row (``rate_quote`` as in ``fx.quote``) and needs no ``fx`` rate.
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
    currency: str | None = None
    currency_column: str | None = None
    alternatives: tuple[tuple[str, ...], ...] = ()
    join: str | None = None
    rate_columns: tuple[str, ...] = ()
    rate_quote: str = "per_unit"

    @property
    def mapped(self) -> bool:
        """True when the column gets a value (from source headers or a constant)."""
        return bool(self.sources) or bool(self.alternatives) or self.constant is not None


@dataclass(frozen=True)
class SourceSpec:
    """One source file feeding a contract table.

    ``columns`` is ``None`` when the mapping lists no columns: every contract column whose name is
    a header of the file (compared case-insensitively) is then taken as it is. ``keep_rows``
    (source header, values) pairs keep only the rows whose value (trimmed, case-insensitive) is
    listed; ``exclude_rows`` (header, values) and ``exclude_matching`` (header, regular expression)
    leave out the rows that match. The dropped rows are reported as a note; rows left out of
    ``reps`` also take their records in the other tables with them (a warning counts them).
    ``header_row``: 1-based row of the header (default: 1 for text files; for workbooks the first
    row with two or more filled cells among the first 10, skipping title rows).
    ``file_options``: a list given as ``file:``, the first that exists is read (e.g. the same
    export as ``.xlsx`` or ``.csv``). ``close_before_created`` (opportunities): ``"error"`` (default), ``"clamp"`` (created date
    moved back to the close date) or ``"drop"``. ``snapshots`` (stage_history): a glob of dated
    snapshot files diffed into the history (see ``importers.snapshots``).
    """

    table: str
    file: str
    columns: tuple[ColumnSpec, ...] | None
    file_options: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    keep_rows: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude_rows: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude_matching: tuple[tuple[str, str], ...] = ()
    close_before_created: str | None = None
    snapshots: str | None = None
    optional: bool = False
    delimiter: str | None = None
    encoding: str | None = None
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    thousands: str = ","
    decimal: str = "."
    excel_dates: bool | None = None
    sheet: str | None = None
    header_row: int | None = None


@dataclass(frozen=True)
class FxSpec:
    """Conversion of amounts to one reporting currency (mapping key ``fx:``).

    Attributes
    ----------
    to : ISO code of the reporting currency.
    rates : (code, rate) pairs given in the mapping, quoted as ``quote`` says.
    file : CSV or workbook of rates (relative to the export folder), read at import time.
    code, rate : its headers (defaults ``currency`` and ``rate``).
    quote : ``"per_unit"`` or ``"per_reporting"`` (see ``FX_QUOTES``).
    start : header of the file's effective-from date: dated rates (Salesforce's
        DatedConversionRate ``StartDate``); each amount uses the latest rate starting on or before
        its row's close date (else created date, or quota period start).
    optional : a missing rates ``file`` is then a note and amounts are taken as they are (a
        preset's default for exports that have a rates file only in multi-currency orgs); mixed
        currencies are still refused.
    """

    to: str
    rates: tuple[tuple[str, float], ...] = ()
    file: str | None = None
    code: str = "currency"
    rate: str = "rate"
    quote: str = "per_unit"
    optional: bool = False
    start: str | None = None


@dataclass(frozen=True)
class ImportMapping:
    """A parsed mapping: per contract table, the source files that feed it (in order).

    Build it with :meth:`from_dict` or :func:`load_mapping`; it is immutable.
    """

    name: str
    tables: tuple[tuple[str, tuple[SourceSpec, ...]], ...]
    description: str = ""
    lacks: tuple[tuple[str, str], ...] = ()
    fx: FxSpec | None = None

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
        problems: list[Problem] = []
        mapping = _parse_mapping(spec, name, problems)
        if any(p.severity == ERROR for p in problems):
            raise ImporterError(problems)
        return mapping


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest known name, or ``""``."""
    near = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _unknown_keys(raw: dict[str, Any], known: set[str], where: str) -> str | None:
    """Message for keys of ``raw`` not in ``known``, each with its closest known key."""
    unknown = sorted(set(map(str, raw)) - known)
    if not unknown:
        return None
    parts = [f"{k!r}{_did_you_mean(k, sorted(known))}" for k in unknown]
    return f"{where} has unknown key(s) {', '.join(parts)} (allowed: {', '.join(sorted(known))})"


def _as_bool(value: Any, what: str, problems: list[Problem]) -> bool:
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


def _pairs(value: Any, what: str, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
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
    table: C.Table, name: str, raw: Any, problems: list[Problem]
) -> ColumnSpec | None:
    where = f"tables.{table.name}.columns.{name}"
    if name not in table.column_names:
        hint = ""
        if isinstance(raw, str) and raw in table.column_names:
            hint = f" (the mapping goes contract column -> source header: write `{raw}: {name}`)"
        elif name in _COLUMN_KEYS:
            hint = (
                f" (`{name}:` is a key of a column spec: put it inside the column, e.g. "
                f"`<column>: {{from: <header>, {name}: {raw}}}`)"
            )
        problems.append(
            _mapping_problem(
                f"{name!r} is not a column of {table.name}"
                f"{_did_you_mean(name, table.column_names)} "
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
    unknown = _unknown_keys(raw, _COLUMN_KEYS, where)
    if unknown:
        problems.append(_mapping_problem(unknown, table.name, name))
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
    if (raw.get("currency") is not None or raw.get("currency_column") is not None) and (
        col.kind != C.NUMBER
    ):
        problems.append(
            _mapping_problem(
                f"{where}: `currency`/`currency_column` apply to amounts, and {name} is not a number",
                table.name,
                name,
            )
        )
    if raw.get("currency") is not None and raw.get("currency_column") is not None:
        problems.append(
            _mapping_problem(
                f"{where}: give `currency` (one code for the file) or `currency_column` (a code "
                "per row), not both",
                table.name,
                name,
            )
        )
    alternatives = tuple(_as_str_list(a) for a in (raw.get("any_of") or []))
    if raw.get("any_of") is not None and (
        not isinstance(raw["any_of"], (list, tuple)) or raw.get("from") is not None
    ):
        problems.append(
            _mapping_problem(
                f"{where}.any_of must be a list of headers (or of header lists), without `from`",
                table.name,
                name,
            )
        )
        alternatives = ()
    rate_quote = str(raw.get("rate_quote") or "per_unit")
    if rate_quote not in FX_QUOTES:
        problems.append(
            _mapping_problem(
                f"{where}.rate_quote must be one of {', '.join(FX_QUOTES)}, got {rate_quote!r}",
                table.name,
                name,
            )
        )
    if raw.get("rate_column") is not None and col.kind != C.NUMBER:
        problems.append(
            _mapping_problem(f"{where}: `rate_column` applies to amounts", table.name, name)
        )
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
        currency=None if raw.get("currency") is None else str(raw["currency"]).strip().upper(),
        currency_column=None if raw.get("currency_column") is None else str(raw["currency_column"]),
        alternatives=alternatives,
        join=None if raw.get("join") is None else str(raw["join"]),
        rate_columns=_as_str_list(raw.get("rate_column")),
        rate_quote=rate_quote,
    )


def _parse_source(
    table: C.Table, raw: Any, defaults: dict[str, Any], problems: list[Problem]
) -> SourceSpec | None:
    where = f"tables.{table.name}"
    if isinstance(raw, str):
        raw = {"file": raw}
    if isinstance(raw, dict) and raw.get("snapshots") and not raw.get("file"):
        raw = {**raw, "file": str(raw["snapshots"])}
        if table.name != "stage_history":
            problems.append(
                _mapping_problem(f"{where}.snapshots builds stage_history only", table.name)
            )
    if not isinstance(raw, dict) or not raw.get("file"):
        problems.append(
            _mapping_problem(f"{where} needs `file:` (the source file to read)", table.name)
        )
        return None
    unknown = _unknown_keys(raw, _TABLE_KEYS, where)
    if unknown:
        problems.append(_mapping_problem(unknown, table.name))
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

    excl = raw.get("exclude_rows") or {}
    if not isinstance(excl, dict):
        problems.append(
            _mapping_problem(f"{where}.exclude_rows must map header -> values", table.name)
        )
        excl = {}
    exclude_rows = tuple(
        (str(h), tuple(_norm_key(v) for v in _as_str_list(vals))) for h, vals in excl.items()
    )
    exclude_matching = _pairs(raw.get("exclude_matching"), where + ".exclude_matching", problems)
    for _, pattern in exclude_matching:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(
                _mapping_problem(f"{where}: bad regular expression {pattern!r}: {exc}", table.name)
            )
    policy = raw.get("close_before_created")
    if policy is not None:
        policy = str(policy).strip().lower()
        if table.name != "opportunities":
            problems.append(
                _mapping_problem(f"{where}.close_before_created applies to opportunities only")
            )
        elif policy not in CLOSE_POLICIES:
            problems.append(
                _mapping_problem(
                    f"{where}.close_before_created must be one of {', '.join(CLOSE_POLICIES)}, "
                    f"got {policy!r}{_did_you_mean(policy, CLOSE_POLICIES)}",
                    table.name,
                )
            )

    def setting(key: str) -> Any:
        return raw[key] if raw.get(key) is not None else defaults.get(key)

    fmts = setting("date_formats")
    delimiter = raw.get("delimiter")
    if delimiter is not None and (len(str(delimiter)) != 1):
        problems.append(_mapping_problem(f"{where}.delimiter must be one character", table.name))
        delimiter = None
    encoding = raw.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            known = ("utf-8", "utf-8-sig", "gb18030", "gbk", "big5", "cp1252", "latin-1", "utf-16")
            problems.append(
                _mapping_problem(
                    f"{where}.encoding: {encoding!r} is not a known text encoding"
                    f"{_did_you_mean(str(encoding).lower(), known)} (e.g. {', '.join(known)})",
                    table.name,
                )
            )
            encoding = None
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
        file=_as_str_list(raw["file"])[0],
        file_options=_as_str_list(raw["file"]),
        columns=None if columns is None else tuple(columns),
        extra=extra,
        keep_rows=keep_rows,
        exclude_rows=exclude_rows,
        exclude_matching=exclude_matching,
        close_before_created=policy,
        snapshots=None if raw.get("snapshots") is None else str(raw["snapshots"]),
        optional=_as_bool(raw.get("optional", False), where + ".optional", problems),
        delimiter=None if delimiter is None else str(delimiter),
        encoding=None if encoding is None else str(encoding),
        date_formats=DEFAULT_DATE_FORMATS if fmts is None else _as_str_list(fmts),
        thousands=thousands,
        decimal=decimal,
        excel_dates=(
            None
            if setting("excel_dates") is None
            else _as_bool(setting("excel_dates"), where + ".excel_dates", problems)
        ),
        sheet=None if raw.get("sheet") is None else str(raw["sheet"]),
        header_row=_header_row(raw.get("header_row"), where, table.name, problems),
    )


def _header_row(value: Any, where: str, table: str, problems: list[Problem]) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        problems.append(
            _mapping_problem(
                f"{where}.header_row must be a row number from 1, got {value!r}", table
            )
        )
        return None
    return int(text)


def _parse_mapping(spec: Any, name: str | None, problems: list[Problem]) -> ImportMapping:
    if not isinstance(spec, dict):
        problems.append(_mapping_problem("a mapping must be a dict with a `tables:` key"))
        return ImportMapping(name or "mapping", ())
    unknown = _unknown_keys(spec, _TOP_KEYS, "the mapping")
    if unknown:
        problems.append(_mapping_problem(unknown))
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
                    f"{tname!r} is not a contract table{_did_you_mean(tname, C.TABLE_NAMES)} "
                    f"(tables: {', '.join(C.TABLE_NAMES)})"
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
        lacks=_parse_lacks(spec.get("lacks"), problems),
        fx=_parse_fx(spec.get("fx"), problems),
    )


def _parse_fx(raw: Any, problems: list[Problem]) -> FxSpec | None:
    """``fx:`` -> :class:`FxSpec` (``None`` when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw.get("to"):
        problems.append(_mapping_problem("`fx:` needs `to:` (the reporting currency's ISO code)"))
        return None
    unknown = _unknown_keys(raw, _FX_KEYS, "fx")
    if unknown:
        problems.append(_mapping_problem(unknown))
    rates = []
    for code, value in _pairs(raw.get("rates"), "fx.rates", problems):
        try:
            rate = float(value)
        except ValueError:
            rate = float("nan")
        if not rate > 0 or rate == float("inf"):
            problems.append(
                _mapping_problem(f"fx.rates.{code}: rate must be a positive number, got {value!r}")
            )
            continue
        rates.append((code.strip().upper(), rate))
    quote = str(raw.get("quote") or "per_unit")
    if quote not in FX_QUOTES:
        problems.append(
            _mapping_problem(f"fx.quote must be one of {', '.join(FX_QUOTES)}, got {quote!r}")
        )
    if not rates and not raw.get("file"):
        problems.append(_mapping_problem("`fx:` needs `rates:` or `file:` (a table of rates)"))
    return FxSpec(
        to=str(raw["to"]).strip().upper(),
        rates=tuple(rates),
        file=None if raw.get("file") is None else str(raw["file"]),
        code=str(raw.get("code") or "currency"),
        rate=str(raw.get("rate") or "rate"),
        quote=quote,
        optional=_as_bool(raw.get("optional", False), "fx.optional", problems),
        start=None if raw.get("start") is None else str(raw["start"]),
    )


def _parse_lacks(raw: Any, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    """``lacks:`` as a list of names or a mapping name -> reason."""
    if raw is None:
        return ()
    if isinstance(raw, (list, tuple)):
        pairs = [(str(k), "") for k in raw]
    elif isinstance(raw, dict):
        pairs = [(str(k), "" if v is None else str(v)) for k, v in raw.items()]
    else:
        problems.append(_mapping_problem("`lacks:` must be a list or a mapping name -> reason"))
        return ()
    for key, _ in pairs:
        if key not in LACK_NAMES:
            problems.append(
                _mapping_problem(f"lacks: {key!r} is unknown{_did_you_mean(key, LACK_NAMES)}")
            )
    return tuple(p for p in pairs if p[0] in LACK_NAMES)
