"""KPI panels: one row per entity (rep, team or company) and period, computed in DuckDB SQL.

Every KPI of the data contract plus follow-ups per open opportunity, median deal size, pipeline
coverage, pipeline velocity, quarter-end concentration and share of reps at quota. Definitions:
``docs/metrics.md``. Roll-ups (team, company) are ratios of sums, never means of rep ratios.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from salesinsight.calendar import (
    check_fiscal_year_start_month,
    check_grain,
    period_end,
    period_range,
    period_start,
    to_date,
)
from salesinsight.kpis import KPIS, LEVELS
from salesinsight.metrics._sql import PanelQuery, data_range_sql, panel_sql
from salesinsight.metrics.availability import mark_unavailable, not_available

if TYPE_CHECKING:
    from salesinsight.data import Dataset
    from salesinsight.engines import Engine

__all__ = ["KPI_COLUMNS", "KPI_KIND", "LEVELS", "panel", "panel_columns"]

#: every KPI column name (any level), in order (:data:`salesinsight.kpis.KPIS`)
KPI_COLUMNS: tuple[str, ...] = tuple(KPIS)
_KEYS: dict[str, tuple[str, ...]] = {
    "rep": ("rep_id", "team_id"),
    "team": ("team_id",),
    "company": (),
}

#: Each KPI declared a *process* metric (what sellers do: activities, follow-ups, meetings, pipeline
#: created) or an *outcome* (what they get: revenue, win rate, attainment, CSAT); from the KPI
#: registry. KPIs not listed (the panel's bookkeeping such as ``quota``, ``active``) are neither.
KPI_KIND: dict[str, str] = {k.name: k.kind for k in KPIS.values() if k.kind is not None}

#: integer counts (NaN, so float, when their optional table is absent)
_COUNT_COLUMNS = tuple(k.name for k in KPIS.values() if k.unit == "count")

#: roles that are not sellers unless a run names others (data contract: ``sellers_active``)
NON_SELLING_ROLES: tuple[str, ...] = ("manager",)

#: KPI columns that add up over reps and periods (counts and money): team and company values are
#: sums of rep values, so an effect per rep-period times exposure is a contribution to them.
ADDITIVE_KPIS: frozenset[str] = frozenset(k.name for k in KPIS.values() if k.additive)


def panel_columns(by: str) -> list[str]:
    """Column names of a panel at level ``by``, in order."""
    if by not in LEVELS:
        raise ValueError(f"by must be one of {', '.join(LEVELS)}; got {by!r}")
    return [
        "period_start",
        "period",
        *_KEYS[by],
        *(k.name for k in KPIS.values() if by in k.levels),
    ]


def panel(
    data: Dataset | str | Path,
    grain: str = "week",
    by: str = "rep",
    fiscal_year_start_month: int = 1,
    start: object = None,
    end: object = None,
    non_selling_roles: tuple[str, ...] | list[str] | None = None,
    *,
    engine: str | Engine | None = None,
) -> pd.DataFrame:
    """KPI panel: one row per entity and period, balanced.

    Parameters
    ----------
    data : Dataset or path of a data folder
        A folder path is opened with ``salesinsight.data.load`` (validated) and closed afterwards.
    grain : {"week", "month", "quarter"}
        ISO weeks (labelled by their Monday), months, or (fiscal) quarters.
    by : {"rep", "team", "company"}
        Entity. Teams are ``reps.team_id``; team and company rows sum numerators and denominators.
    fiscal_year_start_month : int, default 1
        First month of the fiscal year; quarters are labelled ``FYyyyyQn`` by the fiscal year in
        which they end when it is not 1.
    start, end : date-like, optional
        Every period overlapping ``[start, end]`` is returned, each computed over its whole length.
        Defaults: the earliest and latest event date in the data (activities, opportunities created
        or closed, CSAT responses).
    non_selling_roles : sequence of str, optional
        ``reps.role`` values (case-insensitive) that are not sellers; default the dataset's
        (``load(..., non_selling_roles=...)``, itself ``("manager",)`` by default). Non-sellers count in every
        total (their deals, activities, ``n_active_reps``) but not in ``sellers_active`` or
        ``seller_terminations``, the denominators of per-seller figures and of ``attrition``.
    engine : {"duckdb", "spark"} or Engine, optional
        Who opens a folder path (default DuckDB); see :mod:`salesinsight.engines`. A dataset
        already opened by an engine (``engine.load(...)``) is queried on that engine.

    Returns
    -------
    pandas.DataFrame
        Columns ``period_start`` (datetime64), ``period`` (label), the entity keys (``rep_id``,
        ``team_id`` for reps; ``team_id`` for teams; none for the company), then the KPIs (see
        ``panel_columns(by)`` and ``docs/metrics.md``). One row per entity and period in range,
        sorted by entity then period; reps outside their employment have ``active=False``.
        Count columns are int64 (float NaN when their optional table is absent); KPIs the folder
        cannot give (a table absent, or a lack the import declared) are NaN and listed with the
        reason in ``df.attrs["not_available"]`` (see ``metrics.availability``); rates are float
        with NaN where the denominator is 0 or missing.
    """
    grain = check_grain(grain)
    m = check_fiscal_year_start_month(fiscal_year_start_month)
    columns = panel_columns(by)
    if isinstance(data, str | Path):
        if engine is None or engine == "duckdb":
            from salesinsight.data import load

            opened = load(data)
        else:
            from salesinsight.engines import get_engine

            opened = get_engine(engine).load(data)
        with opened as ds:
            return panel(
                ds,
                grain=grain,
                by=by,
                fiscal_year_start_month=m,
                start=start,
                end=end,
                non_selling_roles=non_selling_roles,
            )
    query = build_query(data, grain=grain, by=by, fiscal_year_start_month=m, start=start, end=end)
    if query is not None:
        roles = getattr(data, "non_selling_roles", NON_SELLING_ROLES)
        roles = roles if non_selling_roles is None else non_selling_roles
        query = dataclasses.replace(query, non_selling_roles=tuple(roles))
    if query is None:  # no events at all and no bounds given
        return _empty(columns)
    ds = data
    if getattr(ds, "dialect", "duckdb") != "duckdb":  # no 128-bit integers: count types one by one
        query = dataclasses.replace(query, activity_field_bits=None)
    try:
        df = ds.con.execute(panel_sql(query)).df()
        overflow = bool(df["_act_overflow"].any())
    except duckdb.OutOfRangeException:  # packed activity counts beyond 128 bits
        overflow = True
    if overflow:  # a rep with >= 2**18 activities in one period: count types one by one
        query = dataclasses.replace(query, activity_field_bits=None)
        df = ds.con.execute(panel_sql(query)).df()
    return mark_unavailable(_finish(df, columns, query), not_available(ds))


def build_query(
    ds: Dataset,
    grain: str,
    by: str,
    fiscal_year_start_month: int,
    start: object,
    end: object,
) -> PanelQuery | None:
    """Return the periods and options of a panel (``None`` when the data have no event and no bounds)."""
    for required in ("reps", "opportunities"):
        if not ds.has(required):
            raise ValueError(f"the KPI panel needs table {required!r}, absent from {ds.folder}")
    m = fiscal_year_start_month
    has_activities, has_csat = ds.has("activities"), ds.has("csat")
    lo = None if start is None else to_date(start)
    hi = None if end is None else to_date(end)
    if lo is None or hi is None:
        row = ds.con.execute(data_range_sql(has_activities, has_csat)).fetchall()[0]
        data_lo, data_hi = (None, None) if row is None else row
        lo = data_lo if lo is None else lo
        hi = data_hi if hi is None else hi
    if lo is None or hi is None:
        return None
    if lo > hi:
        raise ValueError(f"start ({lo}) is after end ({hi})")
    periods = period_range(lo, hi, grain, m)
    rows = []
    for s, e, label in zip(
        periods["period_start"], periods["period_end"], periods["period"], strict=True
    ):
        q = period_start(s, "quarter", m)
        rows.append((s, e, q, period_end(q, "quarter", m), label))
    return PanelQuery(
        grain=grain,
        fiscal_year_start_month=m,
        level=by,
        periods=tuple(rows),
        has_activities=has_activities,
        has_quotas=ds.has("quotas"),
        has_csat=has_csat,
    )


def _empty(columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    df["period_start"] = pd.Series(dtype="datetime64[us]")
    for c in ("period", "rep_id", "team_id"):
        if c in df:
            df[c] = pd.Series(dtype="str")
    if "active" in df:
        df["active"] = pd.Series(dtype=bool)
    return df


def _finish(df: pd.DataFrame, columns: list[str], query: PanelQuery) -> pd.DataFrame:
    """Dtypes and column order of the raw SQL result."""
    df["period_start"] = pd.to_datetime(df["period_start"])
    present = {"activities": query.has_activities, "csat": query.has_csat}
    absent = {
        k.name for k in KPIS.values() if k.table is not None and not present.get(k.table, True)
    }
    for c in _COUNT_COLUMNS:
        if c in df:
            df[c] = df[c].astype("float64") if c in absent else df[c].astype("int64")
    floats = [c for c in columns if c not in _COUNT_COLUMNS and c not in ("active", "period")]
    for c in floats:
        if c not in ("period_start", "rep_id", "team_id"):
            df[c] = df[c].astype("float64")
    if "active" in df:
        df["active"] = df["active"].astype(bool)
    return df[columns].reset_index(drop=True)
