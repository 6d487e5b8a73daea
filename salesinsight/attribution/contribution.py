"""Program contribution: how much of a quarter's KPI change the evaluated programs account for.

The contribution of program ``p`` to the change of an additive KPI (revenue, won deals, follow-ups,
...) between a base and a current quarter is its causal effect per exposed unit-period times the
change in its exposure::

    contribution_p = effect_p * (exposure_p,current - exposure_p,base)

with exposure = treated, employed rep-days in the quarter expressed in the effect's unit (rep-days,
rep-weeks = days / 7, or rep-quarters = days / days in the quarter). The remainder of the observed
change is "other factors". Uncertainty comes only from the effects (the observed change and the
exposure are counts, taken as known); the effects' estimation errors are assumed independent across
programs (covariance 0). **The result rests on the causal estimates' assumptions.**
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.causal.inference import z_critical
from salesinsight.metrics._panel import ADDITIVE_KPIS
from salesinsight.results import ResultMixin, Summary

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = [
    "ADDITIVE_KPIS",
    "CAVEAT",
    "EFFECT_UNITS",
    "ProgramContribution",
    "program_contribution",
    "program_exposure",
]

#: Units an effect can be expressed per; exposure must be in the same unit.
EFFECT_UNITS: tuple[str, ...] = ("unit_day", "unit_week", "unit_quarter")

CAVEAT = (
    "This rests on the causal estimates' assumptions: each program's effect is only as credible as its "
    "design (randomization, parallel trends, no unmeasured confounding, ...), is taken as constant per "
    "exposed unit-period and additive across programs (no interactions), and the programs' estimation "
    "errors are assumed uncorrelated (covariance 0)."
)

OTHER = "other factors"
ALL_PROGRAMS = "all programs"
TOTAL = "total"

FRAME_COLUMNS: tuple[str, ...] = (
    "program_id",
    "row_type",
    "effect",
    "effect_se",
    "effect_per",
    "exposure_base",
    "exposure_current",
    "exposure_change",
    "contribution",
    "se",
    "ci_low",
    "ci_high",
    "share_of_change",
)


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProgramContribution(ResultMixin):
    """Contribution of evaluated programs to the change of a KPI between two quarters.

    Attributes
    ----------
    kpi : str
        The KPI (additive: counts or money summed over reps).
    base, current : str
        Period labels compared (change = current - base).
    kpi_base, kpi_current : float
        Observed KPI in each period (summed over the panel's rows).
    frame : DataFrame
        See :meth:`to_frame`.
    alpha : float
        One minus the interval level.
    caveat : str
        The assumptions the numbers rest on (always shown by :meth:`summary`).
    notes : tuple of str
        Further remarks (e.g. programs with no change in exposure).
    """

    kpi: str
    base: str
    current: str
    kpi_base: float
    kpi_current: float
    frame: pd.DataFrame
    alpha: float = 0.05
    caveat: str = CAVEAT
    notes: tuple[str, ...] = ()

    @property
    def total_change(self) -> float:
        """Observed change ``kpi_current - kpi_base``."""
        return float(self.kpi_current - self.kpi_base)

    def _row(self, name: str) -> pd.Series:
        return self.frame.loc[self.frame["program_id"] == name].iloc[0]

    @property
    def programs_contribution(self) -> float:
        """Sum of the programs' contributions, in KPI units."""
        return float(self._row(ALL_PROGRAMS)["contribution"])

    @property
    def programs_interval(self) -> tuple[float, float]:
        """(1 - alpha) interval of the programs' summed contribution."""
        r = self._row(ALL_PROGRAMS)
        return float(r["ci_low"]), float(r["ci_high"])

    @property
    def other_factors(self) -> float:
        """Change not accounted for by the programs (total change - programs)."""
        return float(self._row(OTHER)["contribution"])

    def to_frame(self) -> pd.DataFrame:
        """One row per program, then ``all programs``, ``other factors`` and ``total``.

        Columns: ``program_id``, ``row_type`` (``program``, ``all programs``, ``other factors``,
        ``total``), ``effect`` and ``effect_se`` (KPI units per ``effect_per``), ``effect_per``,
        ``exposure_base``, ``exposure_current``, ``exposure_change`` (in ``effect_per`` units),
        ``contribution``, ``se``, ``ci_low``, ``ci_high`` (KPI units) and ``share_of_change``
        (contribution / total change; NaN when the change is 0). The ``total`` row is the observed
        change (se 0).
        """
        return self.frame.copy()

    def _summary(self) -> Summary:
        """Summarise in words: what the programs account for, per program, other factors, and the caveat."""
        level = f"{100 * (1 - self.alpha):g}%"
        lo, hi = self.programs_interval
        prog = self.programs_contribution
        change = self.total_change
        share = f" ({100 * prog / change:.0f}% of the change)" if change != 0 else ""
        lines = [
            f"Program contribution to the change in {self.kpi} from {self.base} to {self.current}",
            f"{self.kpi}: {_fmt(self.kpi_base)} in {self.base} -> {_fmt(self.kpi_current)} in "
            f"{self.current} (change {_signed(change)}).",
            f"The evaluated programs account for {_signed(prog)}{share}, {level} interval "
            f"[{_signed(lo)}, {_signed(hi)}]; other factors {_signed(self.other_factors)}.",
        ]
        for r in self.frame[self.frame["row_type"] == "program"].itertuples():
            unit = str(r.effect_per).replace("unit_", "unit-")
            lines.append(
                f"  - {r.program_id}: {_signed(r.contribution)} [{_signed(r.ci_low)}, "
                f"{_signed(r.ci_high)}] = effect {_signed(r.effect)} per {unit} (SE "
                f"{_fmt(r.effect_se)}) x exposure change {_signed(r.exposure_change)} "
                f"({_fmt(r.exposure_base)} -> {_fmt(r.exposure_current)} {unit}s)"
            )
        o = self._row(OTHER)
        lines.append(
            f"  - other factors: {_signed(o['contribution'])} [{_signed(o['ci_low'])}, "
            f"{_signed(o['ci_high'])}] (the observed change minus the programs)"
        )
        lines.append(f"Caveat: {self.caveat}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return Summary.from_lines(lines)

    def plot(self, *, ax: Any = None) -> Any:
        """Plot the waterfall: base KPI, each program, other factors, current KPI.

        Program bars carry their intervals as error bars. Returns the matplotlib Axes.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(7, 4.5))
            fig.subplots_adjust(bottom=0.25)
        rows = self.frame[self.frame["row_type"].isin(["program", "other factors"])]
        names = [self.base, *rows["program_id"].astype(str), self.current]
        deltas = rows["contribution"].to_numpy(dtype=float)
        bottoms, heights, colors = [0.0], [self.kpi_base], ["0.55"]
        level = self.kpi_base
        err_x, err_y, err_lo, err_hi = [], [], [], []
        for i, (d, r) in enumerate(zip(deltas, rows.itertuples(), strict=True), start=1):
            bottoms.append(level if d >= 0 else level + d)
            heights.append(abs(d))
            colors.append("tab:green" if d >= 0 else "tab:red")
            end = level + d
            err_x.append(i)
            err_y.append(end)
            err_lo.append(max(end - (level + r.ci_low), 0.0))
            err_hi.append(max((level + r.ci_high) - end, 0.0))
            level = end
        bottoms.append(0.0)
        heights.append(self.kpi_current)
        colors.append("0.35")
        x = np.arange(len(names))
        ax.bar(x, heights, bottom=bottoms, color=colors, edgecolor="black", linewidth=0.5)
        ax.errorbar(err_x, err_y, yerr=[err_lo, err_hi], fmt="none", ecolor="black", capsize=4)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_ylabel(self.kpi)
        ax.set_title(
            f"{self.kpi}: {self.base} -> {self.current} "
            f"(programs: rests on the causal estimates' assumptions)",
            fontsize="medium",
        )
        return ax


# --------------------------------------------------------------------------------------------------
# program_contribution
# --------------------------------------------------------------------------------------------------


def program_contribution(
    panel: pd.DataFrame,
    effects: Mapping[str, Effect],
    exposure: pd.DataFrame | Mapping[str, tuple[float, float]],
    *,
    kpi: str = "revenue",
    base: str,
    current: str,
    effect_per: str | Mapping[str, str] = "unit_week",
    period_col: str = "period",
    alpha: float = 0.05,
) -> ProgramContribution:
    """Split a KPI's change between two periods into program contributions and other factors.

    Parameters
    ----------
    panel : DataFrame
        A company- or team-level panel from `salesinsight.metrics.panel` at quarter grain (or any
        frame with ``period_col`` and ``kpi``); the KPI is summed over the rows of each period.
    effects : mapping program_id -> Effect
        Each program's causal effect **on this KPI**, in KPI units per exposed unit-period (e.g.
        revenue per treated rep-week, as `salesinsight.evaluation.evaluate` returns with
        ``grain="week"``). ``Effect.outcome`` must equal ``kpi``.
    exposure : DataFrame or mapping program_id -> (exposure_base, exposure_current)
        Treated unit-periods of each program in ``base`` and ``current``, in ``effect_per`` units.
        A DataFrame (as `program_exposure` returns) has columns ``program_id``, ``exposure_base``,
        ``exposure_current`` and optionally ``exposure_per``, which is checked against
        ``effect_per``.
    kpi : str
        Additive KPI column (see ``ADDITIVE_KPIS``): counts or money that sum over reps.
    base, current : str
        Period labels (values of ``period_col``); change = current - base.
    effect_per : {"unit_day", "unit_week", "unit_quarter"} or mapping program_id -> unit
        The unit the effects are per (one for all programs, or per program).
    period_col : str
    alpha : float
        One minus the interval level.

    Returns
    -------
    ProgramContribution

    Notes
    -----
    ``contribution_p = effect_p * (exposure_p,current - exposure_p,base)``; its interval is the
    effect's own (1 - alpha) interval (`Effect.interval`) scaled by the exposure change, its SE
    ``|exposure change| * effect SE``. The programs' sum has SE ``sqrt(sum se_p^2)`` (delta method,
    exact for this linear combination; covariance between programs assumed 0) and a normal
    interval (the program's own interval when only one program's exposure changed). Other factors
    = observed change - programs' sum, with the same SE and the mirrored interval. The observed
    change and the exposures are treated as known.
    """
    units, exp = _validate(
        panel, effects, exposure, kpi, base, current, effect_per, period_col, alpha
    )
    kpi_base, kpi_current = _period_totals(panel, kpi, base, current, period_col)
    change = kpi_current - kpi_base
    prog, notes = _program_rows(effects, exp, units, alpha, base, current)
    frame = pd.concat(
        [prog, pd.DataFrame(_summary_rows(prog, change, z_critical(alpha)))], ignore_index=True
    )
    frame["share_of_change"] = frame["contribution"] / change if change != 0 else np.nan
    frame = frame[list(FRAME_COLUMNS)]
    return ProgramContribution(
        kpi=kpi,
        base=str(base),
        current=str(current),
        kpi_base=kpi_base,
        kpi_current=kpi_current,
        frame=frame,
        alpha=alpha,
        notes=tuple(notes),
    )


def _validate(
    panel: pd.DataFrame,
    effects: Mapping[str, Effect],
    exposure: pd.DataFrame | Mapping[str, tuple[float, float]],
    kpi: str,
    base: str,
    current: str,
    effect_per: str | Mapping[str, str],
    period_col: str,
    alpha: float,
) -> tuple[dict[str, str], pd.DataFrame]:
    """Check every input, all problems at once; return the effects' units and the exposure table."""
    problems: list[str] = []
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if kpi not in ADDITIVE_KPIS:
        problems.append(
            f"kpi {kpi!r} is not additive over reps; effect x exposure is a contribution only for "
            f"counts and money: {sorted(ADDITIVE_KPIS)}"
        )
    for col in (period_col, kpi):
        if col not in panel.columns:
            problems.append(f"panel has no column {col!r} (columns: {list(panel.columns)})")
    if not effects:
        problems.append("effects is empty: give at least one program's Effect")
    units = _effect_units(effect_per, effects, problems)
    exp = _exposure_table(exposure, problems)
    for pid, eff in effects.items():
        _check_effect(pid, eff, kpi, exp, units, problems)
    if exp is not None:
        extra = sorted(set(exp.index) - set(effects))
        if extra:
            problems.append(f"exposure has program(s) without an effect: {extra}")
    if period_col in panel.columns and kpi in panel.columns:
        periods = set(panel[period_col].astype(str))
        for label in (base, current):
            if str(label) not in periods:
                problems.append(f"panel has no rows for period {label!r} in column {period_col!r}")
    if problems:
        raise ValueError("program_contribution: " + "; ".join(problems))
    assert exp is not None  # no problems, so the exposure table was built
    return units, exp


