"""Staggered-rollout power by simulation (``research.staggered_power``) in the cases docs/research.md shows.

Configurations (each: ``n_sims`` planted and ``n_sims`` null replications, every one a simulated CRM
evaluated with ``evaluate``'s staggered DiD):

- ``demo``: calibrated to the demo folder (``simulate`` defaults, seed 0), a rollout among 12 teams
  of 9 sellers, effect +0.025 on the win probability, 3 waves over 6 quarters (the worked example);
- ``few_teams``: 5 teams of 9 sellers, effect +0.05, 3 waves over 6 quarters, simulator defaults;
- ``ramp``: 12 teams of 9, effect +0.05 ramping in over 8 weeks (the quarterly estimate targets
  less than the planted effect), 3 waves over 6 quarters.

Usage::

    python benchmarks/staggered_power.py CONFIG [--n-sims 20] [--seed 0] [--out FILE]

With ``--out`` the ``to_frame()`` table and the calibration are written as markdown, and the
replications to ``FILE.replications.csv``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from salesinsight.research import staggered_power
from salesinsight.simulate import crm

CONFIGS: dict[str, dict[str, Any]] = {
    "demo": {"effect": 0.025, "n_teams": 12, "team_size": 9, "cohorts": 3, "quarters": 6},
    "few_teams": {"effect": 0.05, "n_teams": 5, "team_size": 9, "cohorts": 3, "quarters": 6},
    "ramp": {
        "effect": 0.05,
        "n_teams": 12,
        "team_size": 9,
        "cohorts": 3,
        "quarters": 6,
        "ramp_weeks": 8,
    },
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", choices=sorted(CONFIGS))
    ap.add_argument("--n-sims", type=int, default=20, dest="n_sims")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = crm(Path(tmp) / "demo", seed=0) if args.config == "demo" else None
        res = staggered_power(data, n_sims=args.n_sims, seed=args.seed, **CONFIGS[args.config])
    secs = time.perf_counter() - t0
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
        if len(res.calibration):
            text += "\n## calibration\n\n" + res.calibration.to_markdown(index=False) + "\n"
        args.out.write_text(text, encoding="utf-8")
        res.replications.to_csv(args.out.with_suffix(".replications.csv"), index=False)


if __name__ == "__main__":
    main()
