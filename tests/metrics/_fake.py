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
