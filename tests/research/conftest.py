"""Simulated folders with planted (or no) quarter-end gaming, shared by the research tests.

Ground truth comes from the simulator's ``truth.json["gaming"]`` (written by the generative model,
not by the code under test).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from salesinsight.simulate import crm

SIZE = {"n_reps": 240, "quarters": 6}


@pytest.fixture(scope="session")
def planted_pull(tmp_path_factory) -> Path:
    """Pull-in by sellers behind pace at the start of the last 14 days (observable rule), no bunching."""
    return crm(tmp_path_factory.mktemp("pull"), seed=6, hockey_rule="behind_at_entry", **SIZE)


@pytest.fixture(scope="session")
def no_gaming(tmp_path_factory) -> Path:
    """Neither pull-in nor bunching."""
    return crm(tmp_path_factory.mktemp("none"), seed=5, hockey_pull_prob=0.0, **SIZE)


@pytest.fixture(scope="session")
def planted_bunch(tmp_path_factory) -> Path:
    """Threshold bunching only: every seller within 10% below quota pulls just enough to reach it."""
    return crm(
        tmp_path_factory.mktemp("bunch"),
        seed=4,
        hockey_pull_prob=0.0,
        bunch_prob=1.0,
        bunch_window=0.1,
        **SIZE,
    )


def gaming_rows(folder: Path) -> pd.DataFrame:
    """truth.json's per rep-quarter gaming rows as a frame."""
    t = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["gaming"]["rep_quarters"]
    return pd.DataFrame(t["rows"], columns=t["columns"])
