"""One chart per design and the capped waterfall (salesinsight.report.charts) on hand-built results."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from salesinsight.i18n import Lang
from salesinsight.report.charts import (
    MAX_WATERFALL_BARS,
    design_figure,
    kpi_trends_figure,
    waterfall_figure,
)

EN = Lang("en", "CNY")


def _effect(**kw):
    base = {
        "estimate": 0.03,
        "ci_low": 0.01,
        "ci_high": 0.05,
        "extras": {},
        "path": None,
        "terms": None,
        "spec": {},
    }
    return SimpleNamespace(**(base | kw))


def _report(design: str, effects: dict, **ev) -> SimpleNamespace:
    naive = ev.pop(
        "naive", pd.DataFrame(columns=["outcome", "comparison", "estimate", "reference"])
    )
    evaluation = SimpleNamespace(
        program={"design": design},
        outcomes=tuple(effects),
        effects=effects,
        naive=naive,
        dynamic=ev.pop("dynamic", {}),
        alternatives=ev.pop("alternatives", {}),
        spec={"grain": "week"},
    )
    return SimpleNamespace(evaluations={"P": evaluation}, sections={})


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def test_randomized_chart_shows_arm_means_on_an_axis_from_zero():
    arms = pd.DataFrame({"arm": [0, 1], "value": [0.24, 0.28]}).set_index("arm", drop=False)
    naive = pd.DataFrame(
        {
            "outcome": ["win_rate"],
            "comparison": ["naive before/after"],
            "estimate": [0.05],
            "reference": [0.23],
        }
    )
    fig = design_figure(
        _report("randomized", {"win_rate": _effect(extras={"arms": arms})}, naive=naive), "P", EN
    )
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [0.23, 0.28, 0.24], rtol=0, atol=1e-12)
    assert ax.get_ylim()[0] == 0
    assert "drawn to wait,\nafter" in [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)


def test_staggered_chart_is_the_event_study_per_month():
    terms = pd.DataFrame(
        {
            "term": [-2, -1, 0, 1],
            "estimate": [0.0, 10.0, 100.0, 120.0],
            "ci_low": [-5.0, 0.0, 50.0, 60.0],
            "ci_high": [5.0, 20.0, 150.0, 180.0],
        }
    )
    rep = _report("staggered", {"revenue": _effect()}, dynamic={"revenue": _effect(terms=terms)})
    fig = design_figure(rep, "P", EN)
    line = fig.axes[0].get_lines()[0]
    # per seller-week -> per seller-month: x 52/12
    np.testing.assert_allclose(line.get_ydata(), [0, 43.333, 433.333, 520.0], rtol=1e-4)
    assert "weeks since the start" in _texts(fig)
    plt.close(fig)


def test_single_rollout_chart_draws_observed_and_counterfactual_with_object_time():
    path = pd.DataFrame(
        {
            "time": pd.Series([1, 2, 3, 4], dtype=object),
            "observed": [0.2, 0.21, 0.3, 0.31],
            "counterfactual": [0.2, 0.2, 0.21, 0.2],
            "cf_low": [0.19] * 4,
            "cf_high": [0.22] * 4,
        }
    )
    sc = _effect(path=path, spec={"treatment_time": 3})
    rep = _report(
        "single_rollout",
        {"win_rate": _effect()},
        alternatives={"win_rate": {"synthetic_control": sc}},
    )
    fig = design_figure(rep, "P", EN)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0
    labels = [line.get_label() for line in ax.get_lines()]
    assert "observed" in labels and "without the program (estimated)" in labels
    assert any(line.get_xdata()[0] == 2.5 for line in ax.get_lines())  # the start marker
    plt.close(fig)


def test_observational_chart_shows_each_design_and_the_naive_comparison():
    naive = pd.DataFrame(
        {
            "outcome": ["csat"],
            "comparison": ["naive treated vs untreated"],
            "estimate": [0.08],
            "reference": [0.7],
        }
    )
    rep = _report(
        "observational",
        {"csat": _effect()},
        naive=naive,
        alternatives={"csat": {"aipw": _effect(estimate=0.02)}},
    )
    fig = design_figure(rep, "P", EN)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["all ways together (the verdict)", "weighted comparison", "naive comparison"]
    plt.close(fig)


@pytest.mark.parametrize("n_teams", [5, 12, 40])
def test_waterfall_has_at_most_a_dozen_labelled_change_bars(n_teams):
    rng = np.random.default_rng(3)
    base = rng.uniform(1e5, 3e5, n_teams)
    change = rng.normal(0, 3e4, n_teams)
    teams = [f"T{i:02d}" for i in range(n_teams)]
    frame = pd.DataFrame(
        {"team_id": teams, "kpi_base": base, "kpi_current": base + change, "total_change": change}
    )
    rep = SimpleNamespace(sections={"attribution": SimpleNamespace(to_frame=lambda: frame)})
    fig = waterfall_figure(rep, EN)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "total change"
    assert len(labels) - 1 == min(n_teams, MAX_WATERFALL_BARS)  # change bars, "others" included
    largest = pd.Series(np.abs(change), index=teams).sort_values(ascending=False).index
    if n_teams > MAX_WATERFALL_BARS:
        assert labels[-2] == f"{n_teams - (MAX_WATERFALL_BARS - 1)} other teams"
        assert labels[:-2] == list(largest[: MAX_WATERFALL_BARS - 1])
    else:
        assert labels[:-1] == list(largest)
    # the steps add up to the total change, and the total bar starts at zero
    steps = ax.patches[:-1]
    np.testing.assert_allclose(sum(p.get_height() for p in steps), change.sum(), rtol=1e-9)
    assert ax.patches[-1].get_y() == 0
    np.testing.assert_allclose(ax.patches[-1].get_height(), change.sum(), rtol=1e-9)
    plt.close(fig)


def test_kpi_trends_start_at_zero_and_skip_empty_quarters():
    company = pd.DataFrame(
        {
            "period": ["2026Q1", "2026Q2", "2026Q3"],
            "revenue": [0.0, 6.5e7, 6.9e7],
            "win_rate": [np.nan, 0.25, 0.26],
        }
    )
    fig = kpi_trends_figure(SimpleNamespace(kpi_company=company), EN)
    for ax in fig.axes:
        assert ax.get_ylim()[0] == 0
        assert list(ax.get_lines()[0].get_xdata()) == ["2026Q2", "2026Q3"]
    plt.close(fig)
