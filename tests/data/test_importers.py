"""Importers: hand-written CRM exports -> canonical data folder, every error path, the CLI.

Expected values are written out by hand from the export rows in each test (not computed by the
importer): e.g. ``"¥12,345.50"`` is 12345.5, ``14.07.2026`` is 2026-07-14, Excel serial 45658 is
2025-01-01 (Excel's documented day count from 1899-12-30).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import duckdb
import pytest
from numpy.testing import assert_allclose

from salesinsight.commands import importer as cmd
from salesinsight.data import load, validate
from salesinsight.data.importers import (
    ImporterError,
    ImportMapping,
    check_import,
    import_folder,
    list_presets,
    load_mapping,
    preset_dict,
)
from salesinsight.data.importers.sql import _date_sql, _number_sql
from tests.data.conftest import folder_hashes

Rows = list[list[str]]


def write_csv(path: Path, rows: Rows, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    """Output rows as text (no type guessing: '007' stays '007')."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def errors_of(exc: ImporterError, rule: str) -> list:
    return [p for p in exc.problems if p.rule == rule and p.severity == "error"]


# --------------------------------------------------------------------------------------------------
# a generic mapping over a GBK export with Chinese headers
# --------------------------------------------------------------------------------------------------

GBK_REPS: Rows = [
    ["工号", "组别", "入职", "姓名", "离职"],
    ["007", "华东", "2024/1/15", "王芳", ""],
    ["0012", "华东", "01.03.2024", "李雷", "2025年6月30日"],
    ["100", "华南", "2023-05-01 09:00:00", "张伟", ""],
]
GBK_OPPS: Rows = [
    ["商机编号", "负责人工号", "创建", "阶段状态", "关闭", "金额", "客户"],
    ["00123", "007", "2025/1/10", "赢单", "2025-02-20", "￥12,345.50", "C1"],
    ["00124", "0012", "10.01.2025", "输单", "2025/3/1", "1,000", "C2"],
    ["00125", "100", "2025-02-01 10:30:00", "进行中", "", "800元", "C1"],
    ["00126", "100", "20250203", " 赢单 ", "2025年4月1日", "2500", ""],
]
GBK_ACTS: Rows = [
    ["记录", "工号", "时间", "方式", "商机"],
    ["A1", "007", "2025/1/11 10:15", "电话", "00123"],
    ["A2", "007", "2025-01-12", "拜访", "00123"],
    ["A3", "0012", "13.01.2025", "邮件", ""],
    ["A4", "100", "2025/2/2", "Demo", "00125"],
]

GBK_MAPPING = {
    "name": "my-crm",
    "tables": {
        "reps": {
            "file": "员工.csv",
            "columns": {
                "rep_id": "工号",
                "team_id": "组别",
                "hire_date": "入职",
                "name": "姓名",
                "termination_date": "离职",
            },
            "constants": {"role": "ae"},
        },
        "opportunities": {
            "file": "商机.csv",
            "columns": {
                "opp_id": "商机编号",
                "rep_id": "负责人工号",
                "created_date": "创建",
                "status": {
                    "from": "阶段状态",
                    "values": {"赢单": "won", "输单": "lost", "进行中": "open"},
                },
                "close_date": "关闭",
                "amount": "金额",
                "account_id": "客户",
            },
        },
        "activities": {
            "file": "跟进.csv",
            "columns": {
                "activity_id": "记录",
                "rep_id": "工号",
                "activity_date": "时间",
                "type": {
                    "from": "方式",
                    "values": {"电话": "call", "拜访": "visit", "邮件": "email"},
                },
                "opp_id": "商机",
            },
        },
    },
}


@pytest.fixture
def gbk_export(tmp_path: Path) -> Path:
    src = tmp_path / "export"
    write_csv(src / "员工.csv", GBK_REPS, encoding="gbk")
    write_csv(src / "商机.csv", GBK_OPPS, encoding="gbk")
    write_csv(src / "跟进.csv", GBK_ACTS, encoding="gbk")
    return src


def test_generic_mapping_gbk_chinese(gbk_export: Path, tmp_path: Path) -> None:
    before = folder_hashes(gbk_export)
    out = tmp_path / "data"
    result = import_folder(gbk_export, out, GBK_MAPPING)

    assert result.rows == {"reps": 3, "opportunities": 4, "activities": 4}
    reps = read_csv(out / "reps.csv")
    assert list(reps[0]) == [
        "rep_id",
        "team_id",
        "hire_date",
        "termination_date",
        "name",
        "role",
    ]
    assert [r["rep_id"] for r in reps] == ["007", "0012", "100"]  # leading zeros kept
    assert [r["hire_date"] for r in reps] == ["2024-01-15", "2024-03-01", "2023-05-01"]
    assert [r["termination_date"] for r in reps] == ["", "2025-06-30", ""]
    assert [r["team_id"] for r in reps] == ["华东", "华东", "华南"]
    assert {r["role"] for r in reps} == {"ae"}

    opps = read_csv(out / "opportunities.csv")
    assert [r["opp_id"] for r in opps] == ["00123", "00124", "00125", "00126"]
    assert [r["status"] for r in opps] == ["won", "lost", "open", "won"]
    assert [r["created_date"] for r in opps] == [
        "2025-01-10",
        "2025-01-10",
        "2025-02-01",
        "2025-02-03",
    ]
    assert [r["close_date"] for r in opps] == ["2025-02-20", "2025-03-01", "", "2025-04-01"]
    assert_allclose(
        [float(r["amount"]) for r in opps], [12345.5, 1000.0, 800.0, 2500.0], rtol=0, atol=0
    )
    acts = read_csv(out / "activities.csv")
    assert [r["type"] for r in acts] == ["call", "visit", "email", "demo"]  # "Demo" lower-cased
    assert [r["activity_date"] for r in acts] == [
        "2025-01-11",
        "2025-01-12",
        "2025-01-13",
        "2025-02-02",
    ]

    assert result.report is not None and result.report.ok
    assert len(validate(out).errors) == 0
    with load(out) as ds:  # the loader reads it back with the contract types
        won = ds.sql("SELECT sum(amount) AS s FROM opportunities WHERE status = 'won'")
        assert_allclose(won["s"].iloc[0], 12345.5 + 2500.0, rtol=0, atol=1e-9)
        n = ds.sql("SELECT count(*) AS n FROM activities a JOIN reps r USING (rep_id)")
        assert int(n["n"].iloc[0]) == 4
    assert folder_hashes(gbk_export) == before
    assert any(p.rule == "encoding" for p in result.problems)  # GBK decoding noted


