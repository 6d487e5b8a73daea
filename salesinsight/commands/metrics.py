"""`salesinsight metrics DIR --grain week --by rep [--fiscal-year-start-month M] --out FILE`."""

from __future__ import annotations

import argparse
import sys

from salesinsight.calendar import GRAINS
from salesinsight.commands._engine import add_engine_arguments, engine_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `metrics` sub-command."""
    p = sub.add_parser(
        "metrics",
        help="KPI panel per rep, team or company and period (CSV or Parquet)",
        description=(
            "Compute the KPI panel of a data folder (one row per entity and period, balanced) and "
            "write it to a CSV or Parquet file chosen by the extension of --out (CSV to standard "
            "output when --out is omitted). KPI definitions: docs/metrics.md."
        ),
    )
    p.add_argument("folder", metavar="DIR", help="data folder (one CSV or Parquet file per table)")
    p.add_argument("--grain", choices=GRAINS, default="week", help="period length (default: week)")
    p.add_argument(
        "--by",
        choices=("rep", "team", "company"),
        default="rep",
        help="entity (default: rep)",
    )
    p.add_argument(
        "--fiscal-year-start-month",
        type=int,
        default=1,
        metavar="M",
        help="first month (1-12) of the fiscal year; quarters are then labelled FYyyyyQn",
    )
    p.add_argument("--start", metavar="DATE", help="first date (default: earliest in the data)")
    p.add_argument("--end", metavar="DATE", help="last date (default: latest in the data)")
    p.add_argument(
        "--out", metavar="FILE", help="output .csv or .parquet (default: CSV on standard output)"
    )
    add_engine_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compute and write the panel.

    Returns 0, 1 on invalid data or a failed write, 2 on bad arguments.
    """
    from salesinsight.data import DataError
    from salesinsight.export import write_table
    from salesinsight.metrics import panel

    out = args.out
    if out is not None and not str(out).lower().endswith((".csv", ".parquet", ".pq")):
        print(
            f"salesinsight metrics: --out must end in .csv or .parquet; got {out}", file=sys.stderr
        )
        return 2
    try:
        engine = engine_from_args(args)
        df = panel(
            args.folder,
            grain=args.grain,
            by=args.by,
            fiscal_year_start_month=args.fiscal_year_start_month,
            start=args.start,
            end=args.end,
            engine=engine,
        )
    except DataError as err:
        print(f"salesinsight metrics: {args.folder} breaks the data contract:", file=sys.stderr)
        print(err, file=sys.stderr)
        return 1
    except (ValueError, TypeError, RuntimeError) as err:  # RuntimeError: Spark/Java unavailable
        print(f"salesinsight metrics: {err}", file=sys.stderr)
        return 2
    by_reason: dict[str, list[str]] = {}
    for kpi, reason in df.attrs.get("not_available", {}).items():
        by_reason.setdefault(reason, []).append(kpi)
    for reason, kpis in by_reason.items():
        print(f"salesinsight metrics: {', '.join(kpis)}: {reason}", file=sys.stderr)
    try:
        path = write_table(df, out)
    except OSError as err:  # disk full, no permission, a folder in the way: a message
        where = err.filename or out or "standard output"
        print(f"salesinsight metrics: cannot write {where}: {err.strerror or err}", file=sys.stderr)
        return 1
    if path is not None:
        n_periods = df["period"].nunique()
        print(f"wrote {len(df)} rows ({n_periods} {args.grain}s, by {args.by}) to {path}")
    return 0
