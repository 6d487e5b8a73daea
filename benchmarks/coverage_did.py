"""Monte Carlo coverage of :func:`salesinsight.causal.staggered_did` intervals.

Simulates staggered-adoption panels with a known, heterogeneous (by cohort and by time since
treatment) treatment effect, fits the estimator and records, per replication, the simple and dynamic
(event-study) aggregates with their 95% intervals. Two designs:

- ``nocov``: cohorts assigned at random, unit and period effects, AR(1) errors; DR without
  covariates, never-treated comparison;
- ``cov``: cohort membership depends on a covariate ``x`` that also shifts the outcome's trend,
  so parallel trends hold only conditional on ``x``; DR with ``covariates=["x"]``.

Run ``python benchmarks/coverage_did.py --reps 1000`` (seeded, deterministic); prints a table and
the markdown used in ``docs/validation.md``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesinsight.causal.did import staggered_did

COHORTS = (3, 5, 7)
#: effect multiplier per cohort: later cohorts gain more.
COHORT_SCALE = {3: 0.6, 5: 1.0, 7: 1.5}
N_PERIODS = 8  # periods 1..8


def tau(g: int, e: int) -> float:
    """True ATT of cohort ``g`` at ``e`` periods after treatment (0 before)."""
    return COHORT_SCALE[g] * (0.5 + 0.25 * e) if e >= 0 else 0.0


def _assignment_probs(x: np.ndarray, design: str) -> np.ndarray:
    """P(cohort | x) for (never, 3, 5, 7); shape (len(x), 4)."""
    if design == "nocov":
        return np.tile([0.4, 0.2, 0.2, 0.2], (x.size, 1))
    logits = np.column_stack([np.zeros_like(x), -0.7 + 0.8 * x, -0.7 + 0.4 * x, -0.7 - 0.4 * x])
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def population_shares(design: str) -> dict[int, float]:
    """Population cohort shares P(G = g) (Gauss-Hermite quadrature over x ~ N(0, 1))."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    p = _assignment_probs(nodes, design)
    share = (weights[:, None] * p).sum(axis=0) / weights.sum()
    return {g: float(share[k + 1]) for k, g in enumerate(COHORTS)}


@dataclass(frozen=True)
class Truth:
    simple: float
    dynamic: float
    event: dict[int, float]


def truth(design: str) -> Truth:
    """True simple ATT, event-time effects and dynamic overall with population cohort shares."""
    pg = population_shares(design)
    post = [(g, t) for g in COHORTS for t in range(2, N_PERIODS + 1) if t >= g]
    simple = sum(pg[g] * tau(g, t - g) for g, t in post) / sum(pg[g] for g, _ in post)
    event: dict[int, float] = {}
    for e in range(2 - max(COHORTS), N_PERIODS - min(COHORTS) + 1):
        gs = [g for g in COHORTS if 2 <= g + e <= N_PERIODS]
        if gs:
            event[e] = sum(pg[g] * tau(g, e) for g in gs) / sum(pg[g] for g in gs)
    dynamic = float(np.mean([v for e, v in event.items() if e >= 0]))
    return Truth(simple=simple, dynamic=dynamic, event=event)


