"""``salesinsight run --out X [--force]`` never replaces what the user owns, and one run per X.

Uses the tiny stand-in notebook of ``tests/report/test_cli_run.py`` so every case is fast; the
guards run before the notebook does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from salesinsight.cli import main
from salesinsight.folders import RUN_MARKER, claim
from salesinsight.report import run as run_mod
from tests.report.test_cli_run import _notebook

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(tmp_path, monkeypatch):
    from tests.data.conftest import valid_tables, write_folder

    data = write_folder(tmp_path / "inputs" / "data", valid_tables())
    params = tmp_path / "inputs" / "p.yaml"
    params.write_text(f"quarter: 2025Q1\ndata_dir: {data}\n", encoding="utf-8")
    nb_dir = tmp_path / "nb"
    _notebook(nb_dir, "print('ok')")
    monkeypatch.setattr(run_mod, "NOTEBOOK_DIR", nb_dir)
    return params, data


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _run(params: Path, out: Path, *extra: str) -> int:
    return main(["run", str(params), "--out", str(out), *extra])


def test_force_refuses_the_data_folder_itself(setup, capsys):
    params, data = setup
    before = _snapshot(data)
    assert _run(params, data, "--force") == 3
    err = capsys.readouterr().err
    assert "is the data folder" in err and "Traceback" not in err
    assert _snapshot(data) == before


def test_force_refuses_a_marked_folder_that_contains_the_data_and_the_params(setup, capsys):
    params, data = setup
    inputs = data.parent
    (inputs / RUN_MARKER).write_text("{}")  # even a folder that looks like a run folder
    before = _snapshot(inputs)
    assert _run(params, inputs, "--force") == 3
    assert "contains the data folder" in capsys.readouterr().err
    assert _snapshot(inputs) == before


def test_force_refuses_a_folder_holding_the_params_file(setup, tmp_path, capsys):
    params, data = setup
    elsewhere = tmp_path / "cfg"
    elsewhere.mkdir()
    (elsewhere / RUN_MARKER).write_text("{}")
    moved = elsewhere / "p.yaml"
    moved.write_text(params.read_text())
    assert _run(moved, elsewhere, "--force") == 3
    assert "contains the params file" in capsys.readouterr().err
    assert moved.is_file()


def test_force_resolves_symlinks_before_comparing(setup, tmp_path, capsys):
    params, data = setup
    link = tmp_path / "link-to-inputs"
    link.symlink_to(data.parent, target_is_directory=True)
    via_link = tmp_path / "via-link.yaml"
    via_link.write_text(f"quarter: 2025Q1\ndata_dir: {link / 'data'}\n", encoding="utf-8")
    (data.parent / RUN_MARKER).write_text("{}")
    before = _snapshot(data)
    assert _run(via_link, data.parent, "--force") == 3  # real path contains the linked data
    assert "contains the data folder" in capsys.readouterr().err
    assert _run(params, link, "--force") == 3  # the destination itself is a link
    assert "symbolic link" in capsys.readouterr().err
    assert _snapshot(data) == before


def test_force_refuses_a_user_folder_and_a_file(setup, tmp_path, capsys):
    params, _ = setup
    user = tmp_path / "my-notes"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    assert _run(params, user, "--force") == 3
    err = capsys.readouterr().err
    assert "was not created by salesinsight" in err and RUN_MARKER in err
    assert (user / "notes.txt").read_text() == "mine"
    a_file = tmp_path / "report.txt"
    a_file.write_text("mine")
    assert _run(params, a_file, "--force") == 3
    assert "is a file" in capsys.readouterr().err
    assert a_file.read_text() == "mine"


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    return int(done.stdout)


def test_a_marked_run_folder_is_still_replaced_and_stale_staging_is_removed(setup, tmp_path):
    params, _ = setup
    out = tmp_path / "out"
    dead, old = _dead_pid(), time.time() - 7 * 3600

    def staging(name: str, *, marked: bool = True, age: float = old) -> Path:
        path = tmp_path / name
        path.mkdir()
        if marked:
            (path / RUN_MARKER).write_text("{}")
        os.utime(path, (age, age))
        return path

    # left by runs killed with kill -9: only old, marked, dead-owner folders go
    stale = staging(f".staging-run-abc-{dead}-0001")
    stale_trash = staging(f".replaced-run-abc-{dead}-0002")
    recent = staging(f".staging-run-abc-{dead}-0003", age=time.time())
    alive = staging(f".staging-run-abc-{os.getpid()}-0004")
    unmarked = staging(f".staging-run-abc-{dead}-0005", marked=False)
    out.mkdir()
    (out / RUN_MARKER).write_text("{}")  # a run folder salesinsight made
    (out / "old.txt").write_text("from the first run")
    assert _run(params, out) == 3  # without --force: refused
    assert _run(params, out, "--force") == 0
    assert not (out / "old.txt").exists() and (out / "report.html").is_file()
    assert json.loads((out / "manifest.json").read_text())["outputs_sha256"][RUN_MARKER]
    assert not stale.exists() and not stale_trash.exists()
    assert recent.exists() and alive.exists() and unmarked.exists()
    # nothing else is left beside the run: no lock file, no staging folder of this run
    left = {p.name for p in tmp_path.iterdir()} - {recent.name, alive.name, unmarked.name}
    assert sorted(left) == ["inputs", "nb", "out"]


def test_a_run_folder_from_before_markers_is_recognised_by_its_manifest(setup, tmp_path):
    params, _ = setup
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "report.html").write_text("old")
    (out / "tables" / "t.csv").write_text("a\r\n1\r\n")
    manifest = {
        "run_id": "run-0123456789ab",
        "outputs_sha256": {"report.html": "", "tables/t.csv": ""},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "added-by-user.txt").write_text("mine")
    assert _run(params, out, "--force") == 3  # a file the run did not write: not ours
    (out / "added-by-user.txt").unlink()
    # every file is listed in its manifest: replaceable (the replacing itself is the marked case)
    run_mod._check_replaceable(out, {"data folder": params.parent / "data"})


def test_failed_run_never_replaces_a_user_folder_named_like_its_failed_folder(
    setup, tmp_path, monkeypatch
):
    params, _ = setup
    user_failed = tmp_path / "out-FAILED"
    user_failed.mkdir()
    (user_failed / "mine.txt").write_text("mine")
    _notebook(run_mod.NOTEBOOK_DIR, "raise ValueError('boom')")
    assert _run(params, tmp_path / "out") == 4
    assert (user_failed / "mine.txt").read_text() == "mine"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out-FAILED-")]
    assert len(kept) == 1 and (kept[0] / "manifest.json").is_file()


def test_second_run_to_a_claimed_destination_fails_fast(setup, tmp_path, capsys):
    params, _ = setup
    out = tmp_path / "out"
    with claim(out):
        t0 = time.perf_counter()
        assert _run(params, out) == 3
        assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err
    assert "another salesinsight run is writing" in err and f"pid {os.getpid()}" in err
    assert not out.exists()
    with claim(out):  # released: the next run may claim it
        pass


def test_claim_held_by_another_process_blocks_until_it_is_killed(setup, tmp_path, capsys):
    params, _ = setup
    out = tmp_path / "out"
    code = (
        "import sys, time\nfrom salesinsight.folders import claim\n"
        f"with claim({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env) as holder:
        try:
            assert holder.stdout.readline().strip() == b"held"
            assert _run(params, out) == 3
            assert f"pid {holder.pid}" in capsys.readouterr().err
        finally:
            holder.kill()  # SIGKILL: the OS releases the lock, the stale lock file stays
            holder.wait()
    with claim(out):  # the OS released the killed holder's lock
        pass


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    return int(done.stdout)


def test_force_refuses_the_working_folder(setup, tmp_path, monkeypatch, capsys):
    params, _ = setup
    here = tmp_path / "here"
    (here / "sub").mkdir(parents=True)
    (here / RUN_MARKER).write_text("{}")
    monkeypatch.chdir(here / "sub")
    assert _run(params, here, "--force") == 3
    assert "contains the working folder" in capsys.readouterr().err
    assert (here / "sub").is_dir()
