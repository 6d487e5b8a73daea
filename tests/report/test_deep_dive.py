"""The program deep dive: every estimate, diagnostic and naive comparison of one program."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.i18n import Lang
from salesinsight.report import deep_dive as dd
from salesinsight.report import deep_dive_sections as dds
from salesinsight.report.html import esc
from salesinsight.report.params import RunParams
from salesinsight.report.sections import VERDICT_RULES
from salesinsight.report.vocabulary import verdict_word

HOSTILE = "<script>alert(1)</script>"
VERDICTS = {"worked", "harmed", "no detectable effect", "inconclusive"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salesinsight.simulate import crm

    folder = crm(tmp_path_factory.mktemp("dive") / "data", seed=4, n_reps=80, quarters=6)
    programs = pd.read_csv(folder / "programs.csv", dtype=str, keep_default_na=False)
    programs.loc[programs["program_id"] == "P_TRAIN", "name"] = f"Training {HOSTILE}"
    programs.to_csv(folder / "programs.csv", index=False)
    return folder


def _params(data: Path, program: str, outcomes: list[str], **kw) -> RunParams:
    return RunParams(
        quarter="2026Q2", data_dir=data, programs=[program], outcomes=outcomes, seed=3, **kw
    )


@pytest.fixture(scope="module")
def staggered(data: Path) -> dd.DeepDive:
    return dd.build_deep_dive(_params(data, "P_TRAIN", ["win_rate", "follow_ups", "attrition"]))


@pytest.fixture(scope="module")
def randomized(data: Path) -> dd.DeepDive:
    return dd.build_deep_dive(_params(data, "P_COACH", ["win_rate", "follow_ups"]))


def test_staggered_keeps_main_event_study_and_twfe_for_every_outcome(staggered):
    # attrition is a team-level outcome: left out of a rep program, with a note saying so
    assert staggered.outcomes == ["win_rate", "follow_ups"]
    assert any("Attrition" in n for n in staggered.notes)
    ev = staggered.evaluation
    for outcome in staggered.outcomes:
        o = staggered.get(outcome)
        roles = [e.role for e in o.estimates]
        assert roles == ["main", "cs_dynamic", "twfe"], roles
        # every Effect the evaluation produced is kept, unchanged
        assert o.main is ev.effects[outcome]
        by_role = {e.role: e.effect for e in o.estimates}
        assert by_role["cs_dynamic"] is ev.dynamic[outcome]
        assert by_role["twfe"] is ev.alternatives[outcome]["twfe"]
        assert by_role["twfe"].method == "twfe"
        terms = by_role["cs_dynamic"].terms
        event_time = pd.to_numeric(terms["term"])
        assert (event_time < 0).any() and (event_time >= 0).any()
        assert o.p_adjusted == pytest.approx(ev.p_adjusted[outcome], rel=1e-12, abs=0)
        assert set(o.naive["comparison"]) == {"naive before/after", "naive treated vs untreated"}


def _check_verdict_rules(dive: dd.DeepDive) -> None:
    """The verdict follows the rules written in the report's appendix."""
    alpha = dive.params.alpha
    for o in dive.by_outcome:
        assert o.verdict in VERDICTS
        e = o.main
        assert e is not None
        failed = any(d.required and d.passed is False for d in e.diagnostics)
        sign = 1 if e.higher_is_better else -1
        low, high = sorted((sign * e.ci_low, sign * e.ci_high))
        if failed:
            assert o.verdict == "inconclusive", o.outcome
        elif o.verdict == "worked":
            assert low > 0 and sign * e.estimate >= o.min_effect and o.p_adjusted < alpha
        elif o.verdict == "harmed":
            assert high < 0 and o.p_adjusted < alpha
        elif o.verdict == "no detectable effect":
            assert -o.min_effect <= low and high <= o.min_effect
        else:
            clear_win = low > 0 and sign * e.estimate >= o.min_effect
            assert not (clear_win and o.p_adjusted < alpha)
            assert not (high < 0 and o.p_adjusted < alpha)
            assert not (-o.min_effect <= low and high <= o.min_effect)


