"""Tests for salesinsight.calendar: periods, labels, fiscal quarters, SQL/Python agreement."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from salesinsight import calendar as cal

D = dt.date


# ------------------------------------------------------------------ weeks
@pytest.mark.parametrize(
    ("day", "monday"),
    [
        # 2026-01-01 is a Thursday: its ISO week (2026-W01) starts Monday 2025-12-29
        (D(2026, 1, 1), D(2025, 12, 29)),
        (D(2025, 12, 29), D(2025, 12, 29)),
        (D(2026, 1, 4), D(2025, 12, 29)),  # Sunday closes the week
        (D(2026, 1, 5), D(2026, 1, 5)),
        # 2027-01-01 is a Friday: ISO week 2026-W53 starts Monday 2026-12-28
        (D(2027, 1, 1), D(2026, 12, 28)),
        (D(2027, 1, 3), D(2026, 12, 28)),
        (D(2027, 1, 4), D(2027, 1, 4)),
        (D(2024, 2, 29), D(2024, 2, 26)),  # leap day, Thursday
    ],
)
def test_week_start_iso_across_year_end(day: dt.date, monday: dt.date) -> None:
    assert cal.period_start(day, "week") == monday
    assert cal.period_end(day, "week") == monday + dt.timedelta(days=6)
    assert cal.period_label(day, "week") == monday.isoformat()


def test_week_start_matches_isocalendar_for_every_day() -> None:
    # independent reference: Python's ISO calendar (weekday 1 = Monday)
    day = D(2023, 12, 1)
    while day <= D(2028, 1, 31):
        expected = day - dt.timedelta(days=day.isocalendar().weekday - 1)
        assert cal.period_start(day, "week") == expected
        day += dt.timedelta(days=1)


# ------------------------------------------------------------------ months and quarters
def test_month_start_end_label() -> None:
    assert cal.period_start("2026-02-17", "month") == D(2026, 2, 1)
    assert cal.period_end("2024-02-10", "month") == D(2024, 2, 29)  # leap year
    assert cal.period_end("2026-02-10", "month") == D(2026, 2, 28)
    assert cal.period_end("2026-12-31", "month") == D(2026, 12, 31)
    assert cal.period_label("2026-07-14", "month") == "2026-07"


@pytest.mark.parametrize(
    ("day", "start", "end", "label"),
    [
        (D(2026, 1, 1), D(2026, 1, 1), D(2026, 3, 31), "2026Q1"),
        (D(2026, 5, 15), D(2026, 4, 1), D(2026, 6, 30), "2026Q2"),
        (D(2026, 9, 30), D(2026, 7, 1), D(2026, 9, 30), "2026Q3"),
        (D(2026, 12, 31), D(2026, 10, 1), D(2026, 12, 31), "2026Q4"),
    ],
)
def test_calendar_quarters(day, start, end, label) -> None:
    assert cal.period_start(day, "quarter") == start
    assert cal.period_end(day, "quarter") == end
    assert cal.period_label(day, "quarter") == label


@pytest.mark.parametrize(
    ("day", "m", "start", "end", "label"),
    [
        # start month 2: FY2027 runs 2026-02-01 .. 2027-01-31 and is named by the year it ends in
        (D(2026, 2, 1), 2, D(2026, 2, 1), D(2026, 4, 30), "FY2027Q1"),
        (D(2026, 4, 30), 2, D(2026, 2, 1), D(2026, 4, 30), "FY2027Q1"),
        (D(2026, 5, 1), 2, D(2026, 5, 1), D(2026, 7, 31), "FY2027Q2"),
        (D(2026, 12, 25), 2, D(2026, 11, 1), D(2027, 1, 31), "FY2027Q4"),
        (D(2027, 1, 31), 2, D(2026, 11, 1), D(2027, 1, 31), "FY2027Q4"),
        (D(2026, 1, 15), 2, D(2025, 11, 1), D(2026, 1, 31), "FY2026Q4"),
        # start month 4 (UK/Japan/India style): Apr 2026 - Mar 2027 is FY2027
        (D(2026, 4, 1), 4, D(2026, 4, 1), D(2026, 6, 30), "FY2027Q1"),
        (D(2026, 3, 31), 4, D(2026, 1, 1), D(2026, 3, 31), "FY2026Q4"),
        # start month 7 (US federal-style July year)
        (D(2026, 7, 1), 7, D(2026, 7, 1), D(2026, 9, 30), "FY2027Q1"),
        (D(2026, 6, 30), 7, D(2026, 4, 1), D(2026, 6, 30), "FY2026Q4"),
        # start month 10 (US federal): Oct 2025 - Sep 2026 is FY2026
        (D(2025, 10, 1), 10, D(2025, 10, 1), D(2025, 12, 31), "FY2026Q1"),
        (D(2026, 9, 30), 10, D(2026, 7, 1), D(2026, 9, 30), "FY2026Q4"),
        # start month 12: Dec 2025 - Nov 2026 ends in 2026, so it is FY2026
        (D(2025, 12, 1), 12, D(2025, 12, 1), D(2026, 2, 28), "FY2026Q1"),
        (D(2026, 11, 30), 12, D(2026, 9, 1), D(2026, 11, 30), "FY2026Q4"),
    ],
)
def test_fiscal_quarters(day, m, start, end, label) -> None:
    assert cal.period_start(day, "quarter", fiscal_year_start_month=m) == start
    assert cal.period_end(day, "quarter", fiscal_year_start_month=m) == end
    assert cal.period_label(day, "quarter", fiscal_year_start_month=m) == label
    assert cal.quarter_bounds(label, fiscal_year_start_month=m) == (start, end)


def test_fiscal_start_month_does_not_change_weeks_or_months() -> None:
    for m in range(1, 13):
        assert cal.period_start("2026-03-05", "week", fiscal_year_start_month=m) == D(2026, 3, 2)
        assert cal.period_label("2026-03-05", "month", fiscal_year_start_month=m) == "2026-03"


# ------------------------------------------------------------------ quarter labels
def test_quarter_bounds_examples() -> None:
    assert cal.quarter_bounds("2026Q2") == (D(2026, 4, 1), D(2026, 6, 30))
    assert cal.quarter_bounds("2024Q1") == (D(2024, 1, 1), D(2024, 3, 31))
    assert cal.quarter_bounds("FY2027Q1", fiscal_year_start_month=2) == (
        D(2026, 2, 1),
        D(2026, 4, 30),
    )
    # with start month 1 an FY label is the calendar quarter
    assert cal.quarter_bounds("FY2026Q3") == (D(2026, 7, 1), D(2026, 9, 30))
    assert cal.quarter_bounds(" 2026q2 ") == (D(2026, 4, 1), D(2026, 6, 30))


def test_previous_and_next_quarter() -> None:
    assert cal.previous_quarter("2026Q1") == "2025Q4"
    assert cal.previous_quarter("2026Q3") == "2026Q2"
    assert cal.next_quarter("2025Q4") == "2026Q1"
    assert cal.previous_quarter("FY2027Q1", fiscal_year_start_month=2) == "FY2026Q4"
    assert cal.next_quarter("FY2026Q4", fiscal_year_start_month=2) == "FY2027Q1"
    # the previous fiscal quarter ends the day before this one starts
    start, _ = cal.quarter_bounds("FY2027Q1", fiscal_year_start_month=2)
    _, prev_end = cal.quarter_bounds("FY2026Q4", fiscal_year_start_month=2)
    assert prev_end == start - dt.timedelta(days=1)


def test_parse_quarter_object() -> None:
    q = cal.parse_quarter("FY2027Q1", fiscal_year_start_month=2)
    assert (q.fiscal_year, q.quarter, q.fiscal_year_start_month) == (2027, 1, 2)
    assert q.shift(-5).label == "FY2025Q4"
    assert str(q.shift(4)) == "FY2028Q1"
    assert cal.quarter_label("2026-01-31", fiscal_year_start_month=2) == "FY2026Q4"
    assert cal.fiscal_quarter("2026-02-01", 2) == (2027, 1)


@pytest.mark.parametrize("bad", ["2026Q5", "2026-06", "Q2 2026", "FY26Q1", "", "2026Q0"])
def test_parse_quarter_rejects_bad_labels(bad: str) -> None:
    with pytest.raises(ValueError, match="quarter label"):
        cal.parse_quarter(bad)


def test_calendar_label_with_fiscal_month_is_ambiguous() -> None:
    with pytest.raises(ValueError, match="FY2027Q1"):
        cal.quarter_bounds("2026Q2", fiscal_year_start_month=2)


@pytest.mark.parametrize("m", [0, 13, 1.5, "2", True])
def test_bad_fiscal_month(m) -> None:
    with pytest.raises(ValueError, match="fiscal_year_start_month"):
        cal.period_start("2026-01-01", "quarter", fiscal_year_start_month=m)


def test_bad_grain() -> None:
    with pytest.raises(ValueError, match="grain must be one of"):
        cal.period_start("2026-01-01", "year")


# ------------------------------------------------------------------ vectorised forms
def test_vectorised_keeps_index_and_missing() -> None:
    s = pd.Series(
        pd.to_datetime(["2026-01-31 13:45", None, "2026-02-01"], format="ISO8601"),
        index=[10, 11, 12],
    )
    start = cal.period_start(s, "quarter", fiscal_year_start_month=2)
    assert list(start.index) == [10, 11, 12]
    assert start[10] == pd.Timestamp("2025-11-01")
    assert pd.isna(start[11])
    assert start[12] == pd.Timestamp("2026-02-01")
    labels = cal.period_label(s, "quarter", fiscal_year_start_month=2)
    assert labels[10] == "FY2026Q4"
    assert pd.isna(labels[11])
    assert labels[12] == "FY2027Q1"
    end = cal.period_end(["2024-02-03", "2026-12-31"], "month")
    assert list(end) == [pd.Timestamp("2024-02-29"), pd.Timestamp("2026-12-31")]


def test_period_range() -> None:
    pr = cal.period_range("2025-12-31", "2026-01-06", "week")
    assert list(pr["period"]) == ["2025-12-29", "2026-01-05"]
    assert list(pr["period_end"]) == [D(2026, 1, 4), D(2026, 1, 11)]
    pr = cal.period_range("2026-01-15", "2026-05-01", "quarter", fiscal_year_start_month=2)
    assert list(pr["period"]) == ["FY2026Q4", "FY2027Q1", "FY2027Q2"]
    assert cal.period_range("2026-02-01", "2026-01-01", "month").empty


# ------------------------------------------------------------------ SQL agrees with Python
@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
def test_sql_matches_python_every_day(grain: str) -> None:
    con = duckdb.connect()
    days = pd.date_range("2023-11-01", "2027-03-31", freq="D")
    for m in range(1, 13):
        if grain != "quarter" and m > 1:
            continue
        sql = (
            f"SELECT d, {cal.sql_period_start('d', grain, m)} AS s, "
            f"{cal.sql_period_end('d', grain, m)} AS e, {cal.sql_period_label('d', grain, m)} AS l "
            "FROM range(DATE '2023-11-01', DATE '2027-04-01', INTERVAL 1 DAY) t(d) ORDER BY d"
        )
        got = con.execute(sql).df()
        assert len(got) == len(days)
        expected_start = cal.period_start(pd.Series(days), grain, m)
        expected_end = cal.period_end(pd.Series(days), grain, m)
        expected_label = cal.period_label(pd.Series(days), grain, m)
        assert (pd.to_datetime(got["s"]).to_numpy() == expected_start.to_numpy()).all()
        assert (pd.to_datetime(got["e"]).to_numpy() == expected_end.to_numpy()).all()
        assert list(got["l"]) == list(expected_label)
    con.close()


def test_sql_quarter_index_matches_python() -> None:
    con = duckdb.connect()
    for m in (1, 2, 4, 11, 12):
        sql = (
            f"SELECT d, {cal.sql_quarter_index('d', m)} AS q FROM range(DATE '2024-10-01', "
            "DATE '2027-03-01', INTERVAL 1 DAY) t(d)"
        )
        for d, q in con.execute(sql).fetchall():
            start = cal.period_start(d, "quarter", fiscal_year_start_month=m)
            assert q == start.year * 12 + start.month - 1 == cal.quarter_index(d, m)
    con.close()


def test_month_arithmetic_and_the_period_after():
    # hand-computed: three months back from January crosses the year; quarters are 3 months
    assert cal.add_months(dt.date(2026, 1, 15), -3) == dt.date(2025, 10, 1)
    assert cal.add_months("2026-11-30", 2) == dt.date(2027, 1, 1)
    assert cal.next_period_start("2026-11-01", "quarter") == dt.date(2027, 2, 1)  # fiscal Nov-Jan
    assert cal.next_period_start("2026-07-13", "week") == dt.date(2026, 7, 20)
    assert cal.periods_per_month("week") == pytest.approx(52 / 12)
    assert cal.periods_per_month("quarter") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="grain"):
        cal.periods_per_month("day")


@pytest.mark.parametrize("days", [1, 7, 14, 28])
def test_sql_last_days_of_quarter_every_day(days: int) -> None:
    """DuckDB's flag equals the definition ``d > quarter end - days`` on every day, every fiscal year."""
    con = duckdb.connect()
    try:
        for m in range(1, 13):
            rows = con.execute(
                f"SELECT CAST(d AS DATE), {cal.sql_in_last_days_of_quarter('d', days, m)} "
                "FROM range(DATE '2023-12-01', DATE '2026-03-01', INTERVAL 1 DAY) t(d)"
            ).fetchall()
            for d, flag in rows:
                expected = (cal.period_end(d, "quarter", m) - d).days < days
                assert flag == expected, (m, d)
    finally:
        con.close()


@pytest.mark.parametrize("days", [0, 29, 14.0, True])
def test_sql_last_days_of_quarter_rejects_long_windows(days) -> None:
    with pytest.raises(ValueError, match="from 1 to 28"):
        cal.sql_in_last_days_of_quarter("d", days)
