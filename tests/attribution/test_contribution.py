"""Tests of program contribution: hand-computed cases, SE propagation, exposure, simulator recovery."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.attribution.contribution import (
    CAVEAT,
    ProgramContribution,
    program_contribution,
    program_exposure,
)
from salesinsight.causal.effect import Effect

Z975 = 1.959963984540054  # standard normal 97.5% quantile
Z95 = 1.6448536269514722  # standard normal 95% quantile


def _effect(estimate: float, se: float, ci: tuple[float, float], outcome: str = "revenue"):
    return Effect(
        estimate=estimate,
        se=se,
        ci_low=ci[0],
        ci_high=ci[1],
        p_value=0.01,
        n_units=20,
        n_obs=400,
        method="hand",
        outcome=outcome,
        spec={},
    )


def _company_panel() -> pd.DataFrame:
    return pd.DataFrame({"period": ["2026Q1", "2026Q2"], "revenue": [1000.0, 1300.0]})


# Two programs, effects in revenue per rep-week:
#   A: effect 2.0, SE 0.5, stored 95% CI [1.02, 2.98]; exposure 10 -> 60 rep-weeks (change +50)
#   B: effect -1.0, SE 0.4, stored 95% CI [-1.784, -0.216]; exposure 30 -> 10 (change -20)
EFFECTS = {
    "A": _effect(2.0, 0.5, (1.02, 2.98)),
    "B": _effect(-1.0, 0.4, (-1.784, -0.216)),
}
EXPOSURE = {"A": (10.0, 60.0), "B": (30.0, 10.0)}


def test_hand_computed_two_programs():
    res = program_contribution(
        _company_panel(), EFFECTS, EXPOSURE, kpi="revenue", base="2026Q1", current="2026Q2"
    )
    f = res.to_frame().set_index("program_id")
    # total change = 1300 - 1000 = 300
    assert res.total_change == 300.0
    # A: 2.0 * (60 - 10) = 100; SE 0.5 * 50 = 25; CI = stored CI * 50 = [51, 149]
    assert_allclose(f.loc["A", "contribution"], 100.0, rtol=0, atol=1e-12)
    assert_allclose(f.loc["A", "se"], 25.0, rtol=0, atol=1e-12)
    assert_allclose(f.loc["A", ["ci_low", "ci_high"]].to_numpy(float), [51.0, 149.0], atol=1e-9)
    # B: -1.0 * (10 - 30) = +20; SE 0.4 * 20 = 8; CI = sorted(-1.784 * -20, -0.216 * -20)
    #    = [4.32, 35.68] (a negative exposure change flips the interval)
    assert_allclose(f.loc["B", "contribution"], 20.0, rtol=0, atol=1e-12)
    assert_allclose(f.loc["B", "se"], 8.0, rtol=0, atol=1e-12)
    assert_allclose(f.loc["B", ["ci_low", "ci_high"]].to_numpy(float), [4.32, 35.68], atol=1e-9)
    # all programs: 120, SE sqrt(25^2 + 8^2) = sqrt(689) = 26.24881, CI 120 -+ 1.959964 * 26.24881
    se = math.sqrt(689.0)
    assert_allclose(f.loc["all programs", "contribution"], 120.0, atol=1e-12)
    assert_allclose(f.loc["all programs", "se"], 26.248809496813376, atol=1e-9)
    assert_allclose(
        f.loc["all programs", ["ci_low", "ci_high"]].to_numpy(float),
        [120 - Z975 * se, 120 + Z975 * se],
        atol=1e-9,
    )
    # other factors: 300 - 120 = 180, same SE, CI [180 - 51.4467, 180 + 51.4467]
    assert_allclose(f.loc["other factors", "contribution"], 180.0, atol=1e-12)
    assert_allclose(f.loc["other factors", "se"], se, atol=1e-9)
    assert_allclose(
        f.loc["other factors", ["ci_low", "ci_high"]].to_numpy(float),
        [180 - Z975 * se, 180 + Z975 * se],
        atol=1e-9,
    )
    # total: the observed change, no sampling error
    assert_allclose(f.loc["total", ["contribution", "se"]].to_numpy(float), [300.0, 0.0], atol=0)
    # shares: 100/300, 20/300, 120/300, 180/300, 1
    assert_allclose(
        f["share_of_change"].to_numpy(float), [1 / 3, 1 / 15, 0.4, 0.6, 1.0], rtol=1e-12
    )
    assert list(f.index) == ["A", "B", "all programs", "other factors", "total"]
    assert res.programs_contribution == 120.0
    assert res.other_factors == 180.0


def test_other_alpha_uses_normal_interval_from_se():
    # alpha = 0.10 differs from the stored 95% level: interval = (effect -+ 1.644854 * se) * change
    res = program_contribution(
        _company_panel(), EFFECTS, EXPOSURE, base="2026Q1", current="2026Q2", alpha=0.10
    )
    f = res.to_frame().set_index("program_id")
    assert_allclose(
        f.loc["A", ["ci_low", "ci_high"]].to_numpy(float),
        [(2.0 - Z95 * 0.5) * 50, (2.0 + Z95 * 0.5) * 50],
        atol=1e-9,
    )
    se = math.sqrt(689.0)
    assert_allclose(f.loc["all programs", "ci_high"], 120 + Z95 * se, atol=1e-9)


def test_single_program_keeps_its_own_interval_and_team_panel_is_summed():
    # an asymmetric stored interval (e.g. a wild-bootstrap one) is scaled, not replaced by +-z*se
    eff = {"A": _effect(2.0, 0.5, (0.5, 3.1))}
    teams = pd.DataFrame(
        {
            "period": ["2026Q1", "2026Q1", "2026Q2", "2026Q2"],
            "team_id": ["T1", "T2", "T1", "T2"],
            "revenue": [400.0, 600.0, 700.0, 500.0],
        }
    )
    res = program_contribution(teams, eff, {"A": (0.0, 40.0)}, base="2026Q1", current="2026Q2")
    f = res.to_frame().set_index("program_id")
    # company revenue 1000 -> 1200, change 200; A = 2 * 40 = 80, CI [0.5 * 40, 3.1 * 40] = [20, 124]
    assert (res.kpi_base, res.kpi_current) == (1000.0, 1200.0)
    assert_allclose(f.loc["A", ["ci_low", "ci_high"]].to_numpy(float), [20.0, 124.0], atol=1e-9)
    assert_allclose(
        f.loc["all programs", ["ci_low", "ci_high"]].to_numpy(float), [20.0, 124.0], atol=1e-9
    )
    # other factors = 200 - 80 = 120, interval mirrored: [200 - 124, 200 - 20] = [76, 180]
    assert_allclose(
        f.loc["other factors", ["contribution", "ci_low", "ci_high"]].to_numpy(float),
        [120.0, 76.0, 180.0],
        atol=1e-9,
    )


def test_se_propagation_matches_monte_carlo():
    # independent check of the delta-method SE: draw the effects from their normal approximations
    rng = np.random.default_rng(7)
    n = 200_000
    a = rng.normal(2.0, 0.5, n) * 50.0
    b = rng.normal(-1.0, 0.4, n) * -20.0
    res = program_contribution(_company_panel(), EFFECTS, EXPOSURE, base="2026Q1", current="2026Q2")
    f = res.to_frame().set_index("program_id")
    # Monte Carlo SE of a standard deviation with n draws: sd / sqrt(2n) ~ 0.04; atol 0.2 = 5 of them
    assert_allclose(f.loc["all programs", "se"], np.std(a + b), atol=0.2)
    assert_allclose(f.loc["other factors", "se"], np.std(300.0 - a - b), atol=0.2)


def test_summary_carries_caveat_and_numbers():
    res = program_contribution(_company_panel(), EFFECTS, EXPOSURE, base="2026Q1", current="2026Q2")
    text = res.summary()
    assert "rests on the causal estimates' assumptions" in text
    assert "covariance 0" in text
    assert "+120.00" in text and "+180.00" in text and "40%" in text
    assert isinstance(res, ProgramContribution) and res.caveat == CAVEAT


def test_zero_exposure_change_note():
    res = program_contribution(
        _company_panel(),
        {"A": EFFECTS["A"]},
        {"A": (30.0, 30.0)},
        base="2026Q1",
        current="2026Q2",
    )
    f = res.to_frame().set_index("program_id")
    assert f.loc["A", "contribution"] == 0.0
    assert f.loc["other factors", "contribution"] == 300.0
    assert any("did not change" in n for n in res.notes)


def test_errors_are_reported_all_at_once():
    panel = _company_panel().assign(win_rate=[0.2, 0.3])
    bad = {
        "A": _effect(0.01, 0.005, (0.0, 0.02), outcome="win_rate"),
        "B": EFFECTS["B"],
    }
    exposure = pd.DataFrame(
        {
            "program_id": ["A", "C"],
            "exposure_base": [0.0, 1.0],
            "exposure_current": [-3.0, 2.0],
            "exposure_per": ["unit_quarter", "unit_week"],
        }
    )
    with pytest.raises(ValueError) as info:
        program_contribution(panel, bad, exposure, kpi="revenue", base="2026Q1", current="2026Q3")
    msg = str(info.value)
    for part in (
        "effects['A'] is an effect on 'win_rate', not on 'revenue'",
        "exposure has no row for program 'B'",
        "column 'exposure_current': -3.0",
        "exposure is per 'unit_quarter' but the effect is per 'unit_week'",
        "exposure has program(s) without an effect: ['C']",
        "no rows for period '2026Q3'",
    ):
        assert part in msg, part
    with pytest.raises(ValueError, match="not additive"):
        program_contribution(
            panel,
            {"A": bad["A"]},
            {"A": (0.0, 1.0)},
            kpi="win_rate",
            base="2026Q1",
            current="2026Q2",
        )
    with pytest.raises(ValueError, match=r"effects\['A'\] is NoneType"):
        program_contribution(panel, {"A": None}, {"A": (0.0, 1.0)}, base="2026Q1", current="2026Q2")


def test_plot_waterfall():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = program_contribution(_company_panel(), EFFECTS, EXPOSURE, base="2026Q1", current="2026Q2")
    ax = res.plot()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["2026Q1", "A", "B", "other factors", "2026Q2"]
    heights = [p.get_height() for p in ax.patches]
    assert_allclose(heights, [1000.0, 100.0, 20.0, 180.0, 1300.0], atol=1e-9)
    plt.close(ax.figure)


# --------------------------------------------------------------------------------------------------
# program_exposure on a hand-made folder
# --------------------------------------------------------------------------------------------------


def _write_hand_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "team_id": ["T1", "T1", "T2", "T2"],
            "hire_date": ["2020-01-01", "2026-05-01", "2020-01-01", "2020-01-01"],
            "termination_date": ["", "", "2026-02-14", ""],
        }
    ).to_csv(folder / "reps.csv", index=False)
    pd.DataFrame(
        {
            "opp_id": ["O1"],
            "rep_id": ["R1"],
            "created_date": ["2026-01-05"],
            "status": ["won"],
            "close_date": ["2026-02-01"],
            "amount": [100.0],
        }
    ).to_csv(folder / "opportunities.csv", index=False)
    pd.DataFrame(
        {
            "program_id": ["PR", "PT"],
            "name": ["rep program", "team program"],
            "kind": ["training", "incentive"],
            "design": ["randomized", "single_rollout"],
            "unit": ["rep", "team"],
            "start_date": ["2026-01-01", "2026-04-16"],
        }
    ).to_csv(folder / "programs.csv", index=False)
    pd.DataFrame(
        {
            "program_id": ["PR", "PR", "PR", "PT"],
            "unit_id": ["R1", "R3", "R4", "T1"],
            "arm": ["treatment", "treatment", "control", "treatment"],
            "start_date": ["2026-03-01", "2026-01-01", "2026-01-01", "2026-04-16"],
        }
    ).to_csv(folder / "enrollments.csv", index=False)
    return folder


def test_program_exposure_hand_computed(tmp_path):
    folder = _write_hand_folder(tmp_path / "hand")
    ex = program_exposure(folder, ["PR", "PT"], "2026Q1", "2026Q2", grain="day")
    ex = ex.set_index("program_id")
    # PR (rep program; R4 is control and never counts):
    #   2026Q1: R1 Mar 1-31 = 31 days; R3 Jan 1 - Feb 14 (terminated) = 31 + 14 = 45 -> 76 days
    #   2026Q2: R1 Apr 1 - Jun 30 = 91 days; R3 gone -> 91 days
    # PT (team T1 from Apr 16): 2026Q1: 0; 2026Q2: R1 Apr 16 - Jun 30 = 15 + 31 + 30 = 76 days,
    #   R2 (hired May 1) May 1 - Jun 30 = 61 days -> 137 days
    assert ex.loc["PR", ["exposure_base", "exposure_current"]].tolist() == [76.0, 91.0]
    assert ex.loc["PT", ["exposure_base", "exposure_current"]].tolist() == [0.0, 137.0]
    assert ex.loc["PR", ["n_reps_base", "n_reps_current"]].tolist() == [2, 1]
    assert ex.loc["PT", ["n_reps_base", "n_reps_current"]].tolist() == [0, 2]
    assert ex.loc["PT", "unit"] == "team" and ex.loc["PR", "exposure_per"] == "unit_day"
    weeks = program_exposure(folder, "PT", "2026Q1", "2026Q2", grain="week")
    assert_allclose(weeks["exposure_current"].iloc[0], 137 / 7, rtol=1e-12)
    quarters = program_exposure(folder, "PR", "2026Q1", "2026Q2", grain="quarter")
    # rep-quarters: 2026Q1 has 90 days, 2026Q2 91 days -> 76/90 and 91/91
    assert_allclose(
        quarters[["exposure_base", "exposure_current"]].to_numpy(float)[0],
        [76 / 90, 1.0],
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="NOPE"):
        program_exposure(folder, "NOPE", "2026Q1", "2026Q2")


# --------------------------------------------------------------------------------------------------
# Simulator recovery
# --------------------------------------------------------------------------------------------------

SIM_SEED = 3
COACH_WIN_RATE = 0.06  # planted: +6 points of win probability for coached teams (default 0.025)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from salesinsight.data import load
    from salesinsight.simulate import crm

    folder = crm(
        tmp_path_factory.mktemp("contrib") / "sim",
        seed=SIM_SEED,
        n_reps=120,
        quarters=4,
        effects={"P_COACH": {"win_rate": COACH_WIN_RATE}},
    )
    ds = load(folder)
    yield folder, ds
    ds.close()


def _brute_force_rep_days(ds, program_id: str, q0: str, q1: str) -> int:
    """Count (rep, day) pairs day by day with pandas: employed and in a treatment-arm unit."""
    reps = ds.table("reps")
    prog = ds.table("programs").set_index("program_id").loc[program_id]
    en = ds.table("enrollments")
    en = en[(en["program_id"] == program_id) & (en["arm"] == "treatment")]
    start = en.groupby("unit_id")["start_date"].min()
    key = "rep_id" if prog["unit"] == "rep" else "team_id"
    total = 0
    for day in pd.date_range(q0, q1):
        hired = pd.to_datetime(reps["hire_date"]) <= day
        term = pd.to_datetime(reps["termination_date"])
        employed = hired & (term.isna() | (term >= day))
        s = pd.to_datetime(reps[key].map(start))
        total += int((employed & s.notna() & (s <= day)).sum())
    return total


def test_exposure_matches_brute_force_on_simulation(sim):
    _, ds = sim
    ex = program_exposure(ds, ["P_COACH", "P_TRAIN"], "2025Q2", "2025Q3", grain="day")
    ex = ex.set_index("program_id")
    for pid in ("P_COACH", "P_TRAIN"):
        assert ex.loc[pid, "exposure_base"] == _brute_force_rep_days(
            ds, pid, "2025-04-01", "2025-06-30"
        )
        assert ex.loc[pid, "exposure_current"] == _brute_force_rep_days(
            ds, pid, "2025-07-01", "2025-09-30"
        )
    assert ex.loc["P_COACH", "exposure_current"] > 0


def _true_coach_revenue_per_rep_week(folder: Path, ds) -> tuple[float, float]:
    """Truth from truth.json: each coached opportunity closing on/after the start has its win
    probability raised by delta, so its expected extra revenue is delta * amount (contract: the
    amount of a lost deal is its expected amount). Returns (expected extra revenue in 2025Q2,
    expected extra revenue per coached rep-week over 2025Q2-2025Q4, with rep-weeks counted by
    brute force)."""
    truth = json.loads((folder / "truth.json").read_text())
    p = truth["programs"]["P_COACH"]
    assert p["effect_scale"]["win_rate"] == "absolute"
    delta = p["effects"]["win_rate"]
    reps = ds.table("reps")
    en = ds.table("enrollments")
    en = en[(en["program_id"] == "P_COACH") & (en["arm"] == "treatment")]
    start = pd.Timestamp(en["start_date"].min())
    coached = reps.loc[reps["team_id"].isin(en["unit_id"]), "rep_id"]
    opp = ds.sql(
        "SELECT rep_id, close_date, amount FROM opportunities WHERE status IN ('won', 'lost')"
    )
    opp["close_date"] = pd.to_datetime(opp["close_date"])
    opp = opp[opp["rep_id"].isin(coached) & (opp["close_date"] >= start)]
    q2 = opp["close_date"].between("2025-04-01", "2025-06-30")
    post = opp["close_date"].between("2025-04-01", "2025-12-31")
    extra_q2 = delta * float(opp.loc[q2, "amount"].sum())
    rep_weeks = _brute_force_rep_days(ds, "P_COACH", "2025-04-01", "2025-12-31") / 7
    return extra_q2, delta * float(opp.loc[post, "amount"].sum()) / rep_weeks


def test_simulator_recovery_of_coaching_contribution(sim):
    from salesinsight.metrics import panel

    folder, ds = sim
    extra_q2, true_per_week = _true_coach_revenue_per_rep_week(folder, ds)
    company = panel(ds, grain="quarter", by="company")
    exposure = program_exposure(ds, "P_COACH", "2025Q1", "2025Q2", grain="week")
    # coaching starts 2025-04-01: no exposure in the base quarter
    assert exposure["exposure_base"].iloc[0] == 0.0
    true_effect = _effect(true_per_week, 0.0, (true_per_week, true_per_week))
    truth = program_contribution(
        company, {"P_COACH": true_effect}, exposure, base="2025Q1", current="2025Q2"
    )
    true_contrib = truth.programs_contribution
    # the constant-effect-per-rep-week contribution agrees with the expected extra revenue of the
    # quarter's coached closings; they differ only by how closings per rep-week in 2025Q2 differ from
    # 2025Q2-Q4 (seasonal opp creation 0.92-1.10, sampling noise ~5%), hence rtol 0.15
    assert_allclose(true_contrib, extra_q2, rtol=0.15)

    from salesinsight.evaluation import evaluate

    ev = evaluate(ds, "P_COACH", outcomes=["revenue"], grain="week", seed=0)
    eff = ev.effects["revenue"]
    assert eff is not None, ev.messages
    assert ev.spec["grain"] == "week"  # effect per active rep-week, as the exposure
    est = program_contribution(company, {"P_COACH": eff}, exposure, base="2025Q1", current="2025Q2")
    lo, hi = est.programs_interval
    assert lo <= true_contrib <= hi, (lo, true_contrib, hi)
    assert lo <= extra_q2 <= hi, (lo, extra_q2, hi)
    f = est.to_frame().set_index("program_id")
    assert_allclose(
        f.loc["P_COACH", "contribution"] + f.loc["other factors", "contribution"],
        company.set_index("period").loc["2025Q2", "revenue"]
        - company.set_index("period").loc["2025Q1", "revenue"],
        rtol=1e-12,
    )
