"""Tests of salesinsight.metrics.forecast (goal calibration)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.metrics._forecast import QuotaPlan, _next_label, _two_way, forecast
from tests.metrics._fake import fake_panel


@pytest.fixture(scope="module")
def plan() -> QuotaPlan:
    panel, _ = fake_panel(seed=11, quarters=8, n_reps=120)
    return forecast(panel, n_draws=2000, seed=1)


def test_next_label():
    assert _next_label("2026Q2") == "2026Q3"
    assert _next_label("2026Q4") == "2027Q1"
    assert _next_label("FY2027Q4") == "FY2028Q1"
    with pytest.raises(ValueError, match="2026-07"):
        _next_label("2026-07")


def test_two_way_recovers_exact_additive_structure():
    # y = a_i + g_t exactly, unbalanced: residuals vanish and differences are recovered
    a = np.array([1.0, 2.0, 4.0])
    g = np.array([0.5, -0.5, 0.0])
    i = np.array([0, 0, 0, 1, 1, 2, 2])
    t = np.array([0, 1, 2, 0, 1, 1, 2])
    y = a[i] + g[t]
    ah, gh, res = _two_way(y, i, t, 3, 3)
    assert_allclose(res, 0.0, atol=1e-8)
    assert_allclose(ah - ah[0], a - a[0], atol=1e-8)
    assert_allclose(gh - gh[0], g - g[0], atol=1e-8)


def test_plan_shapes_and_target(plan):
    r = plan.to_frame()
    assert plan.target_quarter == "2027Q1"
    assert len(r) == 120
    assert (r["revenue_low"] <= r["revenue_median"]).all()
    assert (r["revenue_median"] <= r["revenue_high"]).all()
    # team table sums reps
    assert plan.teams["n_reps"].sum() == 120
    assert_allclose(
        plan.teams["suggested_quota"].sum(), r["suggested_quota"].sum(), rtol=1e-12, atol=0
    )


def test_suggested_quota_hits_target_share(plan):
    r = plan.to_frame()
    # by construction of the multiplier, the mean predictive P(reach) equals the stated share
    assert_allclose(r["p_reach_suggested"].mean(), 0.55, atol=0.005)
    # share above 50% -> quotas below the medians
    assert plan.multiplier < 1.0
    assert_allclose(r["suggested_quota"], plan.multiplier * r["revenue_median"], rtol=1e-12)


def test_backtest_coverage_near_nominal(plan):
    bt = plan.backtest
    pooled = bt[(bt["target"] == "all") & (bt["level"] == "rep")].iloc[0]
    assert pooled["n"] == 4 * 120  # origins 2026Q1..2026Q4 with 4+ quarters of history
    # nominal 90%; reps within a quarter share a common shock so the effective sample is smaller than
    # 480; binomial sd at n=480 is 1.4 pp, doubled for the within-quarter correlation -> 0.84-0.96
    assert 0.84 <= pooled["coverage"] <= 0.96, pooled["coverage"]
    # WAPE is checked by hand in test_backtest_wape_by_hand_for_one_origin; here only its range
    assert 0 < pooled["wape"] < 1.5
    assert set(bt["level"]) == {"rep", "team"}


def test_backtest_wape_by_hand_for_one_origin():
    panel, _ = fake_panel(seed=12, quarters=5, n_reps=40, n_teams=2)
    p = forecast(panel, n_draws=1500, seed=3, target_quarter="2026Q2", min_history=4)
    # origin 2026Q1 forecast from 2025Q1..Q4: recompute it as a forecast with target 2026Q1
    again = forecast(panel, n_draws=1500, seed=3 + 4, target_quarter="2026Q1", min_history=99)
    act = panel[panel["period"] == "2026Q1"].set_index("rep_id")["revenue"]
    r = again.to_frame().set_index("rep_id")
    wape = np.sum(np.abs(act[r.index] - r["revenue_median"])) / act[r.index].sum()
    row = p.backtest.query("target == '2026Q1' and level == 'rep'").iloc[0]
    assert_allclose(row["wape"], wape, rtol=1e-10)


def test_known_quota_gives_attainment():
    panel, _ = fake_panel(seed=13, quarters=5, n_reps=30, n_teams=2)
    p = forecast(panel, target_quarter="2026Q1", n_draws=1000)
    r = p.to_frame()
    q = panel[panel["period"] == "2026Q1"].set_index("rep_id")["quota"]
    assert_allclose(
        r["attainment_median"], r["revenue_median"] / q[r["rep_id"]].to_numpy(), rtol=1e-12
    )
    assert ((r["p_reach_quota"] >= 0) & (r["p_reach_quota"] <= 1)).all()


def test_bad_inputs():
    panel, _ = fake_panel(seed=14, quarters=2, n_reps=10, n_teams=1)
    with pytest.raises(ValueError, match="share_at_quota"):
        forecast(panel, share_at_quota=1.5)
    with pytest.raises(ValueError, match="revenue"):
        forecast(panel.drop(columns=["revenue"]))


def test_deterministic_and_plot(plan):
    import matplotlib

    matplotlib.use("Agg")
    panel, _ = fake_panel(seed=11, quarters=8, n_reps=120)
    again = forecast(panel, n_draws=2000, seed=1)
    pd.testing.assert_frame_equal(plan.to_frame(), again.to_frame())
    pd.testing.assert_frame_equal(plan.backtest, again.backtest)
    import matplotlib.pyplot as plt

    fig, given = plt.subplots()
    ax = plan.plot(ax=given)
    assert ax is given  # draws on the Axes it is given
    # the points drawn are the forecast medians and suggested quotas, reps sorted by the median
    by_label = {line.get_label(): line for line in ax.get_lines()}
    r = plan.reps.sort_values("revenue_median")
    np.testing.assert_array_equal(by_label["forecast median"].get_ydata(), r["revenue_median"])
    np.testing.assert_array_equal(by_label["suggested quota"].get_ydata(), r["suggested_quota"])
    assert plan.target_quarter in ax.get_title()
    plt.close(fig)
    assert "Backtest" in str(plan)


@pytest.mark.slow
def test_simulator_backtest_coverage(tmp_path):
    # on the project's CRM simulator (8 quarters, 3 rolling origins of ~190 reps each): pooled rep-level
    # 90% coverage; reps share quarter shocks, so allow 0.84-0.96 (about 2.5 binomial sd of n=570
    # either side, widened for the within-quarter correlation)
    from salesinsight.data import load
    from salesinsight.simulate import crm

    ds = load(crm(tmp_path / "sim", seed=6, n_reps=200))
    plan = forecast(ds, n_draws=2000, seed=2)
    pooled = plan.backtest.query("target == 'all' and level == 'rep'").iloc[0]
    assert 0.84 <= pooled["coverage"] <= 0.96, pooled["coverage"]
    assert pooled["wape"] < 0.6
