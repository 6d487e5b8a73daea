"""The KPI registry (salesinsight.kpis) agrees with the data contract, and every consumer derives
from it: panels, evaluable outcomes, run parameters, directions and the report's words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesinsight import kpis
from salesinsight.kpis import KPIS, OUTCOMES, SELLERS
from tests._reference import shared_file

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "data-contract.md"


def contract_kpis(markdown: str) -> dict[str, str]:
    """KPI name -> definition, from the '## KPI definitions' table of a data contract.

    A row may name several KPIs: ``activities; calls, visits, ...`` or ``opps_won / opps_lost``;
    a level in parentheses (``attrition (team, company)``) is not part of the name.
    """
    section = markdown.split("## KPI definitions", 1)[1].split("\n## ", 1)[0]
    out: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("KPI", "---") or len(cells) < 2:
            continue
        names = re.sub(r"\([^)]*\)", "", cells[0])
        for name in re.split(r"[;,/]", names):
            out[name.strip()] = cells[1]
    return out


DOC_KPIS = contract_kpis(DOC.read_text(encoding="utf-8"))


def test_the_contract_table_is_parsed():
    # hand-read from docs/data-contract.md: 23 KPIs, of which these four
    assert len(DOC_KPIS) == 23
    assert DOC_KPIS["win_rate"].startswith("opps_won / (opps_won + opps_lost)")
    assert "other" in DOC_KPIS and "opps_lost" in DOC_KPIS and "attrition" in DOC_KPIS


def test_the_registry_holds_exactly_the_contracts_kpis_plus_the_documented_panel_ones():
    assert {k.name for k in KPIS.values() if k.contract} == set(DOC_KPIS)
    metrics_doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    for k in KPIS.values():
        if not k.contract:
            assert f"`{k.name}`" in metrics_doc, f"{k.name} is defined in neither document"


def test_the_shared_contract_lists_the_same_kpis():
    shared = shared_file("DATA_CONTRACT.md")
    assert contract_kpis(shared.read_text(encoding="utf-8")) == DOC_KPIS


def test_ratios_are_those_of_the_contract():
    """``A / B`` definitions of the contract are the registry's numerator and denominator."""
    checked = 0
    for name, definition in DOC_KPIS.items():
        m = re.match(r"(\w+) / (\w+)\b", definition)
        if m:
            assert (KPIS[name].numerator, KPIS[name].denominator) == m.groups(), name
            checked += 1
    assert checked == 2  # avg_deal_size, attainment
    # win_rate: opps_won / (opps_won + opps_lost); opps_closed is opps_won + opps_lost
    assert "opps_won + opps_lost" in DOC_KPIS["opps_closed"]
    assert (KPIS["win_rate"].numerator, KPIS["win_rate"].denominator) == ("opps_won", "opps_closed")
    # attrition: sellers terminated in the period / sellers_active
    assert DOC_KPIS["attrition"].endswith(f"/ {SELLERS}")
    assert KPIS["attrition"].denominator == SELLERS
    assert KPIS["attrition"].numerator == "seller_terminations"


def test_per_rep_figures_are_per_seller():
    """Data contract: anything reported per rep divides by sellers_active, not every reps row."""
    per_rep = [k for k in KPIS.values() if k.additive and k.numerator == k.name]
    assert {"revenue", "opps_won", "follow_ups", "activities", "pipeline_value"} <= {
        k.name for k in per_rep
    }
    assert all(k.denominator == SELLERS for k in per_rep)


def test_directions_kinds_and_additivity():
    lower = {k.name for k in KPIS.values() if k.direction == "lower"}
    assert lower == {"cycle_days", "attrition", "terminations", "seller_terminations"}
    assert KPIS["opps_lost"].direction is None and KPIS["quota"].direction is None
    assert KPIS["follow_ups"].kind == "process" and KPIS["win_rate"].kind == "outcome"
    # rates and means never add up over reps; counts and money do
    for name in ("win_rate", "avg_deal_size", "attainment", "csat", "cycle_days", "attrition"):
        assert not KPIS[name].additive, name
    for name in ("revenue", "opps_won", "calls", "quota", "pipeline_value"):
        assert KPIS[name].additive, name
    assert KPIS["pipeline_value"].additive and not KPIS["pipeline_value"].flow  # a stock


def test_outcomes_are_the_contracts_directed_ratios():
    # quota: the placebo; headcounts: denominators; opps_lost and opps_closed: no good direction
    not_outcomes = {"quota", "active", SELLERS, "opps_lost", "opps_closed"}
    assert set(OUTCOMES) == set(DOC_KPIS) - not_outcomes
    assert set(kpis.DEFAULT_OUTCOMES) <= set(OUTCOMES)


def test_activity_types_are_defined_once():
    from salesinsight import simulate
    from salesinsight.data import contract

    assert contract.table("activities").column("type").allowed == kpis.ACTIVITY_TYPES
    assert simulate.ACTIVITY_TYPES is kpis.ACTIVITY_TYPES
    assert list(kpis.ACTIVITY_COLUMNS) == list(kpis.ACTIVITY_TYPES)
    assert set(kpis.ACTIVITY_COLUMNS.values()) <= set(DOC_KPIS)


