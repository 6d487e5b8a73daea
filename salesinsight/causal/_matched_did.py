"""Pre-period-matched difference-in-differences for programs that select on past performance.

The "coach the low performers" trap: reps enrolled because of a bad recent stretch improve
afterwards whether or not the program works (regression to the mean), so before/after and
treated-vs-untreated DiD comparisons credit the program with the rebound. Matching each treated
unit to untreated units with the same recent *trajectory* of the outcome gives comparison units
that had the same bad stretch and therefore the same expected rebound.

Method:

1. features = the outcome in each of the ``match_periods`` last pre-periods (standardised by the
   pooled sd of each period), plus optional time-invariant covariates;
2. each treated unit is matched to its ``n_neighbors`` nearest untreated units (Euclidean distance
   on the standardised features, with replacement, optional caliper in sd units); a control's
   weight is the sum over the treated units it serves of ``1 / n_neighbors``;
3. per unit, ``d_i = mean(post outcome) - mean(outcome over the match periods)``;
   ``ATT = mean_treated(d) - weighted mean_controls(d)``; with ``bias_correction`` (default) the
   ``d_i`` are first residualised on the matching features by OLS fitted on the untreated units
   (Abadie & Imbens 2011), which removes the bias left by imperfect matches;
4. standard error clustered by unit (each unit is one cluster: the unit-level differences are
   independent across units), weights treated as fixed, with the small-sample factor G/(G-1).

Naive comparisons (before/after on the treated, post-period treated vs untreated, DiD against all
untreated; "before" = the match window, as for the matched DiD) are returned in
``extras["naive"]`` to show the bias the matching removes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal._balance import (
    ADJUSTED_BALANCE_THRESHOLD,
    BALANCE_THRESHOLD,
    check_frame,
    raise_problems,
    smd,
)
from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.inference import normal_interval, wald_p_value

__all__ = ["matched_did"]


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def _diff_se(xt: np.ndarray, xc: np.ndarray, wc: np.ndarray | None = None) -> tuple[float, float]:
    """Weighted difference of means and its unit-clustered SE (weights fixed, G/(G-1) factor)."""
    wc = np.ones(xc.size) if wc is None else wc
    om = wc / wc.sum()
    mt, mc = float(xt.mean()), float(np.sum(om * xc))
    var = np.sum((xt - mt) ** 2) / xt.size**2 + np.sum(om**2 * (xc - mc) ** 2)
    g = xt.size + int(np.sum(wc > 0))
    var *= g / max(g - 1, 1)
    return mt - mc, float(np.sqrt(var))


def _row(name: str, est: float, se: float, alpha: float, note: str) -> dict[str, Any]:
    lo, hi = normal_interval(est, se, alpha=alpha)
    p = wald_p_value(est, se)
    return {
        "comparison": name,
        "estimate": est,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p,
        "note": note,
    }


def matched_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    treatment_time: Any,
    match_periods: int | Sequence[Any] = 4,
    n_neighbors: int = 5,
    covariates: Sequence[str] | None = None,
    caliper: float | None = None,
    bias_correction: bool = True,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Difference-in-differences against controls matched on their pre-period trajectory.

    Parameters
    ----------
    df : DataFrame
        Long panel, one row per ``unit`` and ``time``.
    outcome, unit, time : str
        Column names.
    treated : str
        0/1 column, constant within unit (1 = enrolled in the program).
    treatment_time : same type as ``time``
        First period of the program (common to all treated units).
    match_periods : int or sequence of times, default 4
        The last ``k`` pre-periods, or explicit pre-period times, whose outcomes are matched on;
        they also form the "before" window of the DiD.
    n_neighbors : int, default 5
        Controls per treated unit (with replacement).
    covariates : list of str, optional
        Time-invariant unit covariates (first value per unit) added to the matching features.
    caliper : float, optional
        Treated units whose nearest control is farther than ``caliper`` (standardised distance
        per feature, i.e. distance / sqrt(n_features)) are dropped and counted.
    bias_correction : bool, default True
        Abadie-Imbens (2011) regression bias correction: the unit-level changes are residualised
        on the matching features (OLS fitted on the untreated units) before the comparison,
        removing the bias from the remaining difference between treated units and their
        matches.
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ATT on the outcome per period; ``terms`` per-period differences relative to the match
        window (pre-periods show the fit, post-periods the effect path); ``extras``: ``naive``
        (DataFrame), ``matches`` (treated -> control pairs), ``weights`` (control weights),
        ``balance`` (SMD per matching feature), ``n_dropped``.
    """
    covariates = list(covariates or [])
    times, pre_times, post_times, win = _validate(
        df,
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        treatment_time=treatment_time,
        match_periods=match_periods,
        n_neighbors=n_neighbors,
        covariates=covariates,
    )
    panel = _prepare(
        df, outcome, unit, time, treated, covariates, times, win, post_times, n_neighbors
    )
    m = _match(panel, n_neighbors=n_neighbors, caliper=caliper)
    adjust = _adjuster(panel, bias_correction)
    dd = adjust(np.nanmean(panel.Y[:, panel.post_idx], axis=1) - panel.pre_mean)
    est, se = _diff_se(dd[m.tr_k], dd[panel.co][m.used_c], m.w_c[m.used_c])
    terms = _terms(panel, m, adjust, times, treatment_time, alpha)
    naive = _naive(panel, alpha)
    balance = _balance(panel, m)
    diagnostics = [_balance_diagnostic(balance, bias_correction)]
    placebo = _placebo_pre(panel, m, pre_times, win, alpha)
    if placebo is not None:
        diagnostics.append(placebo)
    spec = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated": treated,
        "treatment_time": treatment_time,
        "match_periods": win,
        "n_neighbors": n_neighbors,
        "covariates": covariates,
        "caliper": caliper,
        "bias_correction": bias_correction,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "ci_level": 1.0 - alpha,
        "inference": "unit-clustered SE of the weighted difference in unit-level changes",
        "notes": list(NOTES),
        "versions": library_versions(),
    }
    return _assemble(panel, m, est, se, alpha, outcome, spec, diagnostics, terms, naive, balance)


