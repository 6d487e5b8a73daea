"""Oaxaca-Blinder: parity with the statsmodels/Stata ccard reference and sign conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.attribution import oaxaca_blinder

# Reference: ../shared/reference-data/README.md (statsmodels' test against Stata `oaxaca`):
# AVGEXP on AGE, INCOME, INCOMESQ split on OWNRENT.
REF_THREE = {"endowments": 321.7482, "coefficients": 75.4537, "interaction": -238.4515}
REF_GAP = 158.7504
REF_TWO_POOLED = {"explained": 130.8095, "unexplained": 27.9409}
COVS = ["AGE", "INCOME", "INCOMESQ"]


@pytest.fixture(scope="module")
def ccard() -> pd.DataFrame:
    import statsmodels.api as sm

    return sm.datasets.ccard.load_pandas().data


@pytest.fixture(scope="module")
def result(ccard):
    return oaxaca_blinder(ccard, outcome="AVGEXP", group="OWNRENT", covariates=COVS, n_boot=499)


def test_reproduces_ccard_reference(result):
    f = result.to_frame().set_index("component")
    assert list(result.to_frame().columns[:2]) == ["component", "value"]
    for name, ref in {**REF_THREE, **REF_TWO_POOLED, "gap": REF_GAP}.items():
        assert_allclose(f.loc[name, "value"], ref, rtol=0, atol=1e-3, err_msg=name)


def test_sign_convention_gap_is_owners_minus_renters(result, ccard):
    # Default group A = higher mean (owners, OWNRENT=1), as statsmodels/Stata; gap = A - B.
    owners = ccard.loc[ccard.OWNRENT == 1, "AVGEXP"].mean()
    renters = ccard.loc[ccard.OWNRENT == 0, "AVGEXP"].mean()
    assert result.group_a == 1.0 and result.group_b == 0.0
    assert_allclose(result.value("gap"), owners - renters, rtol=1e-12, atol=0)
    assert_allclose(result.mean_a - result.mean_b, owners - renters, rtol=1e-12, atol=0)
    # the components add up: three-fold and two-fold
    v = result.to_frame().set_index("component")["value"]
    assert_allclose(
        v["endowments"] + v["coefficients"] + v["interaction"], v["gap"], rtol=1e-10, atol=0
    )
    assert_allclose(v["explained"] + v["unexplained"], v["gap"], rtol=1e-10, atol=0)


def test_swapped_groups_follow_the_algebra(ccard):
    # With A and B swapped (A = renters), by hand from the reference numbers:
    #   gap' = -158.7504
    #   endowments'   = (xB - xA) bA = -(endowments + interaction) = -(321.7482 - 238.4515) = -83.2967
    #   coefficients' = xA (bB - bA) = -(coefficients + interaction) = -(75.4537 - 238.4515) = 162.9978
    #   interaction'  = (xB - xA)(bB - bA) = interaction = -238.4515
    # The pooled two-fold just changes sign: explained' = -130.8095, unexplained' = -27.9409.
    r = oaxaca_blinder(
        ccard, outcome="AVGEXP", group="OWNRENT", covariates=COVS, group_a=0.0, n_boot=0
    )
    v = r.to_frame().set_index("component")["value"]
    expected = {
        "gap": -158.7504,
        "endowments": -83.2967,
        "coefficients": 162.9978,
        "interaction": -238.4515,
        "explained": -130.8095,
        "unexplained": -27.9409,
    }
    for name, ref in expected.items():
        assert_allclose(v[name], ref, rtol=0, atol=2e-3, err_msg=name)


def test_group_reference_two_fold(ccard):
    # Reference = B's coefficients (renters, 0): explained = endowments, unexplained =
    # coefficients + interaction (Jann 2008, eq. 6 with beta* = beta_B).
    r_b = oaxaca_blinder(
        ccard, outcome="AVGEXP", group="OWNRENT", covariates=COVS, reference=0.0, n_boot=0
    )
    v = r_b.to_frame().set_index("component")["value"]
    assert_allclose(v["explained"], 321.7482, rtol=0, atol=1e-3)
    assert_allclose(v["unexplained"], 75.4537 - 238.4515, rtol=0, atol=2e-3)
    # Reference = A's coefficients (owners, 1): explained = endowments + interaction,
    # unexplained = coefficients.
    r_a = oaxaca_blinder(
        ccard, outcome="AVGEXP", group="OWNRENT", covariates=COVS, reference=1.0, n_boot=0
    )
    v = r_a.to_frame().set_index("component")["value"]
    assert_allclose(v["explained"], 321.7482 - 238.4515, rtol=0, atol=2e-3)
    assert_allclose(v["unexplained"], 75.4537, rtol=0, atol=1e-3)
    assert r_a.to_frame()["se"].isna().all()  # n_boot=0: no standard errors


def test_bootstrap_se_of_gap_matches_analytic(result, ccard):
    # The gap is a difference of two independent means: SE = sqrt(s_A^2/n_A + s_B^2/n_B) = 76.2.
    # A within-group bootstrap with 499 draws estimates it with ~3% Monte Carlo error (and a
    # sqrt((n-1)/n) ~ 0.98 factor), so 10% is a ~3-sigma band.
    g = ccard.groupby("OWNRENT")["AVGEXP"]
    analytic = float(np.sqrt((g.var(ddof=1) / g.count()).sum()))
    se = result.to_frame().set_index("component").loc["gap", "se"]
    assert_allclose(se, analytic, rtol=0.10, atol=0)
    f = result.to_frame()
    assert (f["ci_low"] < f["value"]).all() and (f["value"] < f["ci_high"]).all()


def test_deterministic_given_seed(ccard):
    kw = dict(outcome="AVGEXP", group="OWNRENT", covariates=COVS, n_boot=50, seed=3)
    a = oaxaca_blinder(ccard, **kw).to_frame()
    b = oaxaca_blinder(ccard, **kw).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_detail_sums_to_explained_and_endowments(result):
    d = result.detail
    v = result.to_frame().set_index("component")["value"]
    assert_allclose(d["endowments"].sum(), v["endowments"], rtol=1e-10, atol=0)
    assert_allclose(d["explained"].sum(), v["explained"], rtol=1e-10, atol=0)


def test_bad_input_messages(ccard):
    three = ccard.assign(G=np.arange(len(ccard)) % 3)
    with pytest.raises(ValueError, match="exactly 2 distinct values"):
        oaxaca_blinder(three, outcome="AVGEXP", group="G", covariates=COVS, n_boot=0)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['NOPE'\]"):
        oaxaca_blinder(ccard, outcome="AVGEXP", group="OWNRENT", covariates=["NOPE"], n_boot=0)
    with pytest.raises(ValueError, match="reference must be"):
        oaxaca_blinder(
            ccard, outcome="AVGEXP", group="OWNRENT", covariates=COVS, reference=7, n_boot=0
        )


def test_summary_and_plot(result):
    text = str(result)
    assert "158.8" in text and "explained" in text and "OWNRENT=1.0" in text
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot()
    assert len(ax.patches) == 6
