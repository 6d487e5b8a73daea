"""Synthetic-control weight fitting: simplex weights, nested V/W optimisation, ridge augmentation.

* donor weights ``W`` on the simplex minimise ``(X1 - X0 W)' V (X1 - X0 W)`` over predictors
  ``X`` (each predictor row scaled by its standard deviation across treated + donors);
* the diagonal predictor weights ``V`` minimise the mean squared pre-period outcome gap over the fit
  window (nested optimisation, Nelder-Mead then Powell from two deterministic starts: equal weights
  and the regression-based start of R ``Synth``);
* with no predictors the predictors are the pre-period outcomes themselves and ``V = I``
  (one quadratic programme);
* ridge-augmented SC (Ben-Michael, Feller & Rothstein 2021) corrects the remaining pre-period
  imbalance with a ridge regression of the donors' outcomes on their pre-period outcomes; the
  implied weights may be negative; the ridge penalty is chosen by generalized cross-validation.

Used by :func:`salesinsight.causal.synth.synthetic_control` and the placebo refits in
:mod:`salesinsight.causal.synth_inference`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["SynthFit", "fit_target", "rmspe", "simplex_weights"]


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
class SynthFit:
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


def fit_target(
    target: int,
    donors: np.ndarray,
    Y: np.ndarray,
    pre: np.ndarray,
    fit: np.ndarray,
    post: np.ndarray,
    P: np.ndarray | None,
    augment: bool,
) -> SynthFit:
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
    return SynthFit(final, w, v, Y0 @ final, lam)


def rmspe(g: np.ndarray) -> float:
    """Root mean squared prediction error of the gaps ``g`` (any shape), in outcome units."""
    return float(np.sqrt(np.mean(g**2)))
