"""Tests of salesinsight.metrics.profiles (empirical-Bayes capability profiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special, stats

from salesinsight.metrics.profiles import (
    Profiles,
    fit_beta_binomial,
    fit_gamma_poisson,
    fit_normal_normal,
    profiles,
)
from tests.metrics._fake import fake_panel


def _bb_loglik_by_hand(k, n, a, b):
    # log C(n,k) + log B(k+a, n-k+b) - log B(a,b), written out with gammaln
    lc = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    lb = special.gammaln(k + a) + special.gammaln(n - k + b) - special.gammaln(n + a + b)
    lb0 = special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)
    return float(np.sum(lc + lb - lb0))


def test_fit_beta_binomial_maximises_marginal_likelihood_against_grid():
    rng = np.random.default_rng(1)
    p = rng.beta(4, 12, 60)
    n = rng.integers(3, 40, 60)
    k = rng.binomial(n, p)
    a, b = fit_beta_binomial(k, n)
    # brute-force grid over (mean, strength), independent of the optimiser
    best = max(
        (
            (_bb_loglik_by_hand(k, n, m * s, (1 - m) * s), m, s)
            for m in np.linspace(0.1, 0.45, 71)
            for s in np.exp(np.linspace(0, 6, 121))
        ),
    )
    assert _bb_loglik_by_hand(k, n, a, b) >= best[0] - 1e-6
    assert_allclose(a / (a + b), best[1], atol=0.01)


def test_fit_beta_binomial_no_overdispersion_gives_strong_prior():
    # identical proportions in every unit: no between-unit spread -> prior strength at its cap region
    k = np.array([10, 20, 30, 40])
    n = np.array([50, 100, 150, 200])
    a, b = fit_beta_binomial(k, n)
    assert_allclose(a / (a + b), 0.2, atol=1e-3)
    assert a + b > 1000


def test_fit_gamma_poisson_recovers_prior_mean():
    rng = np.random.default_rng(2)
    lam = rng.gamma(5.0, 1 / 50.0, 400)  # mean 0.1 per unit of exposure
    e = rng.integers(50, 500, 400)
    y = rng.poisson(lam * e)
    a, b = fit_gamma_poisson(y, e)
    assert_allclose(a / b, 0.1, rtol=0.1)
    assert_allclose(a, 5.0, rtol=0.5)


def test_fit_normal_normal_matches_hand_case():
    # equal sampling variances: ML tau2 = max(0, var_ML(y) - s2), mu = mean(y)
    y = np.array([1.0, 3.0, 5.0, 7.0])
    s2 = np.full(4, 1.0)
    mu, tau2 = fit_normal_normal(y, s2)
    assert_allclose(mu, 4.0, atol=1e-9)
    assert_allclose(tau2, 5.0 - 1.0, atol=1e-3)  # var_ML = (9+1+1+9)/4 = 5
    mu0, tau0 = fit_normal_normal(np.array([1.0, 1.2]), np.array([4.0, 4.0]))
    assert tau0 == 0.0
    assert_allclose(mu0, 1.1, atol=1e-12)


def _tiny_panel() -> pd.DataFrame:
    """Ten reps of one team: rep A has 3/3 wins, the rest 5/25."""
    rows = []
    for i in range(10):
        won, closed = (3, 3) if i == 0 else (5, 25)
        rows.append(
            {
                "period_start": pd.Timestamp("2026-04-01"),
                "period": "2026Q2",
                "rep_id": f"R{i}",
                "team_id": "T1",
                "activities": 200 + 10 * i,
                "follow_ups": 40,
                "opps_created": 12 + i,
                "opps_won": won,
                "opps_closed": closed,
                "avg_deal_size": 1000.0 + 100 * i,
                "cycle_days": 50.0 + i,
                "csat": 0.8,
                "csat_responses": 3,
                "active": True,
            }
        )
    return pd.DataFrame(rows)


def test_beta_binomial_posterior_by_hand():
    prof = profiles(_tiny_panel(), "2026Q2", min_group_size=5)
    assert isinstance(prof, Profiles)
    pr = prof.priors.query("stage == 'win_rate' and group == 'T1'").iloc[0]
    a, b = pr["param1"], pr["param2"]
    row = prof.rep("R0")
    # conjugate update written out: Beta(a + 3, b + 0)
    assert_allclose(row["win_rate"], (a + 3) / (a + b + 3), rtol=1e-12)
    assert_allclose(row["win_rate_low"], stats.beta.ppf(0.05, a + 3, b), rtol=1e-10)
    assert_allclose(row["win_rate_high"], stats.beta.ppf(0.95, a + 3, b), rtol=1e-10)
    assert row["win_rate_raw"] == 1.0
    # 3/3 is pulled from 1 almost all the way to the team prior (the other nine reps agree exactly,
    # so the fitted prior is strong), but stays above it
    assert a / (a + b) < row["win_rate"] < 0.3
    assert_allclose(a / (a + b), 48 / 228, atol=0.01)


def test_small_team_uses_company_prior():
    df = _tiny_panel()
    df.loc[df["rep_id"].isin(["R1", "R2"]), "team_id"] = "T2"
    prof = profiles(df, "2026Q2", min_group_size=5)
    pr = prof.priors.query("stage == 'win_rate'").set_index("group")
    assert pr.loc["T2", "level"] == "company"
    assert pr.loc["T1", "level"] == "T1"


def test_bad_input_messages():
    with pytest.raises(ValueError, match="2030Q1"):
        profiles(_tiny_panel(), "2030Q1")
    with pytest.raises(ValueError, match="opps_won"):
        profiles(_tiny_panel().drop(columns=["opps_won"]), "2026Q2")
    with pytest.raises(TypeError):
        profiles([1, 2, 3], "2026Q2")


def _weighted_mse(pred, actual, w):
    m = np.isfinite(pred) & np.isfinite(actual) & (w > 0)
    return float(np.sum(w[m] * (pred[m] - actual[m]) ** 2) / np.sum(w[m]))


@pytest.mark.parametrize("seed", [3, 4])
def test_shrunk_rates_predict_next_quarter_better_than_raw(seed):
    # the reason to shrink: on held-out next-quarter data, shrunk rates have lower error than raw ones
    panel, _ = fake_panel(seed=seed, quarters=2, n_reps=150)
    prof = profiles(panel, "2025Q1").to_frame().set_index("rep_id")
    nxt = panel[panel["period"] == "2025Q2"].set_index("rep_id").loc[prof.index]
    for stage, num, den in (
        ("win_rate", "opps_won", "opps_closed"),
        ("opp_creation", "opps_created", "activities"),
    ):
        actual = (nxt[num] / nxt[den].where(nxt[den] > 0)).to_numpy(float)
        w = nxt[den].to_numpy(float)
        raw = prof[f"{stage}_raw"].to_numpy(float)
        raw = np.where(np.isfinite(raw), raw, np.nanmean(raw))  # raw needs a fallback when n = 0
        mse_raw = _weighted_mse(raw, actual, w)
        mse_shrunk = _weighted_mse(prof[stage].to_numpy(float), actual, w)
        assert mse_shrunk < mse_raw, (stage, mse_shrunk, mse_raw)


def test_shrunk_win_rate_closer_to_truth_and_intervals_cover():
    panel, truth = fake_panel(seed=5, quarters=1, n_reps=300)
    t = profiles(panel, "2025Q1").to_frame().merge(truth, on="rep_id", suffixes=("", "_true"))
    has = t["win_rate_n"] > 0
    err_raw = np.mean((t.loc[has, "win_rate_raw"] - t.loc[has, "win_rate_true"]) ** 2)
    err_eb = np.mean((t.loc[has, "win_rate"] - t.loc[has, "win_rate_true"]) ** 2)
    assert err_eb < err_raw
    cover = np.mean(
        (t["win_rate_low"] <= t["win_rate_true"]) & (t["win_rate_true"] <= t["win_rate_high"])
    )
    # nominal 90%; with 300 reps the binomial sd of the coverage is 1.7 pp, and EB intervals
    # ignore prior-fit uncertainty (slightly anti-conservative): accept 0.84-0.97
    assert 0.84 <= cover <= 0.97, cover


def test_archetypes_and_words():
    df = _tiny_panel()
    # R9: most activity, worst conversion -> the article's case
    df.loc[df["rep_id"] == "R9", ["opps_won", "opps_closed"]] = [1, 30]
    df.loc[df["rep_id"] == "R9", "activities"] = 1000
    prof = profiles(df, "2026Q2", min_group_size=5)
    r9 = prof.rep("R9")
    assert r9["archetype"] == "high activity, low conversion"
    assert "win rate" in r9["weak_spots"]
    assert "activity volume" in r9["strengths"]
    t = prof.to_frame()
    assert ((t["p_high_potential"] >= 0) & (t["p_high_potential"] <= 1)).all()
    assert "high activity, low conversion" in prof.summary()
    t.loc[0, "archetype"] = "x"  # to_frame is a copy
    assert prof.to_frame().loc[0, "archetype"] != "x"


def test_plot_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    prof = profiles(_tiny_panel(), "2026Q2", min_group_size=5)
    ax = prof.plot(rep_id="R1")
    assert len(ax.patches) == 7
    assert prof.plot().get_title().startswith("Archetypes")


def test_deterministic():
    panel, _ = fake_panel(seed=7, quarters=1, n_reps=60)
    a = profiles(panel, "2025Q1").to_frame()
    b = profiles(panel, "2025Q1").to_frame()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_simulator_shrunk_rates_predict_next_quarter_better(tmp_path):
    # on the project's CRM simulator: profiles of 2026Q2 (from the dataset, so per-deal variances come
    # from DuckDB) predict 2026Q3's raw rates with lower weighted MSE than the raw 2026Q2 rates
    from salesinsight.data import load
    from salesinsight.metrics import panel
    from salesinsight.simulate import crm

    ds = load(crm(tmp_path / "sim", seed=5, n_reps=200))
    prof = profiles(ds, "2026Q2").to_frame().set_index("rep_id")
    q = panel(ds, grain="quarter", by="rep")
    nxt = q[q["period"].astype(str) == "2026Q3"].set_index("rep_id")
    idx = prof.index.intersection(nxt.index)
    for stage, num, den in (
        ("win_rate", "opps_won", "opps_closed"),
        ("opp_creation", "opps_created", "activities"),
        ("follow_up_share", "follow_ups", "activities"),
    ):
        d = nxt.loc[idx, den].to_numpy(float)
        actual = nxt.loc[idx, num].to_numpy(float) / np.where(d > 0, d, np.nan)
        raw = prof.loc[idx, f"{stage}_raw"].to_numpy(float)
        raw = np.where(np.isfinite(raw), raw, np.nanmean(raw))
        assert _weighted_mse(prof.loc[idx, stage].to_numpy(float), actual, d) < _weighted_mse(
            raw, actual, d
        ), stage
