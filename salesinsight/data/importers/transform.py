"""The transformation of one source into contract columns, as SQL expressions on a :class:`_Plan`.

Contract columns from source headers (value maps, dates, numbers, identifiers, ``only_when``,
``keep_rows``, extra columns), with the row-level checks each expression needs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from salesinsight.data import contract as C
from salesinsight.data.importers.currency import FxRates, dated_rate_sql, rate_sql
from salesinsight.data.importers.plan import _Check, _Currency, _Plan
from salesinsight.data.importers.problems import import_problem
from salesinsight.data.importers.spec import ColumnSpec
from salesinsight.data.importers.sql import (
    YEAR_RANGE,
    _categorical_sql,
    _date_sql,
    _lit,
    _number_sql,
)
from salesinsight.data.problems import ERROR, INFO, WARNING, Problem


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

    problems: list[Problem]
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
            import_problem(severity, rule, message, self.table, column, self.file, source)
        )


def _check_unmapped(plan: _Plan, columns: tuple[ColumnSpec, ...], report: _Reporter) -> None:
    """Return an error per required contract column that gets no value (with the preset's hint)."""
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
    """Return (text expression after ``match``, text as read, source header label).

    ``None`` when a header is missing (reported: an error for a required column, else a warning).
    """
    if c.constant is not None:
        return _lit(c.constant), _lit(c.constant), None
    sources = c.sources
    if c.alternatives:
        found = [
            a for a in c.alternatives if all(_find_header(plan.headers, h) is not None for h in a)
        ]
        if not found:
            listed = "; ".join(" + ".join(a) for a in c.alternatives)
            what = "needed for" if col.required else "optional column left out:"
            report(
                "missing_header",
                f"{plan.spec.file} has none of the headers {listed} ({what} "
                f"{plan.spec.table}.{c.name}); headers: {', '.join(plan.headers)}",
                c.name,
                None,
                ERROR if col.required else WARNING,
            )
            return None
        sources = found[0]
    idx = []
    for h in sources:
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
    elif c.join is not None:
        v = f"NULLIF(concat_ws({_lit(c.join)}, {', '.join(refs)}), '')"
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
    excel = bool(spec.excel_dates) if c.excel_dates is None else c.excel_dates
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
    """Return the final expressions: ``base`` with ``only_when`` conditions on other canonical values."""
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
    """Filter the scans to the rows ``keep_rows`` keeps and the exclusions do not leave out.

    The exclusions are ``exclude_rows``/``exclude_matching``; the dropped rows become a note.
    """
    spec = plan.spec
    conds: list[tuple[int, str]] = []
    words: list[str] = []
    rules = [(h, "keep", vals) for h, vals in spec.keep_rows]
    rules += [(h, "exclude", vals) for h, vals in spec.exclude_rows]
    rules += [(h, "match", (rx,)) for h, rx in spec.exclude_matching]
    for header, kind, values in rules:
        i = _find_header(plan.headers, header)
        if i is None:
            key = {"keep": "keep_rows", "exclude": "exclude_rows", "match": "exclude_matching"}
            near = difflib.get_close_matches(header, plan.headers, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            report(
                "missing_header",
                f"{spec.file} has no column {header!r} ({key[kind]}"
                f"{'' if kind == 'keep' else ', not applied'}){hint}",
                None,
                None,
                ERROR if kind == "keep" else INFO,
            )
            continue
        listed = ", ".join(_lit(v) for v in values)
        if kind == "keep":
            conds.append((i, f"coalesce(lower(trim(c{i})) IN ({listed}), false)"))
            words.append(f"keep_rows {header}: {', '.join(values)}")
        elif kind == "exclude":
            conds.append((i, f"NOT coalesce(lower(trim(c{i})) IN ({listed}), false)"))
            words.append(f"exclude_rows {header}: {', '.join(values)}")
        else:
            rx = _lit("(?i)" + values[0])
            conds.append((i, f"NOT coalesce(regexp_matches(c{i}, {rx}), false)"))
            words.append(f"exclude_matching {header}: {values[0]}")
    if not conds:
        return
    cond = " AND ".join(f"({c})" for _, c in conds)
    cols = list(dict.fromkeys(i for i, _ in conds))
    heads = " | ".join(plan.headers[i] for i in cols)
    value = " || '|' || ".join(f"coalesce(c{i}, '')" for i in cols)
    plan.keep = cond
    plan.dropped = _Check(
        INFO,
        "rows_dropped",
        f"rows left out ({'; '.join(words)})",
        None,
        heads,
        f"NOT ({cond})",
        value,
    )
    plan.unfiltered = plan.numbered
    plan.scan = f"SELECT * FROM ({plan.scan}) WHERE {cond}"
    plan.numbered = f"SELECT * FROM ({plan.numbered}) WHERE {cond}"


def _apply_close_policy(plan: _Plan) -> None:
    """Opportunities closed before they were created: an error (default), clamped or dropped."""
    if plan.spec.table != "opportunities":
        return
    close, created = plan.exprs.get("close_date"), plan.exprs.get("created_date")
    if close is None or created is None:
        return
    policy = plan.spec.close_before_created or "error"
    cond = f"({close}) < ({created})"
    value = f"CAST({created} AS VARCHAR) || ' > ' || CAST({close} AS VARCHAR)"
    if policy == "error":
        message = (
            "closed before it was created (created > close shown); fix the source, or set "
            "`close_before_created: clamp` (created date moved back to the close date) or "
            "`drop` on this table"
        )
        plan.checks.append(
            _Check(ERROR, "close_before_created", message, "close_date", None, cond, value)
        )
    elif policy == "clamp":
        message = "closed before it was created: created date set to the close date (clamp)"
        plan.checks.append(
            _Check(WARNING, "close_before_created", message, "created_date", None, cond, value)
        )
        plan.exprs["created_date"] = f"CASE WHEN {cond} THEN {close} ELSE {created} END"
    else:
        message = "closed before it was created: rows left out (drop)"
        plan.checks.append(
            _Check(WARNING, "close_before_created", message, "close_date", None, cond, value)
        )
        plan.output_filter.append(f"NOT coalesce({cond}, false)")


def _with_row_rate(plan: _Plan, c: ColumnSpec, amount: str, report: _Reporter) -> str | None:
    """Return the amount converted by the row's own exchange rate (``rate_column``).

    ``None`` (a note) when the file has none of the rate headers. Rows with an amount and no
    positive rate are errors.
    """
    found = [(h, i) for h in c.rate_columns if (i := _find_header(plan.headers, h)) is not None]
    if not found:
        report(
            "currency",
            f"{plan.spec.file} has no column {' / '.join(c.rate_columns)} (rate_column of "
            f"{plan.spec.table}.{c.name}): amounts are not converted",
            c.name,
            None,
            INFO,
        )
        return None
    header, i = found[0]
    rate = _number_sql(f"NULLIF(trim(c{i}), '')", plan.spec.thousands, plan.spec.decimal)
    plan.checks.append(
        _Check(
            ERROR,
            "currency",
            "amount without a positive exchange rate in its row",
            c.name,
            header,
            f"({amount}) IS NOT NULL AND NOT coalesce(({rate}) > 0, false)",
            f"NULLIF(trim(c{i}), '')",
        )
    )
    op = "/" if c.rate_quote == "per_reporting" else "*"
    return f"CASE WHEN ({rate}) > 0 THEN ({amount}) {op} ({rate}) END"


def _with_currency(
    plan: _Plan,
    c: ColumnSpec,
    amount: str,
    rates: dict[str, float] | None,
    report: _Reporter,
    converted: bool = False,
) -> str:
    """Return the amount converted with ``rates`` (as is without them).

    Registers its currency code and keeps it as the extra column ``<column>_currency``.
    """
    if c.currency is not None:
        code, label = _lit(c.currency), None
    else:
        i = _find_header(plan.headers, str(c.currency_column))
        if i is None:
            report(
                "currency",
                f"{plan.spec.file} has no column {c.currency_column!r} (currency_column of "
                f"{plan.spec.table}.{c.name}): amounts are taken as one currency",
                c.name,
                c.currency_column,
                INFO,
            )
            return amount
        code, label = f"upper(NULLIF(trim(c{i}), ''))", plan.headers[i]
    plan.currencies.append(_Currency(c.name, code, amount, label, converted))
    plan.extra_exprs[f"{c.name}_currency"] = code
    if rates is None or getattr(rates, "dated_codes", None):
        return amount  # dated rates: converted once the row's date is known (_apply_dated_rates)
    return f"(({amount}) * {rate_sql(code, rates)})"


def _apply_dated_rates(
    plan: _Plan, base: dict[str, str], rates: FxRates | None, report: _Reporter
) -> None:
    """Convert amounts with the rate in force on their row's date.

    The close date, else created date, else quota period start; rows with no rate in force are
    errors.
    """
    if rates is None or not rates.dated_codes:
        return
    dates = [base[d] for d in ("close_date", "created_date", "period_start") if d in base]
    for cur in plan.currencies:
        if cur.converted:
            continue
        if not dates:
            report(
                "currency",
                f"dated FX rates need a date in {plan.spec.file} (close_date, created_date or "
                "period_start) to choose the rate",
                cur.column,
            )
            continue
        date = f"coalesce({', '.join(dates)})"
        lookup = dated_rate_sql(cur.code, date)
        dated = f"{cur.code} IN ({', '.join(_lit(c) for c in sorted(rates.dated_codes))})"
        plan.checks.append(
            _Check(
                ERROR,
                "currency",
                "no FX rate in force on the row's date (the currency's dated rates start later)",
                cur.column,
                cur.label,
                f"({cur.amount}) IS NOT NULL AND {dated} AND {lookup} IS NULL",
                f"{cur.code} || ' on ' || CAST({date} AS VARCHAR)",
            )
        )
        base[cur.column] = (
            f"(({cur.amount}) * CASE WHEN {dated} THEN {lookup} "
            f"ELSE {rate_sql(cur.code, rates)} END)"
        )


def _build(plan: _Plan, problems: list[Problem], rates: FxRates | None = None) -> None:
    """Fill ``plan.exprs`` and ``plan.checks``; report unmapped columns and missing headers.

    ``rates`` (reporting-currency units per unit of each code) convert amounts that have a
    currency; without them amounts are kept as they are (mixed currencies are refused later).
    """
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
        categorical = bool(col.allowed or c.values or c.patterns)
        if c.empty is not None and not categorical:  # fill before parsing: the fill is checked too
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
            v = f"coalesce({v}, {_lit(c.empty)})"
        if categorical:
            base[c.name] = _categorical_expr(plan, c, col, v, raw, label)
        elif col.kind == C.DATE:
            base[c.name] = _date_expr(plan, c, v, raw, label)
        elif col.kind == C.NUMBER:
            base[c.name] = _number_expr(plan, c, v, raw, label)
            row_rate = _with_row_rate(plan, c, base[c.name], report) if c.rate_columns else None
            if c.currency is not None or c.currency_column is not None:
                base[c.name] = _with_currency(
                    plan, c, base[c.name], None if row_rate else rates, report, bool(row_rate)
                )
            if row_rate:
                base[c.name] = row_rate
        elif col.kind == C.ID:
            base[c.name] = _id_expr(plan, c, v, raw, label)
        else:
            base[c.name] = v
    _apply_dated_rates(plan, base, rates, report)
    _apply_only_when(plan, columns, base, report)
    plan.exprs.update(plan.extra_exprs)
    _apply_close_policy(plan)
    _apply_keep_rows(plan, report)
    for out, header in plan.spec.extra:
        i = _find_header(plan.headers, header)
        if i is None:
            report("missing_header", f"{plan.spec.file} has no column {header!r} (extra)", out)
            continue
        plan.exprs[out] = f"NULLIF(trim(c{i}), '')"
