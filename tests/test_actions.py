"""Action rules on hand-made tables: each rule fires where it should and nowhere else."""

from __future__ import annotations

import pandas as pd
import pytest

from salesinsight.actions import build_actions

AS_OF = pd.Timestamp("2026-06-30")


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["M1", "A", "B", "C", "D", "E", "NEW"],
            "team_id": ["T1"] * 7,
            "hire_date": ["2020-01-01"] * 6 + ["2026-03-01"],
            "manager_id": ["", "M1", "M1", "M1", "M1", "M1", "M1"],
            "role": ["manager"] + ["ae"] * 6,
        }
    )


def _profiles() -> pd.DataFrame:
    # A: busy, converts poorly; B: barely active; C: strong; D, E: middling; NEW: ramping and idle
    return pd.DataFrame(
        {
            "rep_id": ["A", "B", "C", "D", "E", "NEW"],
            "team_id": ["T1"] * 6,
            "activity_raw": [400.0, 65.0, 300.0, 250.0, 260.0, 10.0],
            "activity": [400.0, 70.0, 300.0, 250.0, 260.0, 20.0],
            "activity_pctl": [90.0, 5.0, 70.0, 40.0, 45.0, 1.0],
            "win_rate": [0.12, 0.2, 0.35, 0.22, 0.24, 0.1],
            "win_rate_low": [0.08, 0.1, 0.3, 0.18, 0.2, 0.0],
            "win_rate_high": [0.16, 0.3, 0.4, 0.26, 0.28, 0.4],
            "win_rate_n": [80.0, 5.0, 60.0, 50.0, 50.0, 2.0],
            "win_rate_pctl": [5.0, 30.0, 95.0, 50.0, 60.0, 1.0],
        }
    )


def _history() -> pd.DataFrame:
    rows = []
    for rep, att in {"A": 0.4, "B": 0.7, "C": 1.3, "D": 1.0, "E": 2.2}.items():
        for q in ("2025Q3", "2025Q4", "2026Q1", "2026Q2"):
            rows.append({"rep_id": rep, "period": q, "attainment": att})
    return pd.DataFrame(rows)


def test_each_rule_fires_where_it_should():
    fc = pd.DataFrame(
        {
            "rep_id": ["A", "D", "E"],
            "team_id": ["T1"] * 3,
            "quota": [300_000.0, 100_000.0, 50_000.0],
            "suggested_quota": [100_000.0, 100_000.0, 120_000.0],
        }
    )
    alerts = pd.DataFrame({"rep_id": ["D"], "team_id": ["T1"], "message": ["win rate fell"]})
    len_ = pd.DataFrame(
        {
            "reviewer_id": ["M1", "M9"],
            "n_reviews": [40, 3],
            "leniency": [5.0, 4.0],
            "ci_low": [2.0, -3.0],
            "ci_high": [8.0, 11.0],
            "flag": ["lenient", "in line"],
        }
    )
    plan = build_actions(
        reps=_reps(),
        profiles=_profiles(),
        attainment_history=_history(),
        forecast=fc,
        alerts=alerts,
        leniency=len_,
        as_of=AS_OF,
    )
    got = {(r.rep_id, r.action) for r in plan.frame.itertuples()}
    assert got == {
        ("A", "deal coaching"),
        ("B", "activity goal"),
        ("C", "ready to mentor"),
        ("A", "quota check"),  # 3x the history-based quota and a 40% median attainment
        ("E", "quota check"),  # 0.4x and 220%
        ("D", "check in"),
        ("M1", "review calibration"),
    }
    assert set(plan.frame["manager_id"]) == {"M1"}
    b = plan.frame[plan.frame["action"] == "activity goal"].iloc[0]
    # 65 activities over 13 weeks = 5 a week; +15% is 5.75 -> at least one more: 6 a week
    assert b["value"] == pytest.approx(5.0) and b["benchmark"] == 6.0
    assert "6 and review it every week" in b["reason"]
    a = plan.frame[(plan.frame["rep_id"] == "A") & (plan.frame["action"] == "quota check")]
    assert "too high" in a.iloc[0]["reason"] and "3.0x" in a.iloc[0]["reason"]
    assert "+2.0" in plan.frame[plan.frame["action"] == "review calibration"].iloc[0]["reason"]


def test_nothing_without_inputs_and_no_tenure_without_a_date():
    assert build_actions(reps=_reps()).frame.empty
    plan = build_actions(reps=_reps(), profiles=_profiles(), attainment_history=_history())
    assert plan.frame.empty  # without as_of every seller counts as new (no today's date)
    assert "none of the rules" in str(plan)
