"""`salesinsight run` failure paths through the real CLI entry point, with tiny stand-in notebooks.

The stand-in notebooks (a parameters cell and one line) keep these tests fast; the real notebooks
are exercised end to end in ``test_run.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from salesinsight.cli import main
from salesinsight.report import run as run_mod
from salesinsight.report.params import RunParams

PARAMS_CELL = "\n".join(
    ['# %% tags=["parameters"]', *(f"{name} = None" for name in RunParams.model_fields)]
)


def _notebook(folder: Path, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = f"# %%\nimport time\n\n{PARAMS_CELL}\n\n# %%\n{body}\n"
    (folder / "quarterly_evaluation.py").write_text(text, encoding="utf-8")


@pytest.fixture
def setup(tmp_path, monkeypatch):
    from tests.data.conftest import valid_tables, write_folder

    data = write_folder(tmp_path / "data", valid_tables())
    params = tmp_path / "p.yaml"
    # 2025Q1: the quarter the tiny folder has data in (a quarter without data fails fast)
    params.write_text(f"quarter: 2025Q1\ndata_dir: {data}\n", encoding="utf-8")
    nb_dir = tmp_path / "nb"
    monkeypatch.setattr(run_mod, "NOTEBOOK_DIR", nb_dir)
    return params, nb_dir, tmp_path / "out"


def test_bad_params_exit_2_and_run_nothing(tmp_path, capsys):
    p = tmp_path / "p.yaml"
    p.write_text("quarter: 2026Q9\ndata_dir: .\nunknown: 1\n", encoding="utf-8")
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "quarter" in err and "unknown" in err
    assert not (tmp_path / "out").exists()


def test_notebook_error_exit_4_keeps_failed_folder_and_last_good_report(setup, capsys):
    params, nb_dir, out = setup
    _notebook(nb_dir, "print('fine')")
    assert main(["run", str(params), "--out", str(out)]) == 0
    good = (out / "report.html").read_bytes()

    _notebook(nb_dir, "raise ValueError('planted failure')")
    code = main(["run", str(params), "--out", str(out), "--force"])
    err = capsys.readouterr().err
    assert code == 4
    assert "ValueError" in err and "planted failure" in err
    failed = out.parent / "out-FAILED"
    assert (failed / "notebook.ipynb").is_file()
    assert '"status": "failed"' in (failed / "manifest.json").read_text()
    assert (out / "report.html").read_bytes() == good  # the last good report is untouched
    assert not list(out.parent.glob(".staging-*"))


def test_cell_timeout_exit_5(setup, capsys):
    params, nb_dir, out = setup
    _notebook(nb_dir, "time.sleep(30)")
    code = main(["run", str(params), "--out", str(out), "--timeout", "2"])
    assert code == 5, capsys.readouterr().err
    assert not out.exists()
    assert (out.parent / "out-FAILED").is_dir()
