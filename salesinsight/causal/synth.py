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
from dataclasses import dataclass, field
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
    spec: dict[str, Any] = {
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
    _check_options(df, outcome, unit, time, alpha, interval, conformal_permutations, augmented)
    pn = _prepare(
        df, outcome, unit, time, _as_list(treated), treatment_time, predictors,
        predictor_windows, fit_window,
    )  # fmt: skip
    f = _fit(pn, augmented)
    notes = _notes(pn, f.aug_used)
    inf = _Inference.empty(len(pn.times), int(pn.post.sum()))
    if placebo:
        inf = _placebo_inference(pn, f, time, alpha, seed)
        if inf.note is not None:
            notes.append(inf.note)
    conformal = None
    placebo_p_value = inf.p_value
    if interval == "conformal":
        conformal = _conformal_inference(pn, f, inf, alpha, conformal_permutations, placebo)
    diagnostics = [_pre_fit_diagnostic(pn, f), *inf.diagnostics]
    extras = _extras(pn, f, inf, notes, placebo, conformal, placebo_p_value)
    spec["inference"] = inf.inference
    spec["notes"] = notes
    return Effect(
        estimate=f.estimate,
        se=float(inf.se),
        ci_low=float(inf.ci_low),
        ci_high=float(inf.ci_high),
        p_value=float(inf.p_value),
        n_units=len(pn.units),
        n_obs=int(pn.Y.size),
        method="synthetic control (augmented)" if f.aug_used else "synthetic control",
        outcome=outcome,
        spec=spec,
        diagnostics=tuple(diagnostics),
        baseline=float(f.synth_avg[pn.post].mean()),
        higher_is_better=higher_is_better,
        terms=_terms(pn, f, inf),
        path=_path(pn, f, inf),
        extras=extras,
    )


def _conformal_inference(
    pn: _Panel,
    f: _Fits,
    inf: _Inference,
    alpha: float,
    conformal_permutations: str,
    placebo: bool,
) -> Any:
    """Replace the interval, se and p-value in ``inf`` by the conformal ones; return those."""
    conformal = conformal_interval(
        f.obs_avg,
        pn.Y[:, pn.donor_idx],
        pn.post,
        alpha=alpha,
        start=f.estimate,
        scheme=conformal_permutations,
    )
    inf.ci_low, inf.ci_high, inf.se, inf.p_value = (
        conformal.ci_low,
        conformal.ci_high,
        conformal.se,
        conformal.p_value,
    )
    inf.inference = conformal.note + (
        "; placebo-in-space checks shown as diagnostics" if placebo else ""
    )
    return conformal


def _path(pn: _Panel, f: _Fits, inf: _Inference) -> pd.DataFrame:
    """Return the observed and synthetic averages over time, with the counterfactual's band."""
    return pd.DataFrame(
        {
            "time": pn.times_arr,
            "observed": f.obs_avg,
            "counterfactual": f.synth_avg,
            "cf_low": inf.band[0],
            "cf_high": inf.band[1],
        }
    )


# ----------------------------------------------------------------------------- steps
@dataclass(frozen=True)
class _Panel:
    """The validated panel in wide form, treated units first (prepare step)."""

    Y: np.ndarray  # (T, N) outcome, treated columns first
    times: list[Any]
    times_arr: np.ndarray  # the times in their own dtype
    pre: np.ndarray  # (T,) bool
    post: np.ndarray  # (T,) bool
    fit: np.ndarray  # (T,) bool, the fit window
    treated: list[Any]
    donors: list[Any]
    dropped: list[Any]  # donors dropped for missing outcomes
    units: list[Any]  # treated + donors
    donor_idx: np.ndarray  # columns of Y that are donors
    specs: list[tuple[str, list[Any]]] | None  # predictor specs
    P: np.ndarray | None  # (k, N) predictor matrix

    @property
    def n_tr(self) -> int:
        """Return the number of treated units."""
        return len(self.treated)


@dataclass(frozen=True)
class _Fits:
    """Weights per treated unit and the resulting gaps (fit step)."""

    fits: list[SynthFit]
    ratios_scm: list[float]  # pre-fit ratio of the simplex fit, per treated unit
    aug_used: bool
    gaps: np.ndarray  # (T, n_tr) observed - synthetic
    pre_rmspe: np.ndarray
    post_rmspe: np.ndarray
    unit_est: np.ndarray  # average post gap per treated unit
    estimate: float
    synth_avg: np.ndarray  # (T,) average synthetic series
    obs_avg: np.ndarray  # (T,) average treated series
    fit_ratio: np.ndarray  # pre-fit ratio of the final fit, per treated unit


@dataclass
class _Inference:
    """Placebo (or no) inference; the conformal interval may overwrite the first four fields."""

    p_value: float
    ci_low: float
    ci_high: float
    se: float
    inference: str
    term_se: np.ndarray
    band: tuple[np.ndarray, np.ndarray]
    table: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None
    p_value_mean_gap: float = np.nan
    note: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    loo_table: pd.DataFrame | None = None
    pit: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls, n_times: int, n_post: int) -> _Inference:
        """Return the result of ``placebo=False``: no p-value, interval or band."""
        return cls(
            p_value=np.nan,
            ci_low=np.nan,
            ci_high=np.nan,
            se=np.nan,
            inference="none (placebo=False)",
            term_se=np.full(n_post, np.nan),
            band=(np.full(n_times, np.nan), np.full(n_times, np.nan)),
        )


