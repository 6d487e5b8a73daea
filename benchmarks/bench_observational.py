"""Monte Carlo of the observational verdict: every selection scenario x {null, effect} x design.

For each cell, ``--reps`` data sets from :func:`salesinsight.simulate.selection.selection_panel`
go through the same code path as ``evaluate`` on an observational program (design panel, the
three designs, their checks, the bracket). Printed per cell and design: mean estimate, bias, the
ratio of the mean standard error to the spread of the estimates (SE/SD, over all data sets and
over those where the design carries), the SD of the standardised error ``(estimate - truth) / SE``
(1 when the standard errors are right, whatever their spread across data sets), interval coverage of the
truth, and for the verdict the rates of *worked*, *harmed*, *no detectable effect* and
*inconclusive*; ``--out`` writes every replication as CSV and the summary as Markdown.

    python benchmarks/bench_observational.py --reps 200 --jobs 2 --out docs/validation-observational
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.evaluation.observational import bracket_designs, observational_history
from salesinsight.simulate.selection import SCENARIOS, selection_panel

DESIGNS = ("bracket", "fe_did", "lagged_outcome", "synthetic_did")


def replicate(cell: tuple[str, float, int, int, float, dict[str, Any]]) -> list[dict[str, Any]]:
    """One data set: every design's estimate, interval and the bracket's verdict."""
    scenario, effect, seed, n_pre, share, variant = cell
    sp = selection_panel(scenario, effect=effect, seed=seed, n_pre=n_pre, share=share)
    f = sp.frame
    h, ppq = observational_history(
        f, f["won"], f["closed"], sp.starts, sp.window, frozenset(), sp.exposure, sp.tenure
    )
    run = bracket_designs(h, alpha=0.05, bin_size=ppq, **variant)
    rows = []
    for name in DESIGNS:
        e = run.primary if name == "bracket" else run.alternatives[name]
        rows.append(
            {
                "scenario": scenario,
                "effect": effect,
                "n_pre": n_pre,
                "share": share,
                "seed": seed,
                "design": name,
                "estimate": e.estimate,
                "se": e.se,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "carries": name == "bracket" or name in run.primary.extras["carrying"],
                "verdict": e.verdict(min_effect=0.0, alpha=0.05).label,
            }
        )
    return rows


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell and design: bias, SE/SD, coverage and verdict rates."""
    keys = ["scenario", "n_pre", "share", "effect", "design"]

    def one(g: pd.DataFrame) -> pd.Series:
        truth = float(g["truth"].iloc[0])
        ok = g[np.isfinite(g["estimate"])]
        cover = ((ok["ci_low"] <= truth) & (truth <= ok["ci_high"])).mean()
        sd = ok["estimate"].std(ddof=1)
        z = (ok["estimate"] - truth) / ok["se"]
        car = ok[ok["carries"]]
        sd_car = car["estimate"].std(ddof=1) if len(car) > 2 else np.nan
        v = g["verdict"].value_counts(normalize=True)
        return pd.Series(
            {
                "reps": len(g),
                "mean": ok["estimate"].mean(),
                "bias": ok["estimate"].mean() - truth,
                "se_sd": ok["se"].mean() / sd if sd > 0 else np.nan,
                # where the design carries: its own precision is what the verdict rests on
                "se_sd_carried": car["se"].mean() / sd_car if sd_car > 0 else np.nan,
                # SD of the standardised error: 1 when the SEs are right, even when precision
                # varies across data sets (mean SE / SD then understates, Jensen's inequality)
                "z_sd": z.std(ddof=1),
                "coverage": cover,
                "carries": g["carries"].mean(),
                "worked": v.get("worked", 0.0),
                "harmed": v.get("harmed", 0.0),
                "no_effect": v.get("no detectable effect", 0.0),
                "inconclusive": v.get("inconclusive", 0.0),
            }
        )

    df = df.assign(truth=df["effect"])
    return df.groupby(keys, sort=False).apply(one, include_groups=False).reset_index()


def main(argv: list[str] | None = None) -> int:
    """Run the Monte Carlo and print the summary table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--effect", type=float, default=0.05, help="non-null effect (win-rate points)")
    ap.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    ap.add_argument("--n-pre", type=int, nargs="*", default=[12])
    ap.add_argument("--share", type=float, nargs="*", default=[0.2])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--no-skip", action="store_true", help="keep the selection window in DiD")
    ap.add_argument("--divergence-informational", action="store_true")
    ap.add_argument("--out", type=Path, help="write <out>.csv (replications) and <out>.md")
    args = ap.parse_args(argv)
    variant = {
        "skip_selection_window": not args.no_skip,
        "divergence_required": not args.divergence_informational,
    }
    cells = [
        (sc, eff, 1000 * i + seed, n_pre, share, variant)
        for i, (sc, eff, n_pre, share) in enumerate(
            itertools.product(args.scenarios, (0.0, args.effect), args.n_pre, args.share)
        )
        for seed in range(args.reps)
    ]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with mp.Pool(args.jobs) as pool:
            out = pool.map(replicate, cells, chunksize=4)
    else:
        out = [replicate(c) for c in cells]
    df = pd.DataFrame([r for rows in out for r in rows])
    if args.out:
        df.to_csv(args.out.with_suffix(".csv"), index=False)
    table = summarize(df)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    print(f"\n{len(cells)} data sets in {time.perf_counter() - t0:.0f} s; variant {variant}")
    if args.out:
        args.out.with_suffix(".md").write_text(table.round(3).to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
