"""The observational verdict end to end on the full CRM simulator, per selection scenario.

Where ``bench_observational.py`` uses the fast seller x month panel (hundreds of replications),
this script simulates whole CRM folders with ``crm(scenario=...)`` (activities, deals, stage
history, quotas, the other four programs running concurrently), then runs
``evaluate(folder, "P_PLACEBO", outcomes=["win_rate"])`` exactly as an analyst would. Fewer
replications (each takes seconds), so it checks the plumbing and the direction of every verdict,
not the rates.

    python benchmarks/bench_observational_crm.py --reps 5 --out benchmarks/results/observational_crm
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from salesinsight.evaluation import evaluate
from salesinsight.simulate import SCENARIOS, crm


def replicate(cell: tuple[str, float, int, int]) -> dict[str, Any]:
    """One simulated CRM folder and the evaluation of its observational program."""
    scenario, effect, seed, n_reps = cell
    with tempfile.TemporaryDirectory() as tmp:
        folder = crm(
            Path(tmp) / "d",
            seed=seed,
            n_reps=n_reps,
            quarters=8,
            scenario=scenario,
            effects={"P_PLACEBO": {"win_rate": effect}},
            placebo_share=0.2,
        )
        ev = evaluate(folder, "P_PLACEBO", outcomes=["win_rate"])
    e = ev.effects["win_rate"]
    row: dict[str, Any] = {"scenario": scenario, "effect": effect, "seed": seed}
    if e is None:
        return {**row, "verdict": ev.verdicts["win_rate"].label}
    row.update(
        estimate=e.estimate,
        ci_low=e.ci_low,
        ci_high=e.ci_high,
        verdict=ev.verdicts["win_rate"].label,
        carrying="+".join(e.extras.get("carrying", ())),
    )
    for k, a in ev.alternatives.get("win_rate", {}).items():
        row[k] = a.estimate
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the replications and print one line per data set and a summary per cell."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n-reps", type=int, default=240, help="seller seats per organisation")
    ap.add_argument("--effect", type=float, default=0.05)
    ap.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    cells = [
        (sc, eff, 100 + seed, args.n_reps)
        for sc, eff in itertools.product(args.scenarios, (0.0, args.effect))
        for seed in range(args.reps)
    ]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with mp.Pool(args.jobs) as pool:
            rows = pool.map(replicate, cells)
    else:
        rows = [replicate(c) for c in cells]
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(df.round(4).to_string(index=False))
    summary = (
        df.groupby(["scenario", "effect"], sort=False)["verdict"]
        .value_counts()
        .unstack(fill_value=0)
        .reset_index()
    )
    print()
    print(summary.to_string(index=False))
    print(f"\n{len(cells)} folders in {time.perf_counter() - t0:.0f} s")
    if args.out:
        df.to_csv(args.out.with_suffix(".csv"), index=False)
        args.out.with_suffix(".md").write_text(summary.to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
