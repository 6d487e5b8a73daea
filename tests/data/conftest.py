"""A small hand-written, contract-valid data folder and helpers to break it on purpose."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

Rows = list[list[str]]

#: Every table and every contract column, hand-written; valid under the contract with no warnings.
#: Includes a leading-zero rep id ("007"), timestamps where dates are expected, an empty csat scale.
VALID: dict[str, Rows] = {
    "reps": [
        [
            "rep_id",
            "team_id",
            "hire_date",
            "termination_date",
            "name",
            "region",
            "role",
            "manager_id",
        ],
        ["R001", "T1", "2024-01-15", "", "Ann", "north", "ae", "R003"],
        ["R002", "T1", "2024-03-01", "2025-06-30", "Bo", "north", "ae", "R003"],
        ["R003", "T2", "2023-05-01", "", "Cy", "south", "manager", ""],
        ["007", "T2", "2024-02-01", "", "Dee", "south", "ae", "R003"],
    ],
    "opportunities": [
        ["opp_id", "rep_id", "created_date", "status", "close_date", "amount", "account_id"]
        + ["stage", "source", "discount"],
        ["O1", "R001", "2025-01-10", "won", "2025-02-20", "1000", "A1", "won", "inbound", "0.1"],
        ["O2", "R002", "2025-01-12", "lost", "2025-03-01", "500", "A2", "lost", "outbound", ""],
        ["O3", "007", "2025-02-01", "open", "", "800", "A3", "proposal", "referral", ""],
        ["O4", "R003", "2025-02-03T09:30:00", "won", "2025-04-01 16:00:00", "2500.5", "A1"]
        + ["won", "inbound", "0"],
    ],
    "stage_history": [
        ["opp_id", "stage", "entered_date"],
        ["O1", "prospect", "2025-01-10"],
        ["O1", "won", "2025-02-20"],
        ["O3", "proposal", "2025-02-10"],
    ],
    "activities": [
        ["activity_id", "rep_id", "activity_date", "type", "opp_id", "account_id"],
        ["AC1", "R001", "2025-01-11", "call", "O1", "A1"],
        ["AC2", "R001", "2025-01-12 10:15:00", "visit", "O1", "A1"],
        ["AC3", "R002", "2025-01-13", "email", "", "A2"],
        ["AC4", "R002", "2025-01-14", "meeting", "O2", "A2"],
        ["AC5", "007", "2025-02-02", "demo", "O3", "A3"],
        ["AC6", "007", "2025-02-05", "follow_up", "O3", "A3"],
        ["AC7", "R003", "2025-02-04", "other", "", ""],
    ],
    "quotas": [
        ["rep_id", "period_start", "period_end", "quota_amount"],
        ["R001", "2025-01-01", "2025-03-31", "3000"],
        ["R002", "2025-01-01", "2025-03-31", "3000"],
        ["007", "2025-01-01", "2025-03-31", "2500.5"],
    ],
    "programs": [
        ["program_id", "name", "kind", "design", "unit", "start_date", "end_date", "description"],
        ["P_TRAIN", "Training", "training", "staggered", "rep", "2025-01-01", "", "rollout"],
        ["P_COACH", "Coaching", "coaching", "randomized", "team", "2025-02-01", "2025-06-30", ""],
        ["P_MENTOR", "Mentoring", "mentoring", "observational", "rep", "2025-01-01", "", ""],
    ],
    "enrollments": [
        ["program_id", "unit_id", "arm", "start_date", "mentor_id"],
        ["P_TRAIN", "R001", "treatment", "2025-01-15", ""],
        ["P_TRAIN", "007", "treatment", "2025-02-15", ""],
        ["P_COACH", "T1", "treatment", "2025-02-01", ""],
        ["P_COACH", "T2", "control", "2025-02-01", ""],
        ["P_MENTOR", "R002", "treatment", "2025-01-20", "R003"],
    ],
    "csat": [
        ["response_id", "rep_id", "response_date", "score", "scale", "account_id", "opp_id"],
        ["C1", "R001", "2025-02-25", "4", "5", "A1", "O1"],
        ["C2", "R003", "2025-04-05", "9", "10", "A1", "O4"],
        ["C3", "007", "2025-03-01", "3", "", "A3", "O3"],
    ],
    "reviews": [
        ["rep_id", "period", "score", "rating", "reviewer_id"],
        ["R001", "2025Q1", "3.5", "b", "007"],
        ["007", "2025Q1", "4", "a", ""],
    ],
}


def valid_tables() -> dict[str, Rows]:
    """A fresh deep copy of :data:`VALID` to edit."""
    return copy.deepcopy(VALID)


def set_cell(tables: dict[str, Rows], table: str, row: int, column: str, value: str) -> None:
    """Set ``column`` of data row ``row`` (1-based, header excluded) of ``table`` to ``value``."""
    rows = tables[table]
    rows[row][rows[0].index(column)] = value


def drop_column(tables: dict[str, Rows], table: str, column: str) -> None:
    """Remove ``column`` from ``table``."""
    i = tables[table][0].index(column)
    for row in tables[table]:
        del row[i]


def _csv_text(rows: Rows) -> str:
    def cell(v: str) -> str:
        return f'"{v}"' if ("," in v or '"' in v) else v

    return "".join(",".join(cell(v) for v in row) + "\n" for row in rows)


def write_folder(
    folder: Path, tables: dict[str, Rows], encoding: str = "utf-8", bom: bool = False
) -> Path:
    """Write each table as ``<name>.csv`` into ``folder`` (created) and return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        data = _csv_text(rows).encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        (folder / f"{name}.csv").write_bytes(data)
    return folder


def folder_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> hex digest)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tables() -> dict[str, Rows]:
    """Editable copy of the valid tables."""
    return valid_tables()


@pytest.fixture
def make_folder(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_folder(tables, name="data", **write_kwargs)`` writes a folder under tmp."""

    def _make(tables: dict[str, Rows] | None = None, name: str = "data", **kwargs: object) -> Path:
        return write_folder(tmp_path / name, valid_tables() if tables is None else tables, **kwargs)  # type: ignore[arg-type]

    return _make
