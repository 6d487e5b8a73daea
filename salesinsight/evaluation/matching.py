"""Matched DiD and AIPW, shown beside the observational designs for contrast.

Matched DiD on the pre-period outcome trajectory and the selection variables, and AIPW on
pre-period covariates. They condition on noisy pre-period levels and share one identifying
assumption, so they never carry a verdict (Daw & Hatfield 2018). Other programs' exposure enters
as its change between the matching periods and the post-period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.evaluation.checks import _e_value_diag
from salesinsight.evaluation.comparison import _selection_covariates
from salesinsight.evaluation.design_run import _add

__all__ = ["MATCHED_BALANCE_SMD"]


def _match_periods(n_pre: int) -> int:
    """Return the pre-periods matched on: up to 6 (two quarters of months).

    At least 2 earlier ones are left for the placebo checks when the pre-period allows.
    """
    return max(1, min(6, n_pre - 2)) if n_pre >= 3 else n_pre


#: time-invariant unit covariates of the observational designs (from ``_design_panel``): quota and
#: attainment in the two quarters before the start, what managers select rep programs on
_SELECTION_COVARIATES = ("pre_quota", "pre_attainment_1", "pre_attainment_2")


def _with_exposure_change(f: pd.DataFrame, start_t: int) -> tuple[pd.DataFrame, list[str]]:
    """Add per unit ``change_exposure_<id>`` for every ``exposure_<id>`` column.

    The mean exposure to another program in the post-period minus its mean over the matching
    periods (the DiD's "before" window). A program that started in between (coaching randomized
    by team before a rep program) moves the unit's outcome change by its effect times this change,
    and selection on recent attainment correlates with it (coached reps reached quota more often
    and were less often picked for mentoring).
    """
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
    """Check the balance the matched DiD's assumption needs (required).

    The outcome's level and trend over the matching periods, the selection variables (attainment
    in the two quarters before the start, quota) and the change in other programs' exposure.

    A feature fails when its standardized difference (treated minus matched controls, pooled SD of
    all treated and untreated units) exceeds ``MATCHED_BALANCE_SMD`` *and* is beyond chance for
    the matched sample sizes (``|SMD| / se > z`` at ``alpha`` Bonferroni-corrected over the
    features, ``se = sqrt(1 / n_treated + sum(w^2))`` with ``w`` the normalized control weights):
    chance imbalances are what the bias correction adjusts for; a systematic one beyond a quarter
    SD means the treated lie where there are no comparable controls (no overlap) and the linear
    adjustment extrapolates.
    """
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
    """Run the matched DiD on pre-period data with a fake start a third of the pre-period early.

    Informational: enrolment follows the outcome in the last pre-periods (the selection window), so
    a fake post-period inside that window contains the selection dip or peak by construction and
    the check fails even when the design is sound (docs/causal.md).
    """
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
    """Return one row per unit: post-period mean of ``y`` and pre-period covariates.

    The covariates: mean, mean over the matching periods, volume per active period, quota per
    active period.
    """
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
