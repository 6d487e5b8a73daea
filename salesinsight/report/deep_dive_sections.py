"""HTML blocks and figures of the ``program_deep_dive`` notebook, one function per section.

Every word comes from the message catalogs in the run's ``language`` (:class:`Lang`), numbers are
formatted for its locale with their units, charts are inline SVG with text left as text (so
Chinese labels render in the reader's browser), and every piece of text from the data is escaped.
The estimators' own technical notes on their checks are shown as they wrote them (English).
"""

from __future__ import annotations

from typing import Any

from salesinsight.i18n import N_, Lang
from salesinsight.report.deep_dive import DeepDive, OutcomeDive
from salesinsight.report.html import cells_table, element, esc, summary_table
from salesinsight.report.summary import VERDICT_COLOURS
from salesinsight.report.vocabulary import (
    KIND_NAMES,
    check_name,
    effect_text,
    outcome_name,
    verdict_reason,
    verdict_word,
)
from salesinsight.results import Badge

__all__ = [
    "SECTIONS",
    "appendix_html",
    "dive_lang",
    "header_html",
    "heading_html",
    "naive_html",
    "outcome_html",
    "plot_outcome",
]

#: the deep dive's sections: anchor id -> heading.
SECTIONS: dict[str, str] = {
    "estimates": N_("Estimates, outcome by outcome"),
    "naive": N_("Naive comparisons and why they mislead"),
    "appendix": N_("Specification and data"),
}
_DESIGN_NAMES = {
    "randomized": N_("randomized"),
    "staggered": N_("staggered start"),
    "single_rollout": N_("single rollout"),
    "observational": N_("observational"),
}


def dive_lang(dive: DeepDive) -> Lang:
    """Return the :class:`Lang` of a deep dive's params."""
    return Lang(dive.params.language, dive.params.currency)


def _grain(dive: DeepDive) -> str:
    spec = getattr(dive.evaluation, "spec", {}) or {}
    return spec.get("grain") or dive.params.grain


_BADGE_STYLE = "color:#fff;border-radius:4px;padding:1px 8px;font-weight:600;white-space:nowrap"


