"""research.what_if: payouts under alternative plans, checked against a hand computation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salesinsight.research import Plan, what_if

BASE = {"commission_rate": 0.1, "quota_bonus": 10.0, "accelerator_threshold": 1.2}


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["A", "B"],
            "team_id": ["T", "T"],
            "period": ["2026Q1", "2026Q1"],
            "revenue": [150.0, 50.0],
            "quota": [100.0, 100.0],
            "csat": [0.6, np.nan],
        }
    )


def test_pay_matches_hand_computation(frame):
    plans = [
        Plan("rev", accelerator_multiplier=2.0, **BASE),
        Plan("dual", accelerator_multiplier=2.0, csat_weight=0.5, csat_target=0.8, **BASE),
        Plan("team", accelerator_multiplier=2.0, team_share=0.5, **BASE),
        Plan("capped", accelerator_multiplier=2.0, cap=20.0, **BASE),
    ]
    res = what_if(frame, plans)
    pay = res.payouts.pivot(index="rep_id", columns="plan", values="pay")
    # A: 0.1 * (120 + 2 * 30) + 10 = 28; B: 0.1 * 50 = 5 (no bonus below quota)
    assert pay.loc["A", "rev"] == pytest.approx(28.0) and pay.loc["B", "rev"] == pytest.approx(5.0)
    # dual: factor 0.5 + 0.5 * 0.6 / 0.8 = 0.875; B has no CSAT -> the mean of observed (0.6)
    assert pay.loc["A", "dual"] == pytest.approx(24.5) and pay.loc["B", "dual"] == pytest.approx(
        4.375
    )
    # team: team attainment 200 / 200 = 1 -> team part 0.1 * 100 + 10 = 20 for both
    assert pay.loc["A", "team"] == pytest.approx(24.0) and pay.loc["B", "team"] == pytest.approx(
        12.5
    )
    assert pay.loc["A", "capped"] == pytest.approx(20.0) and pay.loc[
        "B", "capped"
    ] == pytest.approx(5.0)
    s = res.to_frame().set_index("plan")
    assert s.loc["rev", "total_pay"] == pytest.approx(33.0)
    assert s.loc["rev", "pay_per_revenue"] == pytest.approx(33.0 / 200.0)


def test_output_says_it_is_accounting(frame):
    res = what_if(frame, [Plan("rev", **BASE)])
    assert "not a causal forecast" in str(res)
    assert "not a causal forecast" in json.dumps(res.to_dict())


def test_dual_metric_rewards_csat_on_simulated_data(no_gaming):
    """On the simulator's data, a CSAT component makes pay rank-correlate more with CSAT."""
    res = what_if(no_gaming)
    f = res.to_frame().set_index("plan")
    assert f.loc["revenue + CSAT (30%)", "rank_corr_csat"] > f.loc["revenue only", "rank_corr_csat"]
    assert f.loc["revenue only, capped", "top10_share"] < f.loc["revenue only", "top10_share"]
    assert res.by_seller().shape[1] == 4
    ax = res.plot()
    assert len(ax.get_lines()) == 4
    import matplotlib.pyplot as plt

    plt.close("all")


def test_bad_plans_are_named():
    with pytest.raises(ValueError, match="plan 'x'.*csat_weight"):
        Plan("x", csat_weight=2.0)
    with pytest.raises(ValueError, match="distinct names"):
        what_if(pd.DataFrame(), [Plan("a"), Plan("a")])


def test_csat_reward_matches_numpy_correlations():
    """The gain equals corr(pay_dual, csat) - corr(pay_revenue, csat) computed by numpy on the
    what-if payouts, and the dual metric rewards CSAT more than revenue only on data where CSAT is
    unrelated to revenue."""
    from salesinsight.research import csat_reward, default_plans, what_if

    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "rep_id": [f"R{i % 100:03d}" for i in range(n)],
            "team_id": [f"T{i % 10}" for i in range(n)],
            "period": [f"Q{i // 100}" for i in range(n)],
            "revenue": rng.lognormal(11, 0.4, n),
            "quota": np.full(n, 60000.0),
            "csat": np.where(rng.random(n) < 0.9, rng.uniform(0.4, 1.0, n), np.nan),
        }
    )
    e = csat_reward(frame, n_boot=199)
    pay = what_if(frame, default_plans()[:2]).payouts
    ok = frame["csat"].notna().to_numpy()
    c = frame["csat"].to_numpy()[ok]
    r = {
        name: np.corrcoef(g["pay"].to_numpy()[ok], c)[0, 1]
        for name, g in pay.groupby("plan", sort=False)
    }
    assert e.estimate == pytest.approx(r["revenue + CSAT (30%)"] - r["revenue only"], rel=1e-9)
    assert e.ci_low > 0
    assert any("not a causal forecast" in n for n in e.notes)  # EffectSpec keeps notes as a tuple
