"""Every bundled preset on a small fixture laid out like the vendor's real export (file names,
headers, encodings, workbook format, date style). Expected rows are written out by hand from the
fixture rows; amounts converted by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from salesinsight.commands import importer as cmd
from salesinsight.data.importers import import_folder, list_presets
from salesinsight.metrics import panel


def _xlsx(path: Path, rows: list[list[object]], sheet: str = "Sheet1") -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _csv(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


def test_list_presets_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = __import__("argparse").ArgumentParser()
    cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["import", "--list-presets"])
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line.split(":")[0] for line in lines]
    assert names == sorted(list_presets())
    for name in ("salesforce", "zoho", "jiandaoyun", "kingdee-jdy", "fxiaoke", "xiaoshouyi"):
        assert name in names


# --- Salesforce: a Spanish org's weekly Data Export (Windows-1252, four currencies) -------------

SF_USER = (
    "Id,Username,LastName,FirstName,CompanyName,Division,Department,Title,IsActive,UserType,"
    "ManagerId,CreatedDate\n"
    "0051,jpena@acme.co,Peña,José,Acme,,Bogotá,Ejecutivo,true,Standard,0053,2024-01-08T13:00:00.000Z\n"
    "0052,mnunez@acme.pe,Núñez,María,Acme,,Lima,Ejecutiva,true,Standard,0053,2024-02-05T13:00:00.000Z\n"
    "0053,lgomez@acme.mx,Gómez,Luis,Acme,,México,Gerente,false,Standard,,2023-03-01T13:00:00.000Z\n"
    "0054,integration@00d.ext,Integration User,,Acme,,,,true,Standard,,2023-01-01T00:00:00.000Z\n"
    "0055,autoproc@00d,Automated Process,,Acme,,,,true,AutomatedProcess,,2023-01-01T00:00:00.000Z\n"
)
SF_OPP = (
    "Id,IsDeleted,AccountId,Name,StageName,Amount,Probability,CloseDate,Type,LeadSource,IsClosed,"
    "IsWon,ForecastCategory,CurrencyIsoCode,OwnerId,CreatedDate\n"
    "0061,false,0011,Compañía Andina,Cerrada ganada,20000,100,2026-02-10,,Web,true,true,Closed,MXN,0051,"
    "2026-01-05T15:00:00.000Z\n"
    "0062,false,0012,Señales Perú,Cerrada perdida,1000,0,2026-02-11,,,true,false,Omitted,PEN,0052,"
    "2026-01-06T15:00:00.000Z\n"
    "0063,false,0013,Café del Sur,Negociación/Revisión,4000000,60,2026-03-30,,,false,false,Pipeline,COP,0051,"
    "2026-01-07T15:00:00.000Z\n"
    "0064,false,0014,Migración,Cerrada ganada,500,100,2026-02-12,,,true,true,Closed,USD,0054,"
    "2026-01-08T15:00:00.000Z\n"
    "0065,false,0015,Gómez SA,Cerrada ganada,3000,100,2026-02-13,,,true,true,Closed,PEN,0053,"
    "2026-01-09T15:00:00.000Z\n"
)
SF_FIELD_HISTORY = (
    "Id,IsDeleted,OpportunityId,CreatedById,CreatedDate,Field,DataType,OldValue,NewValue\n"
    "0171,false,0061,0051,2026-01-20T10:00:00.000Z,StageName,Text,Prospección,Negociación/Revisión\n"
    "0172,false,0061,0051,2026-02-10T10:00:00.000Z,StageName,Text,Negociación/Revisión,Cerrada ganada\n"
    "0173,false,0061,0051,2026-01-21T10:00:00.000Z,Amount,Currency,15000,20000\n"
    "0174,false,0065,0053,2026-02-13T10:00:00.000Z,StageName,Text,Propuesta,Cerrada ganada\n"
)
SF_CURRENCY = (
    "Id,IsoCode,ConversionRate,DecimalPlaces,IsActive,IsCorporate\n"
    "01L1,USD,1,2,true,true\n01L2,MXN,20,2,true,false\n01L3,COP,4000,2,true,false\n"
    "01L4,PEN,4,2,true,false\n"
)


def test_salesforce_spanish_data_export(tmp_path: Path) -> None:
    src = tmp_path / "export"
    _csv(src / "User.csv", SF_USER, "cp1252")
    _csv(src / "Opportunity.csv", SF_OPP, "cp1252")
    _csv(src / "OpportunityFieldHistory.csv", SF_FIELD_HISTORY, "cp1252")
    _csv(src / "CurrencyType.csv", SF_CURRENCY)
    overlay = {
        "tables": {"reps": {"columns": {"team_id": "Department", "hire_date": "CreatedDate"}}}
    }
    result = import_folder(src, tmp_path / "out", overlay, preset="salesforce")
    assert result.ok, result.summary()
    out = tmp_path / "out"
    reps = _read(out, "reps")
    # active human sellers only; no `Name` column needed (FirstName + LastName)
    assert reps[["rep_id", "name", "team_id"]].values.tolist() == [
        ["0051", "José Peña", "Bogotá"],
        ["0052", "María Núñez", "Lima"],
    ]
    opps = _read(out, "opportunities")
    # 0064 (integration user) and 0065 (inactive Luis) leave with their owners
    assert opps["opp_id"].tolist() == ["0061", "0062", "0063"]
    assert opps["stage"].tolist() == ["Cerrada ganada", "Cerrada perdida", "Negociación/Revisión"]
    # 20000 MXN / 20 = 1000 USD; 1000 PEN / 4 = 250; 4,000,000 COP / 4000 = 1000
    assert [float(a) for a in opps["amount"]] == [1000.0, 250.0, 1000.0]
    assert opps["amount_currency"].tolist() == ["MXN", "PEN", "COP"]
    assert opps["status"].tolist() == ["won", "lost", "open"]
    hist = _read(out, "stage_history")
    assert hist[["opp_id", "stage", "entered_date"]].values.tolist() == [
        ["0061", "Negociación/Revisión", "2026-01-20"],
        ["0061", "Cerrada ganada", "2026-02-10"],
    ]  # the Amount change is not a stage; 0065's row left with its owner
    owned = [p for p in result.problems if p.rule == "owner_excluded"]
    assert [(p.table, p.n_rows) for p in owned] == [("opportunities", 2)]
    assert {v for v, _, _ in owned[0].values} == {"0053", "0054"}


def test_salesforce_mixed_currencies_without_currency_type(tmp_path: Path) -> None:
    src = tmp_path / "export"
    _csv(src / "User.csv", SF_USER, "cp1252")
    _csv(src / "Opportunity.csv", SF_OPP, "cp1252")
    overlay = {
        "tables": {"reps": {"columns": {"team_id": "Department", "hire_date": "CreatedDate"}}}
    }
    with pytest.raises(Exception) as info:
        import_folder(src, tmp_path / "out", overlay, preset="salesforce")
    assert "mixes currencies (COP, MXN, PEN, USD)" in str(info.value)


# --- Zoho CRM: module exports with field labels; Deals also as an API dump ----------------------

ZOHO_USERS = (
    "Full Name,Email,Role,Profile,Status,Team,Hire Date\n"
    "Ana Ruiz,ana@z.io,Sales Rep,Standard,active,North,2024-01-02\n"
    "Ben Ode,ben@z.io,Sales Rep,Standard,active,South,2024-02-01\n"
    "Old Timer,old@z.io,Sales Rep,Standard,deactivated,South,2020-01-01\n"
)
ZOHO_DEALS = (
    "Record Id,Deal Owner,Deal Name,Amount,Closing Date,Stage,Created Time,Account Name,"
    "Lead Source,Currency,Exchange Rate\n"
    "zcrm_1,Ana Ruiz,Big deal,1200,2026-02-10,Closed Won,2026-01-05 09:15:00,Acme,Web,EUR,0.8\n"
    "zcrm_2,Ben Ode,Lost one,800,2026-02-11,Closed-Lost to Competition,2026-01-06 10:00:00,Beta,,USD,1\n"
    "zcrm_3,Ana Ruiz,Open one,500,2026-04-30,Negotiation/Review,2026-01-07 11:00:00,Gamma,,EUR,0.8\n"
)
ZOHO_CALLS = (
    "Record Id,Call Owner,Subject,Call Type,Call Start Time,Call Duration,Related To Id\n"
    "zc_1,Ana Ruiz,Intro,Outbound,2026-01-08 09:00:00,00:10,zcrm_1\n"
    "zc_2,Ben Ode,Check-in,Outbound,2026-01-09 14:30:00,00:05,\n"
)
ZOHO_TASKS = (
    "Record Id,Task Owner,Subject,Due Date,Status,Closed Time,Related To Id\n"
    "zt_1,Ana Ruiz,Send proposal email,2026-01-10,Completed,2026-01-11 16:00:00,zcrm_1\n"
    "zt_2,Ben Ode,Product demo,2026-01-12,Not Started,,zcrm_2\n"
    "zt_3,Ben Ode,Follow-up,2026-01-13,Completed,,\n"
)


def test_zoho_module_exports(tmp_path: Path) -> None:
    src = tmp_path / "export"
    for name, text in {
        "Users.csv": ZOHO_USERS,
        "Deals.csv": ZOHO_DEALS,
        "Calls.csv": ZOHO_CALLS,
        "Tasks.csv": ZOHO_TASKS,
    }.items():
        _csv(src / name, text)
    overlay = {"tables": {"reps": {"columns": {"team_id": "Team", "hire_date": "Hire Date"}}}}
    result = import_folder(src, tmp_path / "out", overlay, preset="zoho")
    assert result.ok, result.summary()
    out = tmp_path / "out"
    assert _read(out, "reps")["rep_id"].tolist() == ["Ana Ruiz", "Ben Ode"]  # deactivated out
    opps = _read(out, "opportunities")
    assert opps[["opp_id", "rep_id", "status", "close_date", "created_date"]].values.tolist() == [
        ["zcrm_1", "Ana Ruiz", "won", "2026-02-10", "2026-01-05"],
        ["zcrm_2", "Ben Ode", "lost", "2026-02-11", "2026-01-06"],
        ["zcrm_3", "Ana Ruiz", "open", "", "2026-01-07"],
    ]
    assert not [p for p in result.problems if p.rule == "unmapped_value"]  # standard stages known
    # home currency USD: 1200 EUR / 0.8 = 1500; 800 USD / 1 = 800; 500 EUR / 0.8 = 625
    assert [float(a) for a in opps["amount"]] == [1500.0, 800.0, 625.0]
    assert opps["amount_currency"].tolist() == ["EUR", "USD", "EUR"]
    acts = _read(out, "activities")
    assert acts[["activity_id", "type", "activity_date", "opp_id"]].values.tolist() == [
        ["zc_1", "call", "2026-01-08", "zcrm_1"],
        ["zc_2", "call", "2026-01-09", ""],
        ["zt_1", "email", "2026-01-11", "zcrm_1"],  # completed: Closed Time
        ["zt_3", "follow_up", "2026-01-13", ""],  # no Closed Time: Due Date
    ]


def test_zoho_deals_as_api_dump_in_a_workbook(tmp_path: Path) -> None:
    src = tmp_path / "export"
    _csv(src / "Users.csv", ZOHO_USERS)
    _xlsx(
        src / "Deals.xlsx",
        [
            ["id", "Owner", "Deal_Name", "Amount", "Closing_Date", "Stage", "Created_Time"],
            [
                "1",
                "Ana Ruiz",
                "A",
                100,
                dt.date(2026, 3, 1),
                "Closed Won",
                "2026-01-02T10:00:00+01:00",
            ],
        ],
        sheet="Deals",
    )
    overlay = {"tables": {"reps": {"columns": {"team_id": "Team", "hire_date": "Hire Date"}}}}
    result = import_folder(src, tmp_path / "out", overlay, preset="zoho")
    assert result.ok, result.summary()
    opps = _read(tmp_path / "out", "opportunities")
    assert opps[["opp_id", "status", "close_date", "created_date", "amount"]].values.tolist() == [
        ["1", "won", "2026-03-01", "2026-01-02", "100.0"]
    ]


# --- 纷享销客: web list exports (.xlsx, Chinese labels) -------------------------------------------


def test_fxiaoke_list_exports(tmp_path: Path) -> None:
    src = tmp_path / "export"
    _xlsx(
        src / "人员.xlsx",
        [
            ["姓名", "主属部门", "状态", "入职日期", "汇报对象"],
            ["张三", "华东一部", "启用", dt.date(2024, 3, 1), "王五"],
            ["李四", "华北二部", "启用", dt.date(2024, 5, 6), "王五"],
            ["赵六", "华北二部", "停用", dt.date(2022, 1, 1), "王五"],
            ["纷享销客超级管理员", "全公司", "启用", dt.date(2020, 1, 1), ""],
        ],
    )
    _xlsx(
        src / "商机.xlsx",
        [
            [
                "商机名称",
                "客户名称",
                "负责人",
                "销售阶段",
                "阶段状态",
                "商机金额",
                "结单日期",
                "创建时间",
                "生命状态",
            ],
            [
                "华东项目",
                "甲公司",
                "张三",
                "赢单",
                "赢单",
                12000,
                "2026-02-20",
                "2026-01-05 10:30",
                "正常",
            ],
            [
                "华北项目",
                "乙公司",
                "李四",
                "商务谈判",
                "输单",
                5000,
                "2026-02-21",
                "2026-01-06 11:00",
                "正常",
            ],
            [
                "新项目",
                "丙公司",
                "张三",
                "需求确认",
                "进行中",
                8000,
                "2026-05-01",
                "2026-01-07 09:00",
                "正常",
            ],
            [
                "作废项目",
                "丁公司",
                "李四",
                "需求确认",
                "进行中",
                100,
                "2026-05-01",
                "2026-01-08 09:00",
                "作废",
            ],
        ],
    )
    _xlsx(
        src / "销售记录.xlsx",
        [
            ["编号", "创建人", "创建时间", "跟进方式", "关联商机"],
            ["R1", "张三", "2026-01-10 10:00", "电话", "华东项目"],
            ["R2", "李四", "2026-01-11 15:20", "上门拜访", "华北项目"],
            ["R3", "张三", "2026-01-12 09:00", "微信沟通", ""],
        ],
    )
    _xlsx(
        src / "外勤签到.xlsx",
        [
            ["签到编号", "签到人", "签到时间", "签到地址"],
            ["C1", "李四", "2026-01-11 14:55", "北京"],
        ],
    )
    result = import_folder(src, tmp_path / "out", preset="fxiaoke")
    assert result.ok, result.summary()
    out = tmp_path / "out"
    reps = _read(out, "reps")
    assert reps[["rep_id", "team_id", "hire_date"]].values.tolist() == [
        ["张三", "华东一部", "2024-03-01"],
        ["李四", "华北二部", "2024-05-06"],
    ]
    opps = _read(out, "opportunities")
    assert opps[["opp_id", "status", "close_date", "created_date", "stage"]].values.tolist() == [
        ["华东项目", "won", "2026-02-20", "2026-01-05", "赢单"],
        ["华北项目", "lost", "2026-02-21", "2026-01-06", "商务谈判"],
        ["新项目", "open", "", "2026-01-07", "需求确认"],
    ]
    acts = _read(out, "activities")
    assert acts[["activity_id", "rep_id", "type", "opp_id"]].values.tolist() == [
        ["R1", "张三", "call", "华东项目"],
        ["R2", "李四", "visit", "华北项目"],
        ["R3", "张三", "other", ""],
        ["C1", "李四", "visit", ""],
    ]


# --- 销售易: 商机 with the stage dictionary; 活动记录 as a GBK CSV ---------------------------------


def test_xiaoshouyi_exports(tmp_path: Path) -> None:
    src = tmp_path / "export"
    _xlsx(
        src / "用户.xlsx",
        [
            ["姓名", "所属部门", "直属上级", "入职日期", "状态"],
            ["周一", "销售一部", "吴总", "2024-01-02", "启用"],
            ["钱二", "销售二部", "吴总", "2024-02-03", "启用"],
        ],
    )
    _xlsx(
        src / "商机.xlsx",
        [
            ["商机名称", "客户名称", "负责人", "销售阶段", "商机金额", "结单日期", "创建日期"],
            ["甲", "客户A", "周一", "赢单", "¥12,000.00", "2026/02/20", "2026/01/05"],
            ["乙", "客户B", "钱二", "输单", "5000", "2026/02/21", "2026/01/06"],
            ["丙", "客户C", "周一", "方案/报价", "8000", "2026/05/01", "2026/01/07"],
            ["丁", "客户D", "钱二", "谈判审核", "3000", "2026/06/01", "2026/01/08"],
        ],
    )
    _csv(
        src / "活动记录.csv",
        "活动记录ID,负责人,活动时间,活动类型,所属商机\n"
        "A1,周一,2026-01-09 10:00,电话,甲\nA2,钱二,2026-01-10 14:00,拜访,乙\n"
        "A3,周一,2026-01-11 09:30,会议,丙\n",
        "gbk",
    )
    result = import_folder(src, tmp_path / "out", preset="xiaoshouyi")
    assert result.ok, result.summary()
    out = tmp_path / "out"
    opps = _read(out, "opportunities")
    assert opps[["opp_id", "status", "close_date", "amount"]].values.tolist() == [
        ["甲", "won", "2026-02-20", "12000.0"],
        ["乙", "lost", "2026-02-21", "5000.0"],
        ["丙", "open", "", "8000.0"],
        ["丁", "open", "", "3000.0"],
    ]
    assert not [p for p in result.problems if p.rule == "unmapped_value"]
    acts = _read(out, "activities")
    assert acts[["activity_id", "type", "activity_date", "opp_id"]].values.tolist() == [
        ["A1", "call", "2026-01-09", "甲"],
        ["A2", "visit", "2026-01-10", "乙"],
        ["A3", "meeting", "2026-01-11", "丙"],
    ]
    assert any("活动记录.csv decoded as GB18030" in str(p) for p in result.problems)


# --- 金蝶云星辰: a sales-order ledger; no lost deals, so no win rate ------------------------------


def test_kingdee_ledger_gives_revenue_and_no_win_rate(tmp_path: Path) -> None:
    src = tmp_path / "export"
    _xlsx(
        src / "职员.xlsx",
        [
            ["职员编码", "职员名称", "部门", "入职日期", "状态"],
            ["001", "孙七", "销售部", dt.date(2024, 1, 2), "启用"],
            ["002", "周八", "销售部", dt.date(2024, 2, 3), "启用"],
        ],
    )
    _xlsx(
        src / "销售订单.xlsx",
        [
            ["单据日期", "单据编号", "客户", "销售员", "价税合计", "单据状态"],
            [dt.date(2026, 1, 15), "XSDD-001", "客户甲", "孙七", 11300.0, "已审核"],
            [dt.date(2026, 2, 3), "XSDD-002", "客户乙", "周八", 5650.0, "已审核"],
            [dt.date(2026, 4, 8), "XSDD-003", "客户甲", "孙七", 2260.0, "已审核"],
            [dt.date(2026, 4, 9), "XSDD-004", "客户丙", "周八", 999.0, "未审核"],  # a draft
        ],
    )
    result = import_folder(src, tmp_path / "out", preset="kingdee-jdy")
    assert result.ok, result.summary()
    df = panel(tmp_path / "out", grain="quarter", by="company").set_index("period")
    # revenue by hand: Q1 11300 + 5650 = 16950; Q2 2260 (the draft 999 is not booked)
    assert df.loc["2026Q1", "revenue"] == 16950.0 and df.loc["2026Q2", "revenue"] == 2260.0
    assert df.loc["2026Q1", "opps_won"] == 2
    reasons = df.attrs["not_available"]
    assert df["win_rate"].isna().all()  # never 1.0
    assert reasons["win_rate"].startswith("not available: needs lost deals")
    assert reasons["activities"].startswith("not available: needs an activity log")
    assert df["activities"].isna().all() and df["cycle_days"].isna().all()


def test_salesforce_opportunity_report_with_labels(tmp_path: Path) -> None:
    """An opportunity report from the Reports tab: field labels, owner names, US dates."""
    src = tmp_path / "export"
    _csv(src / "User.csv", SF_USER, "cp1252")
    _csv(
        src / "Opportunities.csv",
        "Opportunity Owner,Account Name,Opportunity Name,Stage,Amount,Close Date,Created Date,"
        "Closed,Won,Lead Source,Opportunity ID\n"
        "José Peña,Andina,A,Closed Won,1000,2/10/2026,1/5/2026,1,1,Web,0061\n"
        "María Núñez,Perú,B,Closed Lost,250,2/11/2026,1/6/2026,1,0,,0062\n"
        "José Peña,Sur,C,Negotiation,900,3/30/2026,1/7/2026,0,0,,0063\n",
        "cp1252",
    )
    overlay = {
        "date_formats": ["%m/%d/%Y"],
        "tables": {
            "reps": {
                "columns": {
                    "rep_id": {"from": ["FirstName", "LastName"], "join": " "},
                    "team_id": "Department",
                    "hire_date": "CreatedDate",
                }
            }
        },
    }
    result = import_folder(src, tmp_path / "out", overlay, preset="salesforce")
    assert result.ok, result.summary()
    opps = _read(tmp_path / "out", "opportunities")
    assert opps[["opp_id", "rep_id", "status", "close_date", "created_date"]].values.tolist() == [
        ["0061", "José Peña", "won", "2026-02-10", "2026-01-05"],
        ["0062", "María Núñez", "lost", "2026-02-11", "2026-01-06"],
        ["0063", "José Peña", "open", "", "2026-01-07"],
    ]


def test_fxiaoke_api_dump_with_epoch_milliseconds(tmp_path: Path) -> None:
    """An API dump: API field names, dates as epoch milliseconds read in China time."""
    src = tmp_path / "export"
    _csv(
        src / "PersonnelObj.csv",
        "user_id,name,main_department,join_date\n1001,张三,华东,2024-03-01\n",
    )
    # 1587916800000 ms = 2020-04-26 16:00 UTC = 2020-04-27 00:00 in China (UTC+8);
    # 1590940800000 ms = 2020-05-31 16:00 UTC = 2020-06-01 00:00 in China
    _csv(
        src / "NewOpportunityObj.csv",
        "_id,name,owner,account_id,sales_stage,amount,close_date,create_time,life_status\n"
        "5ea6c76a,项目A,张三,acc1,赢单,1000,1590940800000,1587916800000,normal\n",
    )
    result = import_folder(src, tmp_path / "out", preset="fxiaoke")
    assert result.ok, result.summary()
    opps = _read(tmp_path / "out", "opportunities")
    assert opps[["opp_id", "status", "created_date", "close_date"]].values.tolist() == [
        ["5ea6c76a", "won", "2020-04-27", "2020-06-01"]
    ]
