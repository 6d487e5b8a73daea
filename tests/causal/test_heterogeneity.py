"""Tests for salesinsight.causal.heterogeneity (subgroup effects, DR-learner)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression

from salesinsight.causal import dr_learner, heterogeneity
from salesinsight.causal._heterogeneity import CATE_CAVEAT

EFFECTS = {"north": 0.5, "south": 1.5, "west": 1.0}


def _subgroups(seed: int, n: int = 1500, effects: dict | None = None) -> pd.DataFrame:
    effects = EFFECTS if effects is None else effects
    rng = np.random.default_rng(seed)
    region = rng.choice(list(effects), size=n)
    x = rng.normal(size=n)
    d = rng.integers(0, 2, size=n)
    tau = np.array([effects[r] for r in region])
    y = 2 + x + tau * d + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "region": region, "x": x})


def test_planted_subgroup_difference_found() -> None:
    df = _subgroups(1)
    e = heterogeneity(df, outcome="y", treatment="d", by="region", covariates=["x"])
    t = e.terms.set_index("term")
    for region, truth in EFFECTS.items():
        assert t.loc[region, "ci_low"] < truth < t.loc[region, "ci_high"]
    test = e.extras["interaction_test"]
    assert test["df_num"] == 2
    assert test["p_value"] < 1e-4
    # independent check: statsmodels formula interaction model, same HC1 covariance
    fit = smf.ols("y ~ C(region) * d + x", data=df).fit(cov_type="HC1")
    assert_allclose(
        t.loc["south", "estimate"],
        fit.params["d"] + fit.params["C(region)[T.south]:d"],
        rtol=0,
        atol=1e-10,
    )
    wald = fit.wald_test(
        "C(region)[T.south]:d = 0, C(region)[T.west]:d = 0", use_f=True, scalar=True
    )
    assert_allclose(test["statistic"], float(wald.statistic), rtol=1e-8, atol=0)
    # the average weights subgroups by their treated counts
    w = t["n_treated"] / t["n_treated"].sum()
    assert_allclose(e.estimate, float(w @ t["estimate"]), rtol=0, atol=1e-12)


def test_interaction_test_rejects_at_nominal_rate_under_the_null() -> None:
    same = {"north": 1.0, "south": 1.0, "west": 1.0}
    rejections = [
        heterogeneity(
            _subgroups(100 + s, n=300, effects=same), outcome="y", treatment="d", by="region"
        ).extras["interaction_test"]["p_value"]
        < 0.05
        for s in range(200)
    ]
    # nominal 5%: binomial(200, 0.05) lies in [3, 18] with probability > 99.7%
    assert 3 <= sum(rejections) <= 18


def test_terciles_and_clustered_errors() -> None:
    rng = np.random.default_rng(2)
    teams = np.repeat(np.arange(40), 25)
    d = np.repeat(rng.integers(0, 2, 40), 25)  # assigned by team
    baseline = rng.normal(size=teams.size)
    y = baseline + (d * (1.0 + (baseline > 0.43))) + np.repeat(rng.normal(0, 0.5, 40), 25)
    y = y + rng.normal(size=teams.size)
    df = pd.DataFrame({"y": y, "d": d, "team": teams, "baseline": baseline})
    e = heterogeneity(df, outcome="y", treatment="d", by="baseline", n_bins=3, cluster="team")
    assert list(e.terms["term"]) == ["high", "low", "middle"]
    assert e.extras["interaction_test"]["df_denom"] == 39
    assert e.n_units == 40
    t = e.terms.set_index("term")
    assert t.loc["high", "estimate"] > t.loc["low", "estimate"]


def _cate_data(seed: int, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    e = 1 / (1 + np.exp(-0.5 * x1))
    d = (rng.uniform(size=n) < e).astype(int)
    tau = 0.5 + 1.0 * x1  # effect grows with x1, not with x2
    y = 1 + x1 + 0.5 * x2 + tau * d + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "x1": x1, "x2": x2, "tau": tau})


def test_dr_learner_recovers_linear_cate() -> None:
    df = _cate_data(3)
    lin = {"propensity": LogisticRegression(max_iter=1000), "outcome": LinearRegression()}
    res = dr_learner(df, outcome="y", treatment="d", covariates=["x1", "x2"], learners=lin)
    blp = res.blp.set_index("term")
    truth_ate = df["tau"].mean()
    assert res.ate.ci_low < truth_ate < res.ate.ci_high
    assert blp.loc["slope[x1]", "ci_low"] < 1.0 < blp.loc["slope[x1]", "ci_high"]
    # x2 does not modify the effect: its slope is within 3 SE of zero (a 95% interval would miss
    # zero 1 time in 20 by design; 3 SE bounds a 0.3% event)
    assert abs(blp.loc["slope[x2]", "estimate"]) < 3 * blp.loc["slope[x2]", "se"]
    assert np.corrcoef(res.cate, df["tau"])[0, 1] > 0.9
    gates = res.by(pd.qcut(df["x1"], 3, labels=["low", "mid", "high"]))
    g = gates.set_index("term")["estimate"]
    assert g["low"] < g["mid"] < g["high"]
    assert CATE_CAVEAT in res.summary()


def test_bad_input() -> None:
    df = _subgroups(4, n=50)
    with pytest.raises(ValueError, match="no column 'tenure'"):
        heterogeneity(df, outcome="y", treatment="d", by="tenure")
    df.loc[0, "d"] = 3
    with pytest.raises(ValueError, match="must be 0/1"):
        heterogeneity(df, outcome="y", treatment="d", by="region")
