"""Monte Carlo coverage of ``salesinsight.causal.impact`` intervals on series with a known effect.

Each replication simulates a weekly series from a structural model, adds a known constant effect
``tau`` after the intervention, runs :func:`impact` and records whether the 95% interval of the
average post-period effect covers ``tau`` (and the same for the cumulative effect). Scenarios:

* ``regression``: local level (sd 0.1) + 1.5 x covariate (a random walk) + noise (sd 0.5);
* ``level``: local level (sd 0.2) + noise (sd 1.0), no covariates;
* ``trend``: local linear trend (level sd 0.1, slope sd 0.01) + noise (sd 0.5), fitted with
  ``level="local linear trend"``.

Usage::

    python benchmarks/coverage_impact.py --reps 200 --scenario regression level trend

Prints, per scenario: coverage of the average-effect interval with its Monte Carlo standard error,
cumulative-effect coverage, bias and RMSE of the estimate, mean interval width and run time.
Results are recorded in ``docs/validation-observational.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from salesinsight.causal import impact

N_PRE, N_POST, TAU = 80, 12, 1.0


def simulate_series(
    seed: int, scenario: str, *, n_pre: int = N_PRE, n_post: int = N_POST, tau: float = TAU
) -> tuple[pd.Series, pd.DataFrame | None]:
    """One series with ``tau`` added from position ``n_pre`` on, and its covariates (or None)."""
    rng = np.random.default_rng(seed)
    n = n_pre + n_post
    idx = pd.RangeIndex(n)
    cov = None
    if scenario == "regression":
        x = 20 + np.cumsum(rng.normal(0, 1, n))
        level = np.cumsum(rng.normal(0, 0.1, n))
        y = 10 + level + 1.5 * x + rng.normal(0, 0.5, n)
        cov = pd.DataFrame({"x": x}, index=idx)
    elif scenario == "level":
        y = 50 + np.cumsum(rng.normal(0, 0.2, n)) + rng.normal(0, 1.0, n)
    elif scenario == "trend":
        slope = 0.05 + np.cumsum(rng.normal(0, 0.01, n))
        level = np.cumsum(slope + rng.normal(0, 0.1, n))
        y = 30 + level + rng.normal(0, 0.5, n)
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    y = y.copy()
    y[n_pre:] += tau
    return pd.Series(y, index=idx, name="y"), cov


def run(scenario: str, reps: int, n_sims: int, seed0: int = 0) -> dict[str, float]:
    """Coverage, bias and timing over ``reps`` replications of one scenario."""
    level = "local linear trend" if scenario == "trend" else "local level"
    hits, cum_hits, est, width = [], [], [], []
    t0 = time.perf_counter()
    for r in range(reps):
        y, cov = simulate_series(seed0 + r, scenario)
        e = impact(
            y,
            intervention=N_PRE,
            covariates=cov,
            level=level,
            n_sims=n_sims,
            placebo=False,
            seed=r,
        )
        hits.append(e.ci_low <= TAU <= e.ci_high)
        c = e.extras["cumulative"]
        cum_hits.append(c["ci_low"] <= TAU * N_POST <= c["ci_high"])
        est.append(e.estimate)
        width.append(e.ci_high - e.ci_low)
    secs = time.perf_counter() - t0
    cov_rate = float(np.mean(hits))
    est_arr = np.asarray(est)
    return {
        "scenario": scenario,
        "reps": reps,
        "coverage": cov_rate,
        "coverage_mcse": float(np.sqrt(cov_rate * (1 - cov_rate) / reps)),
        "coverage_cumulative": float(np.mean(cum_hits)),
        "bias": float(est_arr.mean() - TAU),
        "rmse": float(np.sqrt(np.mean((est_arr - TAU) ** 2))),
        "mean_width": float(np.mean(width)),
        "seconds_per_rep": secs / reps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n-sims", type=int, default=1000)
    ap.add_argument("--scenario", nargs="+", default=["regression", "level", "trend"])
    args = ap.parse_args()
    rows = [run(s, args.reps, args.n_sims) for s in args.scenario]
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.precision", 4):
        print(out.to_string(index=False))


if __name__ == "__main__":
    main()
