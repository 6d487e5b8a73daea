"""Single rollout: enrolled units against never-enrolled ones, or the company-wide series.

Block DiD clustered by unit and synthetic control; when every unit is enrolled at once, the
company-wide series against its structural time-series counterfactual.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.comparison import _counts, _design_panel
from salesinsight.evaluation.design_run import DesignRun, _add, _rename
from salesinsight.evaluation.panel import _in_window, _NoData

__all__ = ["MIN_DID_UNITS", "company_wide", "single_rollout"]

#: a single rollout uses (team-clustered) DiD as its primary design from this many treated *and*
#: this many untreated units on; with fewer treated units synthetic control is primary.
MIN_DID_UNITS = 5


def _did(f: pd.DataFrame, alpha: float, hib: bool, covariates: tuple[str, ...] = ()) -> Effect:
    """Estimate the block DiD ``y ~ d [+ covariates] | unit + period``.

    CR1 clustered by unit (the unit of assignment), ``t(G - 1)``. ``covariates``: time-varying
    exposure to other programs.
    """
    from salesinsight.causal import twfe

    eff = twfe(
        f,
        outcome="y",
        unit="unit_id",
        time="t",
        treatment="d",
        cluster="unit_id",
        alpha=alpha,
        higher_is_better=hib,
    )
    covs = tuple(c for c in covariates if c in f.columns and _within_varies(f, c))
    spec = dict(eff.spec)
    method = "difference-in-differences (unit and period FE, clustered by unit)"
    if covs:
        est, se, p, lo, hi = _fe_did_adjusted(f, covs, alpha)
        eff = dataclasses.replace(eff, estimate=est, se=se, p_value=p, ci_low=lo, ci_high=hi)
        method = (
            "difference-in-differences (unit and period FE, other programs' exposure as "
            "covariates, clustered by unit)"
        )
    spec["other_program_covariates"] = list(covs)
    post = f.loc[f["d"] == 1, "y"].mean()
    diags = tuple(d for d in eff.diagnostics if d.name != "staggered_timing")
    return dataclasses.replace(
        eff,
        method=method,
        spec=spec,
        baseline=float(post - eff.estimate),  # treated units' post-period counterfactual
        diagnostics=diags,
    )


def _within_varies(f: pd.DataFrame, col: str) -> bool:
    """Whether ``col`` varies after removing unit and period means (else FE absorb it)."""
    x = f[col].astype(float)
    r = x - x.groupby(f["unit_id"]).transform("mean")
    r = r - r.groupby(f["t"]).transform("mean")
    return bool(np.abs(r.to_numpy()).max(initial=0.0) > 1e-9)


def _fe_did_adjusted(
    f: pd.DataFrame, covs: tuple[str, ...], alpha: float
) -> tuple[float, float, float, float, float]:
    """Coefficient of ``d`` in ``y ~ d + covs | unit + t`` with CRV1 by unit (pyfixest, as twfe)."""
    import warnings

    import pyfixest as pf

    names = {c: f"x{i}" for i, c in enumerate(covs)}
    data = pd.DataFrame(
        {
            "y": f["y"].astype(float).to_numpy(),
            "d": f["d"].astype(float).to_numpy(),
            "u": f["unit_id"].to_numpy(),
            "t": f["t"].to_numpy(),
            **{names[c]: f[c].astype(float).to_numpy() for c in covs},
        }
    )
    rhs = " + ".join(["d", *names.values()])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"pyfixest(\..*)?$")
        fit = pf.feols(f"y ~ {rhs} | u + t", data=data, vcov={"CRV1": "u"})
    ci = fit.confint(alpha=alpha).loc["d"]
    return (
        float(fit.coef()["d"]),
        float(fit.se()["d"]),
        float(fit.pvalue()["d"]),
        float(ci.iloc[0]),
        float(ci.iloc[1]),
    )


def _did_placebo_date(
    f: pd.DataFrame, start_t: int, alpha: float, hib: bool, covariates: tuple[str, ...] = ()
) -> Diagnostic:
    """Run the block DiD on pre-period rows, as if the program started ``h`` periods early.

    ``h`` is a third of the pre-period: a test of parallel pre-trends, so it is required.
    """
    pre = f[f["t"] < start_t]
    times = sorted(pre["t"].unique())
    h = max(1, len(times) // 3)
    if len(times) - h < 2:
        return Diagnostic(
            name="placebo_date",
            passed=None,
            required=True,
            note=f"only {len(times)} pre-period(s): too few for a placebo start date",
        )
    fake = times[len(times) - h]
    pre = pre.assign(d=((pre["treated"] == 1) & (pre["t"] >= fake)).astype(int))
    e = _did(pre, alpha, hib, covariates)
    ok = bool(e.p_value > alpha)
    return Diagnostic(
        name="placebo_date",
        passed=ok,
        statistic=float(e.estimate / e.se) if e.se > 0 else None,
        p_value=float(e.p_value),
        value=float(e.estimate),
        required=True,
        note=(
            f"DiD on pre-period data only, pretending the program started {h} period(s) early: "
            + (
                "no 'effect', so treated and comparison units trended alike before"
                if ok
                else f"an 'effect' of {e.estimate:.4g} (p = {e.p_value:.3g}): the groups were "
                "already diverging, parallel trends are in doubt"
            )
        ),
    )


def _synth(
    f: pd.DataFrame, treated: list[str], start_t: int, alpha: float, seed: int, hib: bool
) -> Effect:
    from salesinsight.causal import synthetic_control

    eff = synthetic_control(
        f,
        outcome="y",
        unit="unit_id",
        time="t",
        treated=treated,
        treatment_time=start_t,
        alpha=alpha,
        seed=seed,
        higher_is_better=hib,
    )
    eff = _rename(eff, "placebo_time", "placebo_date")
    return _rename(eff, "leave_one_out", "leave_one_donor_out")


def single_rollout(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
    unit: str,
    exposure: pd.DataFrame | None = None,
) -> DesignRun:
    """Compare treated units with never-enrolled ones.

    Block DiD clustered by unit when there are at least ``MIN_DID_UNITS`` treated and untreated
    units, synthetic control otherwise; the other design alongside (synthetic control only for
    team programs).

    ``exposure``: per ``unit_id`` and ``t``, other programs' exposure (``exposure_<id>`` columns,
    see ``panel._other_exposure``), adjusted for as time-varying covariates in the DiD.
    """
    f, _ = _design_panel(frame, num, den, starts, window)
    covs: tuple[str, ...] = ()
    if exposure is not None:
        covs = tuple(c for c in exposure.columns if c.startswith("exposure_"))
        f = f.merge(exposure, on=["unit_id", "t"], how="left", validate="one_to_one")
        f[list(covs)] = f[list(covs)].fillna(0.0)
    treated, controls = _counts(f)
    start_t = int(f.loc[f["treated"] == 1, "cohort"].min())
    if not controls:
        raise _NoData("no never-enrolled unit is active throughout the window")
    use_did = len(treated) >= MIN_DID_UNITS and len(controls) >= MIN_DID_UNITS
    did = _did(f, alpha, hib, covs)
    did = _add(did, _did_placebo_date(f, start_t, alpha, hib, covs))
    sc = None
    if len(controls) >= 2 and (unit == "team" or not use_did):
        sc = _synth(f, treated, start_t, alpha, seed, hib)
    if use_did:
        return DesignRun(did, {"synthetic_control": sc} if sc is not None else {})
    if sc is None:
        raise _NoData(f"{len(controls)} never-enrolled unit(s): synthetic control needs 2 donors")
    return DesignRun(sc, {"did": did})


def company_wide(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> DesignRun:
    """Estimate the effect when every unit is treated at once (no comparison group).

    Structural time series counterfactual (:func:`salesinsight.causal.impact`) of the
    company-level ratio of sums.
    """
    from salesinsight.causal import impact

    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)]
    agg = f.groupby("t")[["_num", "_den"]].sum().sort_index()
    empty = agg.index[agg["_den"] <= 0]
    if len(empty):
        raise _NoData(f"the company-level denominator is zero in period(s) {list(empty[:5])}")
    series = agg["_num"] / agg["_den"]
    start_t = int(starts.loc[starts["arm"] == "treatment", "cohort"].min())
    eff = impact(series, intervention=start_t, alpha=alpha, seed=seed, higher_is_better=hib)
    return DesignRun(_rename(eff, "placebo_time", "placebo_date"))
