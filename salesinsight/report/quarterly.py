"""Assemble every section of the quarterly report from the package's models.

:func:`build_quarter` is the one call the notebook makes: it loads and validates the data folder,
builds the KPI panels, evaluates each program, attributes the quarter's change, and computes
capability profiles and early warnings. A section whose input tables are missing is switched off with
a note (never a crash); a section that fails is reported with its error in the appendix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from salesinsight.calendar import add_months, quarter_label
from salesinsight.i18n import Note
from salesinsight.kpis import KPIS, KpiName
from salesinsight.report.outputs import json_value as _json_num
from salesinsight.report.outputs import save_outputs
from salesinsight.report.params import RunParams
from salesinsight.results import ResultMixin, Summary

__all__ = ["ProgramRow", "QuarterReport", "build_quarter"]

#: company KPIs shown in the overview, in order.
OVERVIEW_KPIS: tuple[str, ...] = (
    "revenue",
    "opps_created",
    "opps_won",
    "win_rate",
    "avg_deal_size",
    "activities",
    "follow_ups",
    "attainment",
    "share_at_quota",
    "csat",
    "attrition",
)


@dataclass(frozen=True)
class ProgramRow:
    """One program × outcome line of the executive summary."""

    program_id: str
    name: str
    kind: str
    design: str
    unit: str
    outcome: str
    verdict: str
    reason: str
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    baseline: float | None = None
    min_effect: float | None = None
    method: str = ""
    n_units: int | None = None
    n_obs: int | None = None
    naive_estimate: float | None = None


@dataclass(frozen=True)
class QuarterReport(ResultMixin):
    """Everything the quarterly report shows, computed once.

    Attributes
    ----------
    params : RunParams
    quarter_start, quarter_end : date
        Bounds of the evaluated quarter (inclusive).
    kpi_company, kpi_team, kpi_rep : DataFrame
        Quarter-grain panels (company: this and previous quarters; team and rep: this quarter).
    programs : DataFrame
        The programs table (possibly empty).
    evaluations : dict
        program_id -> ProgramEvaluation object (or None when it could not be evaluated).
    rows : tuple of ProgramRow
        One row per program and outcome: the verdict table.
    sections : dict
        Other section results by name (``attribution``, ``funnel``, ``activity``, ``profiles``,
        ``warnings``); a missing key means the section is switched off (see ``notes``).
    notes : tuple of str
        Sections switched off and why, and sections that failed with their error.
    validation : Any
        The data folder's ValidationReport.
    fingerprint : dict
        sha256 per data file.
    """

    params: RunParams
    quarter_start: date
    quarter_end: date
    kpi_company: pd.DataFrame
    kpi_team: pd.DataFrame
    kpi_rep: pd.DataFrame
    programs: pd.DataFrame
    evaluations: dict[str, Any]
    rows: tuple[ProgramRow, ...]
    sections: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    validation: Any = None
    fingerprint: dict[str, str] = field(default_factory=dict)

    @property
    def program_ids(self) -> list[str]:
        """Evaluated program ids, in the programs table's order."""
        return list(self.evaluations)

    # -- outputs ----------------------------------------------------------------------------
    def effects_frame(self) -> pd.DataFrame:
        """One row per program and outcome: estimate, interval, p-values, verdict."""
        return pd.DataFrame([r.__dict__ for r in self.rows])

    def to_frame(self) -> pd.DataFrame:
        """Return the verdict table: one row per program and outcome (:meth:`effects_frame`)."""
        return self.effects_frame()

    def _summary(self) -> Summary:
        """Summarise the quarter: one verdict row per program and outcome, and the notes."""
        cols = ["program_id", "outcome", "verdict", "estimate", "ci_low", "ci_high", "p_adjusted"]
        frame = self.effects_frame()
        table = frame[cols] if len(frame) else pd.DataFrame(columns=cols)
        return Summary(
            title=f"{self.params.title or 'Quarterly report'} ({self.params.quarter})",
            rows=[
                ("quarter", f"{self.quarter_start.isoformat()} to {self.quarter_end.isoformat()}"),
                ("programs", len(self.evaluations)),
                ("sections", ", ".join(self.sections) or "none"),
            ],
            tables=[("Verdicts", table)],
            notes=[str(n) for n in self.notes],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Forest plot of every estimate relative to its baseline, with its interval.

        Rows without a finite baseline (relative effect undefined) are left out.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt
        import numpy as np

        f = self.effects_frame()
        if len(f):
            base = pd.to_numeric(f["baseline"], errors="coerce").abs()
            rel = f[["estimate", "ci_low", "ci_high"]].apply(pd.to_numeric, errors="coerce")
            rel = 100 * rel.div(base.where(base > 0), axis=0)
            keep = np.isfinite(rel.to_numpy(dtype=float)).all(axis=1)
            f, rel = f[keep], rel[keep]
        else:
            rel = pd.DataFrame(columns=["estimate", "ci_low", "ci_high"], dtype=float)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.35 * len(f) + 1)))
        y = np.arange(len(rel))[::-1]
        est = rel["estimate"].to_numpy(dtype=float)
        err = [
            est - rel["ci_low"].to_numpy(dtype=float),
            rel["ci_high"].to_numpy(dtype=float) - est,
        ]
        ax.errorbar(est, y, xerr=err, fmt="o", capsize=3)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yticks(y, [f"{p}: {o}" for p, o in zip(f["program_id"], f["outcome"], strict=True)])
        ax.set_xlabel("effect, % of baseline")
        ax.set_title(f"{self.params.quarter}: program effects")
        return ax

    def results(self) -> dict[str, Any]:
        """Every headline number as plain JSON-able values (no timestamps: reproducible)."""
        programs: dict[str, Any] = {}
        for r in self.rows:
            p = programs.setdefault(
                r.program_id,
                {
                    "name": r.name,
                    "kind": r.kind,
                    "design": r.design,
                    "unit": r.unit,
                    "outcomes": {},
                },
            )
            p["outcomes"][r.outcome] = {
                k: _json_num(getattr(r, k))
                for k in (
                    "estimate",
                    "se",
                    "ci_low",
                    "ci_high",
                    "p_value",
                    "p_adjusted",
                    "baseline",
                    "min_effect",
                    "n_units",
                    "n_obs",
                    "naive_estimate",
                )
            } | {"method": r.method, "verdict": r.verdict, "reason": r.reason}
        this_q = self.kpi_company[self.kpi_company["period"] == self.params.quarter]
        kpis = {}
        if len(this_q):
            row = this_q.iloc[0]
            kpis = {k: _json_num(row[k]) for k in OVERVIEW_KPIS if k in row.index}
        return {
            "quarter": self.params.quarter,
            "quarter_start": self.quarter_start.isoformat(),
            "quarter_end": self.quarter_end.isoformat(),
            "title": self.params.title,
            "programs": programs,
            "kpis": kpis,
            "notes": list(self.notes),
            "people": _people_results(self.sections),
            "data_sha256": self.fingerprint,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return result tables for researchers, by file stem (names masked when asked)."""
        out = {
            "program_effects": self.effects_frame(),
            "kpi_company": self.kpi_company,
            "kpi_team": self.kpi_team,
            "kpi_rep": self._mask(self.kpi_rep),
        }
        for name, obj in self.sections.items():
            frame = obj.to_frame() if hasattr(obj, "to_frame") else None
            if isinstance(frame, pd.DataFrame):
                out[name] = self._mask(frame)
        return out

    def _mask(self, df: pd.DataFrame) -> pd.DataFrame:
        if not self.params.mask_names:
            return df
        from salesinsight.report.html import mask_frame

        return mask_frame(df)

    def save(self, folder: str | Path) -> None:
        """Write ``results.json`` and ``tables/<name>.csv`` into ``folder``."""
        save_outputs(folder, self.results(), self.tables())


# -- building -------------------------------------------------------------------------------
def build_quarter(params: RunParams) -> QuarterReport:
    """Compute every section of the quarterly report for ``params``.

    Parameters
    ----------
    params : RunParams
        Validated run parameters.

    Returns
    -------
    QuarterReport
    """
    from salesinsight.metrics import panel
    from salesinsight.report.run import data_fingerprint

    engine = params.engine.build()  # DuckDB by default; Spark where the data live
    report = engine.validate(params.data_dir)
    ds = engine.load(params.data_dir, validate=False)
    ds.non_selling_roles = tuple(params.non_selling_roles)  # sellers exclude these roles
    q_start, q_end = params.quarter_bounds()
    fy = params.fiscal_year_start_month
    notes: list[str] = []

    history_start = _quarters_back(q_start, params.history_quarters)
    company = panel(
        ds,
        grain="quarter",
        by="company",
        fiscal_year_start_month=fy,
        start=history_start,
        end=q_end,
    )
    team = panel(
        ds, grain="quarter", by="team", fiscal_year_start_month=fy, start=q_start, end=q_end
    )
    rep = panel(ds, grain="quarter", by="rep", fiscal_year_start_month=fy, start=q_start, end=q_end)
    if not len(company) or params.quarter not in set(company["period"]):
        notes.append(
            Note(
                "The data hold no activity for {quarter}; its KPIs are empty.",
                quarter=params.quarter,
            )
        )

    programs = ds.table("programs") if ds.has("programs") else pd.DataFrame()
    evaluations, rows = _evaluate_programs(ds, params, programs, q_end, notes)

    sections: dict[str, Any] = {}
    _run_section(sections, notes, "attribution", lambda: _attribution(ds, params, q_start))
    _run_section(
        sections, notes, "contribution", lambda: _contribution(ds, params, company, evaluations)
    )
    _run_section(sections, notes, "funnel_team", lambda: _funnel_team(team))
    _run_section(sections, notes, "funnel", lambda: _funnel(rep))
    if ds.has("activities"):
        _run_section(sections, notes, "activity", lambda: _activity(ds, q_start, q_end))
    else:
        notes.append(Note("Activity attribution is off: the data folder has no activities table."))
    _run_section(sections, notes, "profiles", lambda: _profiles(ds, params))
    _run_section(sections, notes, "forecast", lambda: _forecast(ds, params))
    if ds.has("quotas"):
        _run_section(sections, notes, "warnings", lambda: _warnings(ds, params, q_start, q_end))
    else:
        notes.append(Note("Early warnings are off: the data folder has no quotas table."))

    _people_to_action(ds, params, sections, notes, rep)
    # last: only the first screen's money totals use it
    _run_section(sections, notes, "exposure", lambda: _exposure(ds, params, evaluations))

    return QuarterReport(
        params=params,
        quarter_start=q_start,
        quarter_end=q_end,
        kpi_company=company,
        kpi_team=team,
        kpi_rep=rep,
        programs=programs,
        evaluations=evaluations,
        rows=tuple(rows),
        sections=sections,
        notes=tuple(notes),
        validation=report,
        fingerprint=data_fingerprint(params.data_dir),
    )


def _quarters_back(q_start: date, n: int) -> date:
    return add_months(q_start, -3 * n)


def _run_section(
    sections: dict[str, Any], notes: list[str], name: str, compute: Callable[[], Any]
) -> None:
    try:
        result = compute()
    except Exception as exc:  # a failing section is reported, the rest of the report stands
        notes.append(
            Note(
                "Section '{name}' could not be computed: {error}",
                name=name,
                error=f"{type(exc).__name__}: {exc}",
            )
        )
        return
    if result is not None:
        sections[name] = result


def _evaluate_programs(
    ds: Any, params: RunParams, programs: pd.DataFrame, q_end: date, notes: list[str]
) -> tuple[dict[str, Any], list[ProgramRow]]:
    from salesinsight.evaluation import evaluate

    evaluations: dict[str, Any] = {}
    rows: list[ProgramRow] = []
    if programs.empty:
        notes.append(Note("No programs to evaluate: the data folder has no programs table."))
        return evaluations, rows
    wanted = params.programs or list(programs["program_id"])
    unknown = sorted(set(wanted) - set(programs["program_id"]))
    if unknown:
        notes.append(
            Note("Programs not in programs.csv were skipped: {ids}.", ids=", ".join(unknown))
        )
    for _, prog in programs.iterrows():
        pid = prog["program_id"]
        if pid not in wanted:
            continue
        if pd.Timestamp(prog["start_date"]).date() > q_end:
            notes.append(
                Note(
                    "Program {pid} starts after {quarter}; not evaluated.",
                    pid=pid,
                    quarter=params.quarter,
                )
            )
            continue
        outcomes = params.outcomes_for(pid)
        for o in [o for o in outcomes if o in KPIS and not KPIS[o].defined_for(prog["unit"])]:
            outcomes = [x for x in outcomes if x != o]
            notes.append(
                Note(
                    "Program {pid}: {outcome} is evaluated for team programs only; skipped.",
                    pid=pid,
                    outcome=KpiName(o),
                )
            )
        absolute = {
            o: params.min_effect_for(o, None)
            for o in outcomes
            if not isinstance(params.min_effect.get(o, 0.0), str)
        }
        try:
            ev = evaluate(
                ds,
                pid,
                outcomes=outcomes,
                grain=params.grain,
                alpha=params.alpha,
                min_effect=absolute,
                seed=params.seed,
                correction=params.correction,
                end=q_end,
            )
        except Exception as exc:
            notes.append(
                Note(
                    "Program {pid} could not be evaluated: {error}",
                    pid=pid,
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
            evaluations[pid] = None
            for o in outcomes:
                rows.append(_row_without_effect(prog, o, "could not be evaluated: " + str(exc)))
            continue
        evaluations[pid] = ev
        rows.extend(_rows_from_evaluation(prog, ev, params))
    return evaluations, rows


def _row_without_effect(
    prog: pd.Series, outcome: str, reason: str, verdict: str = "inconclusive"
) -> ProgramRow:
    return ProgramRow(
        program_id=str(prog["program_id"]),
        name=str(prog["name"]),
        kind=str(prog["kind"]),
        design=str(prog["design"]),
        unit=str(prog["unit"]),
        outcome=outcome,
        verdict=verdict,
        reason=reason,
    )


def _rows_from_evaluation(prog: pd.Series, ev: Any, params: RunParams) -> list[ProgramRow]:
    from salesinsight.evaluation.verdicts import adjusted_verdict

    rows = []
    naive = ev.naive
    for outcome in ev.outcomes:
        effect = ev.effects.get(outcome)
        verdict = ev.verdicts[outcome]
        if effect is None:
            reason = ev.messages.get(outcome) or verdict.reason
            rows.append(_row_without_effect(prog, outcome, reason, verdict.label))
            continue
        min_eff = params.min_effect_for(outcome, effect.baseline)
        p_adj = ev.p_adjusted.get(outcome)
        if isinstance(params.min_effect.get(outcome, 0.0), str):
            # relative minimum effect: resolved against this effect's own baseline
            verdict = adjusted_verdict(
                effect, min_effect=min_eff, alpha=params.alpha, p_adjusted=p_adj, wording="plain"
            )
        nv = naive[naive["outcome"] == outcome].set_index("comparison")["estimate"]
        rows.append(
            ProgramRow(
                program_id=str(prog["program_id"]),
                name=str(prog["name"]),
                kind=str(prog["kind"]),
                design=str(prog["design"]),
                unit=str(prog["unit"]),
                outcome=outcome,
                verdict=verdict.label,
                reason=verdict.reason,
                estimate=_json_num(effect.estimate),
                se=_json_num(effect.se),
                ci_low=_json_num(effect.ci_low),
                ci_high=_json_num(effect.ci_high),
                p_value=_json_num(effect.p_value),
                p_adjusted=_json_num(p_adj),
                baseline=_json_num(effect.baseline),
                min_effect=min_eff,
                method=effect.method,
                n_units=effect.n_units,
                n_obs=effect.n_obs,
                naive_estimate=_json_num(nv.get("naive treated vs untreated", None)),
            )
        )
    return rows


def _previous_quarter(params: RunParams) -> str:
    from salesinsight.calendar import previous_quarter

    return previous_quarter(params.quarter, fiscal_year_start_month=params.fiscal_year_start_month)


def _attribution(ds: Any, params: RunParams, q_start: date) -> Any:
    from salesinsight.attribution import decompose_change
    from salesinsight.metrics import panel

    team = panel(
        ds,
        grain="quarter",
        by="team",
        fiscal_year_start_month=params.fiscal_year_start_month,
        start=_quarters_back(q_start, 1),
        end=params.quarter_bounds()[1],
    )
    base = _previous_quarter(params)
    if base not in set(team["period"]):
        return None
    return decompose_change(team, kpi="revenue", base=base, current=params.quarter, by="team_id")


def _contribution(
    ds: Any, params: RunParams, company: pd.DataFrame, evaluations: dict[str, Any]
) -> Any:
    """How much of the quarter's revenue change the evaluated programs account for."""
    from salesinsight.attribution import program_contribution, program_exposure

    base = _previous_quarter(params)
    effects, per, exposures = {}, {}, []
    for pid, ev in evaluations.items():
        effect = None if ev is None else ev.effects.get("revenue")
        grain = None if ev is None else ev.spec.get("grain")
        if effect is None or grain not in ("week", "quarter"):
            continue
        if any(d.required and d.passed is False for d in effect.diagnostics):
            continue  # an estimate whose own checks failed is not added up
        effects[pid] = effect
        per[pid] = f"unit_{grain}"
        exposures.append(
            program_exposure(
                ds,
                pid,
                base,
                params.quarter,
                grain=grain,
                fiscal_year_start_month=params.fiscal_year_start_month,
            )
        )
    if not effects or base not in set(company["period"]):
        return None
    return program_contribution(
        company,
        effects,
        pd.concat(exposures, ignore_index=True),
        kpi="revenue",
        base=base,
        current=params.quarter,
        effect_per=per,
        alpha=params.alpha,
    )


def _exposure(ds: Any, params: RunParams, evaluations: dict[str, Any]) -> Any:
    """Enrolled sellers and unit-periods of each evaluated program this quarter (for totals)."""
    from salesinsight.attribution import program_exposure

    frames = [
        program_exposure(
            ds,
            pid,
            _previous_quarter(params),
            params.quarter,
            grain="day",
            fiscal_year_start_month=params.fiscal_year_start_month,
        )
        for pid, ev in evaluations.items()
        if ev is not None
    ]
    return pd.concat(frames, ignore_index=True) if frames else None


def _funnel_team(team: pd.DataFrame) -> Any:
    from salesinsight.attribution import funnel_gap

    if team.empty:
        return None
    return funnel_gap(team, entity="team_id", benchmark="median")


def _funnel(rep: pd.DataFrame) -> Any:
    from salesinsight.attribution import funnel_gap

    active = rep[rep["active"]] if "active" in rep else rep
    if active.empty:
        return None
    return funnel_gap(active, entity="rep_id", benchmark="team_median")


def _activity(ds: Any, q_start: date, q_end: date) -> Any:
    from salesinsight.attribution import activity_attribution

    return activity_attribution(ds, start=_quarters_back(q_start, 3), end=q_end)


def _profiles(ds: Any, params: RunParams) -> Any:
    from salesinsight.metrics import profiles

    return profiles(ds, period=params.quarter)


def _forecast(ds: Any, params: RunParams) -> Any:
    from salesinsight.calendar import next_quarter
    from salesinsight.metrics import forecast

    target = next_quarter(params.quarter, fiscal_year_start_month=params.fiscal_year_start_month)
    return forecast(ds, target_quarter=target, seed=params.seed)


def _warnings(ds: Any, params: RunParams, q_start: date, q_end: date) -> Any:
    from salesinsight.metrics import early_warning

    as_of = params.warning_as_of or (q_start + timedelta(days=(q_end - q_start).days // 2))
    return early_warning(ds, as_of=as_of, fdr=params.warning_fdr)


def _people_to_action(
    ds: Any, params: RunParams, sections: dict[str, Any], notes: list[str], rep: pd.DataFrame
) -> None:
    """Reviews, mentoring pairs, leading indicators and the action list (docs/reviews-mentoring.md)."""
    from salesinsight.metrics import panel
    from salesinsight.metrics.leading import leading_indicators

    if ds.has("reviews"):
        _run_section(sections, notes, "reviews", lambda: _reviews(ds, params))
    else:
        notes.append("Performance reviews are off: the data folder has no reviews table.")
    if ds.has("enrollments"):
        _run_section(sections, notes, "mentoring", lambda: _mentoring(ds, params))
    q_end = params.quarter_bounds()[1]
    _run_section(
        sections,
        notes,
        "leading",
        lambda: leading_indicators(
            panel(ds, grain="quarter", by="rep", end=q_end), seed=params.seed
        ),
    )
    _run_section(sections, notes, "actions", lambda: _actions(ds, params, sections, rep))


def _reviews(ds: Any, params: RunParams) -> Any:
    from salesinsight.reviews import analyze_reviews

    q_end = params.quarter_bounds()[1]  # reviews are labelled by calendar quarter
    return analyze_reviews(
        ds,
        min_cell_size=params.min_cell_size,
        alpha=params.alpha,
        seed=params.seed,
        through=quarter_label(q_end),
    )


def _mentoring(ds: Any, params: RunParams) -> Any:
    from salesinsight.mentoring import analyze_mentoring

    return analyze_mentoring(ds, alpha=params.alpha, seed=params.seed, n_boot=499)


def _actions(ds: Any, params: RunParams, sections: dict[str, Any], rep: pd.DataFrame) -> Any:
    from salesinsight.actions import build_actions
    from salesinsight.metrics import panel

    prof, fc, ew = (sections.get(k) for k in ("profiles", "forecast", "warnings"))
    rv = sections.get("reviews")
    q_start, q_end = params.quarter_bounds()
    history = panel(
        ds,
        grain="quarter",
        by="rep",
        fiscal_year_start_month=params.fiscal_year_start_month,
        start=_quarters_back(q_start, 3),
        end=q_end,
    )
    quota_now = rep[["rep_id", "quota"]]
    forecast = None
    if fc is not None:
        forecast = fc.to_frame()[["rep_id", "team_id", "suggested_quota"]].merge(
            quota_now, on="rep_id"
        )
    return build_actions(
        reps=ds.table("reps"),
        profiles=prof.to_frame() if prof is not None else None,
        attainment_history=history[history["active"].astype(bool)][
            ["rep_id", "period", "attainment"]
        ],
        forecast=forecast,
        alerts=ew.alerts if ew is not None else None,
        leniency=rv.leniency.to_frame() if rv is not None else None,
        as_of=pd.Timestamp(q_end),
    )


def _people_results(sections: dict[str, Any]) -> dict[str, Any]:
    """Headline numbers of reviews, mentoring pairs and actions for ``results.json``."""
    out: dict[str, Any] = {}
    rv = sections.get("reviews")
    if rv is not None:
        d = rv.to_dict()
        out["reviews"] = {
            "n_reviews": d["n_reviews"],
            "leniency_design": d["leniency_design"],
            "n_lenient": sum(r["flag"] == "lenient" for r in d["reviewers"]),
            "n_severe": sum(r["flag"] == "severe" for r in d["reviewers"]),
            "agreement": d["agreement"],
            "validity": d["validity"],
        }
    mt = sections.get("mentoring")
    if mt is not None:
        out["mentoring"] = {
            r["measure"]: {k: _json_num(r[k]) for k in ("estimate", "ci_low", "ci_high")}
            | {"verdict": r["verdict"]}
            for r in mt.to_frame().to_dict("records")
        }
    plan = sections.get("actions")
    if plan is not None:
        out["actions"] = {
            k: int(v) for k, v in plan.frame["action"].value_counts().sort_index().items()
        }
    return out
