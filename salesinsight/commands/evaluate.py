"""`salesinsight evaluate DIR --program ID`: did one program work? Verdict per outcome."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `evaluate` sub-command."""
    p = sub.add_parser(
        "evaluate",
        help="evaluate one program: effect, interval, diagnostics and verdict per outcome",
        description=(
            "Evaluate one program of a data folder with the design(s) its enrolment allows "
            "(randomized: experiment; staggered: Callaway-Sant'Anna DiD; single rollout: "
            "team-clustered DiD and synthetic control side by side, or a structural time series "
            "when every unit is enrolled; observational: matched DiD and AIPW side by side), with "
            "diagnostics, placebo checks and a verdict per outcome."
        ),
    )
    p.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    p.add_argument("--program", required=True, metavar="ID", help="program_id in programs")
    p.add_argument(
        "--outcome",
        action="append",
        dest="outcomes",
        metavar="O",
        help="KPI to evaluate (repeatable); default win_rate, revenue, follow_ups, csat",
    )
    p.add_argument("--grain", default="week", choices=["week", "month", "quarter"])
    p.add_argument(
        "--design-grain",
        default="month",
        choices=["week", "month", "quarter"],
        dest="design_grain",
        help="panel grain for single-rollout and observational programs (default month)",
    )
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument(
        "--min-effect",
        type=_min_effect_arg,
        default=None,
        dest="min_effect",
        metavar="X",
        help="smallest effect that matters: a number in the outcome's units or 'N%%' of its "
        "baseline (as min_effect in the params)",
    )
    p.add_argument("--correction", default="holm", choices=["holm", "bh"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object per outcome")
    p.set_defaults(handler=run)


def _min_effect_arg(text: str) -> float | str:
    from salesinsight.min_effect import parse_min_effect

    try:
        value, relative = parse_min_effect(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text if relative else value


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit code (0 ok, 1 bad input)."""
    from salesinsight.data import DataError
    from salesinsight.evaluation import evaluate

    try:
        ev = evaluate(
            args.data_dir,
            args.program,
            outcomes=args.outcomes,
            grain=args.grain,
            alpha=args.alpha,
            min_effect=args.min_effect,
            seed=args.seed,
            correction=args.correction,
            design_grain=args.design_grain,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        print(f"salesinsight evaluate: {exc}")
        return 1
    if args.json:
        print(json.dumps(to_json(ev), indent=2))
    else:
        print(ev.summary())
    return 0


def to_json(ev: Any) -> list[dict[str, Any]]:
    """Return one object per outcome for the JSON output.

    Each holds estimate, se, ci_low, ci_high, p_value, method, verdict, diagnostics and the
    designs run alongside (``alternatives``).
    """
    out = []
    for o in ev.outcomes:
        e = ev.effects.get(o)
        v = ev.verdicts[o]
        out.append(
            {
                "program_id": ev.program["program_id"],
                "outcome": o,
                "estimate": _num(e.estimate) if e else None,
                "se": _num(e.se) if e else None,
                "ci_low": _num(e.ci_low) if e else None,
                "ci_high": _num(e.ci_high) if e else None,
                "p_value": _num(e.p_value) if e else None,
                "p_adjusted": _num(ev.p_adjusted.get(o)),
                "method": e.method if e else None,
                "verdict": v.label,
                "reason": v.reason,
                "diagnostics": [
                    {
                        "name": d.name,
                        "passed": d.passed,
                        "statistic": _num(d.statistic),
                        "p_value": _num(d.p_value),
                        "value": _num(d.value),
                        "required": d.required,
                        "note": d.note,
                    }
                    for d in (e.diagnostics if e else ())
                ],
                "alternatives": [
                    {
                        "role": role,
                        "method": a.method,
                        "estimate": _num(a.estimate),
                        "se": _num(a.se),
                        "ci_low": _num(a.ci_low),
                        "ci_high": _num(a.ci_high),
                        "p_value": _num(a.p_value),
                    }
                    for role, a in ev.alternatives.get(o, {}).items()
                ],
            }
        )
    return out


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
