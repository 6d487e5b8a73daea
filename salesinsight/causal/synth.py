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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize

from salesinsight.causal._balance import check_frame, raise_problems
from salesinsight.causal.effect import Diagnostic, Effect, library_versions

__all__ = ["PRE_FIT_THRESHOLD", "simplex_weights", "synthetic_control"]

#: the pre-fit diagnostic fails when pre-period RMSPE / sd(treated pre-period outcome) exceeds this
#: (equivalently when the synthetic unit explains less than 75% of the treated unit's pre-period
#: variance, R^2 < 0.75). With several treated units it is computed on their average series (the
#: estimand); per-unit ratios are in ``extras["pre_fit_ratio"]``. ``augmented="auto"`` augments
#: when any single unit's simplex fit exceeds the threshold.
PRE_FIT_THRESHOLD = 0.5

#: most placebo subsets enumerated (or sampled) for several treated units.
_MAX_SUBSETS = 20_000
#: fewer distinct placebo subsets than this: draw placebo units with replacement instead.
_MIN_SUBSETS = 1_000

PredictorSpec = str | tuple[str, Sequence[Any]]


# ----------------------------------------------------------------------------- core math
def _nnls_simplex(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NNLS with a heavily weighted sum-to-one row; weights normalised to sum one."""
    n_donors = A.shape[1]
    big = 1e3
    w, _ = optimize.nnls(
        np.vstack([A, np.full((1, n_donors), big)]), np.append(b, big), maxiter=50 * n_donors
    )
    w = np.clip(w, 0.0, None)
    return w / w.sum() if w.sum() > 0 else np.full(n_donors, 1.0 / n_donors)


def _scaled_problem(
    X0: np.ndarray, x1: np.ndarray, v: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    k = X0.shape[0]
    sv = np.ones(k) if v is None else np.sqrt(np.clip(v, 0.0, None))
    A = X0 * sv[:, None]
    b = x1 * sv
    scale = max(float(np.abs(A).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1e-300)
    return A / scale, b / scale


def simplex_weights(X0: np.ndarray, x1: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
    """Weights on the simplex closest to ``x1`` in the ``v``-weighted norm.

    Solves ``min_w (x1 - X0 w)' diag(v) (x1 - X0 w)`` subject to ``w >= 0`` and ``sum(w) = 1`` by
    non-negative least squares with a heavily weighted sum-to-one row (Lawson & Hanson), then
    re-solves the equality-constrained problem exactly on the support found.

    Parameters
    ----------
    X0 : ndarray, shape (k, J)
        Donor characteristics, one column per donor.
    x1 : ndarray, shape (k,)
        Target characteristics.
    v : ndarray, shape (k,), optional
        Non-negative importance of each row; equal when None.

    Returns
    -------
    ndarray, shape (J,)
        Weights, non-negative, summing to one.
    """
    A, b = _scaled_problem(np.asarray(X0, dtype=float), np.asarray(x1, dtype=float), v)
    n_donors = A.shape[1]
    w = _nnls_simplex(A, b)
    best, best_loss = w, _ls_loss(A, b, w)
    support = np.flatnonzero(w > 1e-10)
    if support.size > 1:
        As = A[:, support]
        kkt = np.zeros((support.size + 1, support.size + 1))
        kkt[:-1, :-1] = As.T @ As
        kkt[:-1, -1] = 1.0
        kkt[-1, :-1] = 1.0
        rhs = np.append(As.T @ b, 1.0)
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:-1]
        if np.all(sol >= -1e-12):
            cand = np.zeros(n_donors)
            cand[support] = np.clip(sol, 0.0, None)
            cand /= cand.sum()
            if _ls_loss(A, b, cand) <= best_loss:
                best = cand
    return best


def _ls_loss(A: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    r = b - A @ w
    return float(r @ r)


@dataclass(frozen=True)
class _Fit:
    """Fit for one target unit: weights over its donors and the synthetic path over all times."""

    weights: np.ndarray  # final weights (ridge-implied when augmented), shape (J,)
    weights_scm: np.ndarray  # simplex weights, shape (J,)
    v: np.ndarray | None  # predictor importance, shape (k,), or None (outcome fit)
    synthetic: np.ndarray  # shape (T,)
    ridge_lambda: float | None


def _v_starts(Xs_all: np.ndarray, Z_all: np.ndarray) -> list[np.ndarray]:
    """Deterministic starting values for V: equal, and R Synth's regression-based start."""
    k = Xs_all.shape[0]
    starts = [np.full(k, 1.0 / k)]
    design = np.hstack([np.ones((Xs_all.shape[1], 1)), Xs_all.T])
    if design.shape[0] > design.shape[1] and np.linalg.matrix_rank(design) == design.shape[1]:
        beta = np.linalg.lstsq(design, Z_all.T, rcond=None)[0][1:]
        v0 = np.diag(beta @ beta.T).copy()
        if np.all(np.isfinite(v0)) and v0.sum() > 0:
            starts.append(v0 / v0.sum())
    return starts


def _fit_v(
    Xs0: np.ndarray, xs1: np.ndarray, Z0: np.ndarray, z1: np.ndarray, starts: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Nested optimisation: V minimising the fit-window MSPE of the W(V) solution."""

    def to_v(theta: np.ndarray) -> np.ndarray:
        a = np.abs(theta)
        s = a.sum()
        return a / s if s > 0 else np.full(a.size, 1.0 / a.size)

    def loss(theta: np.ndarray) -> float:
        w = _nnls_simplex(*_scaled_problem(Xs0, xs1, to_v(theta)))
        r = z1 - Z0 @ w
        return float(r @ r / r.size)

    best_theta, best_loss = starts[0], loss(starts[0])
    for start in starts:
        res = optimize.minimize(
            loss,
            start,
            method="Nelder-Mead",
            options={"maxiter": 1000, "xatol": 1e-6, "fatol": 1e-10, "adaptive": True},
        )
        res = optimize.minimize(
            loss, res.x, method="Powell", options={"maxiter": 5, "xtol": 1e-6, "ftol": 1e-8}
        )
        if res.fun < best_loss - 1e-15:
            best_theta, best_loss = res.x, float(res.fun)
    v = to_v(best_theta)
    return v, simplex_weights(Xs0, xs1, v)


def _ridge_augment(
    w: np.ndarray,
    y_pre: np.ndarray,
    Y0_pre: np.ndarray,
    Y0_post: np.ndarray,
    ridge_lambda: float | None = None,
) -> tuple[np.ndarray, float]:
    """Ridge-augmented weights (Ben-Michael et al. 2021, eq. 16) with a GCV-chosen penalty.

    ``y_pre`` (T0,), ``Y0_pre`` (T0, J), ``Y0_post`` (T1, J). Returns implied weights (sum 1,
    possibly negative) and the penalty.
    """
    X0 = Y0_pre.T  # (J, T0)
    mu = X0.mean(axis=0)
    X0c = X0 - mu
    d = (y_pre - mu) - X0c.T @ w  # remaining imbalance, (T0,)
    U, s, _ = np.linalg.svd(X0c, full_matrices=False)
    n = X0c.shape[0]
    if ridge_lambda is None:
        Yc = Y0_post.T - Y0_post.T.mean(axis=0)  # (J, T1)
        s2max = float(s[0] ** 2) if s.size and s[0] > 0 else 1.0
        best = (np.inf, s2max)
        for lam in s2max * np.logspace(-4, 2, 31):
            shrink = s**2 / (s**2 + lam)
            fitted = U @ (shrink[:, None] * (U.T @ Yc))
            dof = float(shrink.sum()) + 1.0
            if dof >= n:
                continue
            gcv = float(np.sum((Yc - fitted) ** 2)) / n / (1.0 - dof / n) ** 2
            if gcv < best[0]:
                best = (gcv, float(lam))
        ridge_lambda = best[1]
    gram = X0c.T @ X0c + ridge_lambda * np.eye(X0c.shape[1])
    adjust = X0c @ np.linalg.solve(gram, d)
    return w + adjust, float(ridge_lambda)


def _fit_target(
    target: int,
    donors: np.ndarray,
    Y: np.ndarray,
    pre: np.ndarray,
    fit: np.ndarray,
    post: np.ndarray,
    P: np.ndarray | None,
    augment: bool,
) -> _Fit:
    """Fit the synthetic control of column ``target`` of ``Y`` (T, N) from columns ``donors``."""
    Y0, y1 = Y[:, donors], Y[:, target]
    v = None
    if P is None:
        w = simplex_weights(Y0[fit], y1[fit])
    else:
        cols = np.append(donors, target)
        Pu = P[:, cols]
        sd = Pu.std(axis=1, ddof=1)
        sd[~(sd > 0)] = 1.0
        Ps = Pu / sd[:, None]
        starts = _v_starts(Ps, Y[fit][:, cols])
        v, w = _fit_v(Ps[:, :-1], Ps[:, -1], Y0[fit], y1[fit], starts)
    lam = None
    final = w
    if augment:
        final, lam = _ridge_augment(w, y1[pre], Y0[pre], Y0[post])
    return _Fit(final, w, v, Y0 @ final, lam)


# ----------------------------------------------------------------------------- inference
def _rmspe(g: np.ndarray) -> float:
    return float(np.sqrt(np.mean(g**2)))


def _null_averages(values: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Placebo averages of ``values`` (B, ...) over ``size`` placebo units.

    All subsets when there are at most ``_MAX_SUBSETS``, else ``_MAX_SUBSETS`` random ones. When
    the donors allow fewer than ``_MIN_SUBSETS`` distinct subsets (several treated units, few
    donors) the placebo units are drawn *with* replacement instead, i.e. the placebo ratios are
    treated as a sample from the null distribution (an approximation, stated in the notes).
    """
    n = values.shape[0]
    if size == 1:
        return values.copy()
    rng = np.random.default_rng(seed)
    n_subsets = math.comb(n, size)
    if n_subsets < _MIN_SUBSETS:
        idx = rng.integers(0, n, size=(_MAX_SUBSETS, size))
    elif n_subsets <= _MAX_SUBSETS:
        idx = np.array(list(itertools.combinations(range(n), size)))
    else:
        idx = np.array([rng.choice(n, size=size, replace=False) for _ in range(_MAX_SUBSETS)])
    return values[idx].mean(axis=1)


def _perm_p(null: np.ndarray, stat: float) -> float:
    return float((1 + np.sum(null >= stat - 1e-12 * abs(stat))) / (1 + null.size))


def _invert_mean_gap(
    estimate: float, scale: float, null_stat: np.ndarray, alpha: float
) -> tuple[float, float, float, str]:
    """Interval and p-value from the placebo distribution of the standardised average gap.

    The statistic is ``|average post gap| / average pre-RMSPE``; ``null_stat`` holds its placebo
    values. Under a constant additive effect ``tau`` the treated statistic is
    ``|estimate - tau| / scale`` (weights and placebos do not change), so the accepted set is
    ``estimate ± c * scale`` with ``c`` the critical placebo value. Returns (low, high, p, note).
    """
    b = null_stat.size
    p = _perm_p(null_stat, abs(estimate) / scale)
    k = math.floor(alpha * (b + 1) + 1e-9)
    if k <= 0:
        return (
            -np.inf,
            np.inf,
            p,
            f"with {b} placebo draws the permutation test cannot reject at alpha={alpha}, so "
            "the interval is unbounded",
        )
    crit = float(np.sort(null_stat)[::-1][k - 1])
    return (
        estimate - crit * scale,
        estimate + crit * scale,
        p,
        "interval from inverting the placebo permutation test of the standardised average gap",
    )


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
    times_arr = np.array(times, dtype=object)
    pre = np.array([t < treatment_time for t in times])
    post = ~pre
    fit = np.array([t in set(fit_times) for t in times])
    n_tr = len(treated_list)
    donor_idx = np.arange(n_tr, len(units))

    def pre_ratio(f: _Fit, j: int) -> float:
        g = Y[pre, j] - f.synthetic[pre]
        sd = float(np.std(Y[pre, j], ddof=1))
        return _rmspe(g) / sd if sd > 0 else np.inf

    fits = [
        _fit_target(i, donor_idx, Y, pre, fit, post, P, augment=augmented is True)
        for i in range(n_tr)
    ]
    ratios_scm = [pre_ratio(f, i) for i, f in enumerate(fits)]
    aug_used = augmented is True or (augmented == "auto" and max(ratios_scm) > PRE_FIT_THRESHOLD)
    if aug_used and augmented == "auto":
        fits = [_fit_target(i, donor_idx, Y, pre, fit, post, P, augment=True) for i in range(n_tr)]

    gaps = np.column_stack([Y[:, i] - f.synthetic for i, f in enumerate(fits)])  # (T, n_tr)
    pre_rmspe = np.array([_rmspe(gaps[pre, i]) for i in range(n_tr)])
    post_rmspe = np.array([_rmspe(gaps[post, i]) for i in range(n_tr)])
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
    if n_tr > 1 and math.comb(len(donors_u), n_tr) < _MIN_SUBSETS:
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
        pl_gaps, pl_rows = [], []
        for j in donor_idx:
            others = donor_idx[donor_idx != j]
            fj = _fit_target(j, others, Y, pre, fit, post, P, augment=aug_used)
            g = Y[:, j] - fj.synthetic
            pl_gaps.append(g)
            pr, po = _rmspe(g[pre]), _rmspe(g[post])
            pl_rows.append(
                {
                    "unit": units[j],
                    "pre_rmspe": pr,
                    "post_rmspe": po,
                    "ratio": po / max(pr, 1e-12),
                    "estimate": float(g[post].mean()),
                }
            )
        placebo_table = pd.DataFrame(pl_rows)
        G = np.column_stack(pl_gaps)  # (T, J)
        placebo_gaps = pd.DataFrame(G, index=pd.Index(times, name=time), columns=donors_u)
        treated_ratio = post_rmspe / np.maximum(pre_rmspe, 1e-12)
        null = _null_averages(placebo_table["ratio"].to_numpy(), n_tr, seed)
        p_value = _perm_p(null, float(treated_ratio.mean()))
        # standardised average gap: same placebo subsets for gaps and pre-RMSPEs
        pair = placebo_table[["estimate", "pre_rmspe"]].to_numpy()
        null_pair = _null_averages(pair, n_tr, seed)
        null_std = null_pair[:, 0] / np.maximum(null_pair[:, 1], 1e-12)
        scale = float(max(pre_rmspe.mean(), 1e-12))
        ci_low, ci_high, p_gap, how = _invert_mean_gap(estimate, scale, np.abs(null_std), alpha)
        se = float(null_std.std(ddof=1) * scale)
        inference = (
            f"placebo-in-space permutation over {len(donors_u)} donors: p-value from post/pre "
            f"RMSPE ratios (sharp null of no effect in any period); {how} (p = {p_gap:.3g}); "
            "se = spread of the placebo estimates rescaled to the treated pre-RMSPE"
        )
        # placebo gaps rescaled to the treated units' average pre-period RMSPE
        scaled = G * (pre_rmspe.mean() / np.maximum(placebo_table["pre_rmspe"].to_numpy(), 1e-12))
        null_gaps = _null_averages(scaled.T, n_tr, seed)  # (B, T)
        term_se = null_gaps[:, post].std(axis=0, ddof=1)
        if null_gaps.shape[0] >= math.ceil(2.0 / alpha) - 1:
            q_lo = np.quantile(null_gaps, alpha / 2, axis=0)
            q_hi = np.quantile(null_gaps, 1 - alpha / 2, axis=0)
            band = (synth_avg + q_lo, synth_avg + q_hi)
        else:
            notes.append(
                f"Per-period bands need at least {math.ceil(2.0 / alpha) - 1} placebo draws; "
                f"there are {null_gaps.shape[0]}, so they are left empty."
            )
        pit = _placebo_in_time(Y, pre, n_tr, donor_idx, aug_used, alpha, seed, times)
        diagnostics.append(
            Diagnostic(
                name="placebo_time",
                passed=pit.get("passed"),
                statistic=pit.get("ratio"),
                p_value=pit.get("p_value"),
                value=pit.get("estimate"),
                required=False,
                note=pit.get("note", ""),
            )
        )
        loo_table = _leave_one_out(fits, Y, pre, fit, post, P, aug_used, donor_idx, units, n_tr)
        if loo_table is not None and len(loo_table):
            same = bool(np.all(np.sign(loo_table["estimate"]) == np.sign(estimate)))
            diagnostics.append(
                Diagnostic(
                    name="leave_one_out",
                    passed=same,
                    value=float(loo_table["estimate"].sub(estimate).abs().max()),
                    required=False,
                    note=(
                        "dropping any one donor with weight > 0.01 keeps the estimate's sign"
                        if same
                        else "dropping one influential donor flips the estimate's sign"
                    ),
                )
            )

    # pre-fit of the estimand: the (average) treated series against the (average) synthetic one
    avg_gap_pre = obs_avg[pre] - synth_avg[pre]
    sd_pre = float(np.std(obs_avg[pre], ddof=1))
    fit_stat = _rmspe(avg_gap_pre) / sd_pre if sd_pre > 0 else np.inf
    who = "the treated unit" if n_tr == 1 else f"the average of the {n_tr} treated units"
    diagnostics.insert(
        0,
        Diagnostic(
            name="pre_fit",
            passed=bool(fit_stat <= PRE_FIT_THRESHOLD),
            statistic=float(fit_stat),
            value=_rmspe(avg_gap_pre),
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
        "notes": notes,
    }
    if P is not None and specs is not None:
        names = [f"{c} [{w[0]}..{w[-1]}]" for c, w in specs]
        extras["v_weights"] = pd.DataFrame(
            np.column_stack([f.v for f in fits]), index=names, columns=treated_list
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


def _placebo_in_time(
    Y: np.ndarray,
    pre: np.ndarray,
    n_tr: int,
    donor_idx: np.ndarray,
    aug_used: bool,
    alpha: float,
    seed: int,
    times: list[Any],
) -> dict[str, Any]:
    """Pretend treatment started earlier; the fake effect should be unremarkable.

    Uses only pre-period data, an outcome-only fit (``V = I``), and the same permutation test. The
    fake date leaves the earlier two thirds of the pre-period for fitting.
    """
    t0 = int(pre.sum())
    h = max(1, min(int((~pre).sum()), t0 // 3))
    if t0 - h < 2:
        return {"passed": None, "note": "pre-period too short for a placebo-in-time check"}
    Yp = Y[:t0]
    fake_pre = np.arange(t0) < t0 - h
    fake_post = ~fake_pre
    fits = [
        _fit_target(i, donor_idx, Yp, fake_pre, fake_pre, fake_post, None, aug_used)
        for i in range(n_tr)
    ]
    gaps = np.column_stack([Yp[:, i] - f.synthetic for i, f in enumerate(fits)])
    ratio = np.array(
        [_rmspe(gaps[fake_post, i]) / max(_rmspe(gaps[fake_pre, i]), 1e-12) for i in range(n_tr)]
    )
    pl = []
    for j in donor_idx:
        others = donor_idx[donor_idx != j]
        fj = _fit_target(j, others, Yp, fake_pre, fake_pre, fake_post, None, aug_used)
        g = Yp[:, j] - fj.synthetic
        pl.append(_rmspe(g[fake_post]) / max(_rmspe(g[fake_pre]), 1e-12))
    null = _null_averages(np.array(pl), n_tr, seed)
    p = _perm_p(null, float(ratio.mean()))
    fake_time = times[t0 - h]
    resolvable = 1.0 / (1 + null.size) <= alpha
    out: dict[str, Any] = {
        "fake_treatment_time": fake_time,
        "estimate": float(gaps[fake_post].mean()),
        "ratio": float(ratio.mean()),
        "p_value": p,
    }
    if resolvable:
        out["passed"] = bool(p > alpha)
        out["note"] = f"pretending treatment began at {fake_time} gives a fake effect " + (
            "that is unremarkable among placebos" if p > alpha else "that stands out (p <= alpha)"
        )
    else:
        out["passed"] = None
        out["note"] = (
            f"pretending treatment began at {fake_time}: permutation p = {p:.3f}, but with "
            f"{null.size} placebo draws the test cannot reach alpha={alpha}"
        )
    return out


def _leave_one_out(
    fits: list[_Fit],
    Y: np.ndarray,
    pre: np.ndarray,
    fit: np.ndarray,
    post: np.ndarray,
    P: np.ndarray | None,
    aug_used: bool,
    donor_idx: np.ndarray,
    units: list[Any],
    n_tr: int,
    max_donors: int = 10,
) -> pd.DataFrame | None:
    """Refit without each influential donor (SC weight > 0.01), largest weights first."""
    w = np.max(np.column_stack([f.weights_scm for f in fits]), axis=1)
    order = [int(i) for i in np.argsort(-w, kind="stable") if w[i] > 0.01][:max_donors]
    if len(donor_idx) < 3:
        return None
    rows = []
    for pos in order:
        keep = np.delete(donor_idx, pos)
        est = []
        for i in range(n_tr):
            f = _fit_target(i, keep, Y, pre, fit, post, P, aug_used)
            est.append(float((Y[post, i] - f.synthetic[post]).mean()))
        rows.append(
            {
                "dropped_donor": units[donor_idx[pos]],
                "weight": float(w[pos]),
                "estimate": float(np.mean(est)),
            }
        )
    return pd.DataFrame(rows)
