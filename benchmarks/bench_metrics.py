"""Benchmark of the KPI panel on 50 million activities and 5 million opportunities.

Usage::

    python benchmarks/bench_metrics.py [--data DIR] [--activities N] [--opportunities N]
                                       [--repeat 3] [--threads 2] [--memory-limit 3GB]

Generates (once, then reuses) Parquet files under ``benchmarks/_data/`` (git-ignored) with DuckDB
``range()`` and hashing, then times, each measurement in its own subprocess so that peak resident
memory (``ru_maxrss``) is separate:

- ``floor_raw``: one hand-written DuckDB ``GROUP BY rep, week`` over the activities Parquet file
  (the floor: a full panel cannot beat one scan of the activities);
- ``floor_view``: the same query through the loader's typed ``activities`` view;
- ``panel``: ``salesinsight.metrics.panel(ds, grain="week", by="rep")`` on the loaded folder;
- ``pandas``: a plain pandas ``groupby([rep_id, week]).size()`` on a 5-million-row sample (the
  sample is read before the clock starts).

Targets (issue 3): panel within 3x of the single scan, under 30 s, under 4 GB resident, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "_data" / "metrics_50m"
START = "2023-01-02"  # a Monday
N_DAYS = 3 * 364  # 156 ISO weeks
N_REPS = 2000
N_TEAMS = 100


def _u(i: str, salt: int, n: int) -> str:
    """SQL: deterministic pseudo-random integer in [0, n) from row number ``i``."""
    return f"CAST(hash({i}, {salt}) % {n} AS BIGINT)"


def generate(folder: Path, n_activities: int, n_opportunities: int, threads: int) -> None:
    """Write reps, opportunities, activities, quotas and csat Parquet files (deterministic)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    rep = f"'R' || lpad(CAST({_u('i', 1, N_REPS)} AS VARCHAR), 4, '0')"

    def copy(name: str, select: str) -> None:
        path = folder / f"{name}.parquet"
        if path.exists():
            return
        tmp = folder / f"{name}.parquet.tmp"
        t0 = time.perf_counter()
        con.execute(f"COPY ({select}) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
        tmp.rename(path)
        print(f"  generated {path.name} in {time.perf_counter() - t0:.1f} s", flush=True)

    copy(
        "reps",
        f"""SELECT 'R' || lpad(CAST(i AS VARCHAR), 4, '0') AS rep_id,
                   'T' || lpad(CAST(i % {N_TEAMS} AS VARCHAR), 3, '0') AS team_id,
                   DATE '{START}' - 400 + CAST({_u("i", 2, 1400)} AS INTEGER) AS hire_date,
                   CASE WHEN {_u("i", 3, 100)} < 30
                        THEN DATE '{START}' + 400 + CAST({_u("i", 4, 650)} AS INTEGER) END
                     AS termination_date
            FROM range({N_REPS}) t(i)""",
    )
    types = "['call','call','call','email','email','email','visit','meeting','demo'," + (
        "'follow_up','follow_up','other']"
    )
    copy(
        "activities",
        f"""SELECT 'A' || CAST(i AS VARCHAR) AS activity_id, {rep} AS rep_id,
                   DATE '{START}' + CAST({_u("i", 5, N_DAYS)} AS INTEGER) AS activity_date,
                   ({types})[1 + {_u("i", 6, 12)}] AS type,
                   CASE WHEN {_u("i", 7, 10)} < 3
                        THEN 'O' || CAST({_u("i", 8, n_opportunities)} AS VARCHAR) END AS opp_id
            FROM range({n_activities}) t(i)""",
    )
    copy(
        "opportunities",
        f"""SELECT opp_id, rep_id, created_date,
                   CASE WHEN closes > DATE '{START}' + {N_DAYS - 1} THEN 'open'
                        WHEN u < 25 THEN 'won' ELSE 'lost' END AS status,
                   CASE WHEN closes > DATE '{START}' + {N_DAYS - 1} THEN NULL ELSE closes END
                     AS close_date,
                   amount
            FROM (
              SELECT 'O' || CAST(i AS VARCHAR) AS opp_id, {rep} AS rep_id,
                     DATE '{START}' + CAST({_u("i", 9, N_DAYS)} AS INTEGER) AS created_date,
                     DATE '{START}' + CAST({_u("i", 9, N_DAYS)} AS INTEGER)
                       + CAST(20 + {_u("i", 10, 101)} AS INTEGER) AS closes,
                     {_u("i", 11, 100)} AS u,
                     round(500 + {_u("i", 12, 1000000)} / 40.0, 2) AS amount
              FROM range({n_opportunities}) t(i))""",
    )
    copy(
        "quotas",
        f"""SELECT 'R' || lpad(CAST(r AS VARCHAR), 4, '0') AS rep_id,
                   CAST(DATE '2023-01-01' + INTERVAL (3 * q) MONTH AS DATE) AS period_start,
                   CAST(DATE '2023-01-01' + INTERVAL (3 * q + 3) MONTH AS DATE) - 1 AS period_end,
                   CAST(40000 + {_u("r * 100 + q", 13, 40000)} AS DOUBLE) AS quota_amount
            FROM range({N_REPS}) a(r), range(12) b(q)""",
    )
    copy(
        "csat",
        f"""SELECT 'C' || CAST(i AS VARCHAR) AS response_id, {rep} AS rep_id,
                   DATE '{START}' + CAST({_u("i", 14, N_DAYS)} AS INTEGER) AS response_date,
                   CAST(1 + {_u("i", 15, 5)} AS DOUBLE) AS score, 5.0 AS scale
            FROM range(1000000) t(i)""",
    )
    con.close()


# ------------------------------------------------------------------------------ measurements
def _configure(con: duckdb.DuckDBPyConnection, threads: int, memory_limit: str) -> None:
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET memory_limit = '{memory_limit}'")


def _floor_sql(source: str) -> str:
    return (
        "SELECT rep_id, CAST(date_trunc('week', activity_date) AS DATE) AS week, count(*) AS n "
        f"FROM {source} GROUP BY ALL"
    )


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(name: str, folder: Path, threads: int, memory_limit: str) -> dict:
    """Run one measurement in this process; returns seconds, result rows and input rows."""
    if name == "floor_raw":
        con = duckdb.connect()
        _configure(con, threads, memory_limit)
        t0, c0 = time.perf_counter(), _cpu_seconds()
        df = con.execute(_floor_sql(f"read_parquet('{folder / 'activities.parquet'}')")).df()
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        n_in = con.execute(f"SELECT count(*) FROM '{folder / 'activities.parquet'}'").fetchone()[0]
        return {"seconds": seconds, "cpu": cpu, "rows_out": len(df), "rows_in": n_in}
    if name in ("floor_view", "panel"):
        from salesinsight.data import load
        from salesinsight.metrics import panel

        t0 = time.perf_counter()
        ds = load(folder, validate=False)
        load_seconds = time.perf_counter() - t0
        _configure(ds.con, threads, memory_limit)
        n_act = ds.con.execute("SELECT count(*) FROM activities").fetchone()[0]
        n_opp = ds.con.execute("SELECT count(*) FROM opportunities").fetchone()[0]
        t0, c0 = time.perf_counter(), _cpu_seconds()
        if name == "panel":
            df = panel(ds, grain="week", by="rep")
            n_in = n_act + n_opp
        else:
            df = ds.con.execute(_floor_sql("activities")).df()
            n_in = n_act
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        ds.close()
        out = {"seconds": seconds, "cpu": cpu, "rows_out": len(df), "rows_in": n_in}
        return out | {"load": load_seconds}
    if name == "pandas":
        import pandas as pd

        con = duckdb.connect()
        _configure(con, threads, memory_limit)
        sample = con.execute(
            "SELECT rep_id, activity_date, type FROM "
            f"read_parquet('{folder / 'activities.parquet'}') LIMIT 5000000"
        ).df()
        con.close()
        t0, c0 = time.perf_counter(), _cpu_seconds()
        dates = pd.to_datetime(sample["activity_date"])
        week = dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")
        out = sample.groupby([sample["rep_id"], week]).size()
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        return {"seconds": seconds, "cpu": cpu, "rows_out": len(out), "rows_in": len(sample)}
    raise ValueError(name)


def _child(args: argparse.Namespace) -> None:
    result = measure(args.measure, Path(args.data), args.threads, args.memory_limit)
    # Linux: ru_maxrss in KiB
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _run_child(name: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--measure", name, "--data", str(args.data)]
    cmd += ["--threads", str(args.threads), "--memory-limit", args.memory_limit]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Generate data if needed, run every measurement ``--repeat`` times, print a table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--activities", type=int, default=50_000_000)
    p.add_argument("--opportunities", type=int, default=5_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-limit", default="3GB")
    p.add_argument("--measure", help=argparse.SUPPRESS)
    p.add_argument("--only", nargs="*", default=["floor_raw", "floor_view", "panel", "pandas"])
    args = p.parse_args(argv)
    if args.measure:
        _child(args)
        return 0

    print(f"data: {args.data}", flush=True)
    generate(args.data, args.activities, args.opportunities, args.threads)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}", flush=True)
    results: dict[str, list[dict]] = {}
    for _ in range(args.repeat):
        for name in args.only:
            r = _run_child(name, args)
            results.setdefault(name, []).append(r)
            print(
                f"  {name:<10} {r['seconds']:7.2f} s  cpu {r['cpu']:7.2f} s  "
                f"peak {r['peak_rss_mb']:7.0f} MB  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}")
    print()
    header = f"{'measurement':<12}{'median s':>10}{'min s':>8}{'cpu s':>8}{'rows in':>13}"
    print(header + f"{'rows/s':>13}{'peak MB':>9}")
    summary = {}
    for name, runs in results.items():
        secs = [r["seconds"] for r in runs]
        med, cpu = statistics.median(secs), statistics.median(r["cpu"] for r in runs)
        rows_in = runs[0]["rows_in"]
        peak = max(r["peak_rss_mb"] for r in runs)
        summary[name] = {"median": med, "cpu": cpu, "peak_mb": peak, "rows_in": rows_in}
        print(
            f"{name:<12}{med:>10.2f}{min(secs):>8.2f}{cpu:>8.2f}{rows_in:>13,}"
            f"{rows_in / med:>13,.0f}{peak:>9.0f}"
        )
    if "panel" in summary:
        pan = summary["panel"]
        for floor in ("floor_raw", "floor_view"):
            if floor in summary:
                fl = summary[floor]
                print(
                    f"panel / {floor}: {pan['median'] / fl['median']:.2f}x wall, "
                    f"{pan['cpu'] / fl['cpu']:.2f}x cpu (target <= 3x)"
                )
        print(
            f"panel: median {pan['median']:.1f} s (target < 30 s), "
            f"peak {pan['peak_mb'] / 1024:.2f} GB (target < 4 GB)"
        )
    if "pandas" in summary:
        per_row = summary["pandas"]["median"] / summary["pandas"]["rows_in"]
        print(
            f"pandas groupby, extrapolated to {args.activities:,} rows: "
            f"{per_row * args.activities:.1f} s (compute only, data already in memory)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
