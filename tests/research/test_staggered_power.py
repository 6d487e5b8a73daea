"""research.staggered_power: power of a staggered rollout by simulation through the simulator.

Ground truth is the simulator's planted effect on the win probability (and zero for the null
replications); the estimator is evaluate()'s staggered DiD.
"""

from __future__ import annotations

import json
import math

import matplotlib
import pytest

from salesinsight.research import StaggeredPower, staggered_power

matplotlib.use("Agg")

#: a small organisation (4 teams of 8 sellers, 3 quarters, one wave enrolling 2 sellers per team)
SMALL = {"n_teams": 4, "team_size": 8, "cohorts": 1, "quarters": 3, "share_per_cohort": 0.25}


@pytest.fixture(scope="module")
def huge() -> StaggeredPower:
    """Effect +0.30 on the win probability (base ~0.22), 4 planted and 4 null replications."""
    return staggered_power(None, effect=0.30, n_sims=4, seed=3, **SMALL)


def test_a_huge_effect_is_detected_in_every_replication(huge):
    planted = huge.replications[huge.replications["kind"] == "planted"]
    assert len(planted) == 4
    assert huge.power == 1.0
    assert planted["verdict"].eq("worked").all()
    assert (planted["ci_low"] > 0).all()
    # against the planted truth: the estimates are of the right size (the realized shift is a
    # little below 0.30 because win probabilities are capped at 0.999)
    assert 0.2 < huge.mean_estimate < 0.35
    assert huge.coverage >= 0.75


def test_with_zero_effect_the_verdict_does_not_claim_an_effect(huge):
    null = huge.replications[huge.replications["kind"] == "null"]
    assert len(null) == 4
    # at a 5% level, 2 or more false worked/harmed verdicts in 4 has probability 0.014
    assert huge.false_positive <= 0.25
    assert huge.null_coverage >= 0.75
    assert (null["truth"] == 0.0).all()
    est = null["estimate"].dropna()
    assert len(est) >= 3
    # the null estimates are centred on 0, far from the planted 0.30
    assert abs(est.mean()) < 0.05


def test_result_contract_and_monte_carlo_se(huge):
    f = huge.to_frame().set_index("term")
    assert f.loc["power", "value"] == huge.power
    p, n = huge.null_coverage, int(f.loc["null_coverage", "n"])
    assert math.isclose(f.loc["null_coverage", "mc_se"], math.sqrt(p * (1 - p) / n))
    text = str(huge.summary())
    assert "power" in text and "false positives" in text
    assert "<table" in huge._repr_html_() or "power" in huge._repr_html_()
    ax = huge.plot()
    assert ax.get_xlabel().startswith("estimated effect")
    d = json.loads(json.dumps(huge.to_dict()))
    assert d["power"]["n"] == 4 and d["spec"]["cohorts"] == 1


def test_cli_json_reproduces_the_api_and_replications_do_not_depend_on_n_sims(huge, capsys):
    from salesinsight.cli import main

    args = ["research", "staggered-power", "--effect", "0.3", "--n-sims", "2", "--seed", "3"]
    args += ["--n-teams", "4", "--team-size", "8", "--cohorts", "1", "--quarters", "3"]
    assert main([*args, "--share-per-cohort", "0.25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["power"]["n"] == 2 and set(out["power"]) == {"value", "mc_se", "n"}
    rows = huge.replications
    first = rows[rows["replication"] < 2].reset_index(drop=True)
    assert [r["estimate"] for r in out["replications"]] == first["estimate"].tolist()
    assert [r["seed"] for r in out["replications"]] == first["seed"].tolist()


def test_cli_bad_input_exits_1_with_the_message(capsys):
    from salesinsight.cli import main

    assert main(["research", "staggered-power", "--n-teams", "1", "--cohorts", "2"]) == 1
    out = capsys.readouterr().out
    assert "n_teams must be a whole number >= 2, got 1" in out
    assert "quarters" not in out  # 6 quarters >= 2 + 2: only the real problem is named
    assert "Traceback" not in out


def test_bad_input_names_every_argument_and_value():
    with pytest.raises(ValueError) as exc:
        staggered_power(
            None,
            effect=0.7,
            n_teams=1,
            team_size=2,
            cohorts=3,
            quarters=4,
            share_per_cohort=1.5,
            n_sims=1,
            alpha=0,
            outcome="revenue",
        )
    msg = str(exc.value)
    for part in (
        "effect",
        "0.7",
        "n_teams",
        "got 1",
        "team_size",
        "quarters must be a whole number >= cohorts + 2 = 5",
        "share_per_cohort",
        "1.5",
        "n_sims",
        "alpha",
        "outcome",
        "'revenue'",
    ):
        assert part in msg
    with pytest.raises(ValueError, match="n_teams is required without data"):
        staggered_power(None)
    with pytest.raises(ValueError, match=r"at least 20 sellers .*got 3 x 5"):
        staggered_power(None, n_teams=3, team_size=5)


@pytest.mark.slow
def test_null_false_positive_rate_is_at_most_nominal_within_monte_carlo_error():
    """100 null replications (6 teams of 9, 2 waves over 5 quarters): the share of *worked* or
    *harmed* verdicts with nothing planted is at most what a 5% test gives, up to a one-sided 0.5%
    binomial margin (at most 11 of 100)."""
    from scipy import stats

    res = staggered_power(
        None, effect=0.05, n_teams=6, team_size=9, cohorts=2, quarters=5, n_sims=100, seed=11
    )
    null = res.replications[res.replications["kind"] == "null"]
    assert len(null) == 100 and (null["truth"] == 0).all()
    n_false = int(null["detected"].sum())
    assert n_false <= stats.binom.ppf(0.995, len(null), 0.05), (n_false, len(null))
