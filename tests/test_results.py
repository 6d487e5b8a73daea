"""The results contract (``salesinsight/results.py``): one summary, three renderings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesinsight.results import MAX_TABLE_ROWS, Summary, fmt_value


def _summary() -> Summary:
    table = pd.DataFrame(
        {"rep_id": ["R1", "<b>R2</b>"], "win_rate": [0.123456, np.nan], "n": [3, 4]}
    )
    return Summary(
        title="Win rates & <script>alert(1)</script>",
        rows=[("reps", 2), ("median", 0.25), ("share", float("nan")), ("flag", True)],
        tables=[("Per rep | team", table)],
        notes=["a *note* with _markup_"],
        sections=[Summary("Diagnostics", notes=["balance: passed"])],
    )


def test_values_are_formatted_once() -> None:
    assert [fmt_value(v) for v in (0.123456, 12345678.0, 3, np.int64(4), None, np.nan, pd.NA, True)] == [
        "0.1235", "1.235e+07", "3", "4", "n/a", "n/a", "n/a", "yes",
    ]  # fmt: skip


def test_text_lines_up_rows_tables_notes_and_sections() -> None:
    text = _summary().to_text()
    lines = text.splitlines()
    assert lines[0] == "Win rates & <script>alert(1)</script>"
    assert lines[1] == "  reps            2" and lines[2] == "  median          0.25"
    assert "  share           n/a" in lines and "  flag            yes" in lines
    assert "Per rep | team" in lines
    # columns as wide as their longest cell ("<b>R2</b>", 9 characters), two spaces apart
    assert "  rep_id     win_rate  n" in lines and "  R1         0.1235    3" in lines
    assert "  - a *note* with _markup_" in lines
    assert lines[-2:] == ["Diagnostics", "  - balance: passed"]
    assert str(_summary()) == text


def test_html_escapes_everything_from_data_and_keeps_the_numbers() -> None:
    page = _summary().to_html()
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;R2&lt;/b&gt;" in page
    for number in ("0.1235", "0.25", "n/a"):
        assert f"<td>{number}</td>" in page
    assert "<li>balance: passed</li>" in page


def test_markdown_escapes_markup_and_pipes() -> None:
    md = _summary().to_markdown()
    assert "**Win rates &amp; &lt;script&gt;alert(1)&lt;/script&gt;**" in md
    assert "| median | 0.25 |" in md
    assert "Per rep \\| team" in md and "\\*note\\* with \\_markup\\_" in md
    assert "| &lt;b&gt;R2&lt;/b&gt; | n/a | 4 |" in md


def test_long_tables_are_cut_and_say_so() -> None:
    big = pd.DataFrame({"x": np.arange(MAX_TABLE_ROWS + 5)})
    s = Summary("big", tables=[("", big)])
    assert f"... 5 more rows (first {MAX_TABLE_ROWS} of {MAX_TABLE_ROWS + 5} shown)" in s.to_text()
    assert str(MAX_TABLE_ROWS + 4) not in s.to_text().split()
    assert "5 more rows" in s.to_html() and "5 more rows" in s.to_markdown()


def test_from_lines_makes_the_first_line_the_title_and_drops_list_markers() -> None:
    s = Summary.from_lines(["Title here.", "- first", "  - second", "", "Note: third"])
    assert s.title == "Title here." and s.notes == ("first", "second", "Note: third")
    assert s.to_text() == "Title here.\n  - first\n  - second\n  - Note: third"
