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

Layout: this module holds the entry point and the group-time cell loop; input checks and panel
preparation are in :mod:`~salesinsight.causal.did_data`, the result object and pre-trend tests in
:mod:`~salesinsight.causal.did_result`, aggregations and uniform bands in
:mod:`~salesinsight.causal.did_aggregate`, the 2x2 estimators in :mod:`~salesinsight.causal._drdid`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from salesinsight.causal import _drdid
from salesinsight.causal.did_aggregate import SE_ZERO, UnitInfo, column_se
from salesinsight.causal.did_data import Panel, prepare_panel, validate_inputs
from salesinsight.causal.did_result import StaggeredDiD, pretrend_diagnostic
from salesinsight.causal.effect import library_versions
from salesinsight.causal.inference import z_critical

__all__ = ["StaggeredDiD", "staggered_did"]

ControlGroup = Literal["never_treated", "not_yet_treated"]
Method = Literal["dr", "ipw", "reg"]
PreTrend = Literal["wald", "event_f"]

_ESTIMATORS = {
    "dr": _drdid.drdid_panel,
    "ipw": _drdid.std_ipw_did_panel,
    "reg": _drdid.reg_did_panel,
}
#: library versions do not change within a process; reading package metadata costs ~40 ms.
_versions = functools.cache(library_versions)


# ---------------------------------------------------------------------- group-time ATTs
def _cells(
    p: Panel, *, control_group: str, method: str, anticipation: int, base_period: str
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
    p: Panel,
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
    validate_inputs(
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
    panel = prepare_panel(
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
    tab = _cell_table(tab, inf, units, alpha)
    notes = _notes(tab, panel, cluster)
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
        "versions": dict(_versions()),
    }
    return StaggeredDiD(
        att_gt=tab,
        outcome=outcome,
        spec=spec,
        n_units=int(panel.y.shape[0]),
        n_obs=int(panel.y.size),
        n_clusters=panel.n_clusters,
        higher_is_better=higher_is_better,
        pre_trends=pretrend_diagnostic(tab, inf, units, pretrend),
        _inf=inf,
        _units=units,
    )


def _cell_table(tab: pd.DataFrame, inf: np.ndarray, units: UnitInfo, alpha: float) -> pd.DataFrame:
    """Add standard errors, pointwise intervals and event times to the ATT(g, t) cells."""
    se = column_se(inf, units)
    se = np.where(np.isfinite(se) & (se > SE_ZERO), se, np.nan)
    z = z_critical(alpha)
    tab["se"] = se
    tab["ci_low"] = tab["att"] - z * se
    tab["ci_high"] = tab["att"] + z * se
    tab["event_time"] = tab["time"] - tab["group"]
    tab["n_units"] = tab["n_treated"] + tab["n_control"]
    for c in ("group", "time", "base_period", "event_time"):
        if np.all(tab[c] == np.round(tab[c])):
            tab[c] = tab[c].astype(int)
    return tab[
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


def _notes(tab: pd.DataFrame, panel: Panel, cluster: str | None) -> list[str]:
    """Return the sample notes plus notes on cells left out and on clustering."""
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
        warnings.warn(msg, stacklevel=3)  # _notes <- staggered_did <- user code
        notes.append(msg)
    if cluster:
        notes.append(
            f"standard errors clustered by {cluster!r}: influence functions summed within "
            f"{panel.n_clusters} clusters (R did's analytic SEs are not clustered)"
        )
    return notes
