"""`salesinsight mentoring DIR [--json]`: mentoring pairs: mentee ramp-up, mentor effects, cost."""

from __future__ import annotations

import argparse
import json

from salesinsight.data import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `mentoring` sub-command."""
    p = sub.add_parser(
        "mentoring",
        help="mentoring pairs: mentee ramp-up, which mentors' mentees do better, cost to mentors",
        description=(
            "Evaluate mentoring pairs (enrollments.mentor_id): mentees against comparable "
            "unmentored sellers (time to first won deal, first quarter at quota, early win rate, "
            "revenue), each mentor's effect (shrunk, with intervals) and mentors' own results "
            "while mentoring. The folder is only read."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="data folder with programs and enrollments")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the pair analyses; 0 on success, 2 on bad input (message, no traceback)."""
    from salesinsight.mentoring import analyze_mentoring

    try:
        res = analyze_mentoring(args.folder, seed=args.seed)
    except (DataError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}")
        return 2
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(res.summary())
    return 0
