"""Chance of reaching quota (智能预警, part 1): run-rate plus open-pipeline Monte Carlo.

Revenue won so far in the quarter, plus a Monte Carlo of what is still to come: each opportunity open
at ``as_of`` is won before quarter end with probability ``pi x r_i`` (``pi`` = the company share of
opportunities open at the same day of the quarter that were won by that quarter's end, over the
previous quarters; ``r_i`` = the rep's empirical-Bayes shrunk win rate over the company win rate, so
strong closers convert more), for its recorded amount; plus new business created after ``as_of`` and
won within the quarter: a Poisson count with the rep's gamma-Poisson shrunk rate per quarter at the same
phase, each deal an amount resampled from the rep's own won deals (company deals when the rep has fewer
than five).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesinsight.metrics._phase_windows import _values_sql
from salesinsight.metrics._sql import exact_sum
from salesinsight.metrics.shrinkage import fit_beta_binomial, fit_gamma_poisson

#: a quota prorated to the days of [?, ?] it covers (parameters: window start, window end)
_PRORATED_QUOTA = (
    "quota_amount * (date_diff('day', greatest(period_start, ?), least(period_end, ?)) + 1)"
    " / (date_diff('day', period_start, period_end) + 1)"
)


def _quota_outlook(
    data: Any,
    w: pd.DataFrame,
    active: pd.DataFrame,
    *,
    n_draws: int,
    seed: int,
    interval: float,
) -> pd.DataFrame:
    """Monte Carlo distribution of the quarter's revenue for each active rep."""
    cur = w.iloc[0]
    qs, as_of, qe = cur["s"], cur["e"], cur["qe"]
    v = _values_sql(w)
    # history: open at the same phase and won by quarter end, and new business after the phase
    hist = data.sql(
        f"""
        WITH w AS (SELECT * FROM {v} WHERE k > 0)
        SELECT w.k, o.rep_id,
          count(*) FILTER (WHERE o.created_date <= w.e
                           AND (o.status = 'open' OR o.close_date > w.e)) AS n_open,
          count(*) FILTER (WHERE o.created_date <= w.e AND o.status = 'won'
                           AND o.close_date > w.e AND o.close_date <= w.qe) AS n_open_won,
          count(*) FILTER (WHERE o.created_date > w.e AND o.status = 'won'
                           AND o.close_date <= w.qe) AS n_new_won
        FROM opportunities o JOIN w ON o.created_date <= w.qe
        GROUP BY ALL
        """
    )
    pi = float(hist["n_open_won"].sum() / max(hist["n_open"].sum(), 1))
    first_start = w["s"].min()
    wr = data.sql(
        """SELECT rep_id, count(*) FILTER (WHERE status = 'won') AS won, count(*) AS closed
           FROM opportunities WHERE status IN ('won', 'lost') AND close_date BETWEEN ? AND ?
           GROUP BY rep_id""",
        [first_start, as_of],
    ).set_index("rep_id")
    won_amts = data.sql(
        """SELECT rep_id, amount FROM opportunities
           WHERE status = 'won' AND close_date BETWEEN ? AND ? AND amount IS NOT NULL
           ORDER BY rep_id, opp_id""",
        [first_start, as_of],
    )
    so_far = data.sql(
        f"""SELECT rep_id, {exact_sum("amount")} AS revenue_to_date FROM opportunities
           WHERE status = 'won' AND close_date BETWEEN ? AND ? GROUP BY rep_id""",
        [qs, as_of],
    ).set_index("rep_id")["revenue_to_date"]
    open_now = data.sql(
        """SELECT rep_id, amount FROM opportunities
           WHERE created_date <= ? AND (status = 'open' OR close_date > ?)
           ORDER BY rep_id, opp_id""",
        [as_of, as_of],
    )
    quota = pd.Series(dtype=float)
    if data.has("quotas"):
        quota = data.sql(
            f"""SELECT rep_id, {exact_sum(_PRORATED_QUOTA)} AS quota
               FROM quotas WHERE period_start <= ? AND period_end >= ?
               GROUP BY rep_id""",
            [qs, qe, qe, qs],
        ).set_index("rep_id")["quota"]

    ids = active["rep_id"].to_numpy()
    # shrunk win rates (beta-binomial across active reps)
    k = wr["won"].reindex(ids).fillna(0).to_numpy(float)
    n = wr["closed"].reindex(ids).fillna(0).to_numpy(float)
    comp_wr = k.sum() / max(n.sum(), 1)
    if n.sum() > 0 and (n > 0).sum() >= 2:
        a, b = fit_beta_binomial(k, n)
        shrunk_wr = (a + k) / (a + b + n)
    else:
        shrunk_wr = np.full(len(ids), comp_wr)
    ratio = shrunk_wr / comp_wr if comp_wr > 0 else np.ones(len(ids))
    # new business: gamma-Poisson over past windows
    nb = hist.groupby("rep_id")["n_new_won"].sum().reindex(ids).fillna(0).to_numpy(float)
    nwin = hist.groupby("rep_id")["k"].nunique().reindex(ids).fillna(0).to_numpy(float)
    if (nwin > 0).sum() >= 2 and nb.sum() > 0:
        ga, gb = fit_gamma_poisson(nb, nwin)
        lam = (ga + nb) / (gb + nwin)
    else:
        lam = np.full(len(ids), nb.sum() / max(nwin.sum(), 1))

    company_amts = won_amts["amount"].to_numpy(float)
    by_rep = {r: g["amount"].to_numpy(float) for r, g in won_amts.groupby("rep_id")}
    open_by_rep = {r: g["amount"].to_numpy(float) for r, g in open_now.groupby("rep_id")}
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    rows = []
    for idx, rep in enumerate(ids):
        own = by_rep.get(rep, np.array([]))
        pool = own if own.size >= 5 else company_amts
        fallback = float(pool.mean()) if pool.size else 0.0
        amts = open_by_rep.get(rep, np.array([]))
        amts = np.where(np.isfinite(amts), amts, fallback)
        p_win = float(min(pi * ratio[idx], 0.95))
        wins = rng.random((n_draws, amts.size)) < p_win
        from_open = wins.astype(float) @ amts if amts.size else np.zeros(n_draws)
        cnt = rng.poisson(lam[idx], n_draws)
        tot = int(cnt.sum())
        if tot and pool.size:
            sizes = rng.choice(pool, size=tot, replace=True)
            new: np.ndarray = np.bincount(
                np.repeat(np.arange(n_draws), cnt), weights=sizes, minlength=n_draws
            )
        else:
            new = np.zeros(n_draws)
        done = float(so_far.get(rep, 0.0) or 0.0)
        total = done + from_open + new
        qv = float(quota.get(rep, np.nan)) if len(quota) else np.nan
        rows.append(
            {
                "rep_id": rep,
                "revenue_to_date": done,
                "quota": qv,
                "open_pipeline": float(amts.sum()),
                "n_open": int(amts.size),
                "p_open_win": p_win,
                "new_deals_expected": float(lam[idx]),
                "expected_revenue": float(total.mean()),
                "revenue_low": float(np.quantile(total, lo_q)),
                "revenue_high": float(np.quantile(total, hi_q)),
                "p_reach_quota": float(np.mean(total >= qv)) if qv > 0 else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["pi"] = pi
    return out
