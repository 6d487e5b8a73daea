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
    _add_pull_in(rs)
    _add_bunching(rs)
    _add_rd(rs)
    _add_design(rs)
    _add_staggered_power(rs)
    _add_assign(rs)
    _add_effort(rs)
    _add_what_if(rs)
    _add_registry(rs)


def _add_pull_in(rs: argparse._SubParsersAction) -> None:
    """Register `research pull-in`."""
    pi = rs.add_parser(
        "pull-in",
        help="deals pulled into the quarter's last days by sellers behind quota",
        description=(
            "Excess closes in the last days of each quota period by sellers who enter them behind "
            "quota, against sellers on track, the matching deficit early in the next period, and "
            "the discount premium; delete-one-seller jackknife intervals (or the seller-cluster "
            "bootstrap with --inference bootstrap)."
        ),
    )
    pi.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    pi.add_argument("--window-days", type=int, default=14, dest="window_days")
    pi.add_argument("--horizon-days", type=int, default=30, dest="horizon_days")
    pi.add_argument("--reference-days", type=int, default=42, dest="reference_days")
    pi.add_argument("--behind-pace", type=float, default=1.0, dest="behind_pace")
    pi.add_argument("--min-tenure-days", type=int, default=180, dest="min_tenure_days")
    pi.add_argument(
        "--age-bin-days",
        type=int,
        default=7,
        dest="age_bin_days",
        help="width of the pipeline-age bins in days (0 pools all ages); default 7",
    )
    pi.add_argument("--n-boot", type=int, default=999, dest="n_boot")
    pi.add_argument(
        "--inference",
        choices=("jackknife", "bootstrap"),
        default="jackknife",
        help="intervals: delete-one-seller jackknife with t(G-1) (default) or the seller-bootstrap "
        "percentile interval (the earlier method)",
    )
    pi.add_argument(
        "--cluster",
        choices=("seller", "team"),
        default="seller",
        help="what the intervals delete or resample: one seller (default) or one team, for timing "
        "shocks a team shares",
    )
    pi.add_argument("--alpha", type=float, default=0.05)
    pi.add_argument("--seed", type=int, default=0)
    pi.add_argument("--json", action="store_true", help="print the result as JSON")
    pi.set_defaults(handler=run_pull_in)


def _add_bunching(rs: argparse._SubParsersAction) -> None:
    """Register `research bunching`."""
    bu = rs.add_parser(
        "bunching",
        help="excess mass of attainment just above a threshold (Kleven 2016)",
        description=(
            "Excess mass of quarterly attainment just above a quota, accelerator or bonus "
            "threshold against a polynomial counterfactual density fitted outside an excluded "
            "window; seller-cluster bootstrap intervals."
        ),
    )
    bu.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    bu.add_argument(
        "--threshold",
        type=float,
        action="append",
        dest="thresholds",
        metavar="T",
        help="attainment threshold (repeatable); default 1.0",
    )
    bu.add_argument("--bin-width", type=float, default=0.02, dest="bin_width")
    bu.add_argument("--degree", type=int, default=7)
    bu.add_argument(
        "--upper",
        type=_upper,
        default=None,
        help="upper edge of the excluded window (attainment), or 'mass_balance' to choose it from "
        "the data where the excess reaches the missing mass (Kleven 2016); default threshold + 0.2",
    )
    bu.add_argument("--n-boot", type=int, default=499, dest="n_boot")
    bu.add_argument("--alpha", type=float, default=0.05)
    bu.add_argument("--seed", type=int, default=0)
    bu.add_argument("--json", action="store_true", help="print the result as JSON")
    bu.set_defaults(handler=run_bunching)


def _add_rd(rs: argparse._SubParsersAction) -> None:
    """Register `research rd`."""
    r = rs.add_parser(
        "rd",
        help="regression discontinuity at a bonus threshold, with the sorting checks",
        description=(
            "Effect of just reaching an attainment threshold on the next period (rdrobust, robust "
            "bias-corrected interval); rddensity manipulation test and a bunching check: when "
            "sellers sort around the threshold the discontinuity is reported as not credible."
        ),
    )
    r.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    r.add_argument(
        "--outcome",
        default="revenue_next",
        choices=["revenue_next", "attainment_next", "activities_next", "left_next"],
    )
    r.add_argument("--threshold", type=float, default=1.0)
    r.add_argument("--n-boot", type=int, default=499, dest="n_boot")
    r.add_argument("--alpha", type=float, default=0.05)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.set_defaults(handler=run_rd)


def _add_design(rs: argparse._SubParsersAction) -> None:
    """Register `research design`."""
    de = rs.add_parser(
        "design",
        help="minimum detectable effect or units needed for a randomized program",
        description=(
            "MDE for a number of units, or units needed for an effect, from the data's own "
            "variance (between units within a period), intra-cluster correlation and CUPED gain."
        ),
    )
    de.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    de.add_argument("--unit", default="team", choices=["team", "rep"])
    de.add_argument("--outcome", default="win_rate")
    de.add_argument("--mde", type=float, default=None)
    de.add_argument("--n-units", type=int, default=None, dest="n_units")
    de.add_argument("--alpha", type=float, default=0.05)
    de.add_argument("--power", type=float, default=0.8)
    de.add_argument("--json", action="store_true", help="print the result as JSON")
    de.set_defaults(handler=run_design)


