"""Monte Carlo coverage of ``salesinsight.causal.experiment`` 95% intervals.

Run: ``python benchmarks/coverage_experiment.py [--reps 500] [--seed 20260713]``.
Prints, per scenario, the coverage of the true effect by the 95% interval (with its Monte Carlo
standard error), the bias and RMSE of the estimate, the mean interval width and the run time.
The output of the default run is recorded in ``docs/validation.md``.

Scenarios (all with a known, constant true effect):

* ``individual``: 200 reps, skewed (lognormal) outcome, HC1;
* ``individual+cov``: same with a prognostic pre-period covariate (Lin adjustment);
* ``cluster60``: 60 teams x 8 reps, team-randomized, ICC ~ 0.2, CR1 analytic;
* ``cluster12``: 12 teams x 10 reps, team-randomized -> wild cluster restricted bootstrap (Webb);
* ``cluster24``: 24 teams x 10 reps -> wild cluster restricted bootstrap (Rademacher);
* ``ratio40``: win rate (won / closed) with 40 teams, team-randomized, delta-method SE on team totals;
* ``ratio20``: the same with 20 teams x 9 reps (the simulator's coaching design) -> wild bootstrap.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from salesinsight.causal import experiment

EFFECT = 0.3
WIN_EFFECT = 0.04


def individual(rng: np.random.Generator, n: int = 200) -> pd.DataFrame:
    x = rng.normal(size=n)
    d = rng.permutation(np.repeat([0, 1], n // 2))
    y = np.exp(0.5 * x + rng.normal(scale=0.6, size=n)) + EFFECT * d
    return pd.DataFrame({"y": y, "d": d, "x": x})


def clustered(rng: np.random.Generator, g: int, m: int) -> pd.DataFrame:
    team = np.repeat(np.arange(g), m)
    d_team = rng.permutation(np.repeat([0, 1], [g - g // 2, g // 2]))
    y = rng.normal(scale=0.5, size=g)[team] + rng.normal(size=g * m) + EFFECT * d_team[team]
    return pd.DataFrame({"team": team, "y": y, "d": d_team[team]})


def ratio(rng: np.random.Generator, g: int = 40, m: int = 6) -> pd.DataFrame:
    team = np.repeat(np.arange(g), m)
    d_team = rng.permutation(np.repeat([0, 1], g // 2))
    p_team = np.clip(0.2 + rng.normal(scale=0.04, size=g) + WIN_EFFECT * d_team, 0.01, 0.99)
    closed = rng.poisson(12, size=g * m) + 1
    won = rng.binomial(closed, p_team[team])
    return pd.DataFrame({"team": team, "won": won, "closed": closed, "d": d_team[team]})


Scenario = tuple[str, Callable[[np.random.Generator], pd.DataFrame], dict, float]

SCENARIOS: list[Scenario] = [
    ("individual", individual, {"outcome": "y", "treatment": "d"}, EFFECT),
    (
        "individual+cov",
        individual,
        {"outcome": "y", "treatment": "d", "covariates": ["x"]},
        EFFECT,
    ),
    (
        "cluster60",
        lambda r: clustered(r, 60, 8),
        {"outcome": "y", "treatment": "d", "cluster": "team"},
        EFFECT,
    ),
    (
        "cluster12",
        lambda r: clustered(r, 12, 10),
        {"outcome": "y", "treatment": "d", "cluster": "team", "bootstrap_reps": 1999},
        EFFECT,
    ),
    (
        "cluster24",
        lambda r: clustered(r, 24, 10),
        {"outcome": "y", "treatment": "d", "cluster": "team", "bootstrap_reps": 1999},
        EFFECT,
    ),
    (
        "ratio40",
        ratio,
        {"outcome": "won", "treatment": "d", "cluster": "team", "ratio_denominator": "closed"},
        WIN_EFFECT,
    ),
    (
        "ratio20",
        lambda r: ratio(r, g=20, m=9),
        {
            "outcome": "won",
            "treatment": "d",
            "cluster": "team",
            "ratio_denominator": "closed",
            "bootstrap_reps": 1999,
        },
        WIN_EFFECT,
    ),
]


def run_scenario(
    make: Callable[[np.random.Generator], pd.DataFrame],
    kwargs: dict,
    truth: float,
    reps: int,
    seed: int,
) -> dict[str, float]:
    """Coverage, bias, RMSE, mean width and seconds over ``reps`` simulated data sets."""
    rng = np.random.default_rng(seed)
    est, cover, width = [], [], []
    t0 = time.perf_counter()
    for i in range(reps):
        e = experiment(make(rng), seed=i, **kwargs)
        est.append(e.estimate)
        cover.append(e.ci_low <= truth <= e.ci_high)
        width.append(e.ci_high - e.ci_low)
    secs = time.perf_counter() - t0
    est_a = np.asarray(est)
    cov = float(np.mean(cover))
    return {
        "coverage": cov,
        "mc_se": float(np.sqrt(cov * (1 - cov) / reps)),
        "bias": float(est_a.mean() - truth),
        "rmse": float(np.sqrt(np.mean((est_a - truth) ** 2))),
        "mean_width": float(np.mean(width)),
        "seconds": secs,
        "reps": reps,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20260713)
    ap.add_argument("--only", nargs="*", default=None, help="scenario names to run")
    args = ap.parse_args(argv)
    print(
        f"experiment() coverage of nominal 95% intervals, {args.reps} replications, seed {args.seed}"
    )
    print(
        f"{'scenario':<16}{'truth':>7}{'coverage':>10}{'(MC se)':>9}{'bias':>10}{'rmse':>9}"
        f"{'width':>9}{'seconds':>9}"
    )
    for k, (name, make, kwargs, truth) in enumerate(SCENARIOS):
        if args.only and name not in args.only:
            continue
        r = run_scenario(make, kwargs, truth, args.reps, args.seed + k)
        print(
            f"{name:<16}{truth:>7.3f}{100 * r['coverage']:>9.1f}%{100 * r['mc_se']:>8.1f}%"
            f"{r['bias']:>10.4f}{r['rmse']:>9.4f}{r['mean_width']:>9.4f}{r['seconds']:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
