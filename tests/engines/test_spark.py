"""The metric layer on Spark gives what it gives on DuckDB: panels and validation reports.

DuckDB (the embedded default, tested on its own against hand-computed KPIs in
``tests/metrics/test_panel.py``) is the reference. Counts, labels, dates and flags must be equal
exactly; money and ratio columns to a relative 1e-12, because Spark adds doubles in another order
(per-partition partial sums merged afterwards) and a sum of many doubles depends on its order in
the last bits.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from salesinsight.cli import main
from salesinsight.data import DataError, load, validate
from salesinsight.metrics import panel
from tests.data.conftest import set_cell, valid_tables, write_folder
from tests.data.test_validate import ROW_CASES

pytestmark = pytest.mark.spark

GRAINS = ("week", "month", "quarter")
LEVELS = ("rep", "team", "company")


def assert_same_panel(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Same columns, dtypes and rows; floats to rtol 1e-12, everything else exact."""
    assert list(got.columns) == list(ref.columns)
    assert list(got.dtypes) == list(ref.dtypes)
    assert len(got) == len(ref) and len(ref) > 0
    for col in ref.columns:
        a, b = got[col].to_numpy(), ref[col].to_numpy()
        if ref[col].dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True, err_msg=col)
        else:
            assert (a == b).all(), col


@pytest.fixture(scope="module")
def spark_sim(engine, sim_folder):
    ds = engine.load(sim_folder, validate=False)
    yield ds
    ds.close()


@pytest.fixture(scope="module")
def duck_sim(sim_folder):
    ds = load(sim_folder, validate=False)
    yield ds
    ds.close()


@pytest.mark.parametrize("grain", GRAINS)
def test_panels_identical_at_every_grain_and_level(spark_sim, duck_sim, grain):
    for by in LEVELS:
        ref = panel(duck_sim, grain=grain, by=by)
        got = panel(spark_sim, grain=grain, by=by)
        assert_same_panel(got, ref)
        assert ref["opps_won"].sum() > 0 and ref["activities"].sum() > 0  # not an empty panel


def test_fiscal_quarters_and_a_date_window(spark_sim, duck_sim):
    kw = {"grain": "quarter", "by": "team", "fiscal_year_start_month": 2}
    kw |= {"start": "2025-03-01", "end": "2025-08-31"}
    ref = panel(duck_sim, **kw)
    assert ref["period"].str.startswith("FY").all()
    assert_same_panel(panel(spark_sim, **kw), ref)


@pytest.fixture(scope="module")
def parquet_folder(sim_folder, tmp_path_factory) -> Path:
    """The simulated folder as Parquet files written by DuckDB from the typed views."""
    out = tmp_path_factory.mktemp("pq")
    with load(sim_folder) as ds:
        for t in ds.tables:
            ds.con.execute(f"COPY {t} TO '{out / (t + '.parquet')}' (FORMAT parquet)")
    return out


def test_parquet_folder_uri_and_catalog_tables(engine, spark, parquet_folder, duck_sim):
    from salesinsight.engines.spark import SparkEngine

    kw = {"grain": "quarter", "by": "team", "start": "2025-01-01", "end": "2025-09-30"}
    ref = panel(duck_sim, **kw)
    # a local Parquet folder, found like DuckDB finds it
    assert_same_panel(panel(parquet_folder, engine=engine, **kw), ref)
    # the folder as a URI (listed through Hadoop's file system API), activities from a catalog table
    spark.read.parquet(str(parquet_folder / "activities.parquet")).createOrReplaceTempView(
        "crm_act"
    )
    mixed = SparkEngine(session=spark, tables={"activities": "crm_act"})
    with mixed.load(parquet_folder.as_uri(), validate=False) as ds:
        assert ds.sources["activities"].path == Path("crm_act")
        assert ds.tables == duck_sim.tables
        assert_same_panel(panel(ds, **kw), ref)


def test_row_numbers_over_several_partitions(spark):
    from salesinsight.engines.spark_tables import with_row_numbers

    df = spark.range(0, 1000, numPartitions=4).selectExpr("id", "id % 7 AS r")
    assert df.rdd.getNumPartitions() == 4
    rows = with_row_numbers(df).orderBy("id").collect()
    assert [r["_row"] for r in rows] == [r["id"] + 1 for r in rows]


