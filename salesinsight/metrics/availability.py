"""Which KPIs a data folder can give, and why the others are "not available".

A KPI is not available when the table it needs is absent (no activity log: no activity counts) or
when the folder's import declared that the export lacks what it counts (a sales-order ledger has
no lost deals, so its win rate would be 1.0 by construction). The importer writes such declarations
to ``availability.json`` in the data folder (mapping key ``lacks:``, see ``docs/importers.md``).

>>> from salesinsight.metrics.availability import not_available
>>> not_available("data/maven")["calls"]                          # doctest: +SKIP
'not available: needs the activities table'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesinsight.data.importers.spec import AVAILABILITY_FILE, LACK_NAMES
from salesinsight.kpis import KPIS

if TYPE_CHECKING:
    from salesinsight.data._load import Dataset

__all__ = [
    "AVAILABILITY_FILE",
    "LACKS",
    "TABLE_KPIS",
    "not_available",
    "mark_unavailable",
]


#: Optional table -> the KPIs that need it (``salesinsight.kpis.KPI.table``).
TABLE_KPIS: dict[str, tuple[str, ...]] = {
    table: tuple(k.name for k in KPIS.values() if k.table == table)
    for table in ("activities", "quotas", "csat")
}
_ACTIVITY_KPIS = TABLE_KPIS["activities"]

#: What an export can lack (mapping key ``lacks:``) -> the KPIs that then mean nothing.
LACKS: dict[str, tuple[str, ...]] = {
    "lost_deals": ("opps_lost", "opps_closed", "win_rate", "pipeline_velocity"),
    "open_deals": (
        "pipeline_value",
        "pipeline_coverage",
        "pipeline_velocity",
        "follow_ups_per_open_opp",
    ),
    "created_dates": ("opps_created", "cycle_days", "pipeline_velocity"),
    "activities": _ACTIVITY_KPIS,
}

assert set(LACKS) == set(LACK_NAMES), "every lack a mapping can declare has its KPIs"

_LACK_WORDS = {
    "lost_deals": "lost deals",
    "open_deals": "open deals",
    "created_dates": "opportunity created dates",
    "activities": "an activity log",
}


def _declared(folder: Path) -> dict[str, str]:
    """``lacks`` entries of the folder's ``availability.json`` (empty when there is none)."""
    path = folder / AVAILABILITY_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    lacks = data.get("lacks") if isinstance(data, dict) else None
    if not isinstance(lacks, dict):
        return {}
    unknown = sorted(set(lacks) - set(LACKS))
    if unknown:
        raise ValueError(
            f"{path}: unknown `lacks` entries {', '.join(unknown)} (known: {', '.join(LACKS)})"
        )
    return {str(k): str(v or "") for k, v in lacks.items()}


def not_available(data: Dataset | str | Path) -> dict[str, str]:
    """KPIs the data folder cannot give, each with the reason, in words.

    Parameters
    ----------
    data : Dataset or data folder path.

    Returns
    -------
    dict
        KPI column -> ``"not available: needs the activities table"`` (or the export's declared
        lack, e.g. ``"not available: needs lost deals (a sales-order ledger records won orders
        only)"``). KPIs the folder can give are absent from the dict.
    """
    folder: Path | None
    if isinstance(data, (str, Path)):
        folder = Path(data)
        present = {p.stem for p in folder.iterdir() if p.suffix.lower() in (".csv", ".parquet")}
    else:  # any opened dataset: `has(table)`, and the folder when it has one
        folder = None if getattr(data, "folder", None) is None else Path(data.folder)
        present = {t for t in TABLE_KPIS if data.has(t)}
    out: dict[str, str] = {}
    for lack, why in (_declared(folder) if folder is not None else {}).items():
        reason = f"not available: needs {_LACK_WORDS[lack]}" + (f" ({why})" if why else "")
        for kpi in LACKS[lack]:
            out.setdefault(kpi, reason)
    for table, kpis in TABLE_KPIS.items():
        if table not in present:
            for kpi in kpis:
                out.setdefault(kpi, f"not available: needs the {table} table")
    return out


def mark_unavailable(df: pd.DataFrame, reasons: dict[str, str]) -> pd.DataFrame:
    """Set the unavailable KPI columns of a panel to NaN and record the reasons.

    Returns the same frame with ``df.attrs["not_available"]`` = {column: reason} for the columns
    it has.
    """
    present = {k: v for k, v in reasons.items() if k in df.columns}
    for col in present:
        df[col] = np.nan
    df.attrs["not_available"] = present
    return df