def _check_options(
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    alpha: float,
    interval: str,
    conformal_permutations: str,
    augmented: Any,
) -> None:
    """Check the columns and the options; raise one error listing every problem."""
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


def _check_periods(
    df: pd.DataFrame, unit: str, time: str, treated_list: list[Any], treatment_time: Any
) -> tuple[list[str], list[Any], list[Any], list[Any], list[Any]]:
    """Check unit-time pairs, treated units and periods; return problems, units and times."""
    problems: list[str] = []
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
    return problems, all_units, times, pre_times, post_times


def _treated_gaps_problem(
    wide: pd.DataFrame, treated_list: list[Any], times: list[Any], outcome: str, time: str
) -> str | None:
    """Describe treated units with missing outcomes, if any."""
    gaps_tr = {t: np.flatnonzero(wide[t].isna().to_numpy()) for t in treated_list}
    gaps_tr = {t: g for t, g in gaps_tr.items() if g.size}
    if not gaps_tr:
        return None
    shown = "; ".join(
        f"{t!r} at {', '.join(str(times[i]) for i in g[:3])}"
        + (f" (+{g.size - 3} more)" if g.size > 3 else "")
        for t, g in list(gaps_tr.items())[:10]
    )
    more = f"; … (+{len(gaps_tr) - 10} more units)" if len(gaps_tr) > 10 else ""
    return (
        f"synthetic_control: column {outcome!r} is missing for {len(gaps_tr)} treated "
        f"unit(s) in column {time!r}: {shown}{more}"
    )


def _prepare(
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated_list: list[Any],
    treatment_time: Any,
    predictors: Sequence[PredictorSpec] | None,
    predictor_windows: Mapping[str, Sequence[Any]] | Sequence[Any] | None,
    fit_window: Sequence[Any] | None,
) -> _Panel:
    """Check the panel (all problems at once) and pivot it to times x units, treated first."""
    problems, all_units, times, pre_times, post_times = _check_periods(
        df, unit, time, treated_list, treatment_time
    )
    raise_problems(problems)
    wide = df.pivot(index=time, columns=unit, values=outcome).reindex(times)
    gap_problem = _treated_gaps_problem(wide, treated_list, times, outcome, time)
    if gap_problem is not None:
        problems.append(gap_problem)
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
    pre = np.array([t < treatment_time for t in times])
    return _Panel(
        Y=wide[units].to_numpy(dtype=float),
        times=times,
        # the times' own dtype (int64, datetime64), not object: plots and arithmetic need it
        times_arr=pd.Index(list(times)).to_numpy(),
        pre=pre,
        post=~pre,
        fit=np.array([t in set(fit_times) for t in times]),
        treated=treated_list,
        donors=donors_u,
        dropped=dropped,
        units=units,
        donor_idx=np.arange(len(treated_list), len(units)),
        specs=specs,
        P=P,
    )


def _pre_ratio(pn: _Panel, f: SynthFit, j: int) -> float:
    """Pre-period RMSPE of unit ``j``'s fit over the sd of its pre-period outcome."""
    g = pn.Y[pn.pre, j] - f.synthetic[pn.pre]
    sd = float(np.std(pn.Y[pn.pre, j], ddof=1))
    return rmspe(g) / sd if sd > 0 else np.inf


