"""The observational route: the bracket's rules on hand-made effects, and the verdict on
simulated selection scenarios where one design's assumption is broken on purpose.

The fast cells here are a few of the Monte Carlo in ``benchmarks/bench_observational.py`` (whose
200-replication table is in docs/validation-observational.md); the ``slow`` test runs all of it.
"""

from __future__ import annotations

import pytest
from scipy import stats

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.observational import _bracket, bracket_designs, observational_history
from salesinsight.simulate.selection import SCENARIOS, selection_panel


def _eff(est: float, se: float, *diags: Diagnostic) -> Effect:
    z = stats.norm.ppf(0.975)
    return Effect(
        estimate=est,
        se=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        p_value=float(2 * stats.norm.sf(abs(est / se))),
        n_units=100,
        n_obs=1000,
        method="m",
        outcome="y",
        spec={},
        diagnostics=diags,
        baseline=0.3,
    )


FAIL = Diagnostic("placebo_date", False, required=True)


def test_worked_only_when_every_carrying_design_clears_zero_and_min_effect():
    b = _bracket(
        {
            "fe_did": _eff(0.05, 0.01),
            "lagged_outcome": _eff(0.02, 0.005),
            "synthetic_did": _eff(0.04, 0.01),
        },
        0.05,
        True,
    )
    assert b.extras["bracket"] == (0.02, 0.05)
    assert b.p_value == max(
        _eff(x, s).p_value for x, s in ((0.05, 0.01), (0.02, 0.005), (0.04, 0.01))
    )
    assert b.verdict(min_effect=0.01).label == "worked"
    # 0.02 (the low end) is below a minimum effect of 0.03, though the midpoint is above it
    v = b.verdict(min_effect=0.03)
    assert v.label == "inconclusive"


def test_opposite_biases_make_it_inconclusive_with_the_range_in_words():
    b = _bracket(
        {
            "fe_did": _eff(-0.04, 0.01),
            "lagged_outcome": _eff(0.03, 0.01),
            "synthetic_did": _eff(-0.01, 0.01),
        },
        0.05,
        True,
    )
    v = b.verdict()
    assert v.label == "inconclusive"
    assert "between -0.04 and 0.03 depending on why people were enrolled" in v.reason


def test_a_design_that_fails_its_own_check_does_not_carry():
    b = _bracket(
        {
            "fe_did": _eff(0.05, 0.01),
            "lagged_outcome": _eff(0.10, 0.01, FAIL),
            "synthetic_did": _eff(0.05, 0.01),
        },
        0.05,
        True,
    )
    assert b.extras["carrying"] == ("fe_did", "synthetic_did")
    assert b.ci_high < 0.10
    assert {d.name: d for d in b.diagnostics}["designs_carrying"].passed


def test_synthetic_did_never_carries_alone_and_no_carrier_is_inconclusive():
    b = _bracket(
        {
            "fe_did": _eff(0.05, 0.01, FAIL),
            "lagged_outcome": _eff(0.10, 0.01, FAIL),
            "synthetic_did": _eff(0.08, 0.01),
        },
        0.05,
        True,
    )
    assert b.extras["carrying"] == ()
    v = b.verdict()
    assert v.label == "inconclusive" and "designs_carrying" in v.reason


def _verdicts(scenario: str, effect: float, seeds: range, n_units: int = 200) -> list[str]:
    out = []
    for seed in seeds:
        sp = selection_panel(scenario, effect=effect, seed=seed, n_units=n_units)
        f = sp.frame
        h, ppq = observational_history(
            f, f["won"], f["closed"], sp.starts, sp.window, frozenset(), sp.exposure, sp.tenure
        )
        out.append(bracket_designs(h, bin_size=ppq).primary.verdict().label)
    return out


@pytest.mark.parametrize("scenario", ["level", "streak", "growth"])
def test_zero_effect_is_rarely_called_worked_or_harmed(scenario):
    # the failures: persistent level -> "worked" 9/14, fading streak -> "harmed"; each
    # false verdict has a nominal rate of at most 5%: at most 1 in 8 (binomial tail 6%)
    labels = _verdicts(scenario, 0.0, range(100, 108))
    assert sum(label in ("worked", "harmed") for label in labels) <= 1


