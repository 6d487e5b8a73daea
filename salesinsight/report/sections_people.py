"""The quarterly report's sections on people: capability profiles, early warnings, the forecast.

Same conventions as :mod:`salesinsight.report.sections`: every word from the message catalog, every
piece of data escaped, names masked when the params ask for it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesinsight.i18n import N_, Lang
from salesinsight.report.html import STYLE as _STYLE
from salesinsight.report.html import cells_table as _table
from salesinsight.report.html import element as _h
from salesinsight.report.html import esc, mask_frame
from salesinsight.report.summary import report_lang
from salesinsight.report.vocabulary import archetype_name

__all__ = ["forecast_html", "people_html"]

_UNAVAILABLE = N_("This section is not available for these data (see the appendix).")


def _masked(df: pd.DataFrame, report: Any) -> pd.DataFrame:
    return mask_frame(df) if report.params.mask_names else df.copy()


def _people_rows(df: pd.DataFrame, cols: list[str], lang: Lang) -> list[list[str]]:
    out = []
    for _, r in df.iterrows():
        row = []
        for c in cols:
            v = r[c]
            if c.startswith("p_"):
                row.append(lang.percent(v))
            elif c == "archetype":
                row.append(archetype_name(lang, v))
            elif isinstance(v, float):
                row.append(lang.money(v) if "revenue" in c or c == "quota" else lang.sig(v))
            else:
                row.append("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
        out.append(row)
    return out


def people_html(report: Any) -> str:
    """Capability profiles and early warnings: the top items only (names masked when asked)."""
    lang = report_lang(report)
    parts = [_STYLE]
    n = report.params.top_n
    prof = report.sections.get("profiles")
    if prof is not None:
        f = prof.to_frame()
        parts.append(_h("h3", lang.tr("Capability profiles")))
        counts = f["archetype"].value_counts()
        parts.append(
            _table(
                [lang.tr("profile"), lang.tr("sellers")],
                [[archetype_name(lang, k), lang.number(v)] for k, v in counts.items()],
                {1},
            )
        )
        top = _masked(f.sort_values("p_high_potential", ascending=False).head(n), report)
        parts.append(_h("h4", lang.tr("Highest potential (top {n})", n=n)))
        cols = ["rep_id", "team_id", "archetype", "p_high_potential"]
        parts.append(
            _table(
                [
                    lang.tr("seller"),
                    lang.tr("team"),
                    lang.tr("profile"),
                    lang.tr("chance of high potential"),
                ],
                _people_rows(top, cols, lang),
                {3},
            )
        )
    ew = report.sections.get("warnings")
    if ew is not None:
        parts.append(_h("h3", lang.tr("Early warnings")))
        parts.append(
            "<p>"
            + esc(
                lang.tr(
                    "{n} sellers show a drop against their own history at this point of the "
                    "quarter.",
                    n=lang.number(len(ew.alerts)),
                )
            )
            + "</p>"
        )
        reps = ew.reps
        low = _masked(reps.sort_values("p_reach_quota").head(n), report)
        cols = ["rep_id", "team_id", "revenue_to_date", "quota", "p_reach_quota"]
        parts.append(_h("h4", lang.tr("Lowest chance of reaching quota (bottom {n})", n=n)))
        parts.append(
            _table(
                [
                    lang.tr("seller"),
                    lang.tr("team"),
                    lang.tr("revenue to date"),
                    lang.tr("quota"),
                    lang.tr("chance of reaching quota"),
                ],
                _people_rows(low, cols, lang),
                {2, 3, 4},
            )
        )
        thr = report.params.attrition_risk_threshold
        risk = reps[reps["p_attrition"] >= thr].sort_values("p_attrition", ascending=False)
        parts.append(
            "<p>"
            + esc(
                lang.tr(
                    "{n} sellers have a predicted chance of leaving of {threshold} or more.",
                    n=lang.number(len(risk)),
                    threshold=lang.percent(thr),
                )
            )
            + "</p>"
        )
    if len(parts) == 1:
        parts.append(_h("p", lang.tr(_UNAVAILABLE)))
    return "".join(parts)


def forecast_html(report: Any) -> str:
    """Next quarter's revenue forecast per team and the suggested quotas."""
    lang = report_lang(report)
    plan = report.sections.get("forecast")
    if plan is None:
        return _h("p", lang.tr(_UNAVAILABLE))
    teams = plan.teams
    rows = [
        [
            str(r["team_id"]),
            lang.money(r.get("revenue_median"), compact=True),
            lang.tr(
                "{low} to {high}",
                low=lang.money(r.get("revenue_low"), compact=True),
                high=lang.money(r.get("revenue_high"), compact=True),
            ),
            lang.money(r.get("suggested_quota"), compact=True),
        ]
        for _, r in teams.iterrows()
    ]
    headers = [
        lang.tr("team"),
        lang.tr("expected revenue"),
        lang.tr("likely range"),
        lang.tr("suggested quota"),
    ]
    text = lang.tr(
        "Forecast for {quarter}. Quotas are suggested so that {share} of the sellers are expected "
        "to reach them.",
        quarter=plan.target_quarter,
        share=lang.percent(getattr(plan, "share_at_quota", 0.55)),
    )
    return (
        f"{_STYLE}<p>{esc(text)}</p><div class='si-scroll'>{_table(headers, rows, {1, 2, 3})}</div>"
    )
