"""The ``salesinsight`` command line: thin, each sub-command lives in ``salesinsight.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: sub-command name -> module under ``salesinsight.commands`` that defines
#: ``add_parser(subparsers)`` and ``run(args) -> int``.
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "import": "importer",
    "simulate": "simulate",
    "validate": "validate",
    "metrics": "metrics",
    "evaluate": "evaluate",
    "params": "params",
    "run": "run",
    "reviews": "reviews",
    "mentoring": "mentoring",
}


def _version() -> str:
    from salesinsight import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="salesinsight",
        description="Did the coaching, training, mentoring and incentive programs work?",
    )
    parser.add_argument("--version", action="version", version=f"salesinsight {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS.values():
        module = importlib.import_module(f"salesinsight.commands.{module_name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``salesinsight`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
