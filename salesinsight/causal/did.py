"""Staggered difference-in-differences: Callaway & Sant'Anna (2021) group-time ATTs.

:func:`staggered_did` estimates ATT(g, t), the average effect in period ``t`` on the units first
treated in period ``g``, by a 2x2 DiD of each cohort against never-treated or not-yet-treated units,
then aggregates them (overall, by cohort, by event time, by calendar period) with influence-function
standard errors. It reproduces R ``did`` 2.5 (``att_gt`` + ``aggte`` with ``bstrap = FALSE``) to
1e-6 on ``mpdta``: see ``docs/validation.md``.

Differences from R ``did`` (all documented in ``spec["notes"]`` of each result):

- ``cluster=``: R's analytic standard errors ignore clustering (only its bootstrap clusters);
  here the analytic standard errors sum the unit influence functions within clusters,
  ``se = sqrt(sum_c (sum_{i in c} psi_i)^2) / n`` (no small-sample factor), and the multiplier
  bootstrap draws one weight per cluster.
- Uniform bands: sup-t critical value from a seeded Gaussian multiplier bootstrap of the analytic
  influence functions (drawn exactly from their covariance), normalised by the analytic standard
  errors; R uses Mammen multipliers and bootstrap IQR standard errors. Pointwise standard errors are
  the analytic ones, as R's with ``bstrap = FALSE``.
- Group-time cells that cannot be estimated (no comparison units, no overlap) are dropped from the
  aggregations (R: ``na.rm = TRUE``) and listed in ``spec["notes"]``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from salesinsight.causal import _drdid
from salesinsight.causal.did_aggregate import (
    SE_ZERO,
    UnitInfo,
    aggregate_cells,
    column_se,
    f_pretest,
    multiplier_crit,
    wald_pretest,
)
from salesinsight.causal.effect import Diagnostic, Effect, library_versions

__all__ = ["StaggeredDiD", "staggered_did"]

ControlGroup = Literal["never_treated", "not_yet_treated"]
Method = Literal["dr", "ipw", "reg"]
AggKind = Literal["simple", "group", "dynamic", "calendar"]
PreTrend = Literal["wald", "event_f"]

_ESTIMATORS = {
    "dr": _drdid.drdid_panel,
    "ipw": _drdid.std_ipw_did_panel,
    "reg": _drdid.reg_did_panel,
}
_TABLE = "df"
#: library versions do not change within a process; reading package metadata costs ~40 ms.
_versions = functools.cache(library_versions)


# ---------------------------------------------------------------------- validation
def _rows(mask: np.ndarray, index: pd.Index, limit: int = 5) -> str:
    idx = list(index[np.asarray(mask)])
    head = ", ".join(str(i) for i in idx[:limit])
    more = f" ... ({len(idx)} rows)" if len(idx) > limit else f" ({len(idx)} rows)"
    return f"[{head}]{more}"


def _vals(values: Any, limit: int = 5) -> str:
    uniq = pd.Series(values).drop_duplicates().tolist()
    return ", ".join(repr(v) for v in uniq[:limit]) + (" ..." if len(uniq) > limit else "")


def _validate(
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
    problems: list[str] = []
    if pretrend not in ("wald", "event_f"):
        problems.append(f"pretrend must be 'wald' or 'event_f', got {pretrend!r}")
    if control_group not in ("never_treated", "not_yet_treated"):
        problems.append(
            f"control_group must be 'never_treated' or 'not_yet_treated', got {control_group!r}"
        )
    if method not in _ESTIMATORS:
        problems.append(f"method must be one of 'dr', 'ipw', 'reg', got {method!r}")
    if base_period not in ("varying", "universal"):
        problems.append(f"base_period must be 'varying' or 'universal', got {base_period!r}")
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        problems.append(f"anticipation must be an integer >= 0, got {anticipation!r}")
    if not isinstance(alpha, float | int) or not 0 < float(alpha) < 1:
        problems.append(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if not isinstance(bstrap_iters, int | np.integer) or bstrap_iters < 0:
        problems.append(f"bstrap_iters must be an integer >= 0, got {bstrap_iters!r}")
    if not isinstance(df, pd.DataFrame):
        problems.append(f"df must be a pandas DataFrame, got {type(df).__name__}")
        raise ValueError("staggered_did: invalid input:\n  - " + "\n  - ".join(problems))

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
        raise ValueError("staggered_did: invalid input:\n  - " + "\n  - ".join(problems))

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
    if df[unit].isna().any():
        problems.append(
            f"table {_TABLE!r}: column {unit!r} has missing values in rows "
            f"{_rows(df[unit].isna(), idx)}"
        )
    if cluster is not None and df[cluster].isna().any():
        problems.append(
            f"table {_TABLE!r}: column {cluster!r} has missing values in rows "
            f"{_rows(df[cluster].isna(), idx)}"
        )

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
    if problems:
        raise ValueError("staggered_did: invalid input:\n  - " + "\n  - ".join(problems))


# ---------------------------------------------------------------------- data preparation
@dataclass(frozen=True)
class _Panel:
    unit_ids: np.ndarray  # (n,)
    times: np.ndarray  # (T,)
    y: np.ndarray  # (n, T)
    x: np.ndarray | None  # (n, T, k) with intercept, or None
    unit_group: np.ndarray  # (n,), inf = never treated
    glist: np.ndarray  # treated cohorts to estimate
    cluster: np.ndarray | None  # (n,) codes
    n_clusters: int
    info: dict[str, Any]


def _prepare(
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
) -> _Panel:
    """Balanced wide arrays, R did's sample rules (see ``info`` for every drop)."""
    info: dict[str, Any] = {"notes": []}
    notes: list[str] = info["notes"]
    cols = list(
        dict.fromkeys([unit, time, cohort, outcome, *covariates] + ([cluster] if cluster else []))
    )
    d = df[cols]
    miss = d[[outcome, *covariates]].isna().any(axis=1).to_numpy()
    info["n_rows_dropped_missing"] = int(miss.sum())
    if miss.any():
        msg = f"dropped {int(miss.sum())} rows with a missing outcome or covariate"
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
        d = d.loc[~miss]

    uid, ucodes = np.unique(d[unit].to_numpy(), return_inverse=True)
    tvals = d[time].to_numpy(dtype=float)
    times, tcodes = np.unique(tvals, return_inverse=True)
    n_all, n_t = uid.size, times.size
    count = np.bincount(ucodes, minlength=n_all)
    complete = count == n_t
    info["n_units_dropped_unbalanced"] = int((~complete).sum())
    if not complete.all():
        msg = (
            f"dropped {int((~complete).sum())} of {n_all} units not observed in all {n_t} periods "
            "(balanced panel required, as R did with panel = TRUE)"
        )
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)

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
    clus = None
    if cluster:
        clus_all = np.empty(n_all, dtype=object)
        clus_all[ucodes] = d[cluster].to_numpy()

    keep_units = complete.copy()
    # cohorts first treated after the last period (+ anticipation) are never treated in-sample
    late = np.isfinite(unit_group) & (unit_group > times.max() + anticipation)
    info["n_units_recoded_never_treated"] = int((late & keep_units).sum())
    if (late & keep_units).any():
        notes.append(
            f"{int((late & keep_units).sum())} units first treated after the last period are "
            "treated as never treated"
        )
    unit_group[late] = np.inf
    keep_t = np.ones(n_t, dtype=bool)
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
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
    times = times[keep_t]
    y = y[:, keep_t]
    if x is not None:
        x = x[:, keep_t, :]
    if times.size < 2:
        raise ValueError(
            f"table {_TABLE!r}: column {time!r} needs at least 2 periods, found {times.size}"
        )

    always = np.isfinite(unit_group) & (unit_group <= times[0] + anticipation)
    info["n_units_dropped_always_treated"] = int((always & keep_units).sum())
    if (always & keep_units).any():
        msg = (
            f"dropped {int((always & keep_units).sum())} units already treated in the first "
            f"period {times[0]:g} (accounting for anticipation = {anticipation})"
        )
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
    keep_units &= ~always
    if not keep_units.any():
        raise ValueError(
            "no units left after balancing the panel and dropping always-treated units"
        )

    unit_group = unit_group[keep_units]
    glist = np.unique(unit_group[np.isfinite(unit_group)])
    if control_group == "not_yet_treated" and np.isfinite(unit_group).all():
        glist = glist[:-1]
    if glist.size == 0:
        raise ValueError(f"table {_TABLE!r}: column {cohort!r} has no treated cohort to estimate")
    if control_group == "never_treated" and not np.isinf(unit_group).any():
        raise ValueError(f"table {_TABLE!r}: column {cohort!r} has no never-treated units")
    n_clusters = int(keep_units.sum())
    if cluster:
        _, clus = np.unique(clus_all[keep_units].astype(str), return_inverse=True)
        n_clusters = int(clus.max()) + 1
    return _Panel(
        unit_ids=uid[keep_units],
        times=times,
        y=y[keep_units],
        x=None if x is None else x[keep_units],
        unit_group=unit_group,
        glist=glist,
        cluster=clus,
        n_clusters=n_clusters,
        info=info,
    )


