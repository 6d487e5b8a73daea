"""Encoding detection of data-folder CSV files: Windows-1252 is told from GB18030 by content, so a
Western European file is no longer read silently as Chinese. Expected texts are the strings the
fixtures were encoded from."""

from __future__ import annotations

from pathlib import Path

from salesinsight.data import load
from salesinsight.data.encoding import detect_encoding, encoding_label, guess_encoding

# every accented letter is followed by a letter, so the bytes also decode as GB18030
REPS = (
    "rep_id,team_id,hire_date,name\nR1,Negociación,2025-01-01,Inés Sánchez\n"
    "R2,Lima,2025-01-01,María Núñez\n"
)
OPPS = "opp_id,rep_id,created_date,status,close_date,amount\nO1,R1,2026-01-05,won,2026-02-01,100\n"


def test_detect_tells_windows_1252_from_gb18030(tmp_path: Path) -> None:
    raw = REPS.encode("cp1252")
    assert raw.decode("gb18030") != REPS  # it decodes, into the wrong text
    (tmp_path / "a.csv").write_bytes(raw)
    (tmp_path / "b.csv").write_bytes("姓名,团队\n张三,华东一组\n李四,华北二组\n".encode("gbk"))
    assert detect_encoding(tmp_path / "a.csv") == "cp1252"
    assert detect_encoding(tmp_path / "b.csv") == "gb18030"
    assert encoding_label("cp1252") == "Windows-1252" and encoding_label("gbk") == "GBK"
    (tmp_path / "c.csv").write_bytes(b"a\n\x81")  # a lone 0x81: no candidate decodes it
    assert (
        detect_encoding(tmp_path / "c.csv") is None
        and guess_encoding(tmp_path / "c.csv").encoding is None
    )


def test_data_folder_in_windows_1252_reads_right(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_bytes(REPS.encode("cp1252"))
    (tmp_path / "opportunities.csv").write_text(OPPS, encoding="utf-8")
    with load(tmp_path) as ds:
        reps = ds.table("reps")
        assert reps["name"].tolist() == ["Inés Sánchez", "María Núñez"]
        notes = [p for p in ds.report.problems if p.rule == "encoding"]
    assert any("decoded as Windows-1252" in p.message for p in notes)
