"""Tests for salesinsight.causal.impact (structural time-series counterfactual)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.causal import impact
from salesinsight.causal._impact import CAVEAT

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "coverage_impact.py"


def _bench():
    spec = importlib.util.spec_from_file_location("coverage_impact", _BENCH)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def _weekly(seed: int, tau: float) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 90
    idx = pd.date_range("2024-01-01", periods=n, freq="W-MON")
    x = 20 + np.cumsum(rng.normal(0, 1, n))
    y = 10 + np.cumsum(rng.normal(0, 0.1, n)) + 1.5 * x + rng.normal(0, 0.5, n)
    y[75:] += tau
    return pd.Series(y, index=idx, name="revenue"), pd.DataFrame({"market": x}, index=idx)


def test_recovers_planted_effect_with_covariate() -> None:
    y, cov = _weekly(11, tau=3.0)
    e = impact(y, intervention=y.index[75], covariates=cov, n_sims=400, seed=1)
    assert e.ci_low < 3.0 < e.ci_high
    assert_allclose(e.estimate, 3.0, atol=0.6)
    assert e.p_value < 0.01
    assert e.verdict().label == "worked"
    # pointwise / cumulative consistency, all from the same simulated paths
    assert_allclose(e.terms["estimate"].mean(), e.estimate, rtol=0, atol=1e-9)
    assert_allclose(
        e.extras["cumulative"]["estimate"], e.terms["estimate"].sum(), rtol=0, atol=1e-9
    )
    assert_allclose(e.terms["cumulative"].iloc[-1], e.terms["estimate"].sum(), rtol=0, atol=1e-9)
    c = e.extras["cumulative"]
    assert c["ci_low"] < 3.0 * 15 < c["ci_high"]
    # the path: observed series and counterfactual; post-period effect = observed - counterfactual
    post = e.path.iloc[75:]
    assert_allclose(
        (post["observed"] - post["counterfactual"]).to_numpy(),
        e.terms["estimate"].to_numpy(),
        rtol=0,
        atol=1e-9,
    )
    assert (post["cf_low"] < post["counterfactual"]).all()
    assert (post["cf_high"] > post["counterfactual"]).all()
    # the regression coefficient (standardised units) is found: y moves with the covariate
    assert e.extras["params"]["beta.x1"] > 0.5


def test_without_the_covariate_the_interval_is_wider() -> None:
    y, cov = _weekly(12, tau=0.0)
    with_cov = impact(y, intervention=y.index[75], covariates=cov, n_sims=300, placebo=False)
    without = impact(y, intervention=y.index[75], n_sims=300, placebo=False)
    assert (without.ci_high - without.ci_low) > 1.5 * (with_cov.ci_high - with_cov.ci_low)


def test_summary_carries_the_caveat_and_diagnostics() -> None:
    y, cov = _weekly(13, tau=0.0)
    e = impact(y, intervention=y.index[75], covariates=cov, n_sims=200)
    text = e.summary()
    assert "No control group" in text and CAVEAT in text
    names = [d.name for d in e.diagnostics]
    assert names == ["untestable_assumptions", "residual_autocorrelation", "placebo_time"]
    # informational only: a structural time series cannot be validated against a control group
    assert not any(d.required for d in e.diagnostics)


def test_deterministic_given_seed() -> None:
    y, _ = _weekly(14, tau=1.0)
    a = impact(y, intervention=y.index[75], n_sims=200, seed=5, placebo=False)
    b = impact(y, intervention=y.index[75], n_sims=200, seed=5, placebo=False)
    assert (a.estimate, a.ci_low, a.ci_high, a.p_value) == (
        b.estimate,
        b.ci_low,
        b.ci_high,
        b.p_value,
    )


def test_coverage_small_monte_carlo() -> None:
    # 12 replications of the benchmark's regression scenario (known effect tau = 1). With true
    # coverage 95% the chance of <= 8 hits out of 12 is 0.2%; intervals that ignore state or
    # parameter uncertainty cover far less often and fail this.
    bench = _bench()
    hits = 0
    for r in range(12):
        y, cov = bench.simulate_series(1000 + r, "regression")
        e = impact(y, intervention=bench.N_PRE, covariates=cov, n_sims=300, placebo=False, seed=r)
        hits += e.ci_low <= bench.TAU <= e.ci_high
    assert hits >= 9


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["regression", "level", "trend"])
def test_coverage_nominal_200_replications(scenario: str) -> None:
    res = _bench().run(scenario, reps=200, n_sims=1000)
    assert 0.92 <= res["coverage"] <= 0.98
    assert abs(res["bias"]) < 0.1


def test_bad_input_lists_all_problems() -> None:
    y = pd.Series([1.0, 2.0, np.nan] + [1.0] * 5)
    with pytest.raises(ValueError) as err:
        impact(y, intervention=4, level="wiggly", n_sims=10)
    msg = str(err.value)
    assert "level must be one of" in msg
    assert "n_sims must be >= 100" in msg
    assert "missing/non-numeric value(s) at [2]" in msg
    assert "need >= 10" in msg