def simulate_panel(seed: int, design: str = "nocov", n_units: int = 500) -> pd.DataFrame:
    """One staggered panel: columns unit, period (1..8), cohort (0 = never), x, y."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_units)
    p = _assignment_probs(x, design)
    u = rng.random(n_units)
    k = (u[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    cohort = np.array((0, *COHORTS))[k]
    periods = np.arange(1, N_PERIODS + 1)
    # unit effects differ by cohort (allowed: parallel trends is about changes)
    alpha = 0.5 * k + rng.normal(size=n_units)
    lam = 0.2 * periods + 0.3 * np.sin(periods)
    eps = np.empty((n_units, N_PERIODS))
    eps[:, 0] = rng.normal(size=n_units)
    for t in range(1, N_PERIODS):
        eps[:, t] = 0.5 * eps[:, t - 1] + rng.normal(scale=np.sqrt(1 - 0.25), size=n_units)
    y0 = alpha[:, None] + lam[None, :] + eps
    if design == "cov":
        y0 = y0 + 0.3 * x[:, None] * periods[None, :]  # x-specific trend
    e = periods[None, :] - cohort[:, None]
    effect = np.vectorize(lambda g, ee: tau(g, ee) if g > 0 else 0.0)(
        np.broadcast_to(cohort[:, None], e.shape), e
    )
    y = y0 + effect
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), N_PERIODS),
            "period": np.tile(periods, n_units),
            "cohort": np.repeat(cohort, N_PERIODS),
            "x": np.repeat(x, N_PERIODS),
            "y": y.ravel(),
        }
    )


def one_replication(seed: int, design: str) -> dict[str, float]:
    """Fit one simulated panel; returns estimates, intervals and coverage indicators."""
    df = simulate_panel(seed, design)
    tr = truth(design)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = staggered_did(
            df,
            outcome="y",
            unit="unit",
            time="period",
            cohort="cohort",
            covariates=["x"] if design == "cov" else None,
            method="dr",
            bstrap_iters=1000,
            seed=seed,
        )
        simple = fit.aggregate("simple")
        dyn = fit.aggregate("dynamic")
    elapsed = time.perf_counter() - t0
    terms = dyn.terms
    assert terms is not None
    true_e = terms["term"].map(tr.event).to_numpy(dtype=float)
    pw = (terms["ci_low_pointwise"] <= true_e) & (true_e <= terms["ci_high_pointwise"])
    band = (terms["ci_low"] <= true_e) & (true_e <= terms["ci_high"])
    pre = fit.pretrend_test()
    return {
        "seed": seed,
        "design": design,
        "simple": simple.estimate,
        "simple_se": simple.se,
        "simple_cover": float(simple.ci_low <= tr.simple <= simple.ci_high),
        "dynamic": dyn.estimate,
        "dynamic_se": dyn.se,
        "dynamic_cover": float(dyn.ci_low <= tr.dynamic <= dyn.ci_high),
        "event_pointwise_cover": float(pw.mean()),
        "event_band_cover": float(band.all()),
        "pretrend_reject": float(pre.p_value is not None and pre.p_value < 0.05),
        "seconds": elapsed,
    }


def run(reps: int, designs: tuple[str, ...] = ("nocov", "cov"), seed: int = 0) -> pd.DataFrame:
    """All replications (seeds ``seed .. seed + reps - 1`` per design)."""
    rows = [one_replication(seed + r, d) for d in designs for r in range(reps)]
    return pd.DataFrame(rows)


def summarise(res: pd.DataFrame) -> pd.DataFrame:
    """Per design and estimand: coverage, bias, RMSE, mean SE / SD of estimates, seconds per fit."""
    out = []
    for design, d in res.groupby("design", sort=False):
        tr = truth(str(design))
        for name, true in (("simple", tr.simple), ("dynamic", tr.dynamic)):
            est = d[name]
            out.append(
                {
                    "design": design,
                    "estimand": f"{name} ATT",
                    "truth": true,
                    "reps": len(d),
                    "coverage_95": d[f"{name}_cover"].mean(),
                    "bias": est.mean() - true,
                    "rmse": float(np.sqrt(np.mean((est - true) ** 2))),
                    "se_over_sd": d[f"{name}_se"].mean() / est.std(ddof=1),
                    "sec_per_fit": d["seconds"].mean(),
                }
            )
        out.append(
            {
                "design": design,
                "estimand": "event-time effects, pointwise",
                "reps": len(d),
                "coverage_95": d["event_pointwise_cover"].mean(),
            }
        )
        out.append(
            {
                "design": design,
                "estimand": "event-time effects, uniform band (joint)",
                "reps": len(d),
                "coverage_95": d["event_band_cover"].mean(),
            }
        )
        out.append(
            {
                "design": design,
                "estimand": "pre-trend Wald test, rejection rate at 5% (null true)",
                "reps": len(d),
                "coverage_95": d["pretrend_reject"].mean(),
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = run(args.reps, seed=args.seed)
    table = summarise(res)
    pd.set_option("display.width", 160)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    print("\n" + table.to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()
