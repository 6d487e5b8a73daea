"""Review rows joined with the same quarter's KPIs, the next quarter's outcome and rep attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesinsight.metrics._panel import panel

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = ["KPI_COVARIATES", "ReviewData", "review_data"]

#: Same-quarter KPIs a review score is compared with (attainment capped, activities on a log scale).
KPI_COVARIATES: tuple[str, ...] = ("attainment", "win_rate", "log_activities")

#: Attainment is capped at this multiple of quota in the models (a ramping rep's tiny quota can
#: give attainments of 20x that would dominate a least-squares fit).
ATTAINMENT_CAP = 3.0


@dataclass(frozen=True)
class ReviewData:
    """Review rows ready for the review analyses.

    Attributes
    ----------
    frame : DataFrame
        One row per review: ``rep_id``, ``period``, ``quarter_index`` (0 = first quarter in the data),
        ``score``, ``reviewer_id``, the KPIs of ``KPI_COVARIATES``, ``next_attainment`` (NaN for the
        last quarter or a leaver) and the rep attributes ``team_id``, ``region``, ``role``,
        ``tenure_band`` plus any other text column of ``reps``.
    group_columns : tuple of str
        Rep attributes that rating gaps can be shown for.
    notes : tuple of str
        What was dropped or defaulted, in words.
    """

    frame: pd.DataFrame
    group_columns: tuple[str, ...]
    notes: tuple[str, ...]


def _columns(ds: Dataset, table: str) -> list[str]:
    return list(ds.sql(f"SELECT * FROM {table} LIMIT 0").columns)


def review_data(ds: Dataset, *, through: str | None = None) -> ReviewData:
    """Join ``reviews`` with the rep-quarter KPI panel and the ``reps`` table.

    ``through`` (a quarter label) keeps only reviews and KPIs up to that quarter, so a report on a
    past quarter does not look ahead.

    ``reviewer_id`` defaults to the rep's ``manager_id`` where absent or empty (data contract).
    Reviews whose quarter has no KPI row, or whose rep had no quota that quarter, are left out and
    counted in ``notes``.

    Raises
    ------
    ValueError
        When the folder has no ``reviews`` table, or no review matches a KPI quarter.
    """
    if not ds.has("reviews"):
        raise ValueError(
            f"{ds.folder}: no reviews table (reviews.csv or reviews.parquet); the review analyses "
            "need one row per rep and quarter with a score"
        )
    notes: list[str] = []
    reviewer = (
        "NULLIF(TRIM(CAST(v.reviewer_id AS VARCHAR)), '')"
        if "reviewer_id" in _columns(ds, "reviews")
        else "NULL"
    )
    reps_cols = _columns(ds, "reps")
    rv = ds.sql(
        f"""SELECT v.rep_id, v.period, CAST(v.score AS DOUBLE) AS score,
                   COALESCE({reviewer}, NULLIF(r.manager_id, '')) AS reviewer_id,
                   {reviewer} IS NULL AS reviewer_defaulted
            FROM reviews v LEFT JOIN reps r USING (rep_id)"""
    )
    n_default = int(rv["reviewer_defaulted"].sum())
    if n_default:
        notes.append(f"{n_default} review(s) without reviewer_id: the rep's manager is used")
    no_reviewer = rv["reviewer_id"].isna()
    if no_reviewer.any():
        notes.append(
            f"{int(no_reviewer.sum())} review(s) with neither reviewer_id nor a manager_id left out"
        )
        rv = rv[~no_reviewer]
    kpi = panel(ds, grain="quarter", by="rep")
    kpi = kpi[kpi["active"].astype(bool)].copy()
    if through is not None:
        kpi = kpi[kpi["period"] <= through]
        rv = rv[rv["period"] <= through]
    order = {p: i for i, p in enumerate(sorted(kpi["period"].unique()))}
    kpi["quarter_index"] = kpi["period"].map(order)
    kpi["log_activities"] = np.log1p(kpi["activities"].astype(float))
    kpi["attainment"] = kpi["attainment"].clip(upper=ATTAINMENT_CAP)
    nxt = kpi[["rep_id", "quarter_index", "attainment"]].rename(
        columns={"attainment": "next_attainment"}
    )
    nxt["quarter_index"] -= 1
    kpi = kpi.merge(nxt, on=["rep_id", "quarter_index"], how="left")
    keep = ["rep_id", "period", "quarter_index", "period_start", *KPI_COVARIATES, "next_attainment"]
    df = rv.merge(kpi[keep], on=["rep_id", "period"], how="left")
    unmatched = df["quarter_index"].isna()
    if unmatched.any():
        notes.append(
            f"{int(unmatched.sum())} review(s) for a quarter or rep without KPI data left out"
        )
    no_quota = ~unmatched & df["attainment"].isna()
    if no_quota.any():
        notes.append(f"{int(no_quota.sum())} review(s) of a quarter without quota left out")
    df = df[~unmatched & ~no_quota].copy()
    if df.empty:
        raise ValueError(
            f"{ds.folder}: no review matches a rep-quarter with KPIs and a quota; reviews.period "
            "must be the quarter label (YYYYQn) of a quarter in the data"
        )
    df["quarter_index"] = df["quarter_index"].astype(int)
    no_close = df["win_rate"].isna()
    if no_close.any():
        df.loc[no_close, "win_rate"] = float(df["win_rate"].mean())
        notes.append(
            f"{int(no_close.sum())} review(s) of a quarter without closed deals: win rate set to "
            "the average"
        )
    df, groups = _attributes(ds, df, reps_cols)
    df = df.sort_values(["quarter_index", "rep_id", "reviewer_id"], kind="stable")
    return ReviewData(df.reset_index(drop=True), groups, tuple(notes))


def _attributes(
    ds: Dataset, df: pd.DataFrame, reps_cols: list[str]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Add rep attributes: team, region, role, any other text column, and a tenure band."""
    skip = {"rep_id", "name", "manager_id", "hire_date", "termination_date"}
    reps = ds.table("reps")
    text = [
        c
        for c in reps_cols
        if c not in skip and (reps[c].dtype == object or pd.api.types.is_string_dtype(reps[c]))
    ]
    out = df.merge(reps[["rep_id", "hire_date", *text]], on="rep_id", how="left")
    tenure_days = (out["period_start"] - pd.to_datetime(out["hire_date"])).dt.days
    out["tenure_band"] = pd.cut(
        tenure_days,
        bins=[-np.inf, 365, 3 * 365, np.inf],
        labels=["under 1 year", "1-3 years", "over 3 years"],
    ).astype(str)
    out = out.drop(columns=["hire_date", "period_start"])
    groups = tuple(c for c in [*text, "tenure_band"] if c != "team_id")
    return out, groups
