"""`salesinsight reviews DIR [--json]`: review scores against KPIs, reviewer leniency, validity, gaps."""

from __future__ import annotations

import argparse
import json

from salesinsight.data import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `reviews` sub-command."""
    p = sub.add_parser(
        "reviews",
        help="performance reviews: agreement with KPIs, reviewer leniency, validity, rating gaps",
        description=(
            "Analyse the reviews table: how scores agree with the same quarter's KPIs, each "
            "reviewer's leniency (shrunk, with intervals), whether scores predict next quarter "
            "beyond the KPIs, and rating gaps between groups after KPIs. The folder is only read."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="data folder with a reviews table")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--min-cell-size", type=int, default=10, help="smallest group (reps) shown (default 10)"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the review analyses; 0 on success, 2 on bad input (message, no traceback)."""
    from salesinsight.reviews import analyze_reviews

    if args.min_cell_size < 1:
        print(f"error: --min-cell-size must be at least 1, got {args.min_cell_size}")
        return 2
    try:
        res = analyze_reviews(args.folder, min_cell_size=args.min_cell_size, seed=args.seed)
    except (DataError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}")
        return 2
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(res.summary())
    return 0
