"""Speed and memory of :func:`salesinsight.causal.staggered_did` against the peer ``csdid``.

Simulates one staggered panel (default 10,000 units x 104 weeks, cohorts first treated in weeks
13, 26, ..., 91 plus never treated; seeded), writes it to a temporary Parquet file and times, each in
its own subprocess (so peak memory is per measurement, from ``resource.getrusage``):

- ``salesinsight``: ``staggered_did`` (DR, never treated) + ``aggregate("simple")`` +
  ``aggregate("dynamic")`` (including the 1,000-draw uniform band);
- ``csdid`` 0.4.3: ``ATTgt(...).fit(est_method="dr", bstrap=False)`` + ``aggte("simple")`` +
  ``aggte("dynamic")``, analytic standard errors only (its fastest configuration).

Usage: ``python benchmarks/bench_causal.py [--units 10000] [--weeks 104] [--timeout 1800]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

COHORT_STEP = 13


def simulate(units: int, weeks: int, seed: int = 0) -> pd.DataFrame:
    """Staggered panel: unit, week (1..weeks), cohort (0 = never), y; effect ramps in."""
    rng = np.random.default_rng(seed)
    cohorts = np.array([0, *range(COHORT_STEP, weeks - COHORT_STEP + 1, COHORT_STEP)])
    g = rng.choice(cohorts, size=units)
    t = np.arange(1, weeks + 1)
    level = rng.normal(size=(units, 1)) + 0.3 * (g[:, None] > 0)
    e = t[None, :] - g[:, None]
    effect = np.where((g[:, None] > 0) & (e >= 0), 0.2 + 0.01 * np.minimum(e, 20), 0.0)
    y = level + 0.01 * t[None, :] + rng.normal(size=(units, weeks)) + effect
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units), weeks),
            "week": np.tile(t, units),
            "cohort": np.repeat(g, weeks),
            "y": y.ravel(),
        }
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _worker(tool: str, data: Path) -> dict[str, object]:
    df = pd.read_parquet(data)
    base = _rss_mb()
    warnings.simplefilter("ignore")
    if tool == "salesinsight":
        from salesinsight.causal.did import staggered_did

        t0 = time.perf_counter()
        fit = staggered_did(df, outcome="y", unit="unit", time="week", cohort="cohort")
        t1 = time.perf_counter()
        simple = fit.aggregate("simple")
        t2 = time.perf_counter()
        dyn = fit.aggregate("dynamic")
        t3 = time.perf_counter()
        est = (simple.estimate, simple.se, dyn.estimate, dyn.se)
    elif tool == "csdid":
        from csdid.att_gt import ATTgt

        with contextlib.redirect_stdout(io.StringIO()):  # csdid prints its summaries
            t0 = time.perf_counter()
            att = ATTgt(
                yname="y", tname="week", idname="unit", gname="cohort", data=df,
                control_group="nevertreated",
            ).fit(est_method="dr", bstrap=False)  # fmt: skip
            t1 = time.perf_counter()
            att.aggte(typec="simple", bstrap=False)
            s = att.atte
            t2 = time.perf_counter()
            att.aggte(typec="dynamic", bstrap=False, cband=False)
            d = att.atte
            t3 = time.perf_counter()
        est = (s["overall_att"], s["overall_se"], d["overall_att"], d["overall_se"])
    else:
        raise ValueError(f"unknown tool {tool!r}")
    return {
        "tool": tool,
        "rows": len(df),
        "seconds": t3 - t0,
        "fit_s": t1 - t0,
        "simple_s": t2 - t1,
        "dynamic_s": t3 - t2,
        "baseline_mb": base,
        "peak_mb": _rss_mb(),
        "simple": float(np.asarray(est[0]).ravel()[0]),
        "simple_se": float(np.asarray(est[1]).ravel()[0]),
        "dynamic": float(np.asarray(est[2]).ravel()[0]),
        "dynamic_se": float(np.asarray(est[3]).ravel()[0]),
    }


def measure(tool: str, data: Path, timeout: float) -> dict[str, object]:
    """Run one measurement in a fresh interpreter; returns its JSON record."""
    cmd = [sys.executable, __file__, "--worker", tool, "--data", str(data)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "seconds": float("nan"), "note": f"timed out after {timeout:.0f} s"}
    except subprocess.CalledProcessError as err:
        return {"tool": tool, "seconds": float("nan"), "note": err.stderr.strip()[-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=10_000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--tools", default="salesinsight,csdid")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, Path(args.data))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "panel.parquet"
        simulate(args.units, args.weeks).to_parquet(data)
        print(f"panel: {args.units} units x {args.weeks} weeks, cohorts every {COHORT_STEP} weeks")
        rows = [measure(t, data, args.timeout) for t in args.tools.split(",")]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    ok = table.dropna(subset=["seconds"])
    if len(ok) > 1:
        fastest_peer = ok[ok["tool"] != "salesinsight"]["seconds"].min()
        ours = ok[ok["tool"] == "salesinsight"]["seconds"].iloc[0]
        print(f"salesinsight / fastest peer time ratio: {ours / fastest_peer:.3f}")
    print("\n" + table.to_markdown(index=False, floatfmt=".4g"))


if __name__ == "__main__":
    main()
