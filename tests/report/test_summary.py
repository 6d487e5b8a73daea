"""The first screen's sentences (salesinsight.report.summary) on hand-built results.

Reference numbers are computed by hand in the comments: an effect of 1,000 per seller-week is
1,000 x 52 / 12 = 4,333 per seller-month; 100 sellers enrolled for 9,131.25 seller-days are
9,131.25 / (365.25 / 12) = 300 seller-months, so the quarter's total is 4,333.3 x 300 = 1.3 million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from salesinsight.causal.effect import Diagnostic
from salesinsight.report.quarterly import ProgramRow
from salesinsight.report.summary import first_screen_html
from salesinsight.report.summary import program_sentence as _sentence


def program_sentence(report, pid: str) -> str:
    """The sentence without the invisible word joiners that keep a sign with its currency."""
    text = _sentence(report, pid)
    assert "+¥" not in text and "\u2212¥" not in text  # never breakable between sign and symbol
    return text.replace("\u2060", "")


@dataclass
class FakeReport:
    params: Any
    rows: tuple
    evaluations: dict
    sections: dict
    programs: pd.DataFrame
    quarter_start: date = date(2026, 10, 1)
    quarter_end: date = date(2026, 12, 31)
    notes: tuple = field(default_factory=tuple)

    @property
    def program_ids(self) -> list[str]:
        return list(self.evaluations)


def _row(pid: str, outcome: str, verdict: str, estimate: float, lo: float, hi: float, base: float):
    return ProgramRow(
        program_id=pid,
        name=f"Program {pid}",
        kind="coaching",
        design="randomized",
        unit="team",
        outcome=outcome,
        verdict=verdict,
        reason="technical reason",
        estimate=estimate,
        ci_low=lo,
        ci_high=hi,
        p_value=0.01,
        p_adjusted=0.02,
        baseline=base,
        min_effect=0.01 if outcome == "win_rate" else 0.03 * base,
        method="experiment_ratio",
    )


def _report(
    language: str, rows: list[ProgramRow], *, failed: str | None = None, budget: object = 100_000.0
) -> FakeReport:
    pids = list(dict.fromkeys(r.program_id for r in rows))
    diags = () if failed is None else (Diagnostic(failed, False, required=True),)
    evaluations = {
        pid: SimpleNamespace(
            spec={"grain": "week"},
            effects={r.outcome: SimpleNamespace(diagnostics=diags) for r in rows},
            program={"design": "randomized"},
        )
        for pid in pids
    }
    exposure = pd.DataFrame(
        {"program_id": pids, "n_reps_current": 100, "rep_days_current": 9131.25}
    )
    programs = pd.DataFrame({"program_id": pids, "budget": [budget] * len(pids)})
    params = SimpleNamespace(
        language=language,
        currency="CNY",
        quarter="2026Q4",
        title="Q4 <review>",
        alpha=0.05,
        grain="week",
    )
    return FakeReport(params, tuple(rows), evaluations, {"exposure": exposure}, programs)


def test_worked_revenue_gives_money_per_seller_month_total_and_budget():
    rep = _report("en", [_row("A", "revenue", "worked", 1000, 400, 1600, 10_000)])
    assert program_sentence(rep, "A") == (
        "Program A worked: revenue +¥4,333 per seller per month (+10%). Across the 100 enrolled "
        "sellers that is about ¥1.3M this quarter, against a budget of ¥100K "
        "(13.0 times the budget)."
    )


@pytest.mark.parametrize("budget", ["100000", 100_000])
def test_budget_read_from_a_text_or_number_column(budget):
    rep = _report("en", [_row("A", "revenue", "worked", 1000, 400, 1600, 10_000)], budget=budget)
    assert program_sentence(rep, "A").endswith("against a budget of ¥100K (13.0 times the budget).")


@pytest.mark.parametrize("budget", ["", None, "n/a", -5, 0])
def test_missing_or_unusable_budget_gives_no_return(budget):
    rep = _report("en", [_row("A", "revenue", "worked", 1000, 400, 1600, 10_000)], budget=budget)
    text = program_sentence(rep, "A")
    assert text.endswith("that is about ¥1.3M this quarter.") and "budget" not in text


def test_chinese_sentence_uses_chinese_units_and_wan():
    rep = _report("zh-CN", [_row("A", "revenue", "worked", 1000, 400, 1600, 10_000)])
    text = program_sentence(rep, "A")
    assert text.startswith("Program A有效：每位销售每月营收+¥4,333（+10%）。")
    assert "按100位参加的销售计算，本季度合计约¥130万" in text
    assert "预算为¥10万（相当于预算的13.0倍）" in text


def test_harmed_revenue_gives_the_loss_and_the_budget_spent_on_top():
    # -1000 per seller-week = -¥4,333 per seller-month; 9131.25 seller-days / 30.44 = 300
    # seller-months -> about ¥1.3M lost this quarter
    rep = _report("en", [_row("A", "revenue", "harmed", -1000, -1600, -400, 10_000)])
    assert program_sentence(rep, "A") == (
        "Program A did harm: revenue \u2212¥4,333 per seller per month (\u221210%). Across "
        "the 100 enrolled sellers that is about ¥1.3M less revenue this quarter, on top of a "
        "budget of ¥100K spent on the program."
    )
    zh = program_sentence(_report("zh-CN", list(rep.rows)), "A")
    assert "本季度营收合计约减少¥130万，此外项目还花费了¥10万的预算。" in zh


@pytest.mark.parametrize("verdict", ["inconclusive", "no detectable effect"])
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_budget_gives_no_return_unless_the_effect_is_established(verdict, language):
    rep = _report(language, [_row("A", "revenue", verdict, 1000, -200, 2200, 10_000)])
    text = program_sentence(rep, "A")
    assert (
        "¥100K" not in text and "¥10万" not in text and "预算" not in text and "budget" not in text
    )


def test_no_total_and_no_return_where_the_effect_is_not_established():
    rep = _report("en", [_row("A", "revenue", "inconclusive", 1000, -200, 2200, 10_000)])
    text = program_sentence(rep, "A")
    assert "budget" not in text and "this quarter" not in text
    assert text == (
        "Program A: not yet clear whether it changed anything; the best estimate for revenue is "
        "+¥4,333 per seller per month, but it could lie anywhere from \u2212¥867 to +¥9,533."
    )


def test_failed_check_is_named_in_plain_words():
    rep = _report(
        "en", [_row("A", "win_rate", "inconclusive", 0.03, 0.01, 0.05, 0.25)], failed="pre_trends"
    )
    assert "(same trend before the start)" in program_sentence(rep, "A")


def test_rates_in_percentage_points_and_confident_nulls():
    rows = [
        _row("A", "win_rate", "worked", 0.035, 0.019, 0.05, 0.24),
        _row("A", "csat", "no detectable effect", 0.001, -0.004, 0.006, 0.76),
    ]
    text = program_sentence(_report("en", rows), "A")
    assert text == (
        "Program A worked: win rate +3.5 pp. Program A made no difference worth acting on to "
        "customer satisfaction."
    )


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_first_screen_has_title_sentences_toc_and_escaped_data(language):
    rows = [_row("A", "revenue", "worked", 1000, 400, 1600, 10_000)]
    page = first_screen_html(_report(language, rows))
    assert "<h1>Q4 &lt;review&gt;</h1>" in page
    assert page.count('class="si-verdict"') == 1
    assert '<nav class="si-toc"' in page and 'href="#appendix"' in page
    assert '<svg role="img"' in page  # the forest plot, inline
    assert "<script" not in page.lower()
