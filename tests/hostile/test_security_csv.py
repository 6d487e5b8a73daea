"""CSV exports of hostile text: same shape back through ``csv`` and pandas, no live formula.

The cells come from ``security_cells.json`` (every category, each cell also as a column name).
A spreadsheet evaluates a cell whose text starts with ``= + - @`` or a tab / CR / LF (OWASP CSV
injection); a plain number such as ``-5`` is a number, not a formula.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesinsight.export import write_csv, write_table

CELLS = json.loads((Path(__file__).with_name("security_cells.json")).read_text(encoding="utf-8"))
HOSTILE = [v for key, values in CELLS.items() if not key.startswith("_") for v in values]
LIVE = ("=", "+", "-", "@", "\t", "\r", "\n")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _live_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run as a formula (text starting with a formula character)."""
    return [c for row in rows for c in row if c.startswith(LIVE) and not _is_number(c)]


def _frame() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame(
        {
            "text": HOSTILE,
            "amount": np.linspace(-5.0, 5.0, n),  # negative numbers must stay numbers
            "count": np.arange(n) - 3,
            HOSTILE[0]: ["x"] * n,  # hostile column name
            "cat": pd.Categorical(HOSTILE[::-1]),
        }
    )


def test_hostile_cells_round_trip_through_csv_module_with_same_shape(tmp_path: Path) -> None:
    df = _frame()
    write_table(df, tmp_path / "t.csv")
    with (tmp_path / "t.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == len(df) + 1
    assert {len(r) for r in rows} == {df.shape[1]}
    assert _live_cells(rows) == []
    # every text cell is the original, with an apostrophe in front only when it was live
    for written, original in zip((r[0] for r in rows[1:]), HOSTILE, strict=True):
        expected = "'" + original if original.startswith(LIVE) else original
        assert written == expected


def test_hostile_cells_round_trip_through_pandas_with_same_shape(tmp_path: Path) -> None:
    df = _frame()
    write_table(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", dtype={"text": str, "cat": str}, keep_default_na=False)
    assert back.shape == df.shape
    np.testing.assert_allclose(back["amount"], df["amount"])  # still numbers, negatives kept
    assert back["count"].tolist() == df["count"].tolist()
    assert back["amount"].dtype.kind == "f" and back["count"].dtype.kind == "i"


def test_carriage_return_prefix_is_quoted_and_neutralised() -> None:
    # the reported bypass: an unquoted \r split the row and the next row began with a live =...
    buf = io.StringIO()
    write_csv(pd.DataFrame({"a": ["\r=cmd|' /C calc'!A0", "ok"], "b": [1, 2]}), buf)
    text = buf.getvalue()
    assert "\"'\r=cmd" in text  # quoted, apostrophe first
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["a", "b"], ["'\r=cmd|' /C calc'!A0", "1"], ["ok", "2"]]


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_value_alone_keeps_one_row_and_is_never_live(value: str) -> None:
    buf = io.StringIO()
    write_csv(pd.DataFrame({"v": [value], "n": [-1]}), buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert len(rows) == 2 and rows[1][1] == "-1"
    assert _live_cells(rows) == []
