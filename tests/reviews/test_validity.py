"""Predictive validity: positive where the score carries latent ability, null where it does not."""

from __future__ import annotations

import pytest

from salesinsight.reviews import predictive_validity


def test_score_with_latent_ability_adds_out_of_sample(rev_frame):
    v = predictive_validity(rev_frame, n_boot=499)
    assert v.ci_low > 0  # planted: the score carries ability + form beyond the KPIs
    assert v.r2_with_score > v.r2_kpis
    assert set(v.train_quarters).isdisjoint(v.test_quarters)
    assert max(v.train_quarters) < min(v.test_quarters)


def test_score_of_kpis_and_noise_adds_nothing(null_frame):
    v = predictive_validity(null_frame, n_boot=499)
    assert v.ci_low <= 0 <= v.ci_high


def test_too_few_quarters(rev_frame):
    with pytest.raises(ValueError, match="at least 3 quarters"):
        predictive_validity(rev_frame[rev_frame["quarter_index"] < 2])
