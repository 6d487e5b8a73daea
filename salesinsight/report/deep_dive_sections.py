"""HTML blocks and figures of the ``program_deep_dive`` notebook, one function per section.

Every piece of text from the data is escaped; plots are shown in the notebook and closed.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from salesinsight.report.deep_dive import DeepDive, OutcomeDive
from salesinsight.report.html import badge, check_result, esc, mask_frame, table_html

__all__ = ["appendix_html", "header_html", "naive_html", "outcome_html", "plot_outcome"]


def header_html(dive: DeepDive) -> str:
    """Title, the program, its design and the quarter."""
    from salesinsight.report.sections import _STYLE

    p, prog = dive.params, dive.program
    spec = getattr(dive.evaluation, "spec", {}) or {}
    window = (
        f" · analysis window {spec['window'][0]} to {spec['window'][1]}"
        if spec.get("window")
        else ""
    )
    desc = f"<p>{esc(prog['description'])}</p>" if prog.get("description") else ""
    return (
        f"{_STYLE}<h1>{esc(p.title)}: {esc(prog.get('name', dive.program_id))}</h1>"
        f"<p class='si-note'>Program {esc(dive.program_id)} ({esc(prog.get('kind'))}, design "
        f"{esc(prog.get('design'))}, assigned per {esc(prog.get('unit'))}, started "
        f"{esc(prog.get('start_date'))}) · report quarter {esc(p.quarter)}{esc(window)} · data: "
        f"{esc(p.data_dir.name)} · significance level {p.alpha} · seed {p.seed}</p>{desc}"
        + "<ul>"
        + "".join(
            f"<li>{badge(o.verdict)} <b>{esc(o.outcome)}</b>: {esc(o.reason)}</li>"
            for o in dive.by_outcome
        )
        + "</ul>"
    )


def outcome_html(dive: DeepDive, outcome: str) -> str:
    """Verdict, every estimator's effect and interval, and every diagnostic for one outcome."""
    from salesinsight.report.sections import _STYLE, _fmt

    o = dive.get(outcome)
    parts = [f"{_STYLE}<h3>{esc(outcome)} {badge(o.verdict)}</h3><p>{esc(o.reason)}</p>"]
    if o.estimates:
        rows = [
            {
                "estimator": est.label,
                "effect": _fmt(est.effect.estimate, outcome, True),
                f"{100 * (1 - dive.params.alpha):g}% interval": (
                    f"{_fmt(est.effect.ci_low, outcome, True)} to "
                    f"{_fmt(est.effect.ci_high, outcome, True)}"
                ),
                "p": _p(
                    est.effect.extras.get("ri_p_value")
                    if est.role == "randomization"
                    else est.effect.p_value
                ),
                "units": est.effect.n_units,
                "obs": est.effect.n_obs,
            }
            for est in o.estimates
        ]
        parts.append(table_html(pd.DataFrame(rows)))
    extra = []
    if o.p_adjusted is not None:
        extra.append(
            f"p-value adjusted across outcomes ({dive.params.correction}): {_p(o.p_adjusted)}"
        )
    if o.ri_p_value is not None:
        extra.append(f"randomization-inference p-value: {_p(o.ri_p_value)}")
    if o.min_effect is not None:
        extra.append(f"minimum meaningful effect: {_fmt(o.min_effect, outcome, True)}")
    if _twfe_gap(o):
        extra.append(_twfe_gap(o))
    if extra:
        parts.append(
            "<ul class='si-note'>" + "".join(f"<li>{esc(t)}</li>" for t in extra) + "</ul>"
        )
    diags = [
        {
            "estimator": est.label,
            "check": d.name,
            "result": check_result(d.passed, d.required),
            "required": "yes" if d.required else "no",
            "p": _p(d.p_value),
            "note": d.note,
        }
        for est in o.estimates
        if est.role != "randomization"  # the same regression: its checks repeat the main ones
        for d in est.effect.diagnostics
    ]
    if diags:
        parts.append("<h4>Checks</h4>" + table_html(pd.DataFrame(diags)))
    if o.notes:
        parts.append(
            "<ul class='si-note'>" + "".join(f"<li>{esc(n)}</li>" for n in o.notes) + "</ul>"
        )
    return "".join(parts)


