"""Row-level rules of the data contract as SQL: one condition per rule, true on offending rows.

Each rule is evaluated over the per-row select of :func:`row_select`, which exposes ``_row`` (the
1-based data row number), ``"t.<col>"`` (the contract-typed value) and ``"r.<col>"`` (the value as
read from the file) for every contract column present in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from salesinsight.data import contract as C
from salesinsight.data.problems import ERROR, WARNING
from salesinsight.data.sources import RAW_SCHEMA, Source, quote_ident, typed_expr

__all__ = ["RowCheck", "column_checks", "table_rules", "row_select", "t", "r", "txt", "blank"]


@dataclass(frozen=True)
class RowCheck:
    """A row-level rule: ``condition`` is true on offending rows; ``value`` shows the offence."""

    column: str
    rule: str
    message: str
    condition: str
    value: str
    severity: str = ERROR


def t(col: str) -> str:
    """Return a reference to the typed value of ``col`` in the per-row select."""
    return quote_ident(f"t.{col}")


def r(col: str) -> str:
    """Return a reference to the value of ``col`` as read from the file."""
    return quote_ident(f"r.{col}")


def txt(ref: str) -> str:
    """Return ``ref`` cast to text (SQL)."""
    return f"CAST({ref} AS VARCHAR)"


def blank(src: Source, col: str) -> str:
    """Return the SQL condition that ``col`` of ``src`` is missing or, for text, blank."""
    if src.type_of(col).upper() == "VARCHAR":
        return f"({r(col)} IS NULL OR trim({r(col)}) = '')"
    return f"{r(col)} IS NULL"


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def column_checks(spec: C.Table, src: Source) -> list[RowCheck]:
    """Rules on single columns: required values, parseable types, allowed values, ranges."""
    checks: list[RowCheck] = []
    present = set(src.columns)
    for col in spec.columns:
        if col.name not in present:
            continue
        tv, rv = t(col.name), r(col.name)
        if col.required:
            checks.append(
                RowCheck(
                    col.name, "required", "required value is missing", blank(src, col.name), "''"
                )
            )
        if col.kind == C.DATE:
            lo, hi = C.DATE_RANGE
            checks.append(
                RowCheck(
                    col.name,
                    "date",
                    "not a valid date (expected YYYY-MM-DD, or a timestamp such as "
                    f"YYYY-MM-DD HH:MM:SS, between {lo} and {hi})",
                    f"NOT {blank(src, col.name)} AND ({tv} IS NULL "
                    f"OR {tv} NOT BETWEEN DATE '{lo}' AND DATE '{hi}')",
                    txt(rv),
                )
            )
            if col.name in C.EVENT_DATES.get(spec.name, ()):
                checks.append(
                    RowCheck(
                        col.name,
                        "future_date",
                        "date is in the future (after today)",
                        f"{tv} > current_date",
                        txt(rv),
                        severity=WARNING,
                    )
                )
        if col.kind == C.NUMBER:
            checks.append(
                RowCheck(
                    col.name,
                    "number",
                    "not a number (plain digits, '.' as decimal point, no thousands separators)",
                    f"NOT {blank(src, col.name)} AND ({tv} IS NULL OR NOT isfinite({tv}))",
                    txt(rv),
                )
            )
        if col.allowed:
            checks.append(
                RowCheck(
                    col.name,
                    "allowed_values",
                    f"not an allowed value (allowed, lower case: {', '.join(col.allowed)})",
                    f"{tv} IS NOT NULL AND {tv} NOT IN ({_sql_list(col.allowed)})",
                    txt(rv),
                )
            )
    return checks


def _range(col: str, rule: str, message: str, bad: str) -> RowCheck:
    return RowCheck(col, rule, message, f"{t(col)} IS NOT NULL AND {bad}", txt(r(col)))


def _pair(later: str, earlier: str, rule: str) -> RowCheck:
    message = f"{later} is before {earlier}"
    cond = f"{t(later)} < {t(earlier)}"
    value = f"{txt(t(later))} || ' < ' || {txt(t(earlier))}"
    return RowCheck(later, rule, message, cond, value)


def table_rules(spec: C.Table, src: Source) -> list[RowCheck]:
    """Rules across columns of one row and value ranges, per table."""
    rules = _TABLE_RULES.get(spec.name)
    return [] if rules is None else rules(spec, src, set(src.columns).__contains__)


def _programs_rules(spec: C.Table, src: Source, has: Callable[[str], bool]) -> list[RowCheck]:
    checks: list[RowCheck] = []
    if has("budget") and "budget" in spec.column_names:
        checks.append(_range("budget", "non_negative", "budget is negative", f"{t('budget')} < 0"))
    if has("end_date") and has("start_date"):
        check = _pair("end_date", "start_date", "end_before_start")
        checks.append(RowCheck(**{**check.__dict__, "severity": WARNING}))
    return checks


def _reps_rules(spec: C.Table, src: Source, has: Callable[[str], bool]) -> list[RowCheck]:
    if has("termination_date") and has("hire_date"):
        return [_pair("termination_date", "hire_date", "termination_before_hire")]
    return []


def _opportunities_rules(spec: C.Table, src: Source, has: Callable[[str], bool]) -> list[RowCheck]:
    checks: list[RowCheck] = []
    status = t("status")
    if has("close_date") and has("status"):
        checks.append(
            RowCheck(
                "close_date",
                "close_date_required",
                "close_date is missing on a won/lost opportunity (required unless open)",
                f"{status} IN ('won', 'lost') AND {blank(src, 'close_date')}",
                status,
            )
        )
    if has("close_date") and has("created_date"):
        checks.append(_pair("close_date", "created_date", "close_before_created"))
    if has("amount"):
        checks.append(_range("amount", "non_negative", "amount is negative", f"{t('amount')} < 0"))
        if has("status"):
            checks.append(
                RowCheck(
                    "amount",
                    "won_amount_required",
                    "amount is missing on a won opportunity",
                    f"{status} = 'won' AND {blank(src, 'amount')}",
                    status,
                )
            )
    if has("discount"):
        d = t("discount")
        checks.append(
            _range(
                "discount", "discount_range", "discount is outside [0, 1]", f"({d} < 0 OR {d} > 1)"
            )
        )
    return checks


def _quotas_rules(spec: C.Table, src: Source, has: Callable[[str], bool]) -> list[RowCheck]:
    checks: list[RowCheck] = []
    if has("quota_amount"):
        checks.append(
            _range(
                "quota_amount",
                "positive",
                "quota_amount is not > 0",
                f"{t('quota_amount')} <= 0",
            )
        )
    if has("period_end") and has("period_start"):
        checks.append(_pair("period_end", "period_start", "period_end_before_start"))
    return checks


def _csat_rules(spec: C.Table, src: Source, has: Callable[[str], bool]) -> list[RowCheck]:
    checks: list[RowCheck] = []
    scale = t("scale") if has("scale") else repr(C.CSAT_DEFAULT_SCALE)
    if has("scale"):
        checks.append(_range("scale", "positive", "scale is not > 0", f"{t('scale')} <= 0"))
    if has("score"):
        s = t("score")
        checks.append(
            RowCheck(
                "score",
                "score_range",
                "score is outside [0, scale]",
                f"{s} IS NOT NULL AND ({s} < 0 OR {s} > {scale})",
                f"{txt(s)} || ' (scale ' || {txt(scale)} || ')'",
            )
        )
    return checks


def _reviews_rules(spec: C.Table, src: Source, has: Callable[[str], bool]) -> list[RowCheck]:
    if not has("period"):
        return []
    p = t("period")
    return [
        RowCheck(
            "period",
            "quarter_label",
            "period is not a quarter label YYYYQn (e.g. 2026Q3)",
            f"{p} IS NOT NULL AND NOT regexp_full_match({p}, '{C.QUARTER_PATTERN[1:-1]}')",
            txt(r("period")),
        )
    ]


#: the cross-column and range rules of each table that has any
_TABLE_RULES: dict[str, Callable[[C.Table, Source, Callable[[str], bool]], list[RowCheck]]] = {
    "programs": _programs_rules,
    "reps": _reps_rules,
    "opportunities": _opportunities_rules,
    "quotas": _quotas_rules,
    "csat": _csat_rules,
    "reviews": _reviews_rules,
}


def row_select(spec: C.Table, src: Source) -> str:
    """Per-row select: ``_row``, then typed ``t.<col>`` and as-read ``r.<col>`` per contract column."""
    parts = ["_row"]
    for col in spec.columns:
        if col.name in src.columns:
            ref = quote_ident(col.name)
            parts.append(f"{typed_expr(col, src.type_of(col.name), ref)} AS {t(col.name)}")
            parts.append(f"{ref} AS {r(col.name)}")
    return f"SELECT {', '.join(parts)} FROM {RAW_SCHEMA}.{quote_ident(spec.name)}"
