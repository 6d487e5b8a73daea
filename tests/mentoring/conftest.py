"""A simulated folder built for mentoring pairs: many mentees, mentor quality planted, few reps in
the other rep-level programs (so unmentored low performers exist to compare with)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesinsight.data import load
from salesinsight.mentoring import analyze_mentoring
from salesinsight.simulate import crm

PAIRS_SIM = {
    "n_reps": 270,
    "quarters": 8,
    "mentor_quality_sd": 0.25,
    "mentee_share": 0.3,
    "train_share_per_cohort": 0.02,
    "placebo_share": 0.02,
}


@pytest.fixture(scope="session")
def pairs_folder(tmp_path_factory) -> Path:
    return crm(tmp_path_factory.mktemp("pairs"), seed=2, **PAIRS_SIM)


@pytest.fixture(scope="session")
def pairs_truth(pairs_folder) -> dict:
    return json.loads((pairs_folder / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def mentoring(pairs_folder):
    with load(pairs_folder) as ds:
        return analyze_mentoring(ds, n_boot=299)
