"""Hand-built quarter x rep panels with known latent rates (for unit tests before/alongside the simulator).

Generative model (kept deliberately simple and written out here so tests can state what is true):
rep i has latent activity rate A_i (per quarter), opportunity-creation rate c_i per activity, win rate p_i,
mean deal size d_i; team effects shift p_i. Each quarter: activities ~ Poisson(A_i * season_q),
opps_created ~ Poisson(activities * c_i), opps_closed ~ Poisson(0.9 * opps_created),
opps_won ~ Binomial(opps_closed, p_i), revenue = sum of won lognormal deals with mean d_i.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEASON = {1: 0.9, 2: 1.0, 3: 0.95, 4: 1.15}


def fake_panel(
    *, seed: int, n_reps: int = 120, n_teams: int = 8, quarters: int = 6, start_year: int = 2025
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (panel, truth) where truth has one row per rep with its latent rates."""
    rng = np.random.default_rng(seed)
    reps = [f"R{i:03d}" for i in range(n_reps)]
    teams = np.array([f"T{i % n_teams}" for i in range(n_reps)])
    team_shift = rng.normal(0, 0.35, n_teams)
    logit_p = -1.3 + team_shift[np.arange(n_reps) % n_teams] + rng.normal(0, 0.45, n_reps)
    p = 1 / (1 + np.exp(-logit_p))
    act = rng.lognormal(np.log(300), 0.35, n_reps)
    c = rng.lognormal(np.log(0.06), 0.3, n_reps)
    d = rng.lognormal(np.log(20000), 0.3, n_reps)
    rows = []
    for q in range(quarters):
        year = start_year + q // 4
        qq = q % 4 + 1
        ps = pd.Timestamp(year=year, month=3 * (qq - 1) + 1, day=1)
        for i, r in enumerate(reps):
            a = rng.poisson(act[i] * SEASON[qq])
            fu = rng.binomial(a, 0.2)
            oc = rng.poisson(a * c[i])
            closed = rng.poisson(0.9 * oc)
            won = rng.binomial(closed, p[i])
            amts = rng.lognormal(np.log(d[i]) - 0.5 * 0.6**2, 0.6, won)
            cyc = rng.normal(60, 20, won).clip(5)
            ncs = rng.poisson(4)
            cs = rng.uniform(0.5, 1.0, ncs)
            rev = float(amts.sum())
            rows.append(
                {
                    "period_start": ps,
                    "period": f"{year}Q{qq}",
                    "rep_id": r,
                    "team_id": teams[i],
                    "activities": a,
                    "follow_ups": fu,
                    "opps_created": oc,
                    "opps_won": won,
                    "opps_lost": closed - won,
                    "opps_closed": closed,
                    "win_rate": won / closed if closed else np.nan,
                    "revenue": rev,
                    "avg_deal_size": rev / won if won else np.nan,
                    "cycle_days": float(cyc.mean()) if won else np.nan,
                    "csat": float(cs.mean()) if ncs else np.nan,
                    "csat_responses": ncs,
                    "quota": 0.9 * act[i] * c[i] * 0.9 * p[i] * d[i],
                    "active": True,
                }
            )
    panel = pd.DataFrame(rows)
    panel["attainment"] = panel["revenue"] / panel["quota"]
    truth = pd.DataFrame(
        {"rep_id": reps, "team_id": teams, "win_rate": p, "activity": act, "opp_creation": c}
    )
    return panel, truth


