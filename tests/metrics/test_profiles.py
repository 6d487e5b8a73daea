"""Tests of salesinsight.metrics.profiles (empirical-Bayes capability profiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from salesinsight.metrics._profiles import INSUFFICIENT, Profiles, profiles
from salesinsight.metrics.shrinkage import fit_beta_binomial, fit_hierarchical
from tests.metrics._fake import fake_panel


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
    pr = prof.rep_priors.query("stage == 'win_rate' and rep_id == 'R0'").iloc[0]
    a, b = pr["param1"], pr["param2"]
    row = prof.rep("R0")
    # conjugate update written out: Beta(a + 3, b + 0)
    assert_allclose(row["win_rate"], (a + 3) / (a + b + 3), rtol=1e-12)
    assert_allclose(row["win_rate_low"], stats.beta.ppf(0.05, a + 3, b), rtol=1e-10)
    assert_allclose(row["win_rate_high"], stats.beta.ppf(0.95, a + 3, b), rtol=1e-10)
    assert row["win_rate_raw"] == 1.0
    # 3/3 is pulled from 1 almost all the way to the prior (the other nine reps agree exactly, so the
    # fitted prior is strong), but stays above it
    assert a / (a + b) < row["win_rate"] < 0.3
    # one team only: no between-team variance can be estimated, so the centre is the company ratio of
    # sums (3 + 9 * 5) / (3 + 9 * 25)
    assert_allclose(a / (a + b), 48 / 228, rtol=1e-9)


def test_small_team_uses_company_prior():
    df = _tiny_panel()
    df.loc[df["rep_id"].isin(["R1", "R2"]), "team_id"] = "T2"
    prof = profiles(df, "2026Q2", min_group_size=5)
    pr = prof.priors.query("stage == 'win_rate'").set_index("group")
    assert pr.loc["T2", "level"] == "company"
    assert pr.loc["T1", "level"] == "team"
    # a team not estimated takes the company mean as its centre
    assert_allclose(pr.loc["T2", "group_mean"], pr.loc["(company)", "group_mean"], rtol=1e-12)


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
    assert "high activity, low conversion" in str(prof)
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


# ----------------------------------------------------------------------------------------------------------
# Reps without data; hierarchical prior (team means pooled toward the company, one pooled spread)
# ----------------------------------------------------------------------------------------------------------
def _bb_panel(
    seed: int,
    *,
    n_teams: int = 120,
    team_size: int = 10,
    mean: float = 0.3,
    kappa: float = 25.0,
    closed: tuple[int, int] = (5, 60),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Quarter x rep panel whose win rates are beta-binomial with known truth: every team has the same
    distribution of true rates, ``p_i ~ Beta(mean * kappa, (1 - mean) * kappa)`` (homogeneous teams),
    ``won_i ~ Binomial(closed_i, p_i)``. Other stages are filled with plain noise."""
    rng = np.random.default_rng(seed)
    m = n_teams * team_size
    p = rng.beta(mean * kappa, (1 - mean) * kappa, m)
    n_closed = rng.integers(closed[0], closed[1] + 1, m)
    acts = rng.poisson(300, m)
    df = pd.DataFrame(
        {
            "period_start": pd.Timestamp("2026-04-01"),
            "period": "2026Q2",
            "rep_id": [f"R{i:04d}" for i in range(m)],
            "team_id": [f"T{i // team_size:03d}" for i in range(m)],
            "activities": acts,
            "follow_ups": rng.binomial(acts, 0.2),
            "opps_created": rng.poisson(0.2 * acts),
            "opps_won": rng.binomial(n_closed, p),
            "opps_closed": n_closed,
            "avg_deal_size": rng.normal(20000, 3000, m),
            "cycle_days": rng.normal(60, 10, m),
            "csat": rng.uniform(0.6, 0.9, m),
            "csat_responses": rng.integers(1, 8, m),
            "active": True,
        }
    )
    return df, p


