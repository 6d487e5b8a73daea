"""Diagnosis: the baseline a ratio KPI is linearized around in ``evaluate``'s staggered design.

``evaluation.panel._linearized`` puts every unit on ``R + (num - R * den) / D`` with one ``R``, the
treated units' pre-period ratio. The DiD then needs parallel trends in ``num - R * den``: a control
seller whose own rate differs from ``R`` picks up ``(rate_i - R) * change in den`` whenever its deal
volume moves, which is not a change in its rate. This script compares, on the same simulated folders
(the ``mid`` case of ``benchmarks/staggered_power.py``: 12 teams of 9, P_TRAIN in 3 waves over 6
quarters, +0.05 on the win probability at once):

- ``current``: ``evaluate(folder, "P_TRAIN", ["win_rate"])`` as shipped;
- ``unit_centred``: the same call with each unit centred on its own untreated ratio (the
  pre-period for enrolled units, the whole window for never-enrolled ones), patched in for the run;
- ``hand``: the ratio-of-sums DiD of ``benchmarks/staggered_power.hand_did`` (each wave's win rate
  in the quarter after its start minus the quarter before, against the never-enrolled sellers).

Seasons: ``default`` (the simulator's win-rate and deal-creation seasons), ``flat`` (no win-rate
season) and ``flatall`` (no season at all, so deal volume moves only with tenure and pipeline).

Usage::

    python benchmarks/staggered_ratio_baseline.py SEASON [--n 40] [--seed0 2000] [--out FILE]

Prints one row per folder and the mean bias (estimate - 0.05) of each estimator with its Monte Carlo
SE, and the paired difference unit_centred - current.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from salesinsight import evaluate
from salesinsight.evaluation import staggered
from salesinsight.evaluation.panel import _linearized
from salesinsight.simulate import crm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from staggered_power import hand_did

EFFECT = 0.05
MID = {
    "n_reps": 108,
    "team_size": 9,
    "quarters": 6,
    "train_cohorts": 3,
    "train_share_per_cohort": 0.12,
    "train_ramp_weeks": 0,
}
SEASONS = {
    "default": {},
    "flat": {"win_season": (0.0, 0.0, 0.0, 0.0)},
    "flatall": {"win_season": (0.0, 0.0, 0.0, 0.0), "season": (1.0, 1.0, 1.0, 1.0)},
}


def unit_centred(frame: pd.DataFrame, num: pd.Series, den: pd.Series, cohort: pd.Series):
    """``R + (num - R_i * den) / D`` with ``R_i`` the unit's own untreated ratio."""
    _, r = _linearized(frame, num, den, cohort)
    treated = cohort > 0
    untreated = ~treated | (frame["t"] < cohort)
    sums = (
        pd.DataFrame(
            {"u": frame["unit_id"], "n": num.where(untreated, 0.0), "d": den.where(untreated, 0.0)}
        )
        .groupby("u")[["n", "d"]]
        .transform("sum")
    )
    r_i = (sums["n"] / sums["d"]).fillna(r)
    d_bar = float(den[treated & (frame["t"] >= cohort)].mean())
    return r + (num - r_i * den) / d_bar, r


def one_folder(root: Path, seed: int, season: str) -> tuple[float, float, float]:
    """(current, unit_centred, hand) on one simulated folder."""
    folder = crm(
        root / f"s{seed}",
        seed=seed,
        effects={"P_TRAIN": {"win_rate": EFFECT}},
        **MID,
        **SEASONS[season],
    )
    out = []
    for lin in (_linearized, unit_centred):
        staggered._linearized = lin  # type: ignore[attr-defined]
        try:
            out.append(evaluate(folder, "P_TRAIN", ["win_rate"]).effects["win_rate"].estimate)
        finally:
            staggered._linearized = _linearized  # type: ignore[attr-defined]
    return out[0], out[1], hand_did(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("season", choices=sorted(SEASONS))
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed0", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            rows.append(one_folder(Path(tmp), args.seed0 + i, args.season))
            print(args.seed0 + i, *np.round(rows[-1], 4), flush=True)
    x = np.array(rows)
    bias, paired = x - EFFECT, x[:, 1] - x[:, 0]
    mc = bias.std(0, ddof=1) / np.sqrt(len(x))
    table = pd.DataFrame(
        {
            "estimator": ["current", "unit_centred", "hand"],
            "mean_estimate": np.round(x.mean(0), 4),
            "bias": np.round(bias.mean(0), 4),
            "mc_se": np.round(mc, 4),
        }
    )
    line = (
        f"paired unit_centred - current: {paired.mean():.4f} "
        f"(MC SE {paired.std(ddof=1) / np.sqrt(len(x)):.4f})"
    )
    print(table.to_string(index=False))
    print(line)
    if args.out is not None:
        head = (
            f"# staggered win-rate estimate: linearization baseline ({args.season}, {args.n} folders, "
            f"planted {EFFECT})\n\n`python benchmarks/staggered_ratio_baseline.py {args.season} "
            f"--n {args.n} --seed0 {args.seed0}`\n\n"
        )
        args.out.write_text(head + table.to_markdown(index=False) + f"\n\n{line}\n", "utf-8")


if __name__ == "__main__":
    main()
