"""Coverage of synthetic control's interval when it averages one or several treated units.

Factor model (two factors, unit loadings, noise sd 0.3), 30 pre- and 8 post-periods, true effect
1.0. ``--dgp hull``: each treated unit a convex mix of three donors plus noise (treated units fit
*better* than a typical donor); ``--dgp exchangeable``: the treated units are ordinary units of the
model, like the donors (the assumption of placebo-in-space inference). ``--factors rw``: random-
walk factors (non-stationary; donors drift apart after the fit); ``--factors ar``: stationary AR(1)
factors (rho 0.5). ``--noise-rho`` adds AR(1) serial correlation to the unit noise (where
conformal inference over time with i.i.d. permutations should break). Synthetic control is the
primary design of a single rollout with fewer than five treated units, so this is the interval a
verdict can rest on there.

    python benchmarks/coverage_synth_multi.py --treated 2 --reps 100 --interval placebo conformal
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from salesinsight.causal import synthetic_control


def panel(
    seed: int,
    n_tr: int,
    n: int,
    t0: int = 30,
    t1: int = 8,
    eff: float = 1.0,
    dgp: str = "hull",
    factors: str = "rw",
    noise_rho: float = 0.0,
) -> pd.DataFrame:
    """One data set; units 0..n_tr-1 are treated from period t0 on."""
    rng = np.random.default_rng(seed)
    n_t = t0 + t1
    shocks = rng.normal(0, 1, (n_t, 2))
    if factors == "rw":
        f = np.cumsum(shocks, axis=0)
    else:
        f = np.zeros((n_t, 2))
        for t in range(n_t):
            f[t] = (0.5 * f[t - 1] if t else 0.0) + shocks[t]
    lam = rng.normal(0, 1, (n, 2))
    e = rng.normal(0, 0.3, (n, n_t))
    for t in range(1, n_t):
        e[:, t] = noise_rho * e[:, t - 1] + np.sqrt(1 - noise_rho**2) * e[:, t]
    y = rng.normal(0, 1, n)[:, None] + lam @ f.T + e
    if dgp == "hull":
        for i in range(n_tr):
            w = rng.dirichlet(np.ones(3))
            d = rng.choice(np.arange(n_tr, n), 3, replace=False)
            y[i] = w @ y[d] + rng.normal(0, 0.3, n_t)
    y[:n_tr, t0:] += eff
    return pd.DataFrame(
        {"u": np.repeat(np.arange(n), n_t), "t": np.tile(np.arange(n_t), n), "y": y.ravel()}
    )


def main(argv: list[str] | None = None) -> int:
    """Print bias, SD, mean SE, SE/SD and coverage per interval method."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--treated", type=int, default=2)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--units", type=int, default=40)
    ap.add_argument("--dgp", choices=["hull", "exchangeable"], default="hull")
    ap.add_argument("--factors", choices=["rw", "ar"], default="rw")
    ap.add_argument("--noise-rho", type=float, default=0.0)
    ap.add_argument(
        "--interval", nargs="*", default=["placebo"], choices=["placebo", "conformal", "iid"]
    )
    args = ap.parse_args(argv)
    for how in args.interval:
        est, se, cover, open_ = [], [], [], 0
        t0 = time.perf_counter()
        for s in range(args.reps):
            e = synthetic_control(
                panel(
                    s,
                    args.treated,
                    args.units,
                    dgp=args.dgp,
                    factors=args.factors,
                    noise_rho=args.noise_rho,
                ),
                outcome="y",
                unit="u",
                time="t",
                treated=list(range(args.treated)),
                treatment_time=30,
                seed=s,
                placebo=how == "placebo",
                augmented=False,
                interval="placebo" if how == "placebo" else "conformal",
                conformal_permutations="iid" if how == "iid" else "moving_block",
            )
            est.append(e.estimate)
            se.append(e.se)
            cover.append(e.ci_low <= 1.0 <= e.ci_high)
            open_ += not np.isfinite(e.se)
        a, s_ = np.array(est), np.array(se)
        fin = np.isfinite(s_)
        sd = a.std(ddof=1)
        print(
            f"{how:9s} dgp {args.dgp}, factors {args.factors}, noise rho {args.noise_rho}, "
            f"treated {args.treated}, units {args.units}, reps {args.reps}: bias "
            f"{a.mean() - 1:+.4f}, sd {sd:.4f}, mean se {s_[fin].mean():.4f}, se/sd "
            f"{s_[fin].mean() / sd:.2f}, coverage {np.mean(cover):.3f}, unbounded {open_} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
