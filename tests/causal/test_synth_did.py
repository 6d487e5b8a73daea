"""Synthetic DiD: exact recovery where a comparison unit shadows the enrolled ones, weights on the
simplex, the jackknife against a direct leave-one-out loop, and coverage in a factor model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from salesinsight.causal.synth_did import _jackknife_se, _sdid, simplex_weights, synthetic_did
from tests.causal.test_fixed_effects_did import _long

KW = {"outcome": "y", "unit": "u", "time": "t", "treated": "d", "treatment_time": 7}


def _factor_panel(seed: int, effect: float, n: int = 60, n_tr: int = 10) -> pd.DataFrame:
    """Interactive fixed effects: y = a_i + b_t + l_i f_t + noise; enrolled units have larger
    loadings (so plain DiD is biased), effect added from t = 7 on (12 periods)."""
    rng = np.random.default_rng(seed)
    n_t = 12
    f = np.linspace(-1, 1, n_t)
    load = rng.normal(0, 1, n)
    load[:n_tr] += 1.0
    y = rng.normal(0, 1, (n, 1)) + 0.3 * np.arange(n_t) + np.outer(load, f)
    y = y + rng.normal(0, 0.3, (n, n_t))
    y[:n_tr, 6:] += effect
    tr = np.zeros(n, bool)
    tr[:n_tr] = True
    return _long(y, tr)


def test_exact_when_a_comparison_unit_shadows_the_enrolled():
    # (the ridge penalty spreads the unit weights; the estimate is exact all the same)
    # the enrolled path equals a control's path plus a constant before the start, + 2 after
    base = np.array([1.0, 2.0, 0.5, 3.0, 2.5, 1.0, 2.0, 2.0, 1.0, 0.0, 1.0, 2.0])
    other = np.array([0.0, -1.0, 1.0, 0.0, 2.0, -2.0, 1.0, 0.0, 3.0, 1.0, 0.0, 2.0])
    y = np.vstack([base + 5.0, base + 5.0, base, other])
    y[:2, 6:] += 2.0
    e = synthetic_did(_long(y, np.array([True, True, False, False])), **KW)
    assert_allclose(e.estimate, 2.0, rtol=0, atol=1e-3)
    assert_allclose(e.extras["unit_weights"].sum(), 1.0, rtol=0, atol=1e-12)


def test_weights_lie_on_the_simplex():
    rng = np.random.default_rng(0)
    w = simplex_weights(rng.normal(size=(8, 30)), rng.normal(size=8), zeta=0.1)
    assert np.all(w >= 0)
    assert_allclose(w.sum(), 1.0, rtol=0, atol=1e-12)


def test_jackknife_matches_a_direct_leave_one_out_loop():
    rng = np.random.default_rng(3)
    yc, yt = rng.normal(size=(15, 10)), rng.normal(size=(4, 10)) + 1
    omega = rng.dirichlet(np.ones(15))
    lam = rng.dirichlet(np.ones(6))
    loo = []
    for i in range(4):
        loo.append(_sdid(yc, np.delete(yt, i, axis=0), 6, omega, lam))
    for j in range(15):
        w = np.delete(omega, j)
        loo.append(_sdid(np.delete(yc, j, axis=0), yt, 6, w / w.sum(), lam))
    loo = np.array(loo)
    ref = np.sqrt((len(loo) - 1) / len(loo) * np.sum((loo - loo.mean()) ** 2))
    assert_allclose(_jackknife_se(yc, yt, 6, omega, lam), ref, rtol=1e-10)


def test_removes_most_of_the_bias_plain_did_has_under_a_factor_model():
    from salesinsight.causal.fixed_effects_did import fe_did

    sdid, did = [], []
    for seed in range(6):
        df = _factor_panel(seed, effect=1.0)
        sdid.append(synthetic_did(df, **KW).estimate - 1.0)
        did.append(fe_did(df, **KW).estimate - 1.0)
    # enrolled units load more on a trending factor: DiD is biased by about +1; the reweighted
    # comparison group removes most of it (not all: the ridge penalty spreads the weights)
    assert np.mean(did) > 0.8
    assert abs(np.mean(sdid)) < 0.4 * np.mean(did)


def test_no_interval_with_a_single_enrolled_unit():
    df = _factor_panel(0, effect=1.0, n_tr=1)
    e = synthetic_did(df, **KW)
    assert np.isfinite(e.estimate) and not np.isfinite(e.se)
