"""Hostile run parameters and run conditions: fail fast, a message (never a traceback), the exit
code the docs promise (2 for bad params, the same from `params FILE` and `run`)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from salesinsight.cli import main
from salesinsight.report import run as run_mod
from salesinsight.report.params import ParamsError, load_params
from tests.data.conftest import valid_tables, write_folder


@pytest.fixture
def data(tmp_path) -> Path:
    # the tiny valid folder: events in 2025Q1 (and one close on 2025-04-01); programs P_TRAIN,
    # P_COACH, P_MENTOR
    return write_folder(tmp_path / "data", valid_tables())


def _params(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _both_commands(p: Path, tmp_path: Path, capsys) -> list[tuple[int, str]]:
    out = []
    for argv in (["params", str(p)], ["run", str(p), "--out", str(tmp_path / "out")]):
        code = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        out.append((code, err))
    assert not (tmp_path / "out").exists()
    return out


def test_quarter_with_trailing_newline_is_rejected(tmp_path, data):
    p = _params(tmp_path, f'quarter: "2025Q1\\n"\ndata_dir: {data}\n')
    with pytest.raises(ParamsError, match="quarter"):
        load_params(p)


def test_non_utf8_params_file_exit_2_from_params_and_run(tmp_path, data, capsys):
    p = tmp_path / "p.yaml"
    p.write_bytes(f"quarter: 2025Q1\ndata_dir: {data}\ntitle: Qu\xe9bec\n".encode("latin-1"))
    for code, err in _both_commands(p, tmp_path, capsys):
        assert code == 2 and "not UTF-8" in err


def test_impossible_date_exit_2_from_params_and_run(tmp_path, data, capsys):
    p = _params(tmp_path, f"quarter: 2025Q1\ndata_dir: {data}\nwarning_as_of: 2025-02-30\n")
    for code, err in _both_commands(p, tmp_path, capsys):
        assert code == 2 and "day is out of range" in err


def test_typo_keys_and_outcomes_get_did_you_mean(tmp_path, data, capsys):
    p = _params(tmp_path, f"quartr: 2025Q1\ndata_dir: {data}\noutcomes: [win_rat]\n")
    for code, err in _both_commands(p, tmp_path, capsys):
        assert code == 2
        assert "did you mean 'quarter'" in err and "did you mean 'win_rate'" in err


def test_unknown_program_fails_fast_with_did_you_mean(tmp_path, data, capsys):
    p = _params(tmp_path, f"quarter: 2025Q1\ndata_dir: {data}\nprograms: [P_COACHH, P_NOPE]\n")
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "'P_COACHH' is not a program_id in programs (did you mean 'P_COACH'?)" in err
    assert "'P_NOPE' is not a program_id" in err
    assert not (tmp_path / "out").exists()


def test_quarter_without_data_fails_fast(tmp_path, data, capsys):
    p = _params(tmp_path, f"quarter: 2030Q1\ndata_dir: {data}\n")
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "2030Q1 (2030-01-01 to 2030-03-31) has no data" in err
    assert "the data run from 2025-01-10 to 2025-04-01" in err
    assert not (tmp_path / "out").exists()


def test_disk_full_during_a_run_is_a_message(tmp_path, data, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr(run_mod, "_execute_into", full)
    p = _params(tmp_path, f"quarter: 2025Q1\ndata_dir: {data}\n")
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == run_mod.EXIT_OS_ERROR == 6
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".staging-*"))


def test_folder_named_like_a_table_and_unreadable_file(tmp_path, data, capsys, monkeypatch):
    (data / "csat.csv").unlink()
    (data / "csat.csv").mkdir()
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self.name == "quotas.csv":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    assert main(["validate", str(data)]) == 1
    out = capsys.readouterr().out
    assert "csat.csv is a folder" in out
    assert "quotas.csv cannot be read: Permission denied" in out


def test_version(capsys):
    from salesinsight import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"salesinsight {__version__}"


def test_metrics_write_refused_is_a_message(tmp_path, data, capsys, monkeypatch):
    import salesinsight.export as export

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "panel.csv"))

    monkeypatch.setattr(export, "write_table", full)
    code = main(["metrics", str(data), "--grain", "month", "--out", str(tmp_path / "panel.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
