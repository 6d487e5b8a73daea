"""Lagged-outcome regression: coefficients and HC2 errors against statsmodels; unbiased where
enrolment followed a transient shock, biased where it followed a persistent level (the bracket)."""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from numpy.testing import assert_allclose

from salesinsight.causal.fixed_effects_did import fe_did
from salesinsight.causal.lagged_regression import lagged_outcome
from tests.causal.test_fixed_effects_did import _long, _selected

KW = {"outcome": "y", "unit": "u", "time": "t", "treated": "d", "treatment_time": 9}


def test_matches_statsmodels_ols_hc2_on_binned_history():
    rng = np.random.default_rng(2)
    n, n_t = 80, 12
    y = rng.normal(size=(n, 1)) + rng.normal(size=(n, n_t))
    tr = rng.random(n) < 0.4
    e = lagged_outcome(_long(y, tr), bin_size=4, **KW)
    hist = np.column_stack([y[:, b].mean(axis=1) for b in (range(0, 4), range(4, 8))])
    x = sm.add_constant(np.column_stack([tr.astype(float), hist]))
    ref = sm.OLS(y[:, 8:].mean(axis=1), x).fit(cov_type="HC2")
    assert_allclose(e.estimate, ref.params[1], rtol=1e-10)
    assert_allclose(e.se, ref.bse[1], rtol=1e-10)


def _on_recent_results(seed: int) -> object:
    """300 units x 12 periods with a persistent level and a transient shock in periods 5-8; the
    top 60 by their *observed* mean over periods 5-8 are enrolled (start t = 9), no effect."""
    rng = np.random.default_rng(seed)
    n, n_t = 300, 12
    y = rng.normal(0, 1, (n, 1)) + rng.normal(0, 1, (n, n_t))
    y[:, 4:8] += rng.normal(0, 1, (n, 1))
    tr = np.zeros(n, bool)
    tr[np.argsort(-y[:, 4:8].mean(axis=1))[:60]] = True
    return _long(y, tr)


def test_brackets_the_truth_with_the_fixed_effects_did():
    # selection on observed recent results: the lagged-outcome regression covers zero, the DiD is
    # biased down; on a persistent level: the DiD covers zero, the lagged outcome is biased up
    recent = _on_recent_results(4)
    lo_s, fe_s = lagged_outcome(recent, bin_size=4, **KW), fe_did(recent, **KW)
    assert lo_s.ci_low <= 0 <= lo_s.ci_high and fe_s.ci_high < 0
    level = _selected(False, 4)
    lo_l, fe_l = lagged_outcome(level, bin_size=4, **KW), fe_did(level, **KW)
    assert fe_l.ci_low <= 0 <= fe_l.ci_high and lo_l.ci_low > 0
    assert fe_s.estimate < 0 < lo_l.estimate  # the truth (0) lies between the two in both


def test_biased_when_enrolment_followed_a_shock_the_history_does_not_show():
    # selection on a latent transient shock: conditional on the observed history the enrolled had
    # the larger shock and the lower level, so the regression over-predicts their post-period
    e = lagged_outcome(_selected(True, 4), bin_size=4, **KW)
    assert e.ci_high < 0
