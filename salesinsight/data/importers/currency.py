"""Amounts in several currencies: each amount's currency (a code per row or one per file), the FX
rates (in the mapping or a rates file) that convert them to one reporting currency, and the check
that a folder never sums different currencies as one.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from salesinsight.data.encoding import guess_encoding
from salesinsight.data.importers.excel import EXCEL_SUFFIXES, ExcelError, sheet_to_csv
from salesinsight.data.importers.plan import _Currency, _Plan
from salesinsight.data.importers.problems import ERROR, INFO, ImportProblem
from salesinsight.data.importers.spec import FxSpec
from salesinsight.data.importers.sql import _lit

#: Rows listed per currency in a problem.
_MAX_ROWS = 5


def _problem(severity: str, message: str, **kw: object) -> ImportProblem:
    return ImportProblem(severity, "currency", message, **kw)  # type: ignore[arg-type]


def load_rates(
    source: Path, fx: FxSpec, problems: list[ImportProblem], tmpdir: Path
) -> dict[str, float] | None:
    """Rates as reporting-currency units per 1 unit of each code (the reporting currency is 1).

    The mapping's ``rates`` win over the file's. Problems (missing file or headers, bad rates) are
    appended; the rates that could be read are returned. ``None`` when the rates file is optional,
    absent, and the mapping gives no rates (amounts are then taken as they are).
    """
    given: dict[str, float] = {}
    if fx.file is not None and fx.optional and not fx.rates:
        path = Path(fx.file) if Path(fx.file).is_absolute() else source / fx.file
        if not path.is_file():
            problems.append(
                _problem(INFO, f"fx: optional rates file {fx.file} not found; no conversion")
            )
            return None
    if fx.file is not None:
        given.update(_read_rates_file(source, fx, problems, tmpdir))
    given.update(dict(fx.rates))
    rates = {code: (1.0 / r if fx.quote == "per_reporting" else r) for code, r in given.items()}
    if fx.to in rates and not math.isclose(rates[fx.to], 1.0):
        problems.append(
            _problem(
                ERROR,
                f"fx: the rate of the reporting currency {fx.to} is {given[fx.to]}, not 1; "
                "set fx.to to the currency whose rate is 1 (the corporate currency)",
            )
        )
    rates[fx.to] = 1.0
    return rates


def _read_rates_file(
    source: Path, fx: FxSpec, problems: list[ImportProblem], tmpdir: Path
) -> dict[str, float]:
    import csv

    path = Path(fx.file) if Path(fx.file).is_absolute() else source / fx.file  # type: ignore[arg-type]
    if not path.is_file():
        problems.append(_problem(ERROR, f"fx: rates file {path} does not exist", file=fx.file))
        return {}
    if path.suffix.lower() in EXCEL_SUFFIXES:
        try:
            path = sheet_to_csv(path, tmpdir / "fx-rates.csv", None, header_row=None)
        except ExcelError as exc:
            problems.append(_problem(ERROR, f"fx: {exc}", file=fx.file))
            return {}
    encoding = guess_encoding(path).encoding or "utf-8"
    with path.open(encoding="utf-8-sig" if encoding.startswith("utf-8") else encoding) as fh:
        rows = list(csv.DictReader(fh))
    headers = list(rows[0]) if rows else []
    missing = [h for h in (fx.code, fx.rate) if h not in headers]
    if missing:
        problems.append(
            _problem(
                ERROR,
                f"fx: rates file has no column {', '.join(map(repr, missing))} (headers: "
                f"{', '.join(headers)}); set fx.code / fx.rate to its headers",
                file=fx.file,
            )
        )
        return {}
    out: dict[str, float] = {}
    for i, row in enumerate(rows, start=1):
        code = (row[fx.code] or "").strip().upper()
        try:
            rate = float((row[fx.rate] or "").strip())
        except ValueError:
            rate = float("nan")
        if not code or not (rate > 0 and math.isfinite(rate)):
            problems.append(
                _problem(
                    ERROR,
                    f"fx: row {i} has currency {code!r} and rate {row[fx.rate]!r}; a rate is a "
                    "positive number",
                    file=fx.file,
                    n_rows=1,
                    rows=(i,),
                )
            )
            continue
        if code in out and not math.isclose(out[code], rate):
            problems.append(
                _problem(
                    ERROR, f"fx: currency {code} has two rates ({out[code]}, {rate})", file=fx.file
                )
            )
        out[code] = rate
    return out


def rate_sql(code: str, rates: dict[str, float]) -> str:
    """SQL: the rate of the row's currency ``code`` (NULL when unknown)."""
    whens = " ".join(f"WHEN {_lit(k)} THEN {float(v)!r}" for k, v in sorted(rates.items()))
    return f"(CASE {code} {whens} END)"


def check_currencies(
    con: duckdb.DuckDBPyConnection,
    plans: dict[str, list[_Plan]],
    fx: FxSpec | None,
    rates: dict[str, float] | None,
    problems: list[ImportProblem],
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
    where = {}
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
