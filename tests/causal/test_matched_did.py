"""Tests for salesinsight.causal.matched_did (pre-period-matched difference-in-differences)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.causal import matched_did


def _rtm_panel(
    seed: int, *, n: int = 1000, T: int = 12, t0: int = 8, rho: float = 0.5, effect: float = 0.0
) -> pd.DataFrame:
    """Reps with persistent skill + AR(1) luck; a bad recent stretch raises the enrolment odds.

    Managers look at the last four weeks before the program and enrol the reps who did badly
    (logistic in the standardised recent mean), so enrolled reps were unlucky and rebound
    whether or not the program works. The true effect is ``effect`` for every enrolled rep.
    """
    rng = np.random.default_rng(seed)
    skill = rng.normal(10, 1.0, n)
    luck = np.zeros((n, T))
    luck[:, 0] = rng.normal(0, 1 / np.sqrt(1 - rho**2), n)
    for t in range(1, T):
        luck[:, t] = rho * luck[:, t - 1] + rng.normal(0, 1, n)
    y = skill[:, None] + luck
    recent = y[:, t0 - 4 : t0].mean(axis=1)
    z = (recent - recent.mean()) / recent.std()
    enrolled = (rng.uniform(size=n) < 1 / (1 + np.exp(2.5 + 1.5 * z))).astype(int)
    y[:, t0:] += effect * enrolled[:, None]
    rows = [(f"r{i:04d}", t, y[i, t], enrolled[i]) for i in range(n) for t in range(T)]
    return pd.DataFrame(rows, columns=["rep_id", "week", "revenue", "enrolled"])


KW = dict(outcome="revenue", unit="rep_id", time="week", treated="enrolled", treatment_time=8)


def test_naive_did_is_biased_by_regression_to_the_mean_matched_is_not() -> None:
    df = _rtm_panel(2)
    e = matched_did(df, **KW)
    naive = e.extras["naive"].set_index("comparison")
    did = naive.loc["DiD vs all untreated"]
    before_after = naive.loc["before/after (treated only)"]
    # true effect is zero: the naive comparisons "find" a clearly positive effect ...
    assert did["estimate"] > 0.25 and did["ci_low"] > 0
    assert before_after["estimate"] > 0.2 and before_after["ci_low"] > 0
    # ... while the matched DiD is near zero with an interval covering the truth
    assert e.ci_low < 0 < e.ci_high
    assert abs(e.estimate) < did["estimate"] / 2
    assert e.verdict(min_effect=0.5).label == "no detectable effect"
    # matching removed the selection on the pre-period trajectory
    bal = e.extras["balance"]
    assert bal["smd_before"].abs().min() > 0.8
    assert bal["smd_after"].abs().max() < 0.25


def test_planted_effect_recovered() -> None:
    df = _rtm_panel(3, effect=1.0)
    e = matched_did(df, **KW)
    assert e.ci_low < 1.0 < e.ci_high
    assert e.verdict().label == "worked"
    post = e.terms[e.terms["period"] == "post"]
    assert_allclose(post["estimate"].mean(), e.estimate, rtol=0, atol=1e-9)


def test_hand_computed_without_bias_correction() -> None:
    # two periods before (0, 1), one after (2); 1 neighbour, no bias correction
    data = {
        "A": ([1.0, 2.0, 5.0], 1),  # pre mean 1.5, change 3.5; nearest control: C (1, 2)
        "B": ([4.0, 4.0, 6.0], 1),  # pre mean 4, change 2; nearest control: D (4, 5)
        "C": ([1.0, 2.0, 3.0], 0),  # change 1.5
        "D": ([4.0, 5.0, 5.0], 0),  # change 0.5
        "E": ([9.0, 9.0, 9.0], 0),  # far away, unused
    }
    df = pd.DataFrame(
        [(u, t, ys[t], d) for u, (ys, d) in data.items() for t in range(3)],
        columns=["rep_id", "week", "revenue", "enrolled"],
    )
    e = matched_did(
        df,
        outcome="revenue",
        unit="rep_id",
        time="week",
        treated="enrolled",
        treatment_time=2,
        match_periods=2,
        n_neighbors=1,
        bias_correction=False,
    )
    # ATT = mean(3.5, 2) - mean(1.5, 0.5) = 2.75 - 1.0
    assert_allclose(e.estimate, 1.75, rtol=0, atol=1e-12)
    # SE: treated deviations (0.75, -0.75), controls (0.5, -0.5) with weights 1/2 each;
    # var = (0.5625*2)/4 + (0.25*0.25 + 0.25*0.25) = 0.28125 + 0.125; G/(G-1) = 4/3
    assert_allclose(e.se, np.sqrt((0.28125 + 0.125) * 4 / 3), rtol=1e-12, atol=0)
    assert sorted(e.extras["weights"].index) == ["C", "D"]
    pairs = e.extras["matches"].set_index("treated_unit")["control_unit"]
    assert pairs.to_dict() == {"A": "C", "B": "D"}


def test_bad_input_lists_all_problems() -> None:
    df = _rtm_panel(4, n=50)
    df.loc[df.index[:3], "enrolled"] = 1 - df.loc[df.index[:3], "enrolled"]  # varies in r0000
    with pytest.raises(ValueError) as err:
        matched_did(df.rename(columns={"revenue": "rev"}), **KW)
    assert "no column 'revenue'" in str(err.value)
    with pytest.raises(ValueError, match="must be constant within unit"):
        matched_did(df, **KW)
