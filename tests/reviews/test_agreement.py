"""Agreement: hand-made reviewers who follow attainment exactly or not at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesinsight.reviews import score_agreement


def test_exact_and_random_reviewers():
    rng = np.random.default_rng(1)
    n = 40
    att = rng.uniform(0.3, 1.8, 2 * n)
    score = np.r_[50 + 20 * att[:n], rng.uniform(0, 100, n)]
    df = pd.DataFrame(
        {
            "reviewer_id": ["A"] * n + ["B"] * n,
            "score": score,
            "attainment": att,
            "win_rate": rng.uniform(0.1, 0.4, 2 * n),
            "log_activities": rng.uniform(3, 5, 2 * n),
        }
    )
    res = score_agreement(df)
    f = res.frame.set_index("reviewer_id")
    assert f.loc["A", "rho"] == pytest.approx(1.0)  # monotone in attainment
    assert f.loc["B", "ci_low"] < 0 < f.loc["B", "ci_high"]
    assert f.loc["(all)", "n_reviews"] == 2 * n
    assert "Spearman" in str(res) and "<table" in res._repr_html_()