def fake_folder(
    out: str,
    *,
    seed: int,
    n_reps: int = 80,
    n_teams: int = 4,
    start: str = "2025-01-01",
    quarters: int = 6,
    data_end: str = "2026-05-15",
    drop: dict[str, float] | None = None,
    drop_from: str = "2026-04-01",
) -> None:
    """Write a small contract-shaped data folder (reps, opportunities, activities, quotas; Parquet).

    Daily model: rep i does Poisson(A_i) activities per working day (season factor per quarter of year);
    each activity opens an opportunity with probability c; an opportunity is won with probability p_i
    after a cycle of 20-120 days, amount lognormal (mean d_i). Quotas equal the rep's expected quarterly
    revenue. Attrition: after each quarter a rep leaves during the next quarter with probability
    expit(-3.5 - 1.5 (attainment - 1)) (low attainers leave more). ``drop`` maps rep_id -> factor applied
    to that rep's activity rate from ``drop_from`` on (a planted drop; those reps never leave). Data after ``data_end`` are
    cut: later closes become ``open``.
    """
    import pathlib

    rng = np.random.default_rng(seed)
    drop = drop or {}
    folder = pathlib.Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    days = pd.bdate_range(start, data_end)
    end = pd.Timestamp(data_end)
    reps = [f"R{i:03d}" for i in range(n_reps)]
    teams = [f"T{i % n_teams}" for i in range(n_reps)]
    p = 1 / (1 + np.exp(-(-1.2 + rng.normal(0, 0.4, n_reps))))
    act = rng.lognormal(np.log(4.0), 0.3, n_reps)
    d = rng.lognormal(np.log(20000), 0.3, n_reps)
    c = 0.06
    hire = [pd.Timestamp(start) - pd.Timedelta(days=int(rng.integers(30, 900))) for _ in reps]
    term: list[pd.Timestamp | None] = [None] * n_reps
    acts, opps, quotas = [], [], []
    qstarts = pd.date_range(start, periods=quarters, freq="QS")
    oid = aid = 0
    for qs in qstarts:
        qe = qs + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        qdays = days[(days >= qs) & (days <= qe)]
        season = SEASON[qs.quarter]
        for i, r in enumerate(reps):
            if term[i] is not None and term[i] < qs:
                continue
            exp_rev = 63 * act[i] * season * c * p[i] * d[i]
            quotas.append(
                {
                    "rep_id": r,
                    "period_start": qs.date(),
                    "period_end": qe.date(),
                    "quota_amount": round(exp_rev, 2),
                }
            )
            live = qdays if term[i] is None else qdays[qdays <= term[i]]
            factor = np.where(live >= pd.Timestamp(drop_from), drop.get(r, 1.0), 1.0)
            k = rng.poisson(act[i] * season * factor)
            adays = np.repeat(live.to_numpy(), k)
            acts.extend(
                (f"A{aid + j + 1}", r, day, "call")
                for j, day in enumerate(pd.DatetimeIndex(adays).date)
            )
            aid += len(adays)
            odays = pd.DatetimeIndex(adays[rng.random(len(adays)) < c])
            won = rng.random(len(odays)) < p[i]
            close = odays + pd.to_timedelta(rng.integers(20, 121, len(odays)), unit="D")
            amt = rng.lognormal(np.log(d[i]) - 0.18, 0.6, len(odays))
            for j in range(len(odays)):
                oid += 1
                status = ("won" if won[j] else "lost") if close[j] <= end else "open"
                opps.append(
                    {
                        "opp_id": f"O{oid}",
                        "rep_id": r,
                        "created_date": odays[j].date(),
                        "status": status,
                        "close_date": close[j].date() if status != "open" else None,
                        "amount": round(float(amt[j]), 2),
                    }
                )
            rev = float(amt[won & (close >= qs) & (close <= qe)].sum())
            if qe < end and term[i] is None and r not in drop:
                att = rev / exp_rev
                if rng.random() < 1 / (1 + np.exp(3.5 + 1.5 * (att - 1))):
                    term[i] = qe + pd.Timedelta(days=int(rng.integers(1, 90)))
                    if term[i] > end:
                        term[i] = None
    pd.DataFrame(
        {
            "rep_id": reps,
            "team_id": teams,
            "hire_date": [h.date() for h in hire],
            "termination_date": [t.date() if t is not None else None for t in term],
        }
    ).to_parquet(folder / "reps.parquet")
    o = pd.DataFrame(opps)
    o["close_date"] = pd.to_datetime(o["close_date"]).dt.date
    o.to_parquet(folder / "opportunities.parquet")
    pd.DataFrame(acts, columns=["activity_id", "rep_id", "activity_date", "type"]).to_parquet(
        folder / "activities.parquet"
    )
    pd.DataFrame(quotas).to_parquet(folder / "quotas.parquet")
