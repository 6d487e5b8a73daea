"""HTML blocks and figures of the quarterly report, one function per section.

Each ``*_html`` function returns an HTML string in which every piece of text from the data is
escaped; each ``plot_*`` function draws a matplotlib figure, shows it in the notebook and closes it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesinsight.report.actions_section import actions_html
from salesinsight.report.html import badge, esc, mask_frame, pseudonym, table_html
from salesinsight.report.quarterly import OVERVIEW_KPIS, QuarterReport

__all__ = [
    "actions_html",
    "appendix_html",
    "attribution_html",
    "executive_summary_html",
    "forecast_html",
    "header_html",
    "kpi_overview_html",
    "people_html",
    "plot_attribution",
    "plot_kpi_trends",
    "plot_program",
    "program_section_html",
]

_STYLE = """<style>
.si-table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.si-table th,.si-table td{padding:3px 9px;border-bottom:1px solid #ddd;text-align:right}
.si-table th:first-child,.si-table td:first-child{text-align:left}
.si-note{color:#555;font-size:13px}
pre.si-note{white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere}
.si-summary>li{margin-bottom:8px}
.si-outcomes{list-style:none;padding-left:12px;font-size:13px}
.si-outcomes li{margin:2px 0}
</style>"""

_PERCENT_OUTCOMES = {"win_rate", "attainment", "share_at_quota", "csat", "attrition"}
VERDICT_RULES = (
    "worked — the interval excludes zero and the estimate clears the minimum meaningful effect in "
    "the good direction; harmed — the interval excludes zero in the bad direction; no detectable "
    "effect — the whole interval lies within ± the minimum meaningful effect (a confident null); "
    "inconclusive — anything else, or when a required check (pre-trends, balance, overlap, pre-period "
    "fit) failed, or when a result does not survive the correction for testing several outcomes."
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


def header_html(report: QuarterReport) -> str:
    """Title, quarter, its dates and the data folder."""
    p = report.params
    return (
        f"{_STYLE}<h1>{esc(p.title)}</h1><p class='si-note'>Quarter {esc(p.quarter)} "
        f"({report.quarter_start} to {report.quarter_end}) · data: {esc(p.data_dir.name)} · "
        f"significance level {p.alpha} · seed {p.seed}</p>"
        "<p>Did this quarter's coaching, training, mentoring and incentive programs work? Each "
        "verdict below comes from the design that fits how the program was rolled out, with an "
        "interval and the checks behind it.</p>"
    )


def _effect_text(r: Any) -> str:
    if r.estimate is None:
        return ""
    rel = ""
    if r.baseline not in (None, 0) and r.outcome not in _PERCENT_OUTCOMES:
        rel = f" ({r.estimate / abs(r.baseline):+.1%})"
    ci = ""
    if r.ci_low is not None and r.ci_high is not None:
        ci = f", 95% CI {_fmt(r.ci_low, r.outcome, True)} to {_fmt(r.ci_high, r.outcome, True)}"
    return f" {_fmt(r.estimate, r.outcome, signed=True)}{rel}{ci}"


def _headline(rows: list[Any]) -> str:
    """One plain sentence per program from its outcome verdicts."""

    def names(label: str) -> list[str]:
        return [r.outcome.replace("_", " ") for r in rows if r.verdict == label]

    worked, harmed, null = names("worked"), names("harmed"), names("no detectable effect")
    parts = []
    if worked:
        parts.append("it worked on " + ", ".join(worked))
    if harmed:
        parts.append("it harmed " + ", ".join(harmed))
    if null:
        parts.append("no effect worth acting on for " + ", ".join(null))
    if not parts:
        if all(r.estimate is None for r in rows):
            return "Not evaluated: " + "; ".join(sorted({r.reason for r in rows}))
        if any("diagnostic" in r.reason for r in rows):
            return (
                "Inconclusive: a check behind the design failed (see below), so its estimates "
                "cannot be trusted yet."
            )
        return "Inconclusive: the data cannot yet tell whether it changed anything (details below)."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def executive_summary_html(report: QuarterReport) -> str:
    """One verdict line per program, in plain language, with each outcome's effect."""
    if not report.rows:
        return "<p>No programs were evaluated this quarter.</p>" + _notes_html(report.notes[:3])
    items = []
    for pid in dict.fromkeys(r.program_id for r in report.rows):
        rows = [r for r in report.rows if r.program_id == pid]
        head = rows[0]
        outcomes = "".join(
            f"<li>{badge(r.verdict)} {esc(r.outcome.replace('_', ' '))}{esc(_effect_text(r))}</li>"
            for r in rows
        )
        items.append(
            f"<li><b>{esc(head.name)}</b> <span class='si-note'>({esc(head.kind)}, "
            f"{esc(head.design.replace('_', ' '))})</span> — {esc(_headline(rows))}"
            f"<ul class='si-outcomes'>{outcomes}</ul></li>"
        )
    return f"{_STYLE}<ul class='si-summary'>{''.join(items)}</ul>"


def kpi_overview_html(report: QuarterReport) -> str:
    """Company KPIs for this and previous quarters, and teams this quarter."""
    cols = ["period", *[k for k in OVERVIEW_KPIS if k in report.kpi_company.columns]]
    company = report.kpi_company[cols]
    team_cols = ["team_id", *[k for k in OVERVIEW_KPIS if k in report.kpi_team.columns]]
    team = report.kpi_team[[c for c in team_cols if c in report.kpi_team.columns]]
    return (
        f"{_STYLE}<h3>Company</h3>{table_html(company)}"
        f"<h3>Teams in {esc(report.params.quarter)}</h3>{table_html(team)}"
    )


def plot_kpi_trends(report: QuarterReport) -> None:
    """Small multiples of company KPIs by quarter and the reps' attainment distribution."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    kpis = [
        k
        for k in ("revenue", "win_rate", "activities", "csat", "attrition")
        if k in report.kpi_company
    ]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    for ax, k in zip(axes.flat, kpis, strict=False):
        sns.lineplot(data=report.kpi_company, x="period", y=k, marker="o", ax=ax)
        ax.set_title(k.replace("_", " "))
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=45)
    ax = axes.flat[5]
    att = report.kpi_rep.get("attainment")
    if att is not None and att.notna().any():
        sns.histplot(att.dropna().clip(upper=3), bins=30, ax=ax)
        ax.axvline(1.0, color="k", linestyle="--", linewidth=1)
        ax.set_title(f"rep attainment {report.params.quarter} (capped at 300%)")
    else:
        ax.set_axis_off()
    fig.tight_layout()
    _show(fig, f"Company KPIs by quarter up to {report.params.quarter} and rep attainment")


def program_section_html(report: QuarterReport, program_id: str) -> str:
    """Verdict, effect, diagnostics and the naive comparison for one program."""
    rows = [r for r in report.rows if r.program_id == program_id]
    if not rows:
        return ""
    head = rows[0]
    prog = report.programs[report.programs["program_id"] == program_id]
    desc = ""
    if len(prog) and "description" in prog and pd.notna(prog["description"].iloc[0]):
        desc = f"<p>{esc(prog['description'].iloc[0])}</p>"
    parts = [
        f"{_STYLE}<h3>{esc(head.name)} <span class='si-note'>({esc(program_id)}; {esc(head.kind)}, "
        f"design {esc(head.design)}, assigned per {esc(head.unit)})</span></h3>{desc}"
    ]
    table = []
    for r in rows:
        table.append(
            {
                "outcome": r.outcome,
                "verdict": r.verdict,
                "effect": _fmt(r.estimate, r.outcome, True),
                "95% interval": f"{_fmt(r.ci_low, r.outcome, True)} to "
                f"{_fmt(r.ci_high, r.outcome, True)}",
                "p": "–" if r.p_value is None else f"{r.p_value:.3g}",
                "p (adjusted)": "–" if r.p_adjusted is None else f"{r.p_adjusted:.3g}",
                "naive comparison": _fmt(r.naive_estimate, r.outcome, True),
                "method": r.method,
            }
        )
    parts.append(table_html(pd.DataFrame(table)))
    parts.append("<ul>")
    for r in rows:
        parts.append(f"<li>{badge(r.verdict)} {esc(r.outcome)}: {esc(r.reason)}</li>")
    parts.append("</ul>")
    ev = report.evaluations.get(program_id)
    if ev is not None:
        parts.append(_diagnostics_html(ev))
        parts.append(_naive_html(ev))
    return "".join(parts)


def _diagnostics_html(ev: Any) -> str:
    items = []
    for outcome in ev.outcomes:
        effect = ev.effects.get(outcome)
        if effect is None:
            continue
        for d in effect.diagnostics:
            state = "n/a" if d.passed is None else ("passed" if d.passed else "FAILED")
            items.append(
                {
                    "outcome": outcome,
                    "check": d.name,
                    "result": state,
                    "p": d.p_value,
                    "note": d.note,
                }
            )
    if not items:
        return ""
    return "<h4>Checks behind the estimates</h4>" + table_html(pd.DataFrame(items))


def _naive_html(ev: Any) -> str:
    naive = ev.naive
    if naive is None or not len(naive):
        return ""
    shown = naive[["outcome", "comparison", "estimate", "note"]]
    return (
        "<h4>What a naive comparison would have said</h4><p class='si-note'>These compare "
        "enrolled units with themselves before, or with units that were not enrolled. Enrolled "
        "units were chosen for a reason (often weaker or stronger performers, who drift back toward "
        "the average) and everyone moves with the season, so these numbers mix the program's effect "
        "with selection and trends. They are shown only to explain why the design above is used."
        "</p>" + table_html(shown)
    )


def plot_program(report: QuarterReport, program_id: str) -> None:
    """The event study or counterfactual picture of each outcome that has one."""
    import matplotlib.pyplot as plt

    ev = report.evaluations.get(program_id)
    if ev is None:
        return
    pictures = {}
    for outcome in ev.outcomes:
        effect = ev.dynamic.get(outcome) or ev.effects.get(outcome)
        if effect is not None and (effect.terms is not None or effect.path is not None):
            pictures[outcome] = effect
    if not pictures:
        return
    n = len(pictures)
    fig, axes = plt.subplots(1, n, figsize=(min(5.2 * n, 16), 3.6), squeeze=False)
    for ax, (outcome, effect) in zip(axes[0], pictures.items(), strict=True):
        try:
            effect.plot(ax=ax)
        except Exception as exc:  # a picture that cannot be drawn is said in words
            ax.text(0.5, 0.5, f"no picture: {exc}", ha="center", va="center", wrap=True)
        ax.set_title(outcome.replace("_", " "))
    fig.tight_layout()
    names = ", ".join(pictures)
    _show(fig, f"Effect of program {program_id} over time on {names}")


def attribution_html(report: QuarterReport) -> str:
    """Programs' share of the revenue change, its drivers by team, and the binding funnel stages."""
    parts = [_STYLE]
    n = report.params.top_n
    contrib = report.sections.get("contribution")
    if contrib is not None:
        parts.append("<h3>How much of the revenue change the programs account for</h3>")
        parts.append(f"<pre class='si-note'>{esc(contrib.summary())}</pre>")
        cols = [
            "program_id",
            "effect",
            "exposure_base",
            "exposure_current",
            "contribution",
            "ci_low",
            "ci_high",
        ]
        frame = contrib.to_frame()
        parts.append(table_html(frame[[c for c in cols if c in frame.columns]]))
    dec = report.sections.get("attribution")
    if dec is not None:
        frame = dec.to_frame()
        wide = frame.pivot_table(
            index=["team_id", "kpi_base", "kpi_current", "total_change"],
            columns="factor",
            values="contribution",
            sort=False,
        ).reset_index()
        wide.columns.name = None
        wide = wide.reindex(wide["total_change"].abs().sort_values(ascending=False).index)
        totals = frame.drop_duplicates("team_id")[["kpi_base", "kpi_current", "total_change"]].sum()
        by_factor = frame.groupby("factor", sort=False)["contribution"].sum()
        parts.append("<h3>Why revenue moved since the previous quarter (Shapley split)</h3>")
        parts.append(
            f"<p>Company revenue went from {_fmt(totals['kpi_base'])} to "
            f"{_fmt(totals['kpi_current'])} ({_fmt(totals['total_change'], signed=True)}): "
            + ", ".join(
                f"{esc(k.replace('_', ' '))} {_fmt(v, signed=True)}" for k, v in by_factor.items()
            )
            + f". The {n} teams whose revenue moved most:</p>"
        )
        parts.append(table_html(wide.head(n)))
    team_funnel = report.sections.get("funnel_team")
    if team_funnel is not None:
        parts.append("<h3>Where each team's funnel binds (vs the median team)</h3><ul>")
        for msg in team_funnel.messages["message"]:
            team, _, text = msg.partition(": ")
            parts.append(
                f"<li class='si-note'><b>{esc(team.removeprefix('team_id='))}</b>: {esc(text)}</li>"
            )
        parts.append("</ul>")
    funnel = report.sections.get("funnel")
    if funnel is not None:
        worst = funnel.messages.sort_values("gap").head(n).copy()
        ff = funnel.to_frame()
        labels = dict(zip(ff["factor"], ff["label"], strict=False))
        worst["binding_factor"] = worst["binding_factor"].map(lambda f: labels.get(f, f))
        worst = worst.rename(
            columns={
                "binding_factor": "binding stage",
                "binding_contribution": "money lost at that stage",
            }
        )
        if report.params.mask_names:
            worst = mask_frame(worst)
        parts.append(
            f"<h3>The {n} largest revenue gaps to the team median, by rep, and the stage that "
            "binds</h3>"
        )
        parts.append(
            table_html(worst[["rep_id", "gap", "binding stage", "money lost at that stage"]])
        )
    activity = report.sections.get("activity")
    if activity is not None:
        parts.append("<h3>Which activities go with won deals (associational)</h3>")
        parts.append(f"<pre class='si-note'>{esc(_summary_text(activity, report))}</pre>")
    if len(parts) == 1:
        parts.append("<p>Attribution is not available for this data (see the appendix).</p>")
    return "".join(parts)


def plot_attribution(report: QuarterReport) -> None:
    """Waterfall of the revenue change."""
    obj = report.sections.get("attribution")
    if obj is None or not hasattr(obj, "plot"):
        return
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    obj.plot(ax=ax)
    fig.tight_layout()
    _show(fig, "Revenue change versus the previous quarter split into its drivers")


def _summary_text(obj: Any, report: QuarterReport) -> str:
    text = obj.summary() if hasattr(obj, "summary") else ""
    lines = text.splitlines()
    limit = 4 + 2 * report.params.top_n
    if len(lines) > limit:
        text = "\n".join([*lines[:limit], f"... ({len(lines) - limit} more lines in the tables)"])
    if report.params.mask_names and "rep_id" in report.kpi_rep:
        for rid in report.kpi_rep["rep_id"].dropna().unique():
            text = text.replace(str(rid), pseudonym(rid))
        if "name" in report.kpi_rep:
            for name in report.kpi_rep["name"].dropna().unique():
                text = text.replace(str(name), "[name]")
    return text


def people_html(report: QuarterReport) -> str:
    """Capability profiles and early warnings: the top items only (names masked when asked)."""
    parts = [_STYLE]
    n = report.params.top_n
    prof = report.sections.get("profiles")
    if prof is None:
        parts.append("<p>Capability profiles: not available for this data (see the appendix).</p>")
    else:
        f = prof.to_frame()
        parts.append("<h3>Capability profiles</h3>")
        parts.append(f"<pre class='si-note'>{esc(_summary_text(prof, report))}</pre>")
        counts = f["archetype"].value_counts().rename_axis("archetype").reset_index(name="reps")
        parts.append(table_html(counts))
        cols = ["rep_id", "team_id", "archetype", "strengths", "weak_spots", "p_high_potential"]
        top = f.sort_values("p_high_potential", ascending=False).head(n)[cols]
        parts.append(f"<h4>Highest potential (top {n})</h4>" + table_html(_masked(top, report)))
        article = f[f["archetype"] == "high activity, low conversion"][cols].head(n)
        if len(article):
            parts.append(
                "<h4>High activity, low conversion: coach closing, not prospecting</h4>"
                + table_html(_masked(article, report))
            )
    ew = report.sections.get("warnings")
    if ew is None:
        parts.append("<p>Early warnings: not available for this data (see the appendix).</p>")
        return "".join(parts)
    parts.append("<h3>Early warnings</h3>")
    parts.append(f"<pre class='si-note'>{esc(_summary_text(ew, report))}</pre>")
    if len(ew.alerts):
        parts.append("<h4>Drops against the rep's own history</h4>")
        parts.append(table_html(_masked(ew.alerts[["rep_id", "team_id", "message"]], report)))
    else:
        parts.append(
            f"<p>No drop in activity, win rate or pipeline creation stands out at a false-"
            f"discovery rate of {report.params.warning_fdr:.0%}.</p>"
        )
    reps = ew.reps
    low = reps.sort_values("p_reach_quota").head(n)[
        ["rep_id", "team_id", "revenue_to_date", "quota", "expected_revenue", "p_reach_quota"]
    ]
    parts.append(f"<h4>Lowest chance of reaching quota (bottom {n})</h4>")
    parts.append(table_html(_masked(low, report)))
    thr = report.params.attrition_risk_threshold
    risk = reps[reps["p_attrition"] >= thr].sort_values("p_attrition", ascending=False)
    parts.append(f"<h4>Attrition risk of {thr:.0%} or more</h4>")
    if len(risk):
        cols = ["rep_id", "team_id", "p_attrition", "p_reach_quota"]
        parts.append(table_html(_masked(risk.head(n)[cols], report)))
    else:
        parts.append(f"<p>No rep's predicted attrition risk reaches {thr:.0%}.</p>")
    return "".join(parts)


def forecast_html(report: QuarterReport) -> str:
    """Next quarter's revenue forecast per team and the suggested quotas, with the backtest."""
    plan = report.sections.get("forecast")
    if plan is None:
        return "<p>The forecast is not available for this data (see the appendix).</p>"
    teams = plan.teams.copy()
    cols = [
        c
        for c in (
            "team_id",
            "n_reps",
            "revenue_median",
            "revenue_low",
            "revenue_high",
            "suggested_quota",
        )
        if c in teams.columns
    ]
    back = plan.backtest.groupby("level")[["coverage", "mape", "wape"]].mean().reset_index()
    return (
        f"{_STYLE}<pre class='si-note'>{esc(_summary_text(plan, report))}</pre>"
        f"<h4>Teams in {esc(plan.target_quarter)}</h4>{table_html(teams[cols], max_rows=200)}"
        "<h4>How well this forecast did on past quarters (rolling backtest)</h4>"
        f"{table_html(back)}"
    )


def _masked(df: pd.DataFrame, report: QuarterReport) -> pd.DataFrame:
    """Pseudonyms when asked; probabilities (``p_*`` columns) shown as whole percentages."""
    out = mask_frame(df) if report.params.mask_names else df.copy()
    for col in out.columns:
        if col.startswith("p_") and pd.api.types.is_float_dtype(out[col]):
            out[col] = [("" if pd.isna(v) else f"{v:.0%}") for v in out[col]]
    return out


def _notes_html(notes: Any) -> str:
    if not notes:
        return ""
    return "<ul class='si-note'>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"


def appendix_html(report: QuarterReport) -> str:
    """Verdict rules, notes, data checks and the data fingerprint."""
    v = report.validation
    checks = "not run"
    if v is not None:
        checks = f"{len(v.errors)} error(s), {len(v.warnings)} warning(s)"
    fp = pd.DataFrame(
        {"file": list(report.fingerprint), "sha256": list(report.fingerprint.values())}
    )
    warn = ""
    if v is not None and v.warnings:
        warn = "<ul class='si-note'>" + "".join(f"<li>{esc(w)}</li>" for w in v.warnings) + "</ul>"
    return (
        f"{_STYLE}<h3>How verdicts are decided</h3><p>{esc(VERDICT_RULES)}</p>"
        f"<h3>Notes on this run</h3>{_notes_html(report.notes) or '<p>None.</p>'}"
        f"<h3>Data checks</h3><p>Validation of the data folder: {esc(checks)}.</p>{warn}"
        f"<h3>Data fingerprint</h3>{table_html(fp)}"
    )
