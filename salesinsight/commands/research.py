"""`salesinsight research ...`: incentive research designs on a data folder (see docs/research.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `research` sub-command and its own sub-commands."""
    p = sub.add_parser(
        "research",
        help="incentive research: quarter-end pull-in, bunching, discontinuities, design, registry",
        description="Research designs for incentive hypotheses on CRM data (docs/research.md).",
    )
    rs = p.add_subparsers(dest="research_command", required=True, metavar="DESIGN")
    pi = rs.add_parser(
        "pull-in",
        help="deals pulled into the quarter's last days by sellers behind quota",
        description=(
            "Excess closes in the last days of each quota period by sellers who enter them behind "
            "quota, against sellers on track, the matching deficit early in the next period, and "
            "the discount premium; seller-cluster bootstrap intervals."
        ),
    )
    pi.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    pi.add_argument("--window-days", type=int, default=14, dest="window_days")
    pi.add_argument("--horizon-days", type=int, default=30, dest="horizon_days")
    pi.add_argument("--reference-days", type=int, default=42, dest="reference_days")
    pi.add_argument("--behind-pace", type=float, default=1.0, dest="behind_pace")
    pi.add_argument("--min-tenure-days", type=int, default=180, dest="min_tenure_days")
    pi.add_argument("--n-boot", type=int, default=999, dest="n_boot")
    pi.add_argument("--alpha", type=float, default=0.05)
    pi.add_argument("--seed", type=int, default=0)
    pi.add_argument("--json", action="store_true", help="print the result as JSON")
    pi.set_defaults(handler=run_pull_in)


def _fail(command: str, exc: Exception) -> int:
    print(f"salesinsight research {command}: {exc}")
    return 1


def run_pull_in(args: argparse.Namespace) -> int:
    """`research pull-in`: print the summary or JSON; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import pull_in

    try:
        res = pull_in(
            args.data_dir,
            window_days=args.window_days,
            horizon_days=args.horizon_days,
            reference_days=args.reference_days,
            behind_pace=args.behind_pace,
            min_tenure_days=args.min_tenure_days,
            n_boot=args.n_boot,
            alpha=args.alpha,
            seed=args.seed,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("pull-in", exc)
    _print(res, args.json)
    return 0


def _print(res: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(res.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(res.summary())
