"""Program evaluation: program -> design -> panel -> estimator -> diagnostics -> verdicts.

``evaluate(data, program_id)`` reads the program's design and unit from ``programs`` and
``enrollments``, builds a rep- or team-level KPI panel, picks the estimator for the design, applies a
multiplicity correction across the program's outcomes and returns a :class:`ProgramEvaluation`:

* ``randomized`` -> :func:`salesinsight.causal.experiment` on one row per enrolled unit: post-period
  ratio of sums (numerator / denominator of the KPI) with the unit's pre-period ratio as covariate
  (Lin adjustment), clustered by the unit of assignment (team programs: by team, so fewer than 40
  teams switch to the wild cluster bootstrap);
* ``staggered`` -> :func:`salesinsight.causal.staggered_did` (Callaway & Sant'Anna) on a balanced
  unit x period panel, cohort = the period of the unit's enrolment start (0 = never enrolled),
  aggregated ``"simple"`` (``"dynamic"`` kept for the event-study plot), with TWFE alongside; the
  required pre-trend check is the finite-sample F test (``pretrend="event_f"``), because cohorts of a
  few reps cannot support R's chi-square Wald test of every pre-period cell;
* ``single_rollout`` -> synthetic control per program (treated teams vs the others) when available;
* ``observational`` -> AIPW when available; otherwise the outcome says the design is not yet
  supported.

Every KPI is handled as a ratio of sums, numerator / denominator (``win_rate`` = won / closed,
``csat`` = sum of scores / responses, ``revenue`` = revenue / active rep-periods, ...). Per
unit-period outcomes for panel estimators are linearized, ``R + (num - R * den) / D`` with ``R`` the
treated units' pre-period ratio and ``D`` their mean post-period denominator, so that periods with a
zero denominator are defined and the average effect equals the effect on the ratio of sums to first
order (exactly when the denominator is unaffected).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, Verdict, library_versions

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = ["DEFAULT_OUTCOMES", "KPI_DEFINITIONS", "ProgramEvaluation", "evaluate"]

DEFAULT_OUTCOMES: tuple[str, ...] = ("win_rate", "revenue", "follow_ups", "csat")

_COUNTS = (
    "activities",
    "calls",
    "visits",
    "emails",
    "meetings",
    "demos",
    "follow_ups",
    "other",
    "opps_created",
    "opps_won",
    "opps_lost",
    "opps_closed",
    "revenue",
    "pipeline_value",
    "terminations",
)
#: KPI -> (numerator, denominator); "_exposure" = active rep-periods (rep panel: ``active``;
#: team panel: ``n_active_reps``). Rates are ratios of sums.
KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    **{k: (k, "_exposure") for k in _COUNTS},
    "win_rate": ("opps_won", "opps_closed"),
    "avg_deal_size": ("revenue", "opps_won"),
    "attainment": ("revenue", "quota"),
    "csat": ("_csat_sum", "csat_responses"),
    "cycle_days": ("_cycle_sum", "opps_won"),
    "attrition": ("terminations", "n_active_reps"),
}
LOWER_IS_BETTER = frozenset({"attrition", "cycle_days", "terminations"})
#: default analysis window (periods before the first start, after the last start) by grain
_WINDOWS = {"week": (26, 52), "month": (6, 12), "quarter": (2, 4)}
UNSUPPORTED = "design not yet supported"


# ---------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class ProgramEvaluation:
    """Evaluation of one program across its outcomes.

    Attributes
    ----------
    program : Mapping
        ``program_id, name, kind, design, unit, start_date, end_date`` and enrolment counts.
    outcomes : tuple of str
    effects : Mapping[str, Effect | None]
        ``None`` when the design is not (yet) supported or the outcome could not be estimated.
    verdicts : Mapping[str, Verdict]
        After the multiplicity correction (see ``docs/causal.md``).
    p_adjusted : Mapping[str, float]
        Holm or Benjamini-Hochberg adjusted p-values across the program's estimated outcomes.
    naive : DataFrame
        Naive comparisons, labelled as such: ``outcome, comparison, estimate, treated, reference,
        note`` with comparison ``"naive before/after"`` or ``"naive treated vs untreated"``.
    dynamic : Mapping[str, Effect]
        Event-study effects (staggered design) for plots.
    alternatives : Mapping[str, Mapping[str, Effect]]
        Other estimators shown alongside (e.g. TWFE beside staggered DiD).
    messages : Mapping[str, str]
        Per outcome, why it was not estimated (empty when it was).
    spec : Mapping
        Every argument and default, windows, library versions.
    """

    program: Mapping[str, Any]
    outcomes: tuple[str, ...]
    effects: Mapping[str, Effect | None]
    verdicts: Mapping[str, Verdict]
    p_adjusted: Mapping[str, float]
    naive: pd.DataFrame
    dynamic: Mapping[str, Effect] = field(default_factory=dict)
    alternatives: Mapping[str, Mapping[str, Effect]] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome: estimate, interval, raw and adjusted p, verdict, naive numbers."""
        rows = []
        for o in self.outcomes:
            e = self.effects.get(o)
            v = self.verdicts[o]
            nv = self.naive[self.naive["outcome"] == o].set_index("comparison")["estimate"]
            rows.append(
                {
                    "program_id": self.program["program_id"],
                    "design": self.program["design"],
                    "outcome": o,
                    "method": e.method if e else None,
                    "estimate": e.estimate if e else np.nan,
                    "se": e.se if e else np.nan,
                    "ci_low": e.ci_low if e else np.nan,
                    "ci_high": e.ci_high if e else np.nan,
                    "p_value": e.p_value if e else np.nan,
                    "p_adjusted": self.p_adjusted.get(o, np.nan),
                    "baseline": e.baseline if e and e.baseline is not None else np.nan,
                    "relative": e.relative if e and e.relative is not None else np.nan,
                    "n_units": e.n_units if e else pd.NA,
                    "n_obs": e.n_obs if e else pd.NA,
                    "verdict": v.label,
                    "reason": v.reason,
                    "naive_before_after": nv.get("naive before/after", np.nan),
                    "naive_treated_vs_untreated": nv.get("naive treated vs untreated", np.nan),
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Plain-text summary: one verdict line per outcome, then details and naive comparisons."""
        p = self.program
        lines = [
            f"Program {p['program_id']} — {p.get('name', '')} ({p['kind']}, design {p['design']}, "
            f"unit {p['unit']}, start {p['start_date']})",
            f"Multiplicity correction across {len(self.p_adjusted)} outcome(s): "
            f"{self.spec.get('correction')}",
        ]
        for o in self.outcomes:
            e, v = self.effects.get(o), self.verdicts[o]
            if e is None:
                lines.append(f"  {o}: {v.label} — {self.messages.get(o) or v.reason}")
                continue
            rel = f", {100 * e.relative:+.1f}%" if e.relative is not None else ""
            lines.append(
                f"  {o}: {v.label} — {e.estimate:.4g}{rel} "
                f"[{e.ci_low:.4g}, {e.ci_high:.4g}], p = {e.p_value:.3g} "
                f"(adjusted {self.p_adjusted.get(o, float('nan')):.3g}); {e.method}"
            )
            lines.append(f"      {v.reason}")
        if len(self.naive):
            lines.append("Naive comparisons (biased by selection and trends; shown for contrast):")
            for r in self.naive.itertuples():
                lines.append(f"  {r.outcome}: {r.comparison} = {r.estimate:.4g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, outcome: str, ax: Any = None) -> Any:
        """Event study (staggered) or the outcome's Effect plot; returns the Axes."""
        if outcome not in self.outcomes:
            raise ValueError(f"outcome {outcome!r} not evaluated; evaluated: {list(self.outcomes)}")
        eff = self.dynamic.get(outcome) or self.effects.get(outcome)
        if eff is None:
            raise ValueError(f"no estimate to plot for {outcome!r}: {self.messages.get(outcome)}")
        return eff.plot(ax=ax)


# ---------------------------------------------------------------------- entry point
def evaluate(
    data: Dataset | str | Path,
    program_id: str,
    outcomes: Sequence[str] | None = None,
    grain: Literal["week", "month", "quarter"] = "week",
    alpha: float = 0.05,
    min_effect: float | Mapping[str, float] | None = None,
    seed: int = 0,
    correction: Literal["holm", "bh"] = "holm",
    *,
    pre_periods: int | None = None,
    post_periods: int | None = None,
    did_grain: Literal["week", "month", "quarter"] | None = "quarter",
    end: dt.date | str | None = None,
) -> ProgramEvaluation:
    """Evaluate one program on its outcomes with the estimator its design calls for.

    Parameters
    ----------
    data : Dataset or path
        A loaded dataset or a data folder (loaded and validated).
    program_id : str
    outcomes : sequence of str, optional
        KPI names (see ``KPI_DEFINITIONS``); default ``DEFAULT_OUTCOMES`` (those the data support).
    grain : {"week", "month", "quarter"}
    alpha : float
        One minus the interval level, and the familywise (Holm) / false-discovery (BH) level.
    min_effect : float or mapping outcome -> float, optional
        Smallest effect that matters, in the outcome's units (default 0).
    seed : int
    correction : {"holm", "bh"}
    pre_periods, post_periods : int, optional
        Analysis window: periods before the (first) start and after the (last) start; defaults by
        grain (week 26/52, month 6/12, quarter 2/4), clipped to the data.
    did_grain : {"week", "month", "quarter"} or None, default "quarter"
        Grain of the staggered-DiD panel (None = ``grain``). Callaway & Sant'Anna compare every
        cohort with its single last pre-treatment period, so a weekly base period makes every
        post-period cell share one week's noise and the pre-trend test carries dozens of
        restrictions; quarters (the usual enrolment rhythm) avoid both.
    end : date or str, optional
        Last day of data used (e.g. the report quarter's last day), so re-running a past quarter
        on a newer data folder gives the same numbers; default: all data.
    """
    from statsmodels.stats.multitest import multipletests

    from salesinsight.data import Dataset, load

    if correction not in ("holm", "bh"):
        raise ValueError(f"correction must be 'holm' or 'bh', got {correction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if grain not in _WINDOWS:
        raise ValueError(f"grain must be one of {sorted(_WINDOWS)}, got {grain!r}")
    ds = data if isinstance(data, Dataset) else load(Path(data))
    program, enroll = _program(ds, program_id)
    unit = program["unit"]
    outs = tuple(outcomes) if outcomes is not None else DEFAULT_OUTCOMES
    bad = [o for o in outs if o not in KPI_DEFINITIONS]
    if bad:
        raise ValueError(
            f"unknown outcome(s) {bad}; known KPIs: {sorted(KPI_DEFINITIONS)} (programs table, "
            f"program {program_id!r})"
        )
    if unit == "rep" and "attrition" in outs:
        raise ValueError("outcome 'attrition' is defined for team programs only (unit = team)")
    mins = _min_effects(min_effect, outs)
    if program["design"] == "staggered" and did_grain is not None:
        if did_grain not in _WINDOWS:
            raise ValueError(f"did_grain must be one of {sorted(_WINDOWS)}, got {did_grain!r}")
        grain = did_grain
    pre_n, post_n = _WINDOWS[grain]
    pre_n = pre_periods if pre_periods is not None else pre_n
    post_n = post_periods if post_periods is not None else post_n

    frame, periods = _unit_panel(ds, unit=unit, grain=grain, end=end)
    starts = _unit_starts(enroll, frame, periods)
    window = _window(periods, starts, pre_n, post_n)

    effects: dict[str, Effect | None] = {}
    messages: dict[str, str] = {}
    dynamic: dict[str, Effect] = {}
    alternatives: dict[str, dict[str, Effect]] = {}
    naive_rows: list[dict[str, Any]] = []
    design = program["design"]
    rand_units: dict[str, pd.DataFrame] = {}
    joint: Diagnostic | None = None
    if design == "randomized":
        for o in outs:
            rand_units[o] = _randomized_units(frame, *_num_den(frame, o), starts, window)
        pre = pd.DataFrame({o: u["pre"] for o, u in rand_units.items()})
        joint = _joint_randomization_check(pre, rand_units[outs[0]]["d"])
    for o in outs:
        hib = o not in LOWER_IS_BETTER
        num, den = _num_den(frame, o)
        naive_rows.extend(_naive(frame, num, den, starts, window, o, design))
        try:
            if design == "randomized":
                eff = _randomized(rand_units[o], joint, alpha, seed, hib)
            elif design == "staggered":
                eff, dyn, alt = _staggered(frame, num, den, starts, window, alpha, seed, hib)
                dynamic[o] = dataclasses.replace(dyn, outcome=o)
                alternatives[o] = {"twfe": dataclasses.replace(alt, outcome=o)}
            elif design == "single_rollout":
                eff = _single_rollout(frame, num, den, starts, window, alpha, seed, hib)
            else:
                eff = _observational(frame, num, den, starts, window, alpha, seed, hib)
        except _NotSupported as exc:
            effects[o] = None
            messages[o] = str(exc)
            continue
        except _NoData as exc:
            effects[o] = None
            messages[o] = f"could not be estimated: {exc}"
            continue
        effects[o] = dataclasses.replace(eff, outcome=o)

    estimated = [o for o in outs if effects.get(o) is not None and _finite(effects[o].p_value)]
    p_adj: dict[str, float] = {}
    if estimated:
        raw = [effects[o].p_value for o in estimated]  # type: ignore[union-attr]
        adj = multipletests(raw, alpha=alpha, method="holm" if correction == "holm" else "fdr_bh")[
            1
        ]
        p_adj = {o: float(a) for o, a in zip(estimated, adj, strict=True)}
    verdicts = {
        o: _verdict(effects.get(o), messages.get(o, ""), mins[o], alpha, p_adj.get(o), correction)
        for o in outs
    }
    spec = {
        "program_id": program_id,
        "outcomes": outs,
        "grain": grain,
        "did_grain": did_grain,
        "alpha": alpha,
        "min_effect": dict(mins),
        "seed": seed,
        "correction": correction,
        "pre_periods": pre_n,
        "post_periods": post_n,
        "window": (str(window[0].date()), str(window[1].date())),
        "end": None if end is None else str(end),
        "versions": library_versions(),
    }
    return ProgramEvaluation(
        program=program,
        outcomes=outs,
        effects=effects,
        verdicts=verdicts,
        p_adjusted=p_adj,
        naive=pd.DataFrame(
            naive_rows,
            columns=["outcome", "comparison", "estimate", "treated", "reference", "note"],
        ),
        dynamic=dynamic,
        alternatives=alternatives,
        messages=messages,
        spec=spec,
    )


# ---------------------------------------------------------------------- data preparation
class _NotSupported(Exception):
    pass


class _NoData(Exception):
    pass


def _program(ds: Any, program_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    if not ds.has("programs") or not ds.has("enrollments"):
        raise ValueError(
            "evaluate needs the programs and enrollments tables; "
            f"present tables: {sorted(ds.tables)}"
        )
    progs = ds.table("programs")
    row = progs[progs["program_id"] == program_id]
    if row.empty:
        raise ValueError(
            f"programs: no row with program_id {program_id!r}; "
            f"available: {sorted(progs['program_id'].astype(str))}"
        )
    r = row.iloc[0]
    enroll = ds.table("enrollments")
    enroll = enroll[enroll["program_id"] == program_id].copy()
    if enroll.empty:
        raise ValueError(f"enrollments: no rows for program_id {program_id!r}")
    program = {
        "program_id": program_id,
        "name": str(r.get("name", "")),
        "kind": str(r["kind"]),
        "design": str(r["design"]),
        "unit": str(r["unit"]),
        "start_date": _as_date(r["start_date"]),
        "end_date": _as_date(r.get("end_date")),
        "n_treated": int((enroll["arm"] == "treatment").sum()),
        "n_control": int((enroll["arm"] == "control").sum()),
    }
    return program, enroll


def _unit_panel(
    ds: Any, *, unit: str, grain: str, end: dt.date | str | None = None
) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """Panel keyed by ``unit_id`` and period index ``t`` with the columns KPIs need."""
    from salesinsight.metrics import panel

    by = "rep" if unit == "rep" else "team"
    p = panel(ds, grain=grain, by=by, end=end)
    key = "rep_id" if by == "rep" else "team_id"
    p = p.rename(columns={key: "unit_id"})
    p["_exposure"] = p["active"].astype(float) if by == "rep" else p["n_active_reps"].astype(float)
    p["_csat_sum"] = p["csat"].fillna(0.0) * p["csat_responses"]
    p["_cycle_sum"] = p["cycle_days"].fillna(0.0) * p["opps_won"]
    if "n_active_reps" not in p.columns:
        p["n_active_reps"] = p["_exposure"]
    # keep periods with real activity: drop edge periods (burn-in closings, partial last period)
    tot = p.groupby("period_start")["activities"].sum()
    full = tot[tot >= 0.5 * tot[tot > 0].median()]
    if full.empty:
        raise ValueError("evaluate: the panel has no periods with activity")
    periods = pd.DatetimeIndex(sorted(full.index))
    p = p[p["period_start"].between(periods[0], periods[-1])].copy()
    p["t"] = periods.get_indexer(p["period_start"]) + 1
    p = p[p["t"] > 0]
    return p.reset_index(drop=True), periods


def _unit_starts(
    enroll: pd.DataFrame, frame: pd.DataFrame, periods: pd.DatetimeIndex
) -> pd.DataFrame:
    """Per enrolled unit: arm, start date and the index of the period containing the start."""
    e = enroll.copy()
    e["unit_id"] = e["unit_id"].astype(str)
    e["start_date"] = pd.to_datetime(e["start_date"])
    e = e.sort_values("start_date").groupby("unit_id", as_index=False).first()
    known = set(frame["unit_id"].astype(str))
    unknown = sorted(set(e["unit_id"]) - known)
    if unknown:
        raise ValueError(
            f"enrollments: unit_id(s) not found in the panel: {unknown[:5]}"
            + (f" (+{len(unknown) - 5} more)" if len(unknown) > 5 else "")
        )
    # period index of the start: the last period starting on or before the start date
    pos = periods.searchsorted(e["start_date"], side="right")
    e["cohort"] = pos.astype(int)  # 1-based index of the period containing the start
    return e[["unit_id", "arm", "start_date", "cohort"]].reset_index(drop=True)


def _window(
    periods: pd.DatetimeIndex, starts: pd.DataFrame, pre_n: int, post_n: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    c = starts.loc[starts["arm"] == "treatment", "cohort"]
    if c.empty:
        raise ValueError("enrollments: the program has no treatment-arm units")
    lo = max(int(c.min()) - pre_n, 1)
    hi = min(int(c.max()) + post_n - 1, len(periods))
    if int(c.min()) <= 1:
        raise ValueError("evaluate: the program starts before the data, no pre-period")
    return periods[lo - 1], periods[hi - 1]


def _num_den(frame: pd.DataFrame, outcome: str) -> tuple[pd.Series, pd.Series]:
    n, d = KPI_DEFINITIONS[outcome]
    for c in (n, d):
        if c not in frame.columns:
            raise ValueError(f"evaluate: outcome {outcome!r} needs panel column {c!r}")
    return frame[n].astype(float).fillna(0.0), frame[d].astype(float).fillna(0.0)


def _in_window(frame: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]) -> pd.Series:
    return frame["period_start"].between(window[0], window[1])


def _linearized(
    frame: pd.DataFrame, num: pd.Series, den: pd.Series, cohort: pd.Series
) -> tuple[pd.Series, float]:
    """Per unit-period linearized ratio ``R + (num - R den) / D`` and the baseline ``R``."""
    treated = cohort > 0
    pre = treated & (frame["t"] < cohort)
    post = treated & (frame["t"] >= cohort)
    if den[pre].sum() <= 0 or den[post].sum() <= 0:
        raise _NoData("the denominator is zero in the treated units' pre- or post-period")
    r = float(num[pre].sum() / den[pre].sum())
    d_bar = float(den[post].mean())
    return r + (num - r * den) / d_bar, r


# ---------------------------------------------------------------------- designs
def _randomized_units(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """One row per enrolled unit: post-period sums, pre-period ratio ``pre`` and arm ``d``."""
    arms = starts[starts["arm"].isin(["treatment", "control"])].set_index("unit_id")
    start_t = int(arms["cohort"].min())
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window) & f["unit_id"].isin(arms.index)]
    post = f[f["t"] >= start_t].groupby("unit_id")[["_num", "_den"]].sum()
    pre = f[f["t"] < start_t].groupby("unit_id")[["_num", "_den"]].sum()
    units = post.join(pre.add_suffix("_pre"), how="left").fillna(0.0)
    units["d"] = (arms.loc[units.index, "arm"] == "treatment").astype(int)
    den_pre = units["_den_pre"]
    pooled = float(units["_num_pre"].sum() / den_pre.sum()) if den_pre.sum() > 0 else 0.0
    units["pre"] = (units["_num_pre"] / den_pre.where(den_pre > 0)).fillna(pooled)
    return units


def _randomized(
    units: pd.DataFrame, joint_check: Diagnostic | None, alpha: float, seed: int, hib: bool
) -> Effect:
    from salesinsight.causal import experiment

    units = units[units["_den"] > 0].reset_index()
    if units["d"].nunique() < 2:
        raise _NoData("one arm has no units with a non-zero post-period denominator")
    eff = experiment(
        units,
        outcome="_num",
        treatment="d",
        ratio_denominator="_den",
        covariates=["pre"],
        cluster="unit_id",
        seed=seed,
        alpha=alpha,
        higher_is_better=hib,
        balance_required=False,
    )
    if joint_check is None:
        return eff
    # the assignment is one event: test it once per program (all outcomes' pre-period values
    # jointly), not once per outcome
    diags = tuple(joint_check if d.name == "randomization_check" else d for d in eff.diagnostics)
    return dataclasses.replace(eff, diagnostics=diags)


def _joint_randomization_check(pre: pd.DataFrame, d: pd.Series) -> Diagnostic | None:
    from salesinsight.causal.experiment import randomization_check

    x = pre.loc[:, pre.std(ddof=0) > 0]
    if x.shape[1] == 0:
        return None
    check = randomization_check(d.to_numpy(float), x.to_numpy(float), None)
    note = (
        f"joint F test (HC1, one row per assigned unit) that the pre-period values of "
        f"{', '.join(x.columns)} do not predict assignment; fails (p < 0.01) when the imbalance "
        "is beyond chance, a sign of broken randomization"
    )
    return dataclasses.replace(check, note=note)


def _staggered(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> tuple[Effect, Effect, Effect]:
    from salesinsight.causal import staggered_did, twfe

    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)].copy()
    coh = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    f["cohort"] = f["unit_id"].map(coh).fillna(0).astype(int)
    # balanced on employment: keep units active in every period of the window
    present = f.groupby("unit_id")["_exposure"].agg(lambda s: bool((s > 0).all()))
    keep = present[present].index
    f = f[f["unit_id"].isin(keep)].copy()
    if f.empty or (f["cohort"] > 0).sum() == 0:
        raise _NoData("no treated unit is active throughout the analysis window")
    y, r = _linearized(f, f["_num"], f["_den"], f["cohort"])
    f["y"] = y
    f["d"] = ((f["cohort"] > 0) & (f["t"] >= f["cohort"])).astype(int)
    never = (f.groupby("unit_id")["cohort"].first() == 0).any()
    res = staggered_did(
        f,
        outcome="y",
        unit="unit_id",
        time="t",
        cohort="cohort",
        control_group="never_treated" if never else "not_yet_treated",
        alpha=alpha,
        seed=seed,
        higher_is_better=hib,
        # a handful of reps per cohort against several pre-periods: the chi-square Wald test of
        # every pre-period ATT(g,t) rejects a true null almost always (docs/validation.md)
        pretrend="event_f",
    )
    simple = res.aggregate("simple")
    dyn = res.aggregate("dynamic")
    alt = twfe(f, outcome="y", unit="unit_id", time="t", treatment="d", alpha=alpha)
    note = (
        f"units active in every period of the window only ({len(keep)} of "
        f"{frame['unit_id'].nunique()}); outcome linearized around the treated pre-period ratio"
    )
    spec = {**simple.spec, "evaluate_note": note}
    return dataclasses.replace(simple, baseline=r, spec=spec), dyn, alt


def _single_rollout(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> Effect:
    import salesinsight.causal as causal

    if not hasattr(causal, "synthetic_control"):
        raise _NotSupported(f"{UNSUPPORTED}: single_rollout needs synthetic_control")
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)].copy()
    coh = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    f["cohort"] = f["unit_id"].map(coh).fillna(0).astype(int)
    y, r = _linearized(f, f["_num"], f["_den"], f["cohort"])
    f["y"] = y
    treated = sorted(coh.index.intersection(f["unit_id"].unique()))
    eff = causal.synthetic_control(
        f,
        outcome="y",
        unit="unit_id",
        time="t",
        treated=treated,
        treatment_time=int(coh.min()),
        alpha=alpha,
        seed=seed,
        higher_is_better=hib,
    )
    return dataclasses.replace(eff, baseline=r)


def _observational(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> Effect:
    import salesinsight.causal as causal

    if not hasattr(causal, "aipw"):
        raise _NotSupported(f"{UNSUPPORTED}: observational programs need aipw (not yet available)")
    # one row per unit active in the window: post-period linearized ratio as outcome, pre-period
    # ratio, volume and exposure as covariates; ATT of enrolment
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)]
    coh = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    start_t = int(coh.min())
    pre = f[f["t"] < start_t].groupby("unit_id")[["_num", "_den", "_exposure"]].sum()
    post = f[f["t"] >= start_t].groupby("unit_id")[["_num", "_den", "_exposure"]].sum()
    units = post.join(pre.add_suffix("_pre"), how="inner")
    units = units[(units["_exposure"] > 0) & (units["_exposure_pre"] > 0)]
    units["d"] = units.index.isin(coh.index).astype(int)
    tr = units[units["d"] == 1]
    if tr.empty or tr["_den"].sum() <= 0 or tr["_den_pre"].sum() <= 0:
        raise _NoData("no enrolled unit with data before and after the start")
    r = float(tr["_num_pre"].sum() / tr["_den_pre"].sum())
    d_bar = float(tr["_den"].mean())
    units["y"] = r + (units["_num"] - r * units["_den"]) / d_bar
    pooled = units["_num_pre"].sum() / max(units["_den_pre"].sum(), 1e-12)
    units["pre_ratio"] = np.where(
        units["_den_pre"] > 0,
        units["_num_pre"] / units["_den_pre"].where(units["_den_pre"] > 0),
        pooled,
    )
    units["pre_volume"] = units["_den_pre"] / units["_exposure_pre"]
    eff = causal.aipw(
        units.reset_index(),
        outcome="y",
        treatment="d",
        covariates=["pre_ratio", "pre_volume", "_exposure_pre"],
        estimand="att",
        seed=seed,
    )
    return dataclasses.replace(eff, baseline=r, higher_is_better=hib)


