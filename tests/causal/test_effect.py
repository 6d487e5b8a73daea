"""Effect / Diagnostic / Verdict: every verdict branch on hand-made effects, rendering, frames, plots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.causal import Diagnostic, Effect, Verdict
from salesinsight.causal.effect import EffectSpec


def make(
    estimate: float = 1.0,
    se: float = 0.25,
    ci: tuple[float, float] | None = None,
    *,
    higher_is_better: bool = True,
    diagnostics: tuple[Diagnostic, ...] = (),
    ci_level: float = 0.95,
    **kw,
) -> Effect:
    z = 1.959963984540054  # norm.ppf(0.975), written out
    low, high = ci if ci is not None else (estimate - z * se, estimate + z * se)
    return Effect(
        estimate=estimate,
        se=se,
        ci_low=low,
        ci_high=high,
        p_value=0.01,
        n_units=20,
        n_obs=200,
        method="hand",
        outcome="win_rate",
        spec={"ci_level": ci_level},
        diagnostics=diagnostics,
        higher_is_better=higher_is_better,
        **kw,
    )


# ---------------------------------------------------------------- verdict branches
def test_worked_interval_excludes_zero_good_side():
    v = make(1.0, ci=(0.5, 1.5)).verdict()
    assert v.label == "worked"
    assert "excludes zero" in v.reason


def test_worked_requires_estimate_to_clear_min_effect():
    # interval (0.5, 1.5) excludes zero, estimate 1.0 >= 0.8 -> worked
    assert make(1.0, ci=(0.5, 1.5)).verdict(min_effect=0.8).label == "worked"
    # estimate 1.0 < 1.2 and the interval reaches beyond 1.2 -> inconclusive
    v = make(1.0, ci=(0.5, 1.5)).verdict(min_effect=1.2)
    assert v.label == "inconclusive"
    assert "below" in v.reason


def test_significant_but_smaller_than_min_effect_is_no_detectable_effect():
    v = make(1.0, ci=(0.5, 1.5)).verdict(min_effect=2.0)
    assert v.label == "no detectable effect"
    assert "too small to matter" in v.reason


def test_harmed_interval_excludes_zero_bad_side():
    v = make(-1.0, ci=(-1.5, -0.5)).verdict(min_effect=5.0)
    assert v.label == "harmed"


def test_no_detectable_effect_inside_min_effect_band():
    v = make(0.01, ci=(-0.2, 0.3)).verdict(min_effect=0.3)
    assert v.label == "no detectable effect"


def test_inconclusive_when_interval_straddles_zero_and_band():
    v = make(0.1, ci=(-0.5, 0.7)).verdict(min_effect=0.3)
    assert v.label == "inconclusive"
    assert "includes zero" in v.reason


def test_inconclusive_with_zero_min_effect_when_interval_contains_zero():
    # with min_effect = 0 the band is a point, so an interval around zero can never be "inside" it
    assert make(0.0, ci=(-0.1, 0.1)).verdict(min_effect=0.0).label == "inconclusive"


def test_lower_is_better_flips_direction():
    # e.g. attrition: a decrease is good
    down = make(-1.0, ci=(-1.5, -0.5), higher_is_better=False)
    up = make(1.0, ci=(0.5, 1.5), higher_is_better=False)
    assert down.verdict().label == "worked"
    assert up.verdict().label == "harmed"
    assert down.verdict(min_effect=0.8).label == "worked"
    assert down.verdict(min_effect=1.2).label == "inconclusive"


def test_failed_required_diagnostic_makes_inconclusive():
    bad = Diagnostic("pre_trends", passed=False, statistic=9.0, p_value=0.001)
    v = make(1.0, ci=(0.5, 1.5), diagnostics=(bad,)).verdict()
    assert v.label == "inconclusive"
    assert "pre_trends" in v.reason


def test_failed_optional_or_unknown_diagnostic_does_not_block():
    opt = Diagnostic("placebo", passed=False, required=False)
    na = Diagnostic("balance", passed=None)
    ok = Diagnostic("overlap", passed=True)
    assert make(1.0, ci=(0.5, 1.5), diagnostics=(opt, na, ok)).verdict().label == "worked"


def test_nan_estimate_is_inconclusive():
    e = make(float("nan"), ci=(float("nan"), float("nan")))
    assert e.verdict().label == "inconclusive"


def test_alpha_changes_interval_via_normal_critical_value():
    # estimate 0.5, se 0.25: 95% interval (0.01, 0.99) excludes 0; 99% interval
    # 0.5 ± 2.5758 * 0.25 = (-0.144, 1.144) includes 0.
    e = make(0.5, se=0.25)
    assert e.verdict(alpha=0.05).label == "worked"
    assert e.verdict(alpha=0.01).label == "inconclusive"
    low, high = e.interval(alpha=0.01)
    assert_allclose(
        [low, high], [0.5 - 2.5758293 * 0.25, 0.5 + 2.5758293 * 0.25], rtol=0, atol=1e-6
    )


def test_stored_interval_used_when_level_matches():
    # a deliberately asymmetric stored interval (e.g. bootstrap) must be used as is at its level
    e = make(0.5, se=1.0, ci=(0.1, 0.9), ci_level=0.9)
    assert e.interval(alpha=0.10) == (0.1, 0.9)
    assert e.verdict(alpha=0.10).label == "worked"
    # at 95% it falls back to 0.5 ± 1.96 -> includes zero
    assert e.verdict(alpha=0.05).label == "inconclusive"


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_bad_min_effect(bad):
    with pytest.raises(ValueError, match="min_effect"):
        make().verdict(min_effect=bad)


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5])
def test_bad_alpha(bad):
    with pytest.raises(ValueError, match="alpha"):
        make().verdict(alpha=bad)


def test_verdict_label_validated_and_frozen():
    with pytest.raises(ValueError, match="label"):
        Verdict("great", "because")
    e = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.estimate = 2.0  # type: ignore[misc]


# ---------------------------------------------------------------- rendering
def test_summary_mentions_relative_effect_interval_and_diagnostics():
    d = Diagnostic("balance", passed=True, statistic=0.04, p_value=0.7, note="covariates balanced")
    e = make(0.02, ci=(0.01, 0.03), diagnostics=(d,), baseline=0.2)
    text = str(e)
    assert text == e.summary().to_text()
    assert "+10.00%" in text  # 0.02 / 0.2
    assert "[0.01, 0.03]" in text
    assert "balance: passed" in text and "p = 0.7000" in text
    assert "n units         20" in text


def test_spec_is_typed_and_reads_as_a_mapping():
    e = make()
    e2 = dataclasses.replace(
        e,
        spec={
            "ci_level": 0.9,
            "inference": "HC2",
            "versions": {"numpy": "2.0"},
            "notes": "one caveat",
            "seed": 3,
        },
    )
    spec = e2.spec
    assert isinstance(spec, EffectSpec) and e2.specification is spec
    assert spec.ci_level == 0.9 and e2.ci_level == 0.9
    assert spec.inference == "HC2" and spec["inference"] == "HC2"
    assert dict(spec.versions) == {"numpy": "2.0"}
    assert spec.notes == ("one caveat",) and e2.notes == ("one caveat",)
    assert spec.options == {"seed": 3} and spec["seed"] == 3 and spec.get("missing") is None
    assert {**spec, "x": 1}["seed"] == 3  # mappings merge as before
    with pytest.raises(TypeError):
        spec.options["seed"] = 4  # type: ignore[index]
    with pytest.raises(ValueError, match="typed keys"):
        EffectSpec(options={"versions": {}})
    with pytest.raises(ValueError, match="ci_level"):
        EffectSpec(ci_level=95)


def test_extras_are_read_only_with_typed_accessors():
    e = dataclasses.replace(make(), extras={"bracket": [0.1, 0.3], "ri_p_value": 0.04})
    assert e.bracket == (0.1, 0.3) and e.ri_p_value == 0.04
    assert make().bracket is None and make().ri_p_value is None
    with pytest.raises(TypeError):
        e.extras["bracket"] = [0.0]  # type: ignore[index]


def test_repr_html_escapes_text():
    e = dataclasses.replace(make(), outcome="<script>x</script>")
    out = e._repr_html_()
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_to_frame_with_terms():
    terms = pd.DataFrame(
        {
            "term": [-1, 0, 1],
            "estimate": [0.0, 0.1, 0.2],
            "se": [0.05, 0.05, 0.05],
            "ci_low": [-0.1, 0.0, 0.1],
            "ci_high": [0.1, 0.2, 0.3],
        }
    )
    f = make(terms=terms).to_frame()
    assert list(f.columns[:10]) == [
        "term",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "n_units",
        "n_obs",
        "method",
        "outcome",
    ]
    assert list(f["term"]) == ["effect", "-1", "0", "1"]
    assert_allclose(f["estimate"].to_numpy(dtype=float), [1.0, 0.0, 0.1, 0.2], rtol=0, atol=0)
    assert f["p_value"].iloc[1:].isna().all()
    assert (f["outcome"] == "win_rate").all()


def test_plot_event_study_and_counterfactual_and_error():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    terms = pd.DataFrame({"term": [-2, -1, 0, 1], "estimate": [0, 0, 1, 2], "se": [1] * 4}).assign(
        ci_low=lambda d: d.estimate - 1, ci_high=lambda d: d.estimate + 1
    )
    ax = make(terms=terms).plot()
    assert len(ax.lines) >= 1
    plt.close("all")
    path = pd.DataFrame(
        {
            "time": np.arange(6),
            "observed": np.arange(6.0),
            "counterfactual": np.zeros(6),
            "cf_low": -np.ones(6),
            "cf_high": np.ones(6),
        }
    )
    fig, ax0 = plt.subplots()
    assert make(path=path).plot(ax=ax0) is ax0
    assert make(path=path).plot_data().equals(path)
    plt.close("all")


def test_plot_without_terms_or_path_draws_the_estimate_and_its_interval():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # estimate 1, se 0.25: the interval is 1 -/+ 1.959964 * 0.25 = [0.510009, 1.489991] (by hand)
    e = make()
    data = e.plot_data()
    assert list(data["term"]) == ["effect"]
    assert_allclose(
        data[["estimate", "ci_low", "ci_high"]].to_numpy()[0], [1.0, 0.510009, 1.489991], atol=1e-6
    )
    fig, ax = plt.subplots()
    try:
        assert e.plot(ax=ax) is ax
        (bar,) = ax.containers
        point, _caps, (segments,) = bar.lines
        assert list(point.get_xdata()) == [1.0]
        ((x0, _), (x1, _)) = segments.get_segments()[0]
        assert_allclose([x0, x1], [e.ci_low, e.ci_high], rtol=0, atol=1e-12)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["hand"]
    finally:
        plt.close("all")
