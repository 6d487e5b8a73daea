"""`salesinsight validate DIR [--json]`: check a data folder against the data contract."""

from __future__ import annotations

import argparse
import json

from salesinsight.commands._engine import add_engine_arguments, engine_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `validate` sub-command."""
    p = sub.add_parser(
        "validate",
        help="check a data folder against the data contract",
        description=(
            "Check every rule of the data contract and report all problems at once. "
            "Exit code 1 when errors are found, 0 when only warnings remain. "
            "The folder is only read, never modified."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="data folder (one CSV or Parquet file per table)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_engine_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.folder``, print the report; returns 1 on errors, 2 on bad arguments, else 0."""
    import sys

    try:
        engine = engine_from_args(args)
        report = engine.validate(args.folder)
    except (ValueError, RuntimeError) as err:  # bad options, Spark or Java unavailable
        print(f"salesinsight validate: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report)
    return 0 if report.ok else 1
