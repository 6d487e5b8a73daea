"""funnel_gap: hand-computed Shapley splits of revenue gaps over funnel stages."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.attribution import funnel_gap

FACTORS = [
    "activities",
    "opps_created_per_activities",
    "opps_won_per_opps_created",
    "revenue_per_opps_won",
]


def article_team(first_stage: str = "activities") -> pd.DataFrame:
    # The article's case: R1 works hard (most activity) but signs few deals.
    #        activities  opps_created  opps_won  revenue    -> factors
    # R1        200          40           4      40,000     200, 0.2, 0.100, 10,000
    # R2        100          20           8      80,000     100, 0.2, 0.400, 10,000
    # R3         80          16           6      60,000      80, 0.2, 0.375, 10,000
    # R4        120          24           9      90,000     120, 0.2, 0.375, 10,000
    return pd.DataFrame(
        {
            "period_start": pd.Timestamp("2026-04-01"),
            "period": "2026Q2",
            "rep_id": ["R1", "R2", "R3", "R4"],
            "team_id": "T1",
            first_stage: [200.0, 100.0, 80.0, 120.0],
            "opps_created": [40.0, 20.0, 16.0, 24.0],
            "opps_won": [4.0, 8.0, 6.0, 9.0],
            "revenue": [40000.0, 80000.0, 60000.0, 90000.0],
        }
    )


def test_article_case_team_median_by_hand():
    # Team medians: activities median(200,100,80,120) = 110; 0.2; median(.1,.4,.375,.375) = .375;
    # 10,000. Benchmark revenue = 110 * 0.2 * 0.375 * 10,000 = 82,500; R1 gap = -42,500.
    # Only activities (110 -> 200) and wins/opp (0.375 -> 0.1) differ; K = 0.2 * 10,000 = 2,000:
    #   phi_activities = K * 1/2 * [90 * 0.375 + 90 * 0.1]       = 2000 * 21.375  =  42,750
    #   phi_wins/opp   = K * 1/2 * [-0.275 * 110 + -0.275 * 200] = 2000 * -42.625 = -85,250
    #   sum = -42,500.
    r = funnel_gap(article_team(), entity="rep_id", benchmark="team_median")
    f = r.to_frame()
    r1 = f[f.rep_id == "R1"].set_index("factor")
    assert list(r1.index) == FACTORS
    assert_allclose(r1.loc[FACTORS, "contribution"], [42750, 0, -85250, 0], rtol=1e-12, atol=1e-9)
    assert_allclose(r1["gap"].iloc[0], -42500.0, rtol=1e-12, atol=0)
    assert_allclose(r1["benchmark_revenue"].iloc[0], 82500.0, rtol=1e-12, atol=0)
    assert r1.loc["opps_won_per_opps_created", "binding"]
    # percentiles (mid-rank among 4 reps): activities rank 4 -> 87.5, wins/opp rank 1 -> 12.5
    assert_allclose(r1.loc[FACTORS, "percentile"], [87.5, 50, 12.5, 50], rtol=0, atol=1e-12)
    msg = r.messages.set_index("rep_id").loc["R1", "message"]
    assert "activity volume is in the top quartile (88th percentile)" in msg
    assert "conversion to signed deals is in the bottom quartile (13th percentile)" in msg
    assert "coach closing, not prospecting" in msg
    # every entity's contributions sum exactly to its gap
    sums = f.groupby("rep_id")["contribution"].sum()
    gaps = f.groupby("rep_id")["gap"].first()
    assert_allclose(sums, gaps, rtol=1e-12, atol=1e-9)


def test_article_wording_with_visits():
    r = funnel_gap(article_team("visits"), stages=("visits", "opps_created", "opps_won", "revenue"))
    msg = r.messages.set_index("rep_id").loc["R1", "message"]
    assert msg.startswith(
        "rep_id=R1: visits are in the top quartile (88th percentile) but conversion to signed "
        "deals is in the bottom quartile (13th percentile): coach closing, not prospecting"
    )


def test_peer_benchmark_by_hand():
    # Against R2 (100, 0.2, 0.4, 10,000 -> 80,000): R1 gap = -40,000; K = 2,000
    #   phi_activities = K * 1/2 * [100 * 0.4 + 100 * 0.1]       = 2000 * 25  =  50,000
    #   phi_wins/opp   = K * 1/2 * [-0.3 * 100 + -0.3 * 200]     = 2000 * -45 = -90,000
    r = funnel_gap(article_team(), benchmark="R2")
    r1 = r.to_frame().query("rep_id == 'R1'").set_index("factor")
    assert_allclose(r1.loc[FACTORS, "contribution"], [50000, 0, -90000, 0], rtol=1e-12, atol=1e-9)
    r2 = r.to_frame().query("rep_id == 'R2'")
    assert_allclose(r2["contribution"], 0.0, rtol=0, atol=0)


def test_top_quartile_by_hand():
    # 75th percentiles (linear interpolation, position 0.75 * 3 = 2.25 of the sorted values):
    #   activities (80, 100, 120, 200) -> 120 + 0.25 * 80 = 140
    #   wins/opp (0.1, 0.375, 0.375, 0.4) -> 0.375 + 0.25 * 0.025 = 0.38125
    # Benchmark revenue = 140 * 0.2 * 0.38125 * 10,000 = 106,750. R3 (80, 0.2, 0.375, 10,000):
    #   phi_activities = 2000 * 1/2 * [-60 * 0.38125 + -60 * 0.375] = 2000 * -22.6875 = -45,375
    #   phi_wins/opp   = 2000 * 1/2 * [-0.00625 * 140 + -0.00625 * 80] = 2000 * -0.6875 = -1,375
    #   sum = -46,750 = 60,000 - 106,750.
    r = funnel_gap(article_team(), benchmark="top_quartile")
    r3 = r.to_frame().query("rep_id == 'R3'").set_index("factor")
    assert_allclose(r3["benchmark_revenue"].iloc[0], 106750.0, rtol=1e-12, atol=0)
    assert_allclose(r3.loc[FACTORS, "contribution"], [-45375, 0, -1375, 0], rtol=1e-10, atol=1e-9)
    assert "coach prospecting" in r.messages.set_index("rep_id").loc["R3", "message"]


def test_zero_stages_and_broken_identity():
    # R5: 10 activities, no opportunity: opp/activity = 0; later ratios undefined -> benchmark.
    # Team medians with R5: activities median(200,100,80,120,10) = 100; opps/act 0.2;
    # wins/opp median(0.1,0.4,0.375,0.375) = 0.375 (R5 undefined, skipped); 10,000.
    # Benchmark revenue 100 * 0.2 * 0.375 * 10,000 = 75,000; R5 gap -75,000; K = 3,750:
    #   phi_activities = K * 1/2 * [-90 * 0.2 + -90 * 0]      = 3750 * -9  = -33,750
    #   phi_opps/act   = K * 1/2 * [-0.2 * 100 + -0.2 * 10]   = 3750 * -11 = -41,250
    # R6 has no activities but 3 opportunities: not decomposable -> NaN and a note.
    # M1 (a manager) has every stage 0: left out of the result and of the medians.
    extra = pd.DataFrame(
        {
            "period_start": pd.Timestamp("2026-04-01"),
            "period": "2026Q2",
            "rep_id": ["R5", "R6", "M1"],
            "team_id": ["T1", "T2", "T1"],
            "activities": [10.0, 0.0, 0.0],
            "opps_created": [0.0, 3.0, 0.0],
            "opps_won": [0.0, 1.0, 0.0],
            "revenue": [0.0, 5000.0, 0.0],
        }
    )
    r = funnel_gap(pd.concat([article_team(), extra], ignore_index=True))
    f = r.to_frame()
    r5 = f[f.rep_id == "R5"].set_index("factor")
    assert_allclose(r5.loc[FACTORS, "contribution"], [-33750, -41250, 0, 0], rtol=1e-12, atol=1e-9)
    assert "coach qualifying" in r.messages.set_index("rep_id").loc["R5", "message"]
    assert f[f.rep_id == "R6"]["contribution"].isna().all()
    assert any("cannot decompose rep_id R6" in n for n in r.notes)
    assert "M1" not in set(f.rep_id)
    assert any("every stage 0" in n and "M1" in n for n in r.notes)


def test_periods_are_summed_and_filtered():
    # R1's quarter split over two months gives the same sums, hence the same result.
    t = article_team()
    a = t[t.rep_id == "R1"].assign(period="2026-04", activities=150.0, opps_created=30.0)
    b = t[t.rep_id == "R1"].assign(
        period="2026-05", activities=50.0, opps_created=10.0, opps_won=0.0, revenue=0.0
    )
    monthly = pd.concat([t[t.rep_id != "R1"], a, b], ignore_index=True)
    full = funnel_gap(t).to_frame()
    split = funnel_gap(monthly).to_frame()
    pd.testing.assert_series_equal(full["contribution"], split["contribution"])
    only_may = funnel_gap(monthly, period="2026-05")
    assert set(only_may.to_frame().rep_id) == {"R1"}


def test_team_level_against_median_team():
    # Three teams: T1 (100, 0.25, 0.2, 5,000) = 25,000; T2 (200, 0.25, 0.2, 5,000) = 50,000;
    # T3 (300, 0.25, 0.2, 5,000) = 75,000. Median team = T2's profile; T1 gap -25,000, all volume.
    teams = pd.DataFrame(
        {
            "period": "2026Q2",
            "team_id": ["T1", "T2", "T3"],
            "activities": [100.0, 200.0, 300.0],
            "opps_created": [25.0, 50.0, 75.0],
            "opps_won": [5.0, 10.0, 15.0],
            "revenue": [25000.0, 50000.0, 75000.0],
        }
    )
    r = funnel_gap(teams, entity="team_id", benchmark="team_median")
    t1 = r.to_frame().query("team_id == 'T1'").set_index("factor")
    assert_allclose(t1.loc[FACTORS, "contribution"], [-25000, 0, 0, 0], rtol=1e-12, atol=1e-9)


def test_errors_and_plot():
    with pytest.raises(ValueError, match="benchmark must be"):
        funnel_gap(article_team(), benchmark="nobody")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['demos'\]"):
        funnel_gap(article_team(), stages=("demos", "opps_won"))
    import matplotlib

    matplotlib.use("Agg")
    r = funnel_gap(article_team())
    ax = r.plot(entity="R1")
    assert len(ax.patches) == 6
    ax2 = r.plot()
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["R1", "R2", "R3", "R4"]
    assert "coach closing, not prospecting" in str(r)
