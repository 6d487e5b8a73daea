"""Hostile inputs to validation: dates that are not contract dates, future dates.

DuckDB on its own reads 'infinity', 'epoch', '2026/07/14' and '-2026-07-14' as dates (9999-12-31,
1970-01-01, ..., a date BC); the contract accepts only ISO ``YYYY-MM-DD`` (a timestamp's date part
is used) within a plausible range. Each such value is an error naming table, column, row and value.
"""

from __future__ import annotations

import pytest

from salesinsight.cli import main
from salesinsight.data import validate
from tests.data.conftest import set_cell, valid_tables, write_folder

HOSTILE_DATES = [
    "infinity",
    "epoch",
    "-2026-07-14",
    "99999-01-01",
    "2026/07/14",
    "2026-02-30",  # impossible
    "2026-7-4",  # not zero-padded
    "1850-01-01",  # before the plausible range
    "2025-01-12 25:00:00",  # impossible time
]


@pytest.mark.parametrize("value", HOSTILE_DATES)
def test_non_contract_date_is_an_error_naming_table_column_row_value(tmp_path, value):
    tables = valid_tables()
    set_cell(tables, "activities", 3, "activity_date", value)
    report = validate(write_folder(tmp_path / "data", tables))
    errors = [p for p in report.errors if p.rule == "date"]
    assert len(errors) == 1, str(report)
    (p,) = errors
    assert (p.table, p.column, tuple(p.rows), tuple(p.values)) == (
        "activities",
        "activity_date",
        (3,),
        (value,),
    )
    assert "YYYY-MM-DD" in p.message


def test_all_bad_dates_reported_at_once(tmp_path):
    tables = valid_tables()
    for row, value in enumerate(HOSTILE_DATES[:5], start=1):
        set_cell(tables, "activities", row, "activity_date", value)
    set_cell(tables, "reps", 2, "hire_date", "epoch")
    report = validate(write_folder(tmp_path / "data", tables))
    found = {(p.table, p.column): p for p in report.errors if p.rule == "date"}
    assert set(found) == {("activities", "activity_date"), ("reps", "hire_date")}
    assert found[("activities", "activity_date")].n_rows == 5
    assert tuple(found[("activities", "activity_date")].rows) == (1, 2, 3, 4, 5)


def test_iso_dates_and_timestamps_still_validate(tmp_path):
    tables = valid_tables()
    set_cell(tables, "activities", 1, "activity_date", "2025-01-11T10:00:00Z")
    set_cell(tables, "activities", 3, "activity_date", "2025-01-13T10:00:00+02:00")
    set_cell(tables, "activities", 4, "activity_date", " 2025-01-14 ")
    report = validate(write_folder(tmp_path / "data", tables))
    assert report.ok and not [p for p in report.problems if p.rule == "date"], str(report)


def test_future_event_date_is_a_warning(tmp_path):
    tables = valid_tables()
    set_cell(tables, "csat", 1, "response_date", "2099-06-30")
    report = validate(write_folder(tmp_path / "data", tables))
    assert report.ok, str(report)
    (w,) = [p for p in report.warnings if p.rule == "future_date"]
    assert (w.table, w.column, tuple(w.rows)) == ("csat", "response_date", (1,))
    assert tuple(w.values) == ("2099-06-30",)


def test_metrics_on_hostile_dates_is_a_message_not_a_traceback(tmp_path, capsys):
    tables = valid_tables()
    set_cell(tables, "opportunities", 2, "created_date", "infinity")
    folder = write_folder(tmp_path / "data", tables)
    assert main(["metrics", str(folder), "--grain", "month"]) == 1
    err = capsys.readouterr().err
    assert "opportunities.created_date" in err and "'infinity'" in err
    assert "Traceback" not in err


def test_parquet_date_outside_the_plausible_range_is_an_error(tmp_path):
    import datetime as dt

    import pandas as pd

    tables = valid_tables()
    folder = write_folder(tmp_path / "data", tables)
    rows = tables["activities"]
    df = pd.DataFrame(rows[1:], columns=rows[0])
    dates = [dt.date.fromisoformat(str(d)[:10]) for d in df["activity_date"]]
    dates[1] = dt.date(1850, 1, 1)  # a typed DATE column: no text to reject, the range still holds
    df["activity_date"] = dates
    (folder / "activities.csv").unlink()
    df.to_parquet(folder / "activities.parquet", index=False)
    report = validate(folder)
    (p,) = [p for p in report.errors if p.rule == "date"]
    assert (p.table, p.column, tuple(p.rows)) == ("activities", "activity_date", (2,))
