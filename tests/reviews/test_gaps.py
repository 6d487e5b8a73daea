"""Rating gaps: raw gap by hand, small cells suppressed with no numbers."""

from __future__ import annotations

import numpy as np
import pytest

from salesinsight.reviews import rating_gaps


def test_gap_matches_hand_means_and_small_cells_hidden(rev_frame):
    res = rating_gaps(rev_frame, groups=("region", "tenure_band"), min_cell_size=10, n_boot=49)
    f = res.frame.set_index(["group", "level"])
    per_rep = rev_frame.groupby("rep_id").agg(score=("score", "mean"), region=("region", "last"))
    north = per_rep["region"] == "north"
    hand = per_rep.loc[north, "score"].mean() - per_rep.loc[~north, "score"].mean()
    assert f.loc[("region", "north"), "gap"] == pytest.approx(hand, abs=1e-9)
    row = f.loc[("region", "north")]
    assert row["explained"] + row["unexplained"] == pytest.approx(row["gap"], abs=1e-9)

    big = rating_gaps(rev_frame, groups=("region",), min_cell_size=10_000, n_boot=49)
    assert big.frame["suppressed"].all()
    assert big.frame[["gap", "unexplained", "ci_low", "ci_high"]].isna().all().all()
    assert "suppressed below 10000" in str(big)


def test_min_cell_size_must_be_positive(rev_frame):
    with pytest.raises(ValueError, match="min_cell_size"):
        rating_gaps(rev_frame, groups=("region",), min_cell_size=0)
    assert np.isfinite(rating_gaps(rev_frame, groups=("region",), n_boot=0).frame["gap"]).all()
