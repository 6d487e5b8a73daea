"""Source encodings told apart by content (Windows-1252 vs GB18030), ``encoding:`` per file, and
a warning naming the file and the guess when it is not certain.

Expected texts are the strings the fixtures were written from (encoded here with Python's codecs).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesinsight.data.encoding import guess_encoding
from salesinsight.data.importers import ImporterError, import_folder

SPANISH_OPPS = (
    "Id,OwnerId,CreatedDate,CloseDate,StageName,Amount,IsClosed,IsWon\n"
    "0061,0051,2026-01-05,2026-02-01,Negociación/Revisión,100,false,false\n"
    "0062,0051,2026-01-06,2026-02-03,Cerrada ganada,200,true,true\n"
    "0063,0052,2026-01-07,2026-02-04,Propuesta económica,300,true,false\n"
    "0064,0052,2026-01-08,2026-02-05,Negociación/Revisión,400,false,false\n"
)
SPANISH_USERS = (
    "Id,Name,Team,HireDate\n0051,José Peña,Bogotá,2025-01-01\n0052,María Núñez,Lima,2025-01-01\n"
)
CHINESE_OPPS = (
    "商机编号,负责人,创建日期,状态,结束日期,金额,销售阶段\n"
    "S1,R1,2026-01-05,赢单,2026-02-01,1000,签约\n"
    "S2,R2,2026-01-06,输单,2026-02-02,2000,方案报价\n"
    "S3,R1,2026-01-07,进行中,,300,需求确认\n"
)
CHINESE_REPS = (
    "销售员ID,团队,入职日期,姓名\nR1,华东一组,2025-01-01,张三\nR2,华北二组,2025-01-01,李四\n"
)


def _sf_mapping(**opp_extra: object) -> dict:
    opps = {
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
        **opp_extra,
    }
    reps = {
        "file": "User.csv",
        "columns": {"rep_id": "Id", "name": "Name", "team_id": "Team", "hire_date": "HireDate"},
    }
    return {"tables": {"reps": reps, "opportunities": opps}}


def test_windows_1252_is_not_read_as_gb18030(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    raw = SPANISH_OPPS.encode("cp1252")
    (src / "Opportunity.csv").write_bytes(raw)
    (src / "User.csv").write_bytes(SPANISH_USERS.encode("cp1252"))
    # the trap: these bytes also decode as GB18030, silently, into different text
    assert "Negociaci髇" in raw.decode("gb18030")
    assert guess_encoding(src / "Opportunity.csv").encoding == "cp1252"
    result = import_folder(src, tmp_path / "out", _sf_mapping())
    assert result.ok, result.summary()
    opps = pd.read_csv(tmp_path / "out" / "opportunities.csv", dtype=str)
    assert opps["stage"].tolist() == [
        "Negociación/Revisión",
        "Cerrada ganada",
        "Propuesta económica",
        "Negociación/Revisión",
    ]
    reps = pd.read_csv(tmp_path / "out" / "reps.csv", dtype=str)
    assert reps["name"].tolist() == ["José Peña", "María Núñez"]
    notes = [str(p) for p in result.problems if p.rule == "encoding"]
    assert any("Opportunity.csv decoded as Windows-1252" in n for n in notes)
    assert not any(p.severity == "warning" for p in result.problems if p.rule == "encoding")


def test_gbk_chinese_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "商机.csv").write_bytes(CHINESE_OPPS.encode("gbk"))
    (src / "销售员.csv").write_bytes(CHINESE_REPS.encode("gbk"))
    mapping = {
        "tables": {
            "reps": {
                "file": "销售员.csv",
                "columns": {"rep_id": "销售员ID", "team_id": "团队", "hire_date": "入职日期"},
            },
            "opportunities": {
                "file": "商机.csv",
                "columns": {
                    "opp_id": "商机编号",
                    "rep_id": "负责人",
                    "created_date": "创建日期",
                    "status": {
                        "from": "状态",
                        "values": {"赢单": "won", "输单": "lost", "进行中": "open"},
                    },
                    "close_date": "结束日期",
                    "amount": "金额",
                    "stage": "销售阶段",
                },
            },
        }
    }
    result = import_folder(src, tmp_path / "out", mapping)
    assert result.ok, result.summary()
    opps = pd.read_csv(tmp_path / "out" / "opportunities.csv", dtype=str)
    assert opps["stage"].tolist() == ["签约", "方案报价", "需求确认"]
    assert opps["status"].tolist() == ["won", "lost", "open"]
    reps = pd.read_csv(tmp_path / "out" / "reps.csv", dtype=str)
    assert reps["team_id"].tolist() == ["华东一组", "华北二组"]
    assert any("商机.csv decoded as GB18030" in str(p) for p in result.problems)


def test_encoding_key_per_file_wins(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Opportunity.csv").write_bytes(SPANISH_OPPS.encode("cp1252"))
    (src / "User.csv").write_bytes(SPANISH_USERS.encode("utf-8"))
    # forcing the wrong legacy encoding on one file is obeyed (it is the analyst's word) ...
    forced = _sf_mapping(encoding="gb18030")
    import_folder(src, tmp_path / "gb", forced)
    stages = pd.read_csv(tmp_path / "gb" / "opportunities.csv", dtype=str)["stage"]
    assert stages[0] == "Negociaci髇/Revisi髇"
    # ... and the right one gives the text back; the other file is still detected (UTF-8)
    import_folder(src, tmp_path / "ok", _sf_mapping(encoding="windows-1252"))
    assert pd.read_csv(tmp_path / "ok" / "opportunities.csv", dtype=str)["stage"][0] == (
        "Negociación/Revisión"
    )
    assert pd.read_csv(tmp_path / "ok" / "reps.csv", dtype=str)["name"][0] == "José Peña"


def test_unknown_encoding_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(ImporterError, match=r"'utf8x' is not a known text encoding") as info:
        import_folder(tmp_path, tmp_path / "out", _sf_mapping(encoding="utf8x"))
    assert "did you mean 'utf-8'" in str(info.value)


def test_uncertain_guess_warns_naming_file_and_guess(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "User.csv").write_bytes(SPANISH_USERS.encode("utf-8"))
    # two CJK characters only: as GBK "中文", as Big5 other characters; content cannot decide
    text = "Id,OwnerId,CreatedDate,CloseDate,StageName,Amount,IsClosed,IsWon\n"
    text += "0061,0051,2026-01-05,,中文,100,false,false\n"
    (src / "Opportunity.csv").write_bytes(text.encode("gbk"))
    guess = guess_encoding(src / "Opportunity.csv")
    assert not guess.certain and guess.alternatives
    result = import_folder(src, tmp_path / "out", _sf_mapping())
    warnings = [p for p in result.problems if p.rule == "encoding" and p.severity == "warning"]
    assert len(warnings) == 1
    assert warnings[0].file == "Opportunity.csv"
    assert f"guessed as {guess.label}, not certain" in warnings[0].message
    assert "set `encoding:` for this file" in warnings[0].message
    # the analyst's `encoding:` removes the doubt and the warning
    result = import_folder(src, tmp_path / "out2", _sf_mapping(encoding="gbk"))
    assert not [p for p in result.problems if p.rule == "encoding"]
    assert pd.read_csv(tmp_path / "out2" / "opportunities.csv", dtype=str)["stage"][0] == "中文"


def test_utf8_and_bom_are_certain(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes("a\nNegociación\n".encode())
    (tmp_path / "b.csv").write_bytes("a\nNegociación\n".encode("utf-8-sig"))
    assert guess_encoding(tmp_path / "a.csv").certain
    assert guess_encoding(tmp_path / "b.csv").encoding == "utf-8-sig"
