"""research.pull_in: recovers the simulator's planted pull-in, finds none where none is planted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
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


def test_age_bins_remove_a_pipeline_age_difference():
    """Hand example: both groups close 0% of deals aged 0-6 days and 50% of older ones in the last
    window (no pull-in), but behind sellers' pipelines are younger (60 of 100 deals young against
    20 of 100). Pooling all ages reads that as pull-in (20 - 100 x 40/100 = -20 closed deals); the
    per-age shares give exactly 0. The next-period deficit likewise (young deals close in N at 40%,
    old at 10%: pooled 100 x 16/100 - 28 = -12, per age 0)."""
    from salesinsight.research._pull_in import STATS, _age_stats, _estimate

    names = [*STATS, *_age_stats(2)]
    sums = np.zeros((len(names), 1, 2))
    young_old = {1: (60, 40), 0: (20, 80)}  # group 1 = behind, 0 = on track
    for grp, (young, old) in young_old.items():
        cells = {
            "P_age0": young,
            "PL_age0": 0.0,
            "PN_age0": 0.4 * young,
            "P_age1": old,
            "PL_age1": 0.5 * old,
            "PN_age1": 0.1 * old,
        }
        cells |= {"P": young + old, "PL": 0.5 * old, "PN": 0.4 * young + 0.1 * old}
        cells |= {"PL_won": 0.25 * old, "PL_rev": 100.0 * old, "L": 0.5 * old}
        for k, v in cells.items():
            sums[names.index(k), 0, grp] = v
    per_age = _estimate(sums, 2)
    assert per_age["pulled_closed_deals"] == pytest.approx(0.0, abs=1e-12)
    assert per_age["next_period_deficit"] == pytest.approx(0.0, abs=1e-12)
    one_bin = sums[[names.index(s) for s in [*STATS, "P", "PL", "PN"]]]  # all ages in one bin
    pooled = _estimate(one_bin, 1)
    assert pooled["pulled_closed_deals"] == pytest.approx(20 - 100 * 40 / 100)
    assert pooled["next_period_deficit"] == pytest.approx(100 * 16 / 100 - 28)


def _toy_sums(rng: np.random.Generator, edges: np.ndarray) -> np.ndarray:
    """One toy quarter without gaming: 240 sellers whose daily deal counts are Poisson with a
    day-level random rate (as the simulator's prospecting, mean 1 and variance 1 a day), i.i.d.
    cycles (log-normal, median 42 days, clipped to 20-120), *behind* = fewer closes between the
    period start (day 130) and the entry date (day 207) than the median seller. Returns the
    estimator's group sums with the pipeline split by ``edges``."""
    from salesinsight.research._pull_in import STATS, _age_stats

    n_sellers, n_days, start, entry = 240, 250, 130, 207
    lam = rng.gamma(1.0, 1.0, (n_sellers, n_days)) * np.exp(rng.normal(0, 0.2, (n_sellers, 1)))
    n = rng.poisson(lam).ravel()
    seller = np.repeat(np.repeat(np.arange(n_sellers), n_days), n)
    day = np.repeat(np.tile(np.arange(n_days), n_sellers), n)
    cycle = np.clip(np.rint(np.exp(rng.normal(np.log(42), 0.45, len(day)))), 20, 120)
    close = day + cycle.astype(int)
    pre = np.bincount(seller[(close >= start) & (close <= entry)], minlength=n_sellers)
    behind = (pre < np.median(pre))[seller]
    pipe = (day <= entry) & (close > entry)
    in_l = pipe & (close <= entry + 14)
    in_n = pipe & (close > entry + 14) & (close <= entry + 44)
    age_bin = np.searchsorted(edges, entry - day, "right") - 1
    names = [*STATS, *_age_stats(len(edges))]
    sums = np.zeros((len(names), 1, 2))
    for grp in (0, 1):
        g = behind == bool(grp)
        for name, mask in (("P", pipe), ("PL", in_l), ("PN", in_n)):
            sums[names.index(name), 0, grp] = (g & mask).sum()
            counts = np.bincount(age_bin[g & mask], minlength=len(edges))
            for k in range(len(edges)):
                sums[names.index(f"{name}_age{k}"), 0, grp] = counts[k]
        for name in ("PL_won", "PL_rev", "L"):
            sums[names.index(name), 0, grp] = (g & in_l).sum()
    return sums


def test_age_bins_remove_the_bias_of_day_level_deal_flow_noise():
    """The mechanism behind the earlier estimator's negative bias under the null, in a toy model
    where the truth is known (no pull-in): sellers whose deal flow was low on the older days that
    fed their closes before entry are *behind*, and their pipeline at entry is younger, so pooling
    ages finds 'negative pull-in' (about -15 closed deals, SD 45, over 200 toy quarters); the
    per-age shares are centred on zero."""
    from salesinsight.research._pull_in import STATS, _age_edges, _estimate

    rng = np.random.default_rng(20261202)
    edges = _age_edges(7, 105)
    binned, pooled = [], []
    for _ in range(200):
        sums = _toy_sums(rng, edges)
        binned.append(float(_estimate(sums, len(edges))["pulled_closed_deals"]))
        one_bin = np.concatenate([sums[: len(STATS)], sums[[0, 1, 2]]])  # all ages in one bin
        pooled.append(float(_estimate(one_bin, 1)["pulled_closed_deals"]))
    b, p = np.array(binned), np.array(pooled)
    se_b, se_p = b.std(ddof=1) / np.sqrt(len(b)), p.std(ddof=1) / np.sqrt(len(p))
    assert abs(b.mean()) < 3 * se_b, (b.mean(), se_b)
    assert p.mean() < -3 * se_p, (p.mean(), se_p)


# ------------------------------------------------------------- jackknife intervals (inference=)
def test_jackknife_se_of_a_mean_is_the_textbook_se():
    """Hand computation: for the mean, the delete-one jackknife SE is exactly s / sqrt(n). For
    x = 1, 2, 4, 7: mean 3.5, squared deviations 6.25 + 2.25 + 0.25 + 12.25 = 21, s^2 = 7, so the
    SE is sqrt(7 / 4) = 1.3229. The leave-one-out means are 13/3, 4, 10/3 and 7/3."""
    from salesinsight.research._pull_in import jackknife_se

    assert jackknife_se(np.array([13 / 3, 4.0, 10 / 3, 7 / 3])) == pytest.approx(np.sqrt(7 / 4))
    assert np.isnan(jackknife_se(np.array([1.0, np.nan, 2.0])))


def test_jackknife_leaves_out_every_period_of_a_seller():
    """Three sellers, two periods: deleting seller i drops all of its seller-period rows. Checked
    against re-summing the design without seller i's rows by hand."""
    from salesinsight.research._pull_in import STATS, _age_stats, _design, _estimate, _jackknife

    names = [*STATS, *_age_stats(1)]
    rng = np.random.default_rng(5)
    seller = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    period = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    behind = np.array([1, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    x = np.zeros((len(seller), len(names)))
    p = rng.integers(20, 40, len(seller)).astype(float)
    pl = np.floor(p * rng.uniform(0.2, 0.5, len(seller)))
    for col, v in (("P", p), ("PL", pl), ("PN", p - pl), ("PL_won", pl), ("PL_rev", pl), ("L", pl)):
        x[:, names.index(col)] = v
    for col, v in (("P_age0", p), ("PL_age0", pl), ("PN_age0", p - pl)):
        x[:, names.index(col)] = v
    d = _design(x, period, behind, 2)
    shape = (len(names), 2, 2)
    loo = _jackknife(d, seller, shape, 1)["pulled_closed_deals"]
    for i in range(4):
        keep = seller != i
        by_hand = _estimate(d[keep].sum(0).reshape(shape), 1)["pulled_closed_deals"]
        assert loo[i] == pytest.approx(float(by_hand), abs=1e-9)


def _toy_design(rng: np.random.Generator, n_sellers: int = 200, n_periods: int = 3):
    """A toy panel without gaming for the interval: sellers with a persistent deal rate, a persistent
    closing-speed propensity (so a seller's periods are correlated) and a persistent tendency to be
    behind (0.1 or 0.9 per period); four pipeline-age bins closing 5-50% of deals in the window,
    independently of the group. Returns the seller-period design, seller codes and the sums' shape."""
    from salesinsight.research._pull_in import STATS, _age_stats, _design

    h = np.array([0.05, 0.15, 0.3, 0.5])
    names = [*STATS, *_age_stats(len(h))]
    rate = rng.gamma(4.0, 0.25, n_sellers)
    speed = np.exp(rng.normal(0.0, 0.5, n_sellers) - 0.125)
    p_behind = np.where(rng.random(n_sellers) < 0.5, 0.1, 0.9)
    seller = np.repeat(np.arange(n_sellers), n_periods)
    period = np.tile(np.arange(n_periods), n_sellers)
    behind = rng.random(len(seller)) < p_behind[seller]
    p = rng.poisson(10.0 * rate[seller, None] * np.ones(len(h)))
    pl = rng.binomial(p, np.minimum(h[None, :] * speed[seller, None], 0.95))
    pn = rng.binomial(p - pl, 0.3)
    x = np.zeros((len(seller), len(names)))
    for col, v in (("P", p), ("PL", pl), ("PN", pn)):
        x[:, names.index(col)] = v.sum(1)
        for k in range(len(h)):
            x[:, names.index(f"{col}_age{k}")] = v[:, k]
    for col in ("PL_won", "PL_rev", "L"):
        x[:, names.index(col)] = pl.sum(1)
    return _design(x, period, behind, n_periods), seller, (len(names), n_periods, 2), len(h)


def test_jackknife_se_matches_the_monte_carlo_sd_on_a_toy_panel():
    """Over 300 toy panels without gaming (truth 0), the mean seller-jackknife SE of the pulled
    closed deals is within 3 Monte Carlo SE (1/sqrt(2 x 299) = 0.041 relative) of the SD of the
    estimates across panels, and its t intervals cover 0 at 95% within 3 binomial SE. A jackknife
    that leaves out seller-periods instead of sellers ignores that a seller's periods are correlated
    and is too small by more than that margin (about 0.69 of the SD in a 1000-panel run)."""
    from scipy import stats

    from salesinsight.research._pull_in import _estimate, _jackknife, jackknife_se

    rng = np.random.default_rng(20261202)
    rows = []
    for _ in range(300):
        d, seller, shape, n_bins = _toy_design(rng)
        est = float(_estimate(d.sum(0).reshape(shape), n_bins)["pulled_closed_deals"])
        by_seller = jackknife_se(_jackknife(d, seller, shape, n_bins)["pulled_closed_deals"])
        rows_jk = _jackknife(d, np.arange(len(d)), shape, n_bins)["pulled_closed_deals"]
        rows.append((est, by_seller, jackknife_se(rows_jk)))
    est, se, se_rows = np.array(rows).T
    sd, mc = est.std(ddof=1), 1 / np.sqrt(2 * (len(est) - 1))
    assert abs(se.mean() / sd - 1) < 3 * mc, se.mean() / sd
    assert se_rows.mean() / sd < 1 - 3 * mc, se_rows.mean() / sd
    cover = np.abs(est) <= stats.t.ppf(0.975, 199) * se
    assert abs(cover.mean() - 0.95) < 3 * np.sqrt(0.95 * 0.05 / len(est)), cover.mean()


def test_inference_options(planted_pull, planted):
    """The default is the jackknife (t interval, symmetric around the estimate); "bootstrap" gives
    the percentile interval of the same seeded draws; anything else is named in the error."""
    from scipy import stats

    e = planted["pulled_deals"]
    assert "jackknife" in str(e.spec.get("inference"))
    half = stats.t.ppf(0.975, e.n_units - 1) * e.se
    assert (e.ci_low, e.ci_high) == pytest.approx((e.estimate - half, e.estimate + half))
    boot = pull_in(planted_pull, n_boot=499, inference="bootstrap")["pulled_deals"]
    lo, hi = np.quantile(e.extras["draws"], [0.025, 0.975])
    assert (boot.ci_low, boot.ci_high) == pytest.approx((lo, hi))
    assert boot.estimate == e.estimate
    with pytest.raises(ValueError, match="inference.*'wild'"):
        pull_in(planted_pull, inference="wild")


def test_cli_inference_flag(planted_pull, capsys):
    args = ["research", "pull-in", str(planted_pull), "--json", "--n-boot", "199"]
    assert main([*args, "--inference", "bootstrap"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spec"]["inference_method"] == "bootstrap"
    assert main([*args, "--cluster", "team"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spec"]["cluster"] == "team_id"


def test_team_cluster_deletes_whole_teams(planted_pull, planted):
    """``cluster="team"``: same estimate; one cluster per team; leave-one-out row k is the estimate
    re-summed by hand without every seller-period of team k; the interval is t(teams - 1)."""
    from scipy import stats

    from salesinsight.research._pull_in import STATS, _age_edges, _age_stats, _design, _estimate

    res = pull_in(planted_pull, n_boot=499, cluster="team")
    e, e_seller = res["pulled_closed_deals"], planted["pulled_closed_deals"]
    assert e.estimate == e_seller.estimate
    sp = res.seller_periods
    teams = pd.factorize(sp["team_id"])[0]
    assert e.n_units == sp["team_id"].nunique() < e_seller.n_units
    assert e.spec["cluster"] == "team_id" and "delete-one-team" in e.spec["inference"]
    n_bins = len(_age_edges(7, 105))  # the defaults
    names = [*STATS, *_age_stats(n_bins)]
    periods = sorted(sp["period_end"].unique())
    q = np.searchsorted(np.asarray(periods), sp["period_end"].to_numpy())
    d = _design(sp[names].to_numpy(float), q, sp["behind"].to_numpy(bool), len(periods))
    shape = (len(names), len(periods), 2)
    loo = e.extras["leave_one_out"]
    for k in (0, teams.max()):
        keep = teams != k
        by_hand = _estimate(d[keep].sum(0).reshape(shape), n_bins)["pulled_closed_deals"]
        assert loo[k] == pytest.approx(float(by_hand), rel=1e-12)
    half = stats.t.ppf(0.975, e.n_units - 1) * e.se
    assert (e.ci_low, e.ci_high) == pytest.approx((e.estimate - half, e.estimate + half))


def test_cluster_errors_named_at_once(planted_pull):
    with pytest.raises(ValueError, match=r"inference.*'wild'.*cluster.*'region'"):
        pull_in(planted_pull, inference="wild", cluster="region")
    with pytest.raises(ValueError, match="boot_universe"):
        pull_in(planted_pull, cluster="team", boot_universe=["R1"])