# ---------------------------------------------------------------------- naive comparisons
def _naive(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    outcome: str,
    design: str,
) -> list[dict[str, Any]]:
    """Naive before/after (treated units) and treated vs untreated (after the start) comparisons."""
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)]
    tr = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    ctl = starts.loc[starts["arm"] == "control", "unit_id"]
    coh = f["unit_id"].map(tr)
    is_t = coh.notna()
    after_own = is_t & (f["t"] >= coh)
    before_own = is_t & (f["t"] < coh)
    first = int(tr.min())
    reference = f["unit_id"].isin(ctl) if len(ctl) else ~is_t
    ref_label = "control arm" if len(ctl) else "units never enrolled"

    def ratio(mask: pd.Series) -> float:
        s = f.loc[mask, "_den"].sum()
        return float(f.loc[mask, "_num"].sum() / s) if s > 0 else np.nan

    a, b = ratio(after_own), ratio(before_own)
    t_after, r_after = ratio(after_own), ratio(reference & (f["t"] >= first))
    return [
        {
            "outcome": outcome,
            "comparison": "naive before/after",
            "estimate": a - b,
            "treated": a,
            "reference": b,
            "note": "treated units after vs before their own start; ignores trends, seasonality "
            "and regression to the mean",
        },
        {
            "outcome": outcome,
            "comparison": "naive treated vs untreated",
            "estimate": t_after - r_after,
            "treated": t_after,
            "reference": r_after,
            "note": f"treated units vs {ref_label} after the start; ignores how units were "
            f"selected ({design} design)",
        },
    ]