def _fit(pn: _Panel, augmented: bool | Literal["auto"]) -> _Fits:
    """Fit each treated unit (augmenting when asked, or when ``"auto"`` and the fit is poor)."""
    Y, pre, fit, post, P, donor_idx, n_tr = (
        pn.Y, pn.pre, pn.fit, pn.post, pn.P, pn.donor_idx, pn.n_tr,
    )  # fmt: skip
    fits = [
        fit_target(i, donor_idx, Y, pre, fit, post, P, augment=augmented is True)
        for i in range(n_tr)
    ]
    ratios_scm = [_pre_ratio(pn, f, i) for i, f in enumerate(fits)]
    aug_used = augmented is True or (augmented == "auto" and max(ratios_scm) > PRE_FIT_THRESHOLD)
    if aug_used and augmented == "auto":
        fits = [fit_target(i, donor_idx, Y, pre, fit, post, P, augment=True) for i in range(n_tr)]
    gaps = np.column_stack([Y[:, i] - f.synthetic for i, f in enumerate(fits)])  # (T, n_tr)
    unit_est = gaps[post].mean(axis=0)
    return _Fits(
        fits=fits,
        ratios_scm=ratios_scm,
        aug_used=bool(aug_used),
        gaps=gaps,
        pre_rmspe=np.array([rmspe(gaps[pre, i]) for i in range(n_tr)]),
        post_rmspe=np.array([rmspe(gaps[post, i]) for i in range(n_tr)]),
        unit_est=unit_est,
        estimate=float(unit_est.mean()),
        synth_avg=np.mean([f.synthetic for f in fits], axis=0),
        obs_avg=Y[:, :n_tr].mean(axis=1),
        fit_ratio=np.array([_pre_ratio(pn, f, i) for i, f in enumerate(fits)]),
    )


def _notes(pn: _Panel, aug_used: bool) -> list[str]:
    """Return the assumption note and notes on augmentation, dropped donors and subsets."""
    notes = [
        "Synthetic control assumes the donors were unaffected by the program and that a weighted "
        "mix of donors that tracked the treated unit before would have kept tracking it after."
    ]
    if aug_used:
        notes.append(
            "Ridge-augmented synthetic control was used (implied donor weights may be negative "
            "and extrapolate beyond the donors)."
        )
    if pn.dropped:
        notes.append(f"{len(pn.dropped)} donor(s) with missing outcomes were dropped.")
    n_tr, n_donors = pn.n_tr, len(pn.donors)
    if n_tr > 1 and math.comb(n_donors, n_tr) < MIN_SUBSETS:
        notes.append(
            f"{n_tr} treated units but only {n_donors} donors: placebo averages draw donors "
            "with replacement (approximate permutation inference)."
        )
    return notes


def _placebo_inference(pn: _Panel, f: _Fits, time: str, alpha: float, seed: int) -> _Inference:
    """Placebo-in-space test and interval, placebo-in-time and leave-one-out diagnostics."""
    pis = placebo_in_space(
        Y=pn.Y,
        pre=pn.pre,
        fit=pn.fit,
        post=pn.post,
        P=pn.P,
        aug_used=f.aug_used,
        donor_idx=pn.donor_idx,
        units=pn.units,
        donors_u=pn.donors,
        times=pn.times,
        time=time,
        n_tr=pn.n_tr,
        estimate=f.estimate,
        pre_rmspe=f.pre_rmspe,
        post_rmspe=f.post_rmspe,
        synth_avg=f.synth_avg,
        alpha=alpha,
        seed=seed,
    )
    pit = placebo_in_time(pn.Y, pn.pre, pn.n_tr, pn.donor_idx, f.aug_used, alpha, seed, pn.times)
    diagnostics = [placebo_time_diagnostic(pit)]
    loo_table = leave_one_out(
        f.fits, pn.Y, pn.pre, pn.fit, pn.post, pn.P, f.aug_used, pn.donor_idx, pn.units, pn.n_tr
    )
    if loo_table is not None and len(loo_table):
        diagnostics.append(leave_one_out_diagnostic(loo_table, f.estimate))
    return _Inference(
        p_value=pis.p_value,
        ci_low=pis.ci_low,
        ci_high=pis.ci_high,
        se=pis.se,
        inference=pis.inference,
        term_se=pis.term_se,
        band=pis.band,
        table=pis.table,
        gaps=pis.gaps,
        p_value_mean_gap=pis.p_value_mean_gap,
        note=pis.note,
        diagnostics=diagnostics,
        loo_table=loo_table,
        pit=pit,
    )


