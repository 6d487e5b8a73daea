"""`salesinsight simulate`: write a simulated CRM data folder with its ground truth."""

from __future__ import annotations

import argparse
import json


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
        folder = crm(
            args.out,
            seed=args.seed,
            n_reps=args.reps,
            start=args.start,
            quarters=args.quarters,
            force=args.force,
        )
    except ValueError as exc:
        print(f"salesinsight simulate: {exc}")
        return 2
    summary = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["summary"]
    print(f"wrote {folder}")
    for key in ("n_reps_ever", "n_opportunities", "n_activities", "win_rate", "annual_attrition"):
        print(f"  {key}: {summary[key]}")
    return 0
