"""Tests for salesinsight.causal.sensitivity (E-values, robustness values)."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from salesinsight.causal.sensitivity import e_value, e_value_rr, robustness_value


def test_e_value_published_example() -> None:
    # VanderWeele & Ding (2017, Ann Intern Med): RR 3.9 (95% CI 1.8 to 8.7) -> E-values 7.26, 3.0
    out = e_value(3.9, 1.8, 8.7)
    assert_allclose(out["e_value"], 7.26, atol=0.01, rtol=0)
    assert_allclose(out["e_value_ci"], 3.0, atol=0.01, rtol=0)
    # protective effects are flipped: RR 0.5 behaves like RR 2 -> 2 + sqrt(2)
    assert_allclose(e_value_rr(0.5), 2 + math.sqrt(2), rtol=1e-12, atol=0)


def test_e_value_continuous_and_null_interval() -> None:
    # difference 0.5 sd -> RR = exp(0.455); the interval straddles zero -> E-value for CI is 1
    out = e_value(5.0, -1.0, 11.0, sd=10.0)
    rr = math.exp(0.91 * 0.5)
    assert_allclose(out["rr"], rr, rtol=1e-12, atol=0)
    assert_allclose(out["e_value"], rr + math.sqrt(rr * (rr - 1)), rtol=1e-12, atol=0)
    assert out["e_value_ci"] == 1.0


def test_robustness_value_darfur() -> None:
    # Cinelli & Hazlett (2020, JRSS-B), Darfur example ("directly harmed" on peace attitudes):
    # t = 4.18, df = 783 -> partial R2 = 2.2%, RV_q=1 = 13.9%, RV_q=1,alpha=0.05 = 7.6%
    out = robustness_value(4.18, 783)
    assert_allclose(out["partial_r2"], 0.022, atol=0.0005, rtol=0)
    assert_allclose(out["rv_q"], 0.139, atol=0.001, rtol=0)
    assert_allclose(out["rv_q_alpha"], 0.076, atol=0.001, rtol=0)


def test_robustness_value_insignificant_is_zero() -> None:
    assert robustness_value(1.5, 500)["rv_q_alpha"] == 0.0
    with pytest.raises(ValueError):
        robustness_value(2.0, 1)
