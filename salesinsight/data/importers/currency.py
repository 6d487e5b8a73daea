"""Amounts in several currencies, converted to one reporting currency.

Each amount's currency (a code per row or one per file), the FX rates (in the mapping or a rates
file) that convert them to one reporting currency, and the check that a folder never sums
different currencies as one.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb

from salesinsight.data.encoding import guess_encoding
from salesinsight.data.importers.excel import EXCEL_SUFFIXES, ExcelError, sheet_to_csv
from salesinsight.data.importers.plan import _Currency, _Plan
from salesinsight.data.importers.problems import import_problem
from salesinsight.data.importers.spec import FxSpec
from salesinsight.data.importers.sql import _lit
from salesinsight.data.problems import ERROR, INFO, Problem

#: Rows listed per currency in a problem.
_MAX_ROWS = 5


class FxRates(dict):
    """Static rates (code -> reporting-currency units per unit) plus the codes with dated rates.

    The dated rates are in the temp table ``_fx_dated(code, start, rate)``; ``code in rates``
    covers both.
    """

    def __init__(self, static: dict[str, float], dated_codes: frozenset[str] = frozenset()) -> None:
        super().__init__(static)
        self.dated_codes = dated_codes

    def __contains__(self, code: object) -> bool:
        return dict.__contains__(self, code) or code in self.dated_codes


def dated_rate_sql(code: str, date: str) -> str:
    """Return SQL for the dated rate of ``code`` in force on ``date`` (latest start on or before it)."""
    return (
        f"(SELECT arg_max(r.rate, r.start) FROM _fx_dated AS r "
        f"WHERE r.code = {code} AND r.start <= {date})"
    )


def _problem(severity: str, message: str, **kw: object) -> Problem:
    return import_problem(severity, "currency", message, **kw)  # type: ignore[arg-type]


def load_rates(
    source: Path,
    fx: FxSpec,
    problems: list[Problem],
    tmpdir: Path,
    con: duckdb.DuckDBPyConnection | None = None,
) -> FxRates | None:
    """Rates as reporting-currency units per 1 unit of each code (the reporting currency is 1).

    The mapping's ``rates`` win over the file's. Problems (missing file or headers, bad rates) are
    appended; the rates that could be read are returned. ``None`` when the rates file is optional,
    absent, and the mapping gives no rates (amounts are then taken as they are). Dated rates
    (``fx.start``) go to the temp table ``_fx_dated`` on ``con``.
    """
    given: dict[str, float] = {}
    dated: list[tuple[str, dt.date, float]] = []
    if fx.file is not None and fx.optional and not fx.rates:
        path = Path(fx.file) if Path(fx.file).is_absolute() else source / fx.file
        if not path.is_file():
            problems.append(
                _problem(INFO, f"fx: optional rates file {fx.file} not found; no conversion")
            )
            return None
    if fx.file is not None:
        static, dated = _read_rates_file(source, fx, problems, tmpdir)
        given.update(static)
    given.update(dict(fx.rates))

    def per_unit(r: float) -> float:
        return 1.0 / r if fx.quote == "per_reporting" else r

    rates = {code: per_unit(r) for code, r in given.items()}
    if fx.to in rates and not math.isclose(rates[fx.to], 1.0):
        problems.append(
            _problem(
                ERROR,
                f"fx: the rate of the reporting currency {fx.to} is {given[fx.to]}, not 1; "
                "set fx.to to the currency whose rate is 1 (the corporate currency)",
            )
        )
    rates[fx.to] = 1.0
    dated = [(c, d, per_unit(r)) for c, d, r in dated if c not in rates]
    if dated and con is not None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fx_dated (code VARCHAR, start DATE, rate DOUBLE)"
        )
        con.executemany("INSERT INTO _fx_dated VALUES (?, ?, ?)", dated)
    return FxRates(rates, frozenset(c for c, _, _ in dated))


def _read_rates_file(
    source: Path, fx: FxSpec, problems: list[Problem], tmpdir: Path
) -> tuple[dict[str, float], list[tuple[str, dt.date, float]]]:
    """Read the rates file: (static rates, dated rates), as quoted in it."""
    import csv

    if fx.file is None:  # no rates file in the mapping: nothing to read
        return {}, []
    path = Path(fx.file) if Path(fx.file).is_absolute() else source / fx.file
    if not path.is_file():
        problems.append(_problem(ERROR, f"fx: rates file {path} does not exist", file=fx.file))
        return {}, []
    if path.suffix.lower() in EXCEL_SUFFIXES:
        try:
            path = sheet_to_csv(path, tmpdir / "fx-rates.csv", None, header_row=None)
        except ExcelError as exc:
            problems.append(_problem(ERROR, f"fx: {exc}", file=fx.file))
            return {}, []
    encoding = guess_encoding(path).encoding or "utf-8"
    with path.open(encoding="utf-8-sig" if encoding.startswith("utf-8") else encoding) as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        headers = [h for h in (reader.fieldnames or []) if h is not None]
    wanted = (fx.code, fx.rate) + ((fx.start,) if fx.start else ())
    missing = [h for h in wanted if h not in headers]
    if missing:
        problems.append(
            _problem(
                ERROR,
                f"fx: rates file has no column {', '.join(map(repr, missing))} (headers: "
                f"{', '.join(headers)}); set fx.code / fx.rate / fx.start to its headers",
                file=fx.file,
            )
        )
        return {}, []
    out: dict[str, float] = {}
    dated: dict[tuple[str, dt.date], float] = {}
    for i, row in enumerate(rows, start=1):
        code = (row[fx.code] or "").strip().upper()
        try:
            rate = float((row[fx.rate] or "").strip())
        except ValueError:
            rate = float("nan")
        start = None
        if fx.start:
            try:
                start = dt.date.fromisoformat((row[fx.start] or "").strip()[:10])
            except ValueError:
                start = None
        if not code or not (rate > 0 and math.isfinite(rate)) or (fx.start and start is None):
            what = f" and start {row[fx.start]!r}" if fx.start else ""
            problems.append(
                _problem(
                    ERROR,
                    f"fx: row {i} has currency {code!r}, rate {row[fx.rate]!r}{what}; a rate is a "
                    "positive number" + (" and a start an ISO date" if fx.start else ""),
                    file=fx.file,
                    n_rows=1,
                    rows=(i,),
                )
            )
            continue
        if start is not None:
            if (code, start) in dated and not math.isclose(dated[code, start], rate):
                problems.append(
                    _problem(ERROR, f"fx: {code} has two rates starting {start}", file=fx.file)
                )
            dated[code, start] = rate
            continue
        if code in out and not math.isclose(out[code], rate):
            problems.append(
                _problem(
                    ERROR, f"fx: currency {code} has two rates ({out[code]}, {rate})", file=fx.file
                )
            )
        out[code] = rate
    return out, [(c, d, r) for (c, d), r in sorted(dated.items())]


def rate_sql(code: str, rates: dict[str, float]) -> str:
    """Return SQL for the rate of the row's currency ``code`` (NULL when unknown)."""
    whens = " ".join(f"WHEN {_lit(k)} THEN {float(v)!r}" for k, v in sorted(rates.items()))
    return f"(CASE {code} {whens} END)"


