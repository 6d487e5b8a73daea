"""Weeks, months, quarters and fiscal quarters: the single home of period logic.

Conventions (see ``docs/metrics.md`` and the data contract):

- ``week``: ISO week, Monday to Sunday, labelled by its Monday (``2026-07-13``).
- ``month``: calendar month, labelled ``2026-07``.
- ``quarter``: calendar quarter labelled ``2026Q3`` when ``fiscal_year_start_month == 1``; otherwise a fiscal
  quarter of a fiscal year starting on the first day of ``fiscal_year_start_month``, labelled by the fiscal
  year in which it **ends**: with start month 2, February-April 2026 is ``FY2027Q1``.

Every function exists in Python (``period_start``, ``period_end``, ``period_label``, ...) and, where the
metrics layer needs it inside DuckDB, as a SQL expression builder (``sql_period_start``, ``sql_period_end``,
``sql_period_label``). The tests check that both agree day by day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import pandas as pd

__all__ = [
    "GRAINS",
    "Grain",
    "Quarter",
    "add_months",
    "check_fiscal_year_start_month",
    "check_grain",
    "fiscal_quarter",
    "next_quarter",
    "parse_quarter",
    "next_period_start",
    "period_end",
    "period_label",
    "period_range",
    "period_start",
    "periods_per_month",
    "previous_quarter",
    "quarter_bounds",
    "quarter_label",
    "sql_in_last_days_of_quarter",
    "sql_period_end",
    "sql_period_label",
    "sql_period_start",
    "sql_quarter_index",
    "quarter_index",
    "to_date",
]

Grain = Literal["week", "month", "quarter"]
GRAINS: tuple[str, ...] = ("week", "month", "quarter")

_MONTHS_PER_GRAIN = {"month": 1, "quarter": 3}
#: periods of each grain in a month, on a year of 52 weeks, 12 months and 4 quarters
_PER_MONTH = {"week": 52.0 / 12.0, "month": 1.0, "quarter": 1.0 / 3.0}
_QUARTER_RE = re.compile(r"^\s*(FY)?\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------------
def check_grain(grain: str) -> str:
    """Return ``grain`` if it is one of ``"week"``, ``"month"``, ``"quarter"``; raise ``ValueError``."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}; got {grain!r}")
    return grain


def check_fiscal_year_start_month(fiscal_year_start_month: int) -> int:
    """Return the fiscal year start month (1-12) as ``int``; raise ``ValueError`` otherwise."""
    m = fiscal_year_start_month
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or not 1 <= int(m) <= 12:
        raise ValueError(f"fiscal_year_start_month must be an integer from 1 to 12; got {m!r}")
    return int(m)