def _check_effect(
    pid: str,
    eff: Any,
    kpi: str,
    exp: pd.DataFrame | None,
    units: dict[str, str],
    problems: list[str],
) -> None:
    """Check one program's effect and exposure row; append what is wrong to ``problems``."""
    if not isinstance(eff, Effect):
        problems.append(
            f"effects[{pid!r}] is {type(eff).__name__}, not an Effect (a program whose effect "
            "could not be estimated cannot be given a contribution; leave it out)"
        )
        return
    if eff.outcome != kpi:
        problems.append(f"effects[{pid!r}] is an effect on {eff.outcome!r}, not on {kpi!r}")
    if not (_finite(eff.estimate) and _finite(eff.se) and eff.se >= 0):
        problems.append(
            f"effects[{pid!r}]: estimate {eff.estimate!r} and se {eff.se!r} must be finite "
            "(se >= 0)"
        )
    if exp is None:
        return
    if pid not in exp.index:
        problems.append(f"exposure has no row for program {pid!r}")
        return
    row = exp.loc[pid]
    for c in ("exposure_base", "exposure_current"):
        v = row[c]
        if not (_finite(v) and float(v) >= 0):
            problems.append(
                f"exposure, program {pid!r}, column {c!r}: {v} is not a finite number >= 0"
            )
    per = row.get("exposure_per") if "exposure_per" in exp.columns else None
    if per is not None and pid in units and per != units[pid]:
        problems.append(
            f"exposure, program {pid!r}: exposure is per {per!r} but the effect is "
            f"per {units[pid]!r} (recompute the exposure with the effect's grain)"
        )