def check_currencies(
    con: duckdb.DuckDBPyConnection,
    plans: dict[str, list[_Plan]],
    fx: FxSpec | None,
    rates: FxRates | None,
    problems: list[Problem],
) -> None:
    """Every currency of every amount: unknown to the rates, empty, or mixed without rates."""
    seen: list[tuple[_Plan, _Currency, list[tuple[str | None, int, tuple[int, ...]]]]] = []
    for table_plans in plans.values():
        for plan in table_plans:
            for cur in plan.currencies:
                if cur.converted:  # converted by its row's own rate
                    continue
                rows = con.execute(
                    f"SELECT code, count(*) AS n, list(_row ORDER BY _row)[1:{_MAX_ROWS}] FROM "
                    f"(SELECT _row, {cur.code} AS code, {cur.amount} AS a FROM ({plan.numbered})) "
                    "WHERE a IS NOT NULL GROUP BY code ORDER BY n DESC, code"
                ).fetchall()
                seen.append((plan, cur, [(c, int(n), tuple(r)) for c, n, r in rows]))
    where: dict[str, str | None] = {}
    for plan, cur, counts in seen:
        where = {"table": plan.spec.table, "column": cur.column, "file": plan.spec.file}
        where["source_column"] = cur.label
        empty = [x for x in counts if x[0] is None]
        if empty:
            _, n, first = empty[0]
            problems.append(
                _problem(
                    ERROR,
                    "amount(s) with an empty currency code",
                    n_rows=n,
                    rows=first,
                    **where,
                )
            )
        if rates is not None:
            unknown = [x for x in counts if x[0] is not None and x[0] not in rates]
            if unknown:
                problems.append(
                    _problem(
                        ERROR,
                        f"no FX rate to {fx.to if fx else '?'} for "  # fx is set when rates are
                        f"{', '.join(str(c) for c, _, _ in unknown)}; add them under `fx: rates:` "
                        "or to the rates file",
                        n_rows=sum(n for _, n, _ in unknown),
                        values=tuple(unknown),
                        n_values=len(unknown),
                        **where,
                    )
                )
    if rates is not None or not seen:
        if rates is not None and fx is not None:
            used = sorted({c for _, _, cs in seen for c, _, _ in cs if c is not None})
            if used:
                problems.append(
                    _problem(INFO, f"amounts converted to {fx.to} from {', '.join(used)}")
                )
        return
    codes = sorted({c for _, _, cs in seen for c, _, _ in cs if c is not None})
    if len(codes) <= 1:
        if codes:
            problems.append(_problem(INFO, f"all amounts are in {codes[0]} (one currency)"))
        return
    for plan, cur, counts in seen:
        listed = tuple(x for x in counts if x[0] is not None)
        problems.append(
            _problem(
                ERROR,
                f"the export mixes currencies ({', '.join(codes)}) and the mapping gives no FX "
                f"rates: summed as one currency the amounts would mean nothing. Add "
                f"`fx: {{to: {codes[0]}, rates: {{{', '.join(f'{c}: <rate>' for c in codes[1:])}}}}}` "
                "(reporting-currency units per 1 unit) or `fx: {to: ..., file: rates.csv}`",
                table=plan.spec.table,
                column=cur.column,
                file=plan.spec.file,
                source_column=cur.label,
                n_rows=sum(n for _, n, _ in listed),
                values=listed,
                n_values=len(listed),
            )
        )
