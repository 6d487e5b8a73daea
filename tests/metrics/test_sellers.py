"""Per-rep figures are per seller: ``sellers_active`` excludes managers (data contract, KPI table).

A hand-written folder, January-February 2026, with a manager in each team. Every expected number
is worked out from the rows below, next to the assertion.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from salesinsight.evaluation.panel import num_den, unit_panel
from salesinsight.metrics import panel

REPS = """rep_id,team_id,hire_date,termination_date,name,role
M1,T1,2025-01-01,,Mia,manager
S1,T1,2025-01-01,,Sam,ae
S2,T1,2025-01-01,2026-02-10,Sue,ae
M2,T2,2025-01-01,2026-02-20,Max,Manager
S3,T2,2025-06-01,,Sid,
"""
OPPORTUNITIES = """opp_id,rep_id,created_date,status,close_date,amount
O1,S1,2026-01-05,won,2026-01-20,1000
O2,M1,2026-01-06,won,2026-02-03,500
O3,S3,2026-01-07,lost,2026-02-25,
"""
ACTIVITIES = """activity_id,rep_id,activity_date,type,opp_id
A1,S1,2026-01-05,follow_up,O1
A2,S1,2026-01-12,follow_up,O1
A3,S2,2026-01-13,follow_up,
A4,M1,2026-01-14,follow_up,O2
A5,S3,2026-01-15,follow_up,O3
A6,S3,2026-01-16,follow_up,O3
A7,S3,2026-01-19,follow_up,O3
A8,M2,2026-02-02,call,
A9,S1,2026-02-04,call,
A10,S3,2026-02-05,call,
A11,S3,2026-02-06,email,
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sellers")
    for name, text in (
        ("reps", REPS),
        ("opportunities", OPPORTUNITIES),
        ("activities", ACTIVITIES),
    ):
        (d / f"{name}.csv").write_text(text, encoding="utf-8")
    return d


def _row(df, **keys):
    m = df
    for k, v in keys.items():
        m = m[m[k] == v]
    assert len(m) == 1, keys
    return m.iloc[0]


def test_team_sellers_active_and_attrition(folder):
    team = panel(folder, grain="month", by="team")
    jan_t1 = _row(team, team_id="T1", period="2026-01")
    # T1 January: M1, S1, S2 employed -> 3 active reps, of which 2 sellers (M1 is a manager)
    assert (jan_t1["n_active_reps"], jan_t1["sellers_active"]) == (3, 2)
    # managers' own activities still count in the team total: A1 A2 A3 (sellers) + A4 (M1) = 4
    assert jan_t1["follow_ups"] == 4
    feb_t1 = _row(team, team_id="T1", period="2026-02")
    # S2 (a seller) left 02-10: 1 seller termination over 2 sellers active in February
    assert (feb_t1["terminations"], feb_t1["seller_terminations"]) == (1, 1)
    assert feb_t1["attrition"] == pytest.approx(1 / 2)
    feb_t2 = _row(team, team_id="T2", period="2026-02")
    # M2 ("Manager", any case) left 02-20: a termination, but not a seller leaving; S3 (no role)
    # is a seller -> attrition 0 / 1
    assert (feb_t2["n_active_reps"], feb_t2["sellers_active"]) == (2, 1)
    assert (feb_t2["terminations"], feb_t2["seller_terminations"]) == (1, 0)
    assert feb_t2["attrition"] == 0.0
    company = panel(folder, grain="month", by="company")
    feb = _row(company, period="2026-02")
    # company February: 5 active reps, 3 sellers (S1, S2, S3); sellers leaving: S2 -> 1 / 3
    # (counting every rep it would be 2 / 5)
    assert (feb["n_active_reps"], feb["sellers_active"]) == (5, 3)
    assert feb["attrition"] == pytest.approx(1 / 3)


def test_rep_panel_flags_sellers_and_roles_are_configurable(folder):
    rep = panel(folder, grain="month", by="rep")
    jan = rep[rep["period"] == "2026-01"].set_index("rep_id")
    assert jan["sellers_active"].to_dict() == {"M1": 0, "S1": 1, "S2": 1, "M2": 0, "S3": 1}
    # naming another non-selling role: S1, S2 are 'ae'
    team = panel(folder, grain="month", by="team", non_selling_roles=("manager", "AE"))
    assert _row(team, team_id="T1", period="2026-01")["sellers_active"] == 0
    team = panel(folder, grain="month", by="team", non_selling_roles=())
    assert _row(team, team_id="T1", period="2026-01")["sellers_active"] == 3


def test_evaluation_per_rep_outcomes_divide_by_sellers(folder):
    from salesinsight.data import load

    with load(folder) as ds:
        frame, _ = unit_panel(ds, unit="team", grain="month")
        num, den = num_den(frame, "follow_ups")
        t1 = (frame["unit_id"] == "T1") & (frame["period_start"] == "2026-01-01")
        # follow-ups per seller in T1 January: 4 follow-ups / 2 sellers = 2.0 (not 4 / 3)
        assert float(num[t1].iloc[0] / den[t1].iloc[0]) == pytest.approx(2.0)
        num, den = num_den(frame, "attrition")
        t1_feb = (frame["unit_id"] == "T1") & (frame["period_start"] == "2026-02-01")
        assert (float(num[t1_feb].iloc[0]), float(den[t1_feb].iloc[0])) == (1.0, 2.0)
        reps, _ = unit_panel(ds, unit="rep", grain="month")
        # a rep panel's units are sellers: the managers M1 and M2 are left out
        assert sorted(reps["unit_id"].unique()) == ["S1", "S2", "S3"]


def test_dataset_roles_are_the_panel_default(folder):
    from salesinsight.data import load

    with load(folder, non_selling_roles=["manager", "ae"]) as ds:
        team = panel(ds, grain="month", by="team")
    # every T1 rep is a manager or an ae: no sellers
    assert _row(team, team_id="T1", period="2026-01")["sellers_active"] == 0
