"""The quarterly report's charts, one per design and one per overview, in the report's language.

Each function takes the :class:`~salesinsight.report.quarterly.QuarterReport` (and a program),
draws inside :func:`~salesinsight.report.figures.chart_style` and returns the figure, or None when
there is nothing to draw. Levels are drawn on axes that start at zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from salesinsight.i18n import Lang
from salesinsight.report.figures import chart_style
from salesinsight.report.vocabulary import (
    FLOW_OUTCOMES,
    MONEY_OUTCOMES,
    RATE_OUTCOMES,
    outcome_name,
    per_month_factor,
)

__all__ = ["MAX_WATERFALL_BARS", "design_figure", "kpi_trends_figure", "waterfall_figure"]

#: change bars in the waterfall: the largest movers, then one "others" bar.
MAX_WATERFALL_BARS = 12
_BLUE, _GREY, _LIGHT = "#1f5fa8", "#9aa0a6", "#a8c4e5"


def _value_formatter(lang: Lang, outcome: str, *, signed: bool = False) -> Any:
    """Tick labels: levels of rates in %, differences of rates (``signed``) in percentage points."""
    if outcome in RATE_OUTCOMES and signed:
        return lambda v, _pos: lang.points(v, digits=0, signed=v != 0)
    if outcome in RATE_OUTCOMES:
        return lambda v, _pos: lang.percent(v)
    if outcome in MONEY_OUTCOMES:
        return lambda v, _pos: lang.money(v, signed=signed and v != 0, compact=True)
    return lambda v, _pos: lang.tick(v, signed=signed and v != 0)


def _ylabel(lang: Lang, outcome: str) -> str:
    name = outcome_name(lang, outcome)
    if outcome in FLOW_OUTCOMES:
        return lang.tr("{outcome} per seller per month", outcome=name)
    return name


def _since_start(lang: Lang, grain: str | None) -> str:
    return {
        "week": lang.tr("weeks since the start"),
        "month": lang.tr("months since the start"),
        "quarter": lang.tr("quarters since the start"),
    }.get(grain or "", lang.tr("periods since the start"))


def _period_word(lang: Lang, grain: str | None) -> str:
    return {"week": lang.tr("week"), "month": lang.tr("month"), "quarter": lang.tr("quarter")}.get(
        grain or "", lang.tr("period")
    )


def _scale(outcome: str, grain: str | None) -> float:
    return per_month_factor(grain) if outcome in FLOW_OUTCOMES else 1.0


# -- one chart per design -------------------------------------------------------------------
def _randomized(ev: Any, lang: Lang, grain: str | None) -> Any:
    """Arm means: the enrolled arm before and after the start, the waiting arm after."""
    import matplotlib.pyplot as plt

    outcomes = [o for o in ev.outcomes if ev.effects.get(o) is not None]
    if not outcomes:
        return None
    fig, axes = plt.subplots(1, len(outcomes), figsize=(2.6 * len(outcomes), 2.8), squeeze=False)
    for ax, o in zip(axes[0], outcomes, strict=True):
        e = ev.effects[o]
        arms = e.extras.get("arms")
        naive = ev.naive[
            (ev.naive["outcome"] == o) & (ev.naive["comparison"] == "naive before/after")
        ]
        k = _scale(o, grain)
        bars, colours = [], []
        if len(naive):
            bars.append((lang.tr("enrolled,\nbefore"), float(naive["reference"].iloc[0]) * k))
            colours.append(_LIGHT)
        if arms is not None and len(arms) == 2:
            by = arms.set_index("arm")["value"]
            bars.append((lang.tr("enrolled,\nafter"), float(by.loc[1]) * k))
            colours.append(_BLUE)
            bars.append((lang.tr("drawn to wait,\nafter"), float(by.loc[0]) * k))
            colours.append(_GREY)
        if not bars:
            ax.set_axis_off()
            continue
        ax.bar(range(len(bars)), [b[1] for b in bars], color=colours, width=0.65)
        ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_value_formatter(lang, o))
        ax.set_title(_ylabel(lang, o), fontsize=9)
    fig.tight_layout()
    return fig


def _staggered(ev: Any, lang: Lang, grain: str | None) -> Any:
    """Event study: effect by period since the start, with its 95% band."""
    import matplotlib.pyplot as plt

    outcomes = [o for o in ev.outcomes if ev.dynamic.get(o) is not None]
    if not outcomes:
        return None
    fig, axes = plt.subplots(1, len(outcomes), figsize=(2.9 * len(outcomes), 2.8), squeeze=False)
    for ax, o in zip(axes[0], outcomes, strict=True):
        t = ev.dynamic[o].terms
        if t is None or not {"term", "estimate", "ci_low", "ci_high"} <= set(t.columns):
            ax.set_axis_off()
            continue
        k = _scale(o, grain)
        x = pd.to_numeric(t["term"], errors="coerce").to_numpy()
        lo, hi = (t[c].to_numpy(dtype=float) * k for c in ("ci_low", "ci_high"))
        ax.fill_between(x, lo, hi, color=_LIGHT, alpha=0.6, lw=0)
        ax.plot(x, t["estimate"].to_numpy(dtype=float) * k, "o-", color=_BLUE, ms=3)
        ax.axhline(0, color="#333", lw=0.8)
        ax.axvline(-0.5, color="#999", lw=0.8, ls="--")
        ax.yaxis.set_major_formatter(_value_formatter(lang, o, signed=True))
        ax.set_title(_ylabel(lang, o), fontsize=9)
        ax.set_xlabel(_since_start(lang, grain), fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def _rollout(ev: Any, lang: Lang, grain: str | None) -> Any:
    """Observed vs the counterfactual (what would have happened without the program)."""
    import matplotlib.pyplot as plt

    paths, starts = {}, {}
    for o in ev.outcomes:
        for e in (ev.effects.get(o), *ev.alternatives.get(o, {}).values()):
            if (
                e is not None
                and e.path is not None
                and {"observed", "counterfactual"} <= set(e.path.columns)
            ):
                paths[o] = e.path
                starts[o] = e.spec.get("treatment_time")
                break
    if not paths:
        return None
    fig, axes = plt.subplots(1, len(paths), figsize=(2.9 * len(paths), 2.8), squeeze=False)
    for ax, (o, path) in zip(axes[0], paths.items(), strict=True):
        k = _scale(o, grain)
        x = np.arange(len(path), dtype=float)
        start = starts.get(o)
        if "time" in path:
            numeric = pd.to_numeric(path["time"], errors="coerce").to_numpy(dtype=float)
            if np.isfinite(numeric).all():
                x = numeric
            else:
                start = None
        if isinstance(start, (int, float)) and np.isfinite(start):
            ax.axvline(float(start) - 0.5, color="#999", lw=0.8, ls="--")
            ax.annotate(
                lang.tr("start"),
                (float(start) - 0.5, 0),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=7,
                color="#555",
            )
        if {"cf_low", "cf_high"} <= set(path.columns):
            lo, hi = (path[c].to_numpy(dtype=float) * k for c in ("cf_low", "cf_high"))
            ax.fill_between(x, lo, hi, color="#ddd", lw=0)
        ax.plot(
            x,
            path["counterfactual"] * k,
            color=_GREY,
            lw=1.5,
            ls="--",
            label=lang.tr("without the program (estimated)"),
        )
        ax.plot(x, path["observed"] * k, color=_BLUE, lw=1.5, label=lang.tr("observed"))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_value_formatter(lang, o))
        ax.set_title(_ylabel(lang, o), fontsize=9)
        ax.set_xlabel(_period_word(lang, grain), fontsize=8)
    axes[0][0].legend(fontsize=7, frameon=False, loc="lower left")
    fig.tight_layout()
    return fig


def _observational(ev: Any, lang: Lang, grain: str | None) -> Any:
    """Plot the estimate of each method side by side, with its 95% range."""
    import matplotlib.pyplot as plt

    outcomes = [o for o in ev.outcomes if ev.effects.get(o) is not None]
    if not outcomes:
        return None
    names = {
        "primary": lang.tr("all ways together (the verdict)"),
        "fe_did": lang.tr("before and after, vs not enrolled"),
        "lagged_outcome": lang.tr("vs sellers with the same past results"),
        "synthetic_did": lang.tr("vs a weighted blend of similar sellers"),
        "aipw": lang.tr("weighted comparison"),
        "naive": lang.tr("naive comparison"),
    }
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.0 * len(outcomes), 2.6), squeeze=False)
    for ax, o in zip(axes[0], outcomes, strict=True):
        k = _scale(o, grain)
        items = [("primary", ev.effects[o])]
        items += [(role, e) for role, e in ev.alternatives.get(o, {}).items() if e is not None]
        for i, (_role, e) in enumerate(items):
            ax.plot([e.ci_low * k, e.ci_high * k], [i, i], color=_BLUE, lw=2)
            ax.plot([e.estimate * k], [i], "o", color=_BLUE)
        naive = ev.naive[
            (ev.naive["outcome"] == o) & (ev.naive["comparison"] == "naive treated vs untreated")
        ]
        labels = [names.get(role, role.replace("_", " ")) for role, _ in items]
        if len(naive):
            ax.plot([float(naive["estimate"].iloc[0]) * k], [len(items)], "x", color="#b3261e")
            labels.append(names["naive"])
        ax.axvline(0, color="#333", lw=0.8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.xaxis.set_major_formatter(_value_formatter(lang, o, signed=True))
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(_ylabel(lang, o), fontsize=9)
    fig.tight_layout()
    return fig


_DESIGN_CHARTS = {
    "randomized": _randomized,
    "staggered": _staggered,
    "single_rollout": _rollout,
    "observational": _observational,
}


def design_figure(report: Any, program_id: str, lang: Lang) -> Any:
    """Return the chart that fits the program's design, or None."""
    ev = report.evaluations.get(program_id)
    if ev is None:
        return None
    draw = _DESIGN_CHARTS.get(str(ev.program.get("design")))
    if draw is None:
        return None
    with chart_style():
        return draw(ev, lang, ev.spec.get("grain"))


