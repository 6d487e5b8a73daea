"""evaluate(): program -> design -> estimator -> verdicts, checked against the simulator's truth."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.cli import main
from salesinsight.evaluation import ProgramEvaluation, evaluate

SMALL = {"n_reps": 180, "quarters": 6}


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> tuple[Path, dict]:
    from salesinsight.simulate import crm

    out = crm(tmp_path_factory.mktemp("sim") / "data", seed=1, **SMALL)
    return Path(out), json.loads((Path(out) / "truth.json").read_text())


@pytest.fixture(scope="module")
def sim_null(tmp_path_factory) -> Path:
    from salesinsight.simulate import crm

    zero = {"P_COACH": {"win_rate": 0.0, "follow_ups": 0.0}}
    return Path(crm(tmp_path_factory.mktemp("null") / "data", seed=2, effects=zero, **SMALL))


@pytest.fixture(scope="module")
def ds(sim):
    from salesinsight.data import load

    return load(sim[0])


@pytest.fixture(scope="module")
def coach(ds) -> ProgramEvaluation:
    return evaluate(ds, "P_COACH", outcomes=["win_rate", "follow_ups"])


def test_randomized_coaching_recovers_truth(sim, coach):
    truth = sim[1]["programs"]["P_COACH"]
    assert truth["design"] == "randomized" and truth["unit"] == "team"
    e = coach.effects["win_rate"]
    assert e.method == "experiment_ratio"
    # truth: +2.5 win-rate points (absolute probability)
    assert e.ci_low <= truth["effects"]["win_rate"] <= e.ci_high
    # follow-ups: truth is relative (+25%); our estimate is per active rep-week, compare relative
    rel = coach.effects["follow_ups"]
    assert truth["effect_scale"]["follow_ups"] == "relative"
    b = rel.baseline
    assert rel.ci_low / b <= truth["effects"]["follow_ups"] <= rel.ci_high / b
    # team-randomized with 20 teams: clustered by team, few clusters -> wild bootstrap
    assert e.n_units == truth["n_treated"] + truth["n_control"]
    assert "wild cluster" in e.spec["inference"]
    assert coach.verdicts["follow_ups"].label == "worked"


def test_win_rate_is_ratio_of_sums_per_arm(ds, coach):
    # independent check of the naive comparison and the per-arm ratios: the arms' post-period
    # ratios of sums, straight from the opportunities table
    enr = ds.table("enrollments")
    enr = enr[enr.program_id == "P_COACH"]
    start = enr.start_date.min()
    reps = ds.table("reps")[["rep_id", "team_id"]]
    opp = ds.table("opportunities").merge(reps, on="rep_id")
    lo, hi = coach.spec["window"]
    opp = opp[opp.status.isin(["won", "lost"])]
    # the post window runs from the Monday of the start week to the end of the window's last week
    monday = start - pd.Timedelta(days=start.weekday())
    post = opp[
        (opp.close_date >= monday) & (opp.close_date <= pd.Timestamp(hi) + pd.Timedelta(6, "D"))
    ]
    arm = enr.set_index("unit_id")["arm"]
    post = post[post.team_id.isin(arm.index)].assign(arm=lambda d: d.team_id.map(arm))
    rate = post.groupby("arm").status.apply(lambda s: (s == "won").mean())
    naive = coach.naive.set_index(["outcome", "comparison"])
    assert_allclose(
        naive.loc[("win_rate", "naive treated vs untreated"), "estimate"],
        rate["treatment"] - rate["control"],
        rtol=0,
        atol=1e-12,
    )
    arms = coach.effects["win_rate"].extras["arms"].set_index("arm")
    assert_allclose(arms.loc[1, "value"], rate["treatment"], rtol=0, atol=1e-12)


def test_zero_effect_randomized_program_never_worked(sim_null):
    ev = evaluate(sim_null, "P_COACH", outcomes=["win_rate", "follow_ups"])
    for o in ("win_rate", "follow_ups"):
        assert ev.verdicts[o].label in ("no detectable effect", "inconclusive")
        e = ev.effects[o]
        assert e is not None and e.ci_low <= 0.0 <= e.ci_high


def test_frame_summary_and_holm(coach):
    f = coach.to_frame()
    assert list(f["outcome"]) == ["win_rate", "follow_ups"]
    p = f.set_index("outcome")["p_value"]
    # Holm with two p-values, written out: sorted p_(1) <= p_(2);
    # adj_(1) = min(1, 2 p_(1)); adj_(2) = max(adj_(1), p_(2))
    lo, hi = sorted(p.items(), key=lambda kv: kv[1])
    adj_lo = min(1.0, 2 * lo[1])
    expected = {lo[0]: adj_lo, hi[0]: max(adj_lo, hi[1])}
    for o, v in expected.items():
        assert_allclose(coach.p_adjusted[o], v, rtol=1e-12, atol=0)
    text = coach.summary()
    assert "P_COACH" in text and "Naive comparisons" in text and "holm" in text


def test_bad_inputs(ds):
    with pytest.raises(ValueError, match="no row with program_id 'NOPE'"):
        evaluate(ds, "NOPE")
    with pytest.raises(ValueError, match=r"unknown outcome\(s\) \['nps'\]"):
        evaluate(ds, "P_COACH", outcomes=["nps"])
    with pytest.raises(ValueError, match="'P_COACHH' \\(did you mean 'P_COACH'\\?\\)"):
        evaluate(ds, "P_COACHH")


def test_cli_json(sim, capsys):
    rc = main(["evaluate", str(sim[0]), "--program", "P_COACH", "--outcome", "win_rate", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1
    keys = {"estimate", "se", "ci_low", "ci_high", "p_value", "method", "verdict", "diagnostics"}
    assert keys <= set(out[0])
    assert out[0]["method"] == "experiment_ratio"
    # the required randomization check, the informational balance table, and the sensitivity
    # checks every design gets: a placebo start date and a placebo outcome (quota)
    names = {d["name"] for d in out[0]["diagnostics"]}
    assert names == {"balance", "randomization_check", "placebo_date", "placebo_outcome"}
    required = {d["name"] for d in out[0]["diagnostics"] if d["required"]}
    assert required == {"randomization_check"}


@pytest.mark.slow
def test_staggered_training_recovered_and_naive_biased(sim, ds):
    truth = sim[1]["programs"]["P_TRAIN"]
    ev = evaluate(ds, "P_TRAIN", outcomes=["win_rate"])
    e = ev.effects["win_rate"]
    assert e.method.startswith("staggered_did")
    assert e.ci_low <= truth["effects"]["win_rate"] <= e.ci_high
    naive = ev.naive.set_index("comparison")["estimate"]
    # managers enrol weaker reps: treated vs untreated is biased downwards, outside the interval
    assert naive["naive treated vs untreated"] < e.ci_low
    assert np.isfinite(ev.alternatives["win_rate"]["twfe"].estimate)
    assert "win_rate" in ev.dynamic
    # selection is on persistent ability, so parallel trends hold: the (finite-sample) pre-trend
    # test must not fail. Cohorts here have 4-15 reps; R's chi-square Wald test gave p < 0.0001.
    pre = {d.name: d for d in e.diagnostics}["pre_trends"]
    assert pre.passed is True, pre


@pytest.mark.slow
@pytest.mark.parametrize("grain", ["quarter", "month"])
def test_staggered_zero_effect_pretrends_pass_and_cover_zero(tmp_path, grain):
    # Training switched off: over three seeds the pre-trend test passes in most and the interval
    # covers the true zero in most. By hand (seeds 0-19 of this config) the finite-sample test
    # rejected 0 of 20 at both grains; R's chi-square Wald test rejected 2 of 10 (quarter) and 9 of
    # 9 computable (month).
    from salesinsight.simulate import crm

    passed = covered = 0
    for seed in range(3):
        out = crm(tmp_path / f"s{seed}", seed=seed, effects={"P_TRAIN": {"win_rate": 0.0}}, **SMALL)
        ev = evaluate(out, "P_TRAIN", outcomes=["win_rate"], did_grain=grain)
        e = ev.effects["win_rate"]
        passed += {d.name: d for d in e.diagnostics}["pre_trends"].passed is True
        covered += e.ci_low <= 0.0 <= e.ci_high
        assert ev.verdicts["win_rate"].label != "worked"
    assert passed >= 2
    assert covered >= 2


# ---------------------------------------------------------------------- single rollout
@pytest.fixture(scope="module")
def incent(ds) -> ProgramEvaluation:
    return evaluate(ds, "P_INCENT", outcomes=["csat", "revenue"])


def test_single_rollout_did_primary_sc_alongside(sim, incent):
    truth = sim[1]["programs"]["P_INCENT"]
    assert truth["design"] == "single_rollout" and truth["unit"] == "team"
    # 10 treated and 10 untreated teams (>= 5 each): team-clustered DiD is primary
    assert truth["n_treated"] == 10
    for o in ("csat", "revenue"):
        e = incent.effects[o]
        assert e.method.startswith("difference-in-differences")
        assert "clustered by unit_id" in e.spec["inference"]
        assert e.n_units == 20  # 10 treated + 10 never-enrolled teams
        sc = incent.alternatives[o]["synthetic_control"]
        assert sc.method.startswith("synthetic control")
        names = {d.name: d for d in e.diagnostics}
        # placebo start date is a test of parallel trends: required
        assert names["placebo_date"].required is True and names["placebo_date"].passed is not None
        assert names["placebo_outcome"].required is False
        agree = names["designs_agree"]
        assert agree.required is False and "synthetic_control" in agree.note
        # the summary states this outcome's agreement check as the diagnostic decided it
        word = {True: "agree", False: "DISAGREE", None: "cannot be compared"}[agree.passed]
        assert f"designs {word}: {agree.note}" in incent.summary()
        # synthetic control surfaces its leave-one-donor-out check and its placebo date
        sc_names = {d.name for d in sc.diagnostics}
        assert {"pre_fit", "placebo_date", "leave_one_donor_out"} <= sc_names
    assert incent.spec["route"] == "single_rollout" and incent.spec["grain"] == "month"


def test_incentive_csat_drop_recovered(sim, incent):
    # truth: CSAT (score / scale, 0-1) falls by 0.04 in the treated teams
    truth = sim[1]["programs"]["P_INCENT"]["effects"]["csat"]
    assert truth == -0.04
    for e in (incent.effects["csat"], incent.alternatives["csat"]["synthetic_control"]):
        assert e.ci_high < 0  # the sign
        assert e.ci_low <= truth <= e.ci_high  # and the size
    assert incent.verdicts["csat"].label in ("harmed", "inconclusive")


def test_designs_agree_rule_by_hand():
    from salesinsight.causal import Effect
    from salesinsight.evaluation.designs import designs_agree

    def eff(est, se):
        return Effect(est, se, est - 1.96 * se, est + 1.96 * se, 0.5, 10, 10, "m", "y", {})

    # z = (1.0 - 0.4) / sqrt(0.3^2 + 0.4^2) = 0.6 / 0.5 = 1.2, p = 0.2301 -> agree
    d = designs_agree(eff(1.0, 0.3), {"did": eff(0.4, 0.4)}, alpha=0.05)
    assert d.passed is True and d.required is False
    assert_allclose(d.statistic, 1.2, rtol=1e-12, atol=0)
    assert "p = 0.23" in d.note
    # z = (1.0 - (-0.5)) / 0.5 = 3.0 -> disagree
    d = designs_agree(eff(1.0, 0.3), {"did": eff(-0.5, 0.4)}, alpha=0.05)
    assert d.passed is False
    # no finite SE (synthetic control with too few donors): cannot be compared
    d = designs_agree(eff(1.0, 0.3), {"synthetic_control": eff(0.9, np.inf)}, alpha=0.05)
    assert d.passed is None


def test_company_wide_rollout_uses_structural_time_series(sim, tmp_path):
    # every team enrolled on one date, no comparison group -> impact() on the company series
    import shutil

    from salesinsight.data import load

    folder = tmp_path / "all"
    shutil.copytree(sim[0], folder)
    enr = pd.read_csv(folder / "enrollments.csv")
    teams = sorted(pd.read_csv(folder / "reps.csv")["team_id"].unique())
    start = enr.loc[enr.program_id == "P_INCENT", "start_date"].iloc[0]
    rows = pd.DataFrame(
        {"program_id": "P_INCENT", "unit_id": teams, "arm": "treatment", "start_date": start}
    )
    enr = pd.concat([enr[enr.program_id != "P_INCENT"], rows], ignore_index=True)
    enr.to_csv(folder / "enrollments.csv", index=False)
    ev = evaluate(load(folder), "P_INCENT", outcomes=["csat"])
    e = ev.effects["csat"]
    assert ev.spec["route"] == "company_wide" and ev.spec["grain"] == "week"
    assert e.method.startswith("structural time series")
    assert np.isfinite(e.ci_low) and np.isfinite(e.ci_high)
    names = {d.name for d in e.diagnostics}
    assert {"untestable_assumptions", "placebo_date", "placebo_outcome"} <= names
    assert "csat" not in ev.alternatives  # one design only: nothing to agree with


# ---------------------------------------------------------------------- observational
@pytest.fixture(scope="module")
def placebo_prog(ds) -> ProgramEvaluation:
    return evaluate(ds, "P_PLACEBO", outcomes=["win_rate", "revenue"])


def test_zero_effect_observational_program_never_worked(sim, placebo_prog):
    truth = sim[1]["programs"]["P_PLACEBO"]
    assert truth["design"] == "observational" and truth["effects"]["revenue"] == 0
    for o in ("win_rate", "revenue"):
        e = placebo_prog.effects[o]
        assert e.method == "bracket of observational designs"
        assert placebo_prog.verdicts[o].label != "worked"
        alts = placebo_prog.alternatives[o]
        assert set(alts) == {"fe_did", "lagged_outcome", "synthetic_did"}
        for alt in alts.values():
            placebo = {d.name: d for d in alt.diagnostics}["placebo_date"]
            assert placebo.required is True
        assert {d.name: d for d in alts["fe_did"].diagnostics}["pre_trends"].required
        names = {d.name: d for d in e.diagnostics}
        assert names["designs_carrying"].required and not names["designs_agree"].required
        # the bracket's interval spans every carrying design's interval
        for k in e.extras["carrying"]:
            assert e.ci_low <= alts[k].ci_low and alts[k].ci_high <= e.ci_high
    # naive comparisons are still reported, labelled as naive
    assert set(placebo_prog.naive["comparison"]) == {
        "naive before/after",
        "naive treated vs untreated",
    }
    # top performers were invited: naive treated vs untreated is hugely positive
    naive = placebo_prog.naive.set_index(["outcome", "comparison"])["estimate"]
    assert (
        naive[("revenue", "naive treated vs untreated")] > placebo_prog.effects["revenue"].ci_high
    )


def test_observational_controls_exclude_other_programs(placebo_prog, ds):
    # only units enrolled in another rep program *before* this program's first start are dropped;
    # later enrolments stay as controls with their exposure adjusted for
    enr = ds.table("enrollments")
    progs = ds.table("programs")
    rep_progs = set(progs.loc[progs.unit == "rep", "program_id"]) - {"P_PLACEBO"}
    first = pd.to_datetime(enr.loc[enr.program_id == "P_PLACEBO", "start_date"]).min()
    other = enr[enr.program_id.isin(rep_progs) & (enr.arm == "treatment")]
    n_before = other[pd.to_datetime(other.start_date) < first].unit_id.nunique()
    assert placebo_prog.spec["excluded_controls"] == n_before > 0
    assert n_before < other.unit_id.nunique()  # later training cohorts are kept
    fe = placebo_prog.alternatives["revenue"]["fe_did"]
    assert any(c.startswith("change_exposure_P_TRAIN") for c in fe.spec["covariates"])


def test_mentoring_naive_biased_vs_the_observational_designs(sim, ds):
    # mentees were picked for low (noisy) attainment: they rebound anyway (regression to the mean),
    # which the naive before/after credits to the program; the bracket of designs does not
    truth = sim[1]["programs"]["P_MENTOR"]
    assert truth["effect_scale"]["revenue"] == "relative"
    ev = evaluate(ds, "P_MENTOR", outcomes=["revenue"])
    e = ev.effects["revenue"]
    assert e.method == "bracket of observational designs"
    b = e.baseline  # the mentees' counterfactual revenue per rep-month
    assert e.ci_low / b <= truth["effects"]["revenue"] <= e.ci_high / b
    naive = ev.naive.set_index("comparison")["estimate"]
    assert naive["naive before/after"] > e.ci_high
    assert naive["naive before/after"] / b > 2 * truth["effects"]["revenue"]
    assert ev.verdicts["revenue"].label != "harmed"


@pytest.mark.slow
def test_incentive_recovered_at_default_size(tmp_path):
    # default demo (40 teams, 20 treated): revenue +5% (relative), CSAT -0.04 (absolute)
    from salesinsight.simulate import crm

    out = crm(tmp_path / "d", seed=0)
    truth = json.loads((Path(out) / "truth.json").read_text())["programs"]["P_INCENT"]
    ev = evaluate(out, "P_INCENT", outcomes=["revenue", "csat"])
    rev = [ev.effects["revenue"], ev.alternatives["revenue"]["synthetic_control"]]
    assert rev[0].method.startswith("difference-in-differences")
    for e in rev:
        assert e.estimate > 0
        assert e.ci_low / e.baseline <= truth["effects"]["revenue"] <= e.ci_high / e.baseline
    for e in (ev.effects["csat"], ev.alternatives["csat"]["synthetic_control"]):
        assert e.ci_high < 0
        assert e.ci_low <= truth["effects"]["csat"] <= e.ci_high
    assert ev.verdicts["revenue"].label != "harmed"


def test_cli_json_observational_lists_designs_side_by_side(sim, capsys):
    rc = main(
        ["evaluate", str(sim[0]), "--program", "P_PLACEBO", "--outcome", "win_rate", "--json"]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)[0]
    assert out["method"] == "bracket of observational designs"
    assert [a["role"] for a in out["alternatives"]] == ["fe_did", "lagged_outcome", "synthetic_did"]
    names = {d["name"] for d in out["diagnostics"]}
    assert {"designs_carrying", "designs_agree", "placebo_outcome"} <= names
    assert out["verdict"] != "worked"


# ---------------------------------------------------------------------- other programs' exposure
def _contaminated_panel(seed: int, n_units: int = 40, n_t: int = 24) -> pd.DataFrame:
    """Team-month panel, no effect of the evaluated program (treated = first half, start t=13);
    another program switched on at t=7 for units picked with probability 0.8 among treated and
    0.2 among controls, adding +1.0 to the outcome (noise sd 1, unit and period effects)."""
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(n_units), n_t)
    t = np.tile(np.arange(1, n_t + 1), n_units)
    treated = (u < n_units // 2).astype(int)
    other = rng.random(n_units) < np.where(np.arange(n_units) < n_units // 2, 0.8, 0.2)
    expo = (other[u] & (t >= 7)).astype(float)
    y = rng.normal(0, 1, n_units)[u] + 0.1 * t + expo * 1.0 + rng.normal(0, 1, u.size)
    return pd.DataFrame(
        {
            "unit_id": [f"U{i:02d}" for i in u],
            "t": t,
            "y": y,
            "treated": treated,
            "d": (treated.astype(bool) & (t >= 13)).astype(int),
            "exposure_P_OTHER": expo,
        }
    )


def test_did_adjusts_for_other_programs_exposure():
    from salesinsight.evaluation.designs import _did

    # truth 0: exposure moves y by +1 in the 6 pre-periods t=7..12 and the 12 post-periods; the
    # treated have 0.6 more exposed units, so the unadjusted pre-to-post change differs by
    # 0.6 * 1 * (1 - 6/12) = +0.3
    plain, adj = [], []
    for s in range(20):
        f = _contaminated_panel(s)
        plain.append(_did(f, 0.05, True).estimate)
        a = _did(f, 0.05, True, ("exposure_P_OTHER",))
        adj.append(a.estimate)
        assert a.spec["other_program_covariates"] == ["exposure_P_OTHER"]
    assert_allclose(np.mean(plain), 0.3, atol=0.08)
    assert_allclose(np.mean(adj), 0.0, atol=0.05)


def test_fe_did_adjusted_equals_twfe_with_exogenous_zero_covariate_effect():
    from salesinsight.causal import twfe
    from salesinsight.evaluation.designs import _did, _within_varies

    f = _contaminated_panel(3)
    f["exposure_const"] = 1.0  # absorbed by the fixed effects: dropped, result equals twfe
    assert not _within_varies(f, "exposure_const")
    e = _did(f, 0.05, True, ("exposure_const",))
    ref = twfe(f, outcome="y", unit="unit_id", time="t", treatment="d", cluster="unit_id")
    assert_allclose(e.estimate, ref.estimate, rtol=1e-10, atol=0)
    assert_allclose(e.se, ref.se, rtol=1e-10, atol=0)
    assert e.spec["other_program_covariates"] == []


def test_other_exposure_by_hand(ds):
    from salesinsight.evaluation.panel import _other_exposure, unit_panel

    frame, _ = unit_panel(ds, unit="team", grain="month")
    x = _other_exposure(ds, "P_INCENT", "team", frame, "month")
    assert "exposure_P_INCENT" not in x.columns
    enr = ds.table("enrollments")
    coach = enr[(enr["program_id"] == "P_COACH") & (enr["arm"] == "treatment")]
    start = pd.Timestamp(coach["start_date"].min())  # 2025-07-01 (a month start) at SMALL
    team = str(coach["unit_id"].iloc[0])
    ctrl = str(
        enr.loc[(enr["program_id"] == "P_COACH") & (enr["arm"] == "control"), "unit_id"].iloc[0]
    )
    m = x.merge(frame[["unit_id", "t", "period_start"]], on=["unit_id", "t"])
    row = m[m["unit_id"] == team].set_index("period_start")["exposure_P_COACH"]
    assert (row[row.index < start] == 0).all() and (row[row.index >= start] == 1).all()
    assert (m.loc[m["unit_id"] == ctrl, "exposure_P_COACH"] == 0).all()
    # rep program: share of the team's active sellers enrolled (managers are not sellers, data
    # contract `sellers_active`: 3 of 8 here, 3 of 9 when the manager was counted), by hand
    from salesinsight.metrics import panel

    reps = panel(ds, grain="month", by="rep")
    train = enr[enr["program_id"] == "P_TRAIN"].groupby("unit_id")["start_date"].min()
    p = reps[reps["team_id"] == team].copy()
    ps = pd.Timestamp("2025-11-01")
    p = p[(p["period_start"] == ps) & (p["sellers_active"] == 1)]
    on = p["rep_id"].map(pd.to_datetime(train)).le(ps)  # cohorts start on quarter starts
    expect = float(on.sum() / len(p))
    got = float(
        m.loc[(m["unit_id"] == team) & (m["period_start"] == ps), "exposure_P_TRAIN"].iloc[0]
    )
    assert_allclose(got, expect, rtol=0, atol=1e-12)


def test_observational_adjusts_for_tenure_and_other_programs(placebo_prog):
    fe = placebo_prog.alternatives["revenue"]["fe_did"]
    covs = set(fe.spec["covariates"])
    assert {"tenure", "tenure_sq"} <= covs
    assert any(c.startswith("change_exposure_") for c in covs)


def _rep_panel(select_top: bool, seed: int = 0) -> pd.DataFrame:
    """300 units x 12 periods, start at t = 7; 40 enrolled either at random or the top 40 by a
    noisy attainment (``pre_attainment_1``) -- the second has no comparable controls."""
    rng = np.random.default_rng(seed)
    n, n_t = 300, 12
    a = rng.normal(0, 1, n)
    att = a + rng.normal(0, 0.3, n)
    tr = np.zeros(n, int)
    tr[np.argsort(-att)[:40] if select_top else rng.choice(n, 40, replace=False)] = 1
    u = np.repeat(np.arange(n), n_t)
    t = np.tile(np.arange(1, n_t + 1), n)
    return pd.DataFrame(
        {
            "unit_id": [f"R{i:03d}" for i in u],
            "t": t,
            "y": a[u] + rng.normal(0, 1, u.size),
            "treated": tr[u],
            "pre_attainment_1": att[u],
        }
    )


@pytest.mark.parametrize("select_top", [False, True])
def test_matched_balance_fails_only_without_overlap(select_top):
    from salesinsight.evaluation.designs import _matched, _matched_balance

    f = _rep_panel(select_top)
    eff = _matched(f, 7, 0.05, True)
    assert "pre_attainment_1" in eff.spec["covariates"]
    bal = _matched_balance(f, eff, 7, 0.05)
    assert bal.required
    # random enrolment: imbalances are chance (bias correction handles them); top 40 of 300 by
    # attainment: the matched controls cannot reach the enrolled units' attainment
    assert bal.passed is (not select_top)
    if select_top:
        assert "pre_attainment_1" in bal.note and bal.statistic > 0.25


def test_randomized_verdict_does_not_depend_on_other_outcomes_requested(ds):
    # the joint randomization check once used the pre-period values of the requested outcomes
    # only, so asking for revenue too could turn win rate's "worked" into "inconclusive"
    alone = evaluate(ds, "P_COACH", outcomes=["win_rate"])
    both = evaluate(ds, "P_COACH", outcomes=["win_rate", "revenue"])
    a, b = alone.effects["win_rate"], both.effects["win_rate"]
    assert (a.estimate, a.ci_low, a.ci_high, a.p_value) == (
        b.estimate,
        b.ci_low,
        b.ci_high,
        b.p_value,
    )
    da = {d.name: (d.passed, d.p_value) for d in a.diagnostics}
    db = {d.name: (d.passed, d.p_value) for d in b.diagnostics}
    assert da == db and "randomization_check" in da
    assert alone.verdicts["win_rate"].label == both.verdicts["win_rate"].label


def test_relative_min_effect_in_api_and_cli(ds, sim, capsys):
    # "3%" of the untreated baseline, as in the params, now also in the API and the CLI
    ev = evaluate(ds, "P_COACH", outcomes=["follow_ups"], min_effect="3%")
    e = ev.effects["follow_ups"]
    expect = e.verdict(min_effect=0.03 * abs(e.baseline), alpha=0.05)
    assert (ev.verdicts["follow_ups"].label, ev.verdicts["follow_ups"].reason) == (
        expect.label,
        expect.reason,
    )
    assert expect.label == "worked"
    # a bar of 500% of the baseline is not cleared: the relative spec is applied, not ignored
    argv = ["evaluate", str(sim[0]), "--program", "P_COACH", "--outcome", "follow_ups"]
    assert main([*argv, "--min-effect", "500%", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["estimate"] == pytest.approx(e.estimate, rel=0, abs=1e-12)
    assert out[0]["verdict"] != "worked"
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--min-effect", "3 percent"])
    assert exc.value.code == 2
    assert "neither a number nor 'N%'" in capsys.readouterr().err


def test_without_activity_log_win_rate_and_revenue_still_evaluated(sim, tmp_path):
    import shutil

    folder = tmp_path / "no_activities"
    shutil.copytree(sim[0], folder)
    (folder / "activities.csv").unlink()  # the contract makes the activity log optional
    ev = evaluate(folder, "P_COACH", outcomes=["win_rate", "revenue", "follow_ups"])
    truth = sim[1]["programs"]["P_COACH"]["effects"]["win_rate"]
    e = ev.effects["win_rate"]
    assert e is not None and e.ci_low <= truth <= e.ci_high
    assert ev.effects["revenue"] is not None
    assert ev.effects["follow_ups"] is None
    v = ev.verdicts["follow_ups"]
    assert v.label == "not estimable" and "no activity log" in v.reason


def test_outcome_without_data_is_not_estimable_never_a_confident_null():
    from salesinsight.evaluation.panel import _no_data_reason

    frame = pd.DataFrame(
        {"period_start": pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"] * 2)}
    )
    window = (pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-19"))
    den = pd.Series([1.0] * 6)
    assert "0 in every unit-period" in _no_data_reason(frame, pd.Series([0.0] * 6), den, window)
    assert "denominator is 0" in _no_data_reason(frame, den, pd.Series([0.0] * 6), window)
    num = pd.Series([0, 0, 0, 0, 0, 2.0])
    assert _no_data_reason(frame, num, den, window) is None
    # outside the window only: still no data inside it
    assert _no_data_reason(frame, num, den, (window[0], pd.Timestamp("2026-01-12"))) is not None


def test_placebo_outcome_that_cannot_vary_is_not_applicable_not_failed():
    from salesinsight.causal.effect import Effect
    from salesinsight.evaluation.checks import placebo_outcome_diag

    # quota per rep constant within units: staggered DiD gives 0 with a zero-width interval that
    # "excludes 0" by rounding, which used to fail the check on every staggered program
    flat = Effect(3e-13, 1e-17, 2.9e-13, 3.1e-13, 0.0, 40, 400, "did", "quota_per_rep", {})
    flat = dataclasses.replace(flat, baseline=25_000.0)
    d = placebo_outcome_diag(flat, "", 0.05)
    assert d.passed is None and d.note.startswith("not applicable")
    # a real placebo effect with a real interval still fails
    real = dataclasses.replace(flat, estimate=900.0, se=200.0, ci_low=500.0, ci_high=1300.0)
    assert placebo_outcome_diag(real, "", 0.05).passed is False