# ---------------------------------------------------------------------- verdicts
def _verdict(
    eff: Effect | None,
    message: str,
    min_effect: float,
    alpha: float,
    p_adj: float | None,
    correction: str,
) -> Verdict:
    if eff is None:
        return Verdict("inconclusive", message or "not estimated")
    v = eff.verdict(min_effect=min_effect, alpha=alpha)
    if v.label in ("worked", "harmed") and p_adj is not None and p_adj >= alpha:
        name = "Holm" if correction == "holm" else "Benjamini-Hochberg"
        return Verdict(
            "inconclusive",
            f"{v.reason[:-1]}, but the {name}-adjusted p-value {p_adj:.3g} across the program's "
            f"outcomes is not below {alpha}.",
        )
    return v


def _min_effects(min_effect: float | Mapping[str, float] | None, outs: tuple[str, ...]) -> dict:
    if min_effect is None:
        return dict.fromkeys(outs, 0.0)
    if isinstance(min_effect, Mapping):
        unknown = sorted(set(min_effect) - set(outs))
        if unknown:
            raise ValueError(f"min_effect given for outcome(s) not evaluated: {unknown}")
        return {o: float(min_effect.get(o, 0.0)) for o in outs}
    return dict.fromkeys(outs, float(min_effect))


def _as_date(x: Any) -> dt.date | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return None
    return pd.Timestamp(x).date()


def _finite(x: Any) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False