def _period_totals(
    panel: pd.DataFrame, kpi: str, base: str, current: str, period_col: str
) -> tuple[float, float]:
    """Sum the KPI over the rows of the base and of the current period."""
    values = {}
    for label in (base, current):
        v = panel.loc[panel[period_col].astype(str) == str(label), kpi].astype(float)
        if v.isna().any():
            raise ValueError(
                f"program_contribution: panel column {kpi!r} is missing (NaN) in period {label!r}"
            )
        values[label] = float(v.sum())
    return values[base], values[current]


def _program_rows(
    effects: Mapping[str, Effect],
    exp: pd.DataFrame,
    units: dict[str, str],
    alpha: float,
    base: str,
    current: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Build one row per program (effect x exposure change, its SE and interval) and notes."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for pid, eff in effects.items():
        e0 = float(exp.loc[pid, "exposure_base"])
        e1 = float(exp.loc[pid, "exposure_current"])
        d = e1 - e0
        lo, hi = eff.interval(alpha)
        c_lo, c_hi = sorted((lo * d, hi * d))
        if d == 0:
            notes.append(
                f"{pid}: exposure did not change between {base} and {current}, so it "
                "contributes nothing to the change (whatever its effect)."
            )
        rows.append(
            {
                "program_id": str(pid),
                "row_type": "program",
                "effect": float(eff.estimate),
                "effect_se": float(eff.se),
                "effect_per": units[pid],
                "exposure_base": e0,
                "exposure_current": e1,
                "exposure_change": d,
                "contribution": float(eff.estimate) * d,
                "se": abs(d) * float(eff.se),
                "ci_low": c_lo,
                "ci_high": c_hi,
            }
        )
    return pd.DataFrame(rows), notes


def _summary_rows(prog: pd.DataFrame, change: float, z: float) -> list[dict[str, Any]]:
    """Build the all-programs, other-factors and total rows."""
    p_sum = float(prog["contribution"].sum())
    p_se = float(math.sqrt(float((prog["se"] ** 2).sum())))
    moving = prog[prog["exposure_change"] != 0]
    if len(moving) == 1:
        p_lo, p_hi = float(moving["ci_low"].iloc[0]), float(moving["ci_high"].iloc[0])
    elif len(moving) == 0:
        p_lo = p_hi = 0.0
    else:
        p_lo, p_hi = p_sum - z * p_se, p_sum + z * p_se
    rest = {
        "effect": np.nan,
        "effect_se": np.nan,
        "effect_per": None,
        "exposure_base": np.nan,
        "exposure_current": np.nan,
        "exposure_change": np.nan,
    }
    return [
        {
            "program_id": ALL_PROGRAMS,
            "row_type": "all programs",
            **rest,
            "contribution": p_sum,
            "se": p_se,
            "ci_low": p_lo,
            "ci_high": p_hi,
        },
        {
            "program_id": OTHER,
            "row_type": "other factors",
            **rest,
            "contribution": change - p_sum,
            "se": p_se,
            "ci_low": change - p_hi,
            "ci_high": change - p_lo,
        },
        {
            "program_id": TOTAL,
            "row_type": "total",
            **rest,
            "contribution": change,
            "se": 0.0,
            "ci_low": change,
            "ci_high": change,
        },
    ]


def _effect_units(
    effect_per: str | Mapping[str, str], effects: Mapping[str, Any], problems: list[str]
) -> dict[str, str]:
    units: dict[str, str | None]
    if isinstance(effect_per, str):
        units = dict.fromkeys(effects, effect_per)
    else:
        units = {pid: effect_per.get(pid) for pid in effects}
        missing = [pid for pid, u in units.items() if u is None]
        if missing:
            problems.append(f"effect_per has no unit for program(s) {missing}")
    for pid, u in units.items():
        if u is not None and u not in EFFECT_UNITS:
            problems.append(f"effect_per for {pid!r} is {u!r}; expected one of {EFFECT_UNITS}")
    return {pid: u for pid, u in units.items() if u is not None}


def _exposure_table(
    exposure: pd.DataFrame | Mapping[str, tuple[float, float]], problems: list[str]
) -> pd.DataFrame | None:
    if isinstance(exposure, pd.DataFrame):
        need = ["program_id", "exposure_base", "exposure_current"]
        missing = [c for c in need if c not in exposure.columns]
        if missing:
            problems.append(
                f"exposure is missing column(s) {missing} (columns: {list(exposure.columns)})"
            )
            return None
        dup = exposure["program_id"][exposure["program_id"].duplicated()].tolist()
        if dup:
            problems.append(f"exposure has duplicate rows for program(s) {sorted(set(dup))}")
            return None
        return exposure.set_index("program_id")
    rows = {}
    for pid, pair in exposure.items():
        try:
            e0, e1 = pair
        except (TypeError, ValueError):
            problems.append(
                f"exposure[{pid!r}] must be a pair (exposure_base, exposure_current), got {pair!r}"
            )
            continue
        rows[pid] = {"exposure_base": e0, "exposure_current": e1}
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["exposure_base", "exposure_current"]
    )


