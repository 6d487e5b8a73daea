"""Staggered-rollout power by simulation (``research.staggered_power``) in the cases docs/research.md shows.

Configurations (each: ``n_sims`` planted and ``n_sims`` null replications, every one a simulated CRM
evaluated with ``evaluate``'s staggered DiD):

- ``demo``: calibrated to the demo folder (``simulate`` defaults, seed 0), a rollout among 12 teams
  of 9 sellers, effect +0.025 on the win probability, 3 waves over 6 quarters (the worked example);
- ``few_teams``: 5 teams of 9 sellers, effect +0.05, 3 waves over 6 quarters, simulator defaults;
- ``mid``: 12 teams of 9, effect +0.05 at once, 3 waves over 6 quarters (the ``ramp`` case without
  the ramp);
- ``ramp``: 12 teams of 9, effect +0.05 ramping in over 8 weeks (the quarterly estimate targets
  less than the planted effect), 3 waves over 6 quarters.

Usage::

    python benchmarks/staggered_power.py CONFIG [--n-sims 20] [--seed 0] [--out FILE] [--hand-did]

With ``--out`` the ``to_frame()`` table and the calibration are written as markdown, and the
replications to ``FILE.replications.csv``. ``--hand-did`` re-simulates every planted replication
(same seed and parameters) and adds a hand-written ratio-of-sums DiD for comparison: per wave, the
win rate (won / closed by close date) of its sellers in the quarter after the start minus the
quarter before, against the same change of the never-enrolled sellers; the waves averaged.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.research import StaggeredPower, staggered_power
from salesinsight.simulate import crm

CONFIGS: dict[str, dict[str, Any]] = {
    "demo": {"effect": 0.025, "n_teams": 12, "team_size": 9, "cohorts": 3, "quarters": 6},
    "few_teams": {"effect": 0.05, "n_teams": 5, "team_size": 9, "cohorts": 3, "quarters": 6},
    "mid": {"effect": 0.05, "n_teams": 12, "team_size": 9, "cohorts": 3, "quarters": 6},
    "ramp": {
        "effect": 0.05,
        "n_teams": 12,
        "team_size": 9,
        "cohorts": 3,
        "quarters": 6,
        "ramp_weeks": 8,
    },
}


def hand_did(folder: Path) -> float:
    """Waves averaged: (after - before) of the wave's sellers minus that of never-enrolled sellers."""
    o = pd.read_csv(folder / "opportunities.csv")
    o = o[o["status"] != "open"].assign(
        close=lambda d: pd.to_datetime(d["close_date"]), won=lambda d: d["status"].eq("won")
    )
    e = pd.read_csv(folder / "enrollments.csv")
    e = e[e["program_id"] == "P_TRAIN"]
    reps = pd.read_csv(folder / "reps.csv")
    never = set(reps.loc[reps["role"] == "ae", "rep_id"]) - set(e["unit_id"])
    quarter = pd.Timedelta(days=91)

    def change(ids: set[str], s: pd.Timestamp) -> float:
        d = o[o["rep_id"].isin(ids)]
        after = d[(d["close"] >= s) & (d["close"] < s + quarter)]["won"].mean()
        before = d[(d["close"] >= s - quarter) & (d["close"] < s)]["won"].mean()
        return float(after - before)

    diffs = [
        change(set(g["unit_id"]), pd.Timestamp(s)) - change(never, pd.Timestamp(s))
        for s, g in e.groupby("start_date")
    ]
    return float(np.mean(diffs))


def hand_dids(res: StaggeredPower, root: Path) -> list[float]:
    """The hand DiD on every planted replication, re-simulated from its seed."""
    s = res.spec
    params = {
        "n_reps": s["n_teams"] * s["team_size"],
        "team_size": s["team_size"],
        "quarters": s["quarters"],
        "train_cohorts": s["cohorts"],
        "train_share_per_cohort": s["share_per_cohort"],
        "train_ramp_weeks": s["ramp_weeks"],
        **s["simulator"],
    }
    planted = res.replications[res.replications["kind"] == "planted"]
    out = []
    for seed in planted["seed"].tolist():
        folder = crm(
            root / f"h{seed}",
            seed=int(seed),
            effects={"P_TRAIN": {"win_rate": s["effect"]}},
            **params,
        )
        out.append(hand_did(folder))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", choices=sorted(CONFIGS))
    ap.add_argument("--n-sims", type=int, default=20, dest="n_sims")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--hand-did", action="store_true", dest="hand_did")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = crm(Path(tmp) / "demo", seed=0) if args.config == "demo" else None
        res = staggered_power(data, n_sims=args.n_sims, seed=args.seed, **CONFIGS[args.config])
        hand = hand_dids(res, Path(tmp)) if args.hand_did else []
    secs = time.perf_counter() - t0
    if hand:
        h = np.asarray(hand)
        line = (
            f"hand-written ratio-of-sums DiD on the same planted folders: mean {h.mean():.4f} "
            f"(MC SE {h.std(ddof=1) / np.sqrt(len(h)):.4f}); evaluate: {res.mean_estimate:.4f} "
            f"(MC SE {res.mean_estimate_se:.4f}); planted {res.spec['effect']}"
        )
        print(line)
    print(res.summary())
    print(f"{secs:.0f} s")
    if args.out is not None:
        text = (
            f"# staggered power: {args.config} ({args.n_sims} planted + {args.n_sims} null "
            f"replications, seed {args.seed})\n\n"
            f"`python benchmarks/staggered_power.py {args.config} --n-sims {args.n_sims} "
            f"--seed {args.seed}` ({secs / 60:.0f} min on a loaded 2-core machine)\n\n"
            f"spec: `{res.spec}`\n\n" + res.to_frame().to_markdown(index=False) + "\n"
        )
        if hand:
            text += "\n" + line + "\n"
        if len(res.calibration):
            text += "\n## calibration\n\n" + res.calibration.to_markdown(index=False) + "\n"
        args.out.write_text(text, encoding="utf-8")
        res.replications.to_csv(args.out.with_suffix(".replications.csv"), index=False)


if __name__ == "__main__":
    main()