def test_zero_trial_rep_gets_the_prior_and_no_flags():
    panel, truth = fake_panel(seed=11, quarters=1, n_reps=160)
    panel.loc[panel["rep_id"] == "R000", ["opps_won", "opps_lost", "opps_closed"]] = 0
    prof = profiles(panel, "2025Q1")
    row = prof.rep("R000")
    pri = prof.priors
    pr = pri[(pri["stage"] == "win_rate") & (pri["group"] == row["team_id"])].iloc[0]
    a, b = pr["param1"], pr["param2"]
    # no trials: posterior = prior of a new rep of the team, interval = the prior's 5-95% interval
    assert_allclose(row["win_rate"], a / (a + b), rtol=1e-12)
    assert_allclose(row["win_rate_low"], stats.beta.ppf(0.05, a, b), rtol=1e-10)
    assert_allclose(row["win_rate_high"], stats.beta.ppf(0.95, a, b), rtol=1e-10)
    # not degenerate: the generator spreads true win rates (logit sd 0.45 within, 0.35 between teams),
    # so the prior must be at least half as wide as the 5-95% range of the true rates
    true_width = np.subtract(*np.quantile(truth["win_rate"], [0.95, 0.05]))
    assert row["win_rate_high"] - row["win_rate_low"] > 0.5 * true_width
    # nothing read from a stage without data
    assert np.isnan(row["win_rate_pctl"])
    assert "win rate" not in row["strengths"] and "win rate" not in row["weak_spots"]
    assert row["archetype"] == INSUFFICIENT
    assert np.isnan(row["p_high_potential"]) and not row["high_potential"]
    # the other reps are ranked among themselves only
    t = prof.to_frame()
    assert_allclose(t["win_rate_pctl"].max(), 100.0, rtol=1e-12)
    assert t["win_rate_pctl"].notna().sum() == len(t) - 1


def test_reps_without_any_data_are_excluded():
    panel, _ = fake_panel(seed=12, quarters=1, n_reps=120)
    managers = panel.groupby("team_id", as_index=False).first()
    managers["rep_id"] = "M" + managers["team_id"]
    zero = [
        "activities", "follow_ups", "opps_created", "opps_won", "opps_lost", "opps_closed",
        "csat_responses", "revenue",
    ]  # fmt: skip
    managers[zero] = 0
    managers[["win_rate", "avg_deal_size", "cycle_days", "csat"]] = np.nan
    with_managers = pd.concat([panel, managers], ignore_index=True)
    prof = profiles(with_managers, "2025Q1")
    t = prof.to_frame()
    assert not t["rep_id"].str.startswith("M").any()
    assert sorted(prof.excluded["rep_id"]) == sorted(managers["rep_id"])
    with pytest.raises(KeyError, match="no activity and no closed opportunity"):
        prof.rep("MT0")
    assert "Excluded: 8 active reps" in str(prof)
    # they carry no information, so the profiles of everyone else are unchanged by their presence
    pd.testing.assert_frame_equal(t, profiles(panel, "2025Q1").to_frame())


@pytest.mark.parametrize("seed", [0, 1])
def test_intervals_cover_and_high_potential_is_calibrated(seed):
    # 1,200 reps with known true win rates (homogeneous teams of 10, Beta(7.5, 17.5), 5-60 closed
    # deals). Nominal 90% intervals: the binomial sd of the coverage with 1,200 reps is 0.9 pp, and
    # the common hyperparameter error adds a little more, so 85-95% is a ~5 sd band. The previous
    # per-team ML prior covered 62% and 69% on these data (21 and 18 of the 120 teams had a + b > 1e4).
    panel, p = _bb_panel(seed)
    prof = profiles(panel, "2026Q2")
    t = prof.to_frame()
    assert (t["rep_id"].to_numpy() == panel["rep_id"].to_numpy()).all()
    cover = np.mean((t["win_rate_low"] <= p) & (p <= t["win_rate_high"]))
    assert 0.85 <= cover <= 0.95, cover
    # the pooled strength recovers the true kappa = 25 (its sd across seeds is about 2)
    kappa = prof.priors.query("stage == 'win_rate'")["spread"].iloc[0]
    assert_allclose(kappa, 25.0, rtol=0.25)
    # the threshold is the 75th percentile of the fitted company prior; the true one is
    # Beta(7.5, 17.5).ppf(0.75) = 0.359
    thr = prof.spec["high_potential_threshold"]
    assert_allclose(thr, stats.beta.ppf(0.75, 7.5, 17.5), atol=0.015)
    above = p > thr
    hp = t["p_high_potential"].to_numpy()
    sel = hp >= 0.7
    # calibrated probabilities: among reps given p in [0.7, 1] the share truly above the threshold is
    # about their mean p (~0.84); >= 0.6 leaves room for the ~110 reps' binomial noise (sd 0.035)
    assert sel.sum() >= 50
    assert above[sel].mean() >= 0.6, above[sel].mean()
    # and overall: mean predicted probability vs realised share above (sd of the share about 0.013)
    assert abs(hp.mean() - above.mean()) < 0.05
    # p_high_potential follows each rep's own record: it is not ~0 or ~1 for a whole team
    spread = t.groupby("team_id")["p_high_potential"].agg(lambda x: x.max() - x.min())
    assert (spread > 0.05).mean() > 0.9


