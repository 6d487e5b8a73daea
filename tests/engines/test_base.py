"""Engine selection; the DuckDB engine is exactly the embedded loader and validator."""

from __future__ import annotations

import pytest

from salesinsight.cli import main
from salesinsight.data import validate
from salesinsight.engines import DuckDBEngine, Engine, get_engine
from tests.data.conftest import set_cell, valid_tables, write_folder


def test_default_engine_is_duckdb_and_is_an_engine():
    engine = get_engine()
    assert isinstance(engine, DuckDBEngine) and isinstance(engine, Engine)
    assert get_engine("duckdb").name == "duckdb"
    assert get_engine(engine) is engine


def test_unknown_engine_and_spark_options_on_duckdb_are_errors():
    with pytest.raises(ValueError, match="engine must be one of duckdb, spark; got 'postgres'"):
        get_engine("postgres")
    with pytest.raises(ValueError, match="master only apply to the Spark engine"):
        get_engine("duckdb", master="local[2]")


def test_duckdb_engine_gives_the_embedded_report(tmp_path):
    tables = valid_tables()
    set_cell(tables, "reps", 2, "hire_date", "2024-02-30")
    folder = write_folder(tmp_path / "d", tables)
    got = DuckDBEngine().validate(folder)
    assert [p.to_dict() for p in got.problems] == [p.to_dict() for p in validate(folder).problems]
    assert [(p.table, p.column, p.rule, p.rows) for p in got.errors] == [
        ("reps", "hire_date", "date", (2,))
    ]
    with DuckDBEngine().load(write_folder(tmp_path / "ok", valid_tables())) as ds:
        assert ds.dialect == "duckdb" and ds.has("activities")


def test_spark_master_without_spark_engine_exits_2(tmp_path, capsys):
    folder = write_folder(tmp_path / "d", valid_tables())
    assert main(["validate", str(folder), "--spark-master", "local[2]"]) == 2
    assert "--spark-master needs --engine spark" in capsys.readouterr().err
