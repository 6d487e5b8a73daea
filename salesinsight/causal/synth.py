"""Synthetic control for one or a few treated units (a team, a region) with placebo inference.

Method (Abadie & Gardeazabal 2003; Abadie, Diamond & Hainmueller 2010, 2015):

* donor weights ``W`` on the simplex minimise ``(X1 - X0 W)' V (X1 - X0 W)`` over predictors
  ``X`` (each predictor row scaled by its standard deviation across treated + donors);
* the diagonal predictor weights ``V`` minimise the mean squared pre-period outcome gap over the fit
  window (nested optimisation, Nelder-Mead then Powell from two deterministic starts: equal weights
  and the regression-based start of R ``Synth``);
* with ``predictors=None`` the predictors are the pre-period outcomes themselves and ``V = I``
  (one quadratic programme);
* ridge-augmented SC (Ben-Michael, Feller & Rothstein 2021) corrects the remaining pre-period
  imbalance with a ridge regression of the donors' outcomes on their pre-period outcomes; the
  implied weights may be negative; the ridge penalty is chosen by generalized cross-validation.

Inference is by permutation (placebo-in-space): every donor is treated as if it were treated,
refitted from the other donors, and the ratio of post- to pre-period RMSPE is compared with the
treated unit's. The p-value is ``(1 + #{placebo ratio >= treated ratio}) / (1 + n_placebos)``
(Abadie et al. 2010), so its smallest possible value is ``1 / (1 + n_donors)``: with fewer than
``1/alpha - 1`` donors no test can reject at level ``alpha`` and the interval is infinite. It tests
the sharp null of no effect in any post period.

The interval targets the *average* post-period effect. It inverts a second permutation test whose
statistic is the standardised average gap ``|mean post gap| / pre-RMSPE`` (placebos give its null
distribution); under a constant additive effect ``tau`` the treated unit's weights and all
placebos are unchanged when ``tau`` is subtracted from its post-period outcomes, so the accepted
set is ``estimate ± c * pre-RMSPE`` with ``c`` the critical placebo value. Its p-value is in
``extras["p_value_mean_gap"]``; it can differ from the RMSPE-ratio p-value (e.g. an effect that
changes sign over time moves the ratio, not the average). The verdict uses the interval. ``se`` is
the standard deviation of the placebo estimates rescaled to the treated pre-RMSPE (the spread the
interval is built from). With several treated units the statistics are averaged over treated
units and the placebo distribution uses averages over equally many placebo units.

Weight fitting lives in :mod:`salesinsight.causal.synth_fit`, placebos and intervals in
:mod:`salesinsight.causal.synth_inference`; this module validates input and assembles the
``Effect``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesinsight.causal._balance import check_frame, raise_problems
from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.synth_conformal import conformal_interval
from salesinsight.causal.synth_fit import SynthFit, fit_target, rmspe, simplex_weights
from salesinsight.causal.synth_inference import (
    MIN_SUBSETS,
    leave_one_out,
    leave_one_out_diagnostic,
    placebo_in_space,
    placebo_in_time,
    placebo_time_diagnostic,
)

__all__ = ["PRE_FIT_THRESHOLD", "simplex_weights", "synthetic_control"]

#: the pre-fit diagnostic fails when pre-period RMSPE / sd(treated pre-period outcome) exceeds this
#: (equivalently when the synthetic unit explains less than 75% of the treated unit's pre-period
#: variance, R^2 < 0.75). With several treated units it is computed on their average series (the
#: estimand); per-unit ratios are in ``extras["pre_fit_ratio"]``. ``augmented="auto"`` augments
#: when any single unit's simplex fit exceeds the threshold.
PRE_FIT_THRESHOLD = 0.5

PredictorSpec = str | tuple[str, Sequence[Any]]


# ----------------------------------------------------------------------------- input handling
def _as_list(treated: Any) -> list[Any]:
    if isinstance(treated, list | tuple | set | np.ndarray | pd.Index | pd.Series):
        return list(treated)
    return [treated]


def _predictor_specs(
    predictors: Sequence[PredictorSpec],
    predictor_windows: Mapping[str, Sequence[Any]] | Sequence[Any] | None,
    pre_times: list[Any],
) -> list[tuple[str, list[Any]]]:
    out: list[tuple[str, list[Any]]] = []
    for p in predictors:
        if isinstance(p, tuple):
            col, window = p
            out.append((str(col), list(window)))
            continue
        if isinstance(predictor_windows, Mapping):
            window = predictor_windows.get(p, pre_times)
        elif predictor_windows is not None:
            window = predictor_windows
        else:
            window = pre_times
        out.append((p, list(window)))
    return out


def _predictor_matrix(
    df: pd.DataFrame,
    specs: list[tuple[str, list[Any]]],
    unit: str,
    time: str,
    units: list[Any],
    problems: list[str],
) -> np.ndarray:
    P = np.full((len(specs), len(units)), np.nan)
    for i, (col, window) in enumerate(specs):
        sub = df.loc[df[time].isin(window), [unit, col]]
        means = sub.groupby(unit, sort=False)[col].mean()
        vals = means.reindex(units).to_numpy(dtype=float)
        bad = [u for u, x in zip(units, vals, strict=True) if not np.isfinite(x)]
        if bad:
            problems.append(
                f"synthetic_control: predictor {col!r} has no values in window "
                f"{window[0]}..{window[-1]} for unit(s) {bad[:5]}"
            )
        P[i] = vals
    return P


# ----------------------------------------------------------------------------- public API
def synthetic_control(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: Hashable | Sequence[Hashable],
    treatment_time: Any,
    predictors: Sequence[PredictorSpec] | None = None,
    predictor_windows: Mapping[str, Sequence[Any]] | Sequence[Any] | None = None,
    fit_window: Sequence[Any] | None = None,
    placebo: bool = True,
    augmented: bool | Literal["auto"] = "auto",
    alpha: float = 0.05,
    seed: int = 0,
    higher_is_better: bool = True,
    interval: Literal["placebo", "conformal"] = "placebo",
    conformal_permutations: Literal["moving_block", "iid"] = "moving_block",
) -> Effect:
    """Synthetic-control estimate of the effect on one or several treated units.

    Parameters
    ----------
    df : DataFrame
        Long panel, one row per ``unit`` and ``time`` (balanced in the outcome for the treated unit;
        donors with a missing outcome in any period are dropped and listed in
        ``extras["dropped_donors"]``).
    outcome, unit, time : str
        Column names. ``time`` values must be orderable (integers, dates).
    treated : value or list of values
        The treated unit(s) of column ``unit``. All other units are donors.
    treatment_time : same type as ``time``
        First treated period; periods ``< treatment_time`` are the pre-period.
    predictors : list, optional
        Predictor columns averaged over a window (NaN-skipping mean): a column name (window from
        ``predictor_windows``, else the whole pre-period) or a ``(column, window)`` tuple (the same
        column may appear with several windows). None fits on the pre-period outcomes (``V = I``).
    predictor_windows : mapping column -> times, or one sequence of times, optional
        Averaging windows for predictors given by name.
    fit_window : sequence of times, optional
        Pre-period times whose outcome MSPE is minimised (for ``V`` with predictors, for ``W``
        without). Default: the whole pre-period.
    placebo : bool, default True
        Run placebo-in-space (needed for the p-value and interval), placebo-in-time and
        leave-one-donor-out checks. With False the interval and p-value are NaN.
    augmented : {"auto", True, False}
        Ridge augmentation: always, never, or ("auto") only when the pre-fit diagnostic fails.
    alpha : float, default 0.05
        One minus the interval level.
    seed : int, default 0
        Seed for sampling placebo subsets (several treated units, many donors only).
    higher_is_better : bool, default True
        Direction that counts as good in the verdict.
    interval : {"placebo", "conformal"}, default "placebo"
        Interval and p-value for the average effect: by inverting the placebo-in-space
        permutation test (exact when the treated units are exchangeable with the donors), or by
        conformal inference over time (Chernozhukov, Wüthrich & Zhu 2021; exact when the
        treated series' residuals are exchangeable over time, see
        :mod:`salesinsight.causal.synth_conformal`). Placebo checks run either way.
    conformal_permutations : {"moving_block", "iid"}, default "moving_block"
        Permutations over time for ``interval="conformal"``.

    Returns
    -------
    Effect
        ``estimate`` = average post-period gap (observed - synthetic), averaged over treated units;
        ``terms`` = per-period effects; ``path`` = observed and counterfactual over all periods;
        ``extras``: ``weights`` (DataFrame donors x treated, final weights), ``weights_scm``,
        ``v_weights``, ``predictor_balance``, ``pre_rmspe``, ``post_rmspe``, ``placebos``,
        ``placebo_gaps``, ``leave_one_out``, ``placebo_time``, ``augmented``, ``ridge_lambda``.
    """
    spec = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated": treated,
        "treatment_time": treatment_time,
        "predictors": None if predictors is None else list(predictors),
        "predictor_windows": predictor_windows,
        "fit_window": None if fit_window is None else list(fit_window),
        "placebo": placebo,
        "augmented": augmented,
        "alpha": alpha,
        "seed": seed,
        "higher_is_better": higher_is_better,
        "interval": interval,
        "conformal_permutations": conformal_permutations,
        "ci_level": 1.0 - alpha,
        "versions": library_versions(),
    }
    treated_list = _as_list(treated)
    problems = check_frame(
        df,
        func="synthetic_control",
        columns=[outcome, unit, time],
        numeric=[outcome],
        no_missing=[unit, time],
    )
    if not 0 < alpha < 1:
        problems.append(f"synthetic_control: alpha must be in (0, 1), got {alpha!r}")
    if interval not in ("placebo", "conformal"):
        problems.append(
            f"synthetic_control: interval must be 'placebo' or 'conformal', got {interval!r}"
        )
    if conformal_permutations not in ("moving_block", "iid"):
        problems.append(
            "synthetic_control: conformal_permutations must be 'moving_block' or 'iid', got "
            f"{conformal_permutations!r}"
        )
    if augmented not in ("auto", True, False):
        problems.append(
            f"synthetic_control: augmented must be 'auto', True or False, got {augmented!r}"
        )
    raise_problems(problems)

    dup = df.duplicated([unit, time], keep=False).to_numpy()
    if dup.any():
        problems.append(
            f"synthetic_control: table `df` has {int(dup.sum())} rows with a repeated "
            f"({unit!r}, {time!r}) pair, e.g. rows {list(df.index[dup][:5])}"
        )
    all_units = list(pd.unique(df[unit]))
    for t in treated_list:
        if t not in set(all_units):
            problems.append(f"synthetic_control: treated unit {t!r} not found in column {unit!r}")
    times = list(pd.Index(pd.unique(df[time])).sort_values())
    pre_times = [t for t in times if t < treatment_time]
    post_times = [t for t in times if t >= treatment_time]
    if len(pre_times) < 2 or not post_times:
        problems.append(
            f"synthetic_control: treatment_time {treatment_time!r} leaves {len(pre_times)} pre- "
            f"and {len(post_times)} post-period(s) in column {time!r}; need >= 2 and >= 1"
        )
    raise_problems(problems)

    wide = df.pivot(index=time, columns=unit, values=outcome).reindex(times)
    gaps_tr = {t: np.flatnonzero(wide[t].isna().to_numpy()) for t in treated_list}
    gaps_tr = {t: g for t, g in gaps_tr.items() if g.size}
    if gaps_tr:
        shown = "; ".join(
            f"{t!r} at {', '.join(str(times[i]) for i in g[:3])}"
            + (f" (+{g.size - 3} more)" if g.size > 3 else "")
            for t, g in list(gaps_tr.items())[:10]
        )
        more = f"; … (+{len(gaps_tr) - 10} more units)" if len(gaps_tr) > 10 else ""
        problems.append(
            f"synthetic_control: column {outcome!r} is missing for {len(gaps_tr)} treated "
            f"unit(s) in column {time!r}: {shown}{more}"
        )
    donor_all = [u for u in all_units if u not in set(treated_list)]
    dropped = [u for u in donor_all if wide[u].isna().any()]
    donors_u = [u for u in donor_all if u not in set(dropped)]
    if len(donors_u) < 2:
        problems.append(
            f"synthetic_control: only {len(donors_u)} donor unit(s) with a complete {outcome!r} "
            "series; need at least 2"
        )
    fit_times = pre_times if fit_window is None else [t for t in times if t in set(fit_window)]
    if fit_window is not None:
        outside = [t for t in fit_window if t not in set(pre_times)]
        if outside:
            problems.append(
                f"synthetic_control: fit_window contains non-pre-period times {outside[:5]}"
            )
    units = treated_list + donors_u
    specs = None
    P = None
    if predictors is not None:
        specs = _predictor_specs(predictors, predictor_windows, pre_times)
        miss_cols = sorted({c for c, _ in specs if c not in df.columns})
        for c in miss_cols:
            problems.append(f"synthetic_control: predictor column {c!r} not in table `df`")
        if not miss_cols:
            P = _predictor_matrix(df, specs, unit, time, units, problems)
    raise_problems(problems)

    Y = wide[units].to_numpy(dtype=float)  # (T, N), treated first
    # the times' own dtype (int64, datetime64), not object: plots and arithmetic need it
    times_arr = pd.Index(list(times)).to_numpy()
    pre = np.array([t < treatment_time for t in times])
    post = ~pre
    fit = np.array([t in set(fit_times) for t in times])
    n_tr = len(treated_list)
    donor_idx = np.arange(n_tr, len(units))

    def pre_ratio(f: SynthFit, j: int) -> float:
        g = Y[pre, j] - f.synthetic[pre]
        sd = float(np.std(Y[pre, j], ddof=1))
        return rmspe(g) / sd if sd > 0 else np.inf

    fits = [
        fit_target(i, donor_idx, Y, pre, fit, post, P, augment=augmented is True)
        for i in range(n_tr)
    ]
    ratios_scm = [pre_ratio(f, i) for i, f in enumerate(fits)]
    aug_used = augmented is True or (augmented == "auto" and max(ratios_scm) > PRE_FIT_THRESHOLD)
    if aug_used and augmented == "auto":
        fits = [fit_target(i, donor_idx, Y, pre, fit, post, P, augment=True) for i in range(n_tr)]

    gaps = np.column_stack([Y[:, i] - f.synthetic for i, f in enumerate(fits)])  # (T, n_tr)
    pre_rmspe = np.array([rmspe(gaps[pre, i]) for i in range(n_tr)])
    post_rmspe = np.array([rmspe(gaps[post, i]) for i in range(n_tr)])
    unit_est = gaps[post].mean(axis=0)
    estimate = float(unit_est.mean())
    synth_avg = np.mean([f.synthetic for f in fits], axis=0)
    obs_avg = Y[:, :n_tr].mean(axis=1)
    fit_ratio = np.array([pre_ratio(f, i) for i, f in enumerate(fits)])
    notes = [
        "Synthetic control assumes the donors were unaffected by the program and that a weighted "
        "mix of donors that tracked the treated unit before would have kept tracking it after."
    ]
    if aug_used:
        notes.append(
            "Ridge-augmented synthetic control was used (implied donor weights may be negative "
            "and extrapolate beyond the donors)."
        )
    if dropped:
        notes.append(f"{len(dropped)} donor(s) with missing outcomes were dropped.")
    if n_tr > 1 and math.comb(len(donors_u), n_tr) < MIN_SUBSETS:
        notes.append(
            f"{n_tr} treated units but only {len(donors_u)} donors: placebo averages draw donors "
            "with replacement (approximate permutation inference)."
        )

    # ---------------------------------------------------------------- placebo-in-space
    p_value = np.nan
    ci_low = ci_high = np.nan
    se = np.nan
    inference = "none (placebo=False)"
    placebo_table = None
    placebo_gaps = None
    term_se = np.full(int(post.sum()), np.nan)
    band = (np.full(len(times), np.nan), np.full(len(times), np.nan))
    diagnostics: list[Diagnostic] = []
    loo_table = None
    pit: dict[str, Any] = {}
    if placebo:
        pis = placebo_in_space(
            Y=Y,
            pre=pre,
            fit=fit,
            post=post,
            P=P,
            aug_used=aug_used,
            donor_idx=donor_idx,
            units=units,
            donors_u=donors_u,
            times=times,
            time=time,
            n_tr=n_tr,
            estimate=estimate,
            pre_rmspe=pre_rmspe,
            post_rmspe=post_rmspe,
            synth_avg=synth_avg,
            alpha=alpha,
            seed=seed,
        )
        placebo_table, placebo_gaps = pis.table, pis.gaps
        p_value, ci_low, ci_high, p_gap = pis.p_value, pis.ci_low, pis.ci_high, pis.p_value_mean_gap
        se, inference, term_se, band = pis.se, pis.inference, pis.term_se, pis.band
        if pis.note is not None:
            notes.append(pis.note)
        pit = placebo_in_time(Y, pre, n_tr, donor_idx, aug_used, alpha, seed, times)
        diagnostics.append(placebo_time_diagnostic(pit))
        loo_table = leave_one_out(fits, Y, pre, fit, post, P, aug_used, donor_idx, units, n_tr)
        if loo_table is not None and len(loo_table):
            diagnostics.append(leave_one_out_diagnostic(loo_table, estimate))

    conformal = None
    placebo_p_value = p_value
    if interval == "conformal":
        conformal = conformal_interval(
            obs_avg,
            Y[:, donor_idx],
            post,
            alpha=alpha,
            start=estimate,
            scheme=conformal_permutations,
        )
        ci_low, ci_high, se, p_value = (
            conformal.ci_low,
            conformal.ci_high,
            conformal.se,
            conformal.p_value,
        )
        inference = conformal.note + (
            "; placebo-in-space checks shown as diagnostics" if placebo else ""
        )

    # pre-fit of the estimand: the (average) treated series against the (average) synthetic one
    avg_gap_pre = obs_avg[pre] - synth_avg[pre]
    sd_pre = float(np.std(obs_avg[pre], ddof=1))
    fit_stat = rmspe(avg_gap_pre) / sd_pre if sd_pre > 0 else np.inf
    who = "the treated unit" if n_tr == 1 else f"the average of the {n_tr} treated units"
    diagnostics.insert(
        0,
        Diagnostic(
            name="pre_fit",
            passed=bool(fit_stat <= PRE_FIT_THRESHOLD),
            statistic=float(fit_stat),
            value=rmspe(avg_gap_pre),
            required=True,
            note=(
                f"pre-period RMSPE is {fit_stat:.2f} x the pre-period sd of {who} "
                f"(threshold {PRE_FIT_THRESHOLD}); "
                + (
                    "the synthetic control tracks it"
                    if fit_stat <= PRE_FIT_THRESHOLD
                    else "the synthetic control does not track it before treatment"
                )
            ),
        ),
    )

    post_times_arr = times_arr[post]
    terms = pd.DataFrame(
        {
            "term": post_times_arr,
            "estimate": gaps[post].mean(axis=1),
            "se": term_se,
            "ci_low": gaps[post].mean(axis=1) - (band[1][post] - synth_avg[post]),
            "ci_high": gaps[post].mean(axis=1) - (band[0][post] - synth_avg[post]),
        }
    )
    path = pd.DataFrame(
        {
            "time": times_arr,
            "observed": obs_avg,
            "counterfactual": synth_avg,
            "cf_low": band[0],
            "cf_high": band[1],
        }
    )
    weights = pd.DataFrame(
        np.column_stack([f.weights for f in fits]),
        index=pd.Index(donors_u, name="donor"),
        columns=treated_list,
    )
    weights_scm = pd.DataFrame(
        np.column_stack([f.weights_scm for f in fits]),
        index=pd.Index(donors_u, name="donor"),
        columns=treated_list,
    )
    extras: dict[str, Any] = {
        "weights": weights,
        "weights_scm": weights_scm,
        "pre_rmspe": pd.Series(pre_rmspe, index=treated_list),
        "post_rmspe": pd.Series(post_rmspe, index=treated_list),
        "pre_fit_ratio": pd.Series(fit_ratio, index=treated_list),
        "pre_fit_ratio_scm": pd.Series(ratios_scm, index=treated_list),
        "unit_estimates": pd.Series(unit_est, index=treated_list),
        "augmented": bool(aug_used),
        "ridge_lambda": [f.ridge_lambda for f in fits] if aug_used else None,
        "dropped_donors": dropped,
        "placebos": placebo_table,
        "placebo_gaps": placebo_gaps,
        "leave_one_out": loo_table,
        "placebo_time": pit or None,
        "p_value_mean_gap": p_gap if placebo else np.nan,
        "conformal": conformal,
        "placebo_p_value": placebo_p_value,
        "notes": notes,
    }
    if P is not None and specs is not None:
        names = [f"{c} [{w[0]}..{w[-1]}]" for c, w in specs]
        extras["v_weights"] = pd.DataFrame(
            np.column_stack([f.v for f in fits if f.v is not None]),
            index=names,
            columns=treated_list,
        )
        rows = []
        for i, f in enumerate(fits):
            for r, name in enumerate(names):
                rows.append(
                    {
                        "treated": treated_list[i],
                        "predictor": name,
                        "treated_value": P[r, i],
                        "synthetic": float(P[r, n_tr:] @ f.weights),
                        "donor_mean": float(P[r, n_tr:].mean()),
                    }
                )
        extras["predictor_balance"] = pd.DataFrame(rows)
    spec["inference"] = inference
    spec["notes"] = notes
    return Effect(
        estimate=estimate,
        se=float(se),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=float(p_value),
        n_units=len(units),
        n_obs=int(Y.size),
        method="synthetic control (augmented)" if aug_used else "synthetic control",
        outcome=outcome,
        spec=spec,
        diagnostics=tuple(diagnostics),
        baseline=float(synth_avg[post].mean()),
        higher_is_better=higher_is_better,
        terms=terms,
        path=path,
        extras=extras,
    )