def _p(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.3g}"


def _twfe_gap(o: OutcomeDive) -> str:
    by_role = {e.role: e.effect for e in o.estimates}
    cs, fe = by_role.get("main"), by_role.get("twfe")
    if cs is None or fe is None or not str(cs.method).startswith("staggered_did"):
        return ""
    return (
        f"TWFE says {fe.estimate:.4g}, Callaway & Sant'Anna {cs.estimate:.4g} on the same panel; "
        "with staggered timing and effects that grow over time TWFE mixes in comparisons with "
        "already-treated units and is biased."
    )


def plot_outcome(dive: DeepDive, outcome: str) -> None:
    """Every picture of one outcome (event studies, counterfactual paths) side by side."""
    import matplotlib.pyplot as plt

    from salesinsight.report.sections import _show

    o = dive.get(outcome)
    drawable = [e for e in o.estimates if e.effect.terms is not None or e.effect.path is not None]
    if not drawable:
        return
    fig, axes = plt.subplots(1, len(drawable), figsize=(5.4 * len(drawable), 3.6), squeeze=False)
    for ax, est in zip(axes[0], drawable, strict=True):
        try:
            est.effect.plot(ax=ax)
        except Exception as exc:  # a picture that cannot be drawn is said in words
            ax.text(0.5, 0.5, f"no picture: {exc}", ha="center", va="center", wrap=True)
        ax.set_title(f"{outcome.replace('_', ' ')}: {est.label}", fontsize=10)
    fig.tight_layout()
    labels = ", ".join(e.label for e in drawable)
    _show(fig, f"Program {dive.program_id}, effect on {outcome} over time: {labels}")


def naive_html(dive: DeepDive) -> str:
    """The naive comparisons next to the main estimate, and why they mislead."""
    from salesinsight.report.sections import _STYLE

    frame = dive.naive_frame()
    parts = [_STYLE]
    if frame.empty:
        parts.append("<p>No naive comparisons are available for this program.</p>")
    else:
        design = {o.outcome: o.main.estimate for o in dive.by_outcome if o.main is not None}
        frame.insert(2, "design estimate", frame["outcome"].map(design).astype(float))
        if dive.params.mask_names:
            frame = mask_frame(frame)
        parts.append(table_html(frame))
    text = getattr(dive.evaluation, "naive_explanation", None)
    if text:
        parts.append(f"<p class='si-note'><b>Why not the naive comparison?</b> {esc(text)}</p>")
    else:
        parts.append(
            "<p class='si-note'><b>Why not the naive comparison?</b> A before/after change mixes the "
            "program with everything else that changed (season, market, regression to the mean of "
            "reps picked for a bad quarter); a treated-vs-untreated gap mixes it with who was "
            "picked. The designs above compare like with like.</p>"
        )
    return "".join(parts)


def appendix_html(dive: DeepDive) -> str:
    """Verdict rules, notes, specification of every estimator, data checks and fingerprint."""
    from salesinsight.report.sections import _STYLE, VERDICT_RULES

    v = dive.validation
    checks = "not run" if v is None else f"{len(v.errors)} error(s), {len(v.warnings)} warning(s)"
    spec_rows = [
        {
            "outcome": o.outcome,
            "estimator": est.label,
            "method": est.effect.method,
            "inference": str(est.effect.spec.get("inference", "")),
        }
        for o in dive.by_outcome
        for est in o.estimates
    ]
    fp = pd.DataFrame({"file": list(dive.fingerprint), "sha256": list(dive.fingerprint.values())})
    notes = "".join(f"<li>{esc(n)}</li>" for n in dive.notes) or "<li>None.</li>"
    return (
        f"{_STYLE}<h3>How verdicts are decided</h3><p>{esc(VERDICT_RULES)}</p>"
        f"<h3>Notes on this run</h3><ul class='si-note'>{notes}</ul>"
        f"<h3>Estimators</h3>{table_html(pd.DataFrame(spec_rows)) if spec_rows else ''}"
        f"<h3>Data checks</h3><p>Validation of the data folder: {esc(checks)}.</p>"
        f"<h3>Data fingerprint</h3>{table_html(fp)}"
    )
