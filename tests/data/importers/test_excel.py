"""Excel workbooks as import sources: a sheet per table or named sheets, dates stored as date
cells, as serial numbers or as text; ``.xls``; the openpyxl fallback.

Expected values are written by hand from the cells put in each fixture (Excel serial 46217 is
2026-07-14: days since 1899-12-30).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from salesinsight.data.importers import ImporterError, import_folder
from salesinsight.data.importers import excel as excel_mod

USERS = [
    ["Id", "Name", "Team", "HireDate"],
    ["007", "Ana", "T1", dt.date(2025, 1, 6)],
    ["008", "Bo", "T2", dt.date(2025, 2, 3)],
]
DEALS = [
    ["Id", "Owner", "Created", "Closed", "Status", "Amount"],
    # a date cell, a serial number typed as a plain number, a date typed as text
    ["D1", "007", dt.datetime(2026, 7, 14, 9, 30), 46218, "Won", 1200.5],
    ["D2", "008", 46217, "2026/7/20", "Lost", 300],
    [None, None, None, None, None, None],  # a blank row in the sheet
    ["D3", "007", "2026/07/16", None, "Open", None],
]
MAPPING_TABLES = {
    "reps": {
        "columns": {"rep_id": "Id", "name": "Name", "team_id": "Team", "hire_date": "HireDate"}
    },
    "opportunities": {
        "columns": {
            "opp_id": "Id",
            "rep_id": "Owner",
            "created_date": "Created",
            "close_date": "Closed",
            "status": "Status",
            "amount": "Amount",
        }
    },
}


def _book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _mapping(reps: dict, opps: dict) -> dict:
    return {
        "tables": {
            "reps": {**reps, **MAPPING_TABLES["reps"]},
            "opportunities": {**opps, **MAPPING_TABLES["opportunities"]},
        }
    }


def _check_output(out: Path) -> None:
    reps = pd.read_csv(out / "reps.csv", dtype=str, keep_default_na=False)
    assert reps.to_dict("list") == {
        "rep_id": ["007", "008"],  # text cells keep their leading zeros
        "team_id": ["T1", "T2"],
        "hire_date": ["2025-01-06", "2025-02-03"],
        "name": ["Ana", "Bo"],
    }
    opps = pd.read_csv(out / "opportunities.csv", dtype=str, keep_default_na=False)
    assert opps["opp_id"].tolist() == ["D1", "D2", "D3"]  # the blank row is not a record
    assert opps["created_date"].tolist() == ["2026-07-14", "2026-07-14", "2026-07-16"]
    assert opps["close_date"].tolist() == ["2026-07-15", "2026-07-20", ""]
    assert opps["status"].tolist() == ["won", "lost", "open"]
    assert opps["amount"].tolist() == ["1200.5", "300.0", ""]


def test_named_sheets_of_one_workbook(tmp_path: Path) -> None:
    _book(tmp_path / "src" / "export.xlsx", {"Users": USERS, "Deals": DEALS})
    m = _mapping(
        {"file": "export.xlsx", "sheet": "users"}, {"file": "export.xlsx", "sheet": "Deals"}
    )
    result = import_folder(tmp_path / "src", tmp_path / "out", m)
    assert result.ok, result.summary()
    _check_output(tmp_path / "out")


def test_a_workbook_per_table_and_sheet_numbers(tmp_path: Path) -> None:
    _book(tmp_path / "src" / "users.xlsx", {"Sheet1": USERS})
    _book(tmp_path / "src" / "deals.xlsx", {"Notes": [["x"]], "Data": DEALS})
    m = _mapping({"file": "users.xlsx"}, {"file": "deals.xlsx", "sheet": 2})
    import_folder(tmp_path / "src", tmp_path / "out", m)
    _check_output(tmp_path / "out")


def test_legacy_xls(tmp_path: Path) -> None:
    import xlwt

    wb = xlwt.Workbook()
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in {"Users": USERS, "Deals": DEALS}.items():
        ws = wb.add_sheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if isinstance(v, dt.date):
                    ws.write(i, j, v, date_style)
                elif v is not None:
                    ws.write(i, j, v)
    (tmp_path / "src").mkdir()
    wb.save(str(tmp_path / "src" / "export.xls"))
    m = _mapping({"file": "export.xls", "sheet": "Users"}, {"file": "export.xls", "sheet": "Deals"})
    import_folder(tmp_path / "src", tmp_path / "out", m)
    _check_output(tmp_path / "out")


def test_sheet_problems_name_the_sheets(tmp_path: Path) -> None:
    _book(tmp_path / "src" / "export.xlsx", {"Users": USERS, "Deals": DEALS})
    (tmp_path / "src" / "plain.csv").write_text("a\n1\n", encoding="utf-8")
    m = _mapping({"file": "export.xlsx"}, {"file": "export.xlsx", "sheet": "Opps"})
    m["tables"]["activities"] = {"file": "plain.csv", "sheet": "x"}
    with pytest.raises(ImporterError) as info:
        import_folder(tmp_path / "src", tmp_path / "out", m)
    text = str(info.value)
    assert "export.xlsx has 2 sheets ('Users', 'Deals'); say which one with `sheet:`" in text
    assert "export.xlsx has no sheet 'Opps' (sheets: 'Users', 'Deals')" in text
    assert "`sheet: x` is set but plain.csv is no workbook" in text
    assert not (tmp_path / "out").exists()


def test_serial_dates_can_be_switched_off(tmp_path: Path) -> None:
    _book(tmp_path / "src" / "export.xlsx", {"Users": USERS, "Deals": DEALS})
    m = _mapping(
        {"file": "export.xlsx", "sheet": "Users"}, {"file": "export.xlsx", "sheet": "Deals"}
    )
    m["tables"]["opportunities"]["excel_dates"] = "false"
    with pytest.raises(ImporterError) as info:
        import_folder(tmp_path / "src", tmp_path / "out", m)
    bad = [p for p in info.value.errors if p.rule == "date"]
    assert {(p.column, v[0]) for p in bad for v in p.values} == {
        ("created_date", "46217"),
        ("close_date", "46218"),
    }


def test_openpyxl_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _book(tmp_path / "src" / "export.xlsx", {"Users": USERS, "Deals": DEALS})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("calamine cannot read this file")

    monkeypatch.setattr(excel_mod, "_calamine_rows", broken)
    m = _mapping(
        {"file": "export.xlsx", "sheet": "Users"}, {"file": "export.xlsx", "sheet": "Deals"}
    )
    import_folder(tmp_path / "src", tmp_path / "out", m)
    _check_output(tmp_path / "out")


def test_title_rows_above_the_header(tmp_path: Path) -> None:
    """Chinese ERP/CRM workbooks often start with a report title; CSV exports may too."""
    titled = [["销售订单列表"], ["导出时间: 2026-07-20"], [None], *DEALS]
    _book(tmp_path / "src" / "export.xlsx", {"Users": USERS, "Deals": titled})
    m = _mapping(
        {"file": "export.xlsx", "sheet": "Users"}, {"file": "export.xlsx", "sheet": "Deals"}
    )
    result = import_folder(tmp_path / "src", tmp_path / "out", m)
    _check_output(tmp_path / "out")  # header found on row 4, rows counted from there
    assert any("export.xlsx: header on row 4 (title rows above)" in str(p) for p in result.problems)
    # a CSV export with two title lines needs header_row (no guessing for text files)
    (tmp_path / "src2").mkdir()
    (tmp_path / "src2" / "users.csv").write_text(
        "Report: Users\nGenerated 2026-07-20\nId,Name,Team,HireDate\n007,Ana,T1,2025-01-06\n"
        "008,Bo,T2,2025-02-03\n",
        encoding="utf-8",
    )
    _book(tmp_path / "src2" / "deals.xlsx", {"Deals": DEALS})
    m = _mapping({"file": "users.csv", "header_row": 3}, {"file": "deals.xlsx"})
    import_folder(tmp_path / "src2", tmp_path / "out2", m)
    _check_output(tmp_path / "out2")
    m["tables"]["reps"]["header_row"] = "0"
    with pytest.raises(ImporterError, match=r"header_row must be a row number from 1, got '0'"):
        import_folder(tmp_path / "src2", tmp_path / "out3", m)
