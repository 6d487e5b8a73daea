"""The quarterly report's "From results to action" section: performance reviews, mentoring pairs,
leading indicators and each manager's action list (every data string escaped; ids masked when the
run asks for it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from salesinsight.report.html import badge, esc, mask_frame, table_html

if TYPE_CHECKING:
    from salesinsight.report.quarterly import QuarterReport

__all__ = ["actions_html"]

_IDS = ("rep_id", "mentor_id", "manager_id", "reviewer_id")
_STYLE = """<style>
.si-table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.si-table th,.si-table td{padding:3px 9px;border-bottom:1px solid #ddd}
.si-note{color:#555;font-size:13px}
</style>"""


def _mask(df: pd.DataFrame, report: QuarterReport) -> pd.DataFrame:
    return mask_frame(df, id_columns=_IDS) if report.params.mask_names else df


def _off(name: str) -> str:
    return f"<p class='si-note'>{esc(name)}: not available for this data (see the appendix).</p>"


def _reviews_html(rv: Any, report: QuarterReport) -> str:
    a, lz, v = rv.agreement, rv.leniency, rv.validity
    allrow = a.frame.iloc[0]
    parts = [
        "<h3>Performance reviews against KPIs</h3>",
        "<p>Scores follow the same quarter's attainment with a rank correlation of "
        f"{allrow.rho:.2f} [{allrow.ci_low:.2f}, {allrow.ci_high:.2f}]; the KPIs explain "
        f"{a.r2:.0%} of the score.",
    ]
    if v is not None:
        adds = "add" if v.ci_low > 0 else "do not detectably add"
        parts.append(
            f" Scores {adds} to next quarter's prediction beyond the KPIs: out-of-sample R² "
            f"{v.r2_kpis:.2f} → {v.r2_with_score:.2f} (gain {v.estimate:+.3f} [{v.ci_low:+.3f}, "
            f"{v.ci_high:+.3f}]); predictive, not causal."
        )
    parts.append("</p>")
    flagged = lz.flagged()
    parts.append(
        f"<p>Reviewer leniency ({esc(lz.design)}): {len(flagged)} of {len(lz.frame)} reviewers "
        f"score differently from their peers at equal KPIs (false-discovery rate {lz.fdr:.0%}; "
        "shifts shrunk, so a reviewer with few reviews is not flagged).</p>"
    )
    if len(flagged):
        cols = ["reviewer_id", "n_reviews", "leniency", "ci_low", "ci_high", "flag"]
        parts.append(table_html(_mask(flagged[cols], report)))
    g = rv.gaps.frame
    shown = g[~g["suppressed"]][
        ["group", "level", "n_reps", "gap", "unexplained", "ci_low", "ci_high"]
    ]
    parts.append(
        "<h4>Rating gaps after KPIs (score points; groups under "
        f"{rv.gaps.min_cell_size} reps are not shown)</h4>"
    )
    parts.append(
        table_html(shown) if len(shown) else "<p class='si-note'>No group large enough.</p>"
    )
    return "".join(parts)


def _mentoring_html(m: Any) -> str:
    f = m.to_frame()
    rows = "".join(
        f"<tr><td>{esc(r.measure)}</td><td>{r.estimate:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}]"
        f"</td><td>{badge(r.verdict)}</td><td class='si-note'>{esc(r.reason)}</td></tr>"
        for r in f.itertuples()
    )
    me = m.mentors
    if me.balanced is False:
        mentors = (
            "<p>Mentor differences are not shown: the comparison sellers are not balanced with the "
            "mentees on prior attainment and tenure, so no mentor's effect can be trusted.</p>"
        )
    else:
        mentors = (
            f"<p>Mentors differ by an estimated sd of {me.tau:.1%} in their mentees' revenue "
            f"effect (average {me.mean:+.1%}); "
            f"{int((me.frame['verdict'] == 'worked').sum())} mentors' mentees clearly did better."
            "</p>"
        )
    return (
        "<h3>Mentoring pairs</h3>"
        f"<p>{len(m.pairs.frame)} mentees against comparable unmentored sellers; mentors' own results "
        "against comparable non-mentors.</p>"
        "<table class='si-table'><thead><tr><th>measure</th><th>effect [95% interval]</th>"
        f"<th>verdict</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>"
        + mentors
        + "".join(f"<p class='si-note'>{esc(n)}</p>" for n in m.notes)
    )


def _leading_html(li: Any) -> str:
    f = li.frame[li.frame["leading"]].sort_values("gain", ascending=False).head(8)
    cols = ["process", "outcome", "coef", "gain", "gain_low", "gain_high"]
    return (
        "<h3>Process and outcome: leading indicators</h3>"
        "<p>Which process metrics (activities, follow-ups, meetings, pipeline created) predict next "
        "quarter's outcomes within the same seller, tested on later quarters. <b>Predictive, not "
        "causal</b>: they tell where to look, not what to change.</p>"
        + (table_html(f[cols]) if len(f) else "<p>No process metric predicts out of sample.</p>")
    )


def actions_html(report: QuarterReport) -> str:
    """Reviews, mentoring pairs, leading indicators and the action list per manager."""
    s = report.sections
    parts = [_STYLE]
    parts.append(_reviews_html(s["reviews"], report) if "reviews" in s else _off("Reviews"))
    parts.append(_mentoring_html(s["mentoring"]) if "mentoring" in s else _off("Mentoring pairs"))
    parts.append(_leading_html(s["leading"]) if "leading" in s else _off("Leading indicators"))
    plan = s.get("actions")
    if plan is None:
        parts.append(_off("Actions"))
        return "".join(parts)
    f = plan.to_frame()
    parts.append("<h3>Actions per manager</h3>")
    parts.append(f"<p>{esc(plan.summary() if not report.params.mask_names else '')}</p>")
    n = report.params.top_n
    parts.append(
        f"<p class='si-note'>Up to {n} lines per manager; the full list is in tables/actions.csv."
        "</p>"
    )
    for manager, g in f.groupby("manager_id", sort=True):
        label = _mask(pd.DataFrame({"manager_id": [manager]}), report)["manager_id"].iloc[0]
        parts.append(f"<h4>{esc(label)}</h4>")
        parts.append(table_html(_mask(g[["rep_id", "action", "reason"]].head(n), report)))
    return "".join(parts)