# --------------------------------------------------------------------------------------------------
# program_exposure
# --------------------------------------------------------------------------------------------------

_EXPOSURE_SQL = """
WITH starts AS (
    SELECT CAST(unit_id AS VARCHAR) AS unit_id, MIN(start_date) AS start_date
    FROM enrollments
    WHERE program_id = $program_id AND arm = 'treatment'
    GROUP BY 1
),
treated AS (
    SELECT r.rep_id, s.start_date, r.hire_date, r.termination_date
    FROM reps r JOIN starts s ON {join_col} = s.unit_id
),
quarters AS (
    SELECT * FROM (VALUES ('base', $base_start, $base_end), ('current', $cur_start, $cur_end))
        AS q(which, q_start, q_end)
),
spans AS (
    SELECT q.which, t.rep_id,
           GREATEST(q.q_start, t.start_date, t.hire_date) AS d0,
           LEAST(q.q_end, COALESCE(t.termination_date, q.q_end)) AS d1
    FROM quarters q CROSS JOIN treated t
)
SELECT which,
       COALESCE(SUM(GREATEST(date_diff('day', d0, d1) + 1, 0)), 0) AS rep_days,
       COUNT(DISTINCT rep_id) FILTER (WHERE d1 >= d0) AS n_reps
FROM spans
GROUP BY which
"""


