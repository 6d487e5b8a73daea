"""Coverage of ``research.bunching`` against the simulator's planted bunchers, per window rule.

Each cell simulates one folder (240 sellers, 6 quarters, no pull-in) and estimates the excess mass at
quota with several choices of the excluded window's upper edge, all from the same seller-periods:

- ``mass_balance`` (the default): the edge chosen from the data where B reaches M (Kleven 2016);
- ``mass_balance plug-in``: the edge chosen once by mass balance on the full sample and then held
  fixed in every bootstrap draw (the draws do not re-choose it);
- ``fixed 1.10`` (the earlier default), ``fixed 1.20`` and ``fixed 1.30``: the window sensitivity.

*planted* cells (``bunch_prob=1``: every seller within 10% below quota pulls just enough deals that
will sign to reach it): does the 95% interval of B cover the number of seller-periods that crossed
quota by bunching (``truth.json``, inside the fitted range), and does it exclude zero? Also the
missing mass M against the same truth. *null* cells (nothing planted): does B's interval cover 0?

Usage::

    python benchmarks/coverage_bunching.py [--null 60] [--planted 60] [--n-boot 299] [--out FILE]
        [--null-seed0 3000] [--planted-seed0 4000]

With ``--out`` the table is written as markdown and every cell's rows, as each cell finishes, to
``FILE.cells.csv`` next to it (``summarize`` reads them back for a run cut short).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import cast

import pandas as pd

from salesinsight.research import bunching
from salesinsight.research._frames import as_dataset, seller_periods
from salesinsight.simulate import crm

SIZE = {"n_reps": 240, "quarters": 6}
NULL_SEED0 = 3000
PLANTED_SEED0 = 4000
PLUG_IN = "mass_balance plug-in"
RULES: dict[str, float | None] = {
    "mass_balance": None,
    PLUG_IN: None,  # the edge mass_balance chose on the full sample, fixed in the draws
    "fixed 1.10": 1.10,
    "fixed 1.20": 1.20,
    "fixed 1.30": 1.30,
}


def cell(seed: int, *, planted: bool, n_boot: int, root: Path) -> list[dict[str, object]]:
    """One folder, one row per window rule."""
    extra = {"bunch_prob": 1.0, "bunch_window": 0.1} if planted else {}
    folder = crm(root / f"b{seed}", seed=seed, hockey_pull_prob=0.0, **extra, **SIZE)
    sp = seller_periods(as_dataset(folder))
    truth = 0.0
    if planted:
        t = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["gaming"]
        rows = pd.DataFrame(t["rep_quarters"]["rows"], columns=t["rep_quarters"]["columns"])
        m = sp.merge(rows, left_on=["rep_id", "period"], right_on=["rep_id", "quarter"])
        truth = float((m["bunched_across_quota"] & m["attainment"].between(0.2, 2.0)).sum())
    out: list[dict[str, object]] = []
    for rule, upper in RULES.items():
        if rule == PLUG_IN:
            upper = float(cast(float, out[0]["upper"]))  # the mass_balance row comes first
        b = bunching(sp, upper=upper, n_boot=n_boot, seed=seed)
        out.append(
            {
                "kind": "planted" if planted else "null",
                "seed": seed,
                "rule": rule,
                "truth": truth,
                "upper": b.spec["upper"],
                "B": b.excess.estimate,
                "B_se": b.excess.se,
                "B_cover": float(b.excess.ci_low <= truth <= b.excess.ci_high),
                "B_detect": float(b.excess.ci_low > 0),
                "M": b.missing.estimate,
                "M_cover": float(b.missing.ci_low <= truth <= b.missing.ci_high),
            }
        )
    return out


def run(
    n_null: int,
    n_planted: int,
    *,
    n_boot: int = 299,
    verbose: bool = False,
    cells_out: Path | None = None,
    null_seed0: int = NULL_SEED0,
    planted_seed0: int = PLANTED_SEED0,
) -> pd.DataFrame:
    """All cells (null seeds from 3000, planted seeds from 4000 by default), one row per cell and rule.

    With ``cells_out`` every finished cell's rows are also appended to that CSV file, so a run cut
    short keeps its cells.
    """
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(False, null_seed0 + i) for i in range(n_null)]
        jobs += [(True, planted_seed0 + i) for i in range(n_planted)]
        for planted, seed in jobs:
            t0 = time.perf_counter()
            new = cell(seed, planted=planted, n_boot=n_boot, root=Path(tmp))
            rows.extend(new)
            if cells_out is not None:
                pd.DataFrame(new).to_csv(
                    cells_out, mode="a", header=not cells_out.exists(), index=False
                )
            if verbose:
                cov = {r["rule"]: r["B_cover"] for r in new}
                print(
                    f"{new[0]['kind']} {seed} ({time.perf_counter() - t0:.1f}s) {cov}", flush=True
                )
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per kind and rule: coverage of B (with its Monte Carlo SE), detection, bias, SD vs SE."""
    out = []
    for (kind, rule), d in df.groupby(["kind", "rule"], sort=False):
        cov = d["B_cover"].mean()
        err = d["B"] - d["truth"]
        out.append(
            {
                "cells": kind,
                "upper edge": rule,
                "n": len(d),
                "B coverage": round(cov, 3),
                "mc_se": round(math.sqrt(cov * (1 - cov) / len(d)), 3),
                "B excludes 0": round(d["B_detect"].mean(), 3),
                "mean B - truth": round(err.mean(), 2),
                "sd of B": round(d["B"].std(ddof=1), 2),
                "mean bootstrap SE": round(d["B_se"].mean(), 2),
                "M coverage": round(d["M_cover"].mean(), 3) if kind == "planted" else None,
                "mean upper": round(d["upper"].mean(), 3),
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=60, dest="n_null")
    ap.add_argument("--planted", type=int, default=60, dest="n_planted")
    ap.add_argument("--n-boot", type=int, default=299, dest="n_boot")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--null-seed0", type=int, default=NULL_SEED0, dest="null_seed0")
    ap.add_argument("--planted-seed0", type=int, default=PLANTED_SEED0, dest="planted_seed0")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cells = None if args.out is None else args.out.with_suffix(".cells.csv")
    if cells is not None and cells.exists():
        cells.unlink()  # this benchmark's own cell file from an earlier run
    df = run(
        args.n_null,
        args.n_planted,
        n_boot=args.n_boot,
        verbose=True,
        cells_out=cells,
        null_seed0=args.null_seed0,
        planted_seed0=args.planted_seed0,
    )
    table = summarize(df)
    print(table.to_string(index=False))
    print(f"{time.perf_counter() - t0:.0f} s")
    if args.out is not None:
        head = (
            f"# bunching coverage ({args.n_null} null, {args.n_planted} planted folders; 240 "
            f"sellers, 6 quarters; {args.n_boot} bootstrap draws; nominal 0.95)\n\n"
            f"`python benchmarks/coverage_bunching.py --null {args.n_null} --planted "
            f"{args.n_planted} --n-boot {args.n_boot} --null-seed0 {args.null_seed0} "
            f"--planted-seed0 {args.planted_seed0}`\n\n"
        )
        args.out.write_text(head + table.to_markdown(index=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
