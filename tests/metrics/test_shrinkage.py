"""Tests of salesinsight.metrics.shrinkage (empirical-Bayes priors, checked by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import special, stats

from salesinsight.metrics.shrinkage import (
    fit_beta_binomial,
    fit_gamma_poisson,
    fit_hierarchical,
    fit_normal_normal,
)


def _bb_loglik_by_hand(k, n, a, b):
    # log C(n,k) + log B(k+a, n-k+b) - log B(a,b), written out with gammaln
    lc = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    lb = special.gammaln(k + a) + special.gammaln(n - k + b) - special.gammaln(n + a + b)
    lb0 = special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)
    return float(np.sum(lc + lb - lb0))


def test_fit_beta_binomial_maximises_marginal_likelihood_against_grid():
    rng = np.random.default_rng(1)
    p = rng.beta(4, 12, 60)
    n = rng.integers(3, 40, 60)
    k = rng.binomial(n, p)
    a, b = fit_beta_binomial(k, n)
    # brute-force grid over (mean, strength), independent of the optimiser
    best = max(
        (
            (_bb_loglik_by_hand(k, n, m * s, (1 - m) * s), m, s)
            for m in np.linspace(0.1, 0.45, 71)
            for s in np.exp(np.linspace(0, 6, 121))
        ),
    )
    assert _bb_loglik_by_hand(k, n, a, b) >= best[0] - 1e-6
    assert_allclose(a / (a + b), best[1], atol=0.01)


def test_fit_beta_binomial_no_overdispersion_gives_strong_prior():
    # identical proportions in every unit: no between-unit spread -> prior strength at its cap region
    k = np.array([10, 20, 30, 40])
    n = np.array([50, 100, 150, 200])
    a, b = fit_beta_binomial(k, n)
    assert_allclose(a / (a + b), 0.2, atol=1e-3)
    assert a + b > 1000


def test_fit_gamma_poisson_recovers_prior_mean():
    rng = np.random.default_rng(2)
    lam = rng.gamma(5.0, 1 / 50.0, 400)  # mean 0.1 per unit of exposure
    e = rng.integers(50, 500, 400)
    y = rng.poisson(lam * e)
    a, b = fit_gamma_poisson(y, e)
    assert_allclose(a / b, 0.1, rtol=0.1)
    assert_allclose(a, 5.0, rtol=0.5)


def test_fit_normal_normal_matches_hand_case():
    # equal sampling variances: ML tau2 = max(0, var_ML(y) - s2), mu = mean(y)
    y = np.array([1.0, 3.0, 5.0, 7.0])
    s2 = np.full(4, 1.0)
    mu, tau2 = fit_normal_normal(y, s2)
    assert_allclose(mu, 4.0, atol=1e-9)
    assert_allclose(tau2, 5.0 - 1.0, atol=1e-3)  # var_ML = (9+1+1+9)/4 = 5
    mu0, tau0 = fit_normal_normal(np.array([1.0, 1.2]), np.array([4.0, 4.0]))
    assert tau0 == 0.0
    assert_allclose(mu0, 1.1, atol=1e-12)


def test_hierarchical_gamma_and_normal_recover_spreads_and_cover():
    rng = np.random.default_rng(21)
    m, size = 1200, 10
    g = np.array([f"T{i // size:03d}" for i in range(m)])
    gi = np.arange(m) // size
    # gamma-Poisson: team means lognormal around 0.2 (sd 10%), rep rates Gamma(shape 4) around them
    lam = rng.gamma(4.0, rng.lognormal(np.log(0.2), 0.1, m // size)[gi] / 4.0)
    e = rng.integers(20, 401, m).astype(float)
    y = rng.poisson(lam * e)
    fg = fit_hierarchical("gamma", y, e, g)
    assert_allclose(fg.spread, 4.0, rtol=0.2)
    a, b = fg.unit_param1 + y, fg.unit_param2 + e
    cover = np.mean(
        (stats.gamma.ppf(0.05, a, scale=1 / b) <= lam)
        & (lam <= stats.gamma.ppf(0.95, a, scale=1 / b))
    )
    assert 0.85 <= cover <= 0.95, cover
    # normal-normal: team means N(20000, 1500^2), reps N(team, 2000^2), deals sd 8000, 0-29 deals
    theta = rng.normal(rng.normal(20000, 1500, m // size)[gi], 2000)
    nd = rng.integers(0, 30, m)
    has = nd > 0
    ybar = np.where(has, rng.normal(theta, 8000 / np.sqrt(np.maximum(nd, 1))), np.nan)
    fn = fit_hierarchical("normal", ybar, nd, g, within_var=8000.0**2)
    assert_allclose(np.sqrt(fn.spread), 2000, rtol=0.2)
    assert_allclose(np.sqrt(fn.between_group_var), 1500, rtol=0.25)
    s2 = np.where(has, 8000.0**2 / np.maximum(nd, 1), np.inf)
    post_var = 1 / (np.where(has, 1 / s2, 0.0) + 1 / fn.unit_param2)
    post_mean = post_var * (np.where(has, ybar / s2, 0.0) + fn.unit_param1 / fn.unit_param2)
    cover = np.mean(np.abs(theta - post_mean) <= stats.norm.ppf(0.95) * np.sqrt(post_var))
    assert 0.85 <= cover <= 0.95, cover


def test_fit_hierarchical_bad_input():
    with pytest.raises(ValueError, match="family"):
        fit_hierarchical("poisson", [1], [2], ["a"])
    with pytest.raises(ValueError, match="no unit has data"):
        fit_hierarchical("beta", [0, 0], [0, 0], ["a", "b"])
    with pytest.raises(ValueError, match="within_var"):
        fit_hierarchical("normal", [1.0, 2.0], [3, 4], ["a", "b"])