def _pre_fit_diagnostic(pn: _Panel, f: _Fits) -> Diagnostic:
    """Pre-fit of the estimand: the (average) treated series against the (average) synthetic."""
    avg_gap_pre = f.obs_avg[pn.pre] - f.synth_avg[pn.pre]
    sd_pre = float(np.std(f.obs_avg[pn.pre], ddof=1))
    fit_stat = rmspe(avg_gap_pre) / sd_pre if sd_pre > 0 else np.inf
    who = "the treated unit" if pn.n_tr == 1 else f"the average of the {pn.n_tr} treated units"
    return Diagnostic(
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
    )


def _terms(pn: _Panel, f: _Fits, inf: _Inference) -> pd.DataFrame:
    """Per-period effects with the placebo band turned into an interval."""
    post, band = pn.post, inf.band
    return pd.DataFrame(
        {
            "term": pn.times_arr[post],
            "estimate": f.gaps[post].mean(axis=1),
            "se": inf.term_se,
            "ci_low": f.gaps[post].mean(axis=1) - (band[1][post] - f.synth_avg[post]),
            "ci_high": f.gaps[post].mean(axis=1) - (band[0][post] - f.synth_avg[post]),
        }
    )


def _extras(
    pn: _Panel,
    f: _Fits,
    inf: _Inference,
    notes: list[str],
    placebo: bool,
    conformal: Any,
    placebo_p_value: float,
) -> dict[str, Any]:
    """Weights, fit statistics, placebo tables and predictor balance for ``Effect.extras``."""
    treated_list, donors = pn.treated, pd.Index(pn.donors, name="donor")
    extras: dict[str, Any] = {
        "weights": pd.DataFrame(
            np.column_stack([s.weights for s in f.fits]), index=donors, columns=treated_list
        ),
        "weights_scm": pd.DataFrame(
            np.column_stack([s.weights_scm for s in f.fits]), index=donors, columns=treated_list
        ),
        "pre_rmspe": pd.Series(f.pre_rmspe, index=treated_list),
        "post_rmspe": pd.Series(f.post_rmspe, index=treated_list),
        "pre_fit_ratio": pd.Series(f.fit_ratio, index=treated_list),
        "pre_fit_ratio_scm": pd.Series(f.ratios_scm, index=treated_list),
        "unit_estimates": pd.Series(f.unit_est, index=treated_list),
        "augmented": bool(f.aug_used),
        "ridge_lambda": [s.ridge_lambda for s in f.fits] if f.aug_used else None,
        "dropped_donors": pn.dropped,
        "placebos": inf.table,
        "placebo_gaps": inf.gaps,
        "leave_one_out": inf.loo_table,
        "placebo_time": inf.pit or None,
        "p_value_mean_gap": inf.p_value_mean_gap if placebo else np.nan,
        "conformal": conformal,
        "placebo_p_value": placebo_p_value,
        "notes": notes,
    }
    if pn.P is not None and pn.specs is not None:
        extras.update(_predictor_tables(pn, f))
    return extras


def _predictor_tables(pn: _Panel, f: _Fits) -> dict[str, pd.DataFrame]:
    """Predictor importance ``v_weights`` and the treated-vs-synthetic predictor balance."""
    assert pn.P is not None and pn.specs is not None
    P, n_tr, treated_list = pn.P, pn.n_tr, pn.treated
    names = [f"{c} [{w[0]}..{w[-1]}]" for c, w in pn.specs]
    v_weights = pd.DataFrame(
        np.column_stack([s.v for s in f.fits if s.v is not None]),
        index=names,
        columns=treated_list,
    )
    rows = []
    for i, s in enumerate(f.fits):
        for r, name in enumerate(names):
            rows.append(
                {
                    "treated": treated_list[i],
                    "predictor": name,
                    "treated_value": P[r, i],
                    "synthetic": float(P[r, n_tr:] @ s.weights),
                    "donor_mean": float(P[r, n_tr:].mean()),
                }
            )
    return {"v_weights": v_weights, "predictor_balance": pd.DataFrame(rows)}
