"""Input checks and panel preparation for :func:`salesinsight.causal.did.staggered_did`.

:func:`validate_inputs` raises one ``ValueError`` listing every problem with the arguments and the
input table; :func:`prepare_panel` turns the long table into balanced wide arrays with R ``did``'s
sample rules (balancing, always-treated units dropped, late cohorts recoded as never treated),
recording every drop in ``Panel.info``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["METHODS", "Panel", "prepare_panel", "validate_inputs"]

#: the 2x2 estimators :func:`staggered_did` accepts (``method=``)
METHODS = frozenset({"dr", "ipw", "reg"})
_TABLE = "df"


# ---------------------------------------------------------------------- validation
def _rows(mask: np.ndarray, index: pd.Index, limit: int = 5) -> str:
    idx = list(index[np.asarray(mask)])
    head = ", ".join(str(i) for i in idx[:limit])
    more = f" ... ({len(idx)} rows)" if len(idx) > limit else f" ({len(idx)} rows)"
    return f"[{head}]{more}"


def _vals(values: Any, limit: int = 5) -> str:
    uniq = pd.Series(values).drop_duplicates().tolist()
    return ", ".join(repr(v) for v in uniq[:limit]) + (" ..." if len(uniq) > limit else "")


def validate_inputs(
    df: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    control_group: str,
    covariates: list[str],
    method: str,
    cluster: str | None,
    anticipation: Any,
    base_period: str,
    alpha: Any,
    bstrap_iters: Any,
    pretrend: Any = "wald",
) -> None:
    """Raise one ValueError listing every problem with the arguments and the input table."""
    problems = _check_arguments(
        control_group, method, base_period, anticipation, alpha, bstrap_iters, pretrend
    )
    if not isinstance(df, pd.DataFrame):
        problems.append(f"df must be a pandas DataFrame, got {type(df).__name__}")
        _raise(problems)
    needed = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort}
    needed |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    if cluster is not None:
        needed["cluster"] = cluster
    for arg, col in needed.items():
        if not isinstance(col, str) or col not in df.columns:
            problems.append(
                f"table {_TABLE!r}: column {col!r} (argument {arg}) not found; "
                f"columns are {list(df.columns)}"
            )
    if problems:
        _raise(problems)
    not_numeric = _check_numeric(df, problems, time, cohort, outcome, covariates)
    for col in [unit] + ([cluster] if cluster is not None else []):
        if df[col].isna().any():
            problems.append(
                f"table {_TABLE!r}: column {col!r} has missing values in rows "
                f"{_rows(df[col].isna(), df.index)}"
            )
    _check_units(df, problems, unit, time, cohort, cluster, not_numeric)
    if problems:
        _raise(problems)


def _raise(problems: list[str]) -> None:
    raise ValueError("staggered_did: invalid input:\n  - " + "\n  - ".join(problems))


def _check_arguments(
    control_group: str,
    method: str,
    base_period: str,
    anticipation: Any,
    alpha: Any,
    bstrap_iters: Any,
    pretrend: Any,
) -> list[str]:
    """Return the problems with the estimator's options (not the table)."""
    problems: list[str] = []
    if pretrend not in ("wald", "event_f"):
        problems.append(f"pretrend must be 'wald' or 'event_f', got {pretrend!r}")
    if control_group not in ("never_treated", "not_yet_treated"):
        problems.append(
            f"control_group must be 'never_treated' or 'not_yet_treated', got {control_group!r}"
        )
    if method not in METHODS:
        problems.append(f"method must be one of 'dr', 'ipw', 'reg', got {method!r}")
    if base_period not in ("varying", "universal"):
        problems.append(f"base_period must be 'varying' or 'universal', got {base_period!r}")
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        problems.append(f"anticipation must be an integer >= 0, got {anticipation!r}")
    if not isinstance(alpha, float | int) or not 0 < float(alpha) < 1:
        problems.append(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if not isinstance(bstrap_iters, int | np.integer) or bstrap_iters < 0:
        problems.append(f"bstrap_iters must be an integer >= 0, got {bstrap_iters!r}")
    return problems


def _check_numeric(
    df: pd.DataFrame,
    problems: list[str],
    time: str,
    cohort: str,
    outcome: str,
    covariates: list[str],
) -> set[str]:
    """Append problems with non-numeric or missing values; return the non-numeric columns."""
    idx = df.index
    not_numeric: set[str] = set()
    for col, allow_na in [(time, False), (cohort, True), (outcome, True)] + [
        (c, True) for c in covariates
    ]:
        s = df[col]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
            detail = (
                f"; non-numeric values {_vals(s[bad])} in rows {_rows(bad, idx)}"
                if bad.any()
                else ""
            )
            problems.append(
                f"table {_TABLE!r}: column {col!r} must be numeric, dtype is {s.dtype}{detail}"
                + (
                    " (convert dates to integer period numbers first)"
                    if col in (time, cohort)
                    else ""
                )
            )
            not_numeric.add(col)
            continue
        if not allow_na and s.isna().any():
            problems.append(
                f"table {_TABLE!r}: column {col!r} has missing values in rows {_rows(s.isna(), idx)}"
            )
    return not_numeric


def _check_units(
    df: pd.DataFrame,
    problems: list[str],
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None,
    not_numeric: set[str],
) -> None:
    """Append problems with cohorts, duplicated (unit, period) pairs and per-unit constants."""
    idx = df.index
    g = (
        df[cohort].to_numpy(dtype=float)
        if cohort not in not_numeric
        else pd.to_numeric(df[cohort], errors="coerce").to_numpy(dtype=float)
    )
    neg = g < 0
    if neg.any():
        problems.append(
            f"table {_TABLE!r}: column {cohort!r} must be 0/NaN (never treated) or the first "
            f"treated period; negative values {_vals(g[neg])} in rows {_rows(neg, idx)}"
        )
    u_codes = pd.factorize(df[unit])[0]
    t_codes, t_uniques = pd.factorize(df[time])
    key = u_codes.astype(np.int64) * max(len(t_uniques), 1) + t_codes
    valid = (u_codes >= 0) & (t_codes >= 0)
    dup = np.zeros(len(df), dtype=bool)
    dup[valid] = np.bincount(key[valid])[key[valid]] > 1
    if dup.any():
        problems.append(
            f"table {_TABLE!r}: columns ({unit!r}, {time!r}) must be unique; duplicated "
            f"(unit, period) in rows {_rows(dup, idx)}"
        )
    gfill = pd.Series(np.where(np.isnan(g), 0.0, g), index=idx)
    for col, values in [(cohort, gfill)] + ([(cluster, df[cluster])] if cluster else []):
        nun = values.groupby(df[unit].to_numpy()).transform("nunique").to_numpy()
        varies = nun > 1
        if varies.any():
            units = _vals(df[unit].to_numpy()[varies])
            problems.append(
                f"table {_TABLE!r}: column {col!r} must be constant within each {unit!r}; it "
                f"varies for units {units} (rows {_rows(varies, idx)})"
            )


# ---------------------------------------------------------------------- data preparation
@dataclass(frozen=True)
class Panel:
    """A balanced unit x period panel as arrays (outcome, covariates, cohorts, clusters)."""

    unit_ids: np.ndarray  # (n,)
    times: np.ndarray  # (T,)
    y: np.ndarray  # (n, T)
    x: np.ndarray | None  # (n, T, k) with intercept, or None
    unit_group: np.ndarray  # (n,), inf = never treated
    glist: np.ndarray  # treated cohorts to estimate
    cluster: np.ndarray | None  # (n,) codes
    n_clusters: int
    info: dict[str, Any]


def prepare_panel(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: list[str],
    cluster: str | None,
    control_group: str,
    anticipation: int,
) -> Panel:
    """Balanced wide arrays, R did's sample rules (see ``info`` for every drop)."""
    info: dict[str, Any] = {"notes": []}
    cols = list(
        dict.fromkeys([unit, time, cohort, outcome, *covariates] + ([cluster] if cluster else []))
    )
    d = df[cols]
    miss = d[[outcome, *covariates]].isna().any(axis=1).to_numpy()
    info["n_rows_dropped_missing"] = int(miss.sum())
    if miss.any():
        _note(
            info,
            f"dropped {int(miss.sum())} rows with a missing outcome or covariate",
            stacklevel=4,
        )
        d = d.loc[~miss]
    w = _to_wide(d, outcome=outcome, unit=unit, time=time, cohort=cohort,
                 covariates=covariates, cluster=cluster, info=info)  # fmt: skip
    keep_units = w.complete.copy()
    keep_t = _apply_cohort_rules(w, keep_units, control_group, anticipation, info)
    times = w.times[keep_t]
    y = w.y[:, keep_t]
    x = None if w.x is None else w.x[:, keep_t, :]
    if times.size < 2:
        raise ValueError(
            f"table {_TABLE!r}: column {time!r} needs at least 2 periods, found {times.size}"
        )
    unit_group = w.unit_group
    always = np.isfinite(unit_group) & (unit_group <= times[0] + anticipation)
    info["n_units_dropped_always_treated"] = int((always & keep_units).sum())
    if (always & keep_units).any():
        _note(
            info,
            f"dropped {int((always & keep_units).sum())} units already treated in the first "
            f"period {times[0]:g} (accounting for anticipation = {anticipation})",
            stacklevel=4,
        )
    keep_units &= ~always
    if not keep_units.any():
        raise ValueError(
            "no units left after balancing the panel and dropping always-treated units"
        )
    unit_group = unit_group[keep_units]
    glist = _cohorts_to_estimate(unit_group, control_group, cohort)
    n_clusters = int(keep_units.sum())
    clus = None
    if cluster:
        assert w.clus_all is not None
        _, clus = np.unique(w.clus_all[keep_units].astype(str), return_inverse=True)
        n_clusters = int(clus.max()) + 1
    return Panel(
        unit_ids=w.uid[keep_units],
        times=times,
        y=y[keep_units],
        x=None if x is None else x[keep_units],
        unit_group=unit_group,
        glist=glist,
        cluster=clus,
        n_clusters=n_clusters,
        info=info,
    )


def _note(info: dict[str, Any], msg: str, *, stacklevel: int | None) -> None:
    """Record ``msg`` in ``info["notes"]``; with a ``stacklevel``, also warn the user.

    ``stacklevel`` counts from here to the user's call of :func:`staggered_did`: 4 from
    :func:`prepare_panel`, 5 from a helper it calls; ``None`` records without warning.
    """
    if stacklevel is not None:
        warnings.warn(msg, stacklevel=stacklevel)
    info["notes"].append(msg)


@dataclass
class _Wide:
    """All units' periods as arrays, before the sample rules (``unit_group`` is edited)."""

    uid: np.ndarray  # (n_all,) unit ids
    times: np.ndarray  # (T,)
    y: np.ndarray  # (n_all, T)
    x: np.ndarray | None  # (n_all, T, k + 1)
    unit_group: np.ndarray  # (n_all,), inf = never treated
    clus_all: np.ndarray | None  # (n_all,) cluster labels
    complete: np.ndarray  # (n_all,) observed in every period


def _to_wide(
    d: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: list[str],
    cluster: str | None,
    info: dict[str, Any],
) -> _Wide:
    """Long rows to unit x period arrays; flag (and count) the units missing a period."""
    uid, ucodes = np.unique(d[unit].to_numpy(), return_inverse=True)
    tvals = d[time].to_numpy(dtype=float)
    times, tcodes = np.unique(tvals, return_inverse=True)
    n_all, n_t = uid.size, times.size
    count = np.bincount(ucodes, minlength=n_all)
    complete = count == n_t
    info["n_units_dropped_unbalanced"] = int((~complete).sum())
    if not complete.all():
        _note(
            info,
            f"dropped {int((~complete).sum())} of {n_all} units not observed in all {n_t} periods "
            "(balanced panel required, as R did with panel = TRUE)",
            stacklevel=5,
        )
    g_row = d[cohort].to_numpy(dtype=float)
    g_row = np.where(np.isnan(g_row) | (g_row == 0), np.inf, g_row)
    unit_group = np.full(n_all, np.inf)
    unit_group[ucodes] = g_row
    y = np.full((n_all, n_t), np.nan)
    y[ucodes, tcodes] = d[outcome].to_numpy(dtype=float)
    x = None
    if covariates:
        x = np.ones((n_all, n_t, len(covariates) + 1))
        for j, c in enumerate(covariates):
            x[ucodes, tcodes, j + 1] = d[c].to_numpy(dtype=float)
    clus_all = None
    if cluster:
        clus_all = np.empty(n_all, dtype=object)
        clus_all[ucodes] = d[cluster].to_numpy()
    return _Wide(uid, times, y, x, unit_group, clus_all, complete)


def _apply_cohort_rules(
    w: _Wide,
    keep_units: np.ndarray,
    control_group: str,
    anticipation: int,
    info: dict[str, Any],
) -> np.ndarray:
    """R did's cohort rules on ``w.unit_group`` (in place); return the periods to keep.

    Cohorts first treated after the last period count as never treated; without never-treated
    units the last cohort becomes the comparison (``never_treated``) or only a comparison group
    (``not_yet_treated``), and periods from its start on are dropped.
    """
    unit_group, times = w.unit_group, w.times
    late = np.isfinite(unit_group) & (unit_group > times.max() + anticipation)
    info["n_units_recoded_never_treated"] = int((late & keep_units).sum())
    if (late & keep_units).any():
        _note(
            info,
            f"{int((late & keep_units).sum())} units first treated after the last period are "
            "treated as never treated",
            stacklevel=None,
        )
    unit_group[late] = np.inf
    keep_t = np.ones(times.size, dtype=bool)
    finite = np.isfinite(unit_group[keep_units])
    if keep_units.any() and finite.all():
        latest = float(unit_group[keep_units].max())
        cutoff = latest - anticipation
        keep_t = times < cutoff
        if control_group == "never_treated":
            msg = (
                f"no never-treated units: the last cohort ({latest:g}) serves as the never-treated "
                f"comparison and periods >= {cutoff:g} are dropped (as R did)"
            )
            unit_group[unit_group == latest] = np.inf
        else:
            msg = (
                f"no never-treated units: periods >= {cutoff:g} are dropped and the last cohort "
                f"({latest:g}) is only a comparison group (as R did)"
            )
        _note(info, msg, stacklevel=5)
    return keep_t


def _cohorts_to_estimate(unit_group: np.ndarray, control_group: str, cohort: str) -> np.ndarray:
    """Return the treated cohorts to estimate; raise when none, or no never-treated comparison."""
    glist = np.unique(unit_group[np.isfinite(unit_group)])
    if control_group == "not_yet_treated" and np.isfinite(unit_group).all():
        glist = glist[:-1]
    if glist.size == 0:
        raise ValueError(f"table {_TABLE!r}: column {cohort!r} has no treated cohort to estimate")
    if control_group == "never_treated" and not np.isinf(unit_group).any():
        raise ValueError(f"table {_TABLE!r}: column {cohort!r} has no never-treated units")
    return glist
