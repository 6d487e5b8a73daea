"""evaluate(): program -> design -> estimator -> verdicts, checked against the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.cli import main
from salesinsight.evaluate import ProgramEvaluation, evaluate

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


def test_unsupported_design_says_so(ds):
    import salesinsight.causal as causal

    ev = evaluate(ds, "P_PLACEBO", outcomes=["win_rate"])
    if hasattr(causal, "aipw"):
        assert ev.verdicts["win_rate"].label != "worked"
    else:
        assert ev.effects["win_rate"] is None
        assert "design not yet supported" in ev.messages["win_rate"]
        assert ev.verdicts["win_rate"].label == "inconclusive"
    # naive comparisons are still reported, labelled as naive
    assert set(ev.naive["comparison"]) == {"naive before/after", "naive treated vs untreated"}


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


def test_cli_json(sim, capsys):
    rc = main(["evaluate", str(sim[0]), "--program", "P_COACH", "--outcome", "win_rate", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1
    keys = {"estimate", "se", "ci_low", "ci_high", "p_value", "method", "verdict", "diagnostics"}
    assert keys <= set(out[0])
    assert out[0]["method"] == "experiment_ratio"
    assert {d["name"] for d in out[0]["diagnostics"]} == {"balance", "randomization_check"}


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