def test_output_is_deterministic_and_parquet_keeps_ids_text(
    gbk_export: Path, tmp_path: Path
) -> None:
    a = import_folder(gbk_export, tmp_path / "a", GBK_MAPPING, validate=False).folder
    b = import_folder(gbk_export, tmp_path / "b", GBK_MAPPING, validate=False).folder
    assert folder_hashes(a) == folder_hashes(b)

    pq = import_folder(gbk_export, tmp_path / "pq", GBK_MAPPING, fmt="parquet")
    assert pq.report is not None and pq.report.ok
    assert sorted(p.name for p in pq.folder.iterdir()) == [
        "activities.parquet",
        "opportunities.parquet",
        "reps.parquet",
    ]
    types = (
        duckdb.connect()
        .sql(f"DESCRIBE SELECT rep_id, hire_date FROM read_parquet('{pq.folder / 'reps.parquet'}')")
        .fetchall()
    )
    assert [(t[0], t[1]) for t in types] == [("rep_id", "VARCHAR"), ("hire_date", "DATE")]
    ids = (
        duckdb.connect()
        .sql(f"SELECT rep_id FROM read_parquet('{pq.folder / 'reps.parquet'}')")
        .fetchall()
    )
    assert [i[0] for i in ids] == ["007", "0012", "100"]


# --------------------------------------------------------------------------------------------------
# all problems at once, nothing written, input untouched
# --------------------------------------------------------------------------------------------------


def test_all_problems_reported_at_once_and_nothing_written(tmp_path: Path) -> None:
    src = tmp_path / "export"
    write_csv(src / "员工.csv", GBK_REPS, encoding="gbk")
    bad_opps = [row[:] for row in GBK_OPPS]
    bad_opps[2][3] = "待定"  # row 2: unknown status
    bad_opps[4][3] = "待定"  # row 4: same unknown value
    bad_opps.append(["00127", "007", "2025/13/45", "暂停", "", "12,34", "C9"])  # row 5
    write_csv(src / "商机.csv", bad_opps, encoding="gbk")
    bad_acts = [row[:] for row in GBK_ACTS]
    bad_acts[3][2] = "yesterday"  # row 3: unparseable date
    write_csv(src / "跟进.csv", bad_acts, encoding="gbk")
    mapping = json.loads(json.dumps(GBK_MAPPING))
    del mapping["tables"]["reps"]["columns"]["team_id"]  # unmapped required column
    mapping["tables"]["activities"]["columns"]["activity_date"] = "时刻"  # no such header
    mapping["tables"]["activities"]["columns"]["opp_id"] = "商机号"  # optional: left out, warned
    before = folder_hashes(src)
    out = tmp_path / "data"

    with pytest.raises(ImporterError) as info:
        import_folder(src, out, mapping)
    exc = info.value

    unmapped = errors_of(exc, "unmapped_column")
    assert [(p.file, p.table, p.column) for p in unmapped] == [("员工.csv", "reps", "team_id")]
    assert "工号, 组别, 入职" in unmapped[0].message  # the headers found are listed
    missing = errors_of(exc, "missing_header")
    assert [(p.file, p.column, p.source_column) for p in missing] == [
        ("跟进.csv", "activity_date", "时刻")
    ]
    assert "时间" in missing[0].message  # the headers found are listed
    warned = [p for p in exc.problems if p.rule == "missing_header" and p.severity == "warning"]
    assert [(p.column, p.source_column) for p in warned] == [("opp_id", "商机号")]
    assert "did you mean 商机?" in warned[0].message
    assert folder_hashes(src) == before and not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # no staging folder left behind

    # header problems stop before the data checks; once fixed, every data problem comes at once
    mapping["tables"]["reps"]["columns"]["team_id"] = "组别"
    mapping["tables"]["activities"]["columns"]["activity_date"] = "时间"
    mapping["tables"]["activities"]["columns"]["opp_id"] = "商机"
    with pytest.raises(ImporterError) as info:
        import_folder(src, out, mapping)
    exc = info.value
    unknown = errors_of(exc, "unknown_value")
    assert len(unknown) == 1
    u = unknown[0]
    assert (u.file, u.source_column, u.table, u.column) == (
        "商机.csv",
        "阶段状态",
        "opportunities",
        "status",
    )
    assert u.n_rows == 3 and u.n_values == 2
    assert u.values == (("待定", 2, (2, 4)), ("暂停", 1, (5,)))  # most frequent first
    dates = errors_of(exc, "date")
    assert [(p.file, p.column, p.values) for p in dates] == [
        ("商机.csv", "created_date", (("2025/13/45", 1, (5,)),)),
        ("跟进.csv", "activity_date", (("yesterday", 1, (3,)),)),
    ]
    numbers = errors_of(exc, "number")  # "12,34" is not a valid thousands grouping
    assert [(p.column, p.values) for p in numbers] == [("amount", (("12,34", 1, (5,)),))]
    text = str(exc)
    assert "nothing was written" in text and "'待定': 2 rows (row 2, 4)" in text
    assert folder_hashes(src) == before and not out.exists()
    assert list(tmp_path.iterdir()) == [src]
    assert [p.rule for p in check_import(src, load_mapping(mapping)) if p.severity == "error"] == [
        p.rule for p in exc.errors
    ]


