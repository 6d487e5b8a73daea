"""The report's first screen.

Title, quarter, one plain sentence per program, the forest plot of every program × outcome, and
the table of contents.

A sentence gives the verdict in words and the effect in money and units per seller (or team) per
month; where the revenue effect is established (worked or harmed) it adds the total across the
enrolled sellers this quarter and, when ``programs.budget`` is given, the return against the budget.
Where the effect is not established no total and no return is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.i18n import N_, Lang
from salesinsight.report.html import esc
from salesinsight.report.vocabulary import (
    FLOW_OUTCOMES,
    RATE_OUTCOMES,
    check_name,
    effect_text,
    outcome_name,
    per_month_factor,
    verdict_word,
)

__all__ = [
    "SECTIONS",
    "first_screen_html",
    "forest_figure",
    "program_sentence",
    "report_lang",
    "toc_html",
]

#: the report's sections: anchor id -> heading (in the order of the page).
SECTIONS: dict[str, str] = {
    "programs": N_("The programs one by one"),
    "kpis": N_("Results this quarter and the quarters before"),
    "drivers": N_("Why revenue moved"),
    "people": N_("Capability profiles and early warnings"),
    "forecast": N_("Next quarter: forecast and suggested quotas"),
    "actions": N_("From results to action"),
    "appendix": N_("Appendix: methods, statistics and data"),
}
VERDICT_COLOURS = {
    "worked": "#1b7f3b",
    "harmed": "#b3261e",
    "no detectable effect": "#5f6368",
    "inconclusive": "#b26a00",
}
_DAYS_PER_MONTH = 365.25 / 12


def report_lang(report: Any) -> Lang:
    """Return the :class:`Lang` of a report's params."""
    return Lang(report.params.language, report.params.currency)


# -- sentences ------------------------------------------------------------------------------
def _grain(report: Any, pid: str) -> str:
    ev = report.evaluations.get(pid)
    return (ev.spec.get("grain") if ev is not None else None) or report.params.grain


def _phrase(lang: Lang, r: Any, grain: str) -> str:
    """``revenue +¥1,847 per seller per month (+14%)`` / ``win rate +3.5 pp``."""
    rel = ""
    if r.outcome not in RATE_OUTCOMES and r.baseline not in (None, 0) and r.estimate is not None:
        rel = lang.tr(" ({pct})", pct=lang.percent(r.estimate / abs(r.baseline), signed=True))
    name = outcome_name(lang, r.outcome)
    if r.outcome in FLOW_OUTCOMES:
        amount = effect_text(lang, r.outcome, r.estimate, grain=grain, with_unit=False)
        return lang.tr(
            "{outcome} {amount} per seller per month{relative}",
            outcome=name,
            amount=amount,
            relative=rel,
        )
    effect = effect_text(lang, r.outcome, r.estimate, grain=grain)
    return lang.tr("{outcome} {effect}{relative}", outcome=name, effect=effect, relative=rel)


def _range_phrase(lang: Lang, r: Any, grain: str) -> str:
    def bare(value: Any) -> str:
        return effect_text(lang, r.outcome, value, grain=grain, with_unit=False)

    values = {
        "outcome": outcome_name(lang, r.outcome),
        "effect": bare(r.estimate),
        "low": bare(r.ci_low),
        "high": bare(r.ci_high),
    }
    if r.outcome in FLOW_OUTCOMES:
        return lang.tr(
            "the best estimate for {outcome} is {effect} per seller per month, but it could lie "
            "anywhere from {low} to {high}",
            **values,
        )
    return lang.tr(
        "the best estimate for {outcome} is {effect}, but it could lie anywhere from {low} to "
        "{high}",
        **values,
    )


def _failed_checks(report: Any, r: Any) -> list[str]:
    """Names of the required checks that failed for one program × outcome."""
    ev = report.evaluations.get(r.program_id)
    effect = None if ev is None else ev.effects.get(r.outcome)
    if effect is None:
        return []
    return [d.name for d in effect.diagnostics if d.required and d.passed is False]


def _money_sentence(report: Any, lang: Lang, r: Any, grain: str) -> str:
    """Write the money sentence: total across the enrolled sellers and return on the budget.

    The total is for this quarter; the return on the budget is for revenue only, and only when the
    effect is established.
    """
    exposure = report.sections.get("exposure")
    if exposure is None or r.estimate is None or r.outcome != "revenue":
        return ""
    row = exposure[exposure["program_id"] == r.program_id]
    if not len(row):
        return ""
    row = row.iloc[0]
    per_month = r.estimate * per_month_factor(grain)
    n_sellers = int(row["n_reps_current"])
    # effects are per active seller-period for rep and team programs alike (ratios of sums);
    # exposure counts the enrolled sellers' days (for a team program: its sellers' days)
    unit_months = float(row["rep_days_current"]) / _DAYS_PER_MONTH
    if n_sellers == 0 or unit_months == 0:
        return ""
    total = per_month * unit_months
    budget = _budget(report, r.program_id)
    if total < 0:  # a harm: the revenue lost, and what the program cost on top of it
        text = lang.tr(
            "Across the {n} enrolled sellers that is about {loss} less revenue this quarter",
            n=lang.number(n_sellers),
            loss=lang.money(-total, compact=True),
        )
        if budget:
            text += lang.tr(
                ", on top of a budget of {budget} spent on the program",
                budget=lang.money(budget, compact=True),
            )
        return text + lang.tr(".")
    text = lang.tr(
        "Across the {n} enrolled sellers that is about {total} this quarter",
        n=lang.number(n_sellers),
        total=lang.money(total, compact=True),
    )
    if budget:
        text += lang.tr(
            ", against a budget of {budget} ({ratio} times the budget)",
            budget=lang.money(budget, compact=True),
            ratio=lang.number(total / budget, digits=1),
        )
    return text + lang.tr(".")