def test_team_with_spread_below_binomial_noise_is_not_degenerate():
    # one team whose nine reps are more alike than binomial noise allows: fitted alone, its beta prior
    # runs off to a near-infinite strength (the defect), which collapses every interval of the team
    panel, _ = _bb_panel(3, n_teams=40, team_size=9, closed=(50, 50))
    t0 = panel["team_id"] == "T000"
    panel.loc[t0, "opps_won"] = [13, 14, 15, 15, 15, 16, 16, 17, 14]
    a_team, b_team = fit_beta_binomial(
        panel.loc[t0, "opps_won"].to_numpy(), panel.loc[t0, "opps_closed"].to_numpy()
    )
    assert a_team + b_team > 1e4  # the degenerate per-team fit this guards against
    t = profiles(panel, "2026Q2").to_frame()
    width = t["win_rate_high"] - t["win_rate_low"]
    # every rep has 50 closed deals, so every interval should be about as wide as any other
    assert_allclose(width[t0.to_numpy()].median(), width[~t0.to_numpy()].median(), rtol=0.1)
    # a binomial with 50 trials alone has a 90% width of about 2 * 1.645 * sqrt(0.3 * 0.7 / 50) = 0.21;
    # a prior of strength ~25 narrows it to ~0.17, far from the ~0.01 of the degenerate prior
    assert width[t0.to_numpy()].min() > 0.1
    won = panel["opps_won"].to_numpy()
    p17 = t.loc[t0.to_numpy() & (won == 17), "p_high_potential"].iloc[0]
    p13 = t.loc[t0.to_numpy() & (won == 13), "p_high_potential"].iloc[0]
    # the degenerate prior gave every rep of the team the same p; now each rep's record counts
    assert p17 - p13 > 0.05, (p17, p13)


def test_leave_one_out_prior_by_hand():
    # 30 teams of 6: the prior of a rep is built from its team-mates only, partially pooled toward
    # the company mean, then moment-matched to a beta (formulas written out here)
    panel, _ = _bb_panel(5, n_teams=30, team_size=6)
    k = panel["opps_won"].to_numpy(float)
    n = panel["opps_closed"].to_numpy(float)
    g = panel["team_id"].to_numpy()
    fit = fit_hierarchical("beta", k, n, g)
    kap, tau2, m = fit.spread, fit.between_group_var, fit.center
    assert tau2 > 0  # otherwise the team level would not be exercised
    assert_allclose(m, k.sum() / n.sum(), rtol=1e-12)
    i = 7
    mates = (g == g[i]) & (np.arange(len(g)) != i)
    kk, nn = k[mates], n[mates]
    r = kk.sum() / nn.sum()
    # Var(k_j | team mean) = n_j mu (1 - mu) (1 + (n_j - 1) / (kappa + 1)), with mu = m
    v = m * (1 - m) * np.sum(nn * (1 + (nn - 1) / (kap + 1))) / nn.sum() ** 2
    mean = (r / v + m / tau2) / (1 / v + 1 / tau2)
    var_mean = 1 / (1 / v + 1 / tau2)
    var = mean * (1 - mean) / (kap + 1) + var_mean * kap / (kap + 1)
    strength = mean * (1 - mean) / var - 1
    assert_allclose(fit.unit_param1[i], mean * strength, rtol=1e-9)
    assert_allclose(fit.unit_param2[i], (1 - mean) * strength, rtol=1e-9)