def _add_assign(rs: argparse._SubParsersAction) -> None:
    """Register `research assign`."""
    a = rs.add_parser(
        "assign",
        help="stratified, seeded (re-)randomized assignment rows for enrollments.csv",
        description=(
            "Assign the units active on the start date to treatment and control within strata, "
            "re-drawing until the pre-period KPIs are balanced; writes enrollment rows (never over "
            "an existing file) and prints the balance table."
        ),
    )
    a.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    a.add_argument("--program", required=True, metavar="ID", dest="program_id")
    a.add_argument("--unit", default="team", choices=["team", "rep"])
    a.add_argument("--start-date", required=True, dest="start_date", metavar="DATE")
    a.add_argument("--strata", action="append", default=None, metavar="S")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--max-draws", type=int, default=1000, dest="max_draws")
    a.add_argument("--out", default=None, metavar="FILE", help="CSV file for the rows (new file)")
    a.set_defaults(handler=run_assign)


def _add_effort(rs: argparse._SubParsersAction) -> None:
    """Register `research effort`."""
    ef = rs.add_parser(
        "effort",
        help="late-period activity of sellers far behind quota vs on track (Chung et al.)",
        description=(
            "Relative change in activities in the last weeks of each quota period for sellers far "
            "behind quota, against their own next-period level and the same ratio for on-track "
            "sellers; seller-cluster bootstrap interval."
        ),
    )
    ef.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    ef.add_argument("--window-days", type=int, default=28, dest="window_days")
    ef.add_argument("--far-below", type=float, default=0.5, dest="far_below")
    ef.add_argument("--n-boot", type=int, default=999, dest="n_boot")
    ef.add_argument("--seed", type=int, default=0)
    ef.set_defaults(handler=run_effort)


def _add_what_if(rs: argparse._SubParsersAction) -> None:
    """Register `research what-if`."""
    w = rs.add_parser(
        "what-if",
        help="payouts under alternative incentive plans on the historical data (accounting)",
        description=(
            "Pay every seller-quarter under revenue-only, revenue + CSAT, team-component and "
            "capped plans, and show what each plan rewards. Accounting on historical behaviour, "
            "not a causal forecast: sellers respond to plans."
        ),
    )
    w.add_argument("data_dir", metavar="DIR", help="data folder (see docs/data-contract.md)")
    w.add_argument("--json", action="store_true", help="print the result as JSON")
    w.set_defaults(handler=run_what_if)


def _add_registry(rs: argparse._SubParsersAction) -> None:
    """Register `research run`."""
    ru = rs.add_parser(
        "run",
        help="test every hypothesis of a registry into a run folder (papermill notebook)",
        description=(
            "Execute notebooks/incentive_research.py on a hypotheses registry: a verdict per "
            "hypothesis (supported / contradicted / inconclusive) with Holm and Benjamini-Hochberg "
            "across the registry, into reports/<folder>/<run id>/ with report.html, results.json, "
            "tables and a manifest holding the registry's sha256."
        ),
    )
    ru.add_argument("registry", metavar="REGISTRY", help="hypotheses YAML (params/hypotheses.yaml)")
    ru.add_argument("--out", default=None, help="run folder (default reports/<folder>/<run id>)")
    ru.add_argument("--force", action="store_true", help="replace an existing run folder")
    ru.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell")
    ru.set_defaults(handler=run_registry_command)


def _add_staggered_power(rs: argparse._SubParsersAction) -> None:
    """Register `research staggered-power`."""
    sp = rs.add_parser(
        "staggered-power",
        help="power of a staggered rollout by simulation through the CRM simulator",
        description=(
            "Simulate staggered rollouts (the simulator tuned to the data's win rate, ICC and "
            "previous-quarter correlation) with a known effect and with none, evaluate each with "
            "the staggered DiD the quarterly evaluation uses, and report power, the false-positive "
            "rate, the mean estimate and coverage with their Monte Carlo SEs."
        ),
    )
    sp.add_argument(
        "data_dir", metavar="DIR", nargs="?", default=None, help="data folder to calibrate to"
    )
    sp.add_argument("--effect", type=float, default=0.025, help="win-probability effect")
    sp.add_argument("--n-teams", type=int, default=None, dest="n_teams")
    sp.add_argument("--team-size", type=int, default=None, dest="team_size")
    sp.add_argument("--cohorts", type=int, default=3)
    sp.add_argument("--quarters", type=int, default=6)
    sp.add_argument("--share-per-cohort", type=float, default=0.12, dest="share_per_cohort")
    sp.add_argument("--ramp-weeks", type=int, default=0, dest="ramp_weeks")
    sp.add_argument("--n-sims", type=int, default=100, dest="n_sims")
    sp.add_argument("--alpha", type=float, default=0.05)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument(
        "--no-calibrate",
        action="store_false",
        dest="calibrate",
        help="use the simulator's defaults instead of tuning it to DIR",
    )
    sp.add_argument("--json", action="store_true", help="print the result as JSON")
    sp.set_defaults(handler=run_staggered_power)


