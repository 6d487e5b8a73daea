"""HTML helpers of the report: escaping, pseudonyms, badges, number formatting and tables."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from salesinsight.report.html import badge, esc, mask_frame, number, pseudonym, table_html

HOSTILE = "<script>alert(1)</script>"


def test_esc_escapes_markup_and_quotes():
    assert esc(HOSTILE) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc("a \"b\" & 'c'") == "a &quot;b&quot; &amp; &#x27;c&#x27;"
    assert esc(3.5) == "3.5"


def test_pseudonym_is_stable_distinct_and_hides_the_id():
    # written out by hand: sha256("salesinsight:R0001"), first 6 hex digits, upper case
    digest = hashlib.sha256(b"salesinsight:R0001").hexdigest()[:6].upper()
    assert pseudonym("R0001") == f"Rep-{digest}"
    assert pseudonym("R0001") == pseudonym("R0001")
    assert pseudonym("R0001") != pseudonym("R0002")
    assert "R0001" not in pseudonym("R0001")
    assert pseudonym("M01", prefix="Mgr").startswith("Mgr-")


def test_mask_frame_replaces_ids_drops_names_and_keeps_missing():
    df = pd.DataFrame(
        {
            "rep_id": ["R0001", "R0002"],
            "manager_id": ["M01", None],
            "name": ["Ann", HOSTILE],
            "team_id": ["T01", "T02"],
            "revenue": [1.0, 2.0],
        }
    )
    out = mask_frame(df)
    assert list(out["rep_id"]) == [pseudonym("R0001"), pseudonym("R0002")]
    assert out["manager_id"].iloc[0] == pseudonym("M01") and pd.isna(out["manager_id"].iloc[1])
    assert "name" not in out.columns
    assert list(out["team_id"]) == ["T01", "T02"]  # teams are not people
    assert list(out["revenue"]) == [1.0, 2.0]
    assert df["rep_id"].iloc[0] == "R0001" and "name" in df.columns  # input untouched


def test_badge_escapes_its_label_and_colours_verdicts():
    assert "#1b7f3b" in badge("worked") and ">worked<" in badge("worked")
    assert "#b3261e" in badge("harmed")
    assert HOSTILE not in badge(HOSTILE) and esc(HOSTILE) in badge(HOSTILE)


def test_number_formats_for_people():
    assert number(15_100_000.4) == "15,100,000"
    assert number(-1234.5) == "-1,234"  # round-half-even of .5 on the float 1234.5
    assert number(0.27134) == "0.271"
    assert number(float("nan")) == ""
    assert number(np.float64(12.0)) == "12"


def test_table_html_escapes_cells_and_headers_and_aligns_by_type():
    df = pd.DataFrame(
        {HOSTILE: ["x"], "note": [HOSTILE], "revenue": [1_510_000.0], "n": [3], "ok": [True]}
    )
    out = table_html(df)
    assert HOSTILE not in out
    assert out.count(esc(HOSTILE)) == 2  # header and cell
    assert "1,510,000" in out
    cells = re.findall(r'<td style="text-align:(\w+)">([^<]*)</td>', out)
    assert cells == [
        ("left", "x"),
        ("left", esc(HOSTILE)),
        ("right", "1,510,000"),
        ("right", "3"),
        ("left", "True"),
    ]


def test_table_html_blank_for_missing_and_max_rows():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["u", None, "w"]})
    out = table_html(df, max_rows=2)
    assert out.count("<tr>") == 3  # header + 2 rows
    assert "nan" not in out.lower() and "None" not in out
    assert ">w<" not in out


def test_informational_checks_never_read_failed():
    from salesinsight.report.html import check_result

    assert check_result(False, True) == "FAILED"
    assert check_result(False, False) == "flagged (informational)"
    assert check_result(True, False) == "passed"
    assert check_result(None, True) == "n/a"


def test_report_checks_table_shows_informational_checks_as_informational():
    from types import SimpleNamespace

    from salesinsight.causal.effect import Diagnostic, Effect
    from salesinsight.i18n import Lang
    from salesinsight.report.sections import _checks_html

    diags = (
        Diagnostic("randomization_check", True, p_value=0.4),
        Diagnostic("balance", False, value=0.2, required=False, note="largest |SMD| 0.2"),
    )
    eff = Effect(0.03, 0.01, 0.01, 0.05, 0.002, 40, 40, "experiment", "win_rate", {}, diags)
    ev = SimpleNamespace(outcomes=["win_rate"], effects={"win_rate": eff})
    html_text = _checks_html(ev, Lang("en"))
    # the verdict "worked" stands: balance is informational, so nothing reads as failed
    assert ">failed<" not in html_text and "FAILED" not in html_text
    assert "for information: did not pass (does not affect the verdict)" in html_text
    assert "仅供参考：未通过（不影响结论）" in _checks_html(ev, Lang("zh-CN"))


def test_summary_table_is_the_summary_html_of_the_cells():
    from salesinsight.report.html import summary_table
    from salesinsight.results import Badge, KpiName, Summary, Table

    rows = [[KpiName("win_rate"), Badge("有效", "#1b7f3b"), "+3.5个百分点", "<b>x</b>"]]
    page = summary_table(
        "zh-CN", ["指标", "结论", "效果", "原因"], rows, numeric=(2,), css="si-effects"
    )
    frame = pd.DataFrame(rows, columns=["指标", "结论", "效果", "原因"], dtype=object)
    one_source = Summary(
        "", tables=[Table(frame, numeric=(2,), css="si-effects")], language="zh-CN"
    )
    assert page == one_source.to_html()
    assert '<td class="si-text">赢单率</td>' in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '<span class="si-badge" style="background:#1b7f3b">有效</span>' in page
