"""The same KPI panel on DuckDB (embedded) and on local Spark, at 10 M and 50 M activities.

Usage::

    python benchmarks/bench_engines.py [--sizes 10000000 50000000] [--engines duckdb spark]
                                       [--grain week] [--by rep] [--master local[2]]
                                       [--driver-memory 4g] [--timeout 900]

Data: the Parquet folders of ``bench_metrics.py`` (generated once under ``benchmarks/_data/``,
git-ignored; opportunities = activities / 10). Each measurement runs in its own subprocess; peak
memory is the largest sum of resident memory over that process and all its children (the Spark
JVM included), sampled every 0.1 s. The Spark time includes starting the session (reported
separately) because that is what a user of ``--engine spark`` waits for; ``panel s`` is the panel
alone, ``panel CPU s`` its CPU seconds over the process tree (stable on a shared machine, where wall
times are not). Rows/s = activity rows / panel seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_metrics import generate  # noqa: E402


def _data(n: int) -> Path:
    folder = HERE / "_data" / f"engines_{n // 1_000_000}m"
    generate(folder, n, n // 10, threads=2)
    return folder


def _peak_rss(stop: threading.Event, out: list[int]) -> None:
    import psutil

    me = psutil.Process()
    while not stop.is_set():
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        out[0] = max(out[0], total)
        time.sleep(0.1)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and all its children (the Spark JVM included)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def measure(engine: str, folder: Path, args: argparse.Namespace) -> dict:
    """Time one panel in this process (run as a child of :func:`main`)."""
    from salesinsight.metrics import panel

    peak = [0]
    stop = threading.Event()
    thread = threading.Thread(target=_peak_rss, args=(stop, peak), daemon=True)
    thread.start()
    t0 = time.perf_counter()
    if engine == "duckdb":
        from salesinsight.data import load

        ds = load(folder, validate=False)
        ds.con.execute("SET threads = 2")
        t_start = 0.0
    else:
        from salesinsight.engines.spark import SparkEngine, spark_session

        conf = {
            "spark.driver.memory": args.driver_memory,
            "spark.sql.shuffle.partitions": str(args.shuffle_partitions),
            "spark.ui.enabled": "false",
        }
        session = spark_session(args.master, conf)
        t_start = time.perf_counter() - t0
        ds = SparkEngine(session=session).load(folder, validate=False)
    t1, c1 = time.perf_counter(), _cpu_seconds()
    df = panel(ds, grain=args.grain, by=args.by)
    t_panel, cpu_panel = time.perf_counter() - t1, _cpu_seconds() - c1
    total = time.perf_counter() - t0
    stop.set()
    thread.join()
    ds.close()
    return {
        "engine": engine,
        "rows_panel": len(df),
        "session_s": round(t_start, 1),
        "panel_s": round(t_panel, 1),
        "panel_cpu_s": round(cpu_panel, 1),
        "total_s": round(total, 1),
        "peak_rss_mb": round(peak[0] / 2**20),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the data if needed, then time each engine at each size in a subprocess."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000_000, 50_000_000])
    p.add_argument("--engines", nargs="*", default=["duckdb", "spark"])
    p.add_argument("--grain", default="week")
    p.add_argument("--by", default="rep")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--driver-memory", default="4g")
    p.add_argument("--shuffle-partitions", type=int, default=8)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]), args)))
        return 0
    rows = []
    for n in args.sizes:
        folder = _data(n)
        for engine in args.engines:
            cmd = [sys.executable, __file__, "--child", engine, str(folder)]
            cmd += ["--grain", args.grain, "--by", args.by, "--master", args.master]
            cmd += ["--driver-memory", args.driver_memory]
            cmd += ["--shuffle-partitions", str(args.shuffle_partitions)]
            try:
                out = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=args.timeout, check=True
                ).stdout
                row = json.loads(out.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                row = {"engine": engine, "panel_s": f"> {args.timeout:.0f} (timed out)"}
            except subprocess.CalledProcessError as exc:
                row = {"engine": engine, "error": exc.stderr.strip().splitlines()[-1:]}
            row["activities"] = n
            if isinstance(row.get("panel_s"), float) and row["panel_s"] > 0:
                row["rows_per_s"] = round(n / row["panel_s"])
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(
        "| activities | engine | session s | panel s | panel CPU s | rows/s | peak RSS MB | panel rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['activities']:,} | {r['engine']} | {r.get('session_s', '')} | "
            f"{r.get('panel_s', r.get('error', ''))} | {r.get('panel_cpu_s', '')} | "
            f"{r.get('rows_per_s', '')} | "
            f"{r.get('peak_rss_mb', '')} | {r.get('rows_panel', '')} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
