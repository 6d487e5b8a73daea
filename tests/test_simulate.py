"""Simulator: contract-valid, deterministic, credible ranges, planted effects measurable in raw data.

Every effect check below is a small independent computation on the written CSV files (not the
package's metrics or causal code), compared with the ground truth in ``truth.json`` within a tolerance
derived from its own sampling error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesinsight.data import validate
from salesinsight.simulate import PROGRAMS, crm

SMALL = {"n_reps": 60, "quarters": 4}
# Bigger planted effects for the small folder so each is several standard errors from zero.
BIG = {
    "P_COACH": {"win_rate": 0.10, "follow_ups": 0.5},
    "P_INCENT": {"csat": -0.10},
}


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return crm(tmp_path_factory.mktemp("small"), seed=7, **SMALL)


@pytest.fixture(scope="module")
def big_effects(tmp_path_factory) -> Path:
    return crm(tmp_path_factory.mktemp("big"), seed=11, n_reps=120, quarters=4, effects=BIG)


@pytest.fixture(scope="module")
def truth(small) -> dict:
    return json.loads((small / "truth.json").read_text(encoding="utf-8"))


def _closed(folder: Path) -> pd.DataFrame:
    o = _read(folder, "opportunities")
    o = o[o["status"] != "open"].copy()
    o["close"] = pd.to_datetime(o["close_date"])
    o["won"] = (o["status"] == "won").astype(float)
    return o.merge(_read(folder, "reps")[["rep_id", "team_id"]], on="rep_id")


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return float(a.mean() - b.mean()), float(
        np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    )


def test_output_satisfies_contract(small):
    report = validate(small)
    assert report.ok, str(report)
    names = {p.name for p in small.iterdir()}
    expected = {
        f"{t}.csv"
        for t in (
            "reps",
            "opportunities",
            "stage_history",
            "activities",
            "quotas",
            "programs",
            "enrollments",
            "csat",
            "reviews",
        )
    }
    assert expected | {"truth.json", ".salesinsight-simulated"} == names


def test_programs_carry_their_budget_as_the_contract_extension(small):
    """programs.budget (docs/data-contract.md, salesinsight extensions): one positive amount per
    program, as configured, and validation says nothing about it (not an extra column)."""
    programs = _read(small, "programs")
    assert list(programs.columns)[-1] == "budget"
    assert dict(zip(programs["program_id"], programs["budget"].astype(float), strict=True)) == {
        pid: float(meta["budget"]) for pid, meta in PROGRAMS.items()
    }
    assert not [p for p in validate(small).problems if p.table == "programs"]


def test_same_seed_gives_identical_bytes_and_other_seed_differs(small, tmp_path):
    again = crm(tmp_path / "again", seed=7, **SMALL)
    assert _digest(again) == _digest(small)
    other = crm(tmp_path / "other", seed=8, **SMALL)
    assert _digest(other)["opportunities.csv"] != _digest(small)["opportunities.csv"]


def test_truth_lists_every_program_with_its_effects(truth, small):
    assert set(truth["programs"]) == set(PROGRAMS)
    assert truth["programs"]["P_TRAIN"]["effects"] == {"win_rate": 0.025}
    assert truth["programs"]["P_TRAIN"]["ramp_weeks"] == 8
    assert truth["programs"]["P_COACH"]["effects"] == {"win_rate": 0.025, "follow_ups": 0.25}
    assert truth["programs"]["P_MENTOR"]["effects"] == {"revenue": 0.12}
    assert truth["programs"]["P_INCENT"]["effects"] == {"revenue": 0.05, "csat": -0.04}
    assert set(truth["programs"]["P_PLACEBO"]["effects"].values()) == {0.0}
    for meta in truth["programs"].values():
        assert set(meta["effect_scale"]) == set(meta["effects"])
    assert set(truth["activity_effects"]) == {
        "call",
        "visit",
        "email",
        "meeting",
        "demo",
        "follow_up",
        "other",
    }
    programs = _read(small, "programs").set_index("program_id")
    for pid, meta in truth["programs"].items():
        assert programs.loc[pid, "design"] == meta["design"]
        assert programs.loc[pid, "unit"] == meta["unit"]


def test_effect_overrides_are_recorded_and_unknown_ones_rejected(big_effects, tmp_path):
    t = json.loads((big_effects / "truth.json").read_text())
    assert t["programs"]["P_COACH"]["effects"] == {"win_rate": 0.10, "follow_ups": 0.5}
    assert t["programs"]["P_INCENT"]["effects"]["csat"] == -0.10
    with pytest.raises(ValueError, match="P_NOPE.*'bogus'"):
        crm(tmp_path / "x", effects={"P_NOPE": {}, "P_COACH": {"bogus": 1.0}}, **SMALL)


def test_enrollments_follow_each_design(small):
    enr = _read(small, "enrollments")
    reps = _read(small, "reps")
    teams = set(reps["team_id"])
    coach = enr[enr["program_id"] == "P_COACH"]
    assert set(coach["unit_id"]) == teams
    assert abs((coach["arm"] == "treatment").sum() - (coach["arm"] == "control").sum()) <= 1
    assert (enr.loc[enr["program_id"] != "P_COACH", "arm"] == "treatment").all()
    mentor = enr[enr["program_id"] == "P_MENTOR"]
    assert len(mentor) > 0 and (mentor["mentor_id"] != "").all()
    assert not set(mentor["mentor_id"]) & set(mentor["unit_id"])
    assert mentor["mentor_id"].value_counts().max() <= 2
    train = enr[enr["program_id"] == "P_TRAIN"]
    assert train["start_date"].nunique() >= 2  # staggered
    ae = reps[reps["role"] == "ae"]
    assert 0 < len(train) < len(ae)  # some reps never trained
    assert set(enr.loc[enr["program_id"] == "P_INCENT", "unit_id"]) <= teams


def test_credible_ranges(small, truth):
    s = truth["summary"]
    # Brief: win rates ~15-30%, annual attrition ~25-35% (small folder: 60 seats, 1 year, so the
    # realized rate has SD ~ sqrt(.3*.7/60) ~ 0.06: allow 0.15-0.45), quota reached by ~50-60%
    # (240 rep-quarters: SD ~0.03, allow 0.42-0.68).
    assert 0.15 <= s["win_rate"] <= 0.30
    assert 0.15 <= s["annual_attrition"] <= 0.45
    assert 0.42 <= s["share_at_quota_full_quarters"] <= 0.68
    o = _read(small, "opportunities")
    assert (o["status"] == "open").sum() > 0
    won = o[o["status"] == "won"]
    cycle = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    assert cycle.max() <= 120 and cycle.quantile(0.02) >= 20  # < 20 only for leavers' last deals
    amount = np.log(won["amount"].astype(float))
    assert 0.4 < amount.std() < 0.9  # lognormal sizes (sigma 0.5 plus territory and ability)
    reps = _read(small, "reps")
    assert set(reps["role"]) == {"ae", "manager"}
    managers = set(reps.loc[reps["role"] == "manager", "rep_id"])
    assert set(reps.loc[reps["role"] == "ae", "manager_id"]) <= managers


def test_quarter_end_hockey_stick(small):
    o = _closed(small)
    won = o[o["won"] == 1]
    qend = won["close"].dt.to_period("Q").dt.end_time.dt.normalize()
    last14 = ((qend - won["close"]).dt.days < 14).mean()
    # Uniform closing would put 14/91 = 15.4% of wins in the last 14 days of a quarter.
    assert last14 > 0.165


def test_activities_are_linked_to_opportunities_in_order(small):
    a = _read(small, "activities")
    o = _read(small, "opportunities").set_index("opp_id")
    linked = a[a["opp_id"] != ""]
    assert len(linked) > 0.3 * len(a)
    assert set(a["type"]) == {"call", "visit", "email", "meeting", "demo", "follow_up", "other"}
    same_rep = linked["rep_id"].to_numpy() == o.loc[linked["opp_id"], "rep_id"].to_numpy()
    assert same_rep.all()
    created = pd.to_datetime(o.loc[linked["opp_id"], "created_date"]).to_numpy()
    assert (pd.to_datetime(linked["activity_date"]).to_numpy() >= created).all()
    # demos sit later in an opportunity's life than calls (path order for attribution)
    linked = linked.assign(pos=(pd.to_datetime(linked["activity_date"]).to_numpy() - created))
    pos = linked.groupby("type")["pos"].mean()
    assert pos["demo"] > pos["call"] and pos["follow_up"] > pos["call"]


def test_stage_history_is_ordered_and_ends_with_status(small):
    st = _read(small, "stage_history")
    o = _read(small, "opportunities").set_index("opp_id")
    last = st.groupby("opp_id").tail(1).set_index("opp_id")
    closed = o[o["status"] != "open"]
    assert (last.loc[closed.index, "stage"] == "closed_" + closed["status"]).all()
    assert (last["stage"] == o.loc[last.index, "stage"]).all()
    d = pd.to_datetime(st["entered_date"])
    same = st["opp_id"].to_numpy()[1:] == st["opp_id"].to_numpy()[:-1]
    assert (np.diff(d.to_numpy())[same] >= np.timedelta64(0, "D")).all()


def test_training_selects_weaker_reps(small):
    enr = _read(small, "enrollments")
    train = enr[enr["program_id"] == "P_TRAIN"]
    o = _closed(small)
    first = pd.Timestamp(train["start_date"].min())
    pre = o[o["close"] < first].groupby("rep_id")["won"].agg(["sum", "count"])
    treated = pre[pre.index.isin(set(train["unit_id"]))]
    ae = set(_read(small, "reps").query("role == 'ae'")["rep_id"])
    never = pre[pre.index.isin(ae - set(train["unit_id"]))]
    # ratio of sums per group in the quarter before the first cohort
    wr_t = treated["sum"].sum() / treated["count"].sum()
    wr_n = never["sum"].sum() / never["count"].sum()
    se = np.sqrt(
        wr_t * (1 - wr_t) / treated["count"].sum() + wr_n * (1 - wr_n) / never["count"].sum()
    )
    assert wr_t < wr_n - 2 * se


def test_randomized_coaching_effects_measurable(big_effects):
    truth = json.loads((big_effects / "truth.json").read_text())["programs"]["P_COACH"]["effects"]
    enr = _read(big_effects, "enrollments")
    coach = enr[enr["program_id"] == "P_COACH"]
    split = pd.Timestamp(coach["start_date"].iloc[0])
    treated = set(coach.loc[coach["arm"] == "treatment", "unit_id"])
    o = _closed(big_effects)
    # team win rate (ratio of sums) post minus pre; difference between arms (randomized at team level)
    post, pre = o[o["close"] >= split], o[o["close"] < split]
    d = (post.groupby("team_id")["won"].sum() / post.groupby("team_id")["won"].count()) - (
        pre.groupby("team_id")["won"].sum() / pre.groupby("team_id")["won"].count()
    )
    est, se = _welch(d[d.index.isin(treated)].to_numpy(), d[~d.index.isin(treated)].to_numpy())
    assert se < 0.03  # informative
    assert abs(est - truth["win_rate"]) < 3 * se
    # follow-ups per team-day: relative change post/pre, treated vs control arm
    a = _read(big_effects, "activities")
    a = a[a["type"] == "follow_up"].merge(_read(big_effects, "reps")[["rep_id", "team_id"]])
    day = pd.to_datetime(a["activity_date"])
    n_post = a[day >= split].groupby("team_id").size() / (day.max() - split).days
    n_pre = a[day < split].groupby("team_id").size() / (split - day.min()).days
    lr = np.log(n_post / n_pre)
    est, se = _welch(lr[lr.index.isin(treated)].to_numpy(), lr[~lr.index.isin(treated)].to_numpy())
    assert se < 0.1
    assert abs(est - np.log1p(truth["follow_ups"])) < 3 * se


def test_incentive_lowers_csat(big_effects):
    truth = json.loads((big_effects / "truth.json").read_text())["programs"]["P_INCENT"]["effects"]
    enr = _read(big_effects, "enrollments")
    inc = enr[enr["program_id"] == "P_INCENT"]
    split = pd.Timestamp(inc["start_date"].iloc[0])
    cs = _read(big_effects, "csat").merge(_read(big_effects, "reps")[["rep_id", "team_id"]])
    cs["s"] = cs["score"].astype(float) / cs["scale"].astype(float)
    day = pd.to_datetime(cs["response_date"])
    # responses about deals closed before the start but answered after it are excluded
    closed = _read(big_effects, "opportunities").set_index("opp_id")["close_date"]
    after = pd.to_datetime(closed.loc[cs["opp_id"]].to_numpy()) >= split
    post = cs[after].groupby("team_id")["s"].mean()
    pre = cs[(~after) & (day < split)].groupby("team_id")["s"].mean()
    d = (post - pre).dropna()
    treated = set(inc["unit_id"])
    est, se = _welch(d[d.index.isin(treated)].to_numpy(), d[~d.index.isin(treated)].to_numpy())
    assert se < 0.03
    assert abs(est - truth["csat"]) < 3 * se


def test_cli_writes_folder(tmp_path, capsys):
    from salesinsight.cli import main

    rc = main(
        [
            "simulate",
            "--out",
            str(tmp_path / "cli"),
            "--reps",
            "40",
            "--quarters",
            "3",
            "--seed",
            "2",
            "--start",
            "2026-01-05",
        ]
    )
    assert rc == 0
    reps = _read(tmp_path / "cli", "reps")
    assert reps["hire_date"].notna().all()
    a = _read(tmp_path / "cli", "activities")
    assert a["activity_date"].min() == "2026-01-05"
    assert main(["simulate", "--out", str(tmp_path / "bad"), "--start", "soon"]) == 2
    assert "ISO date" in capsys.readouterr().out


@pytest.mark.slow
def test_default_demo_size(tmp_path):
    folder = crm(tmp_path / "demo", seed=0)
    assert validate(folder).ok
    s = json.loads((folder / "truth.json").read_text())["summary"]
    assert 0.15 <= s["win_rate"] <= 0.30
    assert 0.25 <= s["annual_attrition"] <= 0.35
    assert 0.50 <= s["share_at_quota_full_quarters"] <= 0.60
    assert s["n_activities"] > 300_000


# ---------------------------------------------------------------------- selection scenarios
def _enrolled(folder: Path, pid: str = "P_PLACEBO") -> set[str]:
    e = _read(folder, "enrollments")
    return set(e.loc[(e["program_id"] == pid) & (e["arm"] == "treatment"), "unit_id"])


@pytest.mark.parametrize("scenario", ["level", "growth"])
def test_scenario_enrols_by_its_mechanism(scenario, tmp_path):
    folder = crm(tmp_path / scenario, seed=3, n_reps=90, quarters=5, scenario=scenario)
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["programs"]["P_PLACEBO"]["selection"] == scenario
    ins = _enrolled(folder)
    reps = _read(folder, "reps")
    reps = reps[reps["role"] == "ae"]
    assert len(ins) >= 5
    if scenario == "level":  # latent persistent ability, from the ground truth
        ability = {r: v["ability"] for r, v in truth["rep_latent"].items()}
        a_in = np.mean([ability[r] for r in ins])
        start = truth["programs"]["P_PLACEBO"]["start_dates"][0]
        hired = reps[reps["hire_date"] < start]["rep_id"]
        a_out = np.mean([ability[r] for r in hired if r not in ins])
        assert a_in > a_out + 0.3  # sd of ability is 0.35
    else:  # the most recent hires
        hire = pd.to_datetime(reps.set_index("rep_id")["hire_date"])
        start = pd.Timestamp(truth["programs"]["P_PLACEBO"]["start_dates"][0])
        tenure_in = (start - hire[list(ins)]).dt.days
        tenure_out = (start - hire[~hire.index.isin(ins) & (hire < start)]).dt.days
        from scipy.stats import mannwhitneyu

        assert mannwhitneyu(tenure_in, tenure_out, alternative="less").pvalue < 0.01


def test_scenario_effect_is_planted_and_recorded(tmp_path):
    # enrolment on persistent ability and +10 points of win rate: a raw difference in differences
    # of win rates (deals closing in the two quarters before vs after the start, enrolled vs
    # other reps hired before the start) recovers it; the fixed-effects comparison is unbiased
    # under selection on a persistent level
    folder = crm(
        tmp_path / "d",
        seed=11,
        n_reps=150,
        quarters=6,
        scenario="level",
        effects={"P_PLACEBO": {"win_rate": 0.10}},
        placebo_share=0.3,
    )
    truth = json.loads((folder / "truth.json").read_text())["programs"]["P_PLACEBO"]
    assert truth["effects"]["win_rate"] == 0.10 and "True effects: win_rate +0.1" in truth["notes"]
    start = pd.Timestamp(truth["start_dates"][0])
    o = _read(folder, "opportunities")
    o = o[o["status"].isin(["won", "lost"])].copy()
    o["close"] = pd.to_datetime(o["close_date"])
    o = o[
        (o["close"] >= start - pd.DateOffset(months=6))
        & (o["close"] < start + pd.DateOffset(months=6))
    ]
    o["post"] = o["close"] >= start
    o["won"] = o["status"] == "won"
    ins = _enrolled(folder)
    o["grp"] = o["rep_id"].isin(ins)
    rates = o.groupby(["grp", "post"])["won"].mean()
    did = (rates[(True, True)] - rates[(True, False)]) - (
        rates[(False, True)] - rates[(False, False)]
    )
    n = o.groupby(["grp", "post"]).size()
    se = np.sqrt(sum(r * (1 - r) / n[k] for k, r in rates.items()))
    assert abs(did - 0.10) < 3 * se + 0.01


def test_cli_scenario_options(tmp_path, capsys):
    from salesinsight.cli import main

    out = tmp_path / "s"
    rc = main(
        [
            "simulate",
            "--out",
            str(out),
            "--reps",
            "40",
            "--quarters",
            "4",
            "--scenario",
            "streak",
            "--effect",
            "0.05",
            "--share",
            "0.25",
            "--start-quarter",
            "2",
        ]
    )
    assert rc == 0
    t = json.loads((out / "truth.json").read_text())
    p = t["programs"]["P_PLACEBO"]
    assert p["selection"] == "streak" and p["effects"]["win_rate"] == 0.05
    assert t["config"]["placebo_share"] == 0.25 and t["config"]["observational_start_quarter"] == 2
    with pytest.raises(SystemExit):
        main(["simulate", "--out", str(tmp_path / "x"), "--scenario", "lucky"])
    assert "invalid choice" in capsys.readouterr().err


def test_selection_panel_enrols_the_share_and_plants_the_effect():
    from salesinsight.simulate.selection import selection_panel

    # selection on persistent skill: a raw difference in differences of pooled win rates is
    # unbiased for the planted +0.2 (coached teams' +0.03 starts before both windows)
    sp = selection_panel("level", effect=0.2, n_units=400, share=0.25, seed=1)
    assert sp.truth["n_enrolled"] == 100 == len(sp.starts)
    f = sp.frame.assign(grp=sp.frame["unit_id"].isin(set(sp.starts["unit_id"])))
    f["post"] = f["t"] > sp.truth["n_pre"]
    f = f[f["t"] > sp.truth["n_pre"] - 3]
    r = f.groupby(["grp", "post"])[["won", "closed"]].sum()
    rate = r["won"] / r["closed"]
    did = (rate[(True, True)] - rate[(True, False)]) - (rate[(False, True)] - rate[(False, False)])
    se = float(np.sqrt((rate * (1 - rate) / r["closed"]).sum()))
    assert abs(did - 0.2) < 3 * se + 0.01  # + skill heterogeneity in the pooled rates
    with pytest.raises(ValueError, match="scenario must be one of"):
        selection_panel("lucky")


def test_gaming_truth_off_by_config_and_bunching_lands_just_above_quota(tmp_path):
    """Planted gaming (truth.json["gaming"]) checked against the written CSVs: with pull-in and
    bunching off nothing is recorded; with bunching on, every recorded buncher ends at or above quota
    (recomputed from opportunities.csv and quotas.csv) and started below it."""
    off = crm(tmp_path / "off", seed=3, n_reps=60, quarters=3, hockey_pull_prob=0.0)
    t_off = json.loads((off / "truth.json").read_text())["gaming"]
    assert t_off["rep_quarters"]["rows"] == []
    assert all(q["pulled_deals"] == 0 and q["bunchers"] == 0 for q in t_off["by_quarter"])
    on = crm(tmp_path / "on", seed=3, n_reps=60, quarters=3, bunch_prob=1.0, bunch_window=0.2)
    g = json.loads((on / "truth.json").read_text())["gaming"]
    rows = pd.DataFrame(g["rep_quarters"]["rows"], columns=g["rep_quarters"]["columns"])
    bunched = rows[rows["bunched_across_quota"]]
    assert len(bunched) >= 5
    assert (bunched["attainment_before_bunching"] >= 0.8).all()
    assert (bunched["attainment_before_bunching"] < 1).all()
    o = _read(on, "opportunities")
    won = o[o["status"] == "won"].assign(
        q=lambda d: pd.PeriodIndex(pd.to_datetime(d["close_date"]), freq="Q").astype(str),
        amount=lambda d: d["amount"].astype(float),
    )
    rev = won.groupby(["rep_id", "q"])["amount"].sum()
    quotas = _read(on, "quotas").assign(
        q=lambda d: pd.PeriodIndex(pd.to_datetime(d["period_end"]), freq="Q").astype(str)
    )
    quota = quotas.set_index(["rep_id", "q"])["quota_amount"].astype(float)
    keys = list(zip(bunched["rep_id"], bunched["quarter"], strict=True))
    att = rev.reindex(keys).to_numpy() / quota.reindex(keys).to_numpy()
    assert (att >= 1 - 1e-6).all()
    assert sum(q["bunchers"] for q in g["by_quarter"]) == len(bunched)


def test_gaming_parameters_are_checked():
    from salesinsight.simulate import SimConfig

    with pytest.raises(ValueError, match="hockey_rule"):
        SimConfig(hockey_rule="sometimes")
    with pytest.raises(ValueError, match="bunch_prob"):
        SimConfig(bunch_prob=1.5)


def test_train_cohorts_sets_the_number_of_waves_and_is_checked(tmp_path):
    folder = crm(tmp_path / "waves", seed=4, n_reps=40, quarters=5, train_cohorts=1)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    # one wave at the second quarter's start (the default would be min(4, 5 - 2) = 3 waves)
    assert truth["programs"]["P_TRAIN"]["start_dates"] == ["2025-04-01"]
    assert truth["config"]["train_cohorts"] == 1
    e = pd.read_csv(folder / "enrollments.csv")
    assert set(e.loc[e["program_id"] == "P_TRAIN", "start_date"]) == {"2025-04-01"}
    with pytest.raises(
        ValueError, match=r"train_cohorts must be between 1 and quarters - 2 = 3, got 4"
    ):
        crm(tmp_path / "bad", seed=4, n_reps=40, quarters=5, train_cohorts=4)
