"""The panel of the comparison-group designs (single rollout, observational).

Enrolled units and never-enrolled ones active throughout the window, the outcome linearized, and
the selection covariates (quota, attainment in the two quarters before the start) measured
before the start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesinsight.evaluation.panel import _in_window, _linearized, _NoData


def _design_panel(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    exclude: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, float]:
    """Return the window rows of units present (exposure > 0) in every period.

    Linearized ``y``, ``cohort`` (0 = never enrolled), ``treated`` (0/1) and ``d`` (treated and
    on/after its start).

    ``exclude``: untreated units dropped from the comparison group (enrolled in another program).
    """
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)].copy()
    coh = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    f["cohort"] = f["unit_id"].map(coh).fillna(0).astype(int)
    n_t = f["t"].nunique()
    g = f.groupby("unit_id")
    present = (g["_exposure"].min() > 0) & (g["t"].nunique() == n_t)
    keep = present[present].index
    keep = [u for u in keep if u in coh.index or u not in exclude]
    f = f[f["unit_id"].isin(keep)].copy()
    if f.empty or (f["cohort"] > 0).sum() == 0:
        raise _NoData("no enrolled unit is active throughout the analysis window")
    y, r = _linearized(f, f["_num"], f["_den"], f["cohort"])
    f["y"] = y
    f["treated"] = (f["cohort"] > 0).astype(int)
    f["d"] = ((f["cohort"] > 0) & (f["t"] >= f["cohort"])).astype(int)
    start_t = int(f.loc[f["treated"] == 1, "cohort"].min())
    return _selection_covariates(f.reset_index(drop=True), start_t), r


def _selection_covariates(f: pd.DataFrame, start_t: int) -> pd.DataFrame:
    """Return the per-unit covariates of the observational designs, measured before ``start_t``.

    ``pre_quota`` (quota per active period) and ``pre_attainment_1`` / ``_2`` (revenue / quota,
    ratio of sums, in the last and second-last quarter before the start).
    """
    f = f.copy()
    # pre-period quota per active period (targets are set from territory): a time-invariant
    # covariate for the observational designs, which select on attainment = revenue / quota
    pre = f[f["t"] < start_t]
    if "quota" in f.columns and len(pre):
        g = pre.groupby("unit_id")
        q = g["quota"].sum() / g["_exposure"].sum()
        f["pre_quota"] = f["unit_id"].map(q).fillna(0.0).astype(float)
    else:
        f["pre_quota"] = 0.0
    # attainment (revenue / quota, ratio of sums) in the last and the second-last quarter before
    # the start: what managers select rep programs on (docs/causal.md)
    for k, (a, b) in enumerate(_attainment_windows(f, start_t), start=1):
        col = f"pre_attainment_{k}"
        if {"revenue", "quota"} <= set(f.columns):
            w = f[(f["t"] >= a) & (f["t"] < b)].groupby("unit_id")[["revenue", "quota"]].sum()
            att = w["revenue"] / w["quota"].where(w["quota"] > 0)
            pooled = float(w["revenue"].sum() / w["quota"].sum()) if w["quota"].sum() > 0 else 0.0
            f[col] = f["unit_id"].map(att).fillna(pooled).astype(float)
        else:
            f[col] = 0.0
    return f


def _attainment_windows(frame: pd.DataFrame, start_t: int) -> list[tuple[int, int]]:
    """Period-index windows ``[a, b)`` of the last two quarters before ``start_t``."""
    n = _periods_per_quarter(frame)
    return [(start_t - n, start_t), (start_t - 2 * n, start_t - n)]


def _periods_per_quarter(frame: pd.DataFrame) -> int:
    step = pd.Series(sorted(frame["period_start"].unique())).diff().dt.days.median()
    if not np.isfinite(step) or step <= 0:
        return 1
    return max(1, int(round(91.0 / float(step))))


def _counts(f: pd.DataFrame) -> tuple[list[str], list[str]]:
    tr = f.groupby("unit_id")["treated"].first()
    return sorted(tr.index[tr == 1]), sorted(tr.index[tr == 0])
