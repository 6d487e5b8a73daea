"""Unit checks of salesinsight.folders (the run and simulate paths are in tests/hostile/)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from salesinsight.folders import (
    RUN_MARKER,
    DestinationError,
    check_replaceable,
    claim,
    pid_alive,
    remove_stale_staging,
    staging_name,
)


def test_pid_alive_for_this_process_and_impossible_pids():
    assert pid_alive(os.getpid())
    assert not pid_alive(0) and not pid_alive(-5)
    assert not pid_alive(123456789012)  # larger than any pid: no OverflowError


def test_staging_names_carry_the_owner_pid_and_kind():
    name = staging_name("staging", "run-0123456789ab")
    assert name.startswith(".staging-run-0123456789ab-") and f"-{os.getpid()}-" in name
    with pytest.raises(ValueError, match="unknown staging kind"):
        staging_name("tmp", "x")


def test_staging_names_of_earlier_versions_are_left_alone(tmp_path):
    old = time.time() - 10 * 24 * 3600
    for name in (".staging-run-123456789012-12345678", ".replaced-87654321"):
        path = tmp_path / name
        path.mkdir()
        os.utime(path, (old, old))  # no marker: earlier versions did not write one
    assert remove_stale_staging(tmp_path, marker=RUN_MARKER) == []
    assert len(list(tmp_path.iterdir())) == 2


def test_protected_path_wins_over_the_marker_and_empty_folder_is_fine(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    check_replaceable(dest, marker=RUN_MARKER)  # empty
    (dest / RUN_MARKER).write_text("{}")
    (dest / "p.yaml").write_text("x")
    with pytest.raises(DestinationError, match="contains the params file"):
        check_replaceable(dest, marker=RUN_MARKER, protect={"params file": dest / "p.yaml"})
    check_replaceable(dest, marker=RUN_MARKER, protect={"params file": tmp_path / "q.yaml"})


def test_claim_is_exclusive_and_released(tmp_path: Path):
    dest = tmp_path / "a" / "out"
    with claim(dest) as lock:
        assert lock.is_file() and str(os.getpid()) in lock.read_text()
        with pytest.raises(DestinationError, match="another salesinsight run"), claim(dest):
            pass
    assert not lock.exists()
    with claim(dest):
        pass
