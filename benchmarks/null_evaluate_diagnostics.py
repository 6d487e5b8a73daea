"""How often evaluate()'s diagnostics pass, and intervals cover zero, when no program has an effect.

Simulates the default demo (360 reps, 8 quarters) with the incentive and mentoring effects switched
off (the placebo program has none), evaluates the single-rollout and observational programs and
tabulates, per program / outcome / design, the share of data sets in which each diagnostic passed
and the 95% interval covered the true zero. Output recorded in docs/validation.md.

    python benchmarks/null_evaluate_diagnostics.py --seeds 30 [--out rows.csv]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from salesinsight.evaluate import evaluate
from salesinsight.simulate import crm

NULL = {"P_INCENT": {"revenue": 0.0, "csat": 0.0}, "P_MENTOR": {"revenue": 0.0}}
PROGRAMS = {
    "P_INCENT": ["revenue", "csat", "win_rate"],
    "P_MENTOR": ["revenue", "win_rate"],
    "P_PLACEBO": ["revenue", "win_rate"],
}


def rows_for(seed: int, tmp: Path, programs: list[str]) -> list[dict]:
    out = crm(tmp / f"s{seed}", seed=10_000 + seed, effects=NULL)
    rows = []
    for prog in programs:
        outs = PROGRAMS[prog]
        ev = evaluate(out, prog, outcomes=outs, seed=seed)
        for o in outs:
            e = ev.effects[o]
            if e is None:
                continue
            designs = {"primary": e, **ev.alternatives.get(o, {})}
            for role, eff in designs.items():
                base = {
                    "seed": seed,
                    "program": prog,
                    "outcome": o,
                    "role": role,
                    "method": eff.method,
                }
                rows.append({**base, "check": "estimate", "passed": eff.estimate, "required": None})
                rows.append(
                    {
                        **base,
                        "check": "interval covers 0",
                        "passed": bool(eff.ci_low <= 0 <= eff.ci_high),
                        "required": None,
                    }
                )
                for d in eff.diagnostics:
                    if d.passed is None:
                        continue
                    rows.append(
                        {**base, "check": d.name, "passed": bool(d.passed), "required": d.required}
                    )
            rows.append(
                {
                    "seed": seed,
                    "program": prog,
                    "outcome": o,
                    "role": "verdict",
                    "method": "",
                    "check": ev.verdicts[o].label,
                    "passed": True,
                    "required": None,
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--out", default=None)
    ap.add_argument("--programs", nargs="*", default=list(PROGRAMS), choices=list(PROGRAMS))
    args = ap.parse_args()
    t0 = time.time()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(args.seeds):
            rows.extend(rows_for(s, Path(tmp), args.programs))
            print(f"seed {s} done, {time.time() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    if args.out:
        df.to_csv(args.out, index=False)
    est = df[df["check"] == "estimate"].astype({"passed": float})
    print(est.groupby(["program", "outcome", "role"])["passed"].agg(["mean", "std"]).to_string())
    checks = df[(df["role"] != "verdict") & (df["check"] != "estimate")].astype({"passed": float})
    tab = (
        checks.groupby(["program", "outcome", "role", "check"])["passed"]
        .agg(["mean", "size"])
        .rename(columns={"mean": "pass_rate", "size": "n"})
    )
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print(tab.round(3).to_string())
    verdicts = df[df["role"] == "verdict"].groupby(["program", "outcome", "check"]).size()
    print(verdicts.to_string())
    print(f"total {time.time() - t0:.0f} s for {args.seeds} seeds")


if __name__ == "__main__":
    main()
