"""Same answer every time: panels are identical to the byte whatever DuckDB's thread scheduling.

DuckDB adds floating-point numbers in the order its threads finish; a float ``sum`` over a few
hundred thousand rows split across threads differs in the last digits from run to run. The KPI
panel sums money, quotas and CSAT ratios exactly, so repeated runs and a copy of the folder at
another path give the same bytes.

How these tests fail without exact sums: the order-of-addition test always; the 400,000-row panel
test only when the threads happen to combine in another order (1 run in 3 with plain float sums
on the 2-core development machine), so it guards the end-to-end property rather than proving it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesinsight.data import load
from salesinsight.metrics import panel

N_OPPS = 400_000
N_REPS = 40


def _write(folder: Path) -> Path:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True)
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i:03d}" for i in range(N_REPS)],
            "team_id": [f"T{i % 4}" for i in range(N_REPS)],
            "hire_date": "2024-01-01",
        }
    )
    reps.to_csv(folder / "reps.csv", index=False)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, N_OPPS), "D")
    closed = created + pd.to_timedelta(rng.integers(0, 60, N_OPPS), "D")
    status = rng.choice(["won", "lost", "open"], N_OPPS, p=[0.4, 0.4, 0.2])
    # amounts with awkward binary fractions (x.1, x.7, ...) and a few huge deals, so that float
    # sums depend on the order of addition in their last digits
    amount = np.round(rng.lognormal(8, 1.5, N_OPPS), 2) + 0.1
    amount = np.where(rng.random(N_OPPS) < 0.01, 1e12 + 0.37, amount)
    opps = pd.DataFrame(
        {
            "opp_id": [f"O{i}" for i in range(N_OPPS)],
            "rep_id": rng.choice(reps["rep_id"], N_OPPS),
            "created_date": created.strftime("%Y-%m-%d"),
            "status": status,
            "close_date": np.where(status == "open", "", closed.strftime("%Y-%m-%d")),
            "amount": amount,
        }
    )
    opps.to_parquet(folder / "opportunities.parquet", index=False)
    n = N_OPPS // 2
    csat = pd.DataFrame(
        {
            "response_id": [f"C{i}" for i in range(n)],
            "rep_id": rng.choice(reps["rep_id"], n),
            "response_date": (
                pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
            ).strftime("%Y-%m-%d"),
            "score": rng.integers(0, 8, n).astype(float),
            "scale": 7.0,  # score / 7 has no finite binary expansion
        }
    )
    csat.to_parquet(folder / "csat.parquet", index=False)
    return folder


def test_exact_sum_does_not_depend_on_the_order_of_addition():
    # the same values added in two orders (one thread, so the order is the subquery's): a float
    # sum differs, the exact sum does not (this is what varies between DuckDB's threads)
    import duckdb

    from salesinsight.metrics._sql import exact_sum

    con = duckdb.connect()
    con.execute("SET threads = 1")
    values = [1e16, 1.0, -1e16, 1.0, 0.1, 0.2, 0.3, 123456.789] * 50
    con.execute(
        "CREATE TABLE u AS SELECT x, row_number() OVER () AS k "
        "FROM (SELECT unnest($1::DOUBLE[]) AS x)",
        [values],
    )

    def total(expr: str, order: str) -> float:
        return con.execute(f"SELECT {expr} FROM (SELECT x FROM u ORDER BY {order})").fetchone()[0]

    plain = {total("sum(x)", o) for o in ("k", "k DESC", "hash(k)")}
    exact = {total(exact_sum("x"), o) for o in ("k", "k DESC", "hash(k)")}
    assert len(plain) > 1  # the problem exists
    assert len(exact) == 1


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("det") / "data")


def _digest(folder: Path, by: str) -> str:
    with load(folder) as ds:
        ds.con.execute("SET threads = 8")
        df = panel(ds, grain="month", by=by)
    return hashlib.sha256(df.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


@pytest.mark.slow  # ~25 s: a large-data check; the order-of-addition test above is the fast guard
def test_team_panel_identical_across_runs_and_paths(big, tmp_path):
    # before exact sums, team revenue / pipeline / CSAT differed between such runs
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(big, copy)
    digests = {_digest(big, "team"), _digest(big, "team"), _digest(copy, "team")}
    assert len(digests) == 1


@pytest.mark.slow
def test_two_runs_and_a_copy_elsewhere_give_identical_results_and_tables(tmp_path):
    # the whole quarterly run (about 1.5 min each on 2 cores): results.json and every table are
    # identical across two runs and for a byte-identical copy of the folder at another path
    from salesinsight.report.run import execute_run
    from salesinsight.simulate import crm

    data = Path(crm(tmp_path / "data", seed=3, n_reps=60, quarters=6))
    copy = tmp_path / "elsewhere" / "data"
    shutil.copytree(data, copy)
    outs = []
    for i, folder in enumerate((data, data, copy)):
        p = tmp_path / f"p{i}.yaml"
        p.write_text(f"quarter: 2026Q2\ndata_dir: {folder}\nseed: 1\n", encoding="utf-8")
        outs.append(execute_run(p, out=tmp_path / f"out{i}", progress=False).run_dir)

    def files(run: Path) -> dict[str, bytes]:
        found = {"results.json": (run / "results.json").read_bytes()}
        found |= {f"tables/{f.name}": f.read_bytes() for f in sorted((run / "tables").glob("*"))}
        return found

    first = files(outs[0])
    assert len(first) > 5
    for other in outs[1:]:
        assert files(other) == first