def test_verdicts_follow_the_stated_rules(staggered, randomized):
    _check_verdict_rules(staggered)
    _check_verdict_rules(randomized)
    # min_effect "5%" of follow_ups is relative to the untreated baseline
    o = randomized.get("follow_ups")
    assert o.min_effect == pytest.approx(0.05 * abs(o.main.baseline), rel=1e-12, abs=0)


def test_randomized_adds_randomization_inference_on_the_same_experiment(randomized):
    for outcome in randomized.outcomes:
        o = randomized.get(outcome)
        assert [e.role for e in o.estimates] == ["main", "randomization"]
        ri = o.estimates[1].effect
        # the same units, window and adjustment as the evaluation: identical point estimate
        assert_allclose(ri.estimate, o.main.estimate, rtol=1e-10, atol=0)
        assert ri.n_units == o.main.n_units
        # (1 + hits) / (1 + permutations): a multiple of 1/1000 in (0, 1]
        assert 0 < o.ri_p_value <= 1
        assert_allclose(o.ri_p_value * (1 + dd.RI_PERMUTATIONS) % 1, 0, rtol=0, atol=1e-9)
        assert ri.spec["permutations"] == dd.RI_PERMUTATIONS


def test_results_and_tables_are_saved(randomized, tmp_path):
    randomized.save(tmp_path)
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["program"]["program_id"] == "P_COACH"
    assert results["program"]["start_date"] == "2025-04-01"
    fu = results["outcomes"]["follow_ups"]
    assert set(fu["estimates"]) == {"main", "randomization"}
    assert fu["estimates"]["main"]["estimate"] == pytest.approx(
        randomized.get("follow_ups").main.estimate, rel=1e-12, abs=0
    )
    assert fu["verdict"] in VERDICTS
    names = sorted(p.name for p in (tmp_path / "tables").glob("*.csv"))
    assert names == ["diagnostics.csv", "estimates.csv", "naive.csv", "terms.csv"]
    est = pd.read_csv(tmp_path / "tables" / "estimates.csv")
    assert list(est.columns) == list(dd.ESTIMATE_COLUMNS)
    assert len(est) == 4  # 2 outcomes x (main + randomization)
    naive = pd.read_csv(tmp_path / "tables" / "naive.csv")
    assert naive["comparison"].str.startswith("naive").all() and len(naive) == 4


def test_html_is_escaped_and_complete(staggered):
    en = Lang("en")
    head = dds.header_html(staggered)
    assert HOSTILE not in head and esc(f"Training {HOSTILE}") in head
    for outcome in staggered.outcomes:
        block = dds.outcome_html(staggered, outcome)
        for est in staggered.get(outcome).estimates:
            assert esc(est.label) in block
        assert f">{esc(verdict_word(en, staggered.get(outcome).verdict))}<" in block
        assert "same trend before the start" in block  # the pre-trends check, in words
        assert "Two-way fixed effects say" in block
        # the estimates and checks tables are Summary tables (report.html.summary_table)
        assert block.count('<div class="si-result"><table class="si-table">') == 2
    naive = dds.naive_html(staggered)
    assert "enrolled sellers after vs before" in naive and "Why not the naive comparison?" in naive
    appendix = dds.appendix_html(staggered)
    assert esc(VERDICT_RULES) in appendix
    assert all(name in appendix for name in staggered.fingerprint)
    assert "<script" not in head + appendix + naive