# -- overview charts ------------------------------------------------------------------------
def kpi_trends_figure(report: Any, lang: Lang) -> Any:
    """Company KPIs by quarter, each on an axis from zero."""
    import matplotlib.pyplot as plt

    company = report.kpi_company
    company = company[company["period"].isin(_active_quarters(company))]
    kpis = [k for k in ("revenue", "win_rate", "activities", "csat") if k in company]
    if not kpis or not len(company):
        return None
    with chart_style():
        fig, axes = plt.subplots(1, len(kpis), figsize=(2.8 * len(kpis), 2.6), squeeze=False)
        for ax, k in zip(axes[0], kpis, strict=True):
            ax.plot(company["period"], company[k], "o-", color=_BLUE, ms=4)
            ax.set_ylim(0, float(np.nanmax(company[k].to_numpy(dtype=float))) * 1.15 or 1)
            ax.yaxis.set_major_formatter(_value_formatter(lang, k))
            ax.set_title(outcome_name(lang, k), fontsize=9)
            ax.tick_params(axis="x", rotation=45, labelsize=7)
        fig.tight_layout()
    return fig


def _active_quarters(company: pd.DataFrame) -> list[str]:
    active = company
    if "sellers_active" in company:
        active = company[company["sellers_active"].fillna(0) > 0]
    elif "revenue" in company:
        active = company[company["revenue"].fillna(0) > 0]
    return list(active["period"])