def _budget(report: Any, pid: str) -> float | None:
    """Return ``programs.budget`` of a program: money per quarter, or None.

    None when absent, empty, not a number or not positive. The column is optional and not yet part
    of the data contract, so the loader keeps it as an extra (text) column.
    """
    progs = report.programs
    if "budget" not in getattr(progs, "columns", []):
        return None
    value = pd.to_numeric(progs.loc[progs["program_id"] == pid, "budget"], errors="coerce")
    if not len(value) or pd.isna(value.iloc[0]) or float(value.iloc[0]) <= 0:
        return None
    return float(value.iloc[0])


def program_sentence(report: Any, program_id: str) -> str:
    """One plain sentence (two at most) on a program: verdict, effect in units, money, budget."""
    lang = report_lang(report)
    rows = [r for r in report.rows if r.program_id == program_id]
    if not rows:
        return ""
    name = rows[0].name
    grain = _grain(report, program_id)
    worked = [r for r in rows if r.verdict == "worked"]
    harmed = [r for r in rows if r.verdict == "harmed"]
    null = [r for r in rows if r.verdict == "no detectable effect"]
    unclear = [r for r in rows if r.verdict not in ("worked", "harmed", "no detectable effect")]
    parts = []
    if worked:
        parts.append(
            lang.tr(
                "{name} worked: {effects}.",
                name=name,
                effects=lang.join([_phrase(lang, r, grain) for r in worked]),
            )
        )
    if harmed:
        parts.append(
            lang.tr(
                "{name} did harm: {effects}.",
                name=name,
                effects=lang.join([_phrase(lang, r, grain) for r in harmed]),
            )
        )
    if null:
        parts.append(
            lang.tr(
                "{name} made no difference worth acting on to {outcomes}.",
                name=name,
                outcomes=lang.join([outcome_name(lang, r.outcome) for r in null]),
            )
        )
    if worked or harmed or null:
        if unclear:
            parts.append(
                lang.tr(
                    "Its effect on {outcomes} is not yet clear.",
                    outcomes=lang.join([outcome_name(lang, r.outcome) for r in unclear]),
                )
            )
        money = [r for r in worked + harmed if r.outcome == "revenue"]
        if money:
            parts.append(_money_sentence(report, lang, money[0], grain))
        return ("" if lang.zh else " ").join(p for p in parts if p)
    # nothing established
    if all(r.estimate is None for r in rows):
        return lang.tr(
            "{name} could not be evaluated with these data (see its section).", name=name
        )
    failed = list(dict.fromkeys(c for r in rows for c in _failed_checks(report, r)))
    if failed:
        why = lang.tr(
            "a check behind the comparison failed ({checks}), so the numbers cannot be trusted yet",
            checks=lang.join([check_name(lang, c) for c in failed]),
        )
    else:
        key = next((r for r in rows if r.outcome == "revenue" and r.estimate is not None), None)
        key = key or next(r for r in rows if r.estimate is not None)
        why = _range_phrase(lang, key, grain)
    return lang.tr("{name}: not yet clear whether it changed anything; {why}.", name=name, why=why)


# -- forest plot ----------------------------------------------------------------------------
def _forest_rows(report: Any) -> list[dict[str, Any]]:
    out = []
    for r in report.rows:
        ok = r.estimate is not None and r.baseline not in (None, 0)
        base = abs(r.baseline) if ok else np.nan
        out.append(
            {
                "program_id": r.program_id,
                "name": r.name,
                "outcome": r.outcome,
                "verdict": r.verdict,
                "est": r.estimate / base if ok else np.nan,
                "lo": r.ci_low / base if ok and r.ci_low is not None else np.nan,
                "hi": r.ci_high / base if ok and r.ci_high is not None else np.nan,
                "band": (r.min_effect or 0.0) / base if ok else np.nan,
            }
        )
    return out


