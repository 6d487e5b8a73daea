"""Coverage of synthetic control's interval when it averages several treated units.

Factor model (two random-walk factors, unit loadings, noise sd 0.3), 30 pre- and 8 post-periods;
each treated unit a convex mix of three donors plus noise; true effect 1.0. Synthetic control is
the primary design of a single rollout with fewer than five treated units, so this is the interval
a verdict can rest on there.

    python benchmarks/coverage_synth_multi.py N_TREATED REPLICATIONS [N_UNITS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from salesinsight.causal import synthetic_control


def panel(
    seed: int, n_tr: int, n: int, t0: int = 30, t1: int = 8, eff: float = 1.0
) -> pd.DataFrame:
    """One data set; units 0..n_tr-1 are treated from period t0 on."""
    rng = np.random.default_rng(seed)
    n_t = t0 + t1
    f = np.cumsum(rng.normal(0, 1, (n_t, 2)), axis=0)
    lam = rng.normal(0, 1, (n, 2))
    y = rng.normal(0, 1, n)[:, None] + lam @ f.T + rng.normal(0, 0.3, (n, n_t))
    for i in range(n_tr):
        w = rng.dirichlet(np.ones(3))
        d = rng.choice(np.arange(n_tr, n), 3, replace=False)
        y[i] = w @ y[d] + rng.normal(0, 0.3, n_t)
    y[:n_tr, t0:] += eff
    return pd.DataFrame(
        {"u": np.repeat(np.arange(n), n_t), "t": np.tile(np.arange(n_t), n), "y": y.ravel()}
    )


def main(argv: list[str]) -> int:
    """Print bias, SD, mean SE, SE/SD and coverage."""
    n_tr, reps = int(argv[0]), int(argv[1])
    n = int(argv[2]) if len(argv) > 2 else 40
    est, se, cover = [], [], []
    t0 = time.perf_counter()
    for s in range(reps):
        e = synthetic_control(
            panel(s, n_tr, n),
            outcome="y",
            unit="u",
            time="t",
            treated=list(range(n_tr)),
            treatment_time=30,
            seed=s,
        )
        est.append(e.estimate)
        se.append(e.se)
        cover.append(e.ci_low <= 1.0 <= e.ci_high)
    a = np.array(est)
    print(
        f"treated {n_tr}, units {n}, reps {reps}: bias {a.mean() - 1:+.4f}, sd {a.std(ddof=1):.4f}, "
        f"mean se {np.nanmean(se):.4f}, se/sd {np.nanmean(se) / a.std(ddof=1):.2f}, "
        f"coverage {np.mean(cover):.3f} ({time.perf_counter() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
