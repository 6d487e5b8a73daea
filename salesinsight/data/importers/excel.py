"""Excel workbooks (``.xlsx``, ``.xlsm``, ``.xlsb``, ``.xls``, ``.ods``) as import sources.

One sheet is copied into a temporary UTF-8 CSV that the importer then reads like any other export.

Cells are written as text the importer's SQL parses: date cells as ISO 8601 (``2026-07-14``, with
the time when it has one), whole numbers without ``.0`` (so an id stored as a number keeps its
digits), booleans ``true``/``false``. A date typed as a number (an unformatted serial such as 45658)
stays a number and is read as an Excel serial date (``excel_dates``, on by default for workbooks).

python-calamine reads every format; openpyxl is the fallback for ``.xlsx``/``.xlsm`` when calamine
cannot read a file.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["EXCEL_SUFFIXES", "ExcelError", "sheet_to_csv", "sheet_to_csv_at", "sheet_names"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_OPENPYXL_SUFFIXES = (".xlsx", ".xlsm")


class ExcelError(ValueError):
    """A workbook or sheet that cannot be read (the message names the file and the sheets)."""


def _cell_text(value: Any) -> str:
    """One cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _calamine_rows(path: Path, sheet: str | int | None) -> tuple[list[str], Iterator[list[Any]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    names = list(wb.sheet_names)
    name = _pick_sheet(path, names, sheet)
    return names, iter(wb.get_sheet_by_name(name).to_python(skip_empty_area=False))


def _openpyxl_rows(path: Path, sheet: str | int | None) -> tuple[list[str], Iterator[list[Any]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)  # holds the file open until closed
    try:
        names = list(wb.sheetnames)
        name = _pick_sheet(path, names, sheet)
    except BaseException:
        wb.close()
        raise

    def rows() -> Iterator[list[Any]]:
        try:
            for r in wb[name].iter_rows(values_only=True):
                yield list(r)
        finally:
            wb.close()

    return names, rows()


def _pick_sheet(path: Path, names: list[str], sheet: str | int | None) -> str:
    listed = ", ".join(repr(n) for n in names)
    if sheet is None:
        if len(names) == 1:
            return names[0]
        raise ExcelError(
            f"{path.name} has {len(names)} sheets ({listed}); say which one with `sheet:`"
        )
    if isinstance(sheet, int) or str(sheet).isdigit():
        i = int(sheet)
        if 1 <= i <= len(names):
            return names[i - 1]
        raise ExcelError(f"{path.name} has no sheet number {i} (sheets, from 1: {listed})")
    for n in names:
        if n == sheet:
            return n
    folded = [n for n in names if n.strip().casefold() == str(sheet).strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ExcelError(f"{path.name} has no sheet {sheet!r} (sheets: {listed})")


def sheet_names(path: str | Path) -> list[str]:
    """Names of the sheets of a workbook, in order."""
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


def _header_index(rows: list[list[str]]) -> int:
    """Return the index of the header among the first rows.

    Title rows above it (one filled cell, e.g. "销售订单列表" or "Report: Opportunities") and blank
    rows are skipped.
    """
    for i, cells in enumerate(rows):
        if sum(1 for c in cells if c.strip()) >= 2:
            return i
    return 0


def _write_csv(rows: Iterable[list[Any]], target: Path, header_row: int | None) -> int:
    """Write the rows from the header on; returns the 1-based sheet row of the header."""
    it = iter(rows)
    head: list[list[str]] = []
    if header_row is None:  # look for the header among the first 10 rows
        for row in it:
            head.append([_cell_text(v) for v in row])
            if len(head) == 10:
                break
        start = _header_index(head)
    else:
        for row in it:
            head.append([_cell_text(v) for v in row])
            if len(head) == header_row:
                break
        start = header_row - 1
    n = 0
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        width = None
        for cells in [*head[start:], *([_cell_text(v) for v in row] for row in it)]:
            if width is None:  # the header row fixes the width; trailing empty headers dropped
                while cells and not cells[-1].strip():
                    cells.pop()
                width = len(cells)
            cells = (cells + [""] * width)[:width] if width else cells
            if n and not any(c.strip() for c in cells):
                continue  # blank spreadsheet rows are not records
            writer.writerow(cells)
            n += 1
    return start + 1


def sheet_to_csv(
    path: str | Path,
    target: str | Path,
    sheet: str | int | None = None,
    header_row: int | None = 1,
) -> Path:
    """Copy one sheet of a workbook to a UTF-8 CSV file, from its header row on.

    See :func:`sheet_to_csv_at`, which also returns the header's row.
    """
    return sheet_to_csv_at(path, target, sheet, header_row)[0]


def sheet_to_csv_at(
    path: str | Path,
    target: str | Path,
    sheet: str | int | None = None,
    header_row: int | None = 1,
) -> tuple[Path, int]:
    """Copy one sheet of a workbook to a UTF-8 CSV file, from its header row on.

    Returns the CSV path and the 1-based sheet row the header was found on.

    Parameters
    ----------
    path : the workbook (only read).
    target : the CSV file to write.
    sheet : sheet name (exact, else case-insensitive) or 1-based number; ``None``: the only sheet.
    header_row : 1-based row of the header; ``None``: the first of the first 10 rows with two or
        more filled cells (title rows above the header are skipped).

    Raises
    ------
    ExcelError
        Unreadable workbook, or a sheet that is absent or ambiguous (naming the sheets).
    """
    path, target = Path(path), Path(target)
    try:
        _, rows = _calamine_rows(path, sheet)
    except ExcelError:
        raise
    except Exception as first:  # calamine raises several types: try openpyxl
        if path.suffix.lower() not in _OPENPYXL_SUFFIXES:
            raise ExcelError(f"{path.name} cannot be read as a workbook: {first}") from None
        try:
            _, rows = _openpyxl_rows(path, sheet)
        except ExcelError:
            raise
        except Exception as exc:
            raise ExcelError(f"{path.name} cannot be read as a workbook: {exc}") from None
    return target, _write_csv(rows, target, header_row)
