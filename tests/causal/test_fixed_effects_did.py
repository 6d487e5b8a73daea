"""Fixed-effects DiD: hand-computed estimate, HC2 errors against statsmodels, the divergence check
where it must fail (a transient shock before the start) and pass (a persistent level)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from salesinsight.causal.fixed_effects_did import fe_did, selection_window_divergence
from salesinsight.causal.unit_history import unit_history


def _long(y: np.ndarray, treated: np.ndarray) -> pd.DataFrame:
    n, n_t = y.shape
    return pd.DataFrame(
        {
            "u": np.repeat([f"U{i:03d}" for i in range(n)], n_t),
            "t": np.tile(np.arange(1, n_t + 1), n),
            "y": y.ravel(),
            "d": np.repeat(treated.astype(int), n_t),
        }
    )


def test_estimate_is_the_hand_computed_difference_of_changes():
    # two treated, three control units, 2 pre and 2 post periods
    y = np.array(
        [
            [1.0, 3.0, 6.0, 8.0],  # treated: pre mean 2, post mean 7 -> +5
            [2.0, 2.0, 5.0, 7.0],  # treated: 2 -> 6 -> +4
            [0.0, 2.0, 2.0, 2.0],  # control: 1 -> 2 -> +1
            [1.0, 1.0, 3.0, 3.0],  # control: 1 -> 3 -> +2
            [4.0, 4.0, 4.0, 6.0],  # control: 4 -> 5 -> +1
        ]
    )
    tr = np.array([True, True, False, False, False])
    e = fe_did(_long(y, tr), outcome="y", unit="u", time="t", treated="d", treatment_time=3)
    assert_allclose(e.estimate, 4.5 - 4.0 / 3.0, rtol=0, atol=1e-12)


def test_hc2_standard_error_matches_statsmodels():
    rng = np.random.default_rng(1)
    n, n_t = 60, 8
    y = rng.normal(size=(n, 1)) + rng.normal(size=(n, n_t))
    tr = rng.random(n) < 0.3
    y[tr, 4:] += 0.5
    e = fe_did(_long(y, tr), outcome="y", unit="u", time="t", treated="d", treatment_time=5)
    change = y[:, 4:].mean(axis=1) - y[:, :4].mean(axis=1)
    ref = sm.OLS(change, sm.add_constant(tr.astype(float))).fit(cov_type="HC2")
    assert_allclose(e.estimate, ref.params[1], rtol=1e-10)
    assert_allclose(e.se, ref.bse[1], rtol=1e-10)


def _selected(transient: bool, seed: int) -> pd.DataFrame:
    """300 units x 12 periods; the top 60 by a persistent level, or by a transient shock in the
    last four pre-periods that is gone after the start; no effect."""
    rng = np.random.default_rng(seed)
    n, n_t = 300, 12
    level = rng.normal(0, 1, n)
    shock = rng.normal(0, 1, n)
    y = level[:, None] + rng.normal(0, 1, (n, n_t))
    if transient:
        y[:, 4:8] += shock[:, None]
        tr = np.argsort(-shock)[:60]
    else:
        tr = np.argsort(-level)[:60]
    flag = np.zeros(n, bool)
    flag[tr] = True
    return _long(y, flag)


def test_divergence_check_fails_on_a_transient_shock_and_passes_on_a_level():
    kw = {"outcome": "y", "unit": "u", "time": "t", "treated": "d", "treatment_time": 9}
    fails = {True: 0, False: 0}
    for seed in range(20):
        for transient in (True, False):
            h = unit_history(_selected(transient, seed), **kw)
            d = selection_window_divergence(h, selection_periods=4)
            assert d.required
            fails[transient] += d.passed is False
    # a 5% test: at most 3 of 20 false alarms (binomial tail 1.6%); the shock is caught
    assert fails[False] <= 3
    assert fails[True] >= 18
    # and the DiD itself is biased by the fading shock (why the check must be required)
    e = fe_did(_selected(True, 0), **kw)
    assert e.ci_high < 0


@pytest.mark.parametrize("seed", range(3))
def test_persistent_level_selection_is_absorbed(seed):
    kw = {"outcome": "y", "unit": "u", "time": "t", "treated": "d", "treatment_time": 9}
    e = fe_did(_selected(False, seed), **kw)
    assert e.ci_low <= 0 <= e.ci_high


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="columns not in the frame"):
        fe_did(
            pd.DataFrame({"u": [1]}),
            outcome="y",
            unit="u",
            time="t",
            treated="d",
            treatment_time=1,
        )