def test_output_folder_rules(gbk_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(ImporterError, match="already exists"):
        import_folder(gbk_export, out, GBK_MAPPING)
    assert (out / "keep.txt").read_text() == "old"
    result = import_folder(gbk_export, out, GBK_MAPPING, force=True)
    assert not (out / "keep.txt").exists() and (out / "reps.csv").is_file() and result.ok
    before = folder_hashes(gbk_export)
    for inside in (gbk_export / "data", gbk_export):
        with pytest.raises(ImporterError, match="overlaps the source folder"):
            import_folder(gbk_export, inside, GBK_MAPPING, force=True)
    assert folder_hashes(gbk_export) == before
    with pytest.raises(ImporterError, match="does not exist"):
        import_folder(tmp_path / "nope", tmp_path / "x", GBK_MAPPING)


def test_mapping_errors_all_at_once() -> None:
    spec = {
        "tables": {
            "reps": {"file": "u.csv", "columns": {"Id": "rep_id", "team_id": "T"}},
            "opportunities": {
                "file": "o.csv",
                "columns": {"status": {"from": "S", "values": {"Won": "gewonnen"}}},
                "colums": {},
            },
            "deals": {"file": "d.csv"},
        }
    }
    with pytest.raises(ImporterError) as info:
        ImportMapping.from_dict(spec)
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 4, messages
    assert any("'Id' is not a column of reps" in m and "`rep_id: Id`" in m for m in messages)
    assert any("'gewonnen'" in m and "open, won, lost" in m for m in messages)
    assert any("unknown key(s) 'colums' (did you mean 'columns'?)" in m for m in messages)
    assert any("'deals' is not a contract table" in m for m in messages)
    with pytest.raises(ImporterError, match="no reps table"):
        ImportMapping.from_dict({"tables": {"opportunities": {"file": "o.csv"}}})


def test_yaml_mapping_keeps_scalars_as_text(tmp_path: Path) -> None:
    """In YAML 1.1 `007` is the integer 7 and `yes` is true; mapping files read them as text."""
    src = tmp_path / "export"
    write_csv(src / "reps.csv", [["rep_id", "hire_date", "ok"], ["R1", "2024-01-01", "yes"]])
    write_csv(
        src / "opportunities.csv",
        [["opp_id", "rep_id", "created_date", "status"], ["O1", "R1", "2024-02-01", "Y"]],
    )
    (tmp_path / "m.yaml").write_text(
        "tables:\n"
        "  reps:\n"
        "    file: reps.csv\n"
        "    columns: {rep_id: rep_id, hire_date: hire_date}\n"
        "    constants: {team_id: 007}\n"
        "  opportunities:\n"
        "    file: opportunities.csv\n"
        "    columns:\n"
        "      opp_id: opp_id\n"
        "      rep_id: rep_id\n"
        "      created_date: created_date\n"
        "      status: {from: status, values: {Y: open, yes: won}}\n",
        encoding="utf-8",
    )
    result = import_folder(src, tmp_path / "data", tmp_path / "m.yaml")
    assert result.ok and result.mapping == "m"
    assert read_csv(result.folder / "reps.csv")[0]["team_id"] == "007"
    assert read_csv(result.folder / "opportunities.csv")[0]["status"] == "open"


def test_identity_columns_and_source_problems(tmp_path: Path) -> None:
    """Without `columns:`, headers named like contract columns are taken as they are."""
    src = tmp_path / "export"
    write_csv(
        src / "reps.csv",
        [["REP_ID", "team_id", "hire_date"], ["1.23457E+11", "T1", "2024-01-01"], ["R2", "T1", ""]],
    )
    write_csv(src / "opps.csv", [["opp_id"], ["O1"]])
    (src / "acts.xlsx").write_bytes(b"PK\x03\x04")
    mapping = {
        "tables": {
            "reps": {"file": "reps.csv"},
            "opportunities": {"file": "opps.csv"},
            "activities": {"file": "acts.xlsx"},
            "quotas": {"file": "quota.csv"},
        }
    }
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "data", mapping)
    exc = info.value
    assert [p.column for p in errors_of(exc, "unmapped_column")] == [
        "rep_id",
        "created_date",
        "status",
    ]
    assert [p.file for p in errors_of(exc, "unreadable")] == ["acts.xlsx"]  # a broken workbook
    assert "acts.xlsx cannot be read as a workbook" in errors_of(exc, "unreadable")[0].message
    assert [p.file for p in errors_of(exc, "missing_file")] == ["quota.csv"]

    # once mapped: the spreadsheet-mangled id is an error naming the row
    write_csv(
        src / "opps.csv",
        [["opp_id", "rep_id", "created_date", "status"], ["O1", "R2", "2024-03-01", "OPEN"]],
    )
    del mapping["tables"]["activities"], mapping["tables"]["quotas"]
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "data", mapping)
    sci = errors_of(info.value, "id_scientific")
    assert [(p.file, p.column, p.values) for p in sci] == [
        ("reps.csv", "rep_id", (("1.23457E+11", 1, (1,)),))
    ]