def _badge(lang: Lang, verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#5f6368")
    return Badge(verdict_word(lang, verdict), colour, _BADGE_STYLE).to_html()


def _reason(lang: Lang, dive: DeepDive, o: OutcomeDive) -> str:
    """Why this outcome's verdict, in plain words."""
    main = o.main
    if main is None:
        return lang.tr("No estimate: the data do not allow this comparison.")
    failed = [d.name for d in main.diagnostics if d.required and d.passed is False]
    alpha = dive.params.alpha
    chance = (
        o.p_adjusted is not None
        and o.p_adjusted >= alpha
        and main.ci_low is not None
        and (main.ci_low > 0 or main.ci_high < 0)
    )
    small = effect_text(lang, o.outcome, o.min_effect, grain=_grain(dive), signed=False)
    return verdict_reason(lang, o.verdict, failed=failed, small=small, chance=chance)


def _p(lang: Lang, value: Any) -> str:
    """Format a p-value with three decimals, ``<0.001`` below that (never scientific notation)."""
    if value is not None and 0 <= float(value) < 0.001:
        return "<" + lang.number(0.001, digits=3)
    return lang.number(value, digits=3)


def heading_html(dive: DeepDive, section: str) -> str:
    """Render a section heading in the deep dive's language."""
    lang = dive_lang(dive)
    return f'<h2 id="{esc(section)}">{esc(lang.tr(SECTIONS[section]))}</h2>'


def header_html(dive: DeepDive) -> str:
    """Title, the program, its design and the quarter, and the verdict per outcome."""
    from salesinsight.report.sections import _STYLE

    lang = dive_lang(dive)
    p, prog = dive.params, dive.program
    spec = getattr(dive.evaluation, "spec", {}) or {}
    kind = lang.tr(KIND_NAMES.get(str(prog.get("kind")), KIND_NAMES["other"]))
    design = str(prog.get("design"))
    design = lang.tr(_DESIGN_NAMES[design]) if design in _DESIGN_NAMES else design
    unit = lang.tr("team") if prog.get("unit") == "team" else lang.tr("seller")
    meta = [
        lang.tr(
            "Program {id} ({kind}; design: {design}; assigned per {unit}; started {start})",
            id=dive.program_id,
            kind=kind,
            design=design,
            unit=unit,
            start=prog.get("start_date") or "–",
        ),
        lang.tr("report quarter {quarter}", quarter=p.quarter),
    ]
    if spec.get("window"):
        meta.append(
            lang.tr(
                "analysis window {first} to {last}", first=spec["window"][0], last=spec["window"][1]
            )
        )
    meta += [
        lang.tr("data: {folder}", folder=p.data_dir.name),
        lang.tr("significance level {alpha}", alpha=lang.number(p.alpha, digits=2)),
        lang.tr("seed {seed}", seed=p.seed),
    ]
    desc = element("p", prog["description"]) if prog.get("description") else ""
    items = "".join(
        f"<li>{_badge(lang, o.verdict)} <b>{esc(outcome_name(lang, o.outcome))}</b>: "
        f"{esc(_reason(lang, dive, o))}</li>"
        for o in dive.by_outcome
    )
    title = lang.tr("{title}: {program}", title=p.title, program=prog.get("name", dive.program_id))
    return (
        f"{_STYLE}{element('h1', title)}"
        + element("p", " · ".join(meta), "si-note")
        + desc
        + f"<ul>{items}</ul>"
    )


def outcome_html(dive: DeepDive, outcome: str) -> str:
    """Verdict, every estimator's effect and interval, and every diagnostic for one outcome."""
    from salesinsight.report.sections import _STYLE

    lang = dive_lang(dive)
    grain = _grain(dive)
    o = dive.get(outcome)

    def eff(value: Any, *, with_unit: bool = True, signed: bool = True) -> str:
        return effect_text(lang, outcome, value, grain=grain, with_unit=with_unit, signed=signed)

    parts = [
        _STYLE,
        f"<h3>{esc(outcome_name(lang, outcome))} {_badge(lang, o.verdict)}</h3>",
        element("p", _reason(lang, dive, o)),
    ]
    if o.estimates:
        parts.append(_estimates_table(lang, dive, o, eff))
    extra = _outcome_facts(lang, dive, o, eff)
    if extra:
        parts.append(
            "<ul class='si-note'>" + "".join(f"<li>{esc(t)}</li>" for t in extra) + "</ul>"
        )
    parts.append(_checks_table(lang, o))
    if o.notes:
        parts.append(
            "<ul class='si-note'>"
            + "".join(f"<li>{esc(lang.note(n))}</li>" for n in o.notes)
            + "</ul>"
        )
    return "".join(parts)


def _estimates_table(lang: Lang, dive: DeepDive, o: OutcomeDive, eff: Any) -> str:
    """Every estimator's effect, interval, p-value (randomization p for that row) and sizes."""
    rows = [
        [
            lang.tr(est.label),
            eff(est.effect.estimate),
            lang.tr(
                "{low} to {high}",
                low=eff(est.effect.ci_low, with_unit=False),
                high=eff(est.effect.ci_high, with_unit=False),
            ),
            _p(
                lang,
                est.effect.extras.get("ri_p_value")
                if est.role == "randomization"
                else est.effect.p_value,
            ),
            lang.number(est.effect.n_units),
            lang.number(est.effect.n_obs),
        ]
        for est in o.estimates
    ]
    headers = [
        lang.tr("estimator"),
        lang.tr("effect"),
        lang.tr("{level} interval", level=lang.percent(1 - dive.params.alpha)),
        lang.tr("p-value"),
        lang.tr("units"),
        lang.tr("observations"),
    ]
    return summary_table(lang.language, headers, rows, numeric=(1, 2, 3, 4, 5))


def _outcome_facts(lang: Lang, dive: DeepDive, o: OutcomeDive, eff: Any) -> list[str]:
    """Return the adjusted and randomization p-values, the smallest effect that matters, the TWFE gap."""
    extra = []
    if o.p_adjusted is not None:
        correction = (
            lang.tr("Holm") if dive.params.correction == "holm" else lang.tr("Benjamini–Hochberg")
        )
        extra.append(
            lang.tr(
                "p-value adjusted across the program's outcomes ({correction}): {p}",
                correction=correction,
                p=_p(lang, o.p_adjusted),
            )
        )
    if o.ri_p_value is not None:
        extra.append(
            lang.tr(
                "p-value from re-drawing who was enrolled (randomization inference): {p}",
                p=_p(lang, o.ri_p_value),
            )
        )
    if o.min_effect is not None:
        extra.append(
            lang.tr(
                "smallest effect that matters: {effect}", effect=eff(o.min_effect, signed=False)
            )
        )
    gap = _twfe_gap(lang, o, eff)
    if gap:
        extra.append(gap)
    return extra


def _checks_table(lang: Lang, o: OutcomeDive) -> str:
    """Every estimator's diagnostics (the randomization row repeats the main ones: left out)."""
    from salesinsight.report.sections import _check_state

    diags = [
        [
            lang.tr(est.label),
            check_name(lang, d.name),
            _check_state(lang, d),
            _p(lang, d.p_value),
            str(d.note or ""),
        ]
        for est in o.estimates
        if est.role != "randomization"  # the same regression: its checks repeat the main ones
        for d in est.effect.diagnostics
    ]
    if not diags:
        return ""
    headers = [
        lang.tr("estimator"),
        lang.tr("check"),
        lang.tr("result"),
        lang.tr("p-value"),
        lang.tr("details (as the estimator reports them)"),
    ]
    checks = summary_table(lang.language, headers, diags, numeric=(3,))
    return element("h4", lang.tr("Checks")) + checks


def _twfe_gap(lang: Lang, o: OutcomeDive, eff: Any) -> str:
    by_role = {e.role: e.effect for e in o.estimates}
    cs, fe = by_role.get("main"), by_role.get("twfe")
    if cs is None or fe is None or not str(cs.method).startswith("staggered_did"):
        return ""
    return lang.tr(
        "Two-way fixed effects say {twfe}, Callaway & Sant'Anna {cs} on the same data; when "
        "groups start at different times and effects grow over time, two-way fixed effects also "
        "compare with groups already enrolled and are biased.",
        twfe=eff(fe.estimate),
        cs=eff(cs.estimate),
    )


def plot_outcome(dive: DeepDive, outcome: str) -> None:
    """Every picture of one outcome (event studies, counterfactual paths) side by side, as SVG."""
    import matplotlib.pyplot as plt

    from salesinsight.report.figures import chart_style, show_svg

    lang = dive_lang(dive)
    o = dive.get(outcome)
    drawable = [e for e in o.estimates if e.effect.terms is not None or e.effect.path is not None]
    if not drawable:
        return
    name = outcome_name(lang, outcome)
    with chart_style():
        fig, axes = plt.subplots(
            1, len(drawable), figsize=(5.4 * len(drawable), 3.6), squeeze=False
        )
        for ax, est in zip(axes[0], drawable, strict=True):
            try:
                est.effect.plot(ax=ax)
            except Exception as exc:  # a picture that cannot be drawn is said in words
                ax.text(
                    0.5,
                    0.5,
                    lang.tr("no picture: {error}", error=exc),
                    ha="center",
                    va="center",
                    wrap=True,
                )
            ax.set_title(
                lang.tr("{outcome}: {estimator}", outcome=name, estimator=lang.tr(est.label)),
                fontsize=10,
            )
        fig.tight_layout()
    labels = lang.join([lang.tr(e.label) for e in drawable])
    alt = lang.tr(
        "Effect of {program} on {outcome} over time: {estimators}",
        program=dive.program.get("name", dive.program_id),
        outcome=name,
        estimators=labels,
    )
    show_svg(fig, alt, chart_id=f"dive-{dive.program_id}-{outcome}")
    plt.close(fig)


def naive_html(dive: DeepDive) -> str:
    """Render the naive comparisons next to the main estimate, and why they mislead."""
    from salesinsight.report.sections import _STYLE

    lang = dive_lang(dive)
    grain = _grain(dive)
    frame = dive.naive_frame()
    parts = [_STYLE]
    if frame.empty:
        parts.append(element("p", lang.tr("No naive comparisons are available for this program.")))
    else:
        words = {
            "naive before/after": lang.tr("enrolled sellers after vs before"),
            "naive treated vs untreated": lang.tr("enrolled vs not enrolled"),
        }
        design = {o.outcome: o.main.estimate for o in dive.by_outcome if o.main is not None}
        rows = [
            [
                outcome_name(lang, r.outcome),
                words.get(r.comparison, str(r.comparison)),
                effect_text(lang, r.outcome, r.estimate, grain=grain),
                effect_text(lang, r.outcome, design.get(r.outcome), grain=grain),
            ]
            for r in frame.itertuples()
        ]
        headers = [
            lang.tr("outcome"),
            lang.tr("naive comparison"),
            lang.tr("difference"),
            lang.tr("the design's estimate"),
        ]
        parts.append(cells_table(headers, rows, {2, 3}))
    parts.append(
        "<p class='si-note'><b>"
        + esc(lang.tr("Why not the naive comparison?"))
        + "</b> "
        + esc(
            lang.tr(
                "A before/after change mixes the program with everything else that changed "
                "(season, market, sellers picked after a bad quarter bouncing back anyway); a gap "
                "between enrolled and not enrolled mixes it with who was picked. The comparisons "
                "above compare like with like."
            )
        )
        + "</p>"
    )
    return "".join(parts)


def appendix_html(dive: DeepDive) -> str:
    """Verdict rules, notes, specification of every estimator, data checks and fingerprint."""
    from salesinsight.report.sections import _STYLE, PLAIN_RULES, VERDICT_RULES

    lang = dive_lang(dive)
    v = dive.validation
    checks = lang.tr("not run")
    if v is not None:
        checks = lang.tr(
            "{errors} errors, {warnings} warnings", errors=len(v.errors), warnings=len(v.warnings)
        )
    spec_rows = [
        [
            outcome_name(lang, o.outcome),
            lang.tr(est.label),
            str(est.effect.method),
            str(est.effect.spec.get("inference", "")),
        ]
        for o in dive.by_outcome
        for est in o.estimates
    ]
    spec_headers = [
        lang.tr("outcome"),
        lang.tr("estimator"),
        lang.tr("method (as named in results.json)"),
        lang.tr("intervals from"),
    ]
    fp = cells_table([lang.tr("file"), "sha256"], [[k, d] for k, d in dive.fingerprint.items()])
    notes = "".join(f"<li>{esc(lang.note(n))}</li>" for n in dive.notes)
    notes = notes or f"<li>{esc(lang.tr('None.'))}</li>"
    return (
        _STYLE
        + element("h3", lang.tr("How verdicts are decided"))
        + element("p", lang.tr(PLAIN_RULES))
        + element("p", lang.tr(VERDICT_RULES), "si-note")
        + element("h3", lang.tr("Notes on this run"))
        + f"<ul class='si-note'>{notes}</ul>"
        + element("h3", lang.tr("Estimators"))
        + (cells_table(spec_headers, spec_rows) if spec_rows else "")
        + element("h3", lang.tr("Data checks"))
        + element("p", lang.tr("Validation of the data folder: {checks}.", checks=checks))
        + element("h3", lang.tr("Data fingerprint"))
        + fp
    )
