"""One function per design: the estimators :func:`salesinsight.evaluate.evaluate` runs.

Each takes the unit panel (``frame``, from :mod:`salesinsight.evaluate.panel`), the outcome's
numerator and denominator, the enrolment starts and the analysis window, and returns the primary
:class:`~salesinsight.causal.Effect` plus the designs run alongside (see ``docs/causal.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluate.panel import _in_window, _linearized, _NoData

__all__ = ["DesignRun"]

#: a single rollout uses (team-clustered) DiD as its primary design from this many treated *and*
#: this many untreated units on; with fewer treated units synthetic control is primary.
MIN_DID_UNITS = 5


@dataclass(frozen=True)
class DesignRun:
    """Primary effect of one outcome, the designs run alongside and the event study (if any)."""

    primary: Effect
    alternatives: Mapping[str, Effect] = field(default_factory=dict)
    dynamic: Effect | None = None


# ---------------------------------------------------------------------- randomized
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


# ---------------------------------------------------------------------- staggered
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


def _staggered_placebo_date(eff: Effect) -> Diagnostic | None:
    """The pre-trend test *is* the placebo-date test of staggered DiD: every pre-period event time
    is a fake start. Mirrored under the common name, informational (the required check is
    ``pre_trends``, counted once)."""
    pre = next((d for d in eff.diagnostics if d.name == "pre_trends"), None)
    if pre is None:
        return None
    return Diagnostic(
        name="placebo_date",
        passed=pre.passed,
        statistic=pre.statistic,
        p_value=pre.p_value,
        required=False,
        note="same test as pre_trends: each pre-period event time is a fake start date, and "
        "their effects are jointly zero" + ("" if pre.passed is not False else " — rejected"),
    )


# ---------------------------------------------------------------------- panels for rollouts
def _design_panel(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    exclude: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, float]:
    """Window rows of units present (exposure > 0) in every period: linearized ``y``, ``cohort``
    (0 = never enrolled), ``treated`` (0/1) and ``d`` (treated and on/after its start).

    ``exclude``: untreated units dropped from the comparison group (enrolled in another program).
    """
    f = frame.assign(_num=num, _den=den)
    f = f[_in_window(f, window)].copy()
    coh = starts[starts["arm"] == "treatment"].set_index("unit_id")["cohort"]
    f["cohort"] = f["unit_id"].map(coh).fillna(0).astype(int)
    n_t = f["t"].nunique()
    g = f.groupby("unit_id")
    present = (g["_exposure"].min() > 0) & (g["t"].nunique() == n_t)
    keep = present[present].index
    keep = [u for u in keep if u in coh.index or u not in exclude]
    f = f[f["unit_id"].isin(keep)].copy()
    if f.empty or (f["cohort"] > 0).sum() == 0:
        raise _NoData("no enrolled unit is active throughout the analysis window")
    y, r = _linearized(f, f["_num"], f["_den"], f["cohort"])
    f["y"] = y
    f["treated"] = (f["cohort"] > 0).astype(int)
    f["d"] = ((f["cohort"] > 0) & (f["t"] >= f["cohort"])).astype(int)
    start_t = int(f.loc[f["treated"] == 1, "cohort"].min())
    return _selection_covariates(f.reset_index(drop=True), start_t), r


def _selection_covariates(f: pd.DataFrame, start_t: int) -> pd.DataFrame:
    """Per-unit covariates of the observational designs, measured before ``start_t``:
    ``pre_quota`` (quota per active period) and ``pre_attainment_1`` / ``_2`` (revenue / quota,
    ratio of sums, in the last and second-last quarter before the start)."""
    f = f.copy()
    # pre-period quota per active period (targets are set from territory): a time-invariant
    # covariate for the observational designs, which select on attainment = revenue / quota
    pre = f[f["t"] < start_t]
    if "quota" in f.columns and len(pre):
        g = pre.groupby("unit_id")
        q = g["quota"].sum() / g["_exposure"].sum()
        f["pre_quota"] = f["unit_id"].map(q).fillna(0.0).astype(float)
    else:
        f["pre_quota"] = 0.0
    # attainment (revenue / quota, ratio of sums) in the last and the second-last quarter before
    # the start: what managers select rep programs on (docs/causal.md)
    for k, (a, b) in enumerate(_attainment_windows(f, start_t), start=1):
        col = f"pre_attainment_{k}"
        if {"revenue", "quota"} <= set(f.columns):
            w = f[(f["t"] >= a) & (f["t"] < b)].groupby("unit_id")[["revenue", "quota"]].sum()
            att = w["revenue"] / w["quota"].where(w["quota"] > 0)
            pooled = float(w["revenue"].sum() / w["quota"].sum()) if w["quota"].sum() > 0 else 0.0
            f[col] = f["unit_id"].map(att).fillna(pooled).astype(float)
        else:
            f[col] = 0.0
    return f


def _attainment_windows(frame: pd.DataFrame, start_t: int) -> list[tuple[int, int]]:
    """Period-index windows ``[a, b)`` of the last two quarters before ``start_t``."""
    n = _periods_per_quarter(frame)
    return [(start_t - n, start_t), (start_t - 2 * n, start_t - n)]


def _periods_per_quarter(frame: pd.DataFrame) -> int:
    step = pd.Series(sorted(frame["period_start"].unique())).diff().dt.days.median()
    if not np.isfinite(step) or step <= 0:
        return 1
    return max(1, int(round(91.0 / float(step))))


def _counts(f: pd.DataFrame) -> tuple[list[str], list[str]]:
    tr = f.groupby("unit_id")["treated"].first()
    return sorted(tr.index[tr == 1]), sorted(tr.index[tr == 0])


def _rename(eff: Effect, old: str, new: str) -> Effect:
    diags = tuple(dataclasses.replace(d, name=new) if d.name == old else d for d in eff.diagnostics)
    return dataclasses.replace(eff, diagnostics=diags)


def _add(eff: Effect, *diags: Diagnostic | None) -> Effect:
    extra = tuple(d for d in diags if d is not None)
    return dataclasses.replace(eff, diagnostics=(*eff.diagnostics, *extra))


# ---------------------------------------------------------------------- single rollout
def _did(f: pd.DataFrame, alpha: float, hib: bool, covariates: tuple[str, ...] = ()) -> Effect:
    """Block DiD ``y ~ d [+ covariates] | unit + period``, CR1 clustered by unit (the unit of
    assignment), ``t(G - 1)``. ``covariates``: time-varying exposure to other programs."""
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
    """Block DiD on pre-period rows only, pretending the program started ``h`` periods early
    (``h`` = a third of the pre-period): a test of parallel pre-trends, so it is required."""
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
    """Treated units vs never-enrolled ones: block DiD clustered by unit when there are at least
    ``MIN_DID_UNITS`` treated and untreated units, synthetic control otherwise; the other design
    alongside (synthetic control only for team programs).

    ``exposure``: per ``unit_id`` and ``t``, other programs' exposure (``exposure_<id>`` columns,
    see ``panel._other_exposure``), adjusted for as time-varying covariates in the DiD."""
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
    """Every unit treated at once, no comparison group: structural time series counterfactual
    (:func:`salesinsight.causal.impact`) of the company-level ratio of sums."""
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


# ---------------------------------------------------------------------- observational
def _e_value_diag(eff: Effect, sd: float) -> Diagnostic:
    """E-value (VanderWeele & Ding 2017) of an observational estimate, informational."""
    from salesinsight.causal import e_value

    if not (np.isfinite(sd) and sd > 0 and np.isfinite(eff.ci_low) and np.isfinite(eff.ci_high)):
        return Diagnostic("e_value", None, required=False, note="E-value not computable")
    ev = e_value(eff.estimate, eff.ci_low, eff.ci_high, sd=sd)
    return Diagnostic(
        name="e_value",
        passed=None,
        statistic=ev["e_value_ci"],
        value=ev["e_value"],
        required=False,
        note=(
            f"an unmeasured confounder tied to both enrolment and the outcome by a risk ratio of "
            f"{ev['e_value']:.2f} each could explain the estimate away ({ev['e_value_ci']:.2f} to "
            "move the interval to zero); d = estimate / sd of the unit-level outcome, "
            "RR = exp(0.91 d)"
        ),
    )


def _match_periods(n_pre: int) -> int:
    """Pre-periods matched on: up to 6 (two quarters of months), leaving at least 2 earlier ones
    for the placebo checks when the pre-period allows."""
    return max(1, min(6, n_pre - 2)) if n_pre >= 3 else n_pre


#: time-invariant unit covariates of the observational designs (from ``_design_panel``): quota and
#: attainment in the two quarters before the start, what managers select rep programs on
_SELECTION_COVARIATES = ("pre_quota", "pre_attainment_1", "pre_attainment_2")


def _with_exposure_change(f: pd.DataFrame, start_t: int) -> tuple[pd.DataFrame, list[str]]:
    """Add per unit ``change_exposure_<id>``: mean exposure to another program in the post-period
    minus its mean over the matching periods (the DiD's "before" window), for every
    ``exposure_<id>`` column. A program that started in between (coaching randomized by team
    before a rep program) moves the unit's outcome change by its effect times this change, and
    selection on recent attainment correlates with it (coached reps reached quota more often and
    were less often picked for mentoring)."""
    cols = [c for c in f.columns if c.startswith("exposure_")]
    if not cols:
        return f, []
    times = sorted(f.loc[f["t"] < start_t, "t"].unique())
    win = times[-_match_periods(len(times)) :]
    post = f[f["t"] >= start_t].groupby("unit_id")[cols].mean()
    before = f[f["t"].isin(win)].groupby("unit_id")[cols].mean()
    change = (post - before).fillna(0.0)
    change.columns = [f"change_{c}" for c in cols]
    out = f.drop(columns=[c for c in change.columns if c in f.columns]).merge(
        change, left_on="unit_id", right_index=True, how="left"
    )
    return out, list(change.columns)


def _unit_covariates(f: pd.DataFrame, extra: list[str]) -> list[str]:
    per_unit = f.groupby("unit_id")[[c for c in (*_SELECTION_COVARIATES, *extra) if c in f]].first()
    return [c for c in per_unit.columns if per_unit[c].std() > 1e-12]


def _matched(f: pd.DataFrame, start_t: int, alpha: float, hib: bool) -> Effect:
    from salesinsight.causal import matched_did

    n_pre = int(f.loc[f["t"] < start_t, "t"].nunique())
    f, change = _with_exposure_change(f, start_t)
    covs = _unit_covariates(f, change)
    eff = matched_did(
        f,
        outcome="y",
        unit="unit_id",
        time="t",
        treated="treated",
        treatment_time=start_t,
        match_periods=_match_periods(n_pre),
        covariates=covs or None,
        alpha=alpha,
        higher_is_better=hib,
    )
    return eff


#: regression-adjusted (bias-corrected) matching tolerates baseline differences up to a quarter of a
#: standard deviation (Rubin 2001; Stuart 2010; What Works Clearinghouse: 0.05-0.25 SD must be
#: adjusted for, above 0.25 SD adjustment is not trusted)
MATCHED_BALANCE_SMD = 0.25


def _matched_balance(f: pd.DataFrame, eff: Effect, start_t: int, alpha: float) -> Diagnostic:
    """Required balance check of the matched DiD on what its assumption needs: the outcome's level
    and trend over the matching periods, the selection variables (attainment in the two quarters
    before the start, quota) and the change in other programs' exposure.

    A feature fails when its standardized difference (treated minus matched controls, pooled SD of
    all treated and untreated units) exceeds ``MATCHED_BALANCE_SMD`` *and* is beyond chance for
    the matched sample sizes (``|SMD| / se > z`` at ``alpha`` Bonferroni-corrected over the
    features, ``se = sqrt(1 / n_treated + sum(w^2))`` with ``w`` the normalized control weights):
    chance imbalances are what the bias correction adjusts for; a systematic one beyond a quarter
    SD means the treated lie where there are no comparable controls (no overlap) and the linear
    adjustment extrapolates."""
    from scipy import stats

    f, change = _with_exposure_change(f, start_t)
    times = sorted(f.loc[f["t"] < start_t, "t"].unique())
    win = times[-_match_periods(len(times)) :]
    half = len(win) // 2
    g = f[f["t"].isin(win)].groupby("unit_id")
    feats = pd.DataFrame({"outcome level (matching periods)": g["y"].mean()})
    if half >= 1:
        late = f[f["t"].isin(win[half:])].groupby("unit_id")["y"].mean()
        early = f[f["t"].isin(win[:half])].groupby("unit_id")["y"].mean()
        feats["outcome trend (matching periods)"] = late - early
    covs = _unit_covariates(f, change)
    feats = feats.join(f.groupby("unit_id")[covs].first())
    tr_units = feats.index.isin(f.loc[f["treated"] == 1, "unit_id"].unique())
    matches, weights = eff.extras.get("matches"), eff.extras.get("weights")
    if matches is None or weights is None or len(weights) == 0:
        return Diagnostic("balance", None, required=True, note="no matches to check")
    used_t = pd.Index(matches["treated_unit"].unique())
    om = weights / weights.sum()
    se = float(np.sqrt(1.0 / len(used_t) + float((om**2).sum())))
    z = float(stats.norm.ppf(1 - alpha / (2 * feats.shape[1])))
    rows = []
    for c in feats.columns:
        x = feats[c]
        pooled = np.sqrt((x[tr_units].var(ddof=1) + x[~tr_units].var(ddof=1)) / 2.0)
        diff = x.reindex(used_t).mean() - float((x.reindex(om.index) * om).sum())
        smd = float(diff / pooled) if pooled > 0 else 0.0
        rows.append((c, smd, abs(smd) > MATCHED_BALANCE_SMD and abs(smd) / se > z))
    bad = [r for r in rows if r[2]]
    worst = max(rows, key=lambda r: abs(r[1]))
    return Diagnostic(
        name="balance",
        passed=not bad,
        statistic=float(abs(worst[1])),
        value=se,
        required=True,
        note=(
            "standardized differences after matching: "
            + ", ".join(f"{c} {v:+.2f}" for c, v, _ in rows)
            + f" (chance level se {se:.2f}); "
            + (
                "none is both above 0.25 SD and beyond chance"
                if not bad
                else "beyond 0.25 SD and chance: "
                + ", ".join(c for c, _, _ in bad)
                + " — the enrolled units have no comparable controls"
            )
        ),
    )


def _matched_placebo_date(f: pd.DataFrame, start_t: int, alpha: float, hib: bool) -> Diagnostic:
    """Matched DiD on pre-period data with a fake start a third of the pre-period early.

    Informational: enrolment follows the outcome in the last pre-periods (the selection window), so
    a fake post-period inside that window contains the selection dip or peak by construction and
    the check fails even when the design is sound (docs/causal.md)."""
    pre = f[f["t"] < start_t]
    times = sorted(pre["t"].unique())
    h = max(1, len(times) // 3)
    if len(times) - h < 2:
        return Diagnostic(
            "placebo_date", None, required=False, note="pre-period too short for a fake start"
        )
    fake = times[len(times) - h]
    pre = _selection_covariates(pre, fake)  # selection variables before the fake start
    try:
        e = _matched(pre, fake, alpha, hib)
    except ValueError as exc:
        return Diagnostic("placebo_date", None, required=False, note=f"not computable: {exc}")
    ok = bool(e.p_value > alpha)
    return Diagnostic(
        name="placebo_date",
        passed=ok,
        p_value=float(e.p_value),
        value=float(e.estimate),
        required=False,
        note=(
            f"matched DiD pretending the program started {h} period(s) early (pre-period data "
            "only): "
            + ("no 'effect'" if ok else f"an 'effect' of {e.estimate:.4g} (p = {e.p_value:.3g})")
            + "; informational, because the fake post-period overlaps the window enrolment was "
            "selected on"
        ),
    )


def _aipw_units(f: pd.DataFrame, start_t: int) -> tuple[pd.DataFrame, list[str]]:
    """One row per unit: post-period mean of ``y``, pre-period covariates (mean, mean over the
    matching periods, volume per active period, quota per active period)."""
    pre = f[f["t"] < start_t]
    post = f[f["t"] >= start_t]
    times = sorted(pre["t"].unique())
    last = times[-min(len(times), _match_periods(len(times))) :]
    units = pd.DataFrame(
        {
            "y": post.groupby("unit_id")["y"].mean(),
            "treated": f.groupby("unit_id")["treated"].first(),
            "pre_mean": pre.groupby("unit_id")["y"].mean(),
            "pre_recent": pre[pre["t"].isin(last)].groupby("unit_id")["y"].mean(),
            "pre_volume": pre.groupby("unit_id")["_den"].sum()
            / pre.groupby("unit_id")["_exposure"].sum(),
        }
    ).reset_index()
    f, change = _with_exposure_change(f, start_t)
    # not the attainment covariates: for a program that picks the top (or bottom) few percent by
    # attainment they separate enrolled from other units almost perfectly, the propensity model
    # then has no overlap and AIPW's interval breaks down (docs/validation.md)
    extra = [c for c in _unit_covariates(f, change) if not c.startswith("pre_attainment")]
    units = units.merge(
        f.groupby("unit_id")[extra].first(), left_on="unit_id", right_index=True, how="left"
    )
    return units, ["pre_mean", "pre_recent", "pre_volume", *extra]


def _aipw(units: pd.DataFrame, covs: list[str], alpha: float, seed: int, hib: bool) -> Effect:
    from salesinsight.causal import aipw

    eff = aipw(
        units,
        outcome="y",
        treatment="treated",
        covariates=covs,
        estimand="att",
        seed=seed,
        alpha=alpha,
        higher_is_better=hib,
    )
    sd = float(units.loc[units["treated"] == 0, "y"].std(ddof=1))
    return _add(eff, _e_value_diag(eff, sd))


def observational(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
    exclude: frozenset[str] = frozenset(),
    exposure: pd.DataFrame | None = None,
) -> DesignRun:
    """Matched DiD on the pre-period outcome trajectory, attainment in the two quarters before the
    start and quota (primary: enrolment follows past performance, so the comparison units must
    share the recent trajectory and the selection variable, not just its level) and AIPW on
    pre-period covariates alongside; E-values on both.

    ``exposure``: per ``unit_id`` and ``t``, other programs' exposure (``exposure_<id>``); its
    change between the matching periods and the post-period is matched and adjusted on."""
    f, _ = _design_panel(frame, num, den, starts, window, exclude)
    if exposure is not None:
        cols = [c for c in exposure.columns if c.startswith("exposure_")]
        f = f.merge(exposure, on=["unit_id", "t"], how="left", validate="one_to_one")
        f[cols] = f[cols].fillna(0.0)
    start_t = int(f.loc[f["treated"] == 1, "cohort"].min())
    if f.loc[f["t"] < start_t, "t"].nunique() < 1 or f.loc[f["t"] >= start_t].empty:
        raise _NoData("the window has no pre- or post-period")
    md = _matched(f, start_t, alpha, hib)
    # matched_did's own balance check takes every matching feature (each monthly outcome) against
    # 0.25 SD; with a few dozen enrolled units chance alone exceeds that (docs/validation.md)
    own = next((d for d in md.diagnostics if d.name == "balance"), None)
    diags = [d for d in md.diagnostics if d.name != "balance"]
    if own is not None:
        diags.append(
            dataclasses.replace(
                own,
                name="balance_per_feature",
                required=False,
                note=own.note + "; informational, see 'balance'",
            )
        )
    md = dataclasses.replace(md, diagnostics=(_matched_balance(f, md, start_t, alpha), *diags))
    wide_post = f[(f["t"] >= start_t) & (f["treated"] == 0)].groupby("unit_id")["y"].mean()
    md = _add(
        md,
        _e_value_diag(md, float(wide_post.std(ddof=1))),
        _matched_placebo_date(f, start_t, alpha, hib),
    )
    alts: dict[str, Effect] = {}
    units, covs = _aipw_units(f, start_t)
    try:
        alts["aipw"] = _aipw(units, covs, alpha, seed, hib)
    except ValueError:
        pass  # too few units for cross-fitting: matched DiD alone
    return DesignRun(md, alts)


# ---------------------------------------------------------------------- randomized placebo date
def randomized_placebo_date(
    frame: pd.DataFrame,
    num: pd.Series,
    den: pd.Series,
    starts: pd.DataFrame,
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float,
    seed: int,
    hib: bool,
) -> Diagnostic:
    """The experiment re-run on pre-period data with a fake start a third of the pre-period
    early; under randomization it rejects at rate ``alpha`` (informational: the required check is
    the joint randomization test)."""
    arms = starts[starts["arm"].isin(["treatment", "control"])]
    start_t = int(arms["cohort"].min())
    f = frame[_in_window(frame, window)]
    times = sorted(f.loc[f["t"] < start_t, "t"].unique())
    h = max(1, len(times) // 3)
    if len(times) - h < 1:
        return Diagnostic("placebo_date", None, required=False, note="pre-period too short")
    fake = times[len(times) - h]
    last_pre = f.loc[f["t"] == start_t - 1, "period_start"].iloc[0]
    fake_starts = arms.assign(cohort=fake)
    units = _randomized_units(frame, num, den, fake_starts, (window[0], last_pre))
    try:
        e = _randomized(units, None, alpha, seed, hib)
    except _NoData as exc:
        return Diagnostic("placebo_date", None, required=False, note=f"not computable: {exc}")
    ok = bool(e.p_value > alpha)
    return Diagnostic(
        name="placebo_date",
        passed=ok,
        p_value=float(e.p_value),
        value=float(e.estimate),
        required=False,
        note=f"the experiment on pre-period data, pretending it started {h} period(s) early: "
        + ("no difference between the arms" if ok else f"a difference of {e.estimate:.4g}"),
    )


# ---------------------------------------------------------------------- agreement, placebo outcome
#: alternatives that are separate designs (TWFE beside staggered DiD is the same design's biased
#: estimator, shown for contrast, and is not part of the agreement check)
DESIGN_ROLES = frozenset({"synthetic_control", "did", "aipw", "matched_did", "impact"})


def designs_agree(primary: Effect, alternatives: Mapping[str, Effect], alpha: float) -> Diagnostic:
    """Informational: do the designs run on the same outcome tell the same story?

    Two estimates agree when the z test of their difference, ``(a - b) / sqrt(se_a^2 + se_b^2)``,
    does not reject at ``alpha`` *and* they are not significant in opposite directions. The
    variance ignores the positive correlation of two estimates from the same data, so the test is
    conservative (errs towards "agree"); a disagreement is therefore a real warning.
    """
    from scipy import stats

    parts, verdicts = [], []
    for role, alt in alternatives.items():
        var = primary.se**2 + alt.se**2
        if not (np.isfinite(var) and var > 0 and np.isfinite(alt.estimate)):
            parts.append(f"{role}: not comparable (no finite standard error)")
            verdicts.append(None)
            continue
        z = (primary.estimate - alt.estimate) / np.sqrt(var)
        p = float(2 * stats.norm.sf(abs(z)))
        sig = [
            np.sign(e.estimate) if not (e.ci_low <= 0 <= e.ci_high) else 0 for e in (primary, alt)
        ]
        opposite = sig[0] * sig[1] < 0
        ok = p > alpha and not opposite
        verdicts.append(ok)
        parts.append(
            f"{role} {alt.estimate:.4g} vs {primary.estimate:.4g}: difference "
            f"{primary.estimate - alt.estimate:.4g}, z = {z:.2f}, p = {p:.3g}"
            + (", significant in opposite directions" if opposite else "")
        )
    passed = False if False in verdicts else (None if None in verdicts else True)
    first = next(
        (
            (primary.estimate - a.estimate) / np.sqrt(primary.se**2 + a.se**2)
            for a in alternatives.values()
            if np.isfinite(primary.se**2 + a.se**2) and primary.se**2 + a.se**2 > 0
        ),
        None,
    )
    return Diagnostic(
        name="designs_agree",
        passed=passed,
        statistic=None if first is None else float(first),
        value=None,
        required=False,
        note="; ".join(parts),
    )


def placebo_outcome_diag(eff: Effect | None, reason: str, alpha: float) -> Diagnostic:
    """Informational: the same design on quota per active rep-period, which the program cannot
    change (targets are set by management from territory and season)."""
    if eff is None:
        return Diagnostic("placebo_outcome", None, required=False, note=reason)
    covers = bool(eff.ci_low <= 0 <= eff.ci_high)
    return Diagnostic(
        name="placebo_outcome",
        passed=covers,
        p_value=float(eff.p_value) if np.isfinite(eff.p_value) else None,
        value=float(eff.estimate),
        required=False,
        note=(
            "the same design on quota per active rep-period (targets the program cannot change): "
            + (
                "no 'effect', as it should be"
                if covers
                else f"an 'effect' of {eff.estimate:.4g} whose interval excludes 0 — the "
                "comparison group differs in something the program did not cause"
            )
        ),
    )
