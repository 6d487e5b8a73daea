"""What a run writes beside its notebook: ``results.json`` and ``tables/<name>.csv``.

Shared by the quarterly report and the program deep dive, so both write the same shapes: JSON
with sorted keys and no timestamps (same inputs -> identical bytes), CSVs with spreadsheet
formulas neutralised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_value", "save_outputs"]


def json_value(value: Any) -> Any:
    """Convert ``value`` to a plain JSON value.

    None for missing/NaN/inf, int for integers, float for numbers, else str.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(f) or math.isinf(f) else f


def save_outputs(
    folder: str | Path, results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]
) -> None:
    """Write ``results`` to ``folder/results.json`` and each table to ``folder/tables/<name>.csv``."""
    from salesinsight.export import write_table

    folder = Path(folder)
    (folder / "results.json").write_text(
        json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    out = folder / "tables"
    out.mkdir(exist_ok=True)
    for name, frame in tables.items():
        write_table(frame, out / f"{name}.csv")
