"""Delta Lake tables in a data folder, read through delta-rs (``salesinsight.data.delta``).

The reference is the same data as CSV, read by the CSV path of the loader (tested on its own against
hand-computed KPIs). The Delta folder is written so that reading it wrongly shows: the activities
table was first written with every row twice and then overwritten (the old files stay in the
directory), the opportunities are partitioned by status (the partition column lives only in the
directory names), the reps arrive in two commits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from salesinsight.data import DataError, load, validate
from salesinsight.data.delta import DeltaUnsupported, delta_dataset, delta_log_fingerprint
from salesinsight.metrics import panel
from salesinsight.report.run import data_fingerprint
from tests.data.conftest import valid_tables, write_folder

deltalake = pytest.importorskip("deltalake", reason='needs deltalake (pip install ".[delta]")')

GRAINS = ("week", "month", "quarter")
LEVELS = ("rep", "team", "company")


def write_delta_folder(csv_folder: Path, out: Path) -> Path:
    """Every table of ``csv_folder`` as a Delta table ``out/<table>/``, with history (see above)."""
    out.mkdir(parents=True)
    with load(csv_folder) as ds:
        for t in sorted(ds.tables):
            table = ds.con.sql(f'SELECT * FROM "{t}"').to_arrow_table()
            where = str(out / t)
            if t == "activities":
                twice = 'SELECT * FROM "activities" UNION ALL SELECT * FROM "activities"'
                doubled = ds.con.sql(twice).to_arrow_table()
                deltalake.write_deltalake(where, doubled)
                deltalake.write_deltalake(where, table, mode="overwrite")
            elif t == "opportunities":
                deltalake.write_deltalake(where, table, partition_by=["status"])
            elif t == "reps":
                half = table.num_rows // 2
                deltalake.write_deltalake(where, table.slice(0, half))
                deltalake.write_deltalake(where, table.slice(half), mode="append")
            else:
                deltalake.write_deltalake(where, table)
    return out


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
def sim_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salesinsight.simulate import crm

    return Path(crm(tmp_path_factory.mktemp("sim") / "data", seed=5, n_reps=20, quarters=3))


@pytest.fixture(scope="module")
def delta_folder(sim_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_delta_folder(sim_folder, tmp_path_factory.mktemp("delta") / "data")


def test_the_folder_would_be_misread_as_plain_parquet(sim_folder, delta_folder):
    n_csv = len(pd.read_csv(sim_folder / "activities.csv"))
    con = duckdb.connect()
    every_file = con.execute(
        f"SELECT count(*) FROM read_parquet('{delta_folder}/activities/*.parquet')"
    ).fetchone()[0]
    assert every_file == 3 * n_csv  # version 0 (twice) + version 1 (once) still on disk
    assert len(list((delta_folder / "opportunities").glob("status=*"))) == 3
    assert delta_dataset(delta_folder / "activities").count_rows() == n_csv


def test_validates_clean_and_panels_match_the_csv_folder(sim_folder, delta_folder):
    report = validate(delta_folder)
    assert report.ok and not report.problems, str(report)
    with load(delta_folder) as got, load(sim_folder) as ref:
        assert got.tables == ref.tables
        assert {t: got.sources[t].fmt for t in got.tables} == dict.fromkeys(got.tables, "delta")
        for grain in GRAINS:
            for by in LEVELS:
                assert_same_panel(panel(got, grain=grain, by=by), panel(ref, grain=grain, by=by))


def test_row_problems_name_table_column_row_and_value(tmp_path):
    tables = valid_tables()
    csv_folder = write_folder(tmp_path / "csv", tables)
    out = tmp_path / "delta"
    out.mkdir()
    con = duckdb.connect()
    for t in ("reps", "opportunities"):  # as text, the way an export would land in a lakehouse
        rel = con.sql(f"SELECT * FROM read_csv('{csv_folder / (t + '.csv')}', all_varchar=1)")
        deltalake.write_deltalake(str(out / t), rel.to_arrow_table())
    # one bad status in a second commit: the row is the 5th in read order
    bad = pd.DataFrame(
        [dict(zip(tables["opportunities"][0], tables["opportunities"][1], strict=True))]
    )
    bad["opp_id"], bad["status"] = "O9", "Lost"
    deltalake.write_deltalake(str(out / "opportunities"), bad.astype(str), mode="append")
    report = validate(out)
    errors = [p for p in report.errors if p.rule != "missing_table"]
    assert [(p.table, p.column, p.values) for p in errors] == [
        ("opportunities", "status", ("Lost",))
    ]
    with pytest.raises(DataError, match=r"opportunities\.status"):
        load(out)


def test_duplicate_table_and_unsupported_reader_feature(tmp_path, delta_folder):
    folder = tmp_path / "data"
    shutil.copytree(delta_folder, folder)
    (folder / "quotas.csv").write_text("rep_id,period_start,period_end,quota_amount\n")
    log = folder / "activities" / "_delta_log"
    version = max(int(p.stem) for p in log.glob("*.json")) + 1
    protocol = {"minReaderVersion": 3, "minWriterVersion": 7}
    protocol |= {"readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"]}
    (log / f"{version:020d}.json").write_text(json.dumps({"protocol": protocol}) + "\n")
    with pytest.raises(DeltaUnsupported, match="deletionVectors"):
        delta_dataset(folder / "activities")
    report = validate(folder)
    by_table = {p.table: p for p in report.errors}
    assert by_table["quotas"].rule == "duplicate_file"
    assert "quotas.csv" in by_table["quotas"].message and "quotas/" in by_table["quotas"].message
    assert by_table["activities"].rule == "unreadable"
    assert "deletionVectors" in by_table["activities"].message


def test_without_deltalake_the_problem_says_what_to_install(tmp_path, delta_folder, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "deltalake", None)  # import fails as if not installed
    report = validate(delta_folder)
    assert not report.ok
    assert {p.table for p in report.errors} == {
        t.name for t in delta_folder.iterdir() if t.is_dir()
    }
    assert all("deltalake" in p.message for p in report.errors)


def test_fingerprint_follows_the_table_version(tmp_path, delta_folder):
    folder = tmp_path / "data"
    shutil.copytree(delta_folder, folder)
    before = data_fingerprint(folder)
    assert before["reps/_delta_log"] == delta_log_fingerprint(folder / "reps")
    reps = deltalake.DeltaTable(str(folder / "reps")).to_pyarrow_table()
    deltalake.write_deltalake(str(folder / "reps"), reps.slice(0, 1), mode="append")
    after = data_fingerprint(folder)
    assert after["reps/_delta_log"] != before["reps/_delta_log"]
    assert {k: v for k, v in after.items() if k != "reps/_delta_log"} == {
        k: v for k, v in before.items() if k != "reps/_delta_log"
    }