def program_exposure(
    data: Dataset | str | Path,
    program_id: str | Sequence[str],
    base_quarter: str,
    current_quarter: str,
    grain: Literal["day", "week", "quarter"] = "week",
    fiscal_year_start_month: int = 1,
) -> pd.DataFrame:
    """Treated, employed rep-time of programs in two quarters (DuckDB over reps and enrollments).

    A rep is exposed on a day when it is employed (``hire_date <= day <= termination_date``) and
    treated: for a rep program the rep itself, for a team program any rep of the team
    (``reps.team_id``), enrolled in the **treatment** arm with ``start_date <= day`` (the earliest
    start when a unit has several rows). Control-arm rows never count. Exposure stays on after the
    start (as in `salesinsight.evaluation`); ``end_date`` is not used.

    Parameters
    ----------
    data : Dataset or path
    program_id : str or sequence of str
    base_quarter, current_quarter : str
        Quarter labels (``2026Q1``, or ``FY2027Q1`` with a fiscal year).
    grain : {"day", "week", "quarter"}
        Unit of the exposure: rep-days, rep-weeks (rep-days / 7) or rep-quarters (rep-days / days in
        that quarter, so a rep treated all quarter counts 1). Match the unit the effect is per.
    fiscal_year_start_month : int

    Returns
    -------
    DataFrame
        One row per program: ``program_id``, ``unit`` (rep/team), ``exposure_base``,
        ``exposure_current`` (in ``exposure_per`` units), ``exposure_per`` (``unit_<grain>``),
        ``rep_days_base``, ``rep_days_current``, ``n_reps_base``, ``n_reps_current`` (exposed reps).
    """
    from salesinsight.calendar import quarter_bounds
    from salesinsight.data import load

    if grain not in ("day", "week", "quarter"):
        raise ValueError(f"grain must be 'day', 'week' or 'quarter', got {grain!r}")
    ds = load(Path(data)) if isinstance(data, str | Path) else data  # a Dataset of any engine
    missing = [t for t in ("programs", "enrollments") if not ds.has(t)]
    if missing:
        raise ValueError(f"program_exposure needs table(s) {missing}, absent from {ds.folder}")
    pids = [program_id] if isinstance(program_id, str) else list(program_id)
    programs = ds.sql("SELECT program_id, unit FROM programs")
    unit_of = dict(zip(programs["program_id"].astype(str), programs["unit"], strict=True))
    unknown = [p for p in pids if p not in unit_of]
    if unknown:
        raise ValueError(
            f"programs table: program_id(s) {unknown} not found (known: {sorted(unit_of)})"
        )
    b0, b1 = quarter_bounds(base_quarter, fiscal_year_start_month)
    c0, c1 = quarter_bounds(current_quarter, fiscal_year_start_month)
    rows = []
    for pid in pids:
        unit = unit_of[pid]
        if unit not in ("rep", "team"):
            raise ValueError(
                f"programs table, program {pid!r}, column 'unit': {unit!r} is not rep/team"
            )
        join_col = "r.rep_id" if unit == "rep" else "r.team_id"
        res = ds.sql(
            _EXPOSURE_SQL.format(join_col=join_col),
            {
                "program_id": pid,
                "base_start": b0,
                "base_end": b1,
                "cur_start": c0,
                "cur_end": c1,
            },
        ).set_index("which")
        days = {w: float(res["rep_days"].get(w, 0.0)) for w in ("base", "current")}
        n = {w: int(res["n_reps"].get(w, 0)) for w in ("base", "current")}
        divisor = {
            "base": _divisor(grain, b0, b1),
            "current": _divisor(grain, c0, c1),
        }
        rows.append(
            {
                "program_id": pid,
                "unit": unit,
                "exposure_base": days["base"] / divisor["base"],
                "exposure_current": days["current"] / divisor["current"],
                "exposure_per": f"unit_{grain}",
                "rep_days_base": days["base"],
                "rep_days_current": days["current"],
                "n_reps_base": n["base"],
                "n_reps_current": n["current"],
            }
        )
    return pd.DataFrame(rows)


def _divisor(grain: str, start: dt.date, end: dt.date) -> float:
    if grain == "day":
        return 1.0
    if grain == "week":
        return 7.0
    return float((end - start).days + 1)


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------


def _finite(x: Any) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _fmt(x: float) -> str:
    if x is None or not _finite(x):
        return "n/a"
    x = float(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.4g}"


def _signed(x: float) -> str:
    s = _fmt(x)
    return s if s.startswith("-") or s == "n/a" else f"+{s}"
