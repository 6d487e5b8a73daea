"""The metric layer on Spark gives what it gives on DuckDB: panels and validation reports.

DuckDB (the embedded default, tested on its own against hand-computed KPIs in
``tests/metrics/test_panel.py``) is the reference. Counts, labels, dates and flags must be equal
exactly; money and ratio columns to a relative 1e-12, because Spark adds doubles in another order
(per-partition partial sums merged afterwards) and a sum of many doubles depends on its order in
the last bits.

Speed: one session for all (``conftest.py``); each dataset is opened once per module; independent
Spark queries are submitted together from threads (:func:`concurrently`), so that the driver plans
one query while the executor threads run another (on tiny data a query is mostly planning and task
scheduling, not scanning).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


def concurrently(jobs: list[Callable[[], Any]], workers: int = 3) -> list[Any]:
    """Results of ``jobs`` (Spark queries on the shared session), run from ``workers`` threads."""
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [f.result() for f in futures]


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


def test_panels_identical_at_every_grain_and_level(spark_sim, duck_sim):
    fiscal = {"grain": "quarter", "by": "team", "fiscal_year_start_month": 2}
    fiscal |= {"start": "2025-03-01", "end": "2025-08-31"}  # fiscal quarters and a date window
    cases = [{"grain": g, "by": b} for g in GRAINS for b in LEVELS] + [fiscal]
    got = concurrently([lambda kw=kw: panel(spark_sim, **kw) for kw in cases])
    for kw, df in zip(cases, got, strict=True):
        ref = panel(duck_sim, **kw)
        assert_same_panel(df, ref)
        assert ref["opps_won"].sum() > 0 and ref["activities"].sum() > 0  # not an empty panel
    assert ref["period"].str.startswith("FY").all()


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
    # the folder as a URI (listed through Hadoop's file system API), activities from a catalog table
    spark.read.parquet(str(parquet_folder / "activities.parquet")).createOrReplaceTempView(
        "crm_act"
    )
    mixed = SparkEngine(session=spark, tables={"activities": "crm_act"})
    with mixed.load(parquet_folder.as_uri(), validate=False) as ds:
        assert ds.sources["activities"].path == Path("crm_act")
        assert ds.tables == duck_sim.tables
        got = concurrently(
            [  # a local Parquet folder, found like DuckDB finds it; the URI with the catalog table
                lambda: panel(parquet_folder, engine=engine, **kw),
                lambda: panel(ds, **kw),
            ]
        )
    for df in got:
        assert_same_panel(df, ref)


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


def _load_error(engine, folder: Path) -> DataError:
    """The DataError of ``engine.load(folder)`` (which validates first)."""
    with pytest.raises(DataError) as err:
        engine.load(folder)
    return err.value


def test_validation_problems_identical_on_broken_folders(engine, tmp_path):
    folders = {
        name: write_folder(
            tmp_path / name, make(), encoding="gbk" if name == "structure" else "utf-8"
        )
        for name, make in BROKEN.items()
    }
    jobs = {name: (lambda f=f: engine.validate(f)) for name, f in folders.items()}
    jobs["row_rules_b"] = lambda: _load_error(engine, folders["row_rules_b"])  # via load
    got = dict(zip(jobs, concurrently(list(jobs.values())), strict=True))
    for name, folder in folders.items():
        ref = validate(folder)
        assert not ref.ok and len(ref.errors) >= 1
        report = got[name].report if isinstance(got[name], DataError) else got[name]
        assert [p.to_dict() for p in report.problems] == [p.to_dict() for p in ref.problems], name
        if name.startswith("row_rules"):
            assert len({p.rule for p in ref.errors}) >= 10  # many rules broken at once
    # load raises with the whole report in its message (a status cell set to 'Lost')
    assert "opportunities.status" in str(got["row_rules_b"]) and "'Lost'" in str(got["row_rules_b"])


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


# -- command line ----------------------------------------------------------------------------------
def test_cli_engine_spark(sim_folder, tmp_path, capsys, spark):
    assert main(["validate", str(sim_folder), "--engine", "spark", "--json"]) == 0
    ref_report = validate(sim_folder).to_dict()
    assert ref_report["ok"] is True and json.loads(capsys.readouterr().out) == ref_report
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


# -- real data: the Maven CRM export -----------------------------------------------------------
@pytest.fixture(scope="module")
def maven_folder(tmp_path_factory) -> Path:
    """The shared Maven CRM export imported with its mapping (skipped, with why, when absent)."""
    from salesinsight.data.importers import import_folder
    from tests._reference import shared_file
    from tests.data.importers.test_maven import MAPPING, MAVEN_PARTS

    # skips with the reason only when ../shared is absent; fails when it is there without the file
    maven = shared_file(*MAVEN_PARTS, "sales_pipeline.csv").parent
    out = tmp_path_factory.mktemp("maven") / "data"
    result = import_folder(maven, out, MAPPING)
    assert result.ok, result.summary()
    return out


def test_real_data_panels_identical_at_every_grain_and_level(engine, maven_folder):
    with load(maven_folder) as duck, engine.load(maven_folder) as ds:  # validated on both
        assert [p.to_dict() for p in ds.report.problems] == [
            p.to_dict() for p in duck.report.problems
        ]
        cases = [(grain, by) for grain in GRAINS for by in LEVELS]
        got = concurrently([lambda g=g, b=b: panel(ds, grain=g, by=b) for g, b in cases])
        for (grain, by), df in zip(cases, got, strict=True):
            ref = panel(duck, grain=grain, by=by)
            assert ref["opps_won"].sum() == 4238  # the export's Won rows, counted by hand
            assert_same_panel(df, ref)


# -- Delta tables, without the Delta Lake jars -------------------------------------------------
def test_delta_tables_without_delta_jars(engine, spark, sim_folder, duck_sim, tmp_path):
    pytest.importorskip("deltalake", reason='needs deltalake (pip install ".[delta]")')
    from salesinsight.data.delta import delta_snapshot
    from salesinsight.engines.spark import SparkEngine
    from salesinsight.engines.spark_tables import _no_delta_source
    from tests.data.test_delta import write_delta_folder

    folder = write_delta_folder(sim_folder, tmp_path / "delta")
    with pytest.raises(Exception) as no_jars:  # this session has no Delta data source ...
        spark.read.format("delta").load(str(folder / "reps"))
    assert _no_delta_source(no_jars.value)  # ... so the log is resolved by delta-rs
    assert len(delta_snapshot(folder / "activities").files) < len(
        list((folder / "activities").glob("*.parquet"))
    )
    kw = {"grain": "month", "by": "team"}
    ref = panel(duck_sim, **kw)
    # a local folder of Delta tables, and a folder URI with one table given as delta:<path>
    uri_engine = SparkEngine(
        session=spark, tables={"opportunities": f"delta:{folder / 'opportunities'}"}
    )
    with (
        engine.load(folder, validate=False) as a,
        uri_engine.load(folder.as_uri(), validate=False) as b,
    ):
        got = concurrently([lambda: panel(a, **kw), lambda: panel(b, **kw)])
    for df in got:
        assert_same_panel(df, ref)


# --------------------------------------------------------------------------------------------------
# the dataset's temporary folder (no Spark session needed: the dataset is built around a stand-in)
# --------------------------------------------------------------------------------------------------
def _dataset_with_temporary_folder(user_folder: Path) -> tuple[Any, str]:
    import tempfile
    from types import SimpleNamespace

    pytest.importorskip("sqlglot", reason='sqlglot is not installed (pip install -e ".[spark]")')
    from salesinsight.engines.spark import SparkDataset

    tmp = tempfile.TemporaryDirectory(prefix="salesinsight-spark-")
    (Path(tmp.name) / "reps.csv").write_text("rep_id\nR1\n", encoding="utf-8")  # a transcoded copy
    dropped: list[str] = []
    catalog = SimpleNamespace(dropTempView=dropped.append)
    con = SimpleNamespace(spark=SimpleNamespace(catalog=catalog), names={"reps": "v_reps"})
    ds = SparkDataset(user_folder, con, frozenset({"reps"}), {}, None, tmp)  # type: ignore[arg-type]
    return ds, tmp.name


def _user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "reps.csv").write_text("rep_id\nR1\n", encoding="utf-8")
    return folder


def test_temporary_folder_goes_when_the_dataset_is_collected(tmp_path):
    """An unclosed dataset removes its temporary folder when collected, without a ResourceWarning."""
    import gc
    import warnings

    user = _user_folder(tmp_path)
    ds, tmp_name = _dataset_with_temporary_folder(user)
    assert Path(tmp_name).is_dir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del ds
        gc.collect()
    assert not Path(tmp_name).exists()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert (user / "reps.csv").read_text(
        encoding="utf-8"
    ) == "rep_id\nR1\n"  # the user's folder stays


def test_close_removes_only_the_temporary_folder(tmp_path):
    import gc

    user = _user_folder(tmp_path)
    ds, tmp_name = _dataset_with_temporary_folder(user)
    with ds:
        pass
    assert not Path(tmp_name).exists()
    assert sorted(p.name for p in user.iterdir()) == ["reps.csv"]
    ds.close()  # twice: nothing left to do, no error
    del ds
    gc.collect()
    assert (user / "reps.csv").is_file()
