"""`salesinsight simulate` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `simulate` sub-command."""
    p = sub.add_parser("simulate", help="(not yet available)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit code."""
    raise SystemExit("salesinsight simulate: not yet available in this version")