def _in(dive: dd.DeepDive, language: str) -> dd.DeepDive:
    """The same deep dive shown in another language (only the params' language changes)."""
    return dataclasses.replace(dive, params=dive.params.model_copy(update={"language": language}))


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_deep_dive_in_chinese(staggered, randomized):
    zh = _in(staggered, "zh-CN")
    head = _text(dds.header_html(zh))
    assert "项目P_TRAIN（培训；设计：分批启动；按销售分配；" in head
    assert "报告季度2026Q2" in head
    for o in zh.by_outcome:
        assert verdict_word(Lang("zh-CN"), o.verdict) in head
    block = _text(dds.outcome_html(zh, "win_rate"))
    assert "赢单率" in block and "Callaway–Sant'Anna交错双重差分，总体效果（主估计）" in block
    assert "双向固定效应（TWFE）" in block and "开始前走势一致" in block
    assert "同一数据上，双向固定效应给出" in block and "个百分点" in block
    naive = _text(dds.naive_html(zh))
    assert "为什么不用简单对比？" in naive and "参加者开始后与开始前对比" in naive
    appendix = _text(dds.appendix_html(zh))
    assert "结论如何判定" in appendix and "离职率只对以团队为单位的项目有定义" in appendix
    headings = "".join(dds.heading_html(zh, s) for s in dds.SECTIONS)
    assert "逐项指标的估计结果" in headings and "模型设定与数据" in headings
    # outside the estimators' own notes and method names, Latin letters are data only
    latin = set(re.findall(r"[A-Za-z_]{2,}", head + naive + _text(headings)))
    allowed = {"P_TRAIN", "Training", "script", "alert", "lt", "gt", "data"}
    data_text = f"{zh.params.title} {zh.program.get('description') or ''}"
    assert latin <= allowed | set(re.findall(r"[A-Za-z_]{2,}", data_text)), latin
    ri = _text(dds.outcome_html(_in(randomized, "zh-CN"), "win_rate"))
    assert "随机对照实验（主估计）" in ri and "重新随机抽取参与者得到的p值" in ri


def test_plot_outcome_is_svg_with_text_in_the_report_language(staggered, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from salesinsight.report import figures

    shown = {}

    def fake_show(fig, alt, *, chart_id, max_width=1000):
        shown["svg"] = figures.figure_svg(fig, alt, chart_id=chart_id)
        shown["alt"] = alt

    monkeypatch.setattr(figures, "show_svg", fake_show)
    dds.plot_outcome(_in(staggered, "zh-CN"), "win_rate")
    svg = html.unescape(shown["svg"])
    titles = [f"赢单率：{Lang('zh-CN').tr(e.label)}" for e in staggered.get("win_rate").estimates]
    assert "赢单率：Callaway–Sant'Anna事件研究" in titles
    assert all(t in svg for t in titles if t.endswith("事件研究"))
    assert shown["alt"].startswith("Training")  # the program's name, as the data spell it
    assert "<image" not in shown["svg"]  # text left as text, no raster


def test_plot_outcome_draws_and_closes_the_figure(staggered):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    dds.plot_outcome(staggered, "win_rate")
    assert plt.get_fignums() == []


def test_deep_dive_is_frozen_and_rejects_unknown_outcome(staggered):
    with pytest.raises(dataclasses.FrozenInstanceError):
        staggered.params = None  # type: ignore[misc]
    with pytest.raises(KeyError, match="csat"):
        staggered.get("csat")


def test_unknown_program_is_a_clear_error(data):
    with pytest.raises(ValueError, match=re.escape("P_NOPE")) as err:
        dd.build_deep_dive(_params(data, "P_NOPE", ["win_rate"]))
    assert "P_COACH" in str(err.value)


@pytest.mark.slow
def test_same_params_give_identical_results(data, randomized):
    again = dd.build_deep_dive(_params(data, "P_COACH", ["win_rate", "follow_ups"]))
    assert again.results() == randomized.results()
    for name, frame in randomized.tables().items():
        pd.testing.assert_frame_equal(again.tables()[name], frame, check_exact=True)


def test_p_values_read_as_three_decimals_never_zero_or_scientific():
    en = Lang("en")
    assert dds._p(en, 0.0002) == "<0.001" and dds._p(en, 6.63e-05) == "<0.001"
    assert dds._p(en, 0.01834) == "0.018" and dds._p(en, 1.0) == "1.000"
    assert dds._p(en, None) == "–" and dds._p(en, float("nan")) == "–"


def test_deep_dive_keeps_the_results_contract(staggered):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text, page = str(staggered), staggered._repr_html_()
    assert text == staggered.summary().to_text()
    assert HOSTILE in text and HOSTILE not in page and html.escape(HOSTILE) in page
    main = staggered.get("win_rate").main
    assert f"{main.estimate:.4g}" in text and f"{main.estimate:.4g}" in page
    pd.testing.assert_frame_equal(staggered.to_frame(), staggered.estimates_frame())
    _, ax = plt.subplots()
    assert staggered.plot(ax=ax) is ax
    plt.close("all")
