"""A tiny hand-written data folder for the KPI panel tests.

Five reps in three teams, January-March 2026 (events start on Thursday 2026-01-01, inside the ISO
week of Monday 2025-12-29):

- R1 (T1) employed throughout.
- R2 (T1) hired Wednesday 2026-01-14 (mid-month, mid-week); its quota period 2026-01-14..2026-02-13
  straddles January and February.
- R3 (T2) terminated Tuesday 2026-02-10.
- R4 (T2) employed throughout.
- R5 (T3) left in 2025: every row inactive.

The expected numbers in ``test_panel.py`` are worked out by hand from these rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPS = """rep_id,team_id,hire_date,termination_date,name
R1,T1,2025-01-01,,Ann
R2,T1,2026-01-14,,Bo
R3,T2,2024-06-01,2026-02-10,Cy
R4,T2,2025-03-01,,Di
R5,T3,2024-01-01,2025-06-30,Ed
"""

OPPORTUNITIES = """opp_id,rep_id,created_date,status,close_date,amount
O1,R1,2026-01-05,won,2026-01-20,1000
O2,R1,2026-01-06,lost,2026-01-22,500
O3,R1,2026-01-12,won,2026-02-16,2000
O4,R1,2026-02-02,open,,3000
O5,R1,2026-03-02,won,2026-03-25,4000
O6,R2,2026-01-19,won,2026-01-30,600
O7,R2,2026-01-20,lost,2026-02-03,800
O8,R2,2026-02-09,lost,2026-03-20,
O9,R3,2026-01-02,won,2026-01-09,300
O10,R3,2026-01-05,open,,1500
O11,R4,2026-01-07,won,2026-03-31,5000
O12,R4,2026-01-08,lost,2026-01-15,200
O13,R4,2026-02-11,won,2026-02-26,1000
O14,R4,2026-03-03,lost,2026-03-10,700
"""

ACTIVITIES = """activity_id,rep_id,activity_date,type,opp_id
A1,R1,2026-01-01,call,
A2,R1,2026-01-05,visit,
A3,R1,2026-01-05,follow_up,O1
A4,R1,2026-01-06,follow_up,O2
A5,R1,2026-01-20,email,
A6,R1,2026-02-03,follow_up,O4
A7,R1,2026-02-16 15:30:00,meeting,
A8,R1,2026-03-02,demo,O5
A9,R1,2026-03-30,follow_up,O4
A10,R2,2026-01-14,call,
A11,R2,2026-01-19,follow_up,O6
A12,R2,2026-02-09,other,
A13,R3,2026-01-02,call,
A14,R3,2026-02-10,follow_up,O10
A15,R4,2026-01-07,visit,
A16,R4,2026-03-03,follow_up,O14
"""

QUOTAS = """rep_id,period_start,period_end,quota_amount
R1,2026-01-01,2026-03-31,9000
R2,2026-01-14,2026-02-13,3100
R3,2026-01-01,2026-03-31,4500
R4,2026-01-01,2026-03-31,5400
"""

CSAT = """response_id,rep_id,response_date,score,scale
C1,R1,2026-01-21,4,
C2,R1,2026-01-28,9,10
C3,R1,2026-02-17,3,5
C4,R2,2026-01-31,5,5
C5,R4,2026-03-11,2,5
C6,R4,2026-03-12,8,10
"""

TABLES = {
    "reps": REPS,
    "opportunities": OPPORTUNITIES,
    "activities": ACTIVITIES,
    "quotas": QUOTAS,
    "csat": CSAT,
}


def write_folder(folder: Path, tables: dict[str, str]) -> Path:
    """Write ``{table: csv text}`` into ``folder`` as ``<table>.csv``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny folder with every table above."""
    return write_folder(tmp_path_factory.mktemp("tiny"), TABLES)


@pytest.fixture(scope="session")
def tiny(tiny_folder: Path):
    """The tiny folder loaded (validated) as a Dataset."""
    from salesinsight.data import load

    ds = load(tiny_folder)
    yield ds
    ds.close()
