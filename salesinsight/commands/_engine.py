"""`--engine duckdb|spark` and `--spark-master URL`, shared by validate, metrics and run."""

from __future__ import annotations

import argparse

from salesinsight.engines import ENGINE_NAMES, Engine, get_engine


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """Register ``--engine`` and ``--spark-master`` on a sub-command."""
    p.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        default=None,
        help="who runs the validation and KPI queries: duckdb (embedded, default) or spark "
        '(needs pip install "salesinsight[spark]" and Java)',
    )
    p.add_argument(
        "--spark-master",
        metavar="URL",
        default=None,
        help="Spark master URL (local[4], spark://host:7077, yarn, k8s://...); "
        "default: the active session, else local[*]",
    )


def engine_from_args(args: argparse.Namespace) -> Engine:
    """Return the engine chosen on the command line (raises ValueError on a contradiction)."""
    name = getattr(args, "engine", None) or "duckdb"
    master = getattr(args, "spark_master", None)
    if master and name != "spark":
        raise ValueError("--spark-master needs --engine spark")
    return get_engine(name, master=master)
