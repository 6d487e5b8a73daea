"""`salesinsight params`: print the run-parameter schema, or check a params file."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `params` sub-command."""
    p = sub.add_parser(
        "params",
        help="print the run-parameter schema with defaults, or check a params file",
        description="Without FILE: print every run parameter with its type, default and help. "
        "With FILE: validate it and print the resolved parameters (exit 2 when invalid, like "
        "`salesinsight run`).",
    )
    p.add_argument("file", nargs="?", help="a params YAML file to check")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema or the validated parameters; returns the exit code."""
    import sys

    import yaml

    from salesinsight.report.params import ParamsError, load_params, params_schema_text
    from salesinsight.report.run import EXIT_BAD_PARAMS

    if args.file is None:
        print(params_schema_text())
        return 0
    try:
        params = load_params(args.file)
    except ParamsError as exc:
        print(f"salesinsight params: {exc}", file=sys.stderr)
        return EXIT_BAD_PARAMS
    print(yaml.safe_dump(params.notebook_parameters(), sort_keys=False, allow_unicode=True))
    return 0
