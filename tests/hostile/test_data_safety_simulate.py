"""``salesinsight simulate --out X`` writes only into a new or empty folder, or one it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesinsight.cli import main
from salesinsight.folders import SIMULATE_MARKER, DestinationError
from salesinsight.simulate import crm

SMALL = ["--reps", "20", "--quarters", "3"]


def _simulate(out: Path, *extra: str) -> int:
    return main(["simulate", "--out", str(out), *SMALL, *extra])


def test_refuses_a_data_folder_it_did_not_write(tmp_path, capsys):
    data = tmp_path / "crm-export"
    data.mkdir()
    (data / "reps.csv").write_text("rep_id\nmine\n")
    (data / "notes.txt").write_text("mine")
    assert _simulate(data) == 2
    out = capsys.readouterr().out
    assert "was not created by salesinsight" in out and "--force" in out
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt", "reps.csv"]
    assert (data / "reps.csv").read_text() == "rep_id\nmine\n"


def test_a_file_is_a_clear_message_not_a_traceback(tmp_path, capsys):
    target = tmp_path / "data.csv"
    target.write_text("mine")
    assert _simulate(target) == 2
    assert _simulate(target, "--force") == 2
    captured = capsys.readouterr()
    assert captured.out.count("is a file") == 2 and "Traceback" not in captured.err
    assert target.read_text() == "mine"


def test_refusal_comes_before_any_simulation(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "x.txt").write_text("mine")
    with pytest.raises(DestinationError):  # fast: checked before simulating 360 reps
        crm(data, n_reps=360, quarters=40)


def test_writes_again_into_its_own_folder_and_with_force(tmp_path, capsys):
    out = tmp_path / "sim"
    assert _simulate(out) == 0
    assert (out / SIMULATE_MARKER).is_file()
    first = (out / "opportunities.csv").read_bytes()
    assert _simulate(out, "--seed", "1") == 0  # its own folder: replaced tables
    assert (out / "opportunities.csv").read_bytes() != first
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    assert _simulate(user, "--force") == 0
    assert (user / "notes.txt").read_text() == "mine" and (user / "truth.json").is_file()


def test_a_folder_simulated_before_markers_is_recognised(tmp_path):
    out = crm(tmp_path / "sim", n_reps=20, quarters=3)
    (out / SIMULATE_MARKER).unlink()  # as written by earlier versions: tables + truth.json
    crm(out, n_reps=20, quarters=3, seed=2)
    (out / SIMULATE_MARKER).unlink()
    (out / "my-analysis.txt").write_text("mine")
    with pytest.raises(DestinationError, match="was not created by salesinsight"):
        crm(out, n_reps=20, quarters=3)


@pytest.mark.slow
def test_demo_data_step_runs_twice_and_resimulates_its_own_folder(tmp_path, capsys):
    params = tmp_path / "params" / "demo.yaml"
    params.parent.mkdir()
    params.write_text("quarter: 2026Q4\ndata_dir: ../data/demo\n", encoding="utf-8")
    args = ["demo", "--params", str(params), "--no-report"]
    assert main(args) == 0
    assert main(args) == 0
    assert main([*args, "--resimulate"]) == 0
    assert (tmp_path / "data" / "demo" / SIMULATE_MARKER).is_file()
