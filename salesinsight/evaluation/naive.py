"""Naive comparisons shown beside each program's estimate, labelled as naive."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesinsight.evaluation.panel import _in_window

__all__ = ["NAIVE_COLUMNS"]

NAIVE_COLUMNS = ["outcome", "comparison", "estimate", "treated", "reference", "note"]


def _naive(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    outcome: str,
    design: str,
) -> list[dict[str, Any]]:
    """Naive before/after (treated units) and treated vs untreated (after the start) comparisons."""
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)]
    tr = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    ctl = starts.loc[starts["arm"] == "control", "unit_id"]
    coh = f["unit_id"].map(tr)
    is_t = coh.notna()
    after_own = is_t & (f["t"] >= coh)
    before_own = is_t & (f["t"] < coh)
    first = int(tr.min())
    reference = f["unit_id"].isin(ctl) if len(ctl) else ~is_t
    ref_label = "control arm" if len(ctl) else "units never enrolled"

    def ratio(mask: pd.Series) -> float:
        s = f.loc[mask, "_den"].sum()
        return float(f.loc[mask, "_num"].sum() / s) if s > 0 else np.nan

    a, b = ratio(after_own), ratio(before_own)
    t_after, r_after = ratio(after_own), ratio(reference & (f["t"] >= first))
    return [
        {
            "outcome": outcome,
            "comparison": "naive before/after",
            "estimate": a - b,
            "treated": a,
            "reference": b,
            "note": "treated units after vs before their own start; ignores trends, seasonality "
            "and regression to the mean",
        },
        {
            "outcome": outcome,
            "comparison": "naive treated vs untreated",
            "estimate": t_after - r_after,
            "treated": t_after,
            "reference": r_after,
            "note": f"treated units vs {ref_label} after the start; ignores how units were "
            f"selected ({design} design)",
        },
    ]
