"""Coverage of the research estimators against the simulator's planted quarter-end gaming.

For each seed, simulates a folder (240 sellers, 6 quarters) three ways and records whether the 95%
interval covers the truth from ``truth.json["gaming"]``:

- pull-in planted (``hockey_rule="behind_at_entry"``): ``research.pull_in`` won deals, revenue and
  closed deals against the pulls of the sellers it classified behind; the discount premium against 0.05;
- nothing planted: the pull-in intervals against 0, and ``research.bunching`` excess against 0;
- bunching planted (every seller within 10% below quota reaches it): the excess against the bunchers.

Usage: ``python benchmarks/coverage_research.py [--seeds 20] [--n-boot 299]``. Prints a table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from salesinsight.research import bunching, pull_in
from salesinsight.research._frames import as_dataset, seller_periods
from salesinsight.simulate import crm

SIZE = {"n_reps": 240, "quarters": 6}


def _rows(folder: Path) -> pd.DataFrame:
    t = json.loads((folder / "truth.json").read_text())["gaming"]["rep_quarters"]
    return pd.DataFrame(t["rows"], columns=t["columns"])


def _cover(e, value: float) -> bool:
    return bool(e.ci_low <= value <= e.ci_high)


def one(seed: int, n_boot: int, root: Path) -> dict[str, bool]:
    out: dict[str, bool] = {}
    f = crm(root / f"p{seed}", seed=seed, hockey_rule="behind_at_entry", **SIZE)
    r = pull_in(f, n_boot=n_boot, seed=seed)
    sp = r.seller_periods
    m = sp.loc[sp["behind"], ["rep_id", "period"]].merge(
        _rows(f), left_on=["rep_id", "period"], right_on=["rep_id", "quarter"], how="left"
    )
    out["pull: won deals"] = _cover(r["pulled_deals"], m["pulled_won_deals"].sum())
    out["pull: revenue"] = _cover(r["pulled_revenue"], m["pulled_won_revenue"].sum())
    out["pull: closed deals"] = _cover(r["pulled_closed_deals"], m["pulled_deals"].sum())
    out["pull: discount premium"] = _cover(r["discount_premium"], 0.05)
    f0 = crm(root / f"n{seed}", seed=seed, hockey_pull_prob=0.0, **SIZE)
    r0 = pull_in(f0, n_boot=n_boot, seed=seed)
    out["null: won deals = 0"] = _cover(r0["pulled_deals"], 0.0)
    out["null: closed deals = 0"] = _cover(r0["pulled_closed_deals"], 0.0)
    out["null: bunching excess = 0"] = _cover(bunching(f0, n_boot=n_boot, seed=seed).excess, 0.0)
    fb = crm(
        root / f"b{seed}", seed=seed, hockey_pull_prob=0.0, bunch_prob=1.0, bunch_window=0.1, **SIZE
    )
    b = bunching(fb, n_boot=n_boot, seed=seed)
    sp = seller_periods(as_dataset(fb))
    mb = sp.merge(_rows(fb), left_on=["rep_id", "period"], right_on=["rep_id", "quarter"])
    inside = mb["attainment"].between(*b.spec["fit_range"])
    out["bunching: excess = bunchers"] = _cover(
        b.excess, (mb["bunched_across_quota"] & inside).sum()
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--n-boot", type=int, default=299, dest="n_boot")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(100, 100 + args.seeds):
            results.append(one(seed, args.n_boot, Path(tmp)))
            print(f"seed {seed}: {results[-1]}", flush=True)
    df = pd.DataFrame(results)
    print(f"\nCoverage of 95% intervals over {len(df)} seeds (nominal 0.95):")
    for col in df.columns:
        print(f"  {col:<30} {df[col].mean():.2f}")


if __name__ == "__main__":
    main()