def test_a_real_effect_is_found_when_enrolment_followed_a_persistent_level():
    labels = _verdicts("level", 0.08, range(200, 206))
    assert labels.count("worked") >= 4
    assert "harmed" not in labels


def test_each_scenario_breaks_the_design_it_should():
    # persistent level: the lagged-outcome regression is biased up; fading streak (selected on
    # latent form): the fixed-effects DiD, had it kept the selection window, is biased down
    sp = selection_panel("level", effect=0.0, seed=7)
    f = sp.frame
    h, ppq = observational_history(
        f, f["won"], f["closed"], sp.starts, sp.window, frozenset(), sp.exposure, sp.tenure
    )
    run = bracket_designs(h, bin_size=ppq)
    assert run.alternatives["lagged_outcome"].ci_low > 0
    placebo = {d.name: d for d in run.alternatives["lagged_outcome"].diagnostics}["placebo_date"]
    assert placebo.passed is False  # and its own placebo says so
    assert "lagged_outcome" not in run.primary.extras["carrying"]
    assert set(SCENARIOS) == {"level", "streak", "dip", "recent", "growth", "mix"}


@pytest.mark.slow
def test_monte_carlo_false_verdicts_and_coverage(tmp_path):
    """Every scenario x {null, +5 points}, 200 replications (about 40 CPU-minutes)."""
    import importlib.util
    import sys
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_observational.py"
    spec = importlib.util.spec_from_file_location("bench_observational", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_observational", bench)  # the worker processes pickle by name
    spec.loader.exec_module(bench)
    main = bench.main

    out = tmp_path / "mc"
    assert main(["--reps", "200", "--jobs", "2", "--out", str(out)]) == 0
    df = pd.read_csv(out.with_suffix(".csv"))
    br = df[df["design"] == "bracket"]
    for (_sc, eff), g in br.groupby(["scenario", "effect"]):
        if eff == 0:
            n = len(g)
            # 5% nominal: reject if the count is beyond the binomial 99% quantile
            bound = stats.binom.ppf(0.99, n, 0.05)
            assert (g["verdict"] == "worked").sum() <= bound
            assert (g["verdict"] == "harmed").sum() <= bound
    _assert_standard_errors_not_too_small(df)


def _assert_standard_errors_not_too_small(df):
    """Where a design carries the verdict (in at least a fifth of a cell's data sets), its mean
    SE is at least 0.8 of the spread of its estimates there (measured 0.84-1.50, docs/
    validation-observational.md): too-narrow intervals would turn into false verdicts."""
    for (sc, eff, name), g in df[df["design"] != "bracket"].groupby(
        ["scenario", "effect", "design"]
    ):
        car = g[g["carries"].astype(bool)]
        if len(car) >= 0.2 * len(g):
            ratio = car["se"].mean() / car["estimate"].std(ddof=1)
            assert ratio >= 0.8, (sc, eff, name, ratio)


def test_no_comparison_seller_with_the_enrolled_tenure_means_no_tenure_adjusted_verdict():
    # growth, seed 1010 (a cell of the Monte Carlo): the program enrolled recent hires (12-15
    # months) and every comparison seller has 48 months, so the tenure adjustment extrapolates;
    # before the overlap check the DiD reported -259 points (se 138) and was allowed to carry
    sp = selection_panel("growth", effect=0.05, seed=1010)
    f = sp.frame
    h, ppq = observational_history(
        f, f["won"], f["closed"], sp.starts, sp.window, frozenset(), sp.exposure, sp.tenure
    )
    run = bracket_designs(h, bin_size=ppq)
    for name in ("fe_did", "lagged_outcome"):
        d = {x.name: x for x in run.alternatives[name].diagnostics}["tenure_overlap"]
        assert d.passed is False and d.value == 0
    assert not {"fe_did", "lagged_outcome"} & set(run.primary.extras["carrying"])
    assert run.primary.verdict().label == "inconclusive"