def test_every_kpi_is_named_in_every_report_language():
    from salesinsight.i18n import LANGUAGES

    assert set(kpis.LANGUAGES) == set(LANGUAGES)
    for language in LANGUAGES:
        names = [k.names[language] for k in KPIS.values()]
        assert all(names) and len(set(names)) == len(names), language


def test_lookup_of_an_unknown_kpi_is_clear():
    assert kpis.kpi("win_rate") is KPIS["win_rate"]
    with pytest.raises(KeyError, match="unknown KPI 'winrate'"):
        kpis.kpi("winrate")


# -- consumers ------------------------------------------------------------------------------------
def test_panels_have_the_registrys_columns():
    from salesinsight.metrics._panel import KPI_COLUMNS, KPI_KIND, panel_columns

    assert KPI_COLUMNS == tuple(KPIS)
    assert KPI_KIND == {k.name: k.kind for k in KPIS.values() if k.kind}
    for by in kpis.LEVELS:
        cols = [c for c in panel_columns(by) if c in KPIS]
        assert cols == [k.name for k in KPIS.values() if by in k.levels]
    assert "attrition" not in panel_columns("rep") and "active" not in panel_columns("team")


def test_run_params_accept_exactly_the_registrys_outcomes():
    from pydantic import ValidationError

    from salesinsight.report.params import RunParams

    base = {"quarter": "2026Q2", "data_dir": "."}
    assert RunParams(**base).outcomes == list(kpis.DEFAULT_OUTCOMES)
    for name in KPIS:
        if name in OUTCOMES:
            assert RunParams(**base, outcomes=[name]).outcomes == [name]
            assert RunParams(**base, min_effect={name: 0.1}).min_effect == {name: 0.1}
        else:
            with pytest.raises(ValidationError, match="unknown outcome"):
                RunParams(**base, outcomes=[name])


def test_evaluate_knows_exactly_the_registrys_outcomes_and_directions():
    from salesinsight import evaluation as evaluate

    assert set(evaluate.KPI_DEFINITIONS) == set(OUTCOMES)
    assert evaluate.DEFAULT_OUTCOMES == kpis.DEFAULT_OUTCOMES
    assert evaluate.LOWER_IS_BETTER == {o for o in OUTCOMES if KPIS[o].direction == "lower"}
    # per-seller counts are per active seller-period ("_exposure" = sellers_active)
    assert evaluate.KPI_DEFINITIONS["revenue"] == ("revenue", "_exposure")
    assert evaluate.KPI_DEFINITIONS["csat"] == ("_csat_sum", "csat_responses")


def test_the_report_words_and_units_come_from_the_registry():
    from salesinsight.i18n import Lang
    from salesinsight.report import vocabulary as V

    assert V.outcome_name(Lang("zh-CN"), "win_rate") == "赢单率"
    assert V.outcome_name(Lang("en"), "cycle_days") == "sales cycle"
    assert V.outcome_name(Lang("en"), "quota_per_rep") == "quota per rep"  # not a KPI
    assert {"win_rate", "attainment", "csat", "attrition", "share_at_quota"} <= V.RATE_OUTCOMES
    assert V.MONEY_OUTCOMES >= {"revenue", "avg_deal_size", "pipeline_value"}
    assert "pipeline_value" not in V.FLOW_OUTCOMES and "follow_ups" in V.FLOW_OUTCOMES
    assert V.effect_text(Lang("en"), "follow_ups", 1.2, grain="week") == (
        "+5.20 per seller per month"  # 1.2 per week x 52 / 12, three significant digits
    )


def test_the_kpis_of_each_optional_table():
    from salesinsight.metrics.availability import TABLE_KPIS

    assert TABLE_KPIS["csat"] == ("csat", "csat_responses")
    assert set(TABLE_KPIS["activities"]) == {
        "activities",
        *kpis.ACTIVITY_COLUMNS.values(),
        "follow_ups_per_open_opp",
    }


def test_the_panel_a_program_is_evaluated_on_decides_its_outcomes():
    # the data contract: attrition is a team outcome (departures over the team's sellers)
    assert not KPIS["attrition"].defined_for("rep") and KPIS["attrition"].defined_for("team")
    assert KPIS["win_rate"].defined_for("rep") and KPIS["win_rate"].defined_for("team")
    assert [o for o in OUTCOMES if not KPIS[o].defined_for("rep")] == ["attrition"]


def test_a_kpi_name_in_a_note_is_said_in_the_report_language():
    from salesinsight.i18n import Lang
    from salesinsight.kpis import KpiName
    from salesinsight.notes import Note

    note = Note(
        "{outcome:cap} is defined for team programs only; it is left out for this program.",
        outcome=KpiName("attrition"),
    )
    assert note == "Attrition is defined for team programs only; it is left out for this program."
    assert Lang("zh-CN").note(note) == "离职率只对以团队为单位的项目有定义，本项目不分析离职率。"
    assert f"{KpiName('win_rate', 'zh-CN')}|{KpiName('win_rate'):cap}" == "赢单率|Win rate"
