"""The results contract (``salesinsight/results.py``): one summary, three renderings."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml

from salesinsight import attribution, mentoring, metrics, research, reviews
from salesinsight.actions import build_actions
from salesinsight.attribution import oaxaca_blinder, program_contribution
from salesinsight.causal import Diagnostic, Effect, compare, dr_learner, staggered_did
from salesinsight.data import load
from salesinsight.evaluation import evaluate
from salesinsight.metrics import panel
from salesinsight.research.registry import load_registry, run_registry
from salesinsight.results import (
    MAX_TABLE_ROWS,
    Badge,
    KpiName,
    Result,
    Summary,
    Table,
    fmt_value,
)
from salesinsight.simulate import crm

matplotlib.use("Agg")


def _summary() -> Summary:
    table = pd.DataFrame(
        {"rep_id": ["R1", "<b>R2</b>"], "win_rate": [0.123456, np.nan], "n": [3, 4]}
    )
    return Summary(
        title="Win rates & <script>alert(1)</script>",
        rows=[("reps", 2), ("median", 0.25), ("share", float("nan")), ("flag", True)],
        tables=[("Per rep | team", table)],
        notes=["a *note* with _markup_"],
        sections=[Summary("Diagnostics", notes=["balance: passed"])],
    )


def test_values_are_formatted_once() -> None:
    assert [fmt_value(v) for v in (0.123456, 12345678.0, 3, np.int64(4), None, np.nan, pd.NA, True)] == [
        "0.1235", "1.235e+07", "3", "4", "n/a", "n/a", "n/a", "yes",
    ]  # fmt: skip


def test_text_lines_up_rows_tables_notes_and_sections() -> None:
    text = _summary().to_text()
    lines = text.splitlines()
    assert lines[0] == "Win rates & <script>alert(1)</script>"
    assert lines[1] == "  reps            2" and lines[2] == "  median          0.25"
    assert "  share           n/a" in lines and "  flag            yes" in lines
    assert "Per rep | team" in lines
    # columns as wide as their longest cell ("<b>R2</b>", 9 characters), two spaces apart
    assert "  rep_id     win_rate  n" in lines and "  R1         0.1235    3" in lines
    assert "  - a *note* with _markup_" in lines
    assert lines[-2:] == ["Diagnostics", "  - balance: passed"]
    assert str(_summary()) == text


def test_html_escapes_everything_from_data_and_keeps_the_numbers() -> None:
    page = _summary().to_html()
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;R2&lt;/b&gt;" in page
    for number in ("0.1235", "0.25", "n/a"):
        assert f"<td>{number}</td>" in page
    assert "<li>balance: passed</li>" in page


def test_markdown_escapes_markup_and_pipes() -> None:
    md = _summary().to_markdown()
    assert "**Win rates &amp; &lt;script&gt;alert(1)&lt;/script&gt;**" in md
    assert "| median | 0.25 |" in md
    assert "Per rep \\| team" in md and "\\*note\\* with \\_markup\\_" in md
    assert "| &lt;b&gt;R2&lt;/b&gt; | n/a | 4 |" in md


def test_long_tables_are_cut_and_say_so() -> None:
    big = pd.DataFrame({"x": np.arange(MAX_TABLE_ROWS + 5)})
    s = Summary("big", tables=[("", big)])
    assert f"... 5 more rows (first {MAX_TABLE_ROWS} of {MAX_TABLE_ROWS + 5} shown)" in s.to_text()
    assert str(MAX_TABLE_ROWS + 4) not in s.to_text().split()
    assert "5 more rows" in s.to_html() and "5 more rows" in s.to_markdown()


def test_a_summary_says_its_own_words_in_its_language() -> None:
    big = pd.DataFrame({"x": [1.5, np.nan, 3.0]})
    zh = Summary(
        "胜率", rows=[("有", True), ("缺", None)], tables=[Table(big, max_rows=2)], language="zh-CN"
    )
    text = zh.to_text()
    # the words come from the zh_CN catalog; English stays the message id
    lines = text.splitlines()
    assert lines[1].split() == ["有", "是"] and lines[2].split() == ["缺", "不适用"]
    assert "n/a" not in text and "……另有1行（共3行，显示前2行）" in text
    assert "| 项目 | 值 |" in zh.to_markdown()
    assert fmt_value(False, "zh-CN") == "否" and fmt_value(np.nan, "zh-CN") == "不适用"
    en = Summary("t", rows=[("flag", False)], tables=[Table(big, max_rows=2)])
    assert (
        "  flag            no" in en.to_text()
        and "... 1 more rows (first 2 of 3 shown)" in en.to_text()
    )
    with pytest.raises(ValueError, match="language 'fr'"):
        Summary("t", language="fr")


def test_kpi_names_come_from_the_registry_in_the_summary_language() -> None:
    frame = pd.DataFrame(
        {"outcome": [KpiName("win_rate"), KpiName("follow_ups"), KpiName("odd_kpi")]}
    )
    zh = Summary("", tables=[("", frame)], language="zh-CN")
    en = Summary("", tables=[("", frame)])
    # the registry's names, written out here by hand
    assert ["赢单率", "跟进次数", "odd kpi"] == [ln.strip() for ln in zh.to_text().splitlines()[1:]]
    assert ["win rate", "follow-ups", "odd kpi"] == [
        ln.strip() for ln in en.to_text().splitlines()[1:]
    ]
    assert "<td>赢单率</td>" in zh.to_html() and "| 赢单率 |" in zh.to_markdown()


def test_table_layout_and_badges_are_escaped_for_elements_and_attributes() -> None:
    hostile = '"><script>alert(1)</script>'
    frame = pd.DataFrame(
        [[Badge("worked <b>", colour=hostile), "+3.5 pp", "a & b"]],
        columns=["verdict", "effect", "why"],
    )
    s = Summary("", tables=[Table(frame, numeric=(1,), css='si-effects x"y')])
    page = s.to_html()
    assert "<script" not in page and "<b>" not in page
    tags = set(re.findall(r"</?([a-zA-Z]+)", page))
    assert tags == {"div", "table", "thead", "tbody", "tr", "th", "td", "span"}
    # every attribute value is quoted and holds no raw quote or angle bracket
    attrs = re.findall(r'\s([a-z]+)="([^"]*)"', page)
    assert {a for a, _ in attrs} == {"class", "style"}
    assert all("<" not in v and ">" not in v for _, v in attrs)
    assert '<table class="si-table si-effects x&quot;y">' in page
    assert '<th class="si-text">verdict</th><th class="si-num">effect</th>' in page
    assert '<td class="si-num">+3.5 pp</td><td class="si-text">a &amp; b</td>' in page
    assert 'style="background:&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert ">worked &lt;b&gt;</span>" in page
    # text and Markdown show the badge's words only
    assert "worked <b>" in s.to_text() and "worked &lt;b&gt;" in s.to_markdown()
    # a table without layout keeps the bare cells of the notebook display
    plain = Summary("", tables=[("", frame)]).to_html()
    assert "<table><thead><tr><th>verdict</th>" in plain and "si-num" not in plain


def test_max_rows_none_shows_every_row() -> None:
    big = pd.DataFrame({"x": np.arange(MAX_TABLE_ROWS + 5)})
    s = Summary("", tables=[Table(big, max_rows=None)])
    assert "more rows" not in s.to_text() and str(MAX_TABLE_ROWS + 4) in s.to_text().split()


def test_from_lines_makes_the_first_line_the_title_and_drops_list_markers() -> None:
    s = Summary.from_lines(["Title here.", "- first", "  - second", "", "Note: third"])
    assert s.title == "Title here." and s.notes == ("first", "second", "Note: third")
    assert s.to_text() == "Title here.\n  - first\n  - second\n  - Note: third"


# ---------------------------------------------------------------------------------------------------------
# Conformance: every public result class, found through the packages' __all__, keeps the contract.
# ---------------------------------------------------------------------------------------------------------
#: public classes with to_frame()/summary() that are not analysis results, and why.
EXCLUDED: dict[str, str] = {
    "salesinsight.data.problems.ValidationReport": (
        "a data folder's check, printed by `salesinsight validate`: a list of problems to fix, "
        "nothing to plot; its text is the command's output"
    ),
    "salesinsight.data.importers.run.ImportResult": (
        "what `salesinsight import` wrote (tables, rows, files): nothing to plot; its text is the "
        "command's output"
    ),
}


def _public_classes() -> dict[str, type]:
    """Classes named in the ``__all__`` of salesinsight's packages and top-level modules."""
    import importlib
    import inspect
    import pkgutil

    import salesinsight

    names = [m.name for m in pkgutil.iter_modules(salesinsight.__path__, "salesinsight.")]
    names += [
        m.name
        for m in pkgutil.walk_packages(salesinsight.__path__, "salesinsight.")
        if m.ispkg and m.name.count(".") > 1
    ]
    found: dict[str, type] = {}
    for name in sorted(set(names)):
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if getattr(obj, "_is_protocol", False):
                continue  # the Result protocol itself
            if inspect.isclass(obj) and all(
                callable(getattr(obj, m, None)) for m in ("to_frame", "summary")
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


PUBLIC = _public_classes()


def test_the_search_finds_the_result_classes() -> None:
    """A sanity floor: the search through __all__ sees every package's results."""
    packages = {name.split(".")[1] for name in PUBLIC}
    assert {"causal", "metrics", "attribution", "reviews", "mentoring", "research"} <= packages
    assert len(PUBLIC) >= 33
    stale = sorted(set(EXCLUDED) - set(PUBLIC))
    assert not stale, f"excluded classes that are no longer public results: {stale}"


# ---------------------------------------------------------------- small instances, one per class
@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A small simulated CRM folder (120 reps, 6 quarters), loaded."""
    folder = crm(tmp_path_factory.mktemp("results"), seed=3, n_reps=120, quarters=6)
    with load(folder) as ds:
        yield ds


def _effect_with_terms() -> Effect:
    terms = pd.DataFrame(
        {
            "term": [-2, -1, 0, 1],
            "estimate": [0.01, -0.02, 0.31, 0.42],
            "se": [0.05, 0.05, 0.06, 0.07],
            "ci_low": [-0.088, -0.118, 0.1924, 0.2828],
            "ci_high": [0.108, 0.078, 0.4276, 0.5572],
        }
    )
    return Effect(
        estimate=0.365, se=0.05, ci_low=0.267, ci_high=0.463, p_value=3e-13, n_units=80,
        n_obs=640, method="hand-made event study", outcome="win_rate",
        spec={"inference": "cluster-robust by rep <CR1>", "notes": "a note & a caveat"},
        diagnostics=(Diagnostic("pre_trends", passed=True, statistic=0.9, p_value=0.64),),
        baseline=0.25, terms=terms,
    )  # fmt: skip


def _staggered(_: Any) -> Any:
    rng = np.random.default_rng(4)
    rows = []
    for unit in range(60):
        cohort = (0, 3, 4)[unit % 3]  # 0 = never treated
        for t in range(1, 7):
            effect = 1.0 if cohort and t >= cohort else 0.0
            rows.append((unit, t, cohort, 0.2 * t + effect + rng.normal(scale=0.5)))
    df = pd.DataFrame(rows, columns=["unit", "time", "cohort", "y"])
    return staggered_did(
        df, outcome="y", unit="unit", time="time", cohort="cohort", bstrap_iters=99
    )


def _conditional(_: Any) -> Any:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 2))
    d = rng.integers(0, 2, 400)
    y = x[:, 0] + d * (1.0 + 0.5 * x[:, 1]) + rng.normal(size=400)
    df = pd.DataFrame({"y": y, "d": d, "x1": x[:, 0], "x2": x[:, 1]})
    lin = {"outcome": LinearRegression(), "propensity": LogisticRegression()}
    return dr_learner(df, outcome="y", treatment="d", covariates=["x1", "x2"], learners=lin)


def _oaxaca(_: Any) -> Any:
    rng = np.random.default_rng(6)
    g = np.repeat(["a", "b"], 150)
    x = rng.normal(size=300) + (g == "a")
    y = 2.0 + 1.5 * x + 0.5 * (g == "a") + rng.normal(size=300)
    return oaxaca_blinder(
        pd.DataFrame({"y": y, "g": g, "x": x}), outcome="y", group="g", covariates=["x"], n_boot=99
    )


def _contribution(_: Any) -> Any:
    panel = pd.DataFrame({"period": ["2026Q1", "2026Q2"], "revenue": [1000.0, 1300.0]})
    effects = {
        "P_A": dataclasses.replace(
            _effect_with_terms(), outcome="revenue", estimate=2.0, se=0.5, ci_low=1.02, ci_high=2.98
        )
    }
    return program_contribution(
        panel, effects, {"P_A": (10.0, 60.0)}, kpi="revenue", base="2026Q1", current="2026Q2"
    )


_CACHE: dict[str, Any] = {}


def _once(key: str, build: Callable[[], Any]) -> Any:
    """One analysis shared by the classes it returns (reviews and mentoring parts)."""
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def _reviews(ds: Any) -> Any:
    return _once("reviews", lambda: reviews.analyze_reviews(ds, n_boot=29))


def _mentoring(ds: Any) -> Any:
    return _once("mentoring", lambda: mentoring.analyze_mentoring(ds, n_boot=29))


def _quarter_panel(ds: Any, by: str) -> pd.DataFrame:
    return panel(ds, grain="quarter", by=by)


def _registry(ds: Any, tmp: Any) -> Any:
    doc = {
        "data_dir": str(ds.folder),
        "n_boot": 99,
        "hypotheses": [
            {
                "id": "H_pull", "statement": "Behind-quota sellers pull deals in.",
                "outcome": "pulled_deals", "population": "sellers", "direction": "increase",
                "min_effect": 20, "design": "pull_in", "registered": "2024-06-01",
            }
        ],
    }  # fmt: skip
    path = tmp / "h.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return run_registry(load_registry(path))


def _actions(_: Any) -> Any:
    reps = pd.DataFrame(
        {
            "rep_id": ["M1", "A", "B"], "team_id": ["T1"] * 3,
            "hire_date": ["2020-01-01"] * 3, "manager_id": ["", "M1", "M1"],
            "role": ["manager", "ae", "ae"],
        }
    )  # fmt: skip
    forecast_ = pd.DataFrame(
        {"rep_id": ["A", "B"], "team_id": ["T1"] * 2, "quota": [300_000.0, 50_000.0],
         "suggested_quota": [100_000.0, 120_000.0]}
    )  # fmt: skip
    history = pd.DataFrame(
        [
            {"rep_id": rep, "period": q, "attainment": att}
            for rep, att in {"A": 0.4, "B": 2.2}.items()
            for q in ("2025Q3", "2025Q4", "2026Q1", "2026Q2")
        ]
    )
    return build_actions(
        reps=reps,
        forecast=forecast_,
        attainment_history=history,
        as_of=pd.Timestamp("2026-06-30"),
    )


#: class -> how to build a small instance from the simulated folder (argument: (Dataset, tmp dir)).
FACTORIES: dict[str, Callable[[Any, Any], Any]] = {
    "salesinsight.actions.ActionPlan": lambda ds, tmp: _actions(ds),
    "salesinsight.causal.effect.Effect": lambda ds, tmp: _effect_with_terms(),
    "salesinsight.causal._compare.EffectComparison": lambda ds, tmp: compare(
        _effect_with_terms(), dataclasses.replace(_effect_with_terms(), method="other <design>")
    ),
    "salesinsight.causal.did_result.StaggeredDiD": lambda ds, tmp: _staggered(ds),
    "salesinsight.causal._heterogeneity.ConditionalEffects": lambda ds, tmp: _conditional(ds),
    # a staggered program: its event study is the plot (a randomized one: test below)
    "salesinsight.evaluation.result.ProgramEvaluation": lambda ds, tmp: evaluate(
        ds, "P_TRAIN", outcomes=("win_rate",)
    ),
    "salesinsight.metrics._profiles.Profiles": lambda ds, tmp: metrics.profiles(ds, "2026Q2"),
    "salesinsight.metrics._forecast.QuotaPlan": lambda ds, tmp: metrics.forecast(ds, n_draws=300),
    "salesinsight.metrics._early_warning.EarlyWarning": lambda ds, tmp: metrics.early_warning(
        ds, as_of="2026-05-15", n_draws=300
    ),
    "salesinsight.metrics.leading.LeadingIndicators": lambda ds, tmp: metrics.leading_indicators(
        ds, n_boot=29
    ),
    "salesinsight.attribution.shapley.Decomposition": lambda ds, tmp: attribution.decompose_change(
        _quarter_panel(ds, "team"), base="2026Q1", current="2026Q2"
    ),
    "salesinsight.attribution.mix.MixRate": lambda ds, tmp: attribution.mix_rate(
        _quarter_panel(ds, "team"),
        rate_num="opps_won",
        rate_den="opps_closed",
        segment="team_id",
        base="2026Q1",
        current="2026Q2",
    ),  # fmt: skip
    "salesinsight.attribution.funnel.FunnelGap": lambda ds, tmp: attribution.funnel_gap(
        _quarter_panel(ds, "rep"), period="2026Q2"
    ),
    "salesinsight.attribution.markov.ActivityAttribution": lambda ds, tmp: (
        attribution.activity_attribution(ds)
    ),
    "salesinsight.attribution.oaxaca.OaxacaResult": lambda ds, tmp: _oaxaca(ds),
    "salesinsight.attribution.contribution.ProgramContribution": lambda ds, tmp: _contribution(ds),
    "salesinsight.reviews.analysis.ReviewAnalysis": lambda ds, tmp: _reviews(ds),
    "salesinsight.reviews.agreement.Agreement": lambda ds, tmp: _reviews(ds).agreement,
    "salesinsight.reviews.leniency.Leniency": lambda ds, tmp: _reviews(ds).leniency,
    "salesinsight.reviews.validity.Validity": lambda ds, tmp: _reviews(ds).validity,
    "salesinsight.reviews.gaps.RatingGaps": lambda ds, tmp: _reviews(ds).gaps,
    "salesinsight.mentoring.analysis.MentoringAnalysis": lambda ds, tmp: _mentoring(ds),
    "salesinsight.mentoring.mentors.MentorEffects": lambda ds, tmp: _mentoring(ds).mentors,
    "salesinsight.research._pull_in.PullIn": lambda ds, tmp: research.pull_in(ds, n_boot=99),
    "salesinsight.research._bunching.Bunching": lambda ds, tmp: research.bunching(ds, n_boot=99),
    "salesinsight.research._rd.RDResult": lambda ds, tmp: research.rd(ds, n_boot=99),
    "salesinsight.research._design.Design": lambda ds, tmp: research.design(ds),
    "salesinsight.research._staggered_power.StaggeredPower": lambda ds, tmp: (
        research.staggered_power(
            None, n_teams=4, team_size=8, cohorts=1, quarters=3, share_per_cohort=0.25, n_sims=2
        )
    ),
    "salesinsight.research._assign.Assignment": lambda ds, tmp: research.assign(
        ds, "P_NEW", start_date="2026-07-01"
    ),
    "salesinsight.research.plans.PlanComparison": lambda ds, tmp: research.what_if(ds),
    "salesinsight.research.subgroups.SubgroupEffects": lambda ds, tmp: research.subgroup_effects(
        ds, "P_TRAIN", n_boot=99
    ),
    "salesinsight.research.registry.RegistryResult": _registry,
}

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?")


def test_every_public_result_has_an_instance_or_a_reason() -> None:
    missing = sorted(set(PUBLIC) - set(FACTORIES) - set(EXCLUDED))
    assert not missing, f"public result classes without a conformance instance: {missing}"
    stale = sorted(set(FACTORIES) - set(PUBLIC))
    assert not stale, f"conformance instances of classes that are not public results: {stale}"


@pytest.mark.parametrize("name", sorted(set(PUBLIC) - set(EXCLUDED)))
def test_result_keeps_the_contract(name: str, sim: Any, tmp_path: Any) -> None:
    import inspect

    import matplotlib.pyplot as plt

    cls = PUBLIC[name]
    result = FACTORIES[name](sim, tmp_path)
    assert type(result) is cls
    assert isinstance(result, Result)
    # one summary: str() is its text, _repr_html_ its HTML
    summary = result.summary()
    assert isinstance(summary, Summary)
    text = str(result)
    assert text == summary.to_text() and text.strip()
    page = result._repr_html_()
    assert page == summary.to_html()
    # every number of the text is in the HTML and the Markdown
    numbers = set(_NUMBER.findall(text))
    assert numbers, f"{name}: the summary shows no number"
    markdown = summary.to_markdown()
    lost = sorted(n for n in numbers if n not in page or n not in markdown)
    assert not lost, f"{name}: numbers of the text missing from the HTML or Markdown: {lost[:10]}"
    # HTML escaped: only the renderer's own tags
    tags = set(re.findall(r"</?([a-zA-Z]+)", page))
    assert tags <= {"div", "strong", "table", "thead", "tbody", "tr", "th", "td", "p", "ul", "li"}
    # tidy data behind it
    assert isinstance(result.to_frame(), pd.DataFrame)
    # plot(*, ax=None) keyword-only, drawing on the given Axes
    ax_param = inspect.signature(cls.plot).parameters["ax"]
    assert ax_param.kind is inspect.Parameter.KEYWORD_ONLY and ax_param.default is None
    _, ax = plt.subplots()
    try:
        assert result.plot(ax=ax) is ax
    finally:
        plt.close("all")


def test_a_randomized_program_plots_its_estimate_and_interval(sim: Any) -> None:
    import matplotlib.pyplot as plt

    ev = evaluate(sim, "P_COACH", outcomes=("win_rate",))
    effect = ev.effects["win_rate"]
    assert effect.terms is None and effect.path is None  # drawn as a point and its interval
    _, ax = plt.subplots()
    try:
        assert ev.plot(ax=ax) is ax
        (bar,) = ax.containers
        point, _caps, (segments,) = bar.lines
        ((lo, _), (hi, _)) = segments.get_segments()[0]
        # errorbar draws est -/+ (est - lo): equal up to rounding of that subtraction
        assert list(point.get_xdata()) == [effect.estimate]
        np.testing.assert_allclose([lo, hi], [effect.ci_low, effect.ci_high], rtol=1e-12, atol=0)
    finally:
        plt.close("all")
