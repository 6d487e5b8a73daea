"""Coverage of ``research.pull_in`` against the simulator's ground truth, with and without pull-in.

Each cell simulates one folder (240 sellers, 6 quarters) and runs ``pull_in``:

- *null* cells (``hockey_pull_prob=0``: nothing planted): do the 95% intervals of won deals, revenue,
  closed deals and the next-period deficit cover 0?
- *planted* cells (``hockey_rule="behind_at_entry"``, the rule the estimator classifies by): do they
  cover the pulls in ``truth.json`` of the seller-periods the estimator classified behind, and do they
  exclude zero (detection)? The discount premium is checked against the planted 0.05.

Usage::

    python benchmarks/coverage_pull_in.py [--null 100] [--planted 40] [--n-boot 299] [--out FILE]
        [--null-seed0 1000] [--planted-seed0 2000]

Every cell is scored twice from one ``pull_in`` call: with its default interval (delete-one-seller
jackknife, t(G - 1); quantity names as they are) and with the seller-bootstrap percentile interval of
the same call's bootstrap draws (``Effect.extras["draws"]``; quantity names ending ``[pct]``, the
method before the jackknife).

Prints a table (share covering, Monte Carlo standard error, mean estimate and mean SE) and
writes it as markdown to ``--out`` when given, and every cell's numbers, as each finishes, to
``FILE.cells.null.csv`` and ``FILE.cells.planted.csv`` next to it (for the null cells also the point
estimates of the earlier estimator, all pipeline ages pooled, on the same seller-periods). Cells are
independent and seeded (null seeds from 1000, planted from 2000), so any subset reproduces.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.research import pull_in
from salesinsight.simulate import crm

SIZE = {"n_reps": 240, "quarters": 6}
NULL_SEED0 = 1000
PLANTED_SEED0 = 2000
QUANTITIES = ("pulled_deals", "pulled_revenue", "pulled_closed_deals", "next_period_deficit")


def _truth_rows(folder: Path) -> pd.DataFrame:
    t = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["gaming"]["rep_quarters"]
    return pd.DataFrame(t["rows"], columns=t["columns"])


def _pct(e: Any, alpha: float = 0.05) -> tuple[float, float, float]:
    """Seller-bootstrap SE and percentile interval from an effect's bootstrap draws."""
    d = np.asarray(e.extras["draws"], dtype=float)
    d = d[np.isfinite(d)]
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    return float(d.std(ddof=1)), float(lo), float(hi)


def _score(out: dict[str, float], q: str, e: Any, truth: float, *, detect: bool) -> None:
    """Add the cell's columns for quantity ``q``: default interval, then ``q[pct]``."""
    se_b, lo_b, hi_b = _pct(e)
    for name, se, lo, hi in ((q, e.se, e.ci_low, e.ci_high), (f"{q}[pct]", se_b, lo_b, hi_b)):
        out[f"{name}_est"] = e.estimate
        out[f"{name}_se"] = se
        out[f"{name}_truth"] = truth
        out[f"{name}_cover"] = float(lo <= truth <= hi)
        if detect:
            out[f"{name}_detect"] = float(lo > 0)


def null_cell(seed: int, *, n_boot: int, root: Path) -> dict[str, float]:
    """One folder without gaming: estimates, SEs and whether each interval covers 0."""
    folder = crm(root / f"null{seed}", seed=seed, hockey_pull_prob=0.0, **SIZE)
    r = pull_in(folder, n_boot=n_boot, seed=seed)
    out: dict[str, float] = {"kind": "null", "seed": seed}
    for q in QUANTITIES:
        _score(out, q, r[q], 0.0, detect=False)
    # the earlier estimator (all pipeline ages pooled) on the same seller-periods: point estimates
    g = r.seller_periods.groupby(["period_end", "behind"])[["P", "PL", "PN"]].sum().unstack()
    on, behind = g.xs(False, axis=1, level=1), g.xs(True, axis=1, level=1)
    out["pooled_pulled_closed_deals_est"] = float(
        (behind["PL"] - behind["P"] * on["PL"] / on["P"]).sum()
    )
    out["pooled_next_period_deficit_est"] = float(
        (behind["P"] * on["PN"] / on["P"] - behind["PN"]).sum()
    )
    return out


