"""One program, every estimate: what the ``program_deep_dive`` notebook shows.

:func:`build_deep_dive` evaluates ``params.programs[0]`` on every outcome of
``params.outcomes_for(program_id)`` with :func:`salesinsight.evaluation.evaluate` and keeps everything
it returns: the main design's estimate with its diagnostics, the multiple-testing adjusted p-value,
and the naive comparisons; for staggered programs also the dynamic event study and the two-way
fixed-effects (TWFE) estimate on the same panel (so the TWFE bias under staggered timing shows);
for randomized programs it re-runs the experiment on the evaluation's units with a
randomization-inference p-value (treatment permuted at the level of assignment). The notebook's HTML
blocks and figures are in :mod:`salesinsight.report.deep_dive_sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from salesinsight.i18n import N_, Note
from salesinsight.kpis import KPIS, KpiName
from salesinsight.report.html import mask_frame
from salesinsight.report.outputs import json_value, save_outputs
from salesinsight.report.params import RunParams
from salesinsight.results import ResultMixin, Summary

__all__ = ["DeepDive", "Estimate", "OutcomeDive", "build_deep_dive"]

#: randomization-inference permutations for randomized programs.
RI_PERMUTATIONS = 999
#: columns of :meth:`DeepDive.estimates_frame`.
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "role",
    "estimator",
    "method",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "ri_p_value",
    "baseline",
    "n_units",
    "n_obs",
    "verdict",
)


@dataclass(frozen=True)
class Estimate:
    """One estimator's answer for one outcome.

    Attributes
    ----------
    role : str
        ``"main"`` (the evaluation's design), ``"cs_dynamic"`` (event study), ``"twfe"`` or
        ``"randomization"``.
    label : str
        Words for the report, e.g. "Two-way fixed effects (TWFE)".
    effect : Effect
    """

    role: str
    label: str
    effect: Any


@dataclass(frozen=True)
class OutcomeDive:
    """Everything known about one outcome of the program.

    Attributes
    ----------
    outcome : str
    verdict, reason : str
        Verdict of the main estimate at ``params.alpha`` (after the multiple-testing correction).
    min_effect : float or None
        Absolute minimum meaningful effect used for the verdict.
    p_adjusted : float or None
    estimates : tuple of Estimate
        The main estimate first, then the alternatives.
    naive : DataFrame or None
        The evaluation's naive comparisons (labelled as naive).
    ri_p_value : float or None
        Randomization-inference p-value (randomized programs).
    notes : tuple of str
        Alternatives that could not be computed and why, and other remarks.
    """

    outcome: str
    verdict: str
    reason: str
    min_effect: float | None = None
    p_adjusted: float | None = None
    estimates: tuple[Estimate, ...] = ()
    naive: pd.DataFrame | None = None
    ri_p_value: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def main(self) -> Any:
        """The main design's Effect, or None."""
        return next((e.effect for e in self.estimates if e.role == "main"), None)


@dataclass(frozen=True)
class DeepDive(ResultMixin):
    """The deep dive of one program (built by :func:`build_deep_dive`)."""

    params: RunParams
    program: dict[str, Any]
    quarter_start: date
    quarter_end: date
    by_outcome: tuple[OutcomeDive, ...]
    evaluation: Any = None
    notes: tuple[str, ...] = ()
    validation: Any = None
    fingerprint: dict[str, str] = field(default_factory=dict)

    @property
    def program_id(self) -> str:
        """The examined program's id."""
        return str(self.program["program_id"])

    @property
    def outcomes(self) -> list[str]:
        """Outcomes examined, in the params' order."""
        return [o.outcome for o in self.by_outcome]

    def get(self, outcome: str) -> OutcomeDive:
        """Return the :class:`OutcomeDive` of one outcome."""
        for o in self.by_outcome:
            if o.outcome == outcome:
                return o
        raise KeyError(f"outcome {outcome!r} not in this deep dive; have {self.outcomes}")

    # -- outputs ----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Return every estimate of every outcome (:meth:`estimates_frame`)."""
        return self.estimates_frame()

    def _summary(self) -> Summary:
        """Summarise the program: per outcome its verdict, then every estimator's estimate."""
        cols = ["outcome", "estimator", "estimate", "ci_low", "ci_high", "p_value", "verdict"]
        frame = self.estimates_frame()
        return Summary(
            title=f"Deep dive: {self.program_id} — {self.program.get('name', '')}",
            rows=[(o.outcome, f"{o.verdict}: {o.reason}") for o in self.by_outcome],
            tables=[("Estimates", frame.reindex(columns=cols))],
            notes=[str(n) for n in self.notes],
        )

    def plot(self, *, ax: Any = None, outcome: str | None = None) -> Any:
        """Plot the main estimate of one outcome: its event study or counterfactual.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        outcome : str, optional
            Default the first outcome with a main estimate.

        Returns
        -------
        matplotlib Axes
        """
        if self.evaluation is None:
            raise ValueError(f"no evaluation of {self.program_id} to plot: {'; '.join(self.notes)}")
        return self.evaluation.plot(ax=ax, outcome=outcome)

    def estimates_frame(self) -> pd.DataFrame:
        """One row per outcome and estimator: estimate, interval, p-value, n, method, verdict."""
        rows: list[dict[str, Any]] = []
        for o in self.by_outcome:
            if not o.estimates:
                rows.append({"outcome": o.outcome, "role": "main", "verdict": o.verdict})
            for est in o.estimates:
                e = est.effect
                rows.append(
                    {
                        "outcome": o.outcome,
                        "role": est.role,
                        "estimator": est.label,
                        "method": e.method,
                        "estimate": e.estimate,
                        "se": e.se,
                        "ci_low": e.ci_low,
                        "ci_high": e.ci_high,
                        "p_value": e.p_value,
                        "p_adjusted": o.p_adjusted if est.role == "main" else None,
                        "ri_p_value": e.extras.get("ri_p_value"),
                        "baseline": e.baseline,
                        "n_units": e.n_units,
                        "n_obs": e.n_obs,
                        "verdict": o.verdict if est.role == "main" else "",
                    }
                )
        return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)

    def terms_frame(self) -> pd.DataFrame:
        """Sub-estimates (event times, cohorts, periods) of every estimator, tidy."""
        parts = []
        for o in self.by_outcome:
            for est in o.estimates:
                frame = est.effect.to_frame()
                frame = frame[frame["term"] != "effect"]
                if len(frame):
                    parts.append(frame.assign(outcome=o.outcome, role=est.role))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def diagnostics_frame(self) -> pd.DataFrame:
        """Every diagnostic of every estimator."""
        rows = [
            {
                "outcome": o.outcome,
                "role": est.role,
                "check": d.name,
                "passed": d.passed,
                "required": d.required,
                "statistic": d.statistic,
                "p_value": d.p_value,
                "value": d.value,
                "note": d.note,
            }
            for o in self.by_outcome
            for est in o.estimates
            for d in est.effect.diagnostics
        ]
        return pd.DataFrame(rows)

    def naive_frame(self) -> pd.DataFrame:
        """Return the naive comparisons of every outcome."""
        parts = [
            o.naive.assign(outcome=o.outcome)
            for o in self.by_outcome
            if isinstance(o.naive, pd.DataFrame) and len(o.naive)
        ]
        if not parts:
            return pd.DataFrame()
        frame = pd.concat(parts, ignore_index=True)
        return frame[["outcome", *[c for c in frame.columns if c != "outcome"]]]

    def results(self) -> dict[str, Any]:
        """Every headline number as plain JSON-able values (no timestamps: reproducible)."""
        outcomes: dict[str, Any] = {}
        for o in self.by_outcome:
            outcomes[o.outcome] = {
                "verdict": o.verdict,
                "reason": o.reason,
                "min_effect": _num(o.min_effect),
                "p_adjusted": _num(o.p_adjusted),
                "ri_p_value": _num(o.ri_p_value),
                "estimates": {
                    est.role: {
                        "label": est.label,
                        "method": est.effect.method,
                        **{
                            k: _num(getattr(est.effect, k))
                            for k in (
                                "estimate",
                                "se",
                                "ci_low",
                                "ci_high",
                                "p_value",
                                "baseline",
                                "n_units",
                                "n_obs",
                            )
                        },
                    }
                    for est in o.estimates
                },
                "notes": list(o.notes),
            }
        return {
            "quarter": self.params.quarter,
            "quarter_start": self.quarter_start.isoformat(),
            "quarter_end": self.quarter_end.isoformat(),
            "program": {
                k: _num(v) if not isinstance(v, str) else v for k, v in self.program.items()
            },
            "outcomes": outcomes,
            "notes": list(self.notes),
            "data_sha256": self.fingerprint,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return result tables for researchers, by file stem (rep ids masked when asked)."""
        out = {
            "estimates": self.estimates_frame(),
            "terms": self.terms_frame(),
            "diagnostics": self.diagnostics_frame(),
            "naive": self.naive_frame(),
        }
        if self.params.mask_names:
            out = {k: mask_frame(v) for k, v in out.items()}
        return out

    def save(self, folder: str | Path) -> None:
        """Write ``results.json`` and ``tables/<name>.csv`` into ``folder``."""
        save_outputs(folder, self.results(), self.tables())


def _iso_date(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def _num(value: Any) -> Any:
    return json_value(value)


# -- building -------------------------------------------------------------------------------
def build_deep_dive(params: RunParams) -> DeepDive:
    """Evaluate ``params.programs[0]`` on every outcome with every applicable estimator.

    Parameters
    ----------
    params : RunParams
        Validated run parameters; ``programs`` must name the program to examine (the first one
        listed; when ``None`` the first program in programs.csv is examined).

    Returns
    -------
    DeepDive

    Raises
    ------
    ValueError
        When the data folder has no programs table or the program is not in it.
    """
    from salesinsight.report.run import data_fingerprint

    engine = params.engine.build()  # DuckDB by default; Spark where the data live
    report = engine.validate(params.data_dir)
    ds = engine.load(params.data_dir, validate=False)
    ds.non_selling_roles = tuple(params.non_selling_roles)  # sellers exclude these roles
    pid, prog = _program(ds, params)
    q_start, q_end = params.quarter_bounds()
    notes: list[str] = []
    outcomes = params.outcomes_for(pid)
    for o in [o for o in outcomes if o in KPIS and not KPIS[o].defined_for(prog.get("unit"))]:
        outcomes = [x for x in outcomes if x != o]
        notes.append(
            Note(
                "{outcome:cap} is defined for team programs only; it is left out for this program.",
                outcome=KpiName(o),
            )
        )

    ev = _evaluate(ds, params, pid, outcomes, notes)
    design = str(prog.get("design"))
    ri_inputs = None
    if ev is not None and design == "randomized":
        try:
            ri_inputs = _ri_inputs(ds, params, ev)
        except Exception as exc:  # reported, not fatal
            notes.append(
                Note(
                    "Randomization inference unavailable: {error}",
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
    dives = [_outcome_dive(params, design, o, ev, ri_inputs) for o in outcomes]
    if params.programs and len(params.programs) > 1:
        notes.append(
            Note(
                "Only the first listed program ({pid}) is examined; {others} ignored.",
                pid=pid,
                others=", ".join(params.programs[1:]),
            )
        )
    return DeepDive(
        params=params,
        program=prog,
        quarter_start=q_start,
        quarter_end=q_end,
        by_outcome=tuple(dives),
        evaluation=ev,
        notes=tuple(notes),
        validation=report,
        fingerprint=data_fingerprint(params.data_dir),
    )


def _program(ds: Any, params: RunParams) -> tuple[str, dict[str, Any]]:
    """Return the program to examine (the first listed) and its row, dates as ISO strings."""
    if not ds.has("programs"):
        raise ValueError(f"{params.data_dir}: no programs table, nothing to examine")
    programs = ds.table("programs")
    pid = params.programs[0] if params.programs else str(programs["program_id"].iloc[0])
    match = programs[programs["program_id"] == pid]
    if match.empty:
        raise ValueError(
            f"program {pid!r} is not in {params.data_dir}/programs; "
            f"known: {sorted(programs['program_id'])}"
        )
    prog = {k: (None if pd.isna(v) else v) for k, v in match.iloc[0].to_dict().items()}
    prog = {k: (_iso_date(v) if hasattr(v, "isoformat") else v) for k, v in prog.items()}
    return pid, prog


def _evaluate(ds: Any, params: RunParams, pid: str, outcomes: list[str], notes: list[str]) -> Any:
    """Return the program's evaluation, or None with the reason added to ``notes``."""
    ev = None
    try:
        from salesinsight.evaluation import evaluate

        ev = evaluate(
            ds,
            pid,
            outcomes=outcomes,
            grain=params.grain,
            alpha=params.alpha,
            seed=params.seed,
            correction=params.correction,
            end=params.quarter_bounds()[1],
        )
    except Exception as exc:  # reported in the deep dive, never a crash
        notes.append(
            Note(
                "The program could not be evaluated: {error}",
                error=f"{type(exc).__name__}: {exc}",
            )
        )
    if ev is not None and ev.spec.get("window"):
        first, last = ev.spec["window"]
        notes.append(
            Note("Analysis window of the evaluation: {first} to {last}.", first=first, last=last)
        )
    return ev


#: estimator labels: English message ids (results.json keeps them; the notebook translates them).
_MAIN_LABELS = {
    "staggered": N_("Callaway & Sant'Anna, overall (main)"),
    "randomized": N_("Randomized experiment (main)"),
    "observational": N_("Bracket of the designs that pass their checks (main)"),
}
_ALT_LABELS = {
    "twfe": N_("Two-way fixed effects (TWFE)"),
    "synthetic_control": N_("Synthetic control"),
    "did": N_("Difference-in-differences (unit and period fixed effects)"),
    "aipw": N_("Doubly robust, AIPW"),
    "matched_did": N_("Matched difference-in-differences"),
    "impact": N_("Structural time series (no control group)"),
    "fe_did": N_("Fixed-effects DiD (assumes enrolment on persistent differences)"),
    "lagged_outcome": N_("Lagged-outcome regression (assumes enrolment on recent results)"),
    "synthetic_did": N_("Synthetic DiD (reweighted comparison group)"),
}
#: main estimate of a design whose estimator depends on the data (single rollout), by method.
_METHOD_LABELS = {
    "difference-in-differences": N_("Difference-in-differences (main)"),
    "synthetic control": N_("Synthetic control (main)"),
    "structural time series": N_("Structural time series, no control group (main)"),
}
_EVENT_STUDY = N_("Callaway & Sant'Anna, event study")
_RI_LABEL = N_("Same experiment, randomization-inference p-value")


def _outcome_dive(
    params: RunParams, design: str, outcome: str, ev: Any, ri_inputs: Any
) -> OutcomeDive:
    from salesinsight.evaluation.verdicts import adjusted_verdict

    if ev is None:
        return OutcomeDive(outcome, "inconclusive", "the program could not be evaluated")
    main = ev.effects.get(outcome)
    notes = [ev.messages[outcome]] if ev.messages.get(outcome) else []
    naive = ev.naive[ev.naive["outcome"] == outcome].drop(columns="outcome").reset_index(drop=True)
    p_adj = _num(ev.p_adjusted.get(outcome))
    if main is None:
        reason = ev.messages.get(outcome) or "the design gave no estimate"
        return OutcomeDive(outcome, "inconclusive", reason, naive=naive, notes=tuple(notes))
    min_eff = params.min_effect_for(outcome, main.baseline)
    verdict = adjusted_verdict(
        main,
        min_effect=min_eff,
        alpha=params.alpha,
        p_adjusted=p_adj,
        correction=params.correction,
    )
    estimates = [Estimate("main", _main_label(design, str(main.method)), main)]
    if outcome in ev.dynamic:
        estimates.append(Estimate("cs_dynamic", _EVENT_STUDY, ev.dynamic[outcome]))
    for role, eff in ev.alternatives.get(outcome, {}).items():
        estimates.append(Estimate(role, _ALT_LABELS.get(role, role), eff))
    if ri_inputs is not None:
        try:
            estimates.append(_randomization_inference(params, ri_inputs, outcome, main))
        except Exception as exc:  # reported, not fatal
            notes.append(
                Note(
                    "Randomization inference failed: {error}",
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
    ri = next(
        (e.effect.extras.get("ri_p_value") for e in estimates if "ri_p_value" in e.effect.extras),
        None,
    )
    return OutcomeDive(
        outcome=outcome,
        verdict=verdict.label,
        reason=verdict.reason,
        min_effect=min_eff,
        p_adjusted=p_adj,
        estimates=tuple(estimates),
        naive=naive,
        ri_p_value=_num(ri),
        notes=tuple(notes),
    )


def _main_label(design: str, method: str) -> str:
    if design in _MAIN_LABELS:
        return _MAIN_LABELS[design]
    for prefix, label in _METHOD_LABELS.items():
        if method.startswith(prefix):
            return label
    return f"{method} (main)"


def _ri_inputs(ds: Any, params: RunParams, ev: Any) -> tuple:
    """Build the evaluation's unit panel, enrolment starts and window (once per deep dive)."""
    from salesinsight.evaluation.panel import unit_panel, unit_starts

    frame, periods = unit_panel(
        ds, unit=str(ev.program["unit"]), grain=params.grain, end=params.quarter_bounds()[1]
    )
    enroll = ds.table("enrollments")
    enroll = enroll[enroll["program_id"] == ev.program["program_id"]]
    starts = unit_starts(enroll, frame, periods)
    window = tuple(pd.Timestamp(w) for w in ev.spec["window"])
    return frame, starts, window


def _randomization_inference(
    params: RunParams, ri_inputs: tuple, outcome: str, main: Any
) -> Estimate:
    """Re-run the main experiment with a randomization-inference p-value.

    Same units, window and adjustment as the evaluation, treatment permuted at the level of
    assignment.
    """
    import dataclasses

    from salesinsight.causal import experiment
    from salesinsight.evaluation.panel import num_den, randomized_units

    frame, starts, window = ri_inputs
    units = randomized_units(frame, *num_den(frame, outcome), starts, window)
    units = units[units["_den"] > 0].reset_index()
    effect = experiment(
        units,
        outcome="_num",
        treatment="d",
        ratio_denominator="_den",
        covariates=["pre"],
        cluster="unit_id",
        permutations=RI_PERMUTATIONS,
        seed=params.seed,
        alpha=params.alpha,
        higher_is_better=main.higher_is_better,
        balance_required=False,
    )
    effect = dataclasses.replace(effect, outcome=outcome)
    return Estimate("randomization", _RI_LABEL, effect)
