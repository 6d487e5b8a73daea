"""DuckDB SQL expression builders: pure functions from SQL text to SQL text.

Literals, date parsing (ISO 8601, strptime formats, Excel serials), number clean-up (currency,
separators, percent) and categorical value maps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from salesinsight.data.importers.spec import ColumnSpec

#: Plausible calendar years; a date outside (e.g. year 26 from a two-digit year) is unparseable.
YEAR_RANGE = (1900, 2200)


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


#: Date "formats" for Unix times as API dumps write them: ``epoch_ms`` (13 digits) or ``epoch_s``
#: (10 digits), optionally ``@+08:00`` for the UTC offset whose calendar day is wanted.
_EPOCH = re.compile(r"epoch_(ms|s)(?:@([+-])(\d{2}):(\d{2}))?")


def _epoch_sql(v: str, fmt: str) -> str | None:
    """DATE from a Unix time in ``v`` for an ``epoch_ms``/``epoch_s`` format (``None`` otherwise)."""
    m = _EPOCH.fullmatch(fmt)
    if m is None:
        return None
    unit, sign, hh, mm = m.groups()
    minutes = 0 if sign is None else (int(hh) * 60 + int(mm)) * (1 if sign == "+" else -1)
    digits, fn = ("[0-9]{12,13}", "epoch_ms") if unit == "ms" else ("[0-9]{9,10}", "to_timestamp")
    ts = f"{fn}(CAST({v} AS BIGINT))"
    if unit == "s":
        ts = f"CAST({ts} AT TIME ZONE 'UTC' AS TIMESTAMP)"
    return (
        f"CASE WHEN regexp_full_match({v}, '{digits}') THEN "
        f"CAST({ts} + INTERVAL ({minutes}) MINUTE AS DATE) END"
    )


def _date_sql(v: str, formats: Sequence[str], excel: bool) -> str:
    """Return the DATE parsed from text ``v``.

    ISO 8601 first, then ``formats`` (strptime formats, or ``epoch_ms``/``epoch_s`` Unix times),
    then Excel serials.
    """
    parts = [f"TRY_CAST({v} AS DATE)", f"CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE)"]
    epochs = [e for f in formats if (e := _epoch_sql(v, f)) is not None]
    strp = [f for f in formats if _EPOCH.fullmatch(f) is None]
    if strp:
        parts.append(f"CAST(try_strptime({v}, {_lit_list(_with_times(strp))}) AS DATE)")
    parts += epochs
    if excel:
        parts.append(
            f"CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') THEN "
            f"DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) END"
        )
    d = f"coalesce({', '.join(parts)})"
    lo, hi = YEAR_RANGE
    return f"CASE WHEN year({d}) BETWEEN {lo} AND {hi} THEN {d} END"


def _number_sql(v: str, thousands: str, decimal: str) -> str:
    """Return the DOUBLE parsed from text ``v``.

    Currency symbols/codes, spaces and thousands separators removed, ``decimal`` as decimal mark,
    a trailing ``%`` divides by 100. Malformed grouping -> NULL.
    """
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
