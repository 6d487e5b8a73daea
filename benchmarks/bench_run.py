"""Time `salesinsight demo` end to end and per stage on the default demo size.

Stages: simulate, load + validate, metrics (quarter and week panels), models (every program's
evaluation and the report sections, i.e. ``build_quarter``), notebook (papermill execution of the
whole quarterly notebook, which repeats the models inside the kernel), render (nbconvert HTML).
Target: under 90 s on a 2-core machine for the default demo size. Prints one line per stage.

Usage: python benchmarks/bench_run.py [--out /tmp/bench_run]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="work folder (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="bench_run_"))
    work.mkdir(parents=True, exist_ok=True)

    from salesinsight.data import load
    from salesinsight.metrics import panel
    from salesinsight.report.params import load_params
    from salesinsight.report.quarterly import build_quarter
    from salesinsight.report.run import execute_run
    from salesinsight.simulate import crm

    repo = Path(__file__).resolve().parents[1]
    demo = yaml.safe_load((repo / "params" / "demo.yaml").read_text())
    data = work / "data"
    demo["data_dir"] = str(data)
    params_file = work / "params.yaml"
    params_file.write_text(yaml.safe_dump(demo))

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    crm(data, seed=0)
    timings["simulate"] = time.perf_counter() - t0

    t = time.perf_counter()
    ds = load(data, validate=True)
    timings["load + validate"] = time.perf_counter() - t

    t = time.perf_counter()
    panel(ds, grain="quarter", by="company")
    panel(ds, grain="week", by="rep")
    timings["metrics (quarter company + week rep panels)"] = time.perf_counter() - t

    t = time.perf_counter()
    build_quarter(load_params(params_file))
    timings["models + report sections (build_quarter)"] = time.perf_counter() - t

    t = time.perf_counter()
    result = execute_run(params_file, out=work / "run", force=True, progress=False)
    timings["run: validate + notebook + render"] = time.perf_counter() - t
    inner = result.manifest.get("timings_seconds", {})
    timings["  of which notebook"] = inner.get("notebook", float("nan"))
    timings["  of which render"] = inner.get("render", float("nan"))

    demo_total = timings["simulate"] + timings["run: validate + notebook + render"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'stage':<48} seconds")
    for name, sec in timings.items():
        print(f"{name:<48} {sec:7.1f}")
    print(f"{'demo end to end (simulate + run)':<48} {demo_total:7.1f}   target < 90 s")
    print(f"peak resident memory of this process: {peak_mb:.0f} MB (kernel runs in a child)")
    (work / "bench_run.json").write_text(json.dumps(timings, indent=2))


if __name__ == "__main__":
    main()
