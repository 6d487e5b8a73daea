"""DuckDB -> Spark SQL: each rewrite checked against DuckDB itself (the reference) on Spark."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

pytest.importorskip("sqlglot", reason='sqlglot is not installed (pip install -e ".[spark]")')

from salesinsight.engines.transpile import TranspileError, to_spark


def test_duckdb_only_constructs_are_rewritten():
    sql = to_spark(
        "WITH a AS MATERIALIZED (SELECT sum(close_date - created_date) AS c, "
        "isodow(d) AS w, min(_row, 5) FILTER (WHERE x) AS r FROM opportunities) SELECT * FROM a",
        {"opportunities": "v_opp", "a": "must_not_rename_a_cte"},
    )
    low = sql.lower()
    assert "materialized" not in low
    assert "datediff(close_date, created_date)" in low
    assert "weekday(d) + 1" in low
    assert "slice(array_sort(collect_list(_row) filter(where x)), 1, 5)" in low
    assert "from v_opp" in low and "must_not_rename" not in low


def test_date_minus_integer_stays_date_arithmetic():
    sql = to_spark("SELECT CAST(d AS DATE) - CAST(isodow(d) - 1 AS INTEGER) FROM t").lower()
    assert "datediff" not in sql


def test_unparseable_query_is_a_clear_error():
    with pytest.raises(TranspileError, match="cannot parse"):
        to_spark("SELECT FROM WHERE (")


def test_regexp_with_a_column_pattern_is_refused():
    with pytest.raises(TranspileError, match="literal pattern"):
        to_spark("SELECT regexp_full_match(a, b) FROM t")


# -- semantics: the same expression on DuckDB (reference) and on Spark (transpiled) ----------------
_DAYS = [dt.date(2024, 12, 23) + dt.timedelta(days=i) for i in range(21)]  # spans a year end


def _both(spark, select: str, rows: list[tuple], columns: str) -> tuple[list, list]:
    values = ", ".join(
        "(" + ", ".join(f"DATE '{v}'" if isinstance(v, dt.date) else repr(v) for v in r) + ")"
        for r in rows
    )
    sql = f"SELECT {select} FROM (VALUES {values}) AS t({columns}) ORDER BY 1"
    ref = [tuple(r) for r in duckdb.sql(sql).fetchall()]
    got = [tuple(r) for r in spark.sql(to_spark(sql)).collect()]
    return ref, got


@pytest.mark.spark
def test_day_of_week_and_week_start_agree_with_duckdb(spark):
    rows = [(d,) for d in _DAYS]
    ref, got = _both(
        spark,
        "d, isodow(d), dayofweek(d), d - CAST(isodow(d) - 1 AS INTEGER), dayofmonth(d)",
        rows,
        "d",
    )
    assert got == ref
    assert ref[0][1] == 1 and ref[0][3] == dt.date(2024, 12, 23)  # 2024-12-23 was a Monday


@pytest.mark.spark
def test_date_difference_is_days_like_duckdb(spark):
    # the rewrite knows date columns by name (the contract's and the panel's period bounds)
    rows = [(dt.date(2025, 1, 1), dt.date(2025, 3, 1)), (dt.date(2024, 2, 28), dt.date(2024, 3, 1))]
    select = (
        "created_date, close_date - created_date, "
        "least(close_date, period_end) - greatest(created_date, period_start) + 1"
    )
    rows = [(a, b, a, b) for a, b in rows]
    ref, got = _both(spark, select, rows, "created_date, close_date, period_start, period_end")
    assert got == ref
    assert [r[1] for r in ref] == [2, 59]  # 2024 is a leap year; ordered by created_date


@pytest.mark.spark
def test_first_k_aggregates_agree_with_duckdb(spark):
    rows = [(i, f"v{i}", i % 3 == 0) for i in (9, 3, 12, 1, 6, 15, 18, 21)]
    sql = (
        "SELECT count_if(bad) AS n, min(r, 3) FILTER (WHERE bad) AS rows, "
        "arg_min(v, r, 3) FILTER (WHERE bad) AS vals FROM (VALUES "
        + ", ".join(f"({r}, '{v}', {str(b).lower()})" for r, v, b in rows)
        + ") AS t(r, v, bad)"
    )
    ref = duckdb.sql(sql).fetchall()[0]
    got = tuple(spark.sql(to_spark(sql)).collect()[0])
    assert got == ref == (7, [3, 6, 9], ["v3", "v6", "v9"])


@pytest.mark.spark
def test_isfinite_and_full_regex_match_agree_with_duckdb(spark):
    sql = (
        "SELECT s, isfinite(TRY_CAST(s AS DOUBLE)), regexp_full_match(s, '\\d{4}Q[1-4]') "
        "FROM (VALUES ('1.5'), ('nan'), ('inf'), ('-Infinity'), ('2026Q3'), ('x2026Q3')) AS t(s) "
        "ORDER BY s"
    )
    ref = [tuple(r) for r in duckdb.sql(sql).fetchall()]
    got = [tuple(r) for r in spark.sql(to_spark(sql)).collect()]
    assert got == ref
    assert dict((r[0], r[2]) for r in ref) == {
        "-Infinity": False,
        "1.5": False,
        "2026Q3": True,
        "inf": False,
        "nan": False,
        "x2026Q3": False,
    }


@pytest.mark.spark
def test_bound_parameters_positional_and_named(spark):
    from salesinsight.engines.spark import SparkConnection

    con = SparkConnection(spark, {})
    sql = (
        "SELECT count(*) FROM (VALUES (DATE '2025-01-01', 'a'), (DATE '2025-02-01', 'b'), "
        "(DATE '2025-03-01', 'a')) AS t(d, k) WHERE d BETWEEN ? AND ?"
    )
    args = [dt.date(2025, 1, 15), dt.date(2025, 3, 1)]
    assert con.execute(sql, args).fetchall() == duckdb.execute(sql, args).fetchall() == [(2,)]
    named = "SELECT count(*) FROM (VALUES ('a'), ('b'), ('a')) AS t(k) WHERE k = $key"
    assert con.execute(named, {"key": "a"}).fetchall() == [(2,)]
