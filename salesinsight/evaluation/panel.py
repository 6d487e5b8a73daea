"""Unit panels for program evaluation: KPIs as numerator / denominator, windows, linearization.

Every KPI is a ratio of sums, numerator / denominator (``win_rate`` = won / closed, ``csat`` = sum
of scores / responses, ``revenue`` = revenue / active seller-periods, ...). Per-rep figures are
per seller (data contract: ``sellers_active``; managers are not sellers). Per unit-period outcomes
for panel estimators are linearized, ``R + (num - R * den) / D`` with ``R`` the treated units'
pre-period ratio and ``D`` their mean post-period denominator, so that periods with a zero
denominator are defined and the average effect equals the effect on the ratio of sums to first
order (exactly when the denominator is unaffected).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from typing import Any

import numpy as np
import pandas as pd

from salesinsight import kpis

__all__ = [
    "DEFAULT_OUTCOMES",
    "KPI_DEFINITIONS",
    "LOWER_IS_BETTER",
    "PLACEBO_OUTCOME",
    "analysis_window",
    "num_den",
    "program_info",
    "randomized_units",
    "unit_panel",
    "unit_starts",
]

#: outcomes evaluated when none are named: the run parameters' default (``salesinsight.kpis``)
DEFAULT_OUTCOMES: tuple[str, ...] = kpis.DEFAULT_OUTCOMES

#: the registry's sums -> columns of the unit panel (:func:`unit_panel`); "_exposure" = active
#: seller-periods (``sellers_active``: 1/0 per rep-period on a rep panel, a count on a team panel)
_COLUMN = {kpis.SELLERS: "_exposure", "csat_sum": "_csat_sum", "cycle_days_sum": "_cycle_sum"}


def _columns(kpi: kpis.KPI) -> tuple[str, str]:
    assert kpi.numerator is not None and kpi.denominator is not None
    return _COLUMN.get(kpi.numerator, kpi.numerator), _COLUMN.get(kpi.denominator, kpi.denominator)


#: outcome -> (numerator, denominator) columns of the unit panel, for every outcome a program can be
#: evaluated on (``salesinsight.kpis.OUTCOMES``). Rates are ratios of sums.
KPI_DEFINITIONS: dict[str, tuple[str, str]] = {o: _columns(kpis.KPIS[o]) for o in kpis.OUTCOMES}
#: placebo outcomes: not evaluable as program outcomes, used by the placebo-outcome diagnostic
_PLACEBO_DEFINITIONS: dict[str, tuple[str, str]] = {"quota_per_rep": _columns(kpis.KPIS["quota"])}
LOWER_IS_BETTER = frozenset(o for o in kpis.OUTCOMES if kpis.KPIS[o].direction == "lower")
#: default analysis window (periods before the first start, after the last start) by grain
_WINDOWS = {"week": (26, 52), "month": (6, 12), "quarter": (2, 4)}
UNSUPPORTED = "design not yet supported"
#: outcome the program cannot affect (quota per active rep-period; see docs/causal.md)
PLACEBO_OUTCOME = "quota_per_rep"


class _NotSupported(Exception):
    pass


class _NoData(Exception):
    pass


#: the optional tables outcomes need (``KPI.table``), in words
_TABLE_WORDS = {
    "activities": "activity log (activities table)",
    "csat": "csat table",
    "quotas": "quotas table",
}


def _unavailable(ds: Any, outcome: str) -> str | None:
    """Why ``outcome`` cannot be estimated from this data folder at all, else ``None``."""
    table = kpis.KPIS[outcome].table if outcome in kpis.KPIS else None
    if table is not None and not ds.has(table):
        return f"not available: the data folder has no {_TABLE_WORDS[table]}"
    return None


def _no_data_reason(
    frame: pd.DataFrame, num: pd.Series, den: pd.Series, window: tuple[pd.Timestamp, pd.Timestamp]
) -> str | None:
    """Why the outcome has nothing to estimate from in the analysis window, else ``None``.

    An outcome whose numerator is 0 (or whose denominator is 0) in every unit-period of the window
    has no data: its "effect" would be 0 with the interval [0, 0], a confident null from nothing.
    """
    inside = _in_window(frame, window)
    n, d = num[inside], den[inside]
    if not (d > 0).any():
        return "not estimable: its denominator is 0 in every unit-period of the analysis window"
    if not (n[d > 0] != 0).any():
        return "not estimable: no data (the outcome is 0 in every unit-period of the window)"
    return None


def program_info(ds: Any, program_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Return one program's row and its enrolments.

    Parameters
    ----------
    ds : Dataset
        A loaded data folder with the ``programs`` and ``enrollments`` tables.
    program_id : str

    Returns
    -------
    program : dict
        ``program_id, name, kind, design, unit, start_date, end_date`` (dates as ``date``) and
        the enrolment counts ``n_treated``, ``n_control``.
    enroll : DataFrame
        The program's rows of ``enrollments``.

    Raises
    ------
    ValueError
        When a table is missing, the program is unknown (with the closest id) or has no
        enrolments.
    """
    if not ds.has("programs") or not ds.has("enrollments"):
        raise ValueError(
            "evaluate needs the programs and enrollments tables; "
            f"present tables: {sorted(ds.tables)}"
        )
    progs = ds.table("programs")
    row = progs[progs["program_id"] == program_id]
    if row.empty:
        known = sorted(progs["program_id"].astype(str))
        close = difflib.get_close_matches(str(program_id), known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"programs: no row with program_id {program_id!r}{hint}; available: {known}"
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


def unit_panel(
    ds: Any, *, unit: str, grain: str, end: dt.date | str | None = None
) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """Return the unit panel keyed by ``unit_id`` and period index ``t`` with the KPIs' columns.

    Parameters
    ----------
    ds : Dataset
    unit : {"rep", "team"}
        The program's unit: a rep panel keeps sellers only (managers are left out).
    grain : {"week", "month", "quarter"}
    end : date or str, optional
        Last day of data used; default all data.

    Returns
    -------
    frame : DataFrame
        One row per unit and period with activity: ``unit_id``, ``period_start``, ``t`` (1-based
        period index), the KPI panel's counts and sums, ``_exposure`` (active seller-periods) and
        the helper sums ``_csat_sum``, ``_cycle_sum``.
    periods : DatetimeIndex
        Start of every period kept (edge periods with little activity are dropped); ``t`` indexes
        it from 1.
    """
    from salesinsight.metrics import panel

    by = "rep" if unit == "rep" else "team"
    p = panel(ds, grain=grain, by=by, end=end)
    key = "rep_id" if by == "rep" else "team_id"
    p = p.rename(columns={key: "unit_id"})
    p["_exposure"] = p["sellers_active"].astype(float)
    if by == "rep":  # a rep panel's units are sellers: non-sellers (managers) are left out
        sellers = p.groupby("unit_id")["sellers_active"].max() > 0
        never_active = ~p.groupby("unit_id")["active"].max().astype(bool)
        keep = sellers | never_active
        p = p[p["unit_id"].map(keep).astype(bool)].copy()
    p["_csat_sum"] = p["csat"].fillna(0.0) * p["csat_responses"]
    p["_cycle_sum"] = p["cycle_days"].fillna(0.0) * p["opps_won"]
    if "n_active_reps" not in p.columns:
        p["n_active_reps"] = p["_exposure"]
    # keep periods with real activity: drop edge periods (burn-in closings, partial last period);
    # without an activity log (optional), opportunities created and closed measure activity
    events = p["activities"] if ds.has("activities") else p["opps_created"] + p["opps_closed"]
    tot = events.groupby(p["period_start"]).sum()
    full = tot[tot >= 0.5 * tot[tot > 0].median()]
    if full.empty:
        raise ValueError("evaluate: the panel has no periods with activity")
    periods = pd.DatetimeIndex(sorted(full.index))
    p = p[p["period_start"].between(periods[0], periods[-1])].copy()
    p["t"] = periods.get_indexer(p["period_start"]) + 1
    p = p[p["t"] > 0]
    return p.reset_index(drop=True), periods


def unit_starts(
    enroll: pd.DataFrame, frame: pd.DataFrame, periods: pd.DatetimeIndex
) -> pd.DataFrame:
    """Return per enrolled unit its arm, start date and the period containing the start.

    Parameters
    ----------
    enroll : DataFrame
        The program's enrolments (``unit_id``, ``arm``, ``start_date``).
    frame, periods
        From :func:`unit_panel`.

    Returns
    -------
    DataFrame
        ``unit_id, arm, start_date, cohort`` with ``cohort`` the 1-based index of the period
        containing the unit's (first) start.

    Raises
    ------
    ValueError
        When an enrolled unit is not in the panel.
    """
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


def analysis_window(
    periods: pd.DatetimeIndex, starts: pd.DataFrame, pre_n: int, post_n: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last period start of the analysis window.

    Parameters
    ----------
    periods : DatetimeIndex
        From :func:`unit_panel`.
    starts : DataFrame
        From :func:`unit_starts`.
    pre_n, post_n : int
        Periods before the first start and from the last start on (in periods of the panel's
        grain), clipped to the data.

    Returns
    -------
    tuple of Timestamp

    Raises
    ------
    ValueError
        When the program has no treatment-arm unit or starts in the first period (no pre-period).
    """
    c = starts.loc[starts["arm"] == "treatment", "cohort"]
    if c.empty:
        raise ValueError("enrollments: the program has no treatment-arm units")
    lo = max(int(c.min()) - pre_n, 1)
    hi = min(int(c.max()) + post_n - 1, len(periods))
    if int(c.min()) <= 1:
        raise ValueError("evaluate: the program starts before the data, no pre-period")
    return periods[lo - 1], periods[hi - 1]


def num_den(frame: pd.DataFrame, outcome: str) -> tuple[pd.Series, pd.Series]:
    """Return the numerator and denominator of ``outcome`` per row of a unit panel.

    Parameters
    ----------
    frame : DataFrame
        From :func:`unit_panel`.
    outcome : str
        A KPI of ``KPI_DEFINITIONS`` or the placebo outcome ``PLACEBO_OUTCOME``.

    Returns
    -------
    num, den : Series
        As floats, missing values as 0; the KPI is ``num.sum() / den.sum()`` (a ratio of sums).
    """
    n, d = KPI_DEFINITIONS.get(outcome) or _PLACEBO_DEFINITIONS[outcome]
    for c in (n, d):
        if c not in frame.columns:
            raise ValueError(f"evaluate: outcome {outcome!r} needs panel column {c!r}")
    return frame[n].astype(float).fillna(0.0), frame[d].astype(float).fillna(0.0)


def _in_window(frame: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]) -> pd.Series:
    return frame["period_start"].between(window[0], window[1])


def randomized_units(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """Return one row per assigned unit of a randomized program: sums before and after the start.

    Parameters
    ----------
    frame : DataFrame
        From :func:`unit_panel`.
    num, den : Series
        From :func:`num_den`.
    starts : DataFrame
        From :func:`unit_starts`; the treatment and control arms are kept.
    window : tuple of Timestamp
        From :func:`analysis_window`.

    Returns
    -------
    DataFrame
        Indexed by ``unit_id``: post-period sums ``_num``, ``_den``, pre-period sums ``_num_pre``,
        ``_den_pre``, the pre-period ratio ``pre`` (the pooled ratio where a unit's pre-period
        denominator is 0) and the arm ``d`` (1 = treatment).
    """
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


def _as_date(x: Any) -> dt.date | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return None
    return pd.Timestamp(x).date()


def _finite(x: Any) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _period_fraction_on(period_start: pd.Series, grain: str, start: pd.Series) -> np.ndarray:
    """Share of each period's days on or after ``start`` (0 before, 1 after, partial inside)."""
    from salesinsight.calendar import period_end

    ps = pd.to_datetime(period_start)
    pe = pd.Series(
        pd.to_datetime(np.asarray(period_end(ps.dt.date.tolist(), grain))), index=ps.index
    )
    days = (pe - ps).dt.days + 1
    on = (pe - pd.to_datetime(start).set_axis(ps.index)).dt.days + 1
    return np.clip(on / days, 0.0, 1.0).to_numpy(float)


def _other_exposure(
    ds: Any, program_id: str, unit: str, frame: pd.DataFrame, grain: str
) -> pd.DataFrame:
    """Per unit-period, the exposure to every *other* program (treatment arm) that ran in the data.

    Columns ``unit_id``, ``t`` and one ``exposure_<program_id>`` per other program: for a team
    panel, the share of the team's active rep-periods under that program (team programs: 0/1 by the
    team's enrolment; rep programs: share of the team's active reps enrolled), for a rep panel the
    rep's own exposure (its team's for team programs). Periods containing a start count the share
    of their days on or after it. Programs with no exposure in ``frame`` are left out.
    """
    progs = ds.table("programs")
    enr = ds.table("enrollments")
    enr = enr[(enr["program_id"] != program_id) & (enr["arm"] == "treatment")].copy()
    out = frame[["unit_id", "t"]].copy()
    if enr.empty:
        return out
    enr["unit_id"] = enr["unit_id"].astype(str)
    enr["start_date"] = pd.to_datetime(enr["start_date"])
    kinds = dict(zip(progs["program_id"].astype(str), progs["unit"].astype(str), strict=False))
    reps = None
    if unit == "team" or any(kinds.get(p) == "team" for p in enr["program_id"].unique()):
        reps = _rep_membership(ds, grain, frame)
    for pid, e in enr.groupby("program_id", sort=True):
        start = e.groupby("unit_id")["start_date"].min()
        col = f"exposure_{pid}"
        if kinds.get(str(pid)) == "team":
            if unit == "team":
                s = frame["unit_id"].astype(str).map(start)
                val = np.where(s.notna(), _period_fraction_on(frame["period_start"], grain, s), 0.0)
            else:  # rep panel: the rep's team in that period
                team = frame["team_id"].astype(str).map(start) if "team_id" in frame else None
                if team is None:
                    continue
                val = np.where(
                    team.notna(), _period_fraction_on(frame["period_start"], grain, team), 0.0
                )
        else:  # rep program
            if unit == "rep":
                s = frame["unit_id"].astype(str).map(start)
                val = np.where(s.notna(), _period_fraction_on(frame["period_start"], grain, s), 0.0)
            else:
                assert reps is not None
                s = reps["rep_id"].map(start)
                frac = np.where(s.notna(), _period_fraction_on(reps["period_start"], grain, s), 0.0)
                share = (
                    reps.assign(_on=frac * reps["active"])
                    .groupby(["team_id", "period_start"])[["_on", "active"]]
                    .sum()
                )
                share = (share["_on"] / share["active"].where(share["active"] > 0)).fillna(0.0)
                key = pd.MultiIndex.from_arrays(
                    [frame["unit_id"].astype(str), pd.to_datetime(frame["period_start"])]
                )
                val = share.reindex(key).fillna(0.0).to_numpy(float)
        if np.nanmax(np.abs(val), initial=0.0) > 0:
            out[col] = val
    return out


def _rep_membership(ds: Any, grain: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rep-period rows (``rep_id``, ``team_id``, ``period_start``, ``active`` as float)."""
    from salesinsight.metrics import panel

    lo, hi = frame["period_start"].min(), frame["period_start"].max()
    p = panel(ds, grain=grain, by="rep")
    p = p[p["period_start"].between(lo, hi)]
    return pd.DataFrame(
        {
            "rep_id": p["rep_id"].astype(str).to_numpy(),
            "team_id": p["team_id"].astype(str).to_numpy(),
            "period_start": pd.to_datetime(p["period_start"]).to_numpy(),
            "active": p["sellers_active"].astype(float).to_numpy(),
        }
    )
