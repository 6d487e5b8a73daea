"""Hostile params files: a clear, short error, exit code 2 from ``salesinsight run``, fast.

The documents are in ``security_yaml.py``. "Short" is at most 4 KB of stderr: every echoed value
is cut to 200 characters and at most 50 problems are listed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from salesinsight.cli import main
from salesinsight.data.importers import ImporterError
from salesinsight.data.importers.presets import _read_yaml
from tests.hostile.security_yaml import DOCUMENTS, billion_laughs

MAX_MESSAGE = 4096
#: seconds a rejection may take (the unbounded bomb took minutes and 39 MB of text)
FAST = 5.0


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_hostile_params_file_is_a_short_clear_error_with_exit_2(name, tmp_path, capsys):
    text, words = DOCUMENTS[name]
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    t0 = time.perf_counter()
    code = main(["run", str(path), "--out", str(tmp_path / "out")])
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert code == 2, err[:500]
    assert len(err.encode()) <= MAX_MESSAGE, (len(err), err[:300])
    for word in words:
        assert word in err, err[:1000]
    assert "Traceback" not in err and out == ""
    assert elapsed < FAST, elapsed
    assert not (tmp_path / "out").exists()


def test_params_check_command_rejects_the_bomb_briefly(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    assert main(["params", str(path)]) != 0
    err = capsys.readouterr().err
    assert "expands to more than" in err and len(err.encode()) <= MAX_MESSAGE


def test_importer_mapping_bomb_is_an_importer_error(tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text(billion_laughs(key="tables"), encoding="utf-8")
    with pytest.raises(ImporterError, match="expands to more than") as info:
        _read_yaml(path)
    assert len(str(info.value)) <= MAX_MESSAGE


def test_small_aliases_still_work(tmp_path):
    # anchors and aliases are legitimate YAML: a few copies stay allowed
    from salesinsight.report.params import load_params

    path = tmp_path / "p.yaml"
    path.write_text(
        f"quarter: 2026Q2\ndata_dir: {tmp_path}\noutcomes: &o [win_rate, revenue]\n"
        "min_effect: {win_rate: 0.01}\nprograms: [P1]\n",
        encoding="utf-8",
    )
    assert load_params(path).outcomes == ["win_rate", "revenue"]
