"""Tests for salesinsight.export: CSV formula neutralisation and writing by extension."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from salesinsight.export import neutralize_formulas, write_csv, write_table


def test_text_cells_starting_with_formula_characters_get_an_apostrophe() -> None:
    df = pd.DataFrame(
        {
            "name": ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "safe", "a=b", None],
            "amount": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    out = neutralize_formulas(df)
    assert list(out["name"][:7]) == ["'=1+2", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "safe", "a=b"]
    assert pd.isna(out["name"].iloc[7])
    assert out["amount"].tolist() == df["amount"].tolist()  # numbers untouched
    assert df["name"].iloc[0] == "=1+2"  # input not modified


def test_string_and_categorical_dtypes_and_headers() -> None:
    df = pd.DataFrame({"=h": pd.Series(["=x"], dtype="string"), "c": pd.Categorical(["-y"])})
    out = neutralize_formulas(df)
    assert list(out.columns) == ["'=h", "c"]
    assert out.iloc[0].tolist() == ["'=x", "'-y"]


def test_write_csv_round_trip() -> None:
    buf = io.StringIO()
    write_csv(pd.DataFrame({"a": ["=cmd|' /C calc'!A0"], "b": [-1]}), buf)
    back = pd.read_csv(io.StringIO(buf.getvalue()))
    assert back["a"].iloc[0] == "'=cmd|' /C calc'!A0"
    assert back["b"].iloc[0] == -1


def test_write_table_by_extension(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": ["=x", "y"], "n": [1, 2]})
    write_table(df, tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["a"].tolist() == ["'=x", "y"]
    write_table(df, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), df, check_dtype=False)
    with pytest.raises(ValueError, match=".csv or .parquet"):
        write_table(df, tmp_path / "t.xlsx")