def to_date(value: object) -> dt.date:
    """Convert a date, datetime, ``pandas.Timestamp`` or ISO string to ``datetime.date``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        try:
            return pd.Timestamp(value).date()
        except (ValueError, TypeError) as err:
            raise ValueError(f"not a date: {value!r} (expected ISO 8601, e.g. 2026-07-14)") from err
    raise TypeError(f"not a date: {value!r} of type {type(value).__name__}")


# --------------------------------------------------------------------------------------------------
# scalar helpers (month arithmetic on an absolute month index year * 12 + month - 1)
# --------------------------------------------------------------------------------------------------
def _add_months(d: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after the month of ``d``."""
    idx = d.year * 12 + d.month - 1 + months
    return dt.date(idx // 12, idx % 12 + 1, 1)


def add_months(d: object, months: int) -> dt.date:
    """Return the first day of the month ``months`` (may be negative) after the month of ``d``."""
    return _add_months(to_date(d), months)


def next_period_start(start: object, grain: str) -> dt.date:
    """Return the first day of the period after the one of ``grain`` that begins on ``start``.

    ``start`` must be a period's first day (a Monday, a month's or a quarter's first day); the
    result does not depend on the fiscal year (a quarter is three months from its first day).
    """
    return _next_start_scalar(to_date(start), check_grain(grain))


def periods_per_month(grain: str) -> float:
    """Return how many periods of ``grain`` a month holds (a year of 52 weeks: 52 / 12 weeks)."""
    return _PER_MONTH[check_grain(grain)]


def _start_scalar(d: dt.date, grain: str, m: int) -> dt.date:
    if grain == "week":
        return d - dt.timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    return _add_months(d.replace(day=1), -((d.month - m) % 3))


def _end_scalar(start: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=6)
    return _add_months(start, _MONTHS_PER_GRAIN[grain]) - dt.timedelta(days=1)


def _next_start_scalar(start: dt.date, grain: str) -> dt.date:
    return _end_scalar(start, grain) + dt.timedelta(days=1)


def fiscal_quarter(date: object, fiscal_year_start_month: int = 1) -> tuple[int, int]:
    """Return ``(fiscal_year, quarter)`` of a date.

    The fiscal year is the calendar year in which it ends: with start month 2, 2026-02-01 falls in
    fiscal year 2027, quarter 1. With start month 1 this is the calendar year and quarter.
    """
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    d = to_date(date)
    fiscal_year = d.year if (m == 1 or d.month < m) else d.year + 1
    return fiscal_year, (d.month - m) % 12 // 3 + 1


def _label_scalar(start: dt.date, grain: str, m: int) -> str:
    if grain == "week":
        return start.isoformat()
    if grain == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return Quarter(*fiscal_quarter(start, m), fiscal_year_start_month=m).label


# --------------------------------------------------------------------------------------------------
# quarters
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar (``fiscal_year_start_month=1``) or fiscal quarter.

    Attributes
    ----------
    fiscal_year : int
        Calendar year in which the (fiscal) year ends.
    quarter : int
        1 to 4.
    fiscal_year_start_month : int
        1 for calendar quarters.
    """

    fiscal_year: int
    quarter: int
    fiscal_year_start_month: int = 1

    def __post_init__(self) -> None:
        check_fiscal_year_start_month(self.fiscal_year_start_month)
        if self.quarter not in (1, 2, 3, 4):
            raise ValueError(f"quarter must be 1-4; got {self.quarter!r}")

    @property
    def start(self) -> dt.date:
        """First day of the quarter."""
        m = self.fiscal_year_start_month
        first_year = self.fiscal_year if m == 1 else self.fiscal_year - 1
        return _add_months(dt.date(first_year, m, 1), 3 * (self.quarter - 1))

    @property
    def end(self) -> dt.date:
        """Last day of the quarter (inclusive)."""
        return _end_scalar(self.start, "quarter")

    @property
    def label(self) -> str:
        """``2026Q3`` for calendar quarters, ``FY2027Q1`` for fiscal quarters."""
        prefix = "" if self.fiscal_year_start_month == 1 else "FY"
        return f"{prefix}{self.fiscal_year:04d}Q{self.quarter}"

    def shift(self, n: int) -> Quarter:
        """Return the quarter ``n`` quarters later (earlier when ``n < 0``)."""
        idx = self.fiscal_year * 4 + self.quarter - 1 + n
        return Quarter(idx // 4, idx % 4 + 1, self.fiscal_year_start_month)

    def __str__(self) -> str:
        return self.label


def parse_quarter(label: str, fiscal_year_start_month: int = 1) -> Quarter:
    """Parse a quarter label.

    ``YYYYQn`` is a calendar quarter and is accepted only with ``fiscal_year_start_month=1``;
    ``FYYYYYQn`` is a fiscal quarter of the fiscal year ending in ``YYYY`` (with start month 1 it is the
    same as the calendar quarter). Case and a ``-`` before ``Q`` are tolerated.
    """
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    if not isinstance(label, str):
        raise TypeError(f"quarter label must be a string like '2026Q2'; got {label!r}")
    match = _QUARTER_RE.match(label)
    if match is None:
        raise ValueError(
            f"not a quarter label: {label!r} (expected 'YYYYQn' such as '2026Q2', or 'FYYYYYQn' "
            "such as 'FY2027Q1' for fiscal quarters)"
        )
    is_fiscal, year, q = match.group(1) is not None, int(match.group(2)), int(match.group(3))
    if not is_fiscal and m != 1:
        example = Quarter(year, q).start
        hint = Quarter(*fiscal_quarter(example, m), fiscal_year_start_month=m).label
        raise ValueError(
            f"{label!r} is a calendar-quarter label but fiscal_year_start_month={m}; fiscal quarters "
            f"are labelled by the fiscal year in which they end (e.g. {example} falls in {hint!r})"
        )
    return Quarter(year, q, m)


def quarter_bounds(label: str, fiscal_year_start_month: int = 1) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of a quarter given by its label.

    Examples
    --------
    >>> quarter_bounds("2026Q2")
    (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30))
    >>> quarter_bounds("FY2027Q1", fiscal_year_start_month=2)
    (datetime.date(2026, 2, 1), datetime.date(2026, 4, 30))
    """
    q = parse_quarter(label, fiscal_year_start_month)
    return q.start, q.end


def quarter_label(date: object, fiscal_year_start_month: int = 1) -> str:
    """Label of the (fiscal) quarter containing ``date``."""
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    return Quarter(*fiscal_quarter(date, m), fiscal_year_start_month=m).label


def previous_quarter(label: str, fiscal_year_start_month: int = 1) -> str:
    """Label of the quarter before ``label`` (``2026Q1`` -> ``2025Q4``)."""
    return parse_quarter(label, fiscal_year_start_month).shift(-1).label


def next_quarter(label: str, fiscal_year_start_month: int = 1) -> str:
    """Label of the quarter after ``label`` (``2025Q4`` -> ``2026Q1``)."""
    return parse_quarter(label, fiscal_year_start_month).shift(1).label


# --------------------------------------------------------------------------------------------------
# periods, vectorised
# --------------------------------------------------------------------------------------------------
def _as_datetimes(dates: object) -> pd.Series:
    """Dates (array-like or Series) -> Series of datetime64 normalised to midnight."""
    series = dates if isinstance(dates, pd.Series) else pd.Series(np.asarray(dates, dtype=object))
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        is_text = series.map(lambda v: isinstance(v, str)).any()
        series = pd.to_datetime(series, format="ISO8601" if is_text else None)
    return series.dt.normalize()


def _start_vector(d: pd.Series, grain: str, m: int) -> pd.Series:
    if grain == "week":
        return d - pd.to_timedelta(d.dt.day_of_week, unit="D")
    month_idx = d.dt.year * 12 + d.dt.month - 1
    if grain == "quarter":
        month_idx = month_idx - (d.dt.month - m) % 3
    first = pd.to_datetime(
        pd.DataFrame({"year": month_idx // 12, "month": month_idx % 12 + 1, "day": 1}),
        errors="coerce",
    )
    first.index = d.index
    return first.astype(d.dtype)


def _is_scalar(dates: object) -> bool:
    return isinstance(dates, str | dt.date | np.datetime64) or pd.api.types.is_scalar(dates)


@overload
def period_start(dates: str | dt.date, grain: str, fiscal_year_start_month: int = 1) -> dt.date: ...
@overload
def period_start(
    dates: pd.Series | Iterable, grain: str, fiscal_year_start_month: int = 1
) -> pd.Series: ...
def period_start(dates, grain, fiscal_year_start_month=1):
    """First day of the period containing each date.

    Parameters
    ----------
    dates : date-like scalar, or array-like / Series of dates
        Timestamps are reduced to their date.
    grain : {"week", "month", "quarter"}
    fiscal_year_start_month : int, default 1
        Only affects ``grain="quarter"``.

    Returns
    -------
    datetime.date for a scalar; otherwise a Series of datetime64 (same index when a Series was
    given; missing dates stay missing).
    """
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    if _is_scalar(dates):
        return _start_scalar(to_date(dates), grain, m)
    return _start_vector(_as_datetimes(dates), grain, m)


@overload
def period_end(dates: str | dt.date, grain: str, fiscal_year_start_month: int = 1) -> dt.date: ...
@overload
def period_end(
    dates: pd.Series | Iterable, grain: str, fiscal_year_start_month: int = 1
) -> pd.Series: ...
def period_end(dates, grain, fiscal_year_start_month=1):
    """Last day (inclusive) of the period containing each date; same shapes as ``period_start``."""
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    if _is_scalar(dates):
        return _end_scalar(_start_scalar(to_date(dates), grain, m), grain)
    start = _start_vector(_as_datetimes(dates), grain, m)
    if grain == "week":
        return start + pd.Timedelta(days=6)
    return start + pd.DateOffset(months=_MONTHS_PER_GRAIN[grain]) - pd.Timedelta(days=1)


@overload
def period_label(dates: str | dt.date, grain: str, fiscal_year_start_month: int = 1) -> str: ...
@overload
def period_label(
    dates: pd.Series | Iterable, grain: str, fiscal_year_start_month: int = 1
) -> pd.Series: ...
def period_label(dates, grain, fiscal_year_start_month=1):
    """Label of the period containing each date.

    ``2026-07-13`` (week, its Monday), ``2026-07`` (month), ``2026Q3`` (calendar quarter) or
    ``FY2027Q1`` (fiscal quarter, labelled by the fiscal year in which it ends).
    Scalar in, ``str`` out; array-like in, Series of ``str`` out (missing dates give missing labels).
    """
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    if _is_scalar(dates):
        return _label_scalar(_start_scalar(to_date(dates), grain, m), grain, m)
    start = _start_vector(_as_datetimes(dates), grain, m)
    labels = {s: _label_scalar(s.date(), grain, m) for s in start.dropna().unique()}
    return start.map(labels).astype(object)


def period_range(
    start: object, end: object, grain: str, fiscal_year_start_month: int = 1
) -> pd.DataFrame:
    """Every period overlapping ``[start, end]``.

    Returns
    -------
    DataFrame with columns ``period_start``, ``period_end`` (``datetime.date``), ``period`` (label),
    one row per period in order. Empty when ``start > end``.
    """
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    first, last = to_date(start), to_date(end)
    rows = []
    s = _start_scalar(first, grain, m)
    while s <= last:
        rows.append((s, _end_scalar(s, grain), _label_scalar(s, grain, m)))
        s = _next_start_scalar(s, grain)
    return pd.DataFrame(rows, columns=["period_start", "period_end", "period"])


# --------------------------------------------------------------------------------------------------
# SQL (DuckDB) expression builders
# --------------------------------------------------------------------------------------------------
def sql_period_start(expr: str, grain: str, fiscal_year_start_month: int = 1) -> str:
    """DuckDB expression (type DATE) for the first day of the period containing DATE ``expr``.

    ``expr`` is inserted verbatim: pass a column name or trusted expression, never user input.
    """
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    d = f"CAST({expr} AS DATE)"
    # integer arithmetic only (DATE - INTEGER, make_date): cheap on hundreds of millions of rows
    if grain == "week":  # ISO day of week: Monday = 1 .. Sunday = 7
        return f"({d} - CAST(isodow({d}) - 1 AS INTEGER))"
    if grain == "month":
        return f"({d} - CAST(dayofmonth({d}) - 1 AS INTEGER))"
    idx = sql_quarter_index(expr, m)
    return f"make_date({idx} // 12, {idx} % 12 + 1, 1)"


def sql_quarter_index(expr: str, fiscal_year_start_month: int = 1) -> str:
    """DuckDB expression (BIGINT) numbering the (fiscal) quarter of DATE ``expr``.

    The value is the absolute month index ``year * 12 + month - 1`` of the quarter's first month,
    so it sorts and compares like the quarter itself and is cheaper to group by than a date.
    """
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    d = f"CAST({expr} AS DATE)"
    return f"(year({d}) * 12 + month({d}) - 1 - (month({d}) + {12 - m}) % 3)"


def sql_in_last_days_of_quarter(expr: str, days: int, fiscal_year_start_month: int = 1) -> str:
    """DuckDB expression (BOOLEAN): DATE ``expr`` falls in the last ``days`` days of its quarter.

    ``d > quarter_end - days`` is ``d + days`` falling in the next (fiscal) quarter, that is in
    another month that starts a quarter: for ``days`` of at most 28 the step never skips a whole
    month. Integer date arithmetic only, like :func:`sql_period_start`, so it streams over any
    number of rows. ``expr`` is inserted verbatim: pass a column name or trusted expression.

    Parameters
    ----------
    expr : str
        A DATE (or castable) SQL expression.
    days : int
        Length of the window at the quarter's end, in days (1 to 28).
    fiscal_year_start_month : int
        First month of the fiscal year (1 = calendar quarters).

    Returns
    -------
    str
    """
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 28:
        raise ValueError(f"days must be a whole number of days from 1 to 28, got {days!r}")
    d = f"CAST({expr} AS DATE)"
    later = f"({d} + {days})"
    return f"(month({later}) <> month({d}) AND (month({later}) + {12 - m}) % 3 = 0)"


def quarter_index(date: object, fiscal_year_start_month: int = 1) -> int:
    """Python twin of :func:`sql_quarter_index`: month index of the quarter's first month."""
    start = period_start(to_date(date), "quarter", fiscal_year_start_month)
    return start.year * 12 + start.month - 1


def _sql_end_from_start(start_sql: str, grain: str) -> str:
    if grain == "week":
        return f"({start_sql} + 6)"
    months = _MONTHS_PER_GRAIN[grain]
    return f"(CAST({start_sql} + INTERVAL {months} MONTH AS DATE) - 1)"


def sql_period_end(expr: str, grain: str, fiscal_year_start_month: int = 1) -> str:
    """DuckDB expression (type DATE) for the last day of the period containing DATE ``expr``."""
    grain = check_grain(grain)
    return _sql_end_from_start(sql_period_start(expr, grain, fiscal_year_start_month), grain)


def sql_period_label(expr: str, grain: str, fiscal_year_start_month: int = 1) -> str:
    """DuckDB expression (type VARCHAR) for the label of the period containing DATE ``expr``."""
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    start = sql_period_start(expr, grain, m)
    if grain == "week":
        return f"strftime({start}, '%Y-%m-%d')"
    if grain == "month":
        return f"strftime({start}, '%Y-%m')"
    d = f"CAST({expr} AS DATE)"
    quarter = f"CAST(((month({d}) + {12 - m}) % 12) // 3 + 1 AS VARCHAR)"
    if m == 1:
        return f"(CAST(year({d}) AS VARCHAR) || 'Q' || {quarter})"
    fiscal_year = f"(year({d}) + CASE WHEN month({d}) >= {m} THEN 1 ELSE 0 END)"
    return f"('FY' || CAST({fiscal_year} AS VARCHAR) || 'Q' || {quarter})"