def _upper(text: str) -> float | str:
    """`--upper`: a number or ``mass_balance``."""
    if text == "mass_balance":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or 'mass_balance', got {text!r}"
        ) from None


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
            age_bin_days=args.age_bin_days or None,
            n_boot=args.n_boot,
            alpha=args.alpha,
            seed=args.seed,
            inference=args.inference,
            cluster=args.cluster,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("pull-in", exc)
    _print(res, args.json)
    return 0


def run_bunching(args: argparse.Namespace) -> int:
    """`research bunching`: one result per threshold; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import bunching
    from salesinsight.research._frames import as_dataset

    try:
        ds = as_dataset(args.data_dir)
        results = [
            bunching(
                ds,
                threshold=t,
                bin_width=args.bin_width,
                degree=args.degree,
                upper=args.upper,
                n_boot=args.n_boot,
                alpha=args.alpha,
                seed=args.seed,
            )
            for t in (args.thresholds or [1.0])
        ]
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("bunching", exc)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(str(r) for r in results))
    return 0


def run_rd(args: argparse.Namespace) -> int:
    """`research rd`: print the summary or JSON; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import rd

    try:
        res = rd(
            args.data_dir,
            outcome=args.outcome,
            threshold=args.threshold,
            n_boot=args.n_boot,
            alpha=args.alpha,
            seed=args.seed,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("rd", exc)
    _print(res, args.json)
    return 0


def run_design(args: argparse.Namespace) -> int:
    """`research design`: print the summary or JSON; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import design

    try:
        res = design(
            args.data_dir,
            unit=args.unit,
            outcome=args.outcome,
            mde=args.mde,
            n_units=args.n_units,
            alpha=args.alpha,
            power=args.power,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("design", exc)
    _print(res, args.json)
    return 0


def run_staggered_power(args: argparse.Namespace) -> int:
    """`research staggered-power`: print the summary or JSON; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import staggered_power

    try:
        res = staggered_power(
            args.data_dir,
            effect=args.effect,
            n_teams=args.n_teams,
            team_size=args.team_size,
            cohorts=args.cohorts,
            quarters=args.quarters,
            share_per_cohort=args.share_per_cohort,
            ramp_weeks=args.ramp_weeks,
            n_sims=args.n_sims,
            alpha=args.alpha,
            seed=args.seed,
            calibrate=args.calibrate,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("staggered-power", exc)
    _print(res, args.json)
    return 0


def run_assign(args: argparse.Namespace) -> int:
    """`research assign`: write the rows (when --out) and print the balance; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import assign

    try:
        res = assign(
            args.data_dir,
            args.program_id,
            unit=args.unit,
            start_date=args.start_date,
            strata=tuple(args.strata) if args.strata else ("region",),
            seed=args.seed,
            max_draws=args.max_draws,
        )
        if args.out:
            res.write(args.out)
    except (DataError, ValueError, FileNotFoundError, FileExistsError) as exc:
        return _fail("assign", exc)
    print(res.summary())
    if args.out:
        print(f"rows written to {args.out}")
    return 0


def run_effort(args: argparse.Namespace) -> int:
    """`research effort`: print the effect's summary; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import effort

    try:
        res = effort(
            args.data_dir,
            window_days=args.window_days,
            far_below=args.far_below,
            n_boot=args.n_boot,
            seed=args.seed,
        )
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("effort", exc)
    print(res.summary())
    return 0


def run_what_if(args: argparse.Namespace) -> int:
    """`research what-if`: the default plan comparison; 1 on bad input."""
    from salesinsight.data import DataError
    from salesinsight.research import what_if

    try:
        res = what_if(args.data_dir)
    except (DataError, ValueError, FileNotFoundError) as exc:
        return _fail("what-if", exc)
    _print(res, args.json)
    return 0


def run_registry_command(args: argparse.Namespace) -> int:
    """`research run`: execute the research notebook; exit codes as `salesinsight run`."""
    import sys

    from salesinsight.report.run import EXIT_BAD_PARAMS, RunError, execute_run
    from salesinsight.research.registry import RegistryError, load_registry

    try:
        result = execute_run(
            args.registry,
            out=args.out,
            force=args.force,
            timeout=args.timeout,
            notebook="incentive_research",
            load=load_registry,
        )
    except RegistryError as exc:
        print(f"salesinsight research run: {exc}", file=sys.stderr)
        return EXIT_BAD_PARAMS
    except RunError as exc:
        print(f"salesinsight research run: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"report:   {result.report_html}")
    print(f"results:  {result.results_json}")
    print(f"run id:   {result.run_id}")
    return 0


def _print(res: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(res.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(res.summary())