def test_malformed_csv_reported_with_line(tmp_path: Path) -> None:
    src = tmp_path / "export"
    write_csv(src / "reps.csv", [["rep_id", "team_id", "hire_date"], ["R1", "T1", "2024-01-01"]])
    (src / "opportunities.csv").write_text(
        "opp_id,rep_id,created_date,status\nO1,R1,2024-02-01,open\nO2,R1,2024-02-01,open,x\n",
        encoding="utf-8",
    )
    mapping = {
        "tables": {"reps": {"file": "reps.csv"}, "opportunities": {"file": "opportunities.csv"}}
    }
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "data", mapping)
    (p,) = info.value.errors
    assert (p.rule, p.file) == ("unreadable", "opportunities.csv")
    assert "Line: 3" in p.message and "O2,R1,2024-02-01,open,x" in p.message
    assert not (tmp_path / "data").exists()


def test_european_semicolon_export_and_excel_dates(tmp_path: Path) -> None:
    src = tmp_path / "export"
    write_csv(
        src / "reps.csv",
        [["Id", "Team", "Start"], ["R1", "T1", "45658"], ["R2", "T1", "14.07.2024"]],
        delimiter=";",
    )
    write_csv(
        src / "opps.csv",
        [
            ["Id", "Owner", "Created", "Status", "Closed", "Betrag", "Rabatt"],
            ["O1", "R1", "45689", "won", "01.03.2025", "1.234,50 €", "10%"],
            ["O2", "R2", "2025-02-02", "lost", "2025-02-10", "99,9", "0,5"],
        ],
        delimiter=";",
    )
    mapping = {
        "decimal": ",",
        "thousands": ".",
        "excel_dates": "true",
        "tables": {
            "reps": {
                "file": "reps.csv",
                "columns": {"rep_id": "Id", "team_id": "Team", "hire_date": "Start"},
            },
            "opportunities": {
                "file": "opps.csv",
                "columns": {
                    "opp_id": "Id",
                    "rep_id": "Owner",
                    "created_date": "Created",
                    "status": "Status",
                    "close_date": "Closed",
                    "amount": "Betrag",
                    "discount": "Rabatt",
                },
            },
        },
    }
    result = import_folder(src, tmp_path / "data", mapping)
    assert result.ok
    reps = read_csv(result.folder / "reps.csv")
    assert [r["hire_date"] for r in reps] == [
        "2025-01-01",
        "2024-07-14",
    ]  # Excel 45658 = 2025-01-01
    opps = read_csv(result.folder / "opportunities.csv")
    assert opps[0]["created_date"] == "2025-02-01"  # 45689 = 45658 + 31 days
    assert_allclose([float(r["amount"]) for r in opps], [1234.5, 99.9], rtol=0, atol=1e-12)
    assert_allclose([float(r["discount"]) for r in opps], [0.1, 0.5], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "thousands", "decimal", "expected"),
    [
        ("1,234.50", ",", ".", 1234.5),
        ("¥12,345", ",", ".", 12345.0),
        ("USD 2,500.00", ",", ".", 2500.0),
        ("800元", ",", ".", 800.0),
        ("-$5", ",", ".", -5.0),
        ("1 000 000", ",", ".", 1000000.0),
        ("12%", ",", ".", 0.12),
        ("1.2E+03", ",", ".", 1200.0),
        ("0012", ",", ".", 12.0),
        ("1.234,5", ".", ",", 1234.5),
        ("1,5", ".", ",", 1.5),
        ("1,5", ",", ".", None),  # a comma that is not a thousands grouping: refused, not 15
        ("1,2345", ",", ".", None),
        ("12.3.4", ",", ".", None),
        ("n/a", ",", ".", None),
        ("$", ",", ".", None),
        ("nan", ",", ".", None),
    ],
)
def test_number_cleanup(text: str, thousands: str, decimal: str, expected: float | None) -> None:
    sql = _number_sql("v", thousands, decimal)
    got = (
        duckdb.connect()
        .execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS v)", [text])
        .fetchone()[0]
    )
    if expected is None:
        assert got is None
    else:
        assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-14", "2026-07-14"),
        ("2026-07-14 10:30:00", "2026-07-14"),
        ("2026-07-14T23:30:00.000Z", "2026-07-14"),
        ("2026/7/14", "2026-07-14"),
        ("2026/7/14 10:30", "2026-07-14"),
        ("14.07.2026", "2026-07-14"),
        ("2026年7月14日", "2026-07-14"),
        ("20260714", "2026-07-14"),
        ("7/14/2026", None),  # month-first is ambiguous: only with an explicit format
        ("14.07.26", None),  # two-digit year -> year 26, outside 1900-2200
        ("2026-02-30", None),
        ("45658", None),  # Excel serials only when enabled
    ],
)
def test_date_parsing(text: str, expected: str | None) -> None:
    from salesinsight.data.importers import DEFAULT_DATE_FORMATS

    sql = _date_sql("v", DEFAULT_DATE_FORMATS, excel=False)
    got = (
        duckdb.connect()
        .execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS v)", [text])
        .fetchone()[0]
    )
    assert (None if got is None else got.isoformat()) == expected