def waterfall_figure(report: Any, lang: Lang) -> Any:
    """Plot the change in revenue since last quarter as a waterfall.

    It is built up from the teams that moved most (at most ``MAX_WATERFALL_BARS`` labelled bars,
    the rest as one "others" bar), ending in the total.
    """
    import matplotlib.pyplot as plt

    dec = report.sections.get("attribution")
    if dec is None:
        return None
    frame = dec.to_frame().drop_duplicates("team_id")
    change = frame.set_index("team_id")["total_change"].astype(float)
    order = change.abs().sort_values(ascending=False).index
    n_named = len(change) if len(change) <= MAX_WATERFALL_BARS else MAX_WATERFALL_BARS - 1
    shown = change.loc[order[:n_named]]
    steps = [(str(t), float(v)) for t, v in shown.items()]
    if len(change) > n_named:
        rest = float(change.drop(shown.index).sum())
        steps.append((lang.tr("{n} other teams", n=len(change) - n_named), rest))
    total = float(change.sum())
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 3.4))
        level = 0.0
        for i, (_, v) in enumerate(steps):
            ax.bar(i, v, bottom=level, color="#1b7f3b" if v >= 0 else "#b3261e", width=0.7)
            level += v
        ax.bar(len(steps), total, color=_BLUE, width=0.7)
        ax.axhline(0, color="#333", lw=0.8)
        labels = [s[0] for s in steps] + [lang.tr("total change")]
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.yaxis.set_major_formatter(_value_formatter(lang, "revenue", signed=True))
        ax.set_ylabel(lang.tr("change in revenue since last quarter"))
        fig.tight_layout()
    return fig
