"""`salesinsight simulate`: write a simulated CRM data folder with its ground truth."""

from __future__ import annotations

import argparse
import json

from salesinsight.simulate._programs import OBSERVATIONAL_SELECTIONS as SCENARIOS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `simulate` sub-command."""
    p = sub.add_parser(
        "simulate",
        help="write a simulated CRM data folder (contract tables + truth.json)",
        description="Simulate a sales organisation with planted programs of known true effect.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="data folder to write")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--reps", type=int, default=360, help="account-executive seats (default 360)")
    p.add_argument("--start", default="2025-01-06", help="first day, ISO date (default 2025-01-06)")
    p.add_argument("--quarters", type=int, default=8, help="calendar quarters (default 8)")
    p.add_argument(
        "--scenario",
        choices=SCENARIOS,
        help="why sellers join the observational program P_PLACEBO: recent (last quarter's "
        "results, default), level (persistent skill), streak (a hot streak that fades), dip (a "
        "slump), growth (recent hires on a learning curve), mix (skill and streak)",
    )
    p.add_argument(
        "--effect",
        type=float,
        default=None,
        metavar="PP",
        help="true effect of P_PLACEBO on the win rate, in probability points (e.g. 0.05)",
    )
    p.add_argument("--share", type=float, default=None, help="share of sellers enrolled")
    p.add_argument(
        "--start-quarter",
        type=int,
        default=None,
        metavar="Q",
        help="quarter (1-based after the first) in which P_PLACEBO starts: the pre-period length",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into an existing folder that simulate did not write (same-named tables "
        "are overwritten)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit code."""
    from salesinsight.simulate import crm

    try:
        extra: dict[str, object] = {}
        if args.share is not None:
            extra["placebo_share"] = args.share
        if args.start_quarter is not None:
            extra["observational_start_quarter"] = args.start_quarter
        folder = crm(
            args.out,
            seed=args.seed,
            n_reps=args.reps,
            start=args.start,
            quarters=args.quarters,
            scenario=args.scenario,
            effects=None if args.effect is None else {"P_PLACEBO": {"win_rate": args.effect}},
            force=args.force,
            **extra,
        )
    except ValueError as exc:
        print(f"salesinsight simulate: {exc}")
        return 2
    summary = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["summary"]
    print(f"wrote {folder}")
    for key in ("n_reps_ever", "n_opportunities", "n_activities", "win_rate", "annual_attrition"):
        print(f"  {key}: {summary[key]}")
    return 0
