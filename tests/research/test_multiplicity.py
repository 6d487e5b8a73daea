"""research.multiplicity: Romano-Wolf step-down against a hand computation and a FWER simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from salesinsight.research._boot import cluster_weights, seller_weights
from salesinsight.research.multiplicity import romano_wolf, romano_wolf_from_draws


def test_step_down_by_hand():
    """Three statistics, five null draws. By hand: order t = 3 (j0), 2 (j2), 1 (j1).
    Step 1, max of every row [2.5, 3.5, 1.5, 1.1, 0.3] >= 3 once: (1 + 1) / 6 = 1/3.
    Step 2, max over {j2, j1} [2.5, 0.3, 1.5, 1.1, 0.3] >= 2 once: 1/3 (running max 1/3).
    Step 3, j1 alone [0.2, 0.1, 1.5, 1.1, 0.3] >= 1 twice: 3/6 = 1/2."""
    t_obs = np.array([3.0, 1.0, 2.0])
    t_null = np.array(
        [
            [0.5, 0.2, 2.5],
            [3.5, 0.1, 0.3],
            [1.0, 1.5, 0.4],
            [0.2, 1.1, 0.1],
            [0.1, 0.3, 0.2],
        ]
    )
    # fewer than 10 draws is refused; repeat the five rows twice (counts double, B = 10)
    with pytest.raises(ValueError, match="usable null draws"):
        romano_wolf(t_obs, t_null)
    p = romano_wolf(t_obs, np.vstack([t_null, t_null]))
    np.testing.assert_allclose(p, [3 / 11, 5 / 11, 3 / 11])
    # single-step for j1 would use the max over all three: 4 of 5 rows >= 1 -> much larger
    assert p[1] < (1 + 8) / 11


def test_nan_statistic_left_out_and_monotone():
    t_obs = np.array([np.nan, 2.0, 0.5])
    rng = np.random.default_rng(0)
    p = romano_wolf(t_obs, np.abs(rng.standard_normal((999, 3))))
    assert np.isnan(p[0]) and p[1] <= p[2] <= 1
    # one hypothesis: the plain bootstrap p-value (1 + #{|z| >= 2}) / (B + 1)
    null = np.abs(rng.standard_normal((999, 1)))
    assert romano_wolf(np.array([2.0]), null)[0] == pytest.approx(
        (1 + (null[:, 0] >= 2.0).sum()) / 1000
    )


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm adjusted p-values by hand: sorted p times (m - rank), running max, capped at 1."""
    order = np.argsort(p)
    m = len(p)
    adj = np.minimum(1, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adj
    return out


def _one_dataset(rng, *, n_clusters, effects, rho, n_boot, seed):
    """Cluster-level outcomes with a shared factor (correlation rho between the m outcomes)."""
    m = len(effects)
    common = rng.standard_normal((n_clusters, 1))
    y = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal((n_clusters, m))
    y = y + np.asarray(effects)[None, :]
    est = y.mean(0)
    w = cluster_weights(np.arange(n_clusters), n_boot=n_boot, seed=seed)
    draws = w @ y / n_clusters
    return est, draws


def test_familywise_error_rate_by_simulation():
    """300 data sets, 5 correlated outcomes (rho = 0.6), the first 3 with no effect and 2 with one (0.3 SD).
    Romano-Wolf must keep P(any true null rejected) at or below 0.05 (binomial margin: 2.5 Monte
    Carlo SE) and reject the false nulls at least as often as Holm (it uses the correlation)."""
    rng = np.random.default_rng(20261202)
    effects = [0.0, 0.0, 0.0, 0.3, 0.3]
    n_sims, alpha = 300, 0.05
    fw_rw = fw_holm = 0
    power_rw = power_holm = 0
    for s in range(n_sims):
        est, draws = _one_dataset(rng, n_clusters=150, effects=effects, rho=0.6, n_boot=199, seed=s)
        p_rw = romano_wolf_from_draws(est, draws)
        se = draws.std(0, ddof=1)
        p_raw = 2 * stats.norm.sf(np.abs(est) / se)
        p_holm = _holm(p_raw)
        fw_rw += bool((p_rw[:3] < alpha).any())
        fw_holm += bool((p_holm[:3] < alpha).any())
        power_rw += int((p_rw[3:] < alpha).sum())
        power_holm += int((p_holm[3:] < alpha).sum())
    margin = 2.5 * math.sqrt(alpha * (1 - alpha) / n_sims)
    assert fw_rw / n_sims <= alpha + margin, fw_rw / n_sims
    assert power_rw >= power_holm
    assert power_rw / (2 * n_sims) > 0.5  # the design has power: the test could have failed


def test_hypotheses_without_draws_keep_the_error_rate():
    """Two of four hypotheses come with a p-value only (correlated with the others at 0.6): the
    independent normal null they get is conservative, so FWER under the global null stays <= 0.05."""
    rng = np.random.default_rng(7)
    n_sims, alpha, hits = 300, 0.05, 0
    for s in range(n_sims):
        est, draws = _one_dataset(
            rng, n_clusters=150, effects=[0.0] * 4, rho=0.6, n_boot=199, seed=s
        )
        se = draws.std(0, ddof=1)
        p = 2 * stats.norm.sf(np.abs(est) / se)
        d = draws.copy()
        d[:, 2:] = np.nan
        p_rw = romano_wolf_from_draws(est, d, p_values=p, seed=s)
        hits += bool((p_rw < alpha).any())
    assert hits / n_sims <= alpha + 2.5 * math.sqrt(alpha * (1 - alpha) / n_sims)


def test_seller_weights_share_draws_across_subsets():
    """With a universe, two designs using different sellers get the same resampling of the sellers
    they share; without one, the weights are exactly cluster_weights (results unchanged)."""
    universe = [f"R{i:02d}" for i in range(30)]
    a = seller_weights(["R03", "R03", "R10"], n_boot=99, seed=4, universe=universe)
    b = seller_weights(["R10", "R25"], n_boot=99, seed=4, universe=universe)
    np.testing.assert_array_equal(a[:, 2], b[:, 0])
    np.testing.assert_array_equal(a[:, 0], a[:, 1])
    assert a.sum(1).max() <= 3 * 30
    plain = seller_weights(["x", "y", "x"], n_boot=99, seed=1)
    np.testing.assert_array_equal(plain, cluster_weights(np.array([0, 1, 0]), n_boot=99, seed=1))
    with pytest.raises(ValueError, match="R99"):
        seller_weights(["R99"], n_boot=99, seed=1, universe=universe)
