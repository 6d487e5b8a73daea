"""Simulated folders with planted reviewer leniency (ground truth in truth.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesinsight.data import load
from salesinsight.reviews import review_data
from salesinsight.simulate import crm

SIZE = {"n_reps": 180, "quarters": 6}


@pytest.fixture(scope="session")
def rev_folder(tmp_path_factory) -> Path:
    return crm(tmp_path_factory.mktemp("reviews"), seed=5, **SIZE)


@pytest.fixture(scope="session")
def rev_truth(rev_folder) -> dict:
    return json.loads((rev_folder / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rev_frame(rev_folder):
    with load(rev_folder) as ds:
        return review_data(ds).frame


@pytest.fixture(scope="session")
def null_frame(tmp_path_factory):
    """No planted leniency and a score made of KPIs and noise only (no latent ability)."""
    folder = crm(
        tmp_path_factory.mktemp("null"),
        seed=5,
        reviewer_leniency_sd=0.0,
        review_latent_weight=0.0,
        **SIZE,
    )
    with load(folder) as ds:
        return review_data(ds).frame
