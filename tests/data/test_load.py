"""The loader: typed DuckDB views per table, encodings, Parquet, and the Dataset API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from salesinsight.data import DataError, Dataset, load, validate
from salesinsight.data.encoding import detect_encoding
from tests.data.conftest import drop_column, folder_hashes, set_cell, valid_tables


def test_dataset_api_and_contract_dtypes(make_folder):
    folder = make_folder()
    with load(folder) as ds:
        assert isinstance(ds, Dataset)
        assert ds.folder == folder
        assert isinstance(ds.con, duckdb.DuckDBPyConnection)
        assert ds.tables == frozenset(valid_tables())
        assert ds.has("csat") and not ds.has("nonsense")
        assert ds.report is not None and ds.report.ok
        views = set(
            ds.sql(
                "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal"
            )["view_name"]
        )
        assert views == set(ds.tables)
        types = dict(ds.sql("DESCRIBE opportunities")[["column_name", "column_type"]].values)
        assert types["opp_id"] == "VARCHAR"
        assert types["created_date"] == "DATE" and types["close_date"] == "DATE"
        assert types["amount"] == "DOUBLE" and types["discount"] == "DOUBLE"
        opps = ds.table("opportunities")
        assert list(opps["opp_id"]) == ["O1", "O2", "O3", "O4"]
        assert list(opps["amount"]) == [1000.0, 500.0, 800.0, 2500.5]
        assert pd.isna(opps["close_date"][2])  # empty cell -> missing
        # a timestamp where a date is expected: its date part is used
        o4 = ds.sql("SELECT created_date, close_date FROM opportunities WHERE opp_id = ?", ["O4"])
        assert o4.iloc[0].tolist() == [pd.Timestamp("2025-02-03"), pd.Timestamp("2025-04-01")]
        act = ds.sql("SELECT activity_date FROM activities WHERE activity_id = 'AC2'")
        assert act.iloc[0, 0] == pd.Timestamp("2025-01-12")
        with pytest.raises(KeyError):
            ds.table("nonsense")


def test_csat_scale_defaults_to_5(make_folder, tables):
    got = load(make_folder()).sql("SELECT response_id, scale FROM csat ORDER BY response_id")
    assert got["scale"].tolist() == [5.0, 10.0, 5.0]  # C3 has an empty scale cell
    drop_column(tables, "csat", "scale")
    set_cell(tables, "csat", 2, "score", "4")
    got = load(make_folder(tables, name="noscale")).sql("SELECT scale FROM csat")
    assert got["scale"].tolist() == [5.0, 5.0, 5.0]


def test_absent_optional_columns_exist_as_nulls_and_extras_are_kept(make_folder, tables):
    drop_column(tables, "reps", "termination_date")
    drop_column(tables, "opportunities", "discount")
    tables["reps"][0].append("crm_owner")
    for i, row in enumerate(tables["reps"][1:], start=1):
        row.append(f"x{i}")
    ds = load(make_folder(tables))
    reps = ds.table("reps")
    assert list(reps.columns[:8]) == list(valid_tables()["reps"][0])
    assert reps["termination_date"].isna().all()
    assert reps["crm_owner"].tolist() == ["x1", "x2", "x3", "x4"]
    types = dict(ds.sql("DESCRIBE opportunities")[["column_name", "column_type"]].values)
    assert types["discount"] == "DOUBLE"
    assert ds.sql("SELECT count(*) AS n FROM opportunities WHERE discount IS NULL")["n"][0] == 4


def test_leading_zero_ids_stay_strings(make_folder, tables):
    tables["reps"].append(["0007", "T2", "2024-02-01", "", "Eve", "south", "ae", "R003"])
    ds = load(make_folder(tables))
    reps = ds.table("reps")
    assert "007" in set(reps["rep_id"]) and "0007" in set(reps["rep_id"])
    owner = ds.sql("SELECT rep_id FROM opportunities WHERE opp_id = 'O3'")["rep_id"][0]
    assert owner == "007"
    # "007" must not match "7" (ids are compared exactly)
    set_cell(tables, "opportunities", 3, "rep_id", "7")
    report = validate(make_folder(tables, name="seven"))
    assert [p.rule for p in report.errors] == ["foreign_key"]


def test_load_raises_data_error_with_report(make_folder, tables):
    set_cell(tables, "opportunities", 2, "status", "WON")
    folder = make_folder(tables)
    with pytest.raises(DataError) as info:
        load(folder)
    err = info.value
    assert not err.report.ok
    assert str(err) == str(err.report)
    assert "opportunities.status" in str(err) and "'WON'" in str(err)
    ds = load(folder, validate=False)  # still usable when asked not to validate
    assert ds.report is None
    assert ds.sql("SELECT status FROM opportunities")["status"].tolist()[1] == "WON"


def test_load_missing_folder_raises(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "absent")


def test_gbk_csv_is_decoded(make_folder, tables):
    names = ["张伟", "李娜", "王芳", "刘洋"]
    for i, name in enumerate(names, start=1):
        set_cell(tables, "reps", i, "name", name)
    set_cell(tables, "programs", 1, "name", "顾问式销售培训")
    folder = make_folder(tables, encoding="gbk")
    raw = (folder / "reps.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert detect_encoding(folder / "reps.csv") == "gb18030"
    before = folder_hashes(folder)
    ds = load(folder)
    assert ds.table("reps")["name"].tolist() == names
    assert (
        ds.sql("SELECT name FROM programs WHERE program_id = 'P_TRAIN'")["name"][0]
        == "顾问式销售培训"
    )
    warnings = [p for p in ds.report.warnings if p.rule == "encoding"]
    assert {p.table for p in warnings} == {"reps", "programs"}  # ASCII-only files are UTF-8 too
    assert "not UTF-8" in str(warnings[0])
    ds.close()
    assert folder_hashes(folder) == before


def test_file_neither_utf8_nor_gbk_is_named(make_folder):
    folder = make_folder()
    # 0x81 then a newline: undefined in Windows-1252, invalid in GB18030 and Big5
    (folder / "reviews.csv").write_bytes(b"rep_id,period,score,rating\nR001,2025Q1,3,\x81\n")
    report = validate(folder)
    (p,) = report.errors
    assert (p.table, p.rule) == ("reviews", "encoding")
    assert "reviews.csv is not UTF-8" in str(p)


def test_utf8_bom_is_handled(make_folder, tables):
    set_cell(tables, "reps", 1, "name", "Zoë")
    folder = make_folder(tables, bom=True)
    assert (folder / "reps.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    report = validate(folder)
    assert report.ok and not report.problems, str(report)
    reps = load(folder).table("reps")
    assert reps.columns[0] == "rep_id"
    assert reps["name"][0] == "Zoë"


def _write_parquet(folder: Path, name: str, select_sql: str) -> None:
    duckdb.connect().sql(
        f"COPY ({select_sql}) TO '{folder / (name + '.parquet')}' (FORMAT parquet)"
    )


def test_parquet_tables_with_native_types(make_folder):
    folder = make_folder()
    (folder / "activities.csv").unlink()
    (folder / "quotas.csv").unlink()
    _write_parquet(
        folder,
        "activities",
        "SELECT 'AC' || i AS activity_id, CASE WHEN i % 2 = 0 THEN 'R001' ELSE '007' END AS rep_id, "
        "TIMESTAMP '2025-01-06 08:00:00' + i * INTERVAL 1 DAY AS activity_date, "
        "'call' AS type, NULL::VARCHAR AS opp_id, NULL::VARCHAR AS account_id FROM range(10) t(i)",
    )
    _write_parquet(
        folder,
        "quotas",
        "SELECT 'R001' AS rep_id, DATE '2025-01-01' AS period_start, "
        "DATE '2025-03-31' AS period_end, 3000 AS quota_amount",
    )
    ds = load(folder)
    assert ds.report.ok and not ds.report.problems, str(ds.report)
    act = ds.sql("SELECT * FROM activities ORDER BY activity_date")
    assert act["activity_date"].iloc[0] == pd.Timestamp("2025-01-06")
    assert act["rep_id"].tolist()[:2] == ["R001", "007"]
    types = dict(ds.sql("DESCRIBE quotas")[["column_name", "column_type"]].values)
    assert types == {
        "rep_id": "VARCHAR",
        "period_start": "DATE",
        "period_end": "DATE",
        "quota_amount": "DOUBLE",
    }
    assert ds.sql("SELECT quota_amount FROM quotas")["quota_amount"][0] == 3000.0


def test_parquet_rule_breaks_report_file_rows(make_folder):
    folder = make_folder()
    (folder / "activities.csv").unlink()
    _write_parquet(
        folder,
        "activities",
        "SELECT 'AC' || i AS activity_id, CASE WHEN i IN (3, 7) THEN 'R404' ELSE 'R001' END AS rep_id, "
        "DATE '2025-01-06' AS activity_date, 'call' AS type FROM range(10) t(i)",
    )
    report = validate(folder)
    (p,) = report.errors
    assert (p.table, p.column, p.rule) == ("activities", "rep_id", "foreign_key")
    assert p.rows == (4, 8)  # 1-based rows of the file
    assert p.values == ("R404", "R404")


def test_both_csv_and_parquet_for_one_table_is_an_error(make_folder):
    folder = make_folder()
    _write_parquet(folder, "reviews", "SELECT 'R001' AS rep_id, '2025Q1' AS period, 3.0 AS score")
    report = validate(folder)
    (p,) = report.errors
    assert (p.table, p.rule) == ("reviews", "duplicate_file")
    assert "reviews.csv" in p.message and "reviews.parquet" in p.message


def test_numeric_parquet_ids_are_warned_about(make_folder):
    folder = make_folder()
    (folder / "reviews.csv").unlink()
    _write_parquet(folder, "reviews", "SELECT 7 AS rep_id, '2025Q1' AS period, 3.0 AS score")
    report = validate(folder)
    assert any(p.rule == "id_not_text" and p.column == "rep_id" for p in report.warnings)
    assert [p.rule for p in report.errors] == ["foreign_key"]  # 7 is not "007"


def test_load_does_not_modify_the_input_folder(make_folder, tables):
    set_cell(tables, "reps", 1, "name", "张伟")
    folder = make_folder(tables, encoding="gb18030")
    before = folder_hashes(folder)
    ds = load(folder)
    ds.sql("SELECT count(*) FROM activities")
    ds.close()
    assert folder_hashes(folder) == before


def test_dates_are_python_dates_in_duckdb(make_folder):
    con = load(make_folder()).con
    hire = con.execute("SELECT hire_date FROM reps WHERE rep_id = '007'").fetchone()[0]
    assert hire == dt.date(2024, 2, 1)
