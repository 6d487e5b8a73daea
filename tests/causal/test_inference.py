"""The shared inference rows against closed forms and printed tables (not against scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from salesinsight.causal.inference import (
    check_alpha,
    normal_interval,
    percentile_interval,
    t_critical,
    wald_interval,
    wald_p_value,
    wald_p_values,
    z_critical,
)


def _normal_p(z: float) -> float:
    """Two-sided normal tail through the complementary error function."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def test_critical_values_match_printed_tables():
    # standard normal and Student t tables (e.g. Abramowitz & Stegun 26.1, 26.7)
    assert z_critical(0.05) == pytest.approx(1.959964, abs=1e-6)
    assert z_critical(0.10) == pytest.approx(1.644854, abs=1e-6)
    assert z_critical(0.01) == pytest.approx(2.575829, abs=1e-6)
    assert t_critical(0.05, 10) == pytest.approx(2.228139, abs=1e-6)
    assert t_critical(0.05, 1) == pytest.approx(12.706205, abs=1e-6)
    assert t_critical(0.01, 30) == pytest.approx(2.749996, abs=1e-6)


@pytest.mark.parametrize("est, se", [(1.96, 1.0), (-3.0, 1.5), (0.0, 2.0), (0.3, 0.01)])
def test_normal_p_value_is_the_erfc_tail(est, se):
    assert wald_p_value(est, se) == pytest.approx(_normal_p(est / se), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 3.0, -12.7])
def test_t_p_value_closed_forms(t):
    # df = 1 is Cauchy: p = 1 - (2 / pi) atan |t|;  df = 2: p = 1 - |t| / sqrt(2 + t^2)
    assert wald_p_value(t, 1.0, df=1) == pytest.approx(1 - 2 / math.pi * math.atan(abs(t)))
    assert wald_p_value(t, 1.0, df=2) == pytest.approx(1 - abs(t) / math.sqrt(2 + t * t))


def test_p_value_is_nan_without_a_positive_standard_error():
    assert math.isnan(wald_p_value(1.0, 0.0))
    assert math.isnan(wald_p_value(1.0, float("nan")))
    assert math.isnan(wald_p_value(1.0, -1.0, df=5))
    got = wald_p_values([1.0, 2.0, 1.0, -2.0], [0.0, np.nan, 1.0, 1.0])
    assert np.isnan(got[:2]).all()
    assert got[2:] == pytest.approx([_normal_p(1.0), _normal_p(2.0)], rel=1e-12)


def test_array_form_equals_the_scalar_form():
    rng = np.random.default_rng(3)
    est, se = rng.normal(size=20), rng.uniform(0.1, 2.0, size=20)
    for df in (None, 7):
        arr = wald_p_values(est, se, df=df)
        assert arr.tolist() == [wald_p_value(e, s, df=df) for e, s in zip(est, se, strict=True)]


def test_intervals():
    lo, hi = normal_interval(10.0, 2.0, alpha=0.05)
    assert (lo, hi) == pytest.approx((10 - 1.959964 * 2, 10 + 1.959964 * 2), abs=1e-5)
    assert wald_interval(10.0, 2.0, alpha=0.05, df=10) == pytest.approx(
        (10 - 2.228139 * 2, 10 + 2.228139 * 2), abs=1e-5
    )
    arr_lo, arr_hi = wald_interval(np.array([0.0, 1.0]), np.array([1.0, 0.5]), alpha=0.10)
    assert arr_lo == pytest.approx([-1.644854, 1 - 0.822427], abs=1e-6)
    assert arr_hi == pytest.approx([1.644854, 1 + 0.822427], abs=1e-6)


def test_percentile_interval_by_hand():
    # 101 evenly spaced draws 0..100: the 2.5% and 97.5% quantiles are 2.5 and 97.5
    assert percentile_interval(np.arange(101.0), alpha=0.05) == pytest.approx((2.5, 97.5))
    assert all(math.isnan(x) for x in percentile_interval([], alpha=0.05))


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, float("nan"), "x", None])
def test_bad_alpha_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha must be strictly between 0 and 1"):
        check_alpha(alpha)
    with pytest.raises(ValueError, match="alpha must be strictly between 0 and 1"):
        normal_interval(1.0, 1.0, alpha=alpha)
