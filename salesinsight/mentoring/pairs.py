"""Mentoring pairs and their comparison sets.

Each mentee (and each mentor) is matched to unmentored sellers with similar prior attainment and
tenure, with per-rep outcomes before and after the start.

A *matched set* is one treated rep (mentee or mentor) with its ``k`` nearest comparison sellers
(with replacement) on prior attainment (two quarters before the start) and tenure. Comparison sellers
were employed at the start, are not managers, and are in no rep-level program and no mentoring pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = ["Pairs", "mentoring_pairs", "matched_sets", "rep_outcomes"]

PRE_DAYS = 182  # prior window for attainment, revenue and win rate (about two quarters)
EARLY_DAYS = 91  # "early" window for the ramp-up win rate
HORIZON_DAYS = 182  # time to first won deal is restricted to this horizon
MIN_TENURE_DAYS = 120


@dataclass(frozen=True)
class Pairs:
    """Mentoring enrollments with a mentor.

    Attributes
    ----------
    frame : DataFrame
        ``program_id``, ``mentee_id``, ``mentor_id``, ``start`` (datetime64).
    data_end : Timestamp
        Last day with data (latest opportunity close or creation).
    """

    frame: pd.DataFrame
    data_end: pd.Timestamp


def mentoring_pairs(ds: Dataset) -> Pairs:
    """Mentee-mentor pairs of every mentoring program (``programs.kind = 'mentoring'``).

    Raises
    ------
    ValueError
        When the folder has no programs/enrollments, or no mentoring enrollment names a mentor.
    """
    if not (ds.has("programs") and ds.has("enrollments")):
        raise ValueError(f"{ds.folder}: no programs and enrollments tables; nothing to pair")
    df = ds.sql(
        """SELECT e.program_id, e.unit_id AS mentee_id, NULLIF(e.mentor_id, '') AS mentor_id,
                  CAST(e.start_date AS TIMESTAMP) AS start
           FROM enrollments e JOIN programs p USING (program_id)
           WHERE p.kind = 'mentoring' AND e.arm = 'treatment' AND p.unit = 'rep'
           ORDER BY e.program_id, e.unit_id"""
    )
    if df.empty or df["mentor_id"].isna().all():
        raise ValueError(
            f"{ds.folder}: no mentoring enrollment (programs.kind = mentoring, unit rep) with a "
            "mentor_id; the pair analyses need enrollments.mentor_id"
        )
    df = df.dropna(subset=["mentor_id"]).reset_index(drop=True)
    end = ds.sql("SELECT GREATEST(MAX(close_date), MAX(created_date)) AS d FROM opportunities")[
        "d"
    ].iloc[0]
    return Pairs(df, pd.Timestamp(end))


def rep_outcomes(ds: Dataset, reps: pd.DataFrame, data_end: pd.Timestamp) -> pd.DataFrame:
    """Per (rep, start) row of ``reps`` (columns ``rep_id``, ``start``): outcomes around the start.

    Columns added: ``pre_revenue``, ``pre_days`` (employed days in the prior window), ``pre_quota``,
    ``pre_attainment``, ``post_revenue``, ``post_days`` (employed days from the start to the data
    end), ``early_won``, ``early_closed`` (deals closed in the first ``EARLY_DAYS``),
    ``days_to_first_win`` (NaN when censored before ``HORIZON_DAYS``; ``HORIZON_DAYS`` when no win
    within a fully observed horizon), ``quarters_to_quota`` and ``tenure_days``.
    """
    ds.con.register("_si_starts", reps[["rep_id", "start"]])
    try:
        out = ds.sql(
            f"""
            WITH s AS (SELECT DISTINCT rep_id, start FROM _si_starts),
            emp AS (
              SELECT s.*, CAST(r.hire_date AS TIMESTAMP) AS hire,
                     COALESCE(CAST(r.termination_date AS TIMESTAMP), TIMESTAMP '9999-12-31') AS term
              FROM s JOIN reps r USING (rep_id)),
            o AS (SELECT rep_id, CAST(close_date AS TIMESTAMP) AS d, status, amount
                  FROM opportunities WHERE status IN ('won', 'lost')),
            q AS (SELECT rep_id, CAST(period_start AS TIMESTAMP) AS ps,
                         CAST(period_end AS TIMESTAMP) AS pe, quota_amount FROM quotas)
            SELECT emp.rep_id, emp.start, emp.hire, emp.term,
              (SELECT COALESCE(CAST(SUM(CAST(amount AS DECIMAL(38, 12))) AS DOUBLE), 0) FROM o WHERE o.rep_id = emp.rep_id AND o.status = 'won'
                 AND o.d >= emp.start - INTERVAL {PRE_DAYS} DAY AND o.d < emp.start) AS pre_revenue,
              (SELECT COALESCE(CAST(SUM(CAST(amount AS DECIMAL(38, 12))) AS DOUBLE), 0) FROM o WHERE o.rep_id = emp.rep_id AND o.status = 'won'
                 AND o.d >= emp.start) AS post_revenue,
              (SELECT COUNT(*) FROM o WHERE o.rep_id = emp.rep_id AND o.status = 'won'
                 AND o.d >= emp.start - INTERVAL {PRE_DAYS} DAY AND o.d < emp.start) AS pre_won,
              (SELECT COUNT(*) FROM o WHERE o.rep_id = emp.rep_id
                 AND o.d >= emp.start - INTERVAL {PRE_DAYS} DAY AND o.d < emp.start) AS pre_closed,
              (SELECT COUNT(*) FROM o WHERE o.rep_id = emp.rep_id AND o.status = 'won'
                 AND o.d >= emp.start AND o.d < emp.start + INTERVAL {EARLY_DAYS} DAY) AS early_won,
              (SELECT COUNT(*) FROM o WHERE o.rep_id = emp.rep_id
                 AND o.d >= emp.start AND o.d < emp.start + INTERVAL {EARLY_DAYS} DAY) AS early_closed,
              (SELECT MIN(o.d) FROM o WHERE o.rep_id = emp.rep_id AND o.status = 'won'
                 AND o.d >= emp.start) AS first_win
            FROM emp
            """
        )
        quota = (
            ds.sql(
                f"""SELECT s.rep_id, s.start, q.ps, q.pe, q.quota_amount,
                  (SELECT COALESCE(CAST(SUM(CAST(amount AS DECIMAL(38, 12))) AS DOUBLE), 0) FROM opportunities o
                   WHERE o.rep_id = s.rep_id AND o.status = 'won'
                     AND CAST(o.close_date AS TIMESTAMP) BETWEEN q.ps AND q.pe) AS revenue
                FROM (SELECT DISTINCT rep_id, start FROM _si_starts) s
                JOIN (SELECT rep_id, CAST(period_start AS TIMESTAMP) AS ps,
                             CAST(period_end AS TIMESTAMP) AS pe, quota_amount FROM quotas) q
                  ON q.rep_id = s.rep_id
                 AND q.pe >= s.start - INTERVAL {PRE_DAYS} DAY"""
            )
            if ds.has("quotas")
            else pd.DataFrame(columns=["rep_id", "start", "ps", "pe", "quota_amount", "revenue"])
        )
    finally:
        ds.con.unregister("_si_starts")
    return _finish(out, quota, data_end)


def _finish(out: pd.DataFrame, quota: pd.DataFrame, data_end: pd.Timestamp) -> pd.DataFrame:
    start, hire = out["start"], out["hire"]
    term = out["term"].where(out["term"] < pd.Timestamp("9999-01-01"), pd.NaT)
    pre_lo = start - pd.Timedelta(days=PRE_DAYS)
    pre_from = np.maximum(pre_lo, hire)
    out["pre_days"] = (start - pre_from).dt.days.clip(lower=0)
    post_to = term.fillna(data_end).clip(upper=data_end)
    out["post_days"] = ((post_to - start).dt.days + 1).clip(lower=0)
    out["tenure_days"] = (start - hire).dt.days
    days = (out["first_win"] - start).dt.days
    observed = (post_to - start).dt.days
    out["days_to_first_win"] = np.where(
        days.notna() & (days < HORIZON_DAYS),
        days,
        np.where(observed >= HORIZON_DAYS, float(HORIZON_DAYS), np.nan),
    )
    q = quota.copy()
    pre = q[q["pe"] < q["start"]]
    pre_q = pre.groupby(["rep_id", "start"])[["quota_amount", "revenue"]].sum()
    post = q[(q["ps"] >= q["start"]) & (q["pe"] <= data_end)].sort_values("ps")
    post = post.assign(k=post.groupby(["rep_id", "start"]).cumcount() + 1)
    post = post[post["k"] <= 4]
    hit = post[post["revenue"] >= post["quota_amount"]].groupby(["rep_id", "start"])["k"].min()
    n_post = post.groupby(["rep_id", "start"])["k"].max()
    key = pd.MultiIndex.from_frame(out[["rep_id", "start"]])
    out["pre_quota"] = pre_q["quota_amount"].reindex(key).to_numpy()
    out["pre_attainment"] = (pre_q["revenue"] / pre_q["quota_amount"]).reindex(key).to_numpy()
    first = hit.reindex(key).to_numpy()
    full = n_post.reindex(key).to_numpy() == 4
    # quarters to first quota restricted to 4 full quarters (5 = not within 4); NaN if censored
    out["quarters_to_quota"] = np.where(np.isfinite(first), first, np.where(full, 5.0, np.nan))
    return out.drop(columns=["first_win"])


def matched_sets(
    treated: pd.DataFrame,
    pool: pd.DataFrame,
    *,
    k: int = 3,
    caliper: float = 0.5,
) -> pd.DataFrame:
    """Nearest ``k`` comparison rows (with replacement) for each treated row, same start date.

    Parameters
    ----------
    treated, pool : DataFrame
        ``rep_outcomes`` rows; the pool holds candidate comparison sellers for each start date.
    k : int
        Comparison sellers per treated rep.
    caliper : float
        Largest prior-attainment distance (in pool standard deviations) of an accepted comparison
        seller; a treated rep with fewer than ``k`` within it is left out (no overlap).

    Returns
    -------
    DataFrame
        ``set_id`` (the treated row's position), ``role`` (``treated``/``control``), ``weight``
        (1 for treated, 1/k for controls) and every column of the inputs.
    """
    rows = []
    for i, t in enumerate(treated.itertuples(index=False)):
        cand = pool[(pool["start"] == t.start) & (pool["rep_id"] != t.rep_id)]
        cand = cand.dropna(subset=["pre_attainment"])
        if len(cand) < k or not np.isfinite(t.pre_attainment):
            continue
        sd_a = max(float(pool["pre_attainment"].std()), 1e-9)
        sd_t = max(float(pool["tenure_days"].std()), 1e-9)
        dist = ((cand["pre_attainment"] - t.pre_attainment) / sd_a) ** 2 + 0.25 * (
            (cand["tenure_days"] - t.tenure_days) / sd_t
        ) ** 2
        near = cand.iloc[np.argsort(dist.to_numpy(), kind="stable")[:k]]
        if (np.abs(near["pre_attainment"] - t.pre_attainment) / sd_a > caliper).any():
            continue
        rows.append(pd.DataFrame([t._asdict()]).assign(set_id=i, role="treated", weight=1.0))
        rows.append(near.assign(set_id=i, role="control", weight=1.0 / k))
    if not rows:
        raise ValueError(
            "no treated rep could be matched: no prior attainment, too few comparison sellers, or "
            "none within the caliper"
        )
    out = pd.concat(rows, ignore_index=True)
    out.attrs["n_unmatched"] = len(treated) - len(rows) // 2
    return out
