"""How often evaluate()'s diagnostics pass, and intervals cover zero, when no program has an effect.

Simulates the default demo (360 reps, 8 quarters) with the incentive and mentoring effects switched
off (the placebo program has none), evaluates the single-rollout and observational programs and
tabulates, per program / outcome / design, the share of data sets in which each diagnostic passed
and the 95% interval covered the true zero. Output recorded in docs/validation.md.

    python benchmarks/null_evaluate_diagnostics.py --seeds 30 [--out rows.csv]

``--primary-only`` runs only the primary designs through the same package functions evaluate()
uses (team DiD with its placebo date; matched DiD and AIPW), about 3x faster, for coverage runs
of 100+ data sets; ``--others-off`` also switches off the coaching and training effects (no
concurrent program moves any outcome); ``--no-adjust`` turns off the adjustment for other
programs' exposure (``evaluate(..., adjust_other_programs=False)``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from salesinsight.evaluation import evaluate
from salesinsight.simulate import crm

NULL = {"P_INCENT": {"revenue": 0.0, "csat": 0.0}, "P_MENTOR": {"revenue": 0.0}}
OTHERS_OFF = {**NULL, "P_COACH": {"win_rate": 0.0, "follow_ups": 0.0}, "P_TRAIN": {"win_rate": 0.0}}
PROGRAMS = {
    "P_INCENT": ["revenue", "csat", "win_rate"],
    "P_MENTOR": ["revenue", "win_rate"],
    "P_PLACEBO": ["revenue", "win_rate"],
}


def primary_rows(seed: int, out: Path, programs: list[str], adjust: bool) -> list[dict]:
    """Primary designs only, through the functions evaluate() calls (no synthetic control)."""
    from salesinsight.data import load
    from salesinsight.evaluation import designs
    from salesinsight.evaluation.core import _other_programs
    from salesinsight.evaluation.panel import (
        _other_exposure,
        analysis_window,
        num_den,
        program_info,
        unit_panel,
        unit_starts,
    )

    ds = load(out)
    rows: list[dict] = []
    for prog in programs:
        _, enroll = program_info(ds, prog)
        unit = "team" if prog == "P_INCENT" else "rep"
        frame, periods = unit_panel(ds, unit=unit, grain="month")
        starts = unit_starts(enroll, frame, periods)
        window = analysis_window(periods, starts, 12, 12)
        expo = _other_exposure(ds, prog, unit, frame, "month") if adjust else None
        first = pd.to_datetime(enroll.loc[enroll["arm"] == "treatment", "start_date"]).min()
        exclude = (
            _other_programs(ds, prog, unit, before=first if adjust else None)
            if unit == "rep"
            else frozenset()
        )
        for o in PROGRAMS[prog]:
            num, den = num_den(frame, o)
            if unit == "team":
                covs: tuple[str, ...] = ()
                f, _ = designs._design_panel(frame, num, den, starts, window)
                if expo is not None:
                    covs = tuple(c for c in expo.columns if c.startswith("exposure_"))
                    f = f.merge(expo, on=["unit_id", "t"], how="left").fillna(
                        {c: 0.0 for c in covs}
                    )
                st = int(f.loc[f["treated"] == 1, "cohort"].min())
                eff = designs._did(f, 0.05, True, covs)
                eff = designs._add(eff, designs._did_placebo_date(f, st, 0.05, True, covs))
                effs = {"primary": eff}
            else:
                res = designs.observational(
                    frame, num, den, starts, window, 0.05, seed, True, exclude, expo
                )
                effs = {"primary": res.primary, **res.alternatives}
            for role, eff in effs.items():
                rows.extend(_effect_rows(seed, prog, o, role, eff))
    return rows


def _effect_rows(seed: int, prog: str, o: str, role: str, eff) -> list[dict]:
    base = {"seed": seed, "program": prog, "outcome": o, "role": role, "method": eff.method}
    rows = [
        {**base, "check": "estimate", "passed": eff.estimate, "required": None},
        {**base, "check": "se", "passed": eff.se, "required": None},
        {
            **base,
            "check": "interval covers 0",
            "passed": bool(eff.ci_low <= 0 <= eff.ci_high),
            "required": None,
        },
    ]
    for d in eff.diagnostics:
        if d.passed is not None:
            rows.append({**base, "check": d.name, "passed": bool(d.passed), "required": d.required})
    return rows


def rows_for(
    seed: int,
    tmp: Path,
    programs: list[str],
    *,
    others_off: bool = False,
    adjust: bool = True,
    primary_only: bool = False,
) -> list[dict]:
    out = crm(tmp / f"s{seed}", seed=10_000 + seed, effects=OTHERS_OFF if others_off else NULL)
    if primary_only:
        return primary_rows(seed, out, programs, adjust)
    rows = []
    for prog in programs:
        outs = PROGRAMS[prog]
        ev = evaluate(out, prog, outcomes=outs, seed=seed, adjust_other_programs=adjust)
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
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--others-off", action="store_true")
    ap.add_argument("--no-adjust", action="store_true")
    ap.add_argument("--primary-only", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    if args.out and Path(args.out).exists():
        raise SystemExit(f"{args.out} exists; rows are appended per seed, remove it first")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(args.first_seed, args.first_seed + args.seeds):
            new = rows_for(
                s,
                Path(tmp),
                args.programs,
                others_off=args.others_off,
                adjust=not args.no_adjust,
                primary_only=args.primary_only,
            )
            rows.extend(new)
            if args.out:  # written as it goes: a long run can be read before it ends
                pd.DataFrame(new).to_csv(
                    args.out, mode="a", header=not Path(args.out).exists(), index=False
                )
            print(f"seed {s} done, {time.time() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    est = df[df["check"] == "estimate"].astype({"passed": float})
    est_tab = est.groupby(["program", "outcome", "role"])["passed"].agg(["mean", "std", "size"])
    se = df[df["check"] == "se"].astype({"passed": float})
    if len(se):
        est_tab["mean_se"] = se.groupby(["program", "outcome", "role"])["passed"].mean()
        est_tab["sd/se"] = est_tab["std"] / est_tab["mean_se"]
    est_tab["bias_t"] = est_tab["mean"] / (est_tab["std"] / est_tab["size"] ** 0.5)
    print(est_tab.to_string())
    checks = df[(df["role"] != "verdict") & (~df["check"].isin(["estimate", "se"]))].astype(
        {"passed": float}
    )
    tab = (
        checks.groupby(["program", "outcome", "role", "check"])["passed"]
        .agg(["mean", "size"])
        .rename(columns={"mean": "pass_rate", "size": "n"})
    )
    tab["mc_se"] = (tab["pass_rate"] * (1 - tab["pass_rate"]) / tab["n"]) ** 0.5
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print(tab.round(3).to_string())
    verdicts = df[df["role"] == "verdict"].groupby(["program", "outcome", "check"]).size()
    print(verdicts.to_string())
    print(f"total {time.time() - t0:.0f} s for {args.seeds} seeds")


if __name__ == "__main__":
    main()
