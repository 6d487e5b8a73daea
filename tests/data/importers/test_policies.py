"""Real-world policies in the mapping: close before created (error / clamp / drop), users left out
(system, integration, inactive) with their records, unknown keys with "did you mean", ``empty:``
on any column. Expected rows are read off the fixtures by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesinsight.data.importers import ImporterError, import_folder

USERS = (
    "Id,Name,UserType,IsActive,Team,HireDate\n"
    "U1,Ana Ruiz,Standard,true,T1,2025-01-01\n"
    "U2,Integration User,Standard,true,T1,2025-01-01\n"
    "U3,Automated Process,AutomatedProcess,true,T1,2025-01-01\n"
    "U4,Bo Li,Standard,false,T2,2025-01-01\n"
    "U5,Cy Ode,Standard,true,T2,2025-01-01\n"
)
OPPS = (
    "Id,OwnerId,CreatedDate,CloseDate,Status,Amount,LeadSource\n"
    "O1,U1,2026-01-10,2026-02-01,won,100,Web\n"
    "O2,U2,2026-01-11,2026-02-02,won,200,\n"
    "O3,U3,2026-01-12,2026-02-03,lost,300,Web\n"
    "O4,U4,2026-01-13,2026-02-04,won,400,Partner\n"
    "O5,U5,2026-03-20,2026-02-05,won,500,\n"  # closed before created (a migrated record)
    "O6,U5,2026-01-15,,open,600,Web\n"
)
HISTORY = (
    "OpportunityId,StageName,CreatedDate\nO1,Won,2026-02-01\nO4,Won,2026-02-04\nO5,Won,2026-02-05\n"
)
TASKS = (
    "Id,OwnerId,ActivityDate,WhatId\nT1,U1,2026-01-20,O4\nT2,U4,2026-01-21,O4\n"
    "T3,U5,2026-01-22,O5\nT4,U1,2026-01-23,\n"
)


def _export(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name, text in {
        "User.csv": USERS,
        "Opportunity.csv": OPPS,
        "OpportunityHistory.csv": HISTORY,
        "Task.csv": TASKS,
    }.items():
        (src / name).write_text(text, encoding="utf-8")
    return src


def _mapping(**opps: object) -> dict:
    return {
        "tables": {
            "reps": {
                "file": "User.csv",
                "columns": {
                    "rep_id": "Id",
                    "name": "Name",
                    "team_id": "Team",
                    "hire_date": "HireDate",
                },
            },
            "opportunities": {
                "file": "Opportunity.csv",
                "columns": {
                    "opp_id": "Id",
                    "rep_id": "OwnerId",
                    "created_date": "CreatedDate",
                    "close_date": "CloseDate",
                    "status": "Status",
                    "amount": "Amount",
                    "source": {"from": "LeadSource", "empty": "unknown"},
                },
                **opps,
            },
            "stage_history": {
                "file": "OpportunityHistory.csv",
                "columns": {
                    "opp_id": "OpportunityId",
                    "stage": "StageName",
                    "entered_date": "CreatedDate",
                },
            },
            "activities": {
                "file": "Task.csv",
                "columns": {
                    "activity_id": "Id",
                    "rep_id": "OwnerId",
                    "activity_date": "ActivityDate",
                    "opp_id": "WhatId",
                },
                "constants": {"type": "call"},
            },
        }
    }


def _read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


def test_close_before_created_is_an_error_by_default(tmp_path: Path) -> None:
    with pytest.raises(ImporterError) as info:
        import_folder(_export(tmp_path), tmp_path / "out", _mapping())
    (err,) = [p for p in info.value.errors if p.rule == "close_before_created"]
    assert err.values == (("2026-03-20 > 2026-02-05", 1, (5,)),)
    assert "close_before_created: clamp" in err.message
    assert not (tmp_path / "out").exists()


def test_clamp_moves_the_created_date_back(tmp_path: Path) -> None:
    result = import_folder(
        _export(tmp_path), tmp_path / "out", _mapping(close_before_created="clamp")
    )
    assert result.ok, result.summary()
    opps = _read(tmp_path / "out", "opportunities").set_index("opp_id")
    assert opps.loc["O5", "created_date"] == "2026-02-05" == opps.loc["O5", "close_date"]
    assert opps.loc["O1", "created_date"] == "2026-01-10"  # others untouched
    (w,) = [p for p in result.problems if p.rule == "close_before_created"]
    assert w.severity == "warning" and w.n_rows == 1


def test_drop_leaves_out_the_deal_and_its_history(tmp_path: Path) -> None:
    result = import_folder(
        _export(tmp_path), tmp_path / "out", _mapping(close_before_created="drop")
    )
    assert result.ok, result.summary()
    out = tmp_path / "out"
    assert _read(out, "opportunities")["opp_id"].tolist() == ["O1", "O2", "O3", "O4", "O6"]
    assert _read(out, "stage_history")["opp_id"].tolist() == ["O1", "O4"]
    acts = _read(out, "activities").set_index("activity_id")
    assert acts.loc["T3", "opp_id"] == ""  # the task stays, its reference is emptied
    assert result.rows["opportunities"] == 5


def test_users_left_out_take_their_records(tmp_path: Path) -> None:
    m = _mapping(close_before_created="clamp")
    m["tables"]["reps"].update(
        keep_rows={"IsActive": ["true"]},
        exclude_rows={"UserType": ["AutomatedProcess"]},
        exclude_matching={"Name": "integration|automated"},
    )
    result = import_folder(_export(tmp_path), tmp_path / "out", m)
    assert result.ok, result.summary()
    out = tmp_path / "out"
    assert _read(out, "reps")["rep_id"].tolist() == ["U1", "U5"]
    # O2 (integration user), O3 (automated process), O4 (inactive) go with their owners
    assert _read(out, "opportunities")["opp_id"].tolist() == ["O1", "O5", "O6"]
    assert _read(out, "stage_history")["opp_id"].tolist() == ["O1", "O5"]
    acts = _read(out, "activities").set_index("activity_id")
    assert acts.index.tolist() == ["T1", "T3", "T4"]  # T2 was U4's
    assert acts.loc["T1", "opp_id"] == ""  # U1 worked on O4, which left with U4
    (owned,) = [
        p for p in result.problems if p.rule == "owner_excluded" and p.table == "opportunities"
    ]
    assert owned.n_rows == 3 and {v for v, _, _ in owned.values} == {"U2", "U3", "U4"}
    dropped = [p for p in result.problems if p.rule == "rows_dropped"]
    assert dropped[0].n_rows == 3


def test_empty_on_a_plain_column_is_applied(tmp_path: Path) -> None:
    result = import_folder(
        _export(tmp_path), tmp_path / "out", _mapping(close_before_created="clamp")
    )
    sources = _read(tmp_path / "out", "opportunities")["source"].tolist()
    assert sources == ["Web", "unknown", "Web", "Partner", "unknown", "Web"]
    (note,) = [p for p in result.problems if p.rule == "empty_filled"]
    assert note.column == "source" and note.n_rows == 2


def test_unknown_keys_say_did_you_mean(tmp_path: Path) -> None:
    m = _mapping(close_before_created="clmap", keep_row={"x": ["y"]})
    m["tables"]["opportunities"]["columns"]["empty"] = "other"
    m["tables"]["opportunities"]["columns"]["status"] = {"from": "Status", "valeus": {"w": "won"}}
    m["tables"]["activites"] = {"file": "Task.csv"}
    m["date_format"] = ["%d/%m/%Y"]
    with pytest.raises(ImporterError) as info:
        import_folder(_export(tmp_path), tmp_path / "out", m)
    text = str(info.value)
    assert "'keep_row' (did you mean 'keep_rows'?)" in text
    assert "got 'clmap' (did you mean 'clamp'?)" in text
    assert "'valeus' (did you mean 'values'?)" in text
    assert "'activites' is not a contract table (did you mean 'activities'?)" in text
    assert "'date_format' (did you mean 'date_formats'?)" in text
    assert "`empty:` is a key of a column spec: put it inside the column" in text
    assert len(info.value.errors) == 6
