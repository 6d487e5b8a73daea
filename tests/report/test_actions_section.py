"""The report's action section: every word from the catalogs, numbers in the locale with units,
no identifiers of the code, data text escaped, ids masked on request, missing parts said."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from salesinsight import actions as A
from salesinsight.actions import ACTION_KINDS, ActionPlan, build_actions
from salesinsight.causal.effect import Diagnostic
from salesinsight.notes import Note
from salesinsight.report import actions_section as S
from salesinsight.report.html import pseudonym
from salesinsight.report.params import RunParams
from salesinsight.report.sections import actions_html
from tests.test_actions import AS_OF, _history, _profiles, _reps

HOSTILE = "<script>alert(1)</script>"


def _params(mask: bool = False, language: str = "en") -> RunParams:
    return RunParams(
        quarter="2026Q2", data_dir=Path("."), mask_names=mask, language=language, currency="CNY"
    )


def _report(mask: bool) -> SimpleNamespace:
    plan = ActionPlan(
        pd.DataFrame(
            {
                "manager_id": ["M01"],
                "team_id": ["T01"],
                "rep_id": ["R0007"],
                "action": ["deal coaching"],
                "reason": [f"busy but converting poorly {HOSTILE}"],
                "value": [0.1],
                "benchmark": [0.2],
            }
        )
    )
    return SimpleNamespace(params=_params(mask), sections={"actions": plan})


def test_escaped_and_missing_parts_named():
    page = actions_html(_report(False))
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "R0007" in page and "M01" in page
    for part in ("Performance reviews", "Mentoring pairs", "Leading indicators"):
        assert f"{part}: not available for these data" in page


def test_masked_ids():
    page = actions_html(_report(True))
    assert "R0007" not in page and "M01" not in page
    assert pseudonym("R0007") in page and pseudonym("M01") in page


# -- the rules' reasons, re-worded from their numbers --------------------------------------------
def _plan() -> ActionPlan:
    """The hand-made tables of tests/test_actions.py: every rule fires once."""
    fc = pd.DataFrame(
        {
            "rep_id": ["A", "D", "E"],
            "team_id": ["T1"] * 3,
            "quota": [300_000.0, 100_000.0, 50_000.0],
            "suggested_quota": [100_000.0, 100_000.0, 120_000.0],
        }
    )
    # D's win rate 10% against 22% expected at this point of the quarter: 12 points below
    alerts = pd.DataFrame(
        {
            "rep_id": ["D"],
            "team_id": ["T1"],
            "component": ["win_rate"],
            "observed": [0.10],
            "expected": [0.22],
            "change": [-0.12],
            "message": ["win rate 12 pp below own baseline"],
        }
    )
    leniency = pd.DataFrame(
        {
            "reviewer_id": ["M1"],
            "n_reviews": [40],
            "leniency": [5.0],
            "ci_low": [2.0],
            "ci_high": [8.0],
            "flag": ["lenient"],
        }
    )
    return build_actions(
        reps=_reps(),
        profiles=_profiles(),
        attainment_history=_history(),
        forecast=fc,
        alerts=alerts,
        leniency=leniency,
        as_of=AS_OF,
    )


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#x27;", "'")


def _section(language: str, plan: ActionPlan | None = None, **sections) -> str:
    report = SimpleNamespace(
        params=_params(language=language), sections={"actions": plan or _plan(), **sections}
    )
    return _text(actions_html(report))


def test_reasons_keep_english_for_the_csv_and_their_numbers():
    plan = _plan()
    reason = plan.frame.loc[plan.frame["action"] == "quota check", "reason"].iloc[0]
    assert isinstance(reason, Note) and reason.msgid == A.REASON_QUOTA_HIGH
    assert reason.values["quota"] == 300_000.0 and reason.values["ratio"] == 3.0
    assert str(reason).startswith("quota looks too high: 300,000 this quarter against 100,000")


def test_reasons_in_plain_english_with_units():
    text = _section("en")
    # every number below is computed by hand from the tables in _plan()
    assert (
        "Quota looks too high: ¥300,000 this quarter, while the seller's own record gives an even "
        "chance of reaching ¥100,000 (the quota is 3.0 times that); over the last four quarters the "
        "seller typically reached 40% of quota." in text
    )
    # 65 activities in 13 weeks = 5.0 a week, bottom 5% -> fewer than 95%; median 255/13 = 19.6
    assert (
        "Low activity: 5.0 sales activities a week, fewer than 95% of sellers (the typical seller "
        "does 19.6). Set a weekly goal of 6 and review it every week." in text
    )
    # A: 400 activities, 90th percentile; win rate 12% [8%, 16%] on 80 deals, 5th percentile
    assert (
        "Busy but converting poorly: 400 sales activities this quarter, more than 90% of sellers, "
        "yet wins only 12% of closed deals (likely 8% to 16%, on 80 closed deals), lower than 95% "
        "of sellers." in text
    )
    assert "Win rate is 12 pp below this seller's own usual level" in text
    assert "(10% against about 22%)" in text
    assert "Scores their sellers 5.0 points higher than the other managers do" in text
    assert "(likely +2.0 to +8.0 points, from 40 reviews)" in text
    assert "7 managers" not in text and "1 managers have something to act on" in text


def test_reasons_in_chinese():
    text = _section("zh-CN")
    assert "配额可能定得过高：本季度配额¥300,000" in text
    assert "完成¥100,000的把握约为五成（配额是它的3.0倍）" in text
    assert "活动量偏低：每周5.0次销售活动，少于95%的销售（一般销售每周19.6次）" in text
    assert "赢单率比该销售自身同期的一贯水平低12个百分点（实际10%，正常约22%）" in text
    assert "给下属的评分比其他经理高5.0分（可能范围+2.0至+8.0分，基于40次评分）" in text
    assert "可以带徒弟（1条）" in text


def test_shares_of_sellers_stay_between_1_and_99_percent():
    from salesinsight.i18n import Lang

    top = Note(A.REASON_MENTOR, attainment=3.36, win_rate=0.45, win_top=0.0, years=3.7)
    assert "better than 99% of sellers" in S.action_reason(Lang("en"), top)
    low = Note(A.REASON_ACTIVITY_GOAL, per_week=1.0, activity_bottom=0.2, median_per_week=9, goal=2)
    assert "fewer than 99% of sellers" in S.action_reason(Lang("en"), low)


def test_every_rule_has_plain_words():
    """A new rule or reason must come with its wording, or the report would show the English."""
    assert set(S.ACTION_NAMES) == set(ACTION_KINDS)
    templates = {t for kind in ACTION_KINDS for t in A.REASONS[kind]}
    assert templates - {A.REASON_CHECK_IN} == set(S._REASONS)


# -- the whole section, in Chinese, with nothing of the code's vocabulary ------------------------
def _effect(estimate: float, lo: float, hi: float, failed: bool) -> SimpleNamespace:
    return SimpleNamespace(
        diagnostics=(Diagnostic("balance", passed=not failed, required=True),),
    )


def _mentoring() -> SimpleNamespace:
    rows = [
        ("days_to_first_win", -0.88, -3.47, 2.06),
        ("quarters_to_quota", -1.34, -1.95, -0.70),
        ("early_win_rate", -0.0008, -0.026, 0.022),
        ("revenue", 0.30, 0.14, 0.50),
        ("mentor_revenue", -0.08, -0.15, 0.15),
        ("mentor_win_rate", 0.053, 0.017, 0.087),
    ]
    frame = pd.DataFrame(
        [
            {
                "measure": m,
                "estimate": e,
                "ci_low": lo,
                "ci_high": hi,
                "verdict": "inconclusive",
                "reason": "required diagnostic(s) failed (balance)",
            }
            for m, e, lo, hi in rows
        ]
    )
    from salesinsight.mentoring.analysis import DEFAULT_MIN_EFFECT

    return SimpleNamespace(
        to_frame=lambda: frame,
        effects=lambda: {m: _effect(e, lo, hi, True) for m, e, lo, hi in rows},
        min_effect=DEFAULT_MIN_EFFECT,
        mentors=SimpleNamespace(balanced=False),
        pairs=SimpleNamespace(frame=pd.DataFrame({"rep_id": range(41)})),
        notes=(
            Note(
                "{n} of {total} mentees have no {k} unmentored sellers close enough to compare "
                "with and are left out",
                n=7,
                total=41,
                k=3,
            ),
        ),
    )


def _reviews() -> SimpleNamespace:
    lz = pd.DataFrame(
        {
            "reviewer_id": ["M1", "M2"],
            "n_reviews": [65, 40],
            "leniency": [-6.39, 0.2],
            "ci_low": [-9.13, -1.0],
            "ci_high": [-3.64, 1.4],
            "flag": ["severe", "in line"],
        }
    )
    gaps = pd.DataFrame(
        {
            "group": ["tenure_band", "region"],
            "level": ["under 1 year", "east"],
            "n_reps": [168, 125],
            "gap": [-5.87, 1.55],
            "unexplained": [3.45, -0.69],
            "ci_low": [1.79, -2.02],
            "ci_high": [4.94, 0.48],
            "suppressed": [False, False],
        }
    )
    return SimpleNamespace(
        agreement=SimpleNamespace(
            frame=pd.DataFrame({"rho": [0.8], "ci_low": [0.78], "ci_high": [0.81]}), r2=0.69
        ),
        validity=SimpleNamespace(ci_low=0.027, r2_kpis=0.44, r2_with_score=0.48),
        leniency=SimpleNamespace(frame=lz, fdr=0.05, flagged=lambda: lz[lz["flag"] != "in line"]),
        gaps=SimpleNamespace(frame=gaps, min_cell_size=10),
    )


def _leading() -> SimpleNamespace:
    return SimpleNamespace(
        frame=pd.DataFrame(
            {
                "process": ["opps_created", "follow_ups"],
                "outcome": ["revenue", "attainment"],
                "gain": [0.176, 0.101],
                "gain_low": [0.111, 0.066],
                "gain_high": [0.25, 0.133],
                "leading": [True, True],
            }
        )
    )


def test_whole_section_in_chinese_has_no_english_and_no_identifiers():
    text = _section("zh-CN", reviews=_reviews(), mentoring=_mentoring(), leading=_leading())
    assert "师徒制" in text and "先行指标" in text and "绩效评分" in text
    assert "41名徒弟中有7名找不到3名条件相近" in text and "caliper" not in text
    assert "−6.4分" in text and "偏严" in text and "司龄" in text and "不满1年" in text
    assert "新建商机数" in text and "17.6%" in text
    assert "+30%" in text and "−3.5天至+2.1天" in text
    # what is left in Latin letters: data (ids, the region "east"), the CSV file name
    latin = set(re.findall(r"[A-Za-z_]{2,}", text)) - {"M1", "east", "tables", "actions", "csv"}
    assert not latin, sorted(latin)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_no_code_vocabulary_in_either_language(language):
    text = _section(language, reviews=_reviews(), mentoring=_mentoring(), leading=_leading())
    snake = set(re.findall(r"\b[a-z]+_[a-z_]+\b", text))
    assert not snake, snake  # no column or KPI names (opps_created, n_reviews, ci_low...)
    shown = text.replace("set an activity goal", "")  # the English words of that action
    for raw in ("deal coaching", "activity goal", "quota check", "review calibration", "KPI"):
        assert raw not in shown
    assert "e-0" not in text and "[" not in text  # no scientific notation, no bracket intervals