def planted_cell(seed: int, *, n_boot: int, root: Path) -> dict[str, float]:
    """One folder with pull-in planted under the observable rule: coverage of the truth, detection."""
    folder = crm(root / f"pull{seed}", seed=seed, hockey_rule="behind_at_entry", **SIZE)
    r = pull_in(folder, n_boot=n_boot, seed=seed)
    sp = r.seller_periods
    m = sp.loc[sp["behind"], ["rep_id", "period"]].merge(
        _truth_rows(folder), left_on=["rep_id", "period"], right_on=["rep_id", "quarter"]
    )
    truth = {
        "pulled_deals": float(m["pulled_won_deals"].sum()),
        "pulled_revenue": float(m["pulled_won_revenue"].sum()),
        "pulled_closed_deals": float(m["pulled_deals"].sum()),
        "next_period_deficit": float(m["pulled_deals"].sum()),
    }
    out: dict[str, float] = {"kind": "planted", "seed": seed}
    for q in QUANTITIES:
        _score(out, q, r[q], truth[q], detect=True)
    prem = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["gaming"]["pull_in"]
    _score(
        out,
        "discount_premium",
        r["discount_premium"],
        float(prem["discount_premium"]),
        detect=False,
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
    """All cells, one row each (null seeds from 1000, planted seeds from 2000 by default).

    With ``cells_out`` every finished cell is also appended to ``<cells_out>.<kind>.csv`` (one file
    per kind of cell: their columns differ), so a run cut short keeps its cells.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        jobs = [(null_cell, null_seed0 + i) for i in range(n_null)]
        jobs += [(planted_cell, planted_seed0 + i) for i in range(n_planted)]
        for fn, seed in jobs:
            t0 = time.perf_counter()
            rows.append(fn(seed, n_boot=n_boot, root=root))
            if cells_out is not None:
                path = cells_out.with_name(f"{cells_out.name}.{rows[-1]['kind']}.csv")
                pd.DataFrame(rows[-1:]).to_csv(
                    path, mode="a", header=not path.exists(), index=False
                )
            if verbose:
                cov = {k: v for k, v in rows[-1].items() if k.endswith("_cover")}
                print(
                    f"{rows[-1]['kind']} {seed} ({time.perf_counter() - t0:.1f}s) {cov}", flush=True
                )
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per kind and quantity: cells, coverage with its Monte Carlo SE, detection, bias, SD vs SE."""
    out = []
    for kind, d in df.groupby("kind", sort=False):
        names = [c[: -len("_cover")] for c in d.columns if c.endswith("_cover")]
        for q in names:
            if d[f"{q}_cover"].isna().all():
                continue
            cov = d[f"{q}_cover"].mean()
            err = d[f"{q}_est"] - d[f"{q}_truth"]
            out.append(
                {
                    "cells": kind,
                    "quantity": q,
                    "n": len(d),
                    "coverage": round(cov, 3),
                    "mc_se": round(math.sqrt(cov * (1 - cov) / len(d)), 3),
                    "detected": round(d[f"{q}_detect"].mean(), 3) if f"{q}_detect" in d else None,
                    "mean_error": round(err.mean(), 4),
                    "sd_estimate_minus_truth": round(err.std(ddof=1), 4),
                    "mean_se": round(d[f"{q}_se"].mean(), 4),
                    "sd_z": round(float((err / d[f"{q}_se"]).std(ddof=1)), 3),
                }
            )
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=100, dest="n_null")
    ap.add_argument("--planted", type=int, default=40, dest="n_planted")
    ap.add_argument("--n-boot", type=int, default=299, dest="n_boot")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--null-seed0", type=int, default=NULL_SEED0, dest="null_seed0")
    ap.add_argument("--planted-seed0", type=int, default=PLANTED_SEED0, dest="planted_seed0")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cells = None if args.out is None else args.out.with_suffix(".cells")
    for kind in ("null", "planted"):  # this benchmark's own cell files from an earlier run
        if cells is not None and cells.with_name(f"{cells.name}.{kind}.csv").exists():
            cells.with_name(f"{cells.name}.{kind}.csv").unlink()
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
            f"# pull_in coverage ({args.n_null} null, {args.n_planted} planted folders; 240 sellers, "
            f"6 quarters; {args.n_boot} bootstrap draws; nominal 0.95)\n\n"
            "Quantities without a suffix: the default interval (delete-one-seller jackknife, "
            "t(G - 1)); `[pct]`: seller-bootstrap percentile interval from the same call's draws. "
            "`mc_se`: Monte Carlo SE of the coverage; `sd_z`: SD of (estimate - truth) / SE.\n\n"
            f"`python benchmarks/coverage_pull_in.py --null {args.n_null} --planted "
            f"{args.n_planted} --n-boot {args.n_boot} --null-seed0 {args.null_seed0} "
            f"--planted-seed0 {args.planted_seed0}`\n\n"
        )
        args.out.write_text(head + table.to_markdown(index=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
