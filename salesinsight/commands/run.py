"""`salesinsight run PARAMS.yaml`: execute the quarterly notebook into a run folder."""

from __future__ import annotations

import argparse

from salesinsight.commands._engine import add_engine_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `run` sub-command."""
    p = sub.add_parser(
        "run",
        help="run the quarterly evaluation notebook for a params file",
        description="Validate the params and the data, fingerprint the inputs, execute the "
        "notebook with papermill and write report.html, the executed notebook, results.json, "
        "result tables (CSV) and manifest.json into a run folder. Exit codes: 0 success, "
        "2 invalid params, 3 invalid data or a destination that exists, may not be replaced or "
        "is being written by another run, 4 notebook error, 5 timeout, 6 the file system refused "
        "(disk full, no permission).",
    )
    p.add_argument("params", help="params YAML file, e.g. params/2026Q3.yaml")
    p.add_argument("--out", help="destination folder (default reports/<quarter>/<run id>/)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing run folder salesinsight created (never the data or params)",
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell")
    p.add_argument(
        "--notebook",
        default="quarterly_evaluation",
        choices=["quarterly_evaluation", "program_deep_dive"],
        help="which notebook to run",
    )
    p.add_argument("--pdf", action="store_true", help="also print report.pdf (needs chromium)")
    add_engine_arguments(p)
    p.add_argument(
        "--language",
        choices=["en", "zh-CN"],
        default=None,
        help="report language (default: the params file's `language`, else en)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Execute the run; returns the exit code."""
    import sys

    from salesinsight.report.params import ParamsError
    from salesinsight.report.run import EXIT_BAD_PARAMS, EXIT_OS_ERROR, RunError, execute_run

    try:
        result = execute_run(
            args.params,
            out=args.out,
            force=args.force,
            timeout=args.timeout,
            notebook=args.notebook,
            engine=args.engine,
            spark_master=args.spark_master,
            language=args.language,
        )
    except ParamsError as exc:
        print(f"salesinsight run: {exc}", file=sys.stderr)
        return EXIT_BAD_PARAMS
    except RunError as exc:
        print(f"salesinsight run: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # disk full, permission denied, ...: a message, not a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"salesinsight run: the file system refused{where}: {exc.strerror or exc}; nothing "
            "was replaced (the last good report is untouched)",
            file=sys.stderr,
        )
        return EXIT_OS_ERROR
    except RuntimeError as exc:  # the Spark engine is unavailable (no PySpark or no Java)
        print(f"salesinsight run: {exc}", file=sys.stderr)
        return EXIT_BAD_PARAMS
    print(f"report:   {result.report_html}")
    print(f"results:  {result.results_json}")
    print(f"run id:   {result.run_id}")
    if args.pdf:
        from salesinsight.report.pdf import print_pdf

        pdf = print_pdf(result.report_html)
        print(f"pdf:      {pdf}" if pdf else "pdf:      skipped (chromium not found)")
    return 0
