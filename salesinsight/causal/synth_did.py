"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

Unit weights make the weighted comparison units' pre-period *trajectory* parallel to the enrolled
units' average (an intercept absorbs a persistent level difference, as in a DiD); time weights make
the weighted pre-periods predict the comparison units' post-period (so the periods most like the
post-period count, as in a lagged-outcome model). The design is robust to selection on a persistent
level (unit effects) and partly to selection on a recent trajectory (units that share it get the
weight); it is not a cure for a transient shock that only the enrolled had.

Weights follow the reference implementation (R package ``synthdid``): Frank-Wolfe on the simplex
with the ridge penalty ``zeta_omega = (N_tr T_post)^(1/4) sigma`` for units and ``1e-6 sigma`` for
periods, ``sigma`` the standard deviation of the comparison units' first differences before the
start, one sparsification pass. Standard errors: the jackknife over units with the weights held
fixed (the paper's Algorithm 3), which needs at least two enrolled units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.causal.fixed_effects_did import _effect
from salesinsight.causal.unit_history import UnitHistory, unit_history

__all__ = ["simplex_weights", "synthetic_did", "synthetic_did_history"]


def synthetic_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    treatment_time: object,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Synthetic DiD of a program with one start.

    Parameters
    ----------
    df : DataFrame
        Long panel: one row per unit and period.
    outcome, unit, time, treated : str
        Column names; ``treated`` is 0/1 and constant within a unit.
    treatment_time : scalar
        First treated period.
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ``method="synthetic DiD"``; ``extras["unit_weights"]``, ``extras["time_weights"]``.
    """
    h = unit_history(
        df, outcome=outcome, unit=unit, time=time, treated=treated, treatment_time=treatment_time
    )
    return synthetic_did_history(h, outcome=outcome, alpha=alpha, higher_is_better=higher_is_better)


def synthetic_did_history(
    h: UnitHistory, *, outcome: str, alpha: float = 0.05, higher_is_better: bool = True
) -> Effect:
    """:func:`synthetic_did` on a prepared :class:`UnitHistory` (covariates are not used)."""
    yc, yt = h.y[~h.treated], h.y[h.treated]
    t0 = h.start
    n_tr, t_post = yt.shape[0], h.n_post
    diffs = np.diff(yc[:, :t0], axis=1)
    sigma = float(diffs.std(ddof=1)) if diffs.size > 1 else 0.0
    zeta_omega = (n_tr * t_post) ** 0.25 * sigma
    zeta_lambda = 1e-6 * sigma
    min_dec = 1e-5 * sigma if sigma > 0 else 1e-8
    # time weights: the comparison units' pre-periods predicting their own post-period mean
    lam = simplex_weights(
        yc[:, :t0], yc[:, t0:].mean(axis=1), zeta=zeta_lambda, min_decrease=min_dec
    )
    # unit weights: comparison trajectories matching the enrolled average before the start
    omega = simplex_weights(
        yc[:, :t0].T, yt[:, :t0].mean(axis=0), zeta=zeta_omega, min_decrease=min_dec
    )
    est = _sdid(yc, yt, t0, omega, lam)
    se = _jackknife_se(yc, yt, t0, omega, lam)
    gap = yt[:, :t0].mean(axis=0) - omega @ yc[:, :t0]
    fit_rmse = float(np.sqrt(np.mean((gap - gap.mean()) ** 2)))
    dof = max(n_tr - 1, 1)
    return _effect(
        h,
        est,
        se,
        dof,
        method="synthetic DiD",
        outcome=outcome,
        alpha=alpha,
        higher_is_better=higher_is_better,
        diagnostics=(
            Diagnostic(
                "pre_fit",
                None,
                value=fit_rmse,
                required=False,
                note=f"root mean squared gap between the enrolled units and their synthetic "
                f"comparison before the start, after the level shift: {fit_rmse:.4g}",
            ),
        ),
        spec={
            "assumption": "parallel trends of the weighted comparison units",
            "inference": f"jackknife over units with fixed weights (Arkhangelsky et al. 2021, "
            f"Algorithm 3), t with {dof} df",
            "zeta_omega": zeta_omega,
        },
        baseline=float(yt[:, t0:].mean() - est),
        extras={
            "unit_weights": pd.Series(omega, index=h.units[~h.treated], name="weight"),
            "time_weights": pd.Series(lam, index=h.times[:t0], name="weight"),
        },
    )


def _sdid(yc: np.ndarray, yt: np.ndarray, t0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    tr = yt[:, t0:].mean() - float(yt[:, :t0].mean(axis=0) @ lam)
    co = float(omega @ (yc[:, t0:].mean(axis=1) - yc[:, :t0] @ lam))
    return float(tr - co)


def _jackknife_se(
    yc: np.ndarray, yt: np.ndarray, t0: int, omega: np.ndarray, lam: np.ndarray
) -> float:
    """Leave-one-unit-out jackknife standard error with fixed weights.

    Weights are renormalized when a comparison unit is left out; NaN with fewer than two enrolled
    units or a single weighted comparison unit.
    """
    n_tr = yt.shape[0]
    if n_tr < 2 or int((omega > 0).sum()) < 2:
        return float("nan")
    d_tr = yt[:, t0:].mean(axis=1) - yt[:, :t0] @ lam  # per enrolled unit
    d_co = yc[:, t0:].mean(axis=1) - yc[:, :t0] @ lam
    co = float(omega @ d_co)
    tr_sum = float(d_tr.sum())
    loo_tr = (tr_sum - d_tr) / (n_tr - 1) - co
    w_left = 1.0 - omega
    keep = w_left > 1e-12
    loo_co = tr_sum / n_tr - (co - omega[keep] * d_co[keep]) / w_left[keep]
    loo = np.concatenate([loo_tr, loo_co])
    n = loo.size
    return float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))


def simplex_weights(
    a: np.ndarray,
    b: np.ndarray,
    *,
    zeta: float,
    min_decrease: float = 1e-8,
    max_iter: int = 1000,
    sparsify: bool = True,
) -> np.ndarray:
    """Find simplex weights by Frank-Wolfe, as ``synthdid::sc.weight.fw``.

    They minimize ``|A_c w + w0 - b_c|^2 / n + zeta^2 |w|^2`` with an intercept ``w0`` (columns
    centred).

    Parameters
    ----------
    a : ndarray, shape (n, k)
        Each column a candidate (a comparison unit's pre-period path, or a pre-period's values
        across comparison units).
    b : ndarray, shape (n,)
        Target.
    zeta : float
        Ridge penalty.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a = a - a.mean(axis=0)
    b = b - b.mean()
    n, k = a.shape
    w = np.full(k, 1.0 / k)
    w = _fw(a, b, w, n * zeta**2, min_decrease, 100 if sparsify else max_iter)
    if sparsify:
        w = np.where(w <= w.max() / 4, 0.0, w)
        w = w / w.sum()
        w = _fw(a, b, w, n * zeta**2, min_decrease, max_iter * 10)
    return w


def _fw(
    a: np.ndarray, b: np.ndarray, w: np.ndarray, eta: float, min_dec: float, max_iter: int
) -> np.ndarray:
    """Take Frank-Wolfe steps on the simplex for ``|A w - b|^2 + eta |w|^2``.

    The steps work on the Gram matrix, so that each costs O(k).
    """
    n = a.shape[0]
    g = a.T @ a
    c = a.T @ b
    bb = float(b @ b)
    w = w.astype(float).copy()
    gw = g @ w
    prev = np.inf
    for it in range(max_iter):
        grad = gw - c + eta * w
        i = int(np.argmin(grad))
        ww, wgw = float(w @ w), float(w @ gw)
        gd = float(grad[i] - grad @ w)  # grad . (e_i - w)
        denom = float(g[i, i] - 2.0 * gw[i] + wgw + eta * (1.0 - 2.0 * w[i] + ww))
        if denom <= 0 or gd >= 0:
            break
        step = min(1.0, -gd / denom)
        w *= 1.0 - step
        w[i] += step
        gw = (1.0 - step) * gw + step * g[:, i]
        val = (eta * float(w @ w) + float(w @ gw) - 2.0 * float(c @ w) + bb) / n
        if it >= 1 and prev - val <= min_dec**2:
            break
        prev = val
    return w
