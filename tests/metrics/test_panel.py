"""KPI panel: every KPI against hand computations on the tiny folder of ``conftest.py``.

Arithmetic is written next to each expected number. Abbreviations: Q1 = 2026-01-01..2026-03-31;
"open@d" = opportunities created on or before d that are open or closed after d.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.cli import main
from salesinsight.metrics import panel
from salesinsight.metrics._panel import panel_columns
from tests.metrics.conftest import TABLES, write_folder

NAN = math.nan

REP_COLUMNS = [
    "period_start", "period", "rep_id", "team_id",
    "activities", "calls", "visits", "emails", "meetings", "demos", "follow_ups", "other",
    "opps_created", "opps_won", "opps_lost", "opps_closed", "win_rate", "revenue",
    "avg_deal_size", "median_deal_size", "cycle_days", "quota", "attainment", "pipeline_value",
    "csat", "csat_responses", "active", "sellers_active", "terminations", "seller_terminations",
    "follow_ups_per_open_opp", "pipeline_coverage", "pipeline_velocity",
    "quarter_end_concentration", "share_at_quota",
]  # fmt: skip


def cell(df: pd.DataFrame, column: str, **keys: object) -> object:
    """The single value of ``column`` in the row matching ``keys``."""
    mask = np.ones(len(df), dtype=bool)
    for k, v in keys.items():
        mask &= (df[k] == v).to_numpy()
    values = df.loc[mask, column]
    assert len(values) == 1, f"{keys} matches {len(values)} rows"
    return values.iloc[0]


def check(df: pd.DataFrame, expected: dict[str, list[float]], key: str, value: str) -> None:
    """Compare ``expected[column] = [Jan, Feb, Mar]`` with the panel rows of ``key == value``."""
    rows = df[df[key] == value].sort_values("period_start")
    for column, values in expected.items():
        got = rows[column].to_numpy(dtype=float)
        assert_allclose(got, values, rtol=1e-12, atol=1e-9, err_msg=f"{value} {column}")


# --------------------------------------------------------------------------- shape
def test_columns_in_contract_order(tiny) -> None:
    df = panel(tiny, grain="month", by="rep")
    assert list(df.columns) == REP_COLUMNS
    team = panel(tiny, grain="month", by="team")
    assert list(team.columns[:3]) == ["period_start", "period", "team_id"]
    tail = ["n_active_reps", "sellers_active", "terminations", "seller_terminations", "attrition"]
    assert list(team.columns[25:31]) == [*tail, "follow_ups_per_open_opp"]
    assert "active" not in team.columns and "rep_id" not in team.columns
    company = panel(tiny, grain="month", by="company")
    assert list(company.columns) == panel_columns("company")
    assert list(company.columns[:3]) == ["period_start", "period", "activities"]


def test_dtypes(tiny) -> None:
    df = panel(tiny, grain="week")
    assert pd.api.types.is_datetime64_any_dtype(df["period_start"])
    assert df["active"].dtype == bool
    for c in ["activities", "follow_ups", "opps_won", "opps_closed", "csat_responses"]:
        assert df[c].dtype == np.int64, c
    for c in ["win_rate", "revenue", "quota", "pipeline_value", "share_at_quota"]:
        assert df[c].dtype == np.float64, c


def test_balanced_panel_keeps_inactive_rows(tiny) -> None:
    df = panel(tiny, grain="week")
    # events run from Thu 2026-01-01 (week of Mon 2025-12-29) to Tue 2026-03-31 (week of
    # Mon 2026-03-30): 13 weeks from 2025-12-29 to 2026-03-23 plus 2026-03-30 = 14 weeks
    assert df["period"].nunique() == 14
    assert len(df) == 5 * 14  # every rep in every week
    assert df.groupby("rep_id").size().eq(14).all()
    r5 = df[df["rep_id"] == "R5"]  # left in 2025
    assert not r5["active"].any()
    assert (r5["activities"] == 0).all() and (r5["revenue"] == 0).all()
    assert r5["win_rate"].isna().all()


# --------------------------------------------------------------------------- month, rep
def test_month_rep_every_kpi(tiny) -> None:
    df = panel(tiny, grain="month", by="rep")
    assert list(df["period"].unique()) == ["2026-01", "2026-02", "2026-03"]
    assert list(df["period_start"].unique()) == list(
        pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"])
    )
    # R1: employed throughout; quota 9000 over Q1's 90 days = 100/day
    r1 = {
        # Jan A1 call, A2 visit, A3+A4 follow-ups, A5 email; Feb A6 follow-up, A7 meeting (a
        # timestamp: its date part counts); Mar A8 demo, A9 follow-up
        "activities": [5, 2, 2],
        "calls": [1, 0, 0],
        "visits": [1, 0, 0],
        "emails": [1, 0, 0],
        "meetings": [0, 1, 0],
        "demos": [0, 0, 1],
        "follow_ups": [2, 1, 1],
        "other": [0, 0, 0],
        "opps_created": [3, 1, 1],  # Jan O1 O2 O3; Feb O4; Mar O5
        "opps_won": [1, 1, 1],  # O1 01-20; O3 02-16; O5 03-25
        "opps_lost": [1, 0, 0],  # O2 01-22
        "opps_closed": [2, 1, 1],
        "win_rate": [1 / 2, 1, 1],
        "revenue": [1000, 2000, 4000],
        "avg_deal_size": [1000, 2000, 4000],
        "median_deal_size": [1000, 2000, 4000],
        # O1 01-05 -> 01-20 = 15 d; O3 01-12 -> 02-16 = 19 + 16 = 35 d; O5 03-02 -> 03-25 = 23 d
        "cycle_days": [15, 35, 23],
        "quota": [3100, 2800, 3100],  # 31, 28, 31 days x 100
        "attainment": [1000 / 3100, 2000 / 2800, 4000 / 3100],
        # open@01-31: O3 2000; open@02-28: O4 3000 (O3 won 02-16); open@03-31: O4 3000
        "pipeline_value": [2000, 3000, 3000],
        "csat": [(4 / 5 + 9 / 10) / 2, 3 / 5, NAN],  # C1 scale empty = 5, C2 9/10; C3
        "csat_responses": [2, 1, 0],
        "active": [1, 1, 1],
        "terminations": [0, 0, 0],
        # follow-ups / open opportunities at period end (1 each month: O3, O4, O4)
        "follow_ups_per_open_opp": [2 / 1, 1 / 1, 1 / 1],
        # pipeline open at the period start / quota: open@12-31 none; open@01-31 O3 2000;
        # open@02-28 O4 3000
        "pipeline_coverage": [0 / 3100, 2000 / 2800, 3000 / 3100],
        # open opps at end x win rate x avg deal / cycle days
        "pipeline_velocity": [1 * 0.5 * 1000 / 15, 1 * 1 * 2000 / 35, 1 * 1 * 4000 / 23],
        # Q1 won 1000 + 2000 + 4000; last 14 days 03-18..03-31: O5 4000
        "quarter_end_concentration": [4000 / 7000] * 3,
        "share_at_quota": [0, 0, 1],  # attainment >= 1 only in March
    }
    check(df, r1, "rep_id", "R1")

    # R2: hired Wed 2026-01-14; quota 3100 over 01-14..02-13 (31 days, 100/day)
    r2 = {
        "activities": [2, 1, 0],  # A10 call + A11 follow-up; A12 other
        "calls": [1, 0, 0],
        "follow_ups": [1, 0, 0],
        "other": [0, 1, 0],
        "opps_created": [2, 1, 0],  # O6 O7; O8
        "opps_won": [1, 0, 0],  # O6 01-30
        "opps_lost": [0, 1, 1],  # O7 02-03; O8 03-20 (no amount)
        "win_rate": [1, 0, 0],
        "revenue": [600, 0, 0],
        "avg_deal_size": [600, NAN, NAN],
        "median_deal_size": [600, NAN, NAN],
        "cycle_days": [11, NAN, NAN],  # 01-19 -> 01-30
        # proration: Jan 14..31 = 18 days, Feb 1..13 = 13 days; no quota in March
        "quota": [1800, 1300, NAN],
        "attainment": [600 / 1800, 0 / 1300, NAN],
        # open@01-31: O7 800; open@02-28: O8 (no amount: counts, adds 0); open@03-31: none
        "pipeline_value": [800, 0, 0],
        "csat": [1, NAN, NAN],
        "csat_responses": [1, 0, 0],
        "active": [1, 1, 1],
        "follow_ups_per_open_opp": [1 / 1, 0 / 1, NAN],  # March: 0 follow-ups / 0 open
        "pipeline_coverage": [0 / 1800, 800 / 1300, NAN],
        "pipeline_velocity": [1 * 1 * 600 / 11, NAN, NAN],  # no win -> no deal size
        "quarter_end_concentration": [0 / 600] * 3,  # O6 closed 01-30
        "share_at_quota": [0, 0, NAN],
    }
    check(df, r2, "rep_id", "R2")

    # R3: terminated Tue 2026-02-10; quota 4500 / 90 = 50/day
    r3 = {
        "activities": [1, 1, 0],  # A13 call; A14 follow-up on the termination day
        "opps_created": [2, 0, 0],  # O9 O10
        "opps_won": [1, 0, 0],
        "opps_lost": [0, 0, 0],
        "win_rate": [1, NAN, NAN],
        "revenue": [300, 0, 0],
        "cycle_days": [7, NAN, NAN],  # 01-02 -> 01-09
        "quota": [1550, 1400, 1550],  # the quota table still has March
        "attainment": [300 / 1550, 0, 0],
        "pipeline_value": [1500, 1500, 1500],  # O10 stays open in the data
        "active": [1, 1, 0],
        "terminations": [0, 1, 0],
        "follow_ups_per_open_opp": [0 / 1, 1 / 1, 0 / 1],
        "pipeline_coverage": [0 / 1550, 1500 / 1400, 1500 / 1550],
        "pipeline_velocity": [1 * 1 * 300 / 7, NAN, NAN],
        "quarter_end_concentration": [0 / 300] * 3,
        "share_at_quota": [0, 0, NAN],  # inactive in March: not counted
    }
    check(df, r3, "rep_id", "R3")

    # R4: quota 5400 / 90 = 60/day
    r4 = {
        "activities": [1, 0, 1],  # A15 visit; A16 follow-up
        "visits": [1, 0, 0],
        "opps_created": [2, 1, 1],  # O11 O12; O13; O14
        "opps_won": [0, 1, 1],  # O13 02-26; O11 03-31
        "opps_lost": [1, 0, 1],  # O12 01-15; O14 03-10
        "win_rate": [0, 1, 1 / 2],
        "revenue": [0, 1000, 5000],
        "avg_deal_size": [NAN, 1000, 5000],
        "cycle_days": [NAN, 15, 83],  # 02-11 -> 02-26; 01-07 -> 03-31 = 24 + 28 + 31
        "quota": [1860, 1680, 1860],
        "attainment": [0, 1000 / 1680, 5000 / 1860],
        "pipeline_value": [5000, 5000, 0],  # O11 open until it is won on 03-31
        "csat": [NAN, NAN, (2 / 5 + 8 / 10) / 2],
        "csat_responses": [0, 0, 2],
        "follow_ups_per_open_opp": [0 / 1, 0 / 1, NAN],  # March: 1 follow-up, 0 open
        "pipeline_coverage": [0 / 1860, 5000 / 1680, 5000 / 1860],
        "pipeline_velocity": [NAN, 1 * 1 * 1000 / 15, 0 * 0.5 * 5000 / 83],
        # Q1 won O13 1000 (02-26) + O11 5000 (03-31, last day: in the last 14 days)
        "quarter_end_concentration": [5000 / 6000] * 3,
        "share_at_quota": [0, 0, 1],
    }
    check(df, r4, "rep_id", "R4")

    r5 = {  # left 2025-06-30: inactive, nothing happens, no quota
        "active": [0, 0, 0],
        "activities": [0, 0, 0],
        "quota": [NAN, NAN, NAN],
        "pipeline_value": [0, 0, 0],
        "share_at_quota": [NAN, NAN, NAN],
        "follow_ups_per_open_opp": [NAN, NAN, NAN],
    }
    check(df, r5, "rep_id", "R5")
    assert dict(zip(df["rep_id"], df["team_id"], strict=True)) == {
        "R1": "T1",
        "R2": "T1",
        "R3": "T2",
        "R4": "T2",
        "R5": "T3",
    }


# --------------------------------------------------------------------------- week grain
def test_week_grain(tiny) -> None:
    df = panel(tiny, grain="week", by="rep")
    # ISO week across the year end: Thu 2026-01-01 belongs to the week of Mon 2025-12-29
    first = df[df["period_start"] == pd.Timestamp("2025-12-29")]
    assert set(first["period"]) == {"2025-12-29"}
    assert cell(df, "calls", rep_id="R1", period="2025-12-29") == 1  # A1 on 2026-01-01
    assert cell(df, "opps_created", rep_id="R3", period="2025-12-29") == 1  # O9 on 2026-01-02
    # the quota period starts 2026-01-01: 4 of the week's 7 days (Jan 1-4) x 100/day
    assert cell(df, "quota", rep_id="R1", period="2025-12-29") == pytest.approx(400)
    # the week starts in 2025Q4, which has no revenue: no concentration
    assert math.isnan(cell(df, "quarter_end_concentration", rep_id="R1", period="2025-12-29"))
    assert cell(df, "quarter_end_concentration", rep_id="R1", period="2026-01-05") == (
        pytest.approx(4000 / 7000)
    )
    # R1, week 2026-01-05..11: A2 visit, A3 + A4 follow-ups; O1, O2 created
    assert cell(df, "activities", rep_id="R1", period="2026-01-05") == 3
    assert cell(df, "follow_ups", rep_id="R1", period="2026-01-05") == 2
    # pipeline snapshots at each Sunday: open@01-11 O1 1000 + O2 500; open@01-18 + O3 2000;
    # open@01-25 O1 won 01-20 and O2 lost 01-22 -> O3 only; open@02-08 O3 + O4 3000;
    # open@02-22 O3 won 02-16 -> O4; open@03-08 O4 + O5 4000; open@03-29 O5 won 03-25 -> O4
    expected = {
        "2026-01-05": 1500,
        "2026-01-12": 3500,
        "2026-01-19": 2000,
        "2026-02-02": 5000,
        "2026-02-16": 3000,
        "2026-03-02": 7000,
        "2026-03-23": 3000,
        "2026-03-30": 3000,
    }
    for week, value in expected.items():
        assert cell(df, "pipeline_value", rep_id="R1", period=week) == pytest.approx(value), week
    # week of 2026-01-19: O1 won (01-20), O2 lost (01-22); A5 email
    assert cell(df, "win_rate", rep_id="R1", period="2026-01-19") == pytest.approx(0.5)
    # R1 week 2026-03-30..04-05: the quota period ends 03-31: 2 days x 100
    assert cell(df, "quota", rep_id="R1", period="2026-03-30") == pytest.approx(200)
    # R2 hired Wed 2026-01-14: inactive the week before, active that week with 5 quota days
    assert not cell(df, "active", rep_id="R2", period="2026-01-05")
    assert cell(df, "active", rep_id="R2", period="2026-01-12")
    assert cell(df, "quota", rep_id="R2", period="2026-01-12") == pytest.approx(500)
    assert math.isnan(cell(df, "quota", rep_id="R2", period="2026-01-05"))
    # R2's quota ends Fri 2026-02-13: week 2026-02-09 gets Feb 9..13 = 5 days
    assert cell(df, "quota", rep_id="R2", period="2026-02-09") == pytest.approx(500)
    # R3 terminated Tue 2026-02-10: active (and terminated) that week, inactive after
    assert cell(df, "active", rep_id="R3", period="2026-02-09")
    assert cell(df, "terminations", rep_id="R3", period="2026-02-09") == 1
    assert not cell(df, "active", rep_id="R3", period="2026-02-16")
    assert df.loc[df["rep_id"] == "R3", "terminations"].sum() == 1


# --------------------------------------------------------------------------- quarter, roll-ups
def test_quarter_team_rollups_are_ratios_of_sums(tiny) -> None:
    team = panel(tiny, grain="quarter", by="team")
    assert list(team["period"]) == ["2026Q1"] * 3
    assert list(team["team_id"]) == ["T1", "T2", "T3"]
    reps = panel(tiny, grain="quarter", by="rep")
    # T2 = R3 (1 won / 1 closed) + R4 (2 won / 4 closed): 3 / 5, not (1 + 0.5) / 2 = 0.75
    r3 = cell(reps, "win_rate", rep_id="R3")
    r4 = cell(reps, "win_rate", rep_id="R4")
    assert_allclose([r3, r4], [1.0, 0.5], rtol=0, atol=1e-12)
    assert cell(team, "win_rate", team_id="T2") == pytest.approx(3 / 5)
    assert (r3 + r4) / 2 != pytest.approx(3 / 5)
    t1 = {
        # R1 12 activities... per type: calls A1 A10, visits A2, emails A5, meetings A7, demos
        # A8, follow-ups A3 A4 A6 A9 A11, other A12
        "activities": [9 + 3],
        "calls": [2],
        "follow_ups": [5],
        "other": [1],
        "opps_created": [5 + 3],  # R1 O1-O5, R2 O6-O8
        "opps_won": [3 + 1],
        "opps_lost": [1 + 2],
        "win_rate": [4 / 7],
        "revenue": [7000 + 600],
        "avg_deal_size": [7600 / 4],
        "median_deal_size": [(1000 + 2000) / 2],  # deals 600, 1000, 2000, 4000
        "cycle_days": [(15 + 35 + 23 + 11) / 4],
        "quota": [9000 + 3100],
        "attainment": [7600 / 12100],
        "pipeline_value": [3000 + 0],  # open@03-31: O4
        "csat": [(0.8 + 0.9 + 0.6 + 1.0) / 4],  # pooled responses, not mean of rep means
        "csat_responses": [4],
        "n_active_reps": [2],
        "terminations": [0],
        "attrition": [0],
        "follow_ups_per_open_opp": [5 / 1],
        "pipeline_coverage": [0 / 12100],  # nothing open on 2025-12-31
        "pipeline_velocity": [1 * (4 / 7) * (7600 / 4) / (84 / 4)],
        "quarter_end_concentration": [4000 / 7600],
        "share_at_quota": [0 / 2],  # R1 7000/9000, R2 600/3100
    }
    check(team, t1, "team_id", "T1")
    t2 = {
        "activities": [2 + 2],
        "opps_won": [1 + 2],
        "opps_lost": [0 + 2],
        "revenue": [300 + 6000],
        "avg_deal_size": [6300 / 3],
        "median_deal_size": [1000],  # deals 300, 1000, 5000
        "cycle_days": [(7 + 15 + 83) / 3],
        "quota": [4500 + 5400],
        "attainment": [6300 / 9900],
        "pipeline_value": [1500],  # O10
        "csat": [(0.4 + 0.8) / 2],
        "n_active_reps": [2],  # R3 was employed until 02-10
        "terminations": [1],
        "attrition": [1 / 2],
        "follow_ups_per_open_opp": [2 / 1],  # A14, A16 / O10
        "pipeline_velocity": [1 * (3 / 5) * 2100 / 35],
        "quarter_end_concentration": [5000 / 6300],
        "share_at_quota": [1 / 2],  # R4 6000 >= 5400; R3 300 < 4500
    }
    check(team, t2, "team_id", "T2")
    t3 = {"n_active_reps": [0], "attrition": [NAN], "quota": [NAN], "share_at_quota": [NAN]}
    check(team, t3, "team_id", "T3")


def test_company_rollup(tiny) -> None:
    company = panel(tiny, grain="quarter", by="company")
    assert len(company) == 1
    row = company.iloc[0]
    assert row["period"] == "2026Q1"
    assert row["activities"] == 16 and row["follow_ups"] == 7
    assert row["opps_won"] == 7 and row["opps_lost"] == 5 and row["opps_closed"] == 12
    expected = {
        "win_rate": 7 / 12,
        "revenue": 7000 + 600 + 300 + 6000,
        "median_deal_size": 1000,  # 300 600 1000 [1000] 2000 4000 5000
        "cycle_days": (15 + 35 + 23 + 11 + 7 + 15 + 83) / 7,
        "quota": 9000 + 3100 + 4500 + 5400,
        "attainment": 13900 / 22000,
        "pipeline_value": 3000 + 1500,  # O4, O10
        "csat": (0.8 + 0.9 + 0.6 + 1.0 + 0.4 + 0.8) / 6,
        "n_active_reps": 4,
        "attrition": 1 / 4,
        "follow_ups_per_open_opp": 7 / 2,
        "pipeline_velocity": 2 * (7 / 12) * (13900 / 7) / (189 / 7),
        "quarter_end_concentration": (4000 + 5000) / 13900,
        "share_at_quota": 1 / 4,  # R4 only, among R1-R4 (R5 inactive)
    }
    for k, v in expected.items():
        assert row[k] == pytest.approx(v, rel=1e-12), k


def test_month_team_csat_and_win_rate_pool_reps(tiny) -> None:
    team = panel(tiny, grain="month", by="team")
    # T1 January: R1 csat (0.8 + 0.9) / 2 = 0.85, R2 1.0; pooled (0.8 + 0.9 + 1.0) / 3 = 0.9,
    # the mean of rep means would be 0.925
    assert cell(team, "csat", team_id="T1", period="2026-01") == pytest.approx(0.9)
    # T1 January: R1 1 won / 2 closed, R2 1 won / 1 closed -> 2 / 3 (mean of ratios 0.75)
    assert cell(team, "win_rate", team_id="T1", period="2026-01") == pytest.approx(2 / 3)
    # T2 February: R3 terminated 02-10 (active), R4 active -> attrition 1 / 2
    assert cell(team, "attrition", team_id="T2", period="2026-02") == pytest.approx(0.5)
    # T2 March: R3 inactive, R4 active -> 0 / 1
    assert cell(team, "n_active_reps", team_id="T2", period="2026-03") == 1
    assert cell(team, "attrition", team_id="T2", period="2026-03") == 0
    # company March: R1 (4000/3100) and R4 (5000/1860) at quota; R2 has no quota, R3 and R5
    # inactive -> 2 / 2
    company = panel(tiny, grain="month", by="company")
    assert cell(company, "share_at_quota", period="2026-03") == pytest.approx(1.0)
    # company February: R1 2000/2800, R2 0/1300, R3 0/1400, R4 1000/1680 -> 0 / 4
    assert cell(company, "share_at_quota", period="2026-02") == 0


def test_rollups_sum_rep_counts_at_every_grain(tiny) -> None:
    for grain in ("week", "month", "quarter"):
        reps = panel(tiny, grain=grain, by="rep")
        team = panel(tiny, grain=grain, by="team")
        summed = reps.groupby(["team_id", "period"], as_index=False)[
            ["activities", "opps_won", "revenue", "terminations", "pipeline_value"]
        ].sum()
        merged = team.merge(summed, on=["team_id", "period"], suffixes=("", "_reps"))
        assert len(merged) == len(team)
        for c in ["activities", "opps_won", "revenue", "terminations", "pipeline_value"]:
            assert_allclose(merged[c], merged[f"{c}_reps"], rtol=0, atol=1e-9, err_msg=c)


# --------------------------------------------------------------------------- fiscal quarters
def test_fiscal_quarters_start_month_2(tiny) -> None:
    df = panel(tiny, grain="quarter", by="rep", fiscal_year_start_month=2)
    # Jan 2026 is in FY2026Q4 (Nov 2025 - Jan 2026); Feb-Mar in FY2027Q1 (Feb - Apr 2026)
    assert list(df["period"].unique()) == ["FY2026Q4", "FY2027Q1"]
    assert list(df["period_start"].unique()) == list(pd.to_datetime(["2025-11-01", "2026-02-01"]))
    r1 = {
        "revenue": [1000, 2000 + 4000],
        "opps_won": [1, 2],
        # calendar-Q1 quota of 100/day: Jan 1..31 = 31 days; Feb 1..Mar 31 = 59 days
        "quota": [3100, 5900],
        "attainment": [1000 / 3100, 6000 / 5900],
        # FY2026Q4 ends 01-31 (last 14 days 01-18..01-31): O1 won 01-20;
        # FY2027Q1 ends 04-30 (last 14 days 04-17..04-30): nothing
        "quarter_end_concentration": [1000 / 1000, 0 / 6000],
        "share_at_quota": [0, 1],
    }
    check(df, r1, "rep_id", "R1")
    r4 = {"quota": [31 * 60, 59 * 60], "revenue": [0, 6000]}
    check(df, r4, "rep_id", "R4")


# --------------------------------------------------------------------------- bounds
def test_start_end_select_whole_periods_and_keep_values(tiny) -> None:
    full = panel(tiny, grain="week", by="rep")
    part = panel(tiny, grain="week", by="rep", start="2026-02-04", end="2026-03-10")
    # weeks overlapping [Wed 02-04, Tue 03-10]: Mondays 02-02 .. 03-09
    assert list(part["period"].unique()) == [
        "2026-02-02",
        "2026-02-09",
        "2026-02-16",
        "2026-02-23",
        "2026-03-02",
        "2026-03-09",
    ]
    # every KPI of a period is computed over the whole period, whatever the bounds: in particular
    # the pipeline carried in from before the start (R1's O3, created 01-12) and quarter figures
    sub = full[full["period"].isin(part["period"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, sub, check_exact=False, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("by", ["rep", "team", "company"])
@pytest.mark.parametrize("grain", ["month", "quarter"])
def test_bounds_consistency_all_levels(tiny, grain: str, by: str) -> None:
    full = panel(tiny, grain=grain, by=by, fiscal_year_start_month=2)
    part = panel(tiny, grain=grain, by=by, fiscal_year_start_month=2, start="2026-02-15")
    sub = full[full["period_start"] >= part["period_start"].min()].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, sub, check_exact=False, rtol=1e-12, atol=1e-9)


def test_pipeline_opening_balance_with_start(tiny) -> None:
    df = panel(tiny, grain="month", by="rep", start="2026-02-01")
    assert list(df["period"].unique()) == ["2026-02", "2026-03"]
    # R1: open@01-31 = O3 2000 (opening balance); Feb: + O4 3000 created, - O3 won -> 3000
    assert cell(df, "pipeline_value", rep_id="R1", period="2026-02") == pytest.approx(3000)
    assert cell(df, "pipeline_coverage", rep_id="R1", period="2026-02") == pytest.approx(
        2000 / 2800
    )
    # R4: O11 (created 01-07) open until 03-31
    assert cell(df, "pipeline_value", rep_id="R4", period="2026-02") == pytest.approx(5000)
    assert cell(df, "pipeline_value", rep_id="R4", period="2026-03") == 0


def test_future_bounds_give_empty_but_balanced_periods(tiny) -> None:
    df = panel(tiny, grain="month", by="team", start="2026-03-01", end="2026-05-31")
    assert list(df["period"].unique()) == ["2026-03", "2026-04", "2026-05"]
    t1 = df[df["team_id"] == "T1"]
    assert list(t1["activities"]) == [2, 0, 0]  # March: A8, A9 (R1); nothing later
    # O4 (R1) stays open after the data end
    assert list(t1["pipeline_value"]) == [3000, 3000, 3000]
    assert t1["quota"].isna().tolist() == [False, True, True]


def test_bad_arguments(tiny) -> None:
    with pytest.raises(ValueError, match="grain"):
        panel(tiny, grain="day")
    with pytest.raises(ValueError, match="by must be one of"):
        panel(tiny, by="region")
    with pytest.raises(ValueError, match="fiscal_year_start_month"):
        panel(tiny, grain="quarter", fiscal_year_start_month=0)
    with pytest.raises(ValueError, match="after end"):
        panel(tiny, start="2026-03-01", end="2026-02-01")


# --------------------------------------------------------------------------- inputs
def test_path_input_equals_dataset(tiny, tiny_folder: Path) -> None:
    from_path = panel(tiny_folder, grain="month", by="team")
    from_ds = panel(tiny, grain="month", by="team")
    pd.testing.assert_frame_equal(from_path, from_ds)
    # deterministic
    pd.testing.assert_frame_equal(from_ds, panel(tiny, grain="month", by="team"))


def test_optional_tables_absent(tmp_path: Path) -> None:
    from salesinsight.data import load

    tables = {k: v for k, v in TABLES.items() if k in ("reps", "opportunities")}
    with load(write_folder(tmp_path / "min", tables)) as ds:
        df = panel(ds, grain="month", by="rep")
    # range from opportunities alone: created 01-02 .. closed 03-31
    assert list(df["period"].unique()) == ["2026-01", "2026-02", "2026-03"]
    for c in ["activities", "calls", "follow_ups", "csat_responses"]:
        assert df[c].isna().all(), c
    for c in ["quota", "attainment", "csat", "pipeline_coverage", "share_at_quota"]:
        assert df[c].isna().all(), c
    assert df["follow_ups_per_open_opp"].isna().all()
    # opportunity KPIs are unaffected
    assert cell(df, "revenue", rep_id="R4", period="2026-03") == 5000
    assert cell(df, "pipeline_value", rep_id="R1", period="2026-02") == 3000


def test_parquet_folder_matches_csv(tiny, tmp_path: Path) -> None:
    from salesinsight.data import load

    folder = tmp_path / "pq"
    folder.mkdir()
    for name in TABLES:
        tiny.con.execute(
            f"COPY (SELECT * FROM {name}) TO '{folder / name}.parquet' (FORMAT parquet)"
        )
    with load(folder) as ds:
        got = panel(ds, grain="week", by="team")
    pd.testing.assert_frame_equal(got, panel(tiny, grain="week", by="team"))


# --------------------------------------------------------------------------- CLI
def test_cli_writes_csv_and_parquet(tiny, tiny_folder: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "p.csv"
    code = main(
        ["metrics", str(tiny_folder), "--grain", "month", "--by", "team", "--out", str(out_csv)]
    )
    assert code == 0
    back = pd.read_csv(out_csv)
    assert list(back.columns) == panel_columns("team")
    assert len(back) == 9
    assert (
        back.loc[(back["team_id"] == "T2") & (back["period"] == "2026-02"), "attrition"].item()
        == 0.5
    )
    out_pq = tmp_path / "p.parquet"
    args = ["metrics", str(tiny_folder), "--grain", "quarter", "--fiscal-year-start-month", "2"]
    assert main([*args, "--out", str(out_pq)]) == 0
    pq = pd.read_parquet(out_pq)
    assert list(pq["period"].unique()) == ["FY2026Q4", "FY2027Q1"]
    assert list(pq.columns) == panel_columns("rep")


def test_cli_errors(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    assert main(["metrics", str(tmp_path / "nope"), "--out", str(tmp_path / "x.csv")]) == 1
    assert "reps" in capsys.readouterr().err
    assert main(["metrics", str(tiny_folder), "--out", str(tmp_path / "x.xlsx")]) == 2
    assert main(["metrics", str(tiny_folder), "--start", "2026-13-01"]) == 2
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_csv_neutralises_formulas(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["reps"] = TABLES["reps"].replace("R1,T1,", 'R1,"=HYPERLINK(""http://x"")",')
    folder = write_folder(tmp_path / "evil", tables)
    out = tmp_path / "p.csv"
    assert main(["metrics", str(folder), "--grain", "quarter", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


# --------------------------------------------------------------------------- packed counting
@pytest.mark.parametrize(("bits", "expected_calls"), [(3, [3]), (1, [1, None])])
def test_packed_activity_counts_and_overflow_fallback(tiny, monkeypatch, bits, expected_calls):
    import functools
    import sys

    from salesinsight.metrics._sql import PanelQuery, panel_sql

    module = sys.modules["salesinsight.metrics._panel"]
    reference = panel(tiny, grain="month", by="team")
    calls = []

    def recording_sql(pq):
        calls.append(pq.activity_field_bits)
        return panel_sql(pq)

    # 1-bit fields hold at most 1 per type: R1's 2 January follow-ups overflow (the team's
    # 5 + 2 activities are flagged) and the panel is recomputed with one aggregate per type;
    # 3-bit fields hold up to 7, more than any rep-month here
    monkeypatch.setattr(
        module, "PanelQuery", functools.partial(PanelQuery, activity_field_bits=bits)
    )
    monkeypatch.setattr(module, "panel_sql", recording_sql)
    got = panel(tiny, grain="month", by="team")
    assert calls == expected_calls
    pd.testing.assert_frame_equal(got, reference)


def test_packed_overflow_is_flagged(tiny):
    import dataclasses

    from salesinsight.metrics._panel import build_query
    from salesinsight.metrics._sql import panel_sql

    pq = build_query(tiny, grain="month", by="rep", fiscal_year_start_month=1, start=None, end=None)
    raw = tiny.con.execute(panel_sql(dataclasses.replace(pq, activity_field_bits=1))).df()
    r1_jan = (raw["rep_id"] == "R1") & (raw["period"] == "2026-01")
    assert raw.loc[r1_jan, "_act_overflow"].item()
    # without the fallback the carry corrupts the counts: 2 follow-ups do not fit a 1-bit field
    assert raw.loc[r1_jan, "follow_ups"].item() != 2


@pytest.mark.parametrize("m", [1, 2, 3, 12])
def test_last_14_days_of_quarter_sql(m: int) -> None:
    import datetime as dt

    import duckdb

    from salesinsight.calendar import period_end
    from salesinsight.metrics._sql import PanelQuery

    pq = PanelQuery("week", m, "rep", (), True, True, True)
    sql = (
        f"SELECT d, {pq.in_last_14_days('d')} FROM range(DATE '2025-01-01', DATE '2027-01-01', "
        "INTERVAL 1 DAY) t(d)"
    )
    con = duckdb.connect()
    rows = con.execute(f"SELECT CAST(d AS DATE), flag FROM ({sql}) x(d, flag)").fetchall()
    con.close()
    for d, flag in rows:
        # definition: close_date >= quarter end - 13 days
        expected = d >= period_end(d, "quarter", m) - dt.timedelta(days=13)
        assert flag == expected, d
