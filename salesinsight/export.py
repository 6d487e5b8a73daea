r"""Writing result tables to CSV or Parquet, with spreadsheet formula injection neutralised in CSV.

A CSV cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab, carriage return or line
feed, per OWASP's CSV-injection guidance) is run as a formula by Excel, LibreOffice and Google
Sheets. Text cells starting with one of these characters get a leading apostrophe, which
spreadsheets display as plain text. Numeric columns are never touched (``-5`` stays a number).

Rows end in ``\r\n`` (RFC 4180), so every cell holding a carriage return, a line feed, the
delimiter or a quote is quoted: each table reads back through :mod:`csv` and
:func:`pandas.read_csv` with the shape it was written with.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TextIO

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "LINE_TERMINATOR", "neutralize_formulas", "write_csv", "write_table"]

#: first characters that make a spreadsheet cell a formula
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")

#: row terminator: with ``\r\n`` the csv writer quotes any cell containing ``\r`` or ``\n``
LINE_TERMINATOR = "\r\n"


def _neutral(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot be run as spreadsheet formulas.

    Text cells (in object, string or categorical columns) starting with one of
    :data:`FORMULA_PREFIXES` get a leading ``'``. Column names are treated the same way.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        is_text = (
            pd.api.types.is_object_dtype(s.dtype)
            or pd.api.types.is_string_dtype(s.dtype)
            or isinstance(s.dtype, pd.CategoricalDtype)
        )
        if is_text:
            out[col] = s.astype(object).map(_neutral)
    out.columns = [_neutral(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path_or_buffer: str | Path | TextIO) -> None:
    r"""Write ``df`` as UTF-8 CSV (no index, ``\r\n`` rows) after :func:`neutralize_formulas`.

    Cells containing the delimiter, a quote, ``\r`` or ``\n`` are quoted, so the file reads back
    with the same number of rows and columns.
    """
    safe = neutralize_formulas(df)
    options = {"index": False, "quoting": csv.QUOTE_MINIMAL, "lineterminator": LINE_TERMINATOR}
    if isinstance(path_or_buffer, str | Path):
        safe.to_csv(path_or_buffer, encoding="utf-8", **options)
    else:
        safe.to_csv(path_or_buffer, **options)


def write_table(df: pd.DataFrame, path: str | Path | None) -> Path | None:
    """Write ``df`` to ``path`` as CSV (``.csv``) or Parquet (``.parquet``/``.pq``).

    ``None`` or ``"-"`` writes CSV to standard output and returns ``None``. Parquet keeps the
    values exactly (it is not read by spreadsheets as formulas); CSV is neutralised.

    Raises
    ------
    ValueError
        For any other file extension.
    """
    if path is None or str(path) == "-":
        write_csv(df, sys.stdout)
        return None
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_csv(df, path)
    elif suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"cannot write {path.name}: use a .csv or .parquet file name")
    return path
