"""The quarterly report's "From results to action" section.

Performance reviews, mentoring pairs, leading indicators and each manager's action list.

Every word comes from the message catalogs (:class:`~salesinsight.i18n.Lang`), every number
is formatted for the report's locale with its unit, and no identifier of the code (KPI names, rule
names, column names) reaches the reader: the action rules' reasons
(:data:`salesinsight.actions.REASONS`) are re-worded here from their numbers. Every data string is
escaped; seller and manager ids are masked when the run asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesinsight import actions as A
from salesinsight.i18n import N_, Lang
from salesinsight.report.html import cells_table, element, esc, pseudonym
from salesinsight.report.summary import VERDICT_COLOURS, report_lang
from salesinsight.report.vocabulary import outcome_name, verdict_reason, verdict_word

if TYPE_CHECKING:
    from salesinsight.report.quarterly import QuarterReport

__all__ = ["ACTION_NAMES", "actions_html", "action_reason", "plan_summary"]

_STYLE = """<style>
.si-table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.si-table th,.si-table td{padding:3px 9px;border-bottom:1px solid #ddd;vertical-align:top}
.si-note{color:#555;font-size:13px}
</style>"""

#: the action kinds (``salesinsight.actions.ACTION_KINDS``) in words.
ACTION_NAMES: dict[str, str] = {
    "deal coaching": N_("coach on closing deals"),
    "activity goal": N_("set an activity goal"),
    "check in": N_("check in"),
    "ready to mentor": N_("ready to mentor"),
    "quota check": N_("review the quota"),
    "review calibration": N_("calibrate review scores"),
}

#: group columns the reviews analysis makes itself, and the levels it gives them (other groups
#: are columns of the reps table and are shown as written).
_GROUP_NAMES = {"tenure_band": N_("time in the job"), "region": N_("region")}
_LEVEL_NAMES = {
    "under 1 year": N_("under 1 year"),
    "1-3 years": N_("1 to 3 years"),
    "over 3 years": N_("over 3 years"),
}
_FLAG_NAMES = {"lenient": N_("more lenient"), "severe": N_("stricter"), "in line": N_("in line")}

#: the mentoring measures (``salesinsight.mentoring``) in words, and how their effects read.
_MEASURES: dict[str, tuple[str, str]] = {
    "days_to_first_win": (N_("days to the first won deal"), "days"),
    "quarters_to_quota": (N_("quarters until first reaching quota"), "quarters"),
    "early_win_rate": (N_("win rate in the first months"), "points"),
    "revenue": (N_("mentees' revenue"), "relative"),
    "mentor_revenue": (N_("mentors' own revenue"), "relative"),
    "mentor_win_rate": (N_("mentors' own win rate"), "points"),
}


def _masked(report: QuarterReport, value: object) -> str:
    return pseudonym(value) if report.params.mask_names else str(value)


def _off(lang: Lang, part: str) -> str:
    text = lang.tr("{part}: not available for these data (see the appendix).", part=lang.tr(part))
    return element("p", text, "si-note")


def _badge(lang: Lang, verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#5f6368")
    word = esc(verdict_word(lang, verdict))
    return f'<span class="si-badge" style="background:{colour}">{word}</span>'


def _range(lang: Lang, low: str, high: str) -> str:
    return lang.tr("{low} to {high}", low=low, high=high)


# -- reviews ----------------------------------------------------------------------------------
def _reviews_html(rv: Any, report: QuarterReport, lang: Lang) -> str:
    a, lz, v = rv.agreement, rv.leniency, rv.validity
    allrow = a.frame.iloc[0]
    text = lang.tr(
        "Review scores follow the same quarter's quota attainment: ranked by attainment and by "
        "score, sellers come out in much the same order (agreement {rho} on a scale from −1 to 1, "
        "likely {low} to {high}), and the quarter's results explain {r2} of the differences in "
        "scores.",
        rho=lang.number(allrow.rho, digits=2),
        low=lang.number(allrow.ci_low, digits=2),
        high=lang.number(allrow.ci_high, digits=2),
        r2=lang.percent(a.r2),
    )
    if v is not None:
        msg = (
            N_(
                "Scores add to predicting next quarter's results beyond the results themselves: "
                "the share of next quarter's differences explained rises from {before} to "
                "{after}. This is prediction, not proof that reviews change anything."
            )
            if v.ci_low > 0
            else N_(
                "Scores add nothing clear to predicting next quarter's results beyond the results "
                "themselves (the share of next quarter's differences explained goes from {before} "
                "to {after}). This is prediction, not proof that reviews change anything."
            )
        )
        text += " " + lang.tr(
            msg, before=lang.percent(v.r2_kpis), after=lang.percent(v.r2_with_score)
        )
    parts = [element("h3", lang.tr("Performance reviews against results")), element("p", text)]
    flagged = lz.flagged()
    parts.append(
        element(
            "p",
            lang.tr(
                "{n} of {total} managers score their sellers higher or lower than the other "
                "managers do for the same results. Each manager's shift is pulled towards the "
                "average in proportion to how few reviews they gave, so a manager with few "
                "reviews is not singled out, and at most about {fdr} of the managers named here "
                "would be named by chance.",
                n=lang.number(len(flagged)),
                total=lang.number(len(lz.frame)),
                fdr=lang.percent(lz.fdr),
            ),
        )
    )
    if len(flagged):
        rows = [
            [
                _masked(report, r.reviewer_id),
                lang.tr(_FLAG_NAMES.get(r.flag, r.flag)),
                lang.tr("{n} points", n=lang.number(r.leniency, digits=1, signed=True)),
                _range(
                    lang,
                    lang.number(r.ci_low, digits=1, signed=True),
                    lang.number(r.ci_high, digits=1, signed=True),
                ),
                lang.number(r.n_reviews),
            ]
            for r in flagged.itertuples()
        ]
        headers = [
            lang.tr("manager"),
            lang.tr("scores"),
            lang.tr("shift at equal results"),
            lang.tr("likely range (95%)"),
            lang.tr("reviews"),
        ]
        parts.append(cells_table(headers, rows, numeric={2, 3, 4}))
    g = rv.gaps.frame
    shown = g[~g["suppressed"]]
    parts.append(
        element(
            "h4",
            lang.tr(
                "Score gaps between groups at equal results (score points; groups of fewer than "
                "{n} sellers are not shown)",
                n=lang.number(rv.gaps.min_cell_size),
            ),
        )
    )
    if len(shown):
        rows = [
            [
                lang.tr(_GROUP_NAMES[r.group]) if r.group in _GROUP_NAMES else str(r.group),
                lang.tr(_LEVEL_NAMES[r.level]) if r.level in _LEVEL_NAMES else str(r.level),
                lang.number(r.n_reps),
                lang.number(r.gap, digits=1, signed=True),
                lang.number(r.unexplained, digits=1, signed=True),
                _range(
                    lang,
                    lang.number(r.ci_low, digits=1, signed=True),
                    lang.number(r.ci_high, digits=1, signed=True),
                ),
            ]
            for r in shown.itertuples()
        ]
        headers = [
            lang.tr("group"),
            lang.tr("who"),
            lang.tr("sellers"),
            lang.tr("gap in score"),
            lang.tr("gap left at equal results"),
            lang.tr("likely range (95%)"),
        ]
        parts.append(cells_table(headers, rows, numeric={2, 3, 4, 5}))
    else:
        parts.append(element("p", lang.tr("No group is large enough to show."), "si-note"))
    return "".join(parts)


# -- mentoring --------------------------------------------------------------------------------
def _measure_value(lang: Lang, kind: str, value: Any, *, signed: bool = True) -> str:
    if value is None or pd.isna(value):
        return "–"
    if kind == "days":
        return lang.tr("{n} days", n=lang.number(value, digits=1, signed=signed))
    if kind == "quarters":
        return lang.tr("{n} quarters", n=lang.number(value, digits=1, signed=signed))
    if kind == "points":
        return lang.points(value, signed=signed)
    return lang.percent(value, signed=signed)


def _mentoring_html(m: Any, lang: Lang) -> str:
    f = m.to_frame()
    effects = m.effects()
    rows = []
    for r in f.itertuples():
        name, kind = _MEASURES.get(r.measure, (None, "relative"))
        label = lang.tr(name) if name else str(r.measure).replace("_", " ")
        small = _measure_value(lang, kind, m.min_effect.get(r.measure), signed=False)
        effect = effects.get(r.measure)
        failed = [
            d.name for d in getattr(effect, "diagnostics", ()) if d.required and d.passed is False
        ]
        why = verdict_reason(lang, r.verdict, failed=failed, small=small)
        rows.append(
            "<tr>"
            f"<td style='text-align:left'>{esc(label)}</td>"
            f"<td style='text-align:right'>{esc(_measure_value(lang, kind, r.estimate))}</td>"
            "<td style='text-align:right'>"
            + esc(
                _range(
                    lang,
                    _measure_value(lang, kind, r.ci_low),
                    _measure_value(lang, kind, r.ci_high),
                )
            )
            + f"</td><td style='text-align:left'>{_badge(lang, r.verdict)}</td>"
            f"<td class='si-note' style='text-align:left'>{esc(why)}</td></tr>"
        )
    headers = [
        lang.tr("measure"),
        lang.tr("effect"),
        lang.tr("likely range (95%)"),
        lang.tr("verdict"),
        lang.tr("why"),
    ]
    align = ("left", "right", "right", "left", "left")
    head = "".join(
        f"<th style='text-align:{a}'>{esc(h)}</th>" for a, h in zip(align, headers, strict=True)
    )
    me = m.mentors
    if me.balanced is False:
        mentors = lang.tr(
            "Differences between mentors are not shown: the comparison sellers do not match the "
            "mentees on earlier quota attainment and time in the job, so no single mentor's "
            "effect can be trusted."
        )
    else:
        mentors = lang.tr(
            "Mentors differ: their mentees' revenue gain typically varies by about {spread} "
            "from one mentor to the next (average {mean}); the mentees of {n} mentors clearly "
            "did better.",
            spread=lang.percent(me.tau, digits=1),
            mean=lang.percent(me.mean, digits=1, signed=True),
            n=lang.number(int((me.frame["verdict"] == "worked").sum())),
        )
    return (
        element("h3", lang.tr("Mentoring pairs"))
        + element(
            "p",
            lang.tr(
                "{n} mentees compared with similar sellers who had no mentor, and the mentors' "
                "own results compared with similar sellers who did not mentor.",
                n=lang.number(len(m.pairs.frame)),
            ),
        )
        + f"<table class='si-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
        + element("p", mentors)
        + "".join(element("p", lang.note(n), "si-note") for n in m.notes)
    )


# -- leading indicators -----------------------------------------------------------------------
def _leading_html(li: Any, lang: Lang) -> str:
    f = li.frame[li.frame["leading"]].sort_values("gain", ascending=False).head(8)
    parts = [
        element("h3", lang.tr("Process and results: leading indicators")),
        element(
            "p",
            lang.tr(
                "Which process measures (activities, follow-ups, meetings, new opportunities) "
                "help predict a seller's results next quarter beyond that seller's usual level, "
                "checked on later quarters the model had not seen. They predict; they do not "
                "prove cause: they tell where to look, not what to change."
            ),
        ),
    ]
    if not len(f):
        parts.append(element("p", lang.tr("No process measure predicts later results.")))
        return "".join(parts)
    rows = [
        [
            outcome_name(lang, r.process),
            outcome_name(lang, r.outcome),
            lang.percent(r.gain, digits=1),
            _range(lang, lang.percent(r.gain_low, digits=1), lang.percent(r.gain_high, digits=1)),
        ]
        for r in f.itertuples()
    ]
    headers = [
        lang.tr("this quarter's process measure"),
        lang.tr("next quarter's result"),
        lang.tr("better prediction"),
        lang.tr("likely range (95%)"),
    ]
    parts.append(cells_table(headers, rows, numeric={2, 3}))
    parts.append(
        element(
            "p",
            lang.tr(
                "Better prediction: how much smaller the prediction errors on later quarters are "
                "than when predicting from each seller's usual level alone."
            ),
            "si-note",
        )
    )
    return "".join(parts)


# -- actions ----------------------------------------------------------------------------------
def _money(lang: Lang) -> Callable[[Any], str]:
    return lambda v: lang.money(v)


def _check_in(lang: Lang, v: dict[str, Any]) -> str:
    component, change = v.get("component"), v.get("change")
    observed, expected = v.get("observed"), v.get("expected")
    if change is None or pd.isna(change) or change >= 0 or component is None:
        return lang.tr(
            "Results are off this seller's own usual level for this point of the quarter. Check "
            "in to find out what changed."
        )
    if component == "win_rate":
        return lang.tr(
            "Win rate is {drop} below this seller's own usual level for this point of the "
            "quarter ({observed} against about {expected}). Check in to find out what changed.",
            drop=lang.points(abs(change), digits=0, signed=False),
            observed=lang.percent(observed),
            expected=lang.percent(expected),
        )
    msg = {
        "activities": N_(
            "Sales activities are {drop} below this seller's own usual level for this point of "
            "the quarter ({observed} against about {expected}). Check in to find out what "
            "changed."
        ),
        "opps_created": N_(
            "New opportunities are {drop} below this seller's own usual level for this point of "
            "the quarter ({observed} against about {expected}). Check in to find out what "
            "changed."
        ),
    }.get(component)
    if msg is None:
        return lang.tr(
            "Results are off this seller's own usual level for this point of the quarter. Check "
            "in to find out what changed."
        )
    return lang.tr(
        msg,
        drop=lang.percent(abs(change)),
        observed=lang.number(observed),
        expected=lang.number(expected),
    )


#: each rule's reason in plain words, with how its numbers are formatted.
_REASONS: dict[str, tuple[str, dict[str, str]]] = {
    A.REASON_DEAL_COACHING: (
        N_(
            "Busy but converting poorly: {activities} sales activities this quarter, more than "
            "{busier} of sellers, yet wins only {win_rate} of closed deals (likely {win_low} to "
            "{win_high}, on {closed} closed deals), lower than {better} of sellers. Coach "
            "qualifying and closing, not more prospecting."
        ),
        {
            "activities": "count",
            "win_rate": "share",
            "win_low": "share",
            "win_high": "share",
            "closed": "count",
        },
    ),
    A.REASON_ACTIVITY_GOAL: (
        N_(
            "Low activity: {per_week} sales activities a week, fewer than {busier} of sellers "
            "(the typical seller does {median_per_week}). Set a weekly goal of {goal} and review "
            "it every week."
        ),
        {"per_week": "decimal", "median_per_week": "decimal", "goal": "count"},
    ),
    A.REASON_MENTOR: (
        N_(
            "Reached at least {attainment} of quota in each of the last two quarters and wins "
            "{win_rate} of closed deals (better than {better} of sellers), {years} years in the "
            "job. Pair with a seller who is struggling."
        ),
        {"attainment": "share", "win_rate": "share", "years": "decimal"},
    ),
    A.REASON_QUOTA_HIGH: (
        N_(
            "Quota looks too high: {quota} this quarter, while the seller's own record gives an "
            "even chance of reaching {suggested} (the quota is {ratio} times that); over the last "
            "four quarters the seller typically reached {median} of quota."
        ),
        {"quota": "money", "suggested": "money", "ratio": "decimal", "median": "share"},
    ),
    A.REASON_QUOTA_LOW: (
        N_(
            "Quota looks too low: {quota} this quarter, while the seller's own record gives an "
            "even chance of reaching {suggested} (the quota is {ratio} times that); over the last "
            "four quarters the seller typically reached {median} of quota."
        ),
        {"quota": "money", "suggested": "money", "ratio": "decimal", "median": "share"},
    ),
    A.REASON_REVIEW_LENIENT: (
        N_(
            "Scores their sellers {points} points higher than the other managers do for the same "
            "results (likely {low} to {high} points, from {n_reviews} reviews). Calibrate with "
            "the other managers before ratings are final."
        ),
        {"points": "decimal", "low": "signed", "high": "signed", "n_reviews": "count"},
    ),
    A.REASON_REVIEW_SEVERE: (
        N_(
            "Scores their sellers {points} points lower than the other managers do for the same "
            "results (likely {low} to {high} points, from {n_reviews} reviews). Calibrate with "
            "the other managers before ratings are final."
        ),
        {"points": "decimal", "low": "signed", "high": "signed", "n_reviews": "count"},
    ),
}


def action_reason(lang: Lang, reason: object) -> str:
    """Return an action's reason in the report's language, numbers formatted for the locale.

    ``reason`` is the ``reason`` cell of :class:`salesinsight.actions.ActionPlan` (a
    :class:`~salesinsight.notes.Note`); any other text is shown as it is.
    """
    msgid, values = getattr(reason, "msgid", None), dict(getattr(reason, "values", {}) or {})
    if msgid == A.REASON_CHECK_IN:
        return _check_in(lang, values)
    if msgid not in _REASONS:
        return str(reason)
    message, kinds = _REASONS[msgid]
    fmt: dict[str, Callable[[Any], str]] = {
        "count": lambda v: lang.number(v),
        "share": lambda v: lang.percent(v),
        "decimal": lambda v: lang.number(v, digits=1),
        "signed": lambda v: lang.number(v, digits=1, signed=True),
        "money": _money(lang),
    }
    out = {k: fmt[kinds.get(k, "count")](v) for k, v in values.items()}

    # percentiles become "more than N% of sellers" (between 1% and 99%: a seller is never
    # ahead of all sellers, themself included)
    def share(pctl: float) -> str:
        return lang.percent(min(max(1 - pctl / 100, 0.01), 0.99))

    for key, word in (
        ("activity_top", "busier"),
        ("activity_bottom", "busier"),
        ("win_bottom", "better"),
        ("win_top", "better"),
    ):
        if key in values:
            out[word] = share(values[key])
    return lang.tr(message, **out)


def action_name(lang: Lang, action: str) -> str:
    """Return an action kind in words."""
    msg = ACTION_NAMES.get(action)
    return lang.tr(msg) if msg else action


def plan_summary(lang: Lang, plan: Any) -> str:
    """How many actions of each kind, for how many managers (no names)."""
    f = plan.frame
    if f.empty:
        return lang.tr("None of the rules calls for an action this quarter.")
    counts = [
        lang.tr("{action} ({n})", n=lang.number(n), action=action_name(lang, str(k)))
        for k, n in f["action"].value_counts().items()
    ]
    return lang.tr(
        "{managers} managers have something to act on this quarter: {counts}.",
        managers=lang.number(f["manager_id"].nunique()),
        counts=lang.join(counts),
    )


def actions_html(report: QuarterReport) -> str:
    """Reviews, mentoring pairs, leading indicators and the action list per manager."""
    lang = report_lang(report)
    s = report.sections
    parts = [_STYLE]
    parts.append(
        _reviews_html(s["reviews"], report, lang)
        if "reviews" in s
        else _off(lang, N_("Performance reviews"))
    )
    parts.append(
        _mentoring_html(s["mentoring"], lang)
        if "mentoring" in s
        else _off(lang, N_("Mentoring pairs"))
    )
    parts.append(
        _leading_html(s["leading"], lang)
        if "leading" in s
        else _off(lang, N_("Leading indicators"))
    )
    plan = s.get("actions")
    if plan is None:
        parts.append(_off(lang, N_("Actions per manager")))
        return "".join(parts)
    f = plan.to_frame()
    parts.append(element("h3", lang.tr("Actions per manager")))
    parts.append(element("p", plan_summary(lang, plan)))
    n = report.params.top_n
    parts.append(
        element(
            "p",
            lang.tr(
                "At most {n} lines per manager; the full list is in the file "
                "tables/actions.csv beside this report.",
                n=lang.number(n),
            ),
            "si-note",
        )
    )
    headers = [lang.tr("seller"), lang.tr("action"), lang.tr("why")]
    for manager, g in f.groupby("manager_id", sort=True):
        parts.append(element("h4", lang.tr("Manager {name}", name=_masked(report, manager))))
        rows = [
            [_masked(report, r.rep_id), action_name(lang, r.action), action_reason(lang, r.reason)]
            for r in g.head(n).itertuples()
        ]
        parts.append(cells_table(headers, rows))
    return "".join(parts)
