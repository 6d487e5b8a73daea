"""DuckDB memory limit and spill folder on every connection salesinsight opens.

Reference values: DuckDB's own reading of the setting (``current_setting('memory_limit')``,
printed in binary units) and ``/proc/meminfo`` for the machine's memory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesinsight.data import load
from salesinsight.data._load import connect
from salesinsight.data.memory import ENV_VAR, duckdb_memory_limit

_BINARY = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _limit_bytes(con) -> float:
    text = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, unit = re.fullmatch(r"([\d.]+) (\w+)", text).groups()
    return float(number) * _BINARY[unit]


def _meminfo_total() -> int:
    text = Path("/proc/meminfo").read_text()
    total = int(re.search(r"MemTotal:\s+(\d+) kB", text).group(1)) * 1024
    cgroup = Path("/sys/fs/cgroup/memory.max")
    if cgroup.is_file() and cgroup.read_text().strip().isdigit():
        total = min(total, int(cgroup.read_text()))
    return total


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="needs Linux /proc/meminfo")
def test_default_is_half_the_machine_memory_not_duckdbs_80_percent(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    con = connect(tmp_path)
    half = _meminfo_total() / 2
    assert _limit_bytes(con) == pytest.approx(half, rel=0.01)
    spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert Path(spill) == tmp_path / "duckdb-spill"


def test_environment_variable_and_argument_override(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1GB")
    assert _limit_bytes(connect(tmp_path)) == pytest.approx(1e9, rel=0.001)  # 953.6 MiB
    assert _limit_bytes(connect(tmp_path, memory_limit="512MiB")) == 512 * 2**20


def test_the_limit_reaches_the_connection_of_a_loaded_data_folder(tmp_path, monkeypatch):
    from tests.data.conftest import valid_tables, write_folder

    monkeypatch.setenv(ENV_VAR, "300MB")
    ds = load(write_folder(tmp_path / "data", valid_tables()))
    assert _limit_bytes(ds.con) == pytest.approx(3e8, rel=0.001)


@pytest.mark.parametrize("bad", ["lots", "50", "0%", "150%", "12 parsecs", "-1GB", "1KB"])
def test_unreadable_values_are_clear_errors_naming_the_source(bad, monkeypatch):
    monkeypatch.setenv(ENV_VAR, bad)
    if bad == "50":  # a bare number is bytes: too small for DuckDB
        with pytest.raises(ValueError, match="less than 1 MiB"):
            duckdb_memory_limit()
        return
    with pytest.raises(ValueError, match=ENV_VAR):
        duckdb_memory_limit()


@pytest.mark.slow
def test_a_query_larger_than_the_limit_spills_instead_of_failing(tmp_path):
    con = connect(tmp_path, memory_limit="32MB")
    # sorting 4M (bigint, double) rows needs about 64 MB: twice the limit
    total = con.execute(
        "SELECT sum(x) FROM (SELECT range AS x, random() AS r FROM range(4000000) ORDER BY r)"
    ).fetchone()[0]
    assert total == 4_000_000 * 3_999_999 // 2
    assert (tmp_path / "duckdb-spill").is_dir()


def test_run_stops_with_exit_2_on_a_bad_setting(tmp_path, monkeypatch, capsys):
    from salesinsight.cli import main

    params = tmp_path / "p.yaml"
    params.write_text(f"quarter: 2026Q2\ndata_dir: {tmp_path}\n", encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, "lots")
    assert main(["run", str(params), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert ENV_VAR in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
