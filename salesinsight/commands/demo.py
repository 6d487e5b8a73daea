"""`salesinsight demo`: simulate a CRM data folder, validate it and run the quarterly report on it."""

from __future__ import annotations

import argparse
from pathlib import Path

#: the repository root (the package is installed editable from it).
REPO_ROOT = Path(__file__).resolve().parents[2]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `demo` sub-command."""
    p = sub.add_parser(
        "demo",
        help="simulate demo data, validate it and run the quarterly report on it",
        description="Simulates a CRM data folder with known true program effects under data/demo/, "
        "validates it, prints a KPI summary and runs params/demo.yaml into reports/.",
    )
    p.add_argument("--params", default=str(REPO_ROOT / "params" / "demo.yaml"))
    p.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    p.add_argument("--no-report", action="store_true", help="stop after the KPI summary")
    p.add_argument(
        "--resimulate", action="store_true", help="simulate again even if data/demo/ exists"
    )
    p.add_argument(
        "--language",
        choices=["en", "zh-CN"],
        default=None,
        help="report language (default: params/demo.yaml's `language`)",
    )
    p.add_argument("--pdf", action="store_true", help="also print report.pdf (needs chromium)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    import json
    import sys

    from salesinsight.data import load
    from salesinsight.folders import DestinationError
    from salesinsight.metrics import panel
    from salesinsight.report.params import ParamsError, load_params
    from salesinsight.report.run import RunError, execute_run
    from salesinsight.simulate import crm

    try:
        params = load_params(args.params, check_data_dir=False)
    except ParamsError as exc:
        print(exc, file=sys.stderr)
        return 1
    folder = params.data_dir
    if args.resimulate or not (folder / "truth.json").is_file():
        print(f"1/3 simulating demo data into {folder} (seed {args.seed}) ...", flush=True)
        try:
            crm(folder, seed=args.seed)
        except DestinationError as exc:
            print(f"salesinsight demo: {exc}", file=sys.stderr)
            return 1
    else:
        print(f"1/3 using the simulated demo data in {folder} (--resimulate to redo it)")
    print("2/3 validating ...", flush=True)
    ds = load(folder, validate=True)
    company = panel(ds, grain="quarter", by="company")
    cols = ["period", "revenue", "opps_won", "win_rate", "activities", "attainment", "csat"]
    print(company[[c for c in cols if c in company.columns]].to_string(index=False))
    if args.no_report:
        return 0
    print(f"3/3 running the quarterly report for {params.quarter} ...", flush=True)
    try:
        result = execute_run(
            args.params,
            force=True,
            reports_root=REPO_ROOT / "reports",
            language=getattr(args, "language", None),
        )
    except (ParamsError, RunError) as exc:
        print(f"salesinsight demo: {exc}", file=sys.stderr)
        return 1
    results = json.loads(result.results_json.read_text(encoding="utf-8"))
    truth_path = folder / "truth.json"
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else {}
    print("\nVerdicts, beside the true effects planted by the simulator (truth.json):")
    for pid, prog in results["programs"].items():
        planted = truth.get("programs", {}).get(pid, {})
        for outcome, res in prog["outcomes"].items():
            print(
                f"  {pid:<10} {outcome:<11} {res['verdict']:<21} {_estimate_text(res):<26} "
                f"{_truth_text(planted, outcome)}"
            )
    print(f"\nreport: {result.report_html}")
    if getattr(args, "pdf", False):
        from salesinsight.report.pdf import print_pdf

        pdf = print_pdf(result.report_html)
        print(f"pdf:    {pdf}" if pdf else "pdf:    skipped (chromium not found)")
    return 0


def _estimate_text(res: dict) -> str:
    est, base = res.get("estimate"), res.get("baseline")
    if est is None:
        return "no estimate"
    rel = f" ({est / abs(base):+.1%})" if base not in (None, 0) else ""
    text = f"{est:+,.0f}" if abs(est) >= 100 else f"{est:+.4f}"  # never scientific notation
    return f"est {text}{rel}"


def _truth_text(planted: dict, outcome: str) -> str:
    effects = planted.get("effects", {})
    if outcome not in effects:
        return "truth: no direct effect planted"
    scale = planted.get("effect_scale", {}).get(outcome, "absolute")
    value = effects[outcome]
    return f"truth {value:+.1%} relative" if scale == "relative" else f"truth {value:+.4g}"