NOTES = (
    "Matched DiD assumes that, given the same recent outcome trajectory (and covariates), "
    "enrolled and non-enrolled units would have evolved alike without the program.",
    "The standard error treats the matching weights as fixed (clustered by unit).",
)


@dataclass(frozen=True)
class _Panel:
    """Units with complete match-window and post data, in wide form (prepare step)."""

    units: np.ndarray  # unit labels, one per row of Y
    Y: np.ndarray  # (units, times) outcome
    feats: pd.DataFrame  # matching features per usable unit
    F: np.ndarray  # features as floats
    Fs: np.ndarray  # features standardised by the pooled sd
    tr: np.ndarray  # rows of treated units
    co: np.ndarray  # rows of untreated units
    col: dict[Any, int]  # time -> column of Y
    win_idx: list[int]
    post_idx: list[int]
    pre_mean: np.ndarray  # outcome mean over the match window
    n_unusable: dict[str, int]


@dataclass(frozen=True)
class _Matches:
    """Nearest-neighbour matches and the resulting control weights (fit step)."""

    nn: np.ndarray  # (treated, n_neighbors) indices into co
    keep_t: np.ndarray  # treated units inside the caliper
    tr_k: np.ndarray  # rows of kept treated units
    w_c: np.ndarray  # weight of each untreated unit
    used_c: np.ndarray  # untreated units with a positive weight


