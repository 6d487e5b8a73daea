"""`salesinsight import --suggest`: a draft mapping from headers and values, which imports once the
analyst fills what it cannot know. Expected guesses are read off the fixtures by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesinsight.commands import importer as cmd
from salesinsight.data.importers import import_folder, merge_mappings
from salesinsight.data.importers.suggest import suggest_mapping
from salesinsight.metrics import panel
from tests._reference import shared_file

REPO = Path(__file__).resolve().parents[3]
MAVEN_PARTS = ("real-data", "maven-crm-sales-opportunities")


def _draft(folder: Path) -> dict:
    return yaml.safe_load(suggest_mapping(folder))


def test_maven_draft_imports_after_filling_the_todos(tmp_path: Path) -> None:
    maven = shared_file(*MAVEN_PARTS, "sales_pipeline.csv").parent  # see tests/_reference.py
    text = suggest_mapping(maven)
    assert "# TODO hire_date: <header>   (required; no header looked like it)" in text
    draft = yaml.safe_load(text)
    opps = draft["tables"]["opportunities"]
    assert (
        opps["file"] == "sales_pipeline.csv"
        and draft["tables"]["reps"]["file"] == "sales_teams.csv"
    )
    assert opps["columns"]["opp_id"] == "opportunity_id"
    assert opps["columns"]["rep_id"] == "sales_agent"
    assert opps["columns"]["amount"] == "close_value"
    assert opps["columns"]["status"]["values"] == {"Engaging": "open", "Prospecting": "open"}
    filled = merge_mappings(
        draft,
        {
            "tables": {
                "reps": {
                    "columns": {"team_id": "manager"},
                    "constants": {"hire_date": "2016-10-01"},
                },
                "opportunities": {"keep_rows": {"deal_stage": ["Engaging", "Won", "Lost"]}},
            }
        },
    )
    result = import_folder(maven, tmp_path / "out", filled)
    assert result.ok, result.summary()
    raw = pd.read_csv(maven / "sales_pipeline.csv")
    won = raw[raw["deal_stage"] == "Won"]
    df = panel(tmp_path / "out", grain="quarter", by="company")
    assert df["revenue"].sum() == pytest.approx(won["close_value"].sum(), abs=1e-6)


def test_chinese_export_draft(tmp_path: Path) -> None:
    import openpyxl

    src = tmp_path / "export"
    src.mkdir()
    (src / "员工.csv").write_bytes(
        "工号,姓名,组别,入职日期\nE01,张三,华东,2024/3/1\nE02,李四,华北,2024/5/6\n".encode("gbk")
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "商机"
    for row in [
        ["商机编号", "负责人", "创建日期", "状态", "结单日期", "金额", "客户名称"],
        ["S1", "E01", "2026/1/5", "赢单", "2026/2/1", "12,000.00", "甲"],
        ["S2", "E02", "2026/1/6", "输单", "2026/2/2", "5,000.00", "乙"],
        ["S3", "E01", "2026/1/7", "跟进中", "", "800", "丙"],
    ]:
        ws.append(row)
    ws2 = wb.create_sheet("跟进记录")
    for row in [
        ["跟进记录ID", "负责人", "跟进日期", "跟进方式", "关联商机"],
        ["F1", "E01", "2026/1/8", "电话", "S1"],
        ["F2", "E02", "2026/1/9", "上门拜访", "S2"],
        ["F3", "E01", "2026/1/10", "微信", ""],
    ]:
        ws2.append(row)
    wb.save(src / "CRM导出.xlsx")
    draft = _draft(src)
    t = draft["tables"]
    assert t["reps"]["file"] == "员工.csv" and t["reps"]["encoding"] == "gb18030"
    assert t["reps"]["columns"] == {
        "rep_id": "工号",
        "team_id": "组别",
        "hire_date": "入职日期",
        "name": "姓名",
    }
    assert t["reps"]["date_formats"] == ["%Y/%m/%d"]
    assert (t["opportunities"]["file"], t["opportunities"]["sheet"]) == ("CRM导出.xlsx", "商机")
    assert t["opportunities"]["columns"]["status"]["values"] == {
        "赢单": "won",
        "输单": "lost",
        "跟进中": "open",
    }
    assert t["activities"]["sheet"] == "跟进记录"
    assert t["activities"]["columns"]["type"]["values"] == {"电话": "call", "上门拜访": "visit"}
    assert t["activities"]["columns"]["type"]["unmapped"] == "other"
    result = import_folder(src, tmp_path / "out", draft)  # complete: imports as suggested
    assert result.ok, result.summary()
    acts = pd.read_csv(tmp_path / "out" / "activities.csv", dtype=str, keep_default_na=False)
    assert acts["type"].tolist() == ["call", "visit", "other"]


def test_sniffed_number_and_date_conventions(tmp_path: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    (src / "deals.csv").write_text(
        "Deal Id;Owner;Created;Status;Close Date;Amount\n"
        "D1;R1;03/07/2026;Won;04/08/2026;1.234,50\nD2;R1;05/07/2026;Open;;12,5\n",
        encoding="utf-8",
    )
    text = suggest_mapping(src)
    assert 'decimal: ","' in text and 'thousands: "."' in text
    assert "month-first and day-first both fit every sampled date" in text
    assert "# TODO reps: no file looked like it (required)" in text


def test_cli_suggest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["import", "--suggest", str(tmp_path / "nope")])
    assert args.handler(args) == 2
    assert "does not exist" in capsys.readouterr().err


def test_salesforce_like_export_draft(tmp_path: Path) -> None:
    """Flags, first + last name and a currency column are recognised as wholes."""
    from tests.data.importers.test_presets import SF_CURRENCY, SF_OPP, SF_USER

    src = tmp_path / "export"
    src.mkdir()
    (src / "User.csv").write_bytes(SF_USER.encode("cp1252"))
    (src / "Opportunity.csv").write_bytes(SF_OPP.encode("cp1252"))
    text = suggest_mapping(src)
    assert "# 4 currencies (COP, MXN, PEN, USD): add `fx:` rates" in text
    draft = yaml.safe_load(text)
    reps, opps = draft["tables"]["reps"], draft["tables"]["opportunities"]
    assert reps["encoding"] == "cp1252"
    assert reps["columns"]["name"] == {"from": ["FirstName", "LastName"], "join": " "}
    assert opps["columns"]["status"]["from"] == ["IsClosed", "IsWon"]
    assert opps["columns"]["amount"] == {"from": "Amount", "currency_column": "CurrencyIsoCode"}
    (src / "CurrencyType.csv").write_text(SF_CURRENCY, encoding="utf-8")
    filled = merge_mappings(
        draft,
        {
            "fx": {"to": "USD", "file": "CurrencyType.csv", "code": "IsoCode"}
            | {"rate": "ConversionRate", "quote": "per_reporting"},
            "tables": {
                "reps": {
                    "columns": {
                        "hire_date": "CreatedDate",
                        # the integration and automated users have no department
                        "team_id": {"from": "Department", "empty": "unassigned"},
                    }
                }
            },
        },
    )
    result = import_folder(src, tmp_path / "out", filled)
    assert result.ok, result.summary()
    amounts = pd.read_csv(tmp_path / "out" / "opportunities.csv")["amount"].tolist()
    # every user kept (the draft has no user policy): 20000/20, 1000/4, 4e6/4000, 500, 3000/4
    assert amounts == [1000.0, 250.0, 1000.0, 500.0, 750.0]