# ---------------------------------------------------------------------- group-time ATTs
def _cells(
    p: _Panel, *, control_group: str, method: str, anticipation: int, base_period: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """All ATT(g, t) with their influence functions (n, K), in cohort-major order (as R)."""
    n, n_t = p.y.shape
    tfac = 1 if base_period == "varying" else 0
    ug = p.unit_group
    never = np.isinf(ug)
    rows: list[dict[str, Any]] = []
    inf = np.empty((n, p.glist.size * (n_t - tfac)))
    k = 0
    for g in p.glist:
        pre_idx = np.flatnonzero(p.times + anticipation < g)
        pret_g = int(pre_idx[-1])
        treated = ug == g
        for ti in range(n_t - tfac):
            cur = ti + tfac
            post = bool(g <= p.times[cur])
            pre = ti if (tfac == 1 and not post) else pret_g
            row: dict[str, Any] = {
                "group": g,
                "time": p.times[cur],
                "base_period": p.times[pre],
                "post": post,
                "n_treated": int(treated.sum()),
                "n_control": 0,
                "treated_mean": float(p.y[treated, cur].mean()),
                "status": "ok",
            }
            if pre == cur:  # universal base period: reference cell, 0 by construction
                row.update(att=0.0, status="reference period")
                rows.append(row)
                inf[:, k] = 0.0
                k += 1
                continue
            if control_group == "never_treated":
                control = never
            else:
                cutoff = p.times[max(ti, pre) + tfac] + anticipation
                control = never | ((ug > cutoff) & (ug != g))
            row["n_control"] = int(control.sum())
            if row["n_control"] == 0:
                row.update(att=np.nan, status="no comparison units")
                rows.append(row)
                inf[:, k] = np.nan
                k += 1
                continue
            att, psi, status = _one_cell(p, treated, control, cur, pre, min(pre, ti), method)
            row.update(att=att, status=status)
            rows.append(row)
            inf[:, k] = psi
            k += 1
    return pd.DataFrame(rows), inf


def _one_cell(
    p: _Panel,
    treated: np.ndarray,
    control: np.ndarray,
    cur: int,
    pre: int,
    cov_period: int,
    method: str,
) -> tuple[float, np.ndarray, str]:
    """One 2x2 ATT and its full-sample influence function (zero outside treated + control)."""
    n = p.y.shape[0]
    dy = p.y[:, cur] - p.y[:, pre]
    psi = np.zeros(n)
    n_g, n_c = int(treated.sum()), int(control.sum())
    if p.x is None:
        # Intercept only: DR, IPW and regression all reduce to the difference in mean changes.
        if method in ("dr", "ipw") and n_g / (n_g + n_c) >= 0.995:
            return np.nan, np.full(n, np.nan), "no overlap (treated share >= 0.995)"
        mu_g = dy[treated].mean()
        mu_c = dy[control].mean()
        psi[treated] = n * (dy[treated] - mu_g) / n_g
        psi[control] = -n * (dy[control] - mu_c) / n_c
        return float(mu_g - mu_c), psi, "ok"
    sub = treated | control
    n1 = int(sub.sum())
    d = treated[sub].astype(float)
    x = p.x[sub, cov_period, :]
    if method in ("dr", "ipw"):
        try:
            beta = _drdid.logit_mle(d, x, np.ones(n1))
            if np.max(expit(x @ beta)) >= 0.999:
                return np.nan, np.full(n, np.nan), "overlap violated (propensity score >= 0.999)"
        except np.linalg.LinAlgError:
            return np.nan, np.full(n, np.nan), "propensity score model failed"
    if method in ("dr", "reg"):
        xc = x[d == 0]
        if _drdid._rcond(xc.T @ xc) < np.finfo(float).eps:
            return np.nan, np.full(n, np.nan), "not enough comparison units for the regression"
    try:
        res = _ESTIMATORS[method](p.y[sub, cur], p.y[sub, pre], d, x)
    except (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError) as err:
        return np.nan, np.full(n, np.nan), f"estimation failed: {err}"
    if not np.isfinite(res.att):
        return np.nan, np.full(n, np.nan), "estimation failed: non-finite ATT"
    psi[sub] = (n / n1) * res.inf_func
    return res.att, psi, "ok"


def _pretrend(
    tab: pd.DataFrame, inf: np.ndarray, units: UnitInfo, kind: str = "wald"
) -> Diagnostic:
    """Pre-trend test as a required Diagnostic: ``wald`` (R did) or ``event_f`` (finite sample)."""
    pre = (tab["group"] > tab["time"]).to_numpy() & np.isfinite(tab["att"].to_numpy())
    if not pre.any():
        return Diagnostic(
            "pre_trends", None, note="no pre-treatment periods to test parallel trends"
        )
    if kind == "event_f":
        return _pretrend_event_f(tab, inf, units)
    res = wald_pretest(tab["att"].to_numpy()[pre], inf[:, pre], units)
    if res is None:
        return Diagnostic(
            "pre_trends",
            None,
            note="pre-trend Wald test not computable (singular covariance of pre-period ATTs)",
        )
    w, pval, q = res
    passed = bool(pval >= 0.05)
    verdict = "no evidence against" if passed else "evidence against"
    return Diagnostic(
        "pre_trends",
        passed,
        statistic=w,
        p_value=pval,
        value=float(q),
        note=f"Wald test that all {q} pre-treatment ATT(g,t) are zero: {verdict} parallel trends",
    )


def _pretrend_event_f(tab: pd.DataFrame, inf: np.ndarray, units: UnitInfo) -> Diagnostic:
    """Joint F test that the pre-treatment event-study effects (event times < 0) are zero.

    The pre-treatment ATT(g, t) are pooled across cohorts by event time with cohort-size weights
    (the ``dynamic`` aggregation), so each restriction rests on every cohort observed at that event
    time, and the test uses :func:`f_pretest` (finite-sample F with Nel-van der Merwe degrees of
    freedom) instead of the chi-square approximation.
    """
    ok = np.isfinite(tab["att"].to_numpy())
    agg = aggregate_cells(
        "dynamic",
        group=tab["group"].to_numpy(dtype=float)[ok],
        time=tab["time"].to_numpy(dtype=float)[ok],
        att=tab["att"].to_numpy(dtype=float)[ok],
        inf=inf[:, ok],
        units=units,
    )
    pre = agg.term_labels < 0
    if not pre.any():
        return Diagnostic(
            "pre_trends", None, note="no pre-treatment event times to test parallel trends"
        )
    res = f_pretest(agg.term_att[pre], agg.term_inf[:, pre], units)
    if res is None:
        return Diagnostic(
            "pre_trends",
            None,
            note="pre-trend F test not computable (singular covariance, or too few units for "
            f"{int(pre.sum())} pre-treatment event times)",
        )
    f, pval, q, df2 = res
    passed = bool(pval >= 0.05)
    verdict = "no evidence against" if passed else "evidence against"
    return Diagnostic(
        "pre_trends",
        passed,
        statistic=f,
        p_value=pval,
        value=float(q),
        note=(
            f"F test (finite-sample, F({q}, {df2:.1f})) that the {q} pre-treatment event-study "
            f"effects are zero: {verdict} parallel trends"
        ),
    )


# ---------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class StaggeredDiD:
    """Group-time ATTs of a staggered adoption design, with aggregations.

    Attributes
    ----------
    att_gt : DataFrame
        One row per (cohort, period): ``group, time, event_time, base_period, post, att, se,
        ci_low, ci_high, n_treated, n_control, n_units, status``; intervals pointwise at
        ``1 - alpha``.
    outcome : str
    spec : Mapping
        Every argument, sample-construction counts and notes, library versions.
    n_units, n_obs, n_clusters : int
    higher_is_better : bool
    pre_trends : Diagnostic
        The pre-trend Wald test (see :meth:`pretrend_test`).
    """

    att_gt: pd.DataFrame
    outcome: str
    spec: Mapping[str, Any]
    n_units: int
    n_obs: int
    n_clusters: int
    higher_is_better: bool = True
    pre_trends: Diagnostic = field(default_factory=lambda: Diagnostic("pre_trends", None))
    _inf: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    _units: UnitInfo | None = field(repr=False, default=None)

    # ------------------------------------------------------------------ pre-trends
    def pretrend_test(self) -> Diagnostic:
        """Test that the pre-treatment effects are zero (parallel trends before treatment).

        ``pretrend="wald"`` (default): chi-square Wald test that every pre-treatment ATT(g, t)
        (t < g) is zero with the analytic influence-function covariance (R did's ``W``/``Wpval``,
        clustered when ``cluster`` is given). ``pretrend="event_f"``: finite-sample F test of the
        pre-treatment event-study effects (see :func:`staggered_did`). Passes when ``p >= 0.05``.
        Returns a required :class:`Diagnostic` named ``"pre_trends"`` with ``value`` = number of
        restrictions.
        """
        return self.pre_trends

    # ------------------------------------------------------------------ aggregation
    def aggregate(
        self,
        kind: AggKind = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
        uniform: bool = True,
    ) -> Effect:
        """Aggregate the ATT(g, t) into one :class:`Effect`.

        Parameters
        ----------
        kind : {"simple", "group", "dynamic", "calendar"}
            ``simple``: post-treatment cells weighted by cohort size; ``group``: average by cohort,
            then cohort-size weighted; ``dynamic``: event study by time since treatment (overall =
            mean over event times >= 0); ``calendar``: by period, then averaged.
        min_e, max_e : float
            Event-time window (``dynamic``); ``max_e`` also caps ``simple``/``group`` cells.
        balance_e : int, optional
            ``dynamic`` only: balance the cohorts in event time up to ``balance_e``.
        uniform : bool, default True
            ``terms`` intervals are a simultaneous (sup-t) band from the multiplier bootstrap
            (``bstrap_iters`` draws, seeded); pointwise intervals are kept in
            ``ci_low_pointwise``/``ci_high_pointwise``.

        Returns
        -------
        Effect
            ``estimate``/``se``: overall aggregate and its analytic standard error; ``terms``: per
            cohort / event time / period; ``baseline``: the treated units' counterfactual mean
            with the same weights; diagnostics: the ``pre_trends`` Wald test.
        """
        if kind not in ("simple", "group", "dynamic", "calendar"):
            raise ValueError(
                f"kind must be one of 'simple', 'group', 'dynamic', 'calendar', got {kind!r}"
            )
        if balance_e is not None and kind != "dynamic":
            raise ValueError("balance_e applies only to kind='dynamic'")
        assert self._units is not None
        tab = self.att_gt
        ok = np.isfinite(tab["att"].to_numpy())
        t_ok = tab.loc[ok] if not ok.all() else tab
        agg = aggregate_cells(
            kind,
            group=t_ok["group"].to_numpy(dtype=float),
            time=t_ok["time"].to_numpy(dtype=float),
            att=t_ok["att"].to_numpy(dtype=float),
            inf=self._inf[:, ok] if not ok.all() else self._inf,
            units=self._units,
            min_e=min_e,
            max_e=max_e,
            balance_e=balance_e,
        )
        alpha = float(self.spec["alpha"])
        z = float(stats.norm.ppf(1 - alpha / 2))
        se = float(column_se(agg.overall_inf, self._units))
        if not se > SE_ZERO:
            se = math.nan
        est = agg.overall
        pval = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else math.nan
        cf = (t_ok["treated_mean"] - t_ok["att"]).to_numpy(dtype=float)
        baseline = (
            float(agg.overall_weights @ cf) if np.all(np.isfinite(agg.overall_weights)) else None
        )

        terms = None
        crit = z
        if agg.term_labels.size:
            tse = column_se(agg.term_inf, self._units)
            tse = np.where(tse > SE_ZERO, tse, np.nan)
            iters = int(self.spec["bstrap_iters"])
            if uniform and iters > 0:
                crit = multiplier_crit(
                    agg.term_inf,
                    tse,
                    self._units,
                    alpha=alpha,
                    iters=iters,
                    seed=int(self.spec["seed"]),
                )
            labels = agg.term_labels
            if np.all(labels == np.round(labels)):
                labels = labels.astype(int)
            terms = pd.DataFrame(
                {
                    "term": labels,
                    "estimate": agg.term_att,
                    "se": tse,
                    "ci_low": agg.term_att - crit * tse,
                    "ci_high": agg.term_att + crit * tse,
                    "p_value": 2 * stats.norm.sf(np.abs(agg.term_att / tse)),
                    "ci_low_pointwise": agg.term_att - z * tse,
                    "ci_high_pointwise": agg.term_att + z * tse,
                    "crit_value": crit,
                    "n_cells": agg.term_cells,
                    "baseline": agg.term_weights @ cf,
                }
            )
        what = {
            "simple": "average of post-treatment ATT(g,t) weighted by cohort size",
            "group": "cohort-size weighted average of per-cohort average effects",
            "dynamic": "average of event-time effects at event times >= 0",
            "calendar": "average of per-period effects",
        }[kind]
        band = (
            f"terms: simultaneous {100 * (1 - alpha):g}% band (sup-t critical value {crit:.3f} "
            f"from {self.spec['bstrap_iters']} Gaussian multiplier draws, seed {self.spec['seed']})"
            if terms is not None and uniform and int(self.spec["bstrap_iters"]) > 0
            else "terms: pointwise intervals"
        )
        spec = dict(self.spec)
        spec.update(
            aggregation=kind,
            aggregation_target=what,
            min_e=min_e,
            max_e=max_e,
            balance_e=balance_e,
            uniform=uniform,
            ci_level=1 - alpha,
            inference=(
                "analytic influence-function standard errors"
                + (f" clustered by {spec['cluster']!r}" if spec.get("cluster") else "")
                + "; "
                + band
            ),
        )
        return Effect(
            estimate=float(est),
            se=se,
            ci_low=float(est - z * se),
            ci_high=float(est + z * se),
            p_value=pval,
            n_units=self.n_clusters if spec.get("cluster") else self.n_units,
            n_obs=self.n_obs,
            method=f"staggered_did ({spec['method']}, {spec['control_group']}, {kind})",
            outcome=self.outcome,
            spec=spec,
            diagnostics=(self.pretrend_test(),),
            baseline=baseline,
            higher_is_better=self.higher_is_better,
            terms=terms,
            extras={"critical_value": crit, "notes": list(self.spec.get("notes", []))},
        )

    # ------------------------------------------------------------------ rendering
    def to_frame(self) -> pd.DataFrame:
        """The ATT(g, t) table (a copy)."""
        return self.att_gt.copy()

    def summary(self) -> str:
        """Plain-text summary: design, ATT(g, t) table, pre-trend test, overall and event study."""
        s = self.spec
        lines = [
            f"Staggered DiD (Callaway & Sant'Anna 2021) on {self.outcome}",
            f"  method {s['method']}, comparison {s['control_group']}, base period "
            f"{s['base_period']}, anticipation {s['anticipation']}, covariates "
            f"{s['covariates'] or 'none'}",
            f"  units {self.n_units}, periods {len(s['periods'])}, cohorts "
            f"{', '.join(f'{g:g}' for g in s['cohorts'])}"
            + (f", clusters {self.n_clusters} ({s['cluster']})" if s.get("cluster") else ""),
        ]
        lines.extend(f"  note: {n}" for n in s.get("notes", []))
        cols = ["group", "time", "att", "se", "ci_low", "ci_high", "n_treated", "n_control"]
        lines.append("Group-time ATTs")
        lines.append(self.att_gt[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        lines.append(f"Pre-trends: {self.pretrend_test().describe()}")
        for kind in ("simple", "dynamic"):
            eff = self.aggregate(kind)
            lines.append(
                f"Overall ({kind}): {eff.estimate:.4g} (SE {eff.se:.4g}), "
                f"{100 * eff.ci_level:g}% CI [{eff.ci_low:.4g}, {eff.ci_high:.4g}], "
                f"p = {eff.p_value:.4g}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax: Any = None) -> Any:
        """Event-study plot (dynamic aggregation with its uniform band); returns the Axes."""
        ax = self.aggregate("dynamic").plot(ax=ax)
        ax.set_title(f"{self.outcome}: event study (Callaway & Sant'Anna)")
        return ax


# ---------------------------------------------------------------------- entry point
def staggered_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    control_group: ControlGroup = "never_treated",
    covariates: Sequence[str] | str | None = None,
    method: Method = "dr",
    cluster: str | None = None,
    anticipation: int = 0,
    base_period: Literal["varying", "universal"] = "varying",
    alpha: float = 0.05,
    bstrap_iters: int = 1000,
    seed: int = 0,
    higher_is_better: bool = True,
    pretrend: PreTrend = "wald",
) -> StaggeredDiD:
    """Callaway & Sant'Anna (2021) group-time average treatment effects on a panel.

    Parameters
    ----------
    df : DataFrame
        Long panel, one row per unit and period.
    outcome, unit, time : str
        Column names; ``time`` numeric (e.g. week or quarter number).
    cohort : str
        First treated period of each unit, in the units of ``time``; 0 or NaN = never treated.
        Must be constant within unit.
    control_group : {"never_treated", "not_yet_treated"}
    covariates : list of str, optional
        Numeric columns; the values in the base period of each 2x2 comparison are used (R did).
    method : {"dr", "ipw", "reg"}
        Doubly robust (R did's default, ``DRDID::drdid_panel``), normalised IPW or outcome
        regression. Without covariates all three coincide.
    cluster : str, optional
        Column constant within unit; standard errors sum influence functions within clusters.
    anticipation : int
        Number of periods before ``cohort`` in which units may already react.
    base_period : {"varying", "universal"}
        Pre-treatment cells compare consecutive periods (``varying``, R default) or use ``g - 1``.
    alpha : float
        One minus the interval level.
    bstrap_iters, seed : int
        Multiplier-bootstrap draws and seed for uniform bands (0 = pointwise only).
    higher_is_better : bool
        Passed to every :class:`Effect`.
    pretrend : {"wald", "event_f"}, default "wald"
        Pre-trend test. ``wald``: R did's chi-square Wald test that every pre-treatment ATT(g, t) is
        zero (parity). ``event_f``: joint F test of the pre-treatment event-study effects (cohorts
        pooled by event time) with finite-sample degrees of freedom -- use it when cohorts have few
        units relative to the number of pre-periods (the chi-square test then rejects a true null
        far too often; see ``docs/causal.md``).

    Returns
    -------
    StaggeredDiD
        Frozen result; see :meth:`StaggeredDiD.aggregate`, :meth:`StaggeredDiD.pretrend_test`.

    Notes
    -----
    Unbalanced panels are balanced by dropping units with missing periods (counted in
    ``spec["n_units_dropped_unbalanced"]``), units treated in the first period are dropped, and
    cohorts treated after the last period count as never treated -- the sample rules of R did.
    """
    covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
    _validate(
        df,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        control_group=control_group,
        covariates=covs,
        method=method,
        cluster=cluster,
        anticipation=anticipation,
        base_period=base_period,
        alpha=alpha,
        bstrap_iters=bstrap_iters,
        pretrend=pretrend,
    )
    panel = _prepare(
        df,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=covs,
        cluster=cluster,
        control_group=control_group,
        anticipation=int(anticipation),
    )
    tab, inf = _cells(
        panel,
        control_group=control_group,
        method=method,
        anticipation=int(anticipation),
        base_period=base_period,
    )
    units = UnitInfo(unit_group=panel.unit_group, cluster=panel.cluster)
    se = column_se(inf, units)
    se = np.where(np.isfinite(se) & (se > SE_ZERO), se, np.nan)
    z = float(stats.norm.ppf(1 - alpha / 2))
    tab["se"] = se
    tab["ci_low"] = tab["att"] - z * se
    tab["ci_high"] = tab["att"] + z * se
    tab["event_time"] = tab["time"] - tab["group"]
    tab["n_units"] = tab["n_treated"] + tab["n_control"]
    for c in ("group", "time", "base_period", "event_time"):
        if np.all(tab[c] == np.round(tab[c])):
            tab[c] = tab[c].astype(int)
    tab = tab[
        [
            "group",
            "time",
            "event_time",
            "base_period",
            "post",
            "att",
            "se",
            "ci_low",
            "ci_high",
            "n_treated",
            "n_control",
            "n_units",
            "treated_mean",
            "status",
        ]
    ]
    notes = list(panel.info["notes"])
    bad = tab["status"].ne("ok") & tab["status"].ne("reference period")
    if bad.any():
        cells = ", ".join(
            f"({g}, {t}): {s}"
            for g, t, s in tab.loc[bad, ["group", "time", "status"]].itertuples(index=False)
        )
        msg = (
            f"{int(bad.sum())} group-time cells not estimable and left out of aggregations: {cells}"
        )
        warnings.warn(msg, stacklevel=2)
        notes.append(msg)
    if cluster:
        notes.append(
            f"standard errors clustered by {cluster!r}: influence functions summed within "
            f"{panel.n_clusters} clusters (R did's analytic SEs are not clustered)"
        )
    spec: dict[str, Any] = {
        "estimator": "Callaway & Sant'Anna (2021) group-time ATT, R did 2.5 algorithm",
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "cohort": cohort,
        "control_group": control_group,
        "covariates": covs,
        "method": method,
        "cluster": cluster,
        "anticipation": int(anticipation),
        "base_period": base_period,
        "alpha": float(alpha),
        "bstrap_iters": int(bstrap_iters),
        "seed": int(seed),
        "higher_is_better": bool(higher_is_better),
        "pretrend": pretrend,
        "periods": [float(t) for t in panel.times],
        "cohorts": [float(g) for g in panel.glist],
        "n_units": int(panel.y.shape[0]),
        "n_never_treated": int(np.isinf(panel.unit_group).sum()),
        "n_rows_dropped_missing": panel.info["n_rows_dropped_missing"],
        "n_units_dropped_unbalanced": panel.info["n_units_dropped_unbalanced"],
        "n_units_dropped_always_treated": panel.info["n_units_dropped_always_treated"],
        "n_units_recoded_never_treated": panel.info["n_units_recoded_never_treated"],
        "notes": notes,
        "library_versions": dict(_versions()),
    }
    return StaggeredDiD(
        att_gt=tab,
        outcome=outcome,
        spec=spec,
        n_units=int(panel.y.shape[0]),
        n_obs=int(panel.y.size),
        n_clusters=panel.n_clusters,
        higher_is_better=higher_is_better,
        pre_trends=_pretrend(tab, inf, units, pretrend),
        _inf=inf,
        _units=units,
    )
