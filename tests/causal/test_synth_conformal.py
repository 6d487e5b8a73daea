"""Conformal inference for synthetic control: hand-computed p-values, inversion, coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesinsight.causal import synthetic_control
from salesinsight.causal.synth_conformal import conformal_interval, conformal_p_value


def _one_donor(gap: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A single donor: its weight is 1, so the residual is the treated-minus-donor gap."""
    donor = np.linspace(10.0, 14.0, len(gap))
    return donor + np.array(gap), donor[:, None]


def test_moving_block_p_value_by_hand() -> None:
    # gap (0, 1, 0, -1, 3), one post period: |u| at the five cyclic positions is 0, 1, 0, 1, 3;
    # only the observed 3 reaches 3, so p = 1/5; under theta = 3 the post residual is 0, p = 1.
    y, y0 = _one_donor([0.0, 1.0, 0.0, -1.0, 3.0])
    post = np.array([False, False, False, False, True])
    assert conformal_p_value(y, y0, post, 0.0) == pytest.approx(1 / 5)
    assert conformal_p_value(y, y0, post, 3.0) == pytest.approx(1.0)
    # theta = 1.5: residuals (0, 1, 0, -1, 1.5); |u| >= 1.5 only at the observed one -> 1/5
    assert conformal_p_value(y, y0, post, 1.5) == pytest.approx(1 / 5)
    # theta = 2.5: post residual 0.5; 0.5 <= |1|, |-1| and itself -> 3/5
    assert conformal_p_value(y, y0, post, 2.5) == pytest.approx(3 / 5)


def test_moving_block_two_post_periods_by_hand() -> None:
    # gap (1, 0, 0, 2, 2), post = last two: cyclic sums of two consecutive residuals are
    # (0+0, 0+2, 2+2, 2+1, 1+0) -> |.| = 0, 2, 4, 3, 1; observed 4 is the largest -> p = 1/5
    y, y0 = _one_donor([1.0, 0.0, 0.0, 2.0, 2.0])
    post = np.array([False, False, False, True, True])
    assert conformal_p_value(y, y0, post, 0.0) == pytest.approx(1 / 5)


def test_interval_is_the_set_of_effects_not_rejected() -> None:
    rng = np.random.default_rng(3)
    n_t, t0 = 60, 48
    donors = np.cumsum(rng.normal(0, 1, (n_t, 6)), axis=0)
    y = donors[:, :3].mean(axis=1) + rng.normal(0, 0.2, n_t)
    post = np.arange(n_t) >= t0
    y = y + 2.0 * post
    ci = conformal_interval(y, donors, post, alpha=0.1, scheme="iid", n_draws=199)
    assert ci.ci_low < 2.0 < ci.ci_high
    inside = np.linspace(ci.ci_low, ci.ci_high, 7)[1:-1]
    for t in inside:
        assert conformal_p_value(y, donors, post, float(t), scheme="iid", n_draws=199) > 0.1
    for t in (ci.ci_low - 0.05, ci.ci_high + 0.05):
        assert conformal_p_value(y, donors, post, float(t), scheme="iid", n_draws=199) <= 0.1
    assert ci.p_value <= 0.1  # a 2.0 effect against residual noise 0.2 is rejected at zero


def test_too_few_periods_give_an_unbounded_interval() -> None:
    y, y0 = _one_donor([0.1, -0.2, 0.0, 0.3, 5.0])
    post = np.array([False, False, False, False, True])
    ci = conformal_interval(y, y0, post, alpha=0.05)
    assert math.isinf(ci.ci_low) and math.isinf(ci.ci_high)
    assert "no effect can be rejected" in ci.note


def test_post_periods_must_come_last() -> None:
    y, y0 = _one_donor([0.0, 1.0, 0.0, -1.0, 3.0])
    with pytest.raises(ValueError, match="last periods"):
        conformal_p_value(y, y0, np.array([False, True, False, False, True]), 0.0)


def _factor_panel(seed: int, effect: float, n: int = 25, t0: int = 40, t1: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_t = t0 + t1
    f = np.zeros((n_t, 2))
    shocks = rng.normal(0, 1, (n_t, 2))
    for t in range(n_t):
        f[t] = (0.5 * f[t - 1] if t else 0.0) + shocks[t]
    y = rng.normal(0, 1, n)[:, None] + rng.normal(0, 1, (n, 2)) @ f.T
    y += rng.normal(0, 0.3, (n, n_t))
    y[0, t0:] += effect
    return pd.DataFrame(
        {"u": np.repeat(np.arange(n), n_t), "t": np.tile(np.arange(n_t), n), "y": y.ravel()}
    )


def test_synthetic_control_uses_the_conformal_interval_when_asked() -> None:
    df = _factor_panel(0, effect=3.0)
    e = synthetic_control(
        df,
        outcome="y",
        unit="u",
        time="t",
        treated=0,
        treatment_time=40,
        interval="conformal",
        conformal_permutations="iid",
        placebo=False,
        augmented=False,
    )
    c = e.extras["conformal"]
    assert (e.ci_low, e.ci_high, e.p_value) == (c.ci_low, c.ci_high, c.p_value)
    assert e.ci_low < 3.0 < e.ci_high and e.p_value <= 0.05
    assert "conformal" in e.spec["inference"]


def test_bad_interval_argument_is_named() -> None:
    df = _factor_panel(0, effect=0.0)
    with pytest.raises(ValueError, match="interval must be 'placebo' or 'conformal'"):
        synthetic_control(
            df, outcome="y", unit="u", time="t", treated=0, treatment_time=40, interval="x"
        )


@pytest.mark.slow
def test_null_coverage_with_exchangeable_residuals() -> None:
    # stationary factors, i.i.d. noise: the treated unit is an ordinary unit, so its residuals
    # are exchangeable over time; 200 data sets, 95% intervals: coverage within the binomial
    # 99% band around 0.95 (0.91 .. 0.98), for both permutation schemes
    for scheme in ("iid", "moving_block"):
        cover = []
        for s in range(200):
            e = synthetic_control(
                _factor_panel(s, effect=1.0),
                outcome="y",
                unit="u",
                time="t",
                treated=0,
                treatment_time=40,
                interval="conformal",
                conformal_permutations=scheme,
                placebo=False,
                augmented=False,
            )
            cover.append(e.ci_low <= 1.0 <= e.ci_high)
        assert 0.91 <= np.mean(cover) <= 0.985, (scheme, np.mean(cover))
