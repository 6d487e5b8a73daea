"""Simulator ground truth for reviews (reviewer leniency) and mentoring pairs (mentor quality).

Checks are small independent computations on the written CSV files, compared with ``truth.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesinsight.data import validate
from salesinsight.simulate import crm

SMALL = {"n_reps": 90, "quarters": 6}


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    return crm(tmp_path_factory.mktemp("rev"), seed=3, mentor_quality_sd=0.2, **SMALL)


def test_reviews_carry_a_reviewer_mostly_the_manager(sim):
    assert validate(sim).ok
    rv = _read(sim, "reviews").merge(_read(sim, "reps")[["rep_id", "manager_id"]], on="rep_id")
    assert (rv["reviewer_id"] != "").all()
    own = (rv["reviewer_id"] == rv["manager_id"]).mean()
    # planted: a quarter of the reviews come from another team's manager (binomial sd ~0.01)
    assert 0.70 <= own <= 0.80
    assert rv["reviewer_id"].str.startswith("M").all()


def test_planted_leniency_is_visible_within_reps(sim):
    """Two-way least squares (rep and reviewer dummies) by hand recovers the planted shifts."""
    rv = _read(sim, "reviews")
    y = rv["score"].astype(float).to_numpy()
    reps = pd.get_dummies(rv["rep_id"]).to_numpy(float)
    revs = pd.get_dummies(rv["reviewer_id"])
    X = np.hstack([reps, revs.to_numpy(float)[:, 1:]])
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    est = np.r_[0.0, coef[reps.shape[1] :]]
    truth = _truth(sim)["reviews"]["leniency"]
    planted = np.array([truth[m] for m in revs.columns])
    est, planted = est - est.mean(), planted - planted.mean()
    assert np.corrcoef(est, planted)[0, 1] > 0.8


def test_mentor_quality_varies_and_averages_to_the_planted_effect(sim):
    truth = _truth(sim)
    eff = truth["mentoring"]["mentor_effects"]
    enr = _read(sim, "enrollments")
    mentees = enr[enr["program_id"] == "P_MENTOR"]
    assert set(eff) == set(mentees["mentor_id"])
    per_mentee = mentees["mentor_id"].map(eff).astype(float)
    planted = truth["programs"]["P_MENTOR"]["effects"]["revenue"]
    assert per_mentee.mean() == pytest.approx(planted, abs=1e-3)  # centred over mentees (rounding)
    assert np.std(list(eff.values())) > 0.1  # sd 0.2 planted, ~10 mentors


def test_reviewers_leave_every_other_table_unchanged(tmp_path):
    """Reviewers and leniency come from a separate random stream: no other table moves."""
    base = crm(tmp_path / "base", seed=3, **SMALL)
    plain = crm(
        tmp_path / "plain", seed=3, reviewer_leniency_sd=0.0, cross_review_share=0.0, **SMALL
    )

    def digest(folder: Path, name: str) -> str:
        return hashlib.sha256((folder / name).read_bytes()).hexdigest()

    names = [p.name for p in sorted(base.iterdir()) if p.suffix == ".csv"]
    assert "reviews.csv" in names
    for name in names:
        if name != "reviews.csv":
            assert digest(base, name) == digest(plain, name), name
    rv = _read(plain, "reviews")
    manager = rv["rep_id"].map(_read(plain, "reps").set_index("rep_id")["manager_id"])
    assert (rv["reviewer_id"] == manager).all()
    # without leniency the same draws give the same scores up to the planted shifts
    shift = rv["reviewer_id"].map(_truth(base)["reviews"]["leniency"])
    diff = _read(base, "reviews")["score"].astype(float) - rv["score"].astype(float)
    with_shift = _read(base, "reviews")
    scores = pd.concat([rv["score"], with_shift["score"]], axis=1).astype(float)
    interior = ((scores > 0) & (scores < 100)).all(axis=1)  # not clipped at 0 or 100
    own = with_shift["reviewer_id"] == rv["reviewer_id"]
    np.testing.assert_allclose(diff[interior & own], shift[interior & own], atol=0.11)