def test_explicit_us_date_format() -> None:
    sql = _date_sql("v", ("%m/%d/%Y",), excel=False)
    got = (
        duckdb.connect()
        .execute(f"SELECT {sql} FROM (SELECT '7/14/2026 3:05 PM'::VARCHAR AS v)")
        .fetchone()
    )
    assert got[0] is None  # a 12-hour time needs its own format
    sql = _date_sql("v", ("%m/%d/%Y", "%m/%d/%Y %I:%M %p"), excel=False)
    got = (
        duckdb.connect()
        .execute(f"SELECT {sql} FROM (SELECT '7/14/2026 3:05 PM'::VARCHAR AS v)")
        .fetchone()
    )
    assert got[0].isoformat() == "2026-07-14"


# --------------------------------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------------------------------

SF_USER: Rows = [  # as the weekly Data Export writes it: FirstName/LastName, no compound Name
    ["Id", "LastName", "FirstName", "ManagerId", "IsActive", "UserType", "Department"]
    + ["CreatedDate"],
    ["0055g000001AAAA", "Lee", "Ann", "0055g000001CCCC", "true", "Standard", "East"]
    + ["2024-01-15T08:00:00.000Z"],
    ["0055g000001BBBB", "Chen", "Bo", "0055g000001CCCC", "true", "Standard", "East"]
    + ["2024-03-01T08:00:00.000Z"],
    ["0055g000001CCCC", "Diaz", "Cy", "", "true", "Standard", "West", "2023-05-01T08:00:00.000Z"],
]
SF_OPP: Rows = [
    ["Id", "OwnerId", "AccountId", "CreatedDate", "CloseDate", "StageName", "IsClosed"]
    + ["IsWon", "Amount", "LeadSource"],
    ["0065g00000OPP01", "0055g000001AAAA", "0015g00000ACC01", "2025-01-10T09:00:00.000Z"]
    + ["2025-02-20", "Closed Won", "true", "true", "12000", "Web"],
    ["0065g00000OPP02", "0055g000001BBBB", "0015g00000ACC02", "2025-01-12T10:00:00.000Z"]
    + ["2025-03-01", "Closed Lost", "true", "false", "5000", "Partner"],
    ["0065g00000OPP03", "0055g000001AAAA", "0015g00000ACC01", "2025-02-01T08:00:00.000Z"]
    + ["2025-06-30", "Proposal", "false", "false", "8000.50", ""],
]
SF_HISTORY: Rows = [
    ["Id", "OpportunityId", "StageName", "CreatedDate", "Amount"],
    ["0085g0001", "0065g00000OPP01", "Prospecting", "2025-01-10T09:00:00.000Z", "12000"],
    ["0085g0002", "0065g00000OPP01", "Closed Won", "2025-02-20T17:00:00.000Z", "12000"],
    ["0085g0003", "0065g00000OPP03", "Proposal", "2025-02-10T11:00:00.000Z", "8000.5"],
]
SF_TASK: Rows = [
    ["Id", "OwnerId", "WhatId", "AccountId", "ActivityDate", "CreatedDate", "Type", "Subject"]
    + ["Status"],
    ["00T5g00000TSK01", "0055g000001AAAA", "0065g00000OPP01", "0015g00000ACC01", "2025-01-11"]
    + ["2025-01-11T08:00:00.000Z", "Call", "Call", "Completed"],
    ["00T5g00000TSK02", "0055g000001AAAA", "0015g00000ACC01", "0015g00000ACC01", ""]
    + ["2025-01-15T08:00:00.000Z", "", "Email: pricing", "Completed"],
    ["00T5g00000TSK03", "0055g000001BBBB", "0065g00000OPP02", "0015g00000ACC02", "2025-01-20"]
    + ["2025-01-19T08:00:00.000Z", "Other", "Product demo", "Completed"],
    ["00T5g00000TSK04", "0055g000001BBBB", "0065g00000OPP02", "0015g00000ACC02", "2025-03-20"]
    + ["2025-01-19T08:00:00.000Z", "Call", "Call back", "Not Started"],
    ["00T5g00000TSK05", "0055g000001CCCC", "0065g00000OPP02", "0015g00000ACC02", "2025-01-25"]
    + ["2025-01-25T08:00:00.000Z", "Send Letter", "Contract", "Completed"],
]
SF_EVENT: Rows = [
    ["Id", "OwnerId", "WhatId", "AccountId", "ActivityDate", "ActivityDateTime", "Type"]
    + ["Subject"],
    ["00U5g00000EVT01", "0055g000001AAAA", "0065g00000OPP03", "0015g00000ACC01", "2025-02-05"]
    + ["2025-02-05T14:00:00.000Z", "Meeting", "Kickoff"],
    ["00U5g00000EVT02", "0055g000001CCCC", "", "0015g00000ACC02", ""]
    + ["2025-02-06T09:00:00.000Z", "", "On-site visit"],
]


