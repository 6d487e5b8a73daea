"""Stage history rebuilt from dated snapshots of an export that only has the current stage.

Expected rows are read off the three weekly fixtures by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from salesinsight.data.importers import ImporterError, import_folder
from salesinsight.data.importers.snapshots import snapshot_date

WEEKS = {
    "2026-07-06": "Id,Name,StageName\nO1,A,Prospecting\nO3,C,Negociación\n",
    "2026-07-13": "Id,Name,StageName\nO1,A,Proposal\nO2,B,Prospecting\nO3,C,Negociación\n",
    "2026-07-20": "Id,Name,StageName\nO1,A,Closed Won\nO2,B,Prospecting\nO3,C,Closed Lost\n",
}
LATEST = (
    "Id,OwnerId,CreatedDate,CloseDate,StageName,IsClosed,IsWon,Amount\n"
    "O1,U1,2026-07-01,2026-07-18,Closed Won,true,true,100\n"
    "O2,U1,2026-07-10,2026-08-30,Prospecting,false,false,50\n"
    "O3,U2,2026-06-20,2026-07-19,Closed Lost,true,false,70\n"
)
USERS = "Id,Team,HireDate\nU1,T1,2025-01-01\nU2,T1,2025-01-01\n"


def _export(tmp_path: Path) -> Path:
    src = tmp_path / "export"
    for day, text in WEEKS.items():
        (src / "snapshots" / day).mkdir(parents=True)
        (src / "snapshots" / day / "Opportunity.csv").write_bytes(text.encode("cp1252"))
    (src / "Opportunity.csv").write_text(LATEST, encoding="utf-8")
    (src / "User.csv").write_text(USERS, encoding="utf-8")
    return src


def _mapping(**history: object) -> dict:
    return {
        "tables": {
            "reps": {
                "file": "User.csv",
                "columns": {"rep_id": "Id", "team_id": "Team", "hire_date": "HireDate"},
            },
            "opportunities": {
                "file": "Opportunity.csv",
                "columns": {
                    "opp_id": "Id",
                    "rep_id": "OwnerId",
                    "created_date": "CreatedDate",
                    "close_date": {"from": "CloseDate", "only_when": {"status": ["won", "lost"]}},
                    "status": {
                        "from": ["IsClosed", "IsWon"],
                        "values": {"true|true": "won", "true|false": "lost", "false|false": "open"},
                    },
                    "amount": "Amount",
                    "stage": "StageName",
                },
            },
            "stage_history": {
                "snapshots": "snapshots/*/Opportunity.csv",
                "columns": {"opp_id": "Id", "stage": "StageName"},
                **history,
            },
        }
    }


def test_snapshot_dates_from_paths() -> None:
    assert snapshot_date("exports/2026-07-13/Opportunity.csv") == dt.date(2026, 7, 13)
    assert snapshot_date("exports/weekly_20260720.xlsx") == dt.date(2026, 7, 20)
    assert snapshot_date("exports/2025-01-01/v2026_02_03/Opp.csv") == dt.date(2026, 2, 3)
    assert snapshot_date("exports/latest/Opportunity.csv") is None
    assert snapshot_date("exports/2026-13-40/x.csv") is None  # not a date


def test_history_diffed_from_weekly_snapshots(tmp_path: Path) -> None:
    result = import_folder(_export(tmp_path), tmp_path / "out", _mapping())
    assert result.ok, result.summary()
    hist = pd.read_csv(tmp_path / "out" / "stage_history.csv", dtype=str)
    assert hist.values.tolist() == [
        ["O1", "Prospecting", "2026-07-06"],
        ["O1", "Proposal", "2026-07-13"],
        ["O1", "Closed Won", "2026-07-20"],
        ["O2", "Prospecting", "2026-07-13"],  # first seen in the second snapshot
        ["O3", "Negociación", "2026-07-06"],  # unchanged in week 2: no row
        ["O3", "Closed Lost", "2026-07-20"],
    ]
    assert any(
        "rebuilt from 3 snapshots (2026-07-06 to 2026-07-20)" in str(p) for p in result.problems
    )


def test_snapshot_problems(tmp_path: Path) -> None:
    src = _export(tmp_path)
    (src / "snapshots" / "latest").mkdir()
    (src / "snapshots" / "latest" / "Opportunity.csv").write_text(WEEKS["2026-07-06"])
    with pytest.raises(ImporterError, match=r"latest/Opportunity.csv: no date"):
        import_folder(src, tmp_path / "o1", _mapping())
    m = _mapping()
    m["tables"]["stage_history"]["columns"]["stage"] = "Stage"
    (src / "snapshots" / "latest" / "Opportunity.csv").unlink()
    with pytest.raises(
        ImporterError, match=r"has no column 'Stage' \(headers: Id, Name, StageName\)"
    ):
        import_folder(src, tmp_path / "o2", m)
    m = _mapping(snapshots="weekly/*.csv")
    with pytest.raises(ImporterError, match="no snapshot file matches 'weekly/\\*.csv'"):
        import_folder(src, tmp_path / "o3", m)
    assert not any((tmp_path / d).exists() for d in ("o1", "o2", "o3"))
