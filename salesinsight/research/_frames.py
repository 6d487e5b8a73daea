"""Seller-period frames shared by the research designs: quota periods, attainment, closed deals.

A *period* is a quota period of the data folder (``quotas.period_start`` .. ``period_end``), usually a
quarter. A seller-period is *full* when its quota row starts on the period's first day (the earliest
start among rows with that end), so sellers hired mid-period are not compared with full-period ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salesinsight.calendar import period_end, period_label
from salesinsight.data import Dataset, load
from salesinsight.kpis import kpi

__all__ = [
    "as_dataset",
    "closed_deals",
    "kpi_ratio",
    "period_labels",
    "pipeline_deals",
    "seller_periods",
]


def as_dataset(data: str | Path | Dataset) -> Dataset:
    """Return a :class:`Dataset` from a data folder path (validated) or the dataset itself."""
    return data if isinstance(data, Dataset) else load(Path(data))


def closed_deals(ds: Dataset) -> pd.DataFrame:
    """Won and lost opportunities: rep_id, close_date, won (bool), amount (0 when lost), discount."""
    has_discount = "discount" in _columns(ds, "opportunities")
    disc = "discount" if has_discount else "CAST(NULL AS DOUBLE)"
    df = ds.sql(
        f"""
        SELECT rep_id, CAST(close_date AS DATE) AS close_date, status = 'won' AS won,
               CASE WHEN status = 'won' THEN COALESCE(amount, 0) ELSE 0 END AS amount,
               CAST({disc} AS DOUBLE) AS discount
        FROM opportunities WHERE status IN ('won', 'lost') AND close_date IS NOT NULL
        """
    )
    df["close_date"] = pd.to_datetime(df["close_date"])
    return df


def pipeline_deals(ds: Dataset) -> pd.DataFrame:
    """Return every opportunity with its dates.

    Columns: rep_id, created_date, close_date (NaT while open), closed (won or lost), won (bool),
    amount (0 unless won), discount (NaN when absent).
    """
    has_discount = "discount" in _columns(ds, "opportunities")
    disc = "discount" if has_discount else "CAST(NULL AS DOUBLE)"
    df = ds.sql(
        f"""
        SELECT rep_id, CAST(created_date AS DATE) AS created_date,
               CASE WHEN status IN ('won', 'lost') THEN CAST(close_date AS DATE) END AS close_date,
               status IN ('won', 'lost') AND close_date IS NOT NULL AS closed,
               status = 'won' AS won,
               CASE WHEN status = 'won' THEN COALESCE(amount, 0) ELSE 0 END AS amount,
               CAST({disc} AS DOUBLE) AS discount
        FROM opportunities WHERE created_date IS NOT NULL
        """
    )
    df["created_date"] = pd.to_datetime(df["created_date"])
    df["close_date"] = pd.to_datetime(df["close_date"])
    return df


def seller_periods(ds: Dataset, *, min_tenure_days: int = 0) -> pd.DataFrame:
    """One row per full seller-period with a quota.

    Columns: rep_id, team_id, period (label ``YYYY-MM-DD..YYYY-MM-DD`` of the quota period's end, see
    below), period_start, period_end, quota, revenue (won amount closed in the period), attainment
    (revenue / quota), tenure_days (at period start), termination_date.

    Raises
    ------
    ValueError
        When the folder has no ``quotas`` table (every design here needs the quota).
    """
    if not ds.has("quotas"):
        raise ValueError(
            f"{ds.folder}: the quotas table is missing; attainment, pull-in, bunching and "
            "discontinuity designs need quotas.csv (rep_id, period_start, period_end, quota_amount)"
        )
    q = ds.sql(
        """
        SELECT q.rep_id, r.team_id, CAST(q.period_start AS DATE) AS period_start,
               CAST(q.period_end AS DATE) AS period_end, q.quota_amount AS quota,
               CAST(r.hire_date AS DATE) AS hire_date,
               CAST(r.termination_date AS DATE) AS termination_date,
               COALESCE(r.role, 'ae') AS role
        FROM quotas q JOIN reps r USING (rep_id)
        """
    )
    for c in ("period_start", "period_end", "hire_date", "termination_date"):
        q[c] = pd.to_datetime(q[c])
    q = q[q["role"] != "manager"].drop(columns="role")
    first = q.groupby("period_end")["period_start"].transform("min")
    q = q[q["period_start"] == first].copy()
    q["tenure_days"] = (q["period_start"] - q["hire_date"]).dt.days
    q = q[q["tenure_days"] >= min_tenure_days]
    deals = closed_deals(ds)
    won = deals[deals["won"]]
    rev = []
    for (start, end), grp in q.groupby(["period_start", "period_end"], sort=True):
        w = won[(won["close_date"] >= start) & (won["close_date"] <= end)]
        r = w.groupby("rep_id")["amount"].sum()
        rev.append(pd.Series(r.reindex(grp["rep_id"]).fillna(0.0).to_numpy(), index=grp.index))
    q["revenue"] = pd.concat(rev) if rev else pd.Series(dtype=float)
    q["attainment"] = kpi_ratio(q, "attainment")
    q["period"] = period_labels(q["period_end"])
    q = q.sort_values(["period_end", "rep_id"], kind="stable", ignore_index=True)
    cols = [
        "rep_id",
        "team_id",
        "period",
        "period_start",
        "period_end",
        "quota",
        "revenue",
        "attainment",
        "tenure_days",
        "termination_date",
    ]
    return q[cols]


def _columns(ds: Dataset, table: str) -> set[str]:
    return set(ds.sql(f"SELECT * FROM {table} LIMIT 0").columns)


def kpi_ratio(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return KPI ``name`` per row as its registry numerator over its denominator.

    The columns are named as in :mod:`salesinsight.kpis` (``attainment`` = ``revenue / quota``).
    """
    k = kpi(name)
    if k.denominator is None:
        raise ValueError(f"KPI {name!r} is not a ratio")
    return frame[k.numerator] / frame[k.denominator]


def period_labels(ends: pd.Series) -> np.ndarray:
    """Quarter-style labels (``2025Q3``) where a period end is a calendar quarter end, else the date."""
    is_q = period_end(ends, "quarter") == ends
    return np.where(is_q, period_label(ends, "quarter"), ends.dt.strftime("%Y-%m-%d"))