@pytest.fixture
def sf_export(tmp_path: Path) -> Path:
    src = tmp_path / "sfdc"
    for name, rows in (
        ("User", SF_USER),
        ("Opportunity", SF_OPP),
        ("OpportunityHistory", SF_HISTORY),
        ("Task", SF_TASK),
        ("Event", SF_EVENT),
    ):
        write_csv(src / f"{name}.csv", rows)
    return src


def test_salesforce_preset_requires_team_and_hire_date(sf_export: Path, tmp_path: Path) -> None:
    before = folder_hashes(sf_export)
    with pytest.raises(ImporterError) as info:
        import_folder(sf_export, tmp_path / "data", preset="salesforce")
    unmapped = errors_of(info.value, "unmapped_column")
    assert [p.column for p in unmapped] == ["team_id", "hire_date"]
    assert "--column reps.team_id=" in unmapped[0].message
    assert "has no hire date" in unmapped[1].message
    assert len(info.value.errors) == 2
    assert folder_hashes(sf_export) == before and not (tmp_path / "data").exists()


def test_salesforce_preset(sf_export: Path, tmp_path: Path) -> None:
    before = folder_hashes(sf_export)
    supplement = {
        "tables": {"reps": {"columns": {"team_id": "Department", "hire_date": "CreatedDate"}}}
    }
    result = import_folder(sf_export, tmp_path / "data", supplement, preset="salesforce")
    assert result.rows == {"reps": 3, "opportunities": 3, "stage_history": 3, "activities": 6}
    assert result.report is not None and result.report.ok, result.report

    reps = read_csv(result.folder / "reps.csv")
    assert [(r["rep_id"], r["team_id"], r["hire_date"], r["manager_id"]) for r in reps] == [
        ("0055g000001AAAA", "East", "2024-01-15", "0055g000001CCCC"),
        ("0055g000001BBBB", "East", "2024-03-01", "0055g000001CCCC"),
        ("0055g000001CCCC", "West", "2023-05-01", ""),
    ]
    opps = read_csv(result.folder / "opportunities.csv")
    assert [(o["status"], o["close_date"], o["stage"]) for o in opps] == [
        ("won", "2025-02-20", "Closed Won"),
        ("lost", "2025-03-01", "Closed Lost"),
        ("open", "", "Proposal"),  # an open deal's CloseDate is only expected: left empty
    ]
    assert [o["created_date"] for o in opps] == ["2025-01-10", "2025-01-12", "2025-02-01"]
    assert_allclose([float(o["amount"]) for o in opps], [12000, 5000, 8000.5], rtol=0, atol=0)
    hist = read_csv(result.folder / "stage_history.csv")
    assert [(h["opp_id"], h["stage"], h["entered_date"]) for h in hist] == [
        ("0065g00000OPP01", "Prospecting", "2025-01-10"),
        ("0065g00000OPP01", "Closed Won", "2025-02-20"),
        ("0065g00000OPP03", "Proposal", "2025-02-10"),
    ]
    acts = read_csv(result.folder / "activities.csv")
    assert [(a["activity_id"], a["activity_date"], a["type"], a["opp_id"]) for a in acts] == [
        ("00T5g00000TSK01", "2025-01-11", "call", "0065g00000OPP01"),
        ("00T5g00000TSK02", "2025-01-15", "email", ""),  # no due date -> CreatedDate; WhatId=acct
        ("00T5g00000TSK03", "2025-01-20", "demo", "0065g00000OPP02"),
        ("00T5g00000TSK05", "2025-01-25", "other", "0065g00000OPP02"),  # TSK04 not completed
        ("00U5g00000EVT01", "2025-02-05", "meeting", "0065g00000OPP03"),
        ("00U5g00000EVT02", "2025-02-06", "visit", ""),
    ]
    notes = {(p.rule, p.file): p for p in result.problems}
    assert notes[("rows_dropped", "Task.csv")].values == (("Not Started", 1, (4,)),)
    assert notes[("unmapped_value", "Task.csv")].values == (("Send Letter|Contract", 1, (5,)),)
    assert notes[("not_matched", "Task.csv")].rows == (2,)
    assert all(p.severity != "error" for p in result.problems)
    assert folder_hashes(sf_export) == before


def test_salesforce_preset_unknown_status_and_cli_overrides(
    sf_export: Path, tmp_path: Path
) -> None:
    opp = [row[:] for row in SF_OPP]
    opp[3][7] = "true"  # won but not closed: not a combination the preset knows
    write_csv(sf_export / "Opportunity.csv", opp)
    (sf_export / "Task.csv").unlink()  # optional source: skipped with a note
    out = tmp_path / "data"
    rc, text = run_cli(
        [str(sf_export), "--out", str(out), "--preset", "salesforce"]
        + ["--column", "reps.team_id=ManagerId", "--constant", "reps.hire_date=2020-01-01"]
    )
    assert rc == 1 and not out.exists()
    assert "'false|true': 1 row (row 3)" in text and "Opportunity.csv [IsClosed | IsWon]" in text
    write_csv(sf_export / "Opportunity.csv", SF_OPP)
    rc, text = run_cli(
        [str(sf_export), "--out", str(out), "--preset", "salesforce"]
        + ["--column", "reps.team_id=ManagerId", "--constant", "reps.hire_date=2020-01-01"]
    )
    assert rc == 1, text  # written, but the written folder fails validation (see below)
    reps = read_csv(out / "reps.csv")
    assert [(r["team_id"], r["hire_date"]) for r in reps] == [
        ("0055g000001CCCC", "2020-01-01"),
        ("0055g000001CCCC", "2020-01-01"),
        ("", "2020-01-01"),
    ]
    assert "Task.csv not found; optional source skipped" in text
    assert "FAILED" in text  # the manager has no team: validation reports it after writing
    assert validate(out).errors[0].location == "reps.team_id"


