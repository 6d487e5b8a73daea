"""HTML blocks and figures of the quarterly report, one function per section.

Each ``*_html`` function returns an HTML string in which every piece of text from the data is
escaped; each ``plot_*`` function draws a matplotlib figure, shows it in the notebook and closes it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesinsight.i18n import N_, Lang
from salesinsight.report.actions_section import actions_html as actions_html
from salesinsight.report.html import STYLE as _STYLE
from salesinsight.report.html import cells_table, esc, summary_table
from salesinsight.report.html import element as _h
from salesinsight.report.quarterly import OVERVIEW_KPIS, QuarterReport
from salesinsight.report.sections_people import forecast_html as forecast_html
from salesinsight.report.sections_people import people_html as people_html
from salesinsight.report.summary import SECTIONS, VERDICT_COLOURS, report_lang
from salesinsight.report.summary import first_screen_html as first_screen_html
from salesinsight.report.vocabulary import (
    DESIGN_METHODS,
    KIND_NAMES,
    MONEY_OUTCOMES,
    RATE_OUTCOMES,
    check_name,
    effect_text,
    outcome_name,
    verdict_reason,
    verdict_word,
)
from salesinsight.results import Badge, KpiName

__all__ = [
    "actions_html",
    "appendix_html",
    "attribution_html",
    "first_screen_html",
    "forecast_html",
    "heading_html",
    "kpi_overview_html",
    "people_html",
    "plot_attribution",
    "plot_kpi_trends",
    "plot_program",
    "program_section_html",
]


_PERCENT_OUTCOMES = {"win_rate", "attainment", "share_at_quota", "csat", "attrition"}
VERDICT_RULES = N_(
    "worked — the interval excludes zero and the estimate clears the minimum meaningful effect in "
    "the good direction; harmed — the interval excludes zero in the bad direction; no detectable "
    "effect — the whole interval lies within ± the minimum meaningful effect (a confident null); "
    "inconclusive — anything else, or when a required check (pre-trends, balance, overlap, pre-period "
    "fit) failed, or when a result does not survive the correction for testing several outcomes; "
    "not estimable — the outcome has no data to estimate from (its table is absent, or it is 0 "
    "throughout the analysis window)."
)
PLAIN_RULES = N_(
    "A program worked when the whole range of likely effects is on the good side of zero and "
    "the best estimate is at least the smallest effect that matters; it did harm when the whole "
    "range is on the bad side; it made no difference worth acting on when the whole range lies "
    "inside the band of effects too small to matter. Everything else is not yet clear, as is "
    "any result whose required checks failed or that could be chance once several outcomes are "
    "tested together."
)


def _fmt(value: Any, outcome: str = "", signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    v = float(value)
    sign = "+" if signed else ""
    if outcome in _PERCENT_OUTCOMES:
        return f"{v * 100:{sign}.2f} pp" if signed else f"{v * 100:.1f}%"
    if abs(v) >= 1000:
        return f"{v:{sign},.0f}"
    return f"{v:{sign}.3g}"


def _show(fig: Any, alt: str) -> None:
    """Show a figure as an inline PNG carrying ``alt`` text, then close it."""
    import base64
    import io

    import matplotlib.pyplot as plt
    from IPython.display import display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    display({"image/png": png}, raw=True, metadata={"image/png": {"alt": alt}})


_UNAVAILABLE = N_("This section is not available for these data (see the appendix).")


def _show_chart(fig: Any, alt: str, chart_id: str) -> None:
    from salesinsight.report.figures import show_svg

    if fig is not None:
        show_svg(fig, alt, chart_id=chart_id)


def heading_html(report: QuarterReport, section: str) -> str:
    """Render a section heading with its anchor (the table of contents links to it)."""
    lang = report_lang(report)
    return f'{_STYLE}<h2 id="{esc(section)}">{esc(lang.tr(SECTIONS[section]))}</h2>'


def _kpi_value(lang: Lang, kpi: str, value: Any) -> str:
    if kpi in RATE_OUTCOMES:
        return lang.percent(value, digits=1)
    if kpi in MONEY_OUTCOMES:
        return lang.money(value)
    return lang.number(value)


def kpi_overview_html(report: QuarterReport) -> str:
    """Company KPIs for this and previous quarters, and teams this quarter, with units."""
    lang = report_lang(report)
    kpis = [k for k in OVERVIEW_KPIS if k in report.kpi_company.columns]
    company = report.kpi_company
    if "revenue" in company:
        company = company[company["revenue"].fillna(0) > 0]
    headers = [lang.tr("quarter"), *[outcome_name(lang, k) for k in kpis]]
    rows = [
        [str(r["period"]), *[_kpi_value(lang, k, r[k]) for k in kpis]]
        for _, r in company.iterrows()
    ]
    numeric = set(range(1, len(headers)))
    team_kpis = [k for k in kpis if k in report.kpi_team.columns]
    team_rows = [
        [str(r["team_id"]), *[_kpi_value(lang, k, r[k]) for k in team_kpis]]
        for _, r in report.kpi_team.iterrows()
    ]
    team_headers = [lang.tr("team"), *[outcome_name(lang, k) for k in team_kpis]]
    note = lang.tr(
        "Revenue is in the reporting currency; rates are shares of deals closed, of quota, of "
        "the satisfaction scale and of sellers."
    )
    return (
        _STYLE
        + _h("h3", lang.tr("Company"))
        + f"<div class='si-scroll'>{cells_table(headers, rows, numeric)}</div>"
        + _h("p", note, "si-note")
        + "<details>"
        + _h("summary", lang.tr("Teams in {quarter}", quarter=report.params.quarter))
        + f"<div class='si-scroll'>{cells_table(team_headers, team_rows, numeric)}</div></details>"
    )


def plot_kpi_trends(report: QuarterReport) -> None:
    """Company KPIs by quarter (axes from zero)."""
    from salesinsight.report.charts import kpi_trends_figure

    lang = report_lang(report)
    _show_chart(
        kpi_trends_figure(report, lang),
        lang.tr("Company results by quarter up to {quarter}", quarter=report.params.quarter),
        "kpi-trends",
    )


def _plain_reason(report: QuarterReport, r: Any, lang: Lang) -> str:
    """Why this verdict, in words (the estimator's own wording goes to the appendix)."""
    ev = report.evaluations.get(r.program_id)
    effect = None if ev is None else ev.effects.get(r.outcome)
    if effect is None:
        return lang.tr("No estimate: the data do not allow this comparison.")
    failed = [d.name for d in effect.diagnostics if d.required and d.passed is False]
    chance = (
        r.p_adjusted is not None
        and r.p_adjusted >= report.params.alpha
        and (r.ci_low is not None and (r.ci_low > 0 or r.ci_high < 0))
    )
    small = effect_text(lang, r.outcome, r.min_effect, signed=False)
    return verdict_reason(lang, r.verdict, failed=failed, small=small, chance=chance)


def _badge(lang: Lang, verdict: str) -> Badge:
    return Badge(verdict_word(lang, verdict), VERDICT_COLOURS.get(verdict, "#5f6368"))


def program_section_html(report: QuarterReport, program_id: str) -> str:
    """One program: what was compared, the verdict per outcome in units, why, and the checks."""
    lang = report_lang(report)
    rows = [r for r in report.rows if r.program_id == program_id]
    if not rows:
        return ""
    head = rows[0]
    ev = report.evaluations.get(program_id)
    grain = (ev.spec.get("grain") if ev is not None else None) or report.params.grain
    kind = lang.tr(KIND_NAMES.get(head.kind, KIND_NAMES["other"]))
    method = DESIGN_METHODS.get(head.design)
    parts = [
        f"{_STYLE}<h3>{esc(head.name)} <span class='si-note'>({esc(kind)})</span></h3>",
    ]
    if method:
        parts.append(f"<p>{esc(lang.tr(method))}</p>")
    table = []
    for r in rows:
        lo = effect_text(lang, r.outcome, r.ci_low, grain=grain, with_unit=False)
        hi = effect_text(lang, r.outcome, r.ci_high, grain=grain, with_unit=False)
        span = lang.tr("{low} to {high}", low=lo, high=hi) if r.ci_low is not None else "–"
        effect = effect_text(lang, r.outcome, r.estimate, grain=grain)
        reason = _plain_reason(report, r, lang)
        table.append([KpiName(r.outcome), _badge(lang, r.verdict), effect, span, reason])
    headers = [
        lang.tr("outcome"),
        lang.tr("verdict"),
        lang.tr("effect"),
        lang.tr("likely range (95%)"),
        lang.tr("why"),
    ]
    parts.append(summary_table(lang.language, headers, table, numeric=(2, 3), css="si-effects"))
    if ev is not None:
        parts.append(_checks_html(ev, lang))
        parts.append(_naive_html(ev, lang, grain))
    return "".join(parts)


def _check_state(lang: Lang, d: Any) -> str:
    if d.passed is None:
        return lang.tr("not applicable")
    if not d.required:
        return (
            lang.tr("for information: passed")
            if d.passed
            else lang.tr("for information: did not pass (does not affect the verdict)")
        )
    return lang.tr("passed") if d.passed else lang.tr("failed")


def _checks_html(ev: Any, lang: Lang) -> str:
    """Each check once per program: the outcomes where it passed or failed."""
    seen: dict[tuple[str, str], list[str]] = {}
    for o in ev.outcomes:
        effect = ev.effects.get(o)
        for d in () if effect is None else effect.diagnostics:
            seen.setdefault((check_name(lang, d.name), _check_state(lang, d)), []).append(
                outcome_name(lang, o)
            )
    if not seen:
        return ""
    rows = [[name, state, lang.join(outs)] for (name, state), outs in seen.items()]
    headers = [lang.tr("check"), lang.tr("result"), lang.tr("outcomes")]
    return (
        "<details>"
        + _h("summary", lang.tr("Checks behind these estimates"))
        + f"{summary_table(lang.language, headers, rows)}</details>"
    )


def _naive_html(ev: Any, lang: Lang, grain: str) -> str:
    naive = ev.naive
    if naive is None or not len(naive):
        return ""
    words = {
        "naive before/after": lang.tr("enrolled sellers after vs before"),
        "naive treated vs untreated": lang.tr("enrolled vs not enrolled"),
    }
    rows = [
        [
            outcome_name(lang, r.outcome),
            words.get(r.comparison, r.comparison),
            effect_text(lang, r.outcome, r.estimate, grain=grain),
        ]
        for r in naive.itertuples()
    ]
    text = lang.tr(
        "A naive comparison mixes the program's effect with who was chosen for it and with the "
        "season; these numbers are shown only to explain why the comparison above is used."
    )
    headers = [lang.tr("outcome"), lang.tr("naive comparison"), lang.tr("difference")]
    return (
        "<details>"
        + _h("summary", lang.tr("What a naive comparison would have said"))
        + _h("p", text, "si-note")
        + f"{summary_table(lang.language, headers, rows, numeric=(2,))}</details>"
    )


def plot_program(report: QuarterReport, program_id: str) -> None:
    """Render the program's design chart (arm means, event study, counterfactual, estimates)."""
    from salesinsight.report.charts import design_figure

    lang = report_lang(report)
    rows = [r for r in report.rows if r.program_id == program_id]
    if not rows:
        return
    fig = design_figure(report, program_id, lang)
    _show_chart(
        fig,
        lang.tr("How {name} compares over time and with its comparison group", name=rows[0].name),
        f"program-{program_id}",
    )


def attribution_html(report: QuarterReport) -> str:
    """How much of the revenue change the programs account for, and the teams that moved most."""
    lang = report_lang(report)
    parts = [_STYLE]
    dec = report.sections.get("attribution")
    if dec is not None:
        frame = dec.to_frame()
        totals = frame.drop_duplicates("team_id")[["kpi_base", "kpi_current", "total_change"]].sum()
        parts.append(
            "<p>"
            + esc(
                lang.tr(
                    "Company revenue went from {base} last quarter to {current} this quarter "
                    "({change}). The chart shows the teams that moved most.",
                    base=lang.money(totals["kpi_base"], compact=True),
                    current=lang.money(totals["kpi_current"], compact=True),
                    change=lang.money(totals["total_change"], signed=True, compact=True),
                )
            )
            + "</p>"
        )
    contrib = report.sections.get("contribution")
    if contrib is not None:
        lo, hi = contrib.programs_interval
        parts.append(
            "<p>"
            + esc(
                lang.tr(
                    "The evaluated programs account for about {amount} of the change (likely "
                    "between {low} and {high}); the rest comes from other factors.",
                    amount=lang.money(contrib.programs_contribution, signed=True, compact=True),
                    low=lang.money(lo, signed=True, compact=True),
                    high=lang.money(hi, signed=True, compact=True),
                )
            )
            + "</p>"
        )
    if len(parts) == 1:
        parts.append(_h("p", lang.tr(_UNAVAILABLE)))
    return "".join(parts)


def plot_attribution(report: QuarterReport) -> None:
    """Waterfall of the revenue change: at most a dozen labelled change bars."""
    from salesinsight.report.charts import waterfall_figure

    lang = report_lang(report)
    _show_chart(
        waterfall_figure(report, lang),
        lang.tr("Change in revenue since last quarter: the teams that moved most, then the total"),
        "waterfall",
    )


def _notes_html(notes: Any, lang: Lang | None = None) -> str:
    if not notes:
        return ""
    shown = [lang.note(n) if lang is not None else str(n) for n in notes]
    return "<ul class='si-note'>" + "".join(f"<li>{esc(n)}</li>" for n in shown) + "</ul>"


def _technical_table(report: QuarterReport, lang: Lang) -> str:
    def num(v: Any) -> str:
        return "–" if v is None else f"{float(v):.4g}"

    rows = [
        [
            r.name,
            outcome_name(lang, r.outcome),
            verdict_word(lang, r.verdict),
            num(r.estimate),
            f"{num(r.ci_low)} … {num(r.ci_high)}",
            num(r.p_value),
            num(r.p_adjusted),
            num(r.min_effect),
            r.method,
        ]
        for r in report.rows
    ]
    headers = [
        lang.tr("program"),
        lang.tr("outcome"),
        lang.tr("verdict"),
        lang.tr("estimate per period"),
        lang.tr("95% interval"),
        lang.tr("p-value"),
        lang.tr("adjusted p-value"),
        lang.tr("smallest effect that matters"),
        lang.tr("estimator"),
    ]
    return f"<div class='si-scroll'>{cells_table(headers, rows, {3, 4, 5, 6, 7})}</div>"


def appendix_html(report: QuarterReport) -> str:
    """Verdict rules, the statistics behind every verdict, notes, data checks, fingerprint."""
    lang = report_lang(report)
    v = report.validation
    checks = lang.tr("not run")
    if v is not None:
        checks = lang.tr(
            "{errors} errors, {warnings} warnings", errors=len(v.errors), warnings=len(v.warnings)
        )
    fp = cells_table([lang.tr("file"), "sha256"], [[k, d] for k, d in report.fingerprint.items()])
    warn = _notes_html(v.warnings) if v is not None and v.warnings else ""
    reasons = "".join(
        f"<li>{esc(r.name)} · {esc(outcome_name(lang, r.outcome))}: {esc(r.reason)}</li>"
        for r in report.rows
    )
    notes = _notes_html(report.notes, lang) or _h("p", lang.tr("None."))
    return (
        _STYLE
        + _h("h3", lang.tr("How verdicts are decided"))
        + _h("p", lang.tr(PLAIN_RULES))
        + _h("p", lang.tr(VERDICT_RULES), "si-note")
        + _h("h3", lang.tr("The statistics behind every verdict"))
        + _h(
            "p",
            lang.tr(
                "Estimates per seller and model period (week, month or quarter, as the design "
                "used), before conversion to months."
            ),
            "si-note",
        )
        + _technical_table(report, lang)
        + "<details>"
        + _h("summary", lang.tr("What each estimator reported"))
        + f"<ul class='si-note'>{reasons}</ul></details>"
        + _h("h3", lang.tr("Notes on this run"))
        + notes
        + _h("h3", lang.tr("Data checks"))
        + _h("p", lang.tr("Validation of the data folder: {checks}.", checks=checks))
        + warn
        + _h("h3", lang.tr("Data fingerprint"))
        + fp
    )
