"""Reviewer leniency recovers the planted shifts and does not flag small samples or null reviewers."""

from __future__ import annotations

import numpy as np
import pytest

from salesinsight.reviews import reviewer_leniency


def test_intervals_cover_planted_leniency(rev_frame, rev_truth):
    res = reviewer_leniency(rev_frame)
    assert res.design == "within reps"
    f = res.frame
    planted = f["reviewer_id"].map(rev_truth["reviews"]["leniency"])
    planted = planted - planted.mean()  # shifts are relative to the average reviewer
    covered = (f["ci_low"] <= planted) & (planted <= f["ci_high"])
    # nominal 95% over 20 reviewers: fewer than 16 covered has probability < 0.3%
    assert len(f) == 20 and covered.sum() >= 16
    assert np.corrcoef(f["leniency"], planted)[0, 1] > 0.8
    # every flag points the planted way
    for r, p in zip(f.itertuples(), planted, strict=True):
        if r.flag == "lenient":
            assert p > 0
        if r.flag == "severe":
            assert p < 0


def test_reviewer_with_three_reviews_is_not_flagged(rev_frame):
    d = rev_frame.copy()
    # three reviews of reps reviewed by others too, each one noise sd (6 points) more generous
    counts = d.groupby("rep_id")["reviewer_id"].transform("nunique")
    pick = d.index[counts >= 2][:3]
    d.loc[pick, "reviewer_id"] = "NEW"
    d.loc[pick, "score"] += 6.0
    res = reviewer_leniency(d)
    row = res.frame.set_index("reviewer_id").loc["NEW"]
    assert row["n_reviews"] == 3
    assert row["flag"] == "in line"
    assert abs(row["leniency"]) < abs(row["raw_shift"])  # shrunk towards zero
    assert row["ci_low"] < 0 < row["ci_high"]


def test_no_flags_without_planted_leniency(null_frame):
    res = reviewer_leniency(null_frame)
    assert (res.frame["flag"] == "in line").all()
    assert res.tau < 1.5  # planted spread 0


def test_own_manager_only_falls_back_to_between_teams(rev_frame, rev_truth):
    d = rev_frame.copy()
    own = d.groupby("rep_id")["reviewer_id"].transform(lambda s: s.mode().iloc[0])
    d = d[d["reviewer_id"] == own]
    res = reviewer_leniency(d)
    assert res.design == "between teams"
    assert any("as if at random" in n for n in res.notes)
    with pytest.raises(ValueError, match="not identified within reps"):
        reviewer_leniency(d, design="within reps")


def test_bad_input_names_the_problem(rev_frame):
    with pytest.raises(ValueError, match="missing column"):
        reviewer_leniency(rev_frame.drop(columns="score"))
    one = rev_frame.assign(reviewer_id="M01")
    with pytest.raises(ValueError, match="at least 2 reviewers"):
        reviewer_leniency(one)