JDY_REPS: Rows = [
    ["销售员ID", "姓名", "团队", "区域", "入职日期", "离职日期", "上级ID"],
    ["001", "王芳", "一组", "华东", "2024/1/15", "", "009"],
    ["002", "李雷", "一组", "华东", "2024/3/1", "2025/6/30", "009"],
    ["009", "张伟", "二组", "华南", "2023/5/1", "", ""],
]
JDY_OPPS: Rows = [
    ["商机ID", "销售员ID", "客户ID", "创建日期", "状态", "结束日期", "金额", "销售阶段", "来源"],
    ["S0001", "001", "K01", "2025/1/10", "赢单", "2025/2/20", "12,000.00", "签约", "官网"],
    ["S0002", "002", "K02", "2025/1/12", "输单", "2025/3/1", "5,000", "报价", "转介绍"],
    ["S0003", "001", "K01", "2025/2/1", "进行中", "2025/6/30", "8,000", "方案", ""],
]
JDY_ACTS: Rows = [
    ["跟进记录ID", "销售员ID", "商机ID", "客户ID", "跟进日期", "跟进方式"],
    ["G1", "001", "S0001", "K01", "2025/1/11 10:00", "电话"],
    ["G2", "001", "S0001", "K01", "2025/1/12", "上门拜访"],
    ["G3", "002", "", "K02", "2025/1/13", "邮件"],
    ["G4", "009", "S0003", "K01", "2025/2/2", "微信"],
]
JDY_QUOTAS: Rows = [
    ["销售员ID", "开始日期", "结束日期", "目标金额"],
    ["001", "2025/1/1", "2025/3/31", "30,000"],
]


def test_jiandaoyun_preset(tmp_path: Path) -> None:
    src = tmp_path / "jdy"
    write_csv(src / "销售员.csv", JDY_REPS, encoding="gbk")
    write_csv(src / "商机.csv", JDY_OPPS, encoding="utf-8-sig")
    write_csv(src / "跟进记录.csv", JDY_ACTS, encoding="gbk")
    write_csv(src / "销售目标.csv", JDY_QUOTAS)
    before = folder_hashes(src)
    result = import_folder(src, tmp_path / "data", preset="jiandaoyun")
    assert result.report is not None and result.report.ok, result.report
    assert result.rows == {"reps": 3, "opportunities": 3, "activities": 4, "quotas": 1}
    reps = read_csv(result.folder / "reps.csv")
    assert [(r["rep_id"], r["team_id"], r["termination_date"]) for r in reps] == [
        ("001", "一组", ""),
        ("002", "一组", "2025-06-30"),
        ("009", "二组", ""),
    ]
    opps = read_csv(result.folder / "opportunities.csv")
    assert [(o["status"], o["close_date"]) for o in opps] == [
        ("won", "2025-02-20"),
        ("lost", "2025-03-01"),
        ("open", ""),
    ]
    assert_allclose([float(o["amount"]) for o in opps], [12000, 5000, 8000], rtol=0, atol=0)
    acts = read_csv(result.folder / "activities.csv")
    assert [a["type"] for a in acts] == ["call", "visit", "email", "other"]
    quota = read_csv(result.folder / "quotas.csv")
    assert quota == [
        {
            "rep_id": "001",
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "quota_amount": "30000.0",
        }
    ]
    assert folder_hashes(src) == before


def test_jiandaoyun_unknown_follow_up_method(tmp_path: Path) -> None:
    src = tmp_path / "jdy"
    write_csv(src / "销售员.csv", JDY_REPS)
    write_csv(src / "商机.csv", JDY_OPPS)
    acts = JDY_ACTS + [
        ["G5", "001", "", "", "2025/2/3", "直播"],
        ["G6", "001", "", "", "2025/2/4", "直播"],
    ]
    write_csv(src / "跟进记录.csv", acts)
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "data", preset="jiandaoyun")
    (u,) = info.value.errors
    assert (u.rule, u.file, u.source_column, u.column) == (
        "unknown_value",
        "跟进记录.csv",
        "跟进方式",
        "type",
    )
    assert u.values == (("直播", 2, (5, 6)),)
    # the fix the message suggests: add it under `values:` (merged onto the preset)
    extra = {"tables": {"activities": {"columns": {"type": {"values": {"直播": "other"}}}}}}
    result = import_folder(src, tmp_path / "data", extra, preset="jiandaoyun")
    assert [a["type"] for a in read_csv(result.folder / "activities.csv")][-2:] == [
        "other",
        "other",
    ]