def test_only_the_panel_comes_back_as_arrow(spark_sim):
    table = spark_sim.arrow("SELECT count(*) AS n FROM activities")
    assert table.num_rows == 1 and table.column("n")[0].as_py() > 1000


# -- validation ----------------------------------------------------------------------------------
def _broken(cases) -> dict:
    """Valid tables with the edits of many rule cases at once (a cell keeps its first edit)."""
    tables, edited = valid_tables(), set()
    for _, edits, *_ in cases:
        for t, row, col, val in edits:
            if row == -1:
                tables[t].append(list(tables[t][1]))
                row = len(tables[t]) - 1
            if (t, row, col) not in edited:
                set_cell(tables, t, row, col, val)
                edited.add((t, row, col))
    return tables


def _gbk_and_structure(tables: dict) -> dict:
    del tables["reviews"]  # optional table missing: warning
    for row in tables["reps"][1:]:  # a required column missing, an extra column kept
        del row[1]
        row.append("x")
    tables["reps"][0] = [c for c in tables["reps"][0] if c != "team_id"] + ["crm_owner"]
    tables["reps"][1][3] = "张伟"  # a Chinese name
    return tables


BROKEN = {
    "row_rules_a": lambda: _broken(ROW_CASES[0::2]),
    "row_rules_b": lambda: _broken(ROW_CASES[1::2]),
    "structure": lambda: _gbk_and_structure(valid_tables()),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_validation_problems_identical_on_broken_folders(engine, tmp_path, name):
    encoding = "gbk" if name == "structure" else "utf-8"
    folder = write_folder(tmp_path / name, BROKEN[name](), encoding=encoding)
    ref = validate(folder)
    got = engine.validate(folder)
    assert not ref.ok and len(ref.errors) >= 1
    assert [p.to_dict() for p in got.problems] == [p.to_dict() for p in ref.problems]
    if name.startswith("row_rules"):
        assert len({p.rule for p in ref.errors}) >= 10  # many rules broken at once


def test_the_two_row_rule_folders_break_every_row_rule(tmp_path):
    found = set()
    for name in ("row_rules_a", "row_rules_b"):
        report = validate(write_folder(tmp_path / name, BROKEN[name]()))
        found |= {(p.table, p.column, p.rule) for p in report.errors}
    assert {(c[2], c[3], c[4]) for c in ROW_CASES} <= found


def test_parquet_with_numeric_ids_and_missing_folder(engine, tmp_path):
    folder = write_folder(tmp_path / "pq", valid_tables())
    con = duckdb.connect()
    con.execute(  # an id stored as a number: leading zeros lost, a warning
        f"COPY (SELECT CAST(replace(rep_id, 'R', '') AS INTEGER) AS rep_id, * EXCLUDE (rep_id) "
        f"FROM read_csv('{folder / 'quotas.csv'}', all_varchar=true)) "
        f"TO '{folder / 'quotas.parquet'}' (FORMAT parquet)"
    )
    (folder / "quotas.csv").unlink()
    ref, got = validate(folder), engine.validate(folder)
    assert any(p.rule == "id_not_text" for p in ref.problems)
    assert [p.to_dict() for p in got.problems] == [p.to_dict() for p in ref.problems]
    missing = tmp_path / "nope"
    assert [p.to_dict() for p in engine.validate(missing).problems] == [
        p.to_dict() for p in validate(missing).problems
    ]


def test_load_raises_data_error_with_the_report(engine, tmp_path):
    tables = valid_tables()
    set_cell(tables, "opportunities", 2, "status", "Lost")
    folder = write_folder(tmp_path / "bad", tables)
    with pytest.raises(DataError) as err:
        engine.load(folder)
    assert "opportunities.status" in str(err.value) and "'Lost'" in str(err.value)


# -- command line ----------------------------------------------------------------------------------
def test_cli_engine_spark(sim_folder, tmp_path, capsys, spark):
    assert main(["validate", str(sim_folder), "--engine", "spark", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    out = tmp_path / "panel.parquet"
    code = main(
        ["metrics", str(sim_folder), "--grain", "month", "--by", "team", "--engine", "spark"]
        + ["--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    ref = panel(sim_folder, grain="month", by="team")
    assert_same_panel(pd.read_parquet(out), pd.read_parquet(_roundtrip(ref, tmp_path)))


def _roundtrip(df: pd.DataFrame, tmp_path: Path) -> Path:
    from salesinsight.export import write_table

    return write_table(df, tmp_path / "ref.parquet")
