"""research.pull_in: recovers the simulator's planted pull-in, finds none where none is planted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from salesinsight.cli import main
from salesinsight.research import pull_in

from .conftest import gaming_rows


@pytest.fixture(scope="module")
def planted(planted_pull):
    return pull_in(planted_pull, n_boot=499)


def _truth_on_sample(res, folder):
    """Planted pulls summed over the seller-periods the estimator classified behind (the estimand)."""
    rows = gaming_rows(folder)
    sp = res.seller_periods
    m = sp.loc[sp["behind"], ["rep_id", "period"]].merge(
        rows, left_on=["rep_id", "period"], right_on=["rep_id", "quarter"], how="left"
    )
    on = sp.loc[~sp["behind"], ["rep_id", "period"]].merge(
        rows, left_on=["rep_id", "period"], right_on=["rep_id", "quarter"], how="inner"
    )
    return m, on


def test_recovers_planted_pull_in_within_interval(planted, planted_pull):
    truth, on_track = _truth_on_sample(planted, planted_pull)
    # the simulator's rule and the estimator's classification agree: no on-track seller pulled
    assert on_track["pulled_deals"].sum() == 0
    targets = {
        "pulled_closed_deals": truth["pulled_deals"].sum(),
        "pulled_deals": truth["pulled_won_deals"].sum(),
        "pulled_revenue": truth["pulled_won_revenue"].sum(),
    }
    assert targets["pulled_deals"] > 100  # a real planted effect, not a trivially small one
    for name, value in targets.items():
        e = planted[name]
        assert e.ci_low <= value <= e.ci_high, (name, value, e.ci_low, e.ci_high)
        assert e.ci_low > 0
    # the matching deficit early in the next quarter: borrowed deals, not new ones
    d = planted["next_period_deficit"]
    assert d.ci_low <= targets["pulled_closed_deals"] <= d.ci_high
    prem = json.loads((planted_pull / "truth.json").read_text())["gaming"]["pull_in"]
    e = planted["discount_premium"]
    assert e.ci_low <= prem["discount_premium"] <= e.ci_high and e.ci_low > 0


def test_finds_nothing_where_nothing_is_planted(no_gaming):
    res = pull_in(no_gaming, n_boot=499)
    for name in ("pulled_deals", "pulled_revenue", "pulled_closed_deals"):
        e = res[name]
        assert e.ci_low <= 0 <= e.ci_high, (name, e.ci_low, e.ci_high)
    assert gaming_rows(no_gaming).empty


def test_per_period_rows_add_up_to_the_total(planted):
    b = planted.by_period
    assert np.isclose(b["pulled_deals"].sum(), planted["pulled_deals"].estimate, rtol=1e-9)
    assert (b["sellers_behind"] > 0).all() and (b["sellers_on_track"] > 0).all()


def test_result_contract(planted):
    f = planted.to_frame()
    assert list(f["term"]) == [
        "pulled_deals",
        "pulled_revenue",
        "pulled_closed_deals",
        "next_period_deficit",
        "discount_premium",
    ]
    assert "pull-in" in str(planted).lower()
    assert "<table>" in planted._repr_html_()
    ax = planted.plot()
    assert len(ax.patches) == len(planted.by_period)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_bootstrap_is_reproducible(planted_pull, planted):
    again = pull_in(planted_pull, n_boot=499)
    assert again.to_frame().equals(planted.to_frame())


def test_bad_arguments_named_at_once(planted_pull):
    with pytest.raises(ValueError, match="window_days.*alpha"):
        pull_in(planted_pull, window_days=0, alpha=2.0)


def test_cli_json_keys(planted_pull, capsys):
    assert main(["research", "pull-in", str(planted_pull), "--json", "--n-boot", "199"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("pulled_deals", "pulled_revenue", "discount_premium"):
        assert set(out[key]) >= {"estimate", "ci_low", "ci_high"}
    assert len(out["by_quarter"]) == 5 and out["by_quarter"][0]["period"] == "2025Q1"


def test_cli_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["research", "pull-in", str(tmp_path / "nope")]) == 1
    out = capsys.readouterr().out
    assert "salesinsight research pull-in" in out and "Traceback" not in out


def test_cli_without_quotas_names_the_table(tmp_path, capsys):
    from tests.data.conftest import valid_tables, write_folder

    tables = valid_tables()
    tables.pop("quotas", None)
    folder = write_folder(tmp_path / "data", tables)
    assert main(["research", "pull-in", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "quotas table is missing" in out and "Traceback" not in out


# ------------------------------------------------------------- coverage (benchmarks/coverage_pull_in.py)
def _bench():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "coverage_pull_in.py"
    spec = importlib.util.spec_from_file_location("coverage_pull_in", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("coverage_pull_in", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("seed", [111, 115])
def test_null_cells_where_the_reference_window_estimator_missed(seed, tmp_path):
    """Two folders without gaming on which the earlier estimator (last-window closes scaled by a
    later reference window) excluded zero (-157 [-354, -14] and -274 [-462, -94] closed deals): the
    pipeline-at-entry estimator's intervals cover zero for every quantity."""
    cell = _bench().null_cell(seed, n_boot=299, root=tmp_path)
    for q in ("pulled_deals", "pulled_revenue", "pulled_closed_deals", "next_period_deficit"):
        assert cell[f"{q}_cover"] == 1.0, (q, cell[f"{q}_est"])


@pytest.mark.slow
def test_null_and_planted_coverage_monte_carlo():
    """100 folders without gaming and 20 with planted pull-in (simulator ground truth): coverage of
    the 95% intervals is not below nominal beyond binomial noise (one-sided test at 0.5%), the null
    estimates are centred on zero (within 3 Monte Carlo SE), and every planted folder is detected."""
    from scipy import stats

    b = _bench()
    df = b.run(100, 20, n_boot=299)
    for kind, d in df.groupby("kind"):
        n = len(d)
        floor = stats.binom.ppf(0.005, n, 0.95)
        for q in b.QUANTITIES:
            assert d[f"{q}_cover"].sum() >= floor, (kind, q, d[f"{q}_cover"].mean())
            if kind == "null":
                est = d[f"{q}_est"]
                assert abs(est.mean()) < 3 * est.std(ddof=1) / np.sqrt(n), (q, est.mean())
            else:
                assert d[f"{q}_detect"].all(), q