def test_docs_example_mapping_runs(tmp_path: Path) -> None:
    """The complete example of docs/importers.md parses and imports a matching export."""
    import re

    docs = Path(__file__).resolve().parents[2] / "docs" / "importers.md"
    block = re.search(r"```yaml\n(name: my-crm.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert block is not None
    (tmp_path / "my-crm.yaml").write_text(block.group(1), encoding="utf-8")
    src = tmp_path / "export"
    write_csv(
        src / "员工.csv",
        [["工号", "组别", "入职日期", "离职日期", "姓名"], ["007", "A", "2024/1/2", "", "王芳"]],
        encoding="gbk",
    )
    write_csv(
        src / "商机.csv",
        [
            ["商机编号", "负责人工号", "创建时间", "状态", "关闭日期", "金额", "客户编号"]
            + ["阶段", "产品线"],
            ["S1", "007", "2026/7/14 10:30", "成交", "2026/8/1", "￥12,345.50", "K1", "签约", "P"],
            ["S2", "007", "2026/7/1", "进行中", "2026/9/1", "800元", "K1", "方案", "Q"],
        ],
        encoding="gbk",
    )
    write_csv(
        src / "跟进记录.csv",
        [
            ["记录编号", "工号", "跟进时间", "创建时间", "跟进方式", "商机编号", "记录状态"],
            ["G1", "007", "", "2026/7/15", "电话", "S1", "已完成"],
            ["G2", "007", "2026/7/16", "", "微信", "X9", "已完成"],
            ["G3", "007", "2026/7/17", "", "", "", "计划"],
        ],
    )
    write_csv(
        src / "programs.csv",
        [
            ["program_id", "name", "kind", "design", "unit", "start_date"],
            ["P1", "Training", "training", "observational", "rep", "2026-01-01"],
        ],
    )
    write_csv(
        src / "enrollments.csv",
        [["program_id", "unit_id", "arm", "start_date"], ["P1", "007", "treatment", "2026-01-01"]],
    )
    result = import_folder(src, tmp_path / "data", tmp_path / "my-crm.yaml")
    assert result.report is not None and result.report.ok, result.report
    opps = read_csv(result.folder / "opportunities.csv")
    assert [(o["status"], o["close_date"], o["product_line"]) for o in opps] == [
        ("won", "2026-08-01", "P"),
        ("open", "", "Q"),
    ]
    acts = read_csv(result.folder / "activities.csv")
    assert [(a["activity_date"], a["type"], a["opp_id"]) for a in acts] == [
        ("2026-07-15", "call", "S1"),
        ("2026-07-16", "other", ""),
    ]
    assert read_csv(result.folder / "reps.csv")[0]["role"] == "ae"


def test_presets_are_listed_and_parse() -> None:
    presets = list_presets()
    assert set(presets) >= {"salesforce", "jiandaoyun"}
    for name in presets:
        mapping = load_mapping(preset=name)
        assert mapping.name == name and {"reps", "opportunities"} <= set(mapping.table_names)
    assert preset_dict("salesforce")["tables"]["opportunities"]["columns"]["opp_id"] == {
        "any_of": ["Id", "Opportunity ID"]
    }
    with pytest.raises(ImporterError, match="no preset 'hubspot'"):
        load_mapping(preset="hubspot")


# --------------------------------------------------------------------------------------------------
# the CLI (`salesinsight import`, registered by the lead in cli.COMMANDS)
# --------------------------------------------------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str]:
    import contextlib
    import io

    parser = argparse.ArgumentParser(prog="salesinsight")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd.add_parser(sub)
    args = parser.parse_args(["import", *argv])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = args.handler(args)
    return rc, out.getvalue() + err.getvalue()


def test_cli_check_json_and_usage(gbk_export: Path, tmp_path: Path) -> None:
    mapping_file = tmp_path / "m.yaml"
    import yaml

    mapping_file.write_text(yaml.safe_dump(GBK_MAPPING, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "data"
    rc, text = run_cli([str(gbk_export), "--mapping", str(mapping_file), "--check"])
    assert rc == 0 and "OK" in text and not out.exists()

    rc, text = run_cli(
        [str(gbk_export), "--out", str(out), "--mapping", str(mapping_file), "--json"]
    )
    payload = json.loads(text)
    assert rc == 0 and payload["ok"] and payload["rows"]["opportunities"] == 4
    assert payload["validation"]["n_errors"] == 0

    rc, text = run_cli([str(gbk_export), "--out", str(out), "--mapping", str(mapping_file)])
    assert rc == 1 and "already exists" in text
    rc, text = run_cli(
        [str(gbk_export), "--mapping", str(mapping_file), "--check", "--date-format", "%d/%m/%Y"]
    )
    # the date formats were replaced (ISO is always tried): dotted dates are now unparseable
    assert rc == 1 and "'01.03.2024': 1 row (row 2)" in text and "'13.01.2025'" in text
    assert "'10.01.2025': 1 row (row 2)" in text
    assert run_cli([str(gbk_export), "--out", str(out)])[0] == 2
    assert run_cli([str(gbk_export), "--preset", "salesforce"])[0] == 2
    assert run_cli([str(gbk_export), "--check", "--preset", "x", "--column", "bad"])[0] == 2
    rc, text = run_cli(["--list-presets"])
    assert rc == 0 and "salesforce:" in text and "jiandaoyun:" in text
    rc, text = run_cli(["--show-preset", "jiandaoyun"])
    assert rc == 0 and "跟进方式" in text