def forest_figure(report: Any) -> Any:
    """Draw the forest plot of every program × outcome.

    Each effect as a share of the level without the program, with its 95% range, and the grey band
    of effects too small to matter.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    lang = report_lang(report)
    rows = _forest_rows(report)
    labels, ys, y = [], [], 0.0
    bold = []
    for pid in dict.fromkeys(r["program_id"] for r in rows):
        prog = [r for r in rows if r["program_id"] == pid]
        labels.append(prog[0]["name"])
        bold.append(True)
        ys.append(y)
        y += 1
        for r in prog:
            r["y"] = y
            labels.append(outcome_name(lang, r["outcome"]))
            bold.append(False)
            ys.append(y)
            y += 1
    finite = [v for r in rows for v in (r["lo"], r["hi"]) if np.isfinite(v)]
    limit = min(max([0.1, *[abs(v) for v in finite]]) * 1.05, 0.6)
    fig, ax = plt.subplots(figsize=(6.2, 0.24 * len(labels) + 0.9))
    for r in rows:
        yy = r["y"]
        if np.isfinite(r["band"]) and r["band"] > 0:
            ax.add_patch(
                plt.Rectangle((-r["band"], yy - 0.4), 2 * r["band"], 0.8, color="#e3e3e3", lw=0)
            )
        if not np.isfinite(r["est"]):
            ax.text(
                0, yy, lang.tr("no estimate"), va="center", ha="center", fontsize=8, color="#5f6368"
            )
            continue
        colour = VERDICT_COLOURS.get(r["verdict"], "#5f6368")
        lo, hi = max(r["lo"], -limit), min(r["hi"], limit)
        ax.plot([lo, hi], [yy, yy], color=colour, lw=2, solid_capstyle="butt")
        for end, cut in ((r["lo"], -limit), (r["hi"], limit)):
            if abs(end) > limit:
                ax.annotate(
                    "",
                    xy=(cut, yy),
                    xytext=(cut * 0.93, yy),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5},
                )
        ax.plot([min(max(r["est"], -limit), limit)], [yy], "o", color=colour, ms=6)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_yticks(ys, labels)
    for tick, is_head in zip(ax.get_yticklabels(), bold, strict=True):
        if is_head:
            tick.set_fontweight("bold")
    ax.set_ylim(y - 0.4, -0.6)
    ax.set_xlim(-limit, limit)
    ax.xaxis.set_major_formatter(lambda v, _pos: lang.percent(v, signed=v != 0))
    ax.set_xlabel(lang.tr("effect, as a share of the level without the program"))
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#eee")
    ax.set_axisbelow(True)
    handles = [
        Line2D([], [], color=c, marker="o", lw=2, label=verdict_word(lang, v))
        for v, c in VERDICT_COLOURS.items()
    ] + [Patch(color="#e3e3e3", label=lang.tr("too small to matter"))]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09 - 0.5 / len(labels)),
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    fig.tight_layout()
    return fig


# -- the first screen -----------------------------------------------------------------------
def toc_html(lang: Lang) -> str:
    """Render the table of contents: links to the section anchors."""
    links = "".join(
        f'<li><a href="#{key}">{esc(lang.tr(title))}</a></li>' for key, title in SECTIONS.items()
    )
    label = esc(lang.tr("Contents"))
    return f'<nav class="si-toc" aria-label="{label}"><ol>{links}</ol></nav>'


def _verdict_dot(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#5f6368")
    return f'<span class="si-dot" style="background:{colour}"></span>'


def _program_verdict(rows: Sequence[Any]) -> str:
    labels = {r.verdict for r in rows}
    for v in ("harmed", "worked", "no detectable effect"):
        if v in labels:
            return v
    return "inconclusive"


def first_screen_html(report: Any) -> str:
    """Title, quarter, one sentence per program, the forest plot and the table of contents."""
    from salesinsight.report.figures import chart_style, figure_svg

    lang = report_lang(report)
    p = report.params
    quarter_line = lang.tr(
        "Quarter {quarter}, {start} to {end}",
        quarter=p.quarter,
        start=lang.date(report.quarter_start),
        end=lang.date(report.quarter_end),
    )
    items = []
    for pid in report.program_ids:
        rows = [r for r in report.rows if r.program_id == pid]
        if rows:
            items.append(
                f'<li class="si-verdict">{_verdict_dot(_program_verdict(rows))}'
                f"{esc(program_sentence(report, pid))}</li>"
            )
    if not items:
        none = lang.tr("No programs were evaluated this quarter.")
        items.append(f"<li>{esc(none)}</li>")
    intro = lang.tr(
        "Did this quarter's coaching, training, mentoring and incentive programs work? Each "
        "program was compared with sellers who did not take part, in the way its rollout allows."
    )
    forest = ""
    if any(r.estimate is not None for r in report.rows):
        with chart_style():
            fig = forest_figure(report)
        alt = lang.tr(
            "Forest plot: the effect of every program on every outcome with its 95% range; the "
            "grey band marks effects too small to matter."
        )
        caption = lang.tr(
            "Each line is the range of likely effects (95%); the dot is the best estimate. Lines "
            "inside the grey band are too small to matter."
        )
        forest = (
            f'<figure class="si-forest">{figure_svg(fig, alt, chart_id="forest")}'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    return (
        f'<header class="si-first"><h1>{esc(p.title)}</h1>'
        f'<p class="si-quarter">{esc(quarter_line)}</p>{toc_html(lang)}</header>'
        f'<div class="si-top"><section class="si-sentences"><p>{esc(intro)}</p>'
        f'<ul class="si-verdicts">{"".join(items)}</ul></section>{forest}</div>'
    )
