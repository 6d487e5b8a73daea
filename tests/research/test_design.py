"""research.design: MDE / units needed from the data's own variance, checked by hand and by simulation.

The reference numbers are recomputed here from the raw CSV files (team win rate = won / closed by close
date per calendar quarter), not through the package's KPI panel.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesinsight.research import design


@pytest.fixture(scope="module")
def team_win_rates(no_gaming) -> pd.DataFrame:
    o = pd.read_csv(no_gaming / "opportunities.csv", dtype=str, keep_default_na=False)
    r = pd.read_csv(no_gaming / "reps.csv", dtype=str, keep_default_na=False)
    o = o[o["status"].isin(["won", "lost"])].merge(r[["rep_id", "team_id"]], on="rep_id")
    o["q"] = pd.PeriodIndex(pd.to_datetime(o["close_date"]), freq="Q")
    g = o.groupby(["team_id", "q"])["status"].agg(won=lambda s: (s == "won").sum(), closed="size")
    df = g.reset_index()
    df["y"] = df["won"] / df["closed"]
    df["y_dm"] = df["y"] - df.groupby("q")["y"].transform("mean")
    return df


@pytest.fixture(scope="module")
def d(no_gaming):
    return design(no_gaming, unit="team", outcome="win_rate", mde=0.03)


def test_variance_and_cuped_match_a_hand_computation(d, team_win_rates):
    df = team_win_rates
    sigma = math.sqrt((df["y_dm"] ** 2).sum() / (len(df) - df["q"].nunique()))
    assert d.sigma == pytest.approx(sigma, rel=1e-9)
    df = df.sort_values(["team_id", "q"])
    df["pre"] = df.groupby("team_id")["y"].shift(1)
    both = df.dropna(subset=["pre"]).copy()
    both["pre_dm"] = both["pre"] - both.groupby("q")["pre"].transform("mean")
    both["y_dm2"] = both["y_dm"]
    rho = np.corrcoef(both["y_dm2"], both["pre_dm"])[0, 1]
    assert d.rho_pre == pytest.approx(rho, rel=1e-9)
    assert d.mde_cuped / d.mde == pytest.approx(math.sqrt(1 - rho**2), rel=1e-9)


def test_mde_formula_and_units_needed(d):
    J = d.units_needed
    mult = stats.t.ppf(0.975, J - 2) + stats.t.ppf(0.8, J - 2)
    assert d.mde == pytest.approx(mult * d.sigma * math.sqrt(4 / J), rel=1e-12)
    assert d.mde <= 0.03
    mult_1 = stats.t.ppf(0.975, J - 3) + stats.t.ppf(0.8, J - 3)
    assert mult_1 * d.sigma * math.sqrt(4 / (J - 1)) > 0.03  # J is the smallest that suffices
    assert d.units_needed_cuped < d.units_needed


def test_power_checked_by_rerandomizing_the_data(d, team_win_rates):
    """Re-randomize the data's own teams (13 v 14 within a quarter), add the MDE for that many teams
    to the treated, Welch-test: the rejection rate is the design's 80% within Monte Carlo error."""
    n = team_win_rates.groupby("q").size().max()
    power_with_fewer = d.power_at(d.mde, n)  # power of the MDE for 39 teams with the data's n
    J_mult = stats.t.ppf(0.975, n - 2) + stats.t.ppf(0.8, n - 2)
    design_mde = J_mult * d.sigma * math.sqrt(1 / (n // 2) + 1 / (n - n // 2))
    rng = np.random.default_rng(3)
    groups = [g["y_dm"].to_numpy() for _, g in team_win_rates.groupby("q") if len(g) == n]
    hits, sims = 0, 600
    for i in range(sims):
        y = groups[i % len(groups)]
        t = np.zeros(n, dtype=bool)
        t[rng.permutation(n)[: n // 2]] = True
        hits += stats.ttest_ind(y[t] + design_mde, y[~t], equal_var=False).pvalue < 0.05
    rate = hits / sims
    assert abs(rate - 0.8) < 3 * math.sqrt(0.8 * 0.2 / sims) + 0.02, rate
    assert 0 < power_with_fewer < 0.8
    # the package's own re-randomization check agrees with the same analytic power
    sim = d.simulate_power(design_mde, n_sims=300, seed=1)
    assert abs(sim - d.power_at(design_mde, n)) < 3 * math.sqrt(0.16 / 300) + 0.02


def test_rep_level_design_and_errors(no_gaming):
    rep = design(no_gaming, unit="rep", outcome="revenue")
    assert rep.icc is None and rep.n_units > 100
    assert "CUPED" in str(rep) and list(rep.to_frame()["term"])[:3] == [
        "unit",
        "outcome",
        "n_units",
    ]
    with pytest.raises(ValueError, match="alpha.*power"):
        design(no_gaming, alpha=1.5, power=0)
    with pytest.raises(ValueError, match="not a panel KPI"):
        design(no_gaming, outcome="happiness")


def test_team_revenue_is_per_seller_not_per_row_of_reps(no_gaming):
    """Team revenue per quarter divided by the sellers (non-managers) employed on at least one day of
    it, recomputed from the CSV files (data contract: per-rep figures divide by sellers_active)."""
    d = design(no_gaming, unit="team", outcome="revenue")
    o = pd.read_csv(no_gaming / "opportunities.csv", dtype=str, keep_default_na=False)
    r = pd.read_csv(no_gaming / "reps.csv", dtype=str, keep_default_na=False)
    won = o[o["status"] == "won"].merge(r[["rep_id", "team_id"]], on="rep_id")
    won["q"] = pd.PeriodIndex(pd.to_datetime(won["close_date"]), freq="Q").astype(str)
    rev = won.assign(a=won["amount"].astype(float)).groupby(["team_id", "q"])["a"].sum()
    q = pd.Period("2025Q3", freq="Q")
    lo, hi = q.start_time, q.end_time.normalize()
    term = pd.to_datetime(r["termination_date"].replace("", None))
    on = (
        (pd.to_datetime(r["hire_date"]) <= hi)
        & (term.isna() | (term >= lo))
        & (r["role"] != "manager")
    )
    sellers = r[on].groupby("team_id").size()
    got = d.unit_outcomes[d.unit_outcomes["period"] == "2025Q3"].set_index("unit_id")["y"]
    expected = (rev.xs("2025Q3", level="q") / sellers).reindex(got.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_only_per_seller_kpis_are_divided_by_sellers(no_gaming):
    """Which team outcomes are put per seller comes from the KPI registry (denominator
    ``sellers_active``): revenue and activities are; a ratio (cycle days, a mean over closed deals)
    and a share (share at quota) are not, so they equal the team panel's own values."""
    from salesinsight.metrics import panel
    from salesinsight.research._design import PER_SELLER_OUTCOMES, unit_outcomes

    assert {"revenue", "activities", "opps_won", "attrition"} <= PER_SELLER_OUTCOMES
    assert not {"win_rate", "attainment", "cycle_days", "share_at_quota"} & PER_SELLER_OUTCOMES
    p = panel(no_gaming, grain="quarter", by="team")
    p = p[p["period"] == "2025Q3"].set_index("team_id")
    for outcome in ("cycle_days", "share_at_quota"):
        u = unit_outcomes(no_gaming, unit="team", outcome=outcome)
        got = u[u["period"] == "2025Q3"].set_index("unit_id")["y"]
        np.testing.assert_allclose(got.to_numpy(), p.loc[got.index, outcome].to_numpy(), rtol=1e-12)
