"""Where ``research.pull_in`` breaks: its estimator and jackknife interval on toy panels without gaming.

Each panel is a deal-level toy (no pull-in anywhere, so the truth is 0): sellers create deals every day
(Poisson with a day-level random rate, mean about 1 a day, as the simulator's prospecting), each deal
closes a log-normal cycle later (median 42 days, clipped to 20-120), four 91-day quarters follow a
130-day burn-in, and a seller-quarter is *behind* when fewer than 77 deals closed between the quarter
start and the entry date (14 days before the end; about half the sellers). The estimator's sums are
built per seller-quarter and passed to the package's own estimator and delete-one-seller jackknife.

Scenarios:

- ``baseline``: 240 sellers, independent of each other (the assumption holds).
- ``calendar_shock``: in one quarter of the four, the customers of half the sellers (one region) hold
  their purchases: 40% of that region's deals due in the five weeks before the entry date slip to a
  random day of the last 14. The region's sellers fall behind *and* close more in the last
  days, so the assumption that behind and on-track sellers share the customers' calendar fails.
- ``team_timing``: sellers in teams of 10 sharing a territory (a persistent team factor on deal flow,
  log-normal with SD 0.3, so whole teams tend to be behind or on track), and each team-quarter's deals
  due after the entry date move by a shared N(0, 6)-day shift (a team's customers sign early or late
  together). The shift is independent of the classification (no bias), but sellers are no longer
  independent: the seller jackknife misses the team-level part of the variance.
- ``few_sellers``: the baseline with 16 sellers.

Usage::

    python benchmarks/pull_in_assumptions.py [--panels 200] [--seed 7100] [--out FILE]

Prints, per scenario, the mean estimate of pulled closed deals (truth 0) with its Monte Carlo SE, the
SD across panels, the mean jackknife SE, and how often the 95% t(G - 1) interval covers 0; then the
same for the delete-one-team jackknife (``cluster="team"``; teams of ten consecutive sellers in every
scenario, t(teams - 1)).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.research._pull_in import (
    STATS,
    _age_stats,
    _design,
    _estimate,
    _jackknife,
    jackknife_se,
)

BURN, QDAYS, N_Q, WINDOW, HORIZON, N_BINS, THRESHOLD = 130, 91, 4, 14, 30, 16, 77
SCENARIOS = {
    "baseline": {"n_sellers": 240},
    "calendar_shock": {"n_sellers": 240, "shock": True},
    "team_timing": {"n_sellers": 240, "team_sd": 6.0},
    "few_sellers": {"n_sellers": 16},
}


def panel(
    rng: np.random.Generator, *, n_sellers: int, shock: bool = False, team_sd: float = 0.0
) -> tuple[float, float, int, float, int]:
    """One toy panel: (estimate of pulled closed deals, seller jackknife SE, sellers, team
    jackknife SE, teams); teams are ten consecutive sellers in every scenario."""
    n_days = BURN + N_Q * QDAYS + HORIZON + 1
    lam = rng.gamma(1.0, 1.0, (n_sellers, n_days)) * np.exp(rng.normal(0, 0.2, (n_sellers, 1)))
    if team_sd > 0:  # teams share a territory: a persistent factor on their deal flow
        lam *= np.exp(rng.normal(0, 0.3, n_sellers // 10 + 1))[np.arange(n_sellers) // 10, None]
    n = rng.poisson(lam).ravel()
    seller = np.repeat(np.repeat(np.arange(n_sellers), n_days), n)
    created = np.repeat(np.tile(np.arange(n_days), n_sellers), n)
    cycle = np.clip(np.rint(np.exp(rng.normal(np.log(42), 0.45, len(created)))), 20, 120)
    close = created + cycle.astype(np.int64)
    names = [*STATS, *_age_stats(N_BINS)]
    rows, periods, behind, sellers = [], [], [], []
    for q in range(N_Q):
        start = BURN + q * QDAYS
        end = start + QDAYS - 1
        entry = end - WINDOW
        c = close.copy()
        if shock and q == 1:  # one region's customers hold purchases until the quarter's last days
            held = (seller < n_sellers // 2) & (c > entry - 35) & (c <= entry)
            held &= rng.random(len(c)) < 0.4
            c[held] = entry + 1 + rng.integers(0, WINDOW, int(held.sum()))
        if team_sd > 0:  # a team's customers sign early or late together, after the entry date
            shift = np.rint(rng.normal(0.0, team_sd, n_sellers // 10 + 1)).astype(np.int64)
            due = c > entry
            c[due] = np.maximum(entry + 1, c[due] + shift[seller[due] // 10])
        pre = np.bincount(seller[(c >= start) & (c <= entry)], minlength=n_sellers)
        pipe = (created <= entry) & (c > entry)
        age = np.minimum((entry - created) // 7, N_BINS - 1)
        masks = {"P": pipe, "PL": pipe & (c <= end), "PN": pipe & (c > end) & (c <= end + HORIZON)}
        x = np.zeros((n_sellers, len(names)))
        for col, m in masks.items():
            by_age = np.bincount(seller[m] * N_BINS + age[m], minlength=n_sellers * N_BINS).reshape(
                n_sellers, N_BINS
            )
            x[:, names.index(col)] = by_age.sum(1)
            for k in range(N_BINS):
                x[:, names.index(f"{col}_age{k}")] = by_age[:, k]
        for col in ("PL_won", "PL_rev", "L"):
            x[:, names.index(col)] = x[:, names.index("PL")]
        rows.append(x)
        periods.append(np.full(n_sellers, q))
        behind.append(pre < THRESHOLD)
        sellers.append(np.arange(n_sellers))
    d = _design(np.vstack(rows), np.concatenate(periods), np.concatenate(behind), N_Q)
    shape = (len(names), N_Q, 2)
    est = float(_estimate(d.sum(0).reshape(shape), N_BINS)["pulled_closed_deals"])
    codes = np.concatenate(sellers)
    loo = _jackknife(d, codes, shape, N_BINS)["pulled_closed_deals"]
    loo_team = _jackknife(d, codes // 10, shape, N_BINS)["pulled_closed_deals"]
    n_teams = int(codes.max()) // 10 + 1
    return est, jackknife_se(loo), n_sellers, jackknife_se(loo_team), n_teams


def run(n_panels: int, seed: int) -> pd.DataFrame:
    """One row per scenario (each with its own seeded stream, so scenarios reproduce alone)."""
    out = []
    for i, (name, kw) in enumerate(SCENARIOS.items()):
        rng = np.random.default_rng([seed, i])
        res = np.array([panel(rng, **kw) for _ in range(n_panels)])  # type: ignore[arg-type]
        est, se, g, se_team, n_teams = res.T
        ok = np.isfinite(se)
        cover = np.abs(est[ok]) <= stats.t.ppf(0.975, g[ok] - 1) * se[ok]
        cov = float(cover.mean())
        ok_t = np.isfinite(se_team) & (n_teams >= 2)
        cov_t = np.abs(est[ok_t]) <= stats.t.ppf(0.975, n_teams[ok_t] - 1) * se_team[ok_t]
        sd = float(est.std(ddof=1))
        out.append(
            {
                "scenario": name,
                "sellers": int(kw["n_sellers"]),
                "panels": n_panels,
                "mean_estimate": round(float(est.mean()), 1),
                "mc_se_mean": round(sd / math.sqrt(n_panels), 1),
                "sd_estimate": round(sd, 1),
                "mean_jackknife_se": round(float(se[ok].mean()), 1),
                "se_over_sd": round(float(se[ok].mean()) / sd, 3),
                "coverage_of_0": round(cov, 3),
                "mc_se_coverage": round(math.sqrt(cov * (1 - cov) / ok.sum()), 3),
                "teams": int(n_teams[0]),
                "mean_team_jackknife_se": round(float(se_team[ok_t].mean()), 1),
                "coverage_of_0_team": round(float(cov_t.mean()), 3),
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panels", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7100)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    table = run(args.panels, args.seed)
    print(table.to_string(index=False))
    print(f"{time.perf_counter() - t0:.0f} s")
    if args.out is not None:
        head = (
            f"# pull_in where its assumption fails (toy panels without gaming, truth 0; "
            f"{args.panels} panels per scenario)\n\n"
            f"`python benchmarks/pull_in_assumptions.py --panels {args.panels} --seed {args.seed}`"
            "\n\nDefault interval: delete-one-seller jackknife, t(G - 1), nominal 0.95; the `_team` "
            'columns: delete-one-team jackknife (`cluster="team"`), t(teams - 1). '
            "Scenarios: see the script's docstring.\n\n"
        )
        args.out.write_text(head + table.to_markdown(index=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
