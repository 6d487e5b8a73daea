"""twfe(): published references (mpdta, organ donations) and behaviour under staggered timing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.causal import twfe
from tests._reference import reference_file


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    m = pd.read_csv(reference_file("mpdta.csv"))
    m["treat_post"] = ((m["year"] >= m["first.treat"]) & (m["first.treat"] > 0)).astype(int)
    return m


def test_mpdta_twfe_reference(mpdta):
    # reference (R did docs / pyfixest 0.60): lemp ~ treat*post | county + year, CRV1 by county:
    # -0.036549 (0.013265)
    e = twfe(mpdta, outcome="lemp", unit="countyreal", time="year", treatment="treat_post")
    assert_allclose(e.estimate, -0.036549, rtol=0, atol=5e-7)
    assert_allclose(e.se, 0.013265, rtol=0, atol=5e-7)
    assert e.method == "twfe"
    assert e.n_units == 500 and e.n_obs == 2500
    assert "biased" in " ".join(e.spec["notes"])
    diag = {d.name: d for d in e.diagnostics}["staggered_timing"]
    assert diag.passed is False and not diag.required and diag.value == 3
    # interval = estimate -/+ t(499) * se
    from scipy import stats

    q = stats.t.ppf(0.975, 499)
    assert_allclose(
        [e.ci_low, e.ci_high], [e.estimate - q * e.se, e.estimate + q * e.se], rtol=1e-9
    )


def test_organ_donations_reference():
    import causaldata

    o = causaldata.organ_donations.load_pandas().data
    # California's policy took effect in 2011Q3: quarters 4-6 of the panel (Q32011, Q42011, Q12012)
    o["TreatAfter"] = ((o["State"] == "California") & (o["Quarter_Num"] > 3)).astype(int)
    e = twfe(o, outcome="Rate", unit="State", time="Quarter", treatment="TreatAfter")
    # reference: -0.02246 (State-clustered 0.00613)
    assert_allclose(e.estimate, -0.02246, rtol=0, atol=5e-6)
    assert_allclose(e.se, 0.00613, rtol=0, atol=5e-6)
    assert e.n_units == 27
    diag = {d.name: d for d in e.diagnostics}["staggered_timing"]
    assert diag.passed is True
    # one treated state: the few-treated-clusters warning is given
    assert any("1 treated cluster" in n for n in e.spec["notes"])


def test_twfe_biased_under_heterogeneous_staggered_timing():
    # early cohort has a growing effect; late cohort treated later; never-treated group exists.
    # TWFE uses early-treated units as controls for the late cohort, so with effects growing over
    # time it is pulled below the true average effect on treated observations.
    rng = np.random.default_rng(0)
    units, periods = 300, 10
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    cohort = np.array([2, 6, 99])[np.arange(units) % 3][u]
    d = (t >= cohort).astype(int)
    effect = np.where(d == 1, 1.0 * (t - cohort + 1), 0.0)  # grows 1 per period since adoption
    y = rng.normal(size=units)[u] + 0.1 * t + effect + rng.normal(scale=0.1, size=u.size)
    df = pd.DataFrame({"u": u, "t": t, "d": d, "y": y})
    e = twfe(df, outcome="y", unit="u", time="t", treatment="d")
    att = effect[d == 1].mean()
    assert e.ci_high < att  # the truth is outside the TWFE interval


def test_twfe_bad_input():
    df = pd.DataFrame({"y": [1.0, 2.0], "d": [0, 3], "u": [1, 1], "t": [1, 2]})
    with pytest.raises(ValueError, match=r"must be 0/1; row\(s\) \[1\] have \[3\]"):
        twfe(df, outcome="y", unit="u", time="t", treatment="d")
    with pytest.raises(ValueError, match="missing column"):
        twfe(df, outcome="y", unit="unit", time="t", treatment="d")