def _validate(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    treatment_time: Any,
    match_periods: int | Sequence[Any],
    n_neighbors: int,
    covariates: list[str],
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Check the inputs (all problems at once); return all, pre, post and match-window times."""
    problems = check_frame(
        df,
        func="matched_did",
        columns=[outcome, unit, time, treated, *covariates],
        numeric=[outcome, treated, *covariates],
        no_missing=[unit, time, treated, *covariates],
    )
    if n_neighbors < 1:
        problems.append(f"matched_did: n_neighbors must be >= 1, got {n_neighbors}")
    raise_problems(problems)
    dup = df.duplicated([unit, time], keep=False).to_numpy()
    if dup.any():
        problems.append(
            f"matched_did: table `df` has {int(dup.sum())} rows with a repeated ({unit!r}, "
            f"{time!r}) pair, e.g. rows {list(df.index[dup][:5])}"
        )
    per_unit = df.groupby(unit, sort=True)[treated].agg(["min", "max"])
    varying = per_unit.index[per_unit["min"] != per_unit["max"]]
    if len(varying):
        problems.append(
            f"matched_did: column {treated!r} must be constant within unit; it varies for "
            f"{len(varying)} unit(s), e.g. {list(varying[:5])}"
        )
    bad_t = ~df[treated].isin([0, 1, True, False])
    if bad_t.any():
        problems.append(
            f"matched_did: column {treated!r} must be 0/1; rows {list(df.index[bad_t][:5])} "
            f"have {list(df.loc[bad_t, treated][:5])}"
        )
    times = list(pd.Index(pd.unique(df[time])).sort_values())
    pre_times = [t for t in times if t < treatment_time]
    post_times = [t for t in times if t >= treatment_time]
    if isinstance(match_periods, int):
        win = pre_times[-match_periods:] if match_periods > 0 else []
    else:
        win = list(match_periods)
        outside = [t for t in win if t not in set(pre_times)]
        if outside:
            problems.append(f"matched_did: match_periods has non-pre-period times {outside[:5]}")
    if not win or not post_times:
        problems.append(
            f"matched_did: need at least one match period before {treatment_time!r} and one "
            f"post period; got {len(win)} and {len(post_times)}"
        )
    raise_problems(problems)
    return times, pre_times, post_times, win


def _prepare(
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    covariates: list[str],
    times: list[Any],
    win: list[Any],
    post_times: list[Any],
    n_neighbors: int,
) -> _Panel:
    """Pivot to units x times, build the matching features, keep units with complete data."""
    wide = df.pivot(index=unit, columns=time, values=outcome).reindex(columns=times)
    d_unit = df.groupby(unit, sort=True)[treated].first().astype(float).reindex(wide.index)
    feats = wide[win].copy()
    feats.columns = [f"{outcome}@{t}" for t in win]
    if covariates:
        cov = df.groupby(unit, sort=True)[covariates].first().reindex(wide.index)
        feats = pd.concat([feats, cov], axis=1)
    post_mean = wide[post_times].mean(axis=1)
    usable = feats.notna().all(axis=1) & post_mean.notna()
    n_unusable = {
        "treated": int(np.sum(~usable & (d_unit == 1))),
        "control": int(np.sum(~usable & (d_unit == 0))),
    }
    feats, d_u, wide_u = feats[usable], d_unit[usable], wide[usable]
    tr, co = np.flatnonzero(d_u.to_numpy() == 1), np.flatnonzero(d_u.to_numpy() == 0)
    if tr.size < 2 or co.size < n_neighbors:
        raise ValueError(
            f"matched_did: {tr.size} treated and {co.size} untreated units with complete match "
            f"periods and post data; need >= 2 treated and >= n_neighbors={n_neighbors} untreated"
        )
    F = feats.to_numpy(dtype=float)
    sd = np.sqrt((F[tr].var(axis=0, ddof=1) + F[co].var(axis=0, ddof=1)) / 2.0)
    sd[~(sd > 0)] = 1.0
    Y = wide_u.to_numpy(dtype=float)
    col = {t: j for j, t in enumerate(times)}
    win_idx = [col[t] for t in win]
    return _Panel(
        units=wide_u.index.to_numpy(),
        Y=Y,
        feats=feats,
        F=F,
        Fs=F / sd,
        tr=tr,
        co=co,
        col=col,
        win_idx=win_idx,
        post_idx=[col[t] for t in post_times],
        pre_mean=np.nanmean(Y[:, win_idx], axis=1),
        n_unusable=n_unusable,
    )


def _match(panel: _Panel, *, n_neighbors: int, caliper: float | None) -> _Matches:
    """Match each treated unit to its nearest untreated units; drop those outside the caliper."""
    tr, co, Fs = panel.tr, panel.co, panel.Fs
    dist = np.sqrt(((Fs[tr][:, None, :] - Fs[co][None, :, :]) ** 2).sum(axis=2))  # (nt, nc)
    nn = np.argsort(dist, axis=1, kind="stable")[:, :n_neighbors]
    keep_t = np.ones(tr.size, dtype=bool)
    if caliper is not None:
        per_feature = dist[np.arange(tr.size), nn[:, 0]] / np.sqrt(panel.F.shape[1])
        keep_t = per_feature <= caliper
    if keep_t.sum() < 2:
        raise ValueError(f"matched_did: fewer than 2 treated units within caliper {caliper}")
    w_c = np.zeros(co.size)
    for i in np.flatnonzero(keep_t):
        np.add.at(w_c, nn[i], 1.0 / n_neighbors)
    return _Matches(nn=nn, keep_t=keep_t, tr_k=tr[keep_t], w_c=w_c, used_c=w_c > 0)


def _adjuster(panel: _Panel, bias_correction: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Return the residualiser on the matching features (OLS on untreated units), or identity."""
    design = np.column_stack([np.ones(panel.Fs.shape[0]), panel.Fs])
    co = panel.co

    def adjust(v: np.ndarray) -> np.ndarray:
        """Residualise v on the matching features (OLS on untreated units) if bias-correcting."""
        if not bias_correction:
            return v
        ok = np.isfinite(v[co])
        beta = np.linalg.lstsq(design[co][ok], v[co][ok], rcond=None)[0]
        return v - design @ beta

    return adjust


def _terms(
    panel: _Panel,
    m: _Matches,
    adjust: Callable[[np.ndarray], np.ndarray],
    times: list[Any],
    treatment_time: Any,
    alpha: float,
) -> pd.DataFrame:
    """Per-period matched differences relative to the match window."""
    co, used_c, w_c = panel.co, m.used_c, m.w_c
    rows = []
    for t in times:
        v = adjust(panel.Y[:, panel.col[t]] - panel.pre_mean)
        yt, yc = v[m.tr_k], v[co][used_c]
        ok_t, ok_c = np.isfinite(yt), np.isfinite(yc)
        if ok_t.sum() < 2 or ok_c.sum() < 1:
            continue
        e_t, s_t = _diff_se(yt[ok_t], yc[ok_c], w_c[used_c][ok_c])
        lo, hi = normal_interval(e_t, s_t, alpha=alpha)
        rows.append(
            {
                "term": t,
                "estimate": e_t,
                "se": s_t,
                "ci_low": lo,
                "ci_high": hi,
                "period": "post" if t >= treatment_time else "pre",
            }
        )
    return pd.DataFrame(rows)


def _naive(panel: _Panel, alpha: float) -> pd.DataFrame:
    """Naive comparisons (all treated vs all untreated with usable data), same windows."""
    tr, co = panel.tr, panel.co
    pre_all = panel.pre_mean
    post_all = np.nanmean(panel.Y[:, panel.post_idx], axis=1)
    ba = post_all[tr] - pre_all[tr]
    ba_se = float(ba.std(ddof=1) / np.sqrt(ba.size))
    return pd.DataFrame(
        [
            _row(
                "before/after (treated only)",
                float(ba.mean()),
                ba_se,
                alpha,
                "credits the program with any rebound, trend or season",
            ),
            _row(
                "treated vs untreated (post only)",
                *_diff_se(post_all[tr], post_all[co]),
                alpha,
                "compares groups that differed before the program",
            ),
            _row(
                "DiD vs all untreated",
                *_diff_se(post_all[tr] - pre_all[tr], post_all[co] - pre_all[co]),
                alpha,
                "biased by regression to the mean when enrolment follows a bad stretch",
            ),
        ]
    )


def _balance(panel: _Panel, m: _Matches) -> pd.DataFrame:
    """Balance on the matching features before and after matching (SMD per feature)."""
    tr, co, F = panel.tr, panel.co, panel.F
    used_c, w_c = m.used_c, m.w_c
    bal_rows = []
    for k, name in enumerate(panel.feats.columns):
        x = F[:, k]
        before = smd(x[np.r_[tr, co]], np.r_[np.ones(tr.size, bool), np.zeros(co.size, bool)])
        diff = x[m.tr_k].mean() - _wmean(x[co][used_c], w_c[used_c])
        pooled = np.sqrt((x[tr].var(ddof=1) + x[co].var(ddof=1)) / 2.0)
        bal_rows.append(
            {
                "feature": name,
                "mean_treated": float(x[m.tr_k].mean()),
                "mean_matched": _wmean(x[co][used_c], w_c[used_c]),
                "mean_all_untreated": float(x[co].mean()),
                "smd_before": before,
                "smd_after": float(diff / pooled) if pooled > 0 else 0.0,
            }
        )
    return pd.DataFrame(bal_rows)


def _balance_diagnostic(balance: pd.DataFrame, bias_correction: bool) -> Diagnostic:
    """Return the required check: largest |SMD| after matching under the (adjusted) bar."""
    max_after = float(balance["smd_after"].abs().max())
    bar = ADJUSTED_BALANCE_THRESHOLD if bias_correction else BALANCE_THRESHOLD
    return Diagnostic(
        name="balance",
        passed=bool(max_after < bar),
        statistic=max_after,
        value=float(balance["smd_before"].abs().max()),
        required=True,
        note=(
            f"largest |SMD| of the matched pre-period trajectory {max_after:.2f} "
            f"(before matching {balance['smd_before'].abs().max():.2f}; bar {bar}"
            + (", regression-adjusted)" if bias_correction else ")")
        ),
    )


def _placebo_pre(
    panel: _Panel, m: _Matches, pre_times: list[Any], win: list[Any], alpha: float
) -> Diagnostic | None:
    """Placebo DiD between the periods before the match window and the window, if any."""
    earlier = [t for t in pre_times if t < min(win)]
    if not earlier:
        return None
    co = panel.co
    e_idx = [panel.col[t] for t in earlier]
    pl = panel.pre_mean - np.nanmean(panel.Y[:, e_idx], axis=1)
    ok = np.isfinite(pl)
    tk = m.tr_k[ok[m.tr_k]]
    cmask = m.used_c & ok[co]
    if not (tk.size >= 2 and cmask.sum() >= 1):
        return None
    pe, ps = _diff_se(pl[tk], pl[co][cmask], m.w_c[cmask])
    pp = wald_p_value(pe, ps)
    return Diagnostic(
        name="placebo_pre",
        passed=bool(pp > alpha),
        statistic=float(pe / ps) if ps > 0 else None,
        p_value=pp,
        value=pe,
        required=False,
        note=(
            "placebo DiD between the periods before the match window and the match "
            "window: "
            + (
                "no difference, as it should be"
                if pp > alpha
                else "the matched groups already diverged before the program"
            )
        ),
    )


def _assemble(
    panel: _Panel,
    m: _Matches,
    est: float,
    se: float,
    alpha: float,
    outcome: str,
    spec: dict[str, Any],
    diagnostics: list[Diagnostic],
    terms: pd.DataFrame,
    naive: pd.DataFrame,
    balance: pd.DataFrame,
) -> Effect:
    """Build the :class:`Effect` with the matches, weights and drop counts in ``extras``."""
    tr, co, units_arr = panel.tr, panel.co, panel.units
    ci_low, ci_high = normal_interval(est, se, alpha=alpha)
    matches = pd.DataFrame(
        [
            {"treated_unit": units_arr[tr[i]], "control_unit": units_arr[co[j]], "rank": r + 1}
            for i in np.flatnonzero(m.keep_t)
            for r, j in enumerate(m.nn[i])
        ]
    )
    cols = panel.win_idx + panel.post_idx
    n_obs = int(np.isfinite(panel.Y[np.r_[m.tr_k, co[m.used_c]]][:, cols]).sum())
    return Effect(
        estimate=est,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=wald_p_value(est, se),
        n_units=int(m.tr_k.size + m.used_c.sum()),
        n_obs=n_obs,
        method="matched difference-in-differences",
        outcome=outcome,
        spec=spec,
        diagnostics=tuple(diagnostics),
        baseline=float(np.nanmean(panel.Y[m.tr_k][:, panel.post_idx]) - est),
        higher_is_better=spec["higher_is_better"],
        terms=terms,
        extras={
            "naive": naive,
            "matches": matches,
            "weights": pd.Series(m.w_c[m.used_c], index=units_arr[co][m.used_c], name="weight"),
            "balance": balance,
            "n_dropped": {
                "treated_incomplete": panel.n_unusable["treated"],
                "control_incomplete": panel.n_unusable["control"],
                "treated_outside_caliper": int((~m.keep_t).sum()),
            },
            "notes": list(NOTES),
        },
    )
