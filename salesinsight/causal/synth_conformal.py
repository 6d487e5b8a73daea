"""Conformal inference for synthetic control (Chernozhukov, Wüthrich & Zhu 2021, JASA).

For a hypothesised constant effect ``theta`` on the post-period, the treated series (the average of
the treated units) is adjusted to ``y - theta * post``, synthetic-control weights are refitted on
*all* periods (pre and post) of the adjusted series, and the residuals ``u`` are computed. Under the
null the residuals are (approximately) exchangeable over time, so the statistic
``S(u) = |sum of the post-period residuals|`` is compared with its values under the ``T`` moving-
block permutations ``t -> t + j mod T`` (which keep serial dependence within blocks). The p-value is
the share of permutations with a statistic at least as large, its smallest value ``1 / T``. The
interval collects every ``theta`` not rejected at ``alpha`` (test inversion), found on a grid
around the point where the post residuals sum to zero and refined by bisection.

Exactness needs exchangeable residuals (stationary, weakly dependent errors) and a synthetic
control that fits the adjusted series; with ``T < 1 / alpha`` periods no ``theta`` can be rejected
and the interval is unbounded. The interval is for the average post-period effect under a constant
effect; it carries no per-period bands (those stay with the placebo-in-space inference).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from salesinsight.causal.inference import z_critical
from salesinsight.causal.synth_fit import simplex_weights

__all__ = ["ConformalInterval", "conformal_interval", "conformal_p_value"]

#: grid half-width around the centre, in units of the residual scale of the post-period mean.
_GRID_HALF_WIDTH = 12.0
_GRID_POINTS = 49
_BISECT_STEPS = 40


@dataclass(frozen=True)
class ConformalInterval:
    """Interval for the average post-period effect by conformal test inversion.

    ``ci_low``/``ci_high`` are in the outcome's units (±inf when unbounded); ``se`` is the
    interval's half-width over the normal quantile (for comparison with other designs only);
    ``p_value`` tests ``theta = 0``; ``n_permutations`` is ``T``; ``centre`` is the effect at
    which the refitted post-period residuals sum to zero.
    """

    ci_low: float
    ci_high: float
    se: float
    p_value: float
    centre: float
    n_permutations: int
    note: str


def _residuals(y: np.ndarray, Y0: np.ndarray, post: np.ndarray, theta: float) -> np.ndarray:
    y_null = y - theta * post
    w = simplex_weights(Y0, y_null)
    return y_null - Y0 @ w


@functools.lru_cache(maxsize=32)
def _permutation_index(n_t: int, n_post: int, scheme: str, n_draws: int) -> np.ndarray:
    """Return the time indices the last ``n_post`` (post) periods take under each permutation.

    The first row is the identity. Fixed seed: the same data give the same p-values.
    """
    post_idx = np.arange(n_t - n_post, n_t)
    if scheme == "moving_block":
        return (np.arange(n_t)[:, None] + post_idx[None, :]) % n_t
    rng = np.random.default_rng(20210101)
    perms = np.vstack([np.arange(n_t)] + [rng.permutation(n_t) for _ in range(n_draws)])
    return perms[:, post_idx]


def conformal_p_value(
    y: np.ndarray,
    Y0: np.ndarray,
    post: np.ndarray,
    theta: float,
    *,
    scheme: str = "moving_block",
    n_draws: int = 999,
) -> float:
    """Moving-block permutation p-value of a constant effect ``theta``.

    Parameters
    ----------
    y : ndarray, shape (T,)
        Treated series (average of the treated units), outcome units.
    Y0 : ndarray, shape (T, J)
        Donor series, one column per donor.
    post : ndarray of bool, shape (T,)
        Post-period periods (the last ``T1`` periods).
    theta : float
        Hypothesised effect in every post period, outcome units.

    Returns
    -------
    float
        Share of the ``T`` cyclic shifts whose |sum of post residuals| is at least the observed one.
    """
    u = _residuals(y, Y0, post, theta)
    n_t = u.size
    post_idx = np.flatnonzero(post)
    if post_idx.size == 0 or post_idx[0] != n_t - post_idx.size or not post[-1]:
        raise ValueError("conformal inference needs the post periods to be the last periods")
    idx = _permutation_index(n_t, int(post_idx.size), scheme, n_draws)
    s = np.abs(u[idx].sum(axis=1))
    s0 = abs(float(u[post_idx].sum()))
    return float(np.mean(s >= s0 - 1e-12 * max(s0, 1.0)))


def _centre(y: np.ndarray, Y0: np.ndarray, post: np.ndarray, start: float) -> float:
    """Effect at which the refitted post residuals average zero (fixed-point iteration)."""
    theta = start
    for _ in range(50):
        step = float(_residuals(y, Y0, post, theta)[post].mean())
        theta += step
        if abs(step) <= 1e-10 * max(1.0, abs(theta)):
            break
    return theta


def _bisect(pv: Callable[[float], float], inside: float, outside: float, alpha: float) -> float:
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (inside + outside)
        if pv(mid) > alpha:
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside)


def conformal_interval(
    y: np.ndarray,
    Y0: np.ndarray,
    post: np.ndarray,
    *,
    alpha: float = 0.05,
    start: float = 0.0,
    scheme: str = "moving_block",
    n_draws: int = 999,
) -> ConformalInterval:
    """Conformal confidence interval for a constant post-period effect.

    Parameters
    ----------
    y : ndarray, shape (T,)
        Treated series (average of the treated units), outcome units.
    Y0 : ndarray, shape (T, J)
        Donor series.
    post : ndarray of bool, shape (T,)
        Post-period mask; the post periods must be the last ones.
    alpha : float, default 0.05
        One minus the confidence level.
    start : float, default 0.0
        Starting value for the centre (e.g. the synthetic-control estimate).
    scheme : {"moving_block", "iid"}
        Permutations over time: the ``T`` cyclic shifts (valid under weak serial dependence) or
        ``n_draws`` random permutations (needs exchangeable, serially independent residuals).
    n_draws : int, default 999
        Random permutations for ``scheme="iid"``.

    Returns
    -------
    ConformalInterval
    """
    y = np.asarray(y, dtype=float)
    Y0 = np.asarray(Y0, dtype=float)
    post = np.asarray(post, dtype=bool)
    n_t, n1 = post.size, int(post.sum())
    z = z_critical(alpha)

    def pv(theta: float) -> float:
        return conformal_p_value(y, Y0, post, theta, scheme=scheme, n_draws=n_draws)

    n_perm = n_t if scheme == "moving_block" else n_draws + 1
    how = (
        f"the {n_t} cyclic shifts over time (moving blocks)"
        if scheme == "moving_block"
        else f"{n_draws} random permutations over time (serially independent residuals)"
    )
    note = (
        f"conformal inference (Chernozhukov, Wüthrich & Zhu 2021): weights refitted on all {n_t} "
        f"periods under each hypothesised constant effect, p-values from {how}"
    )
    p0 = pv(0.0)
    centre = _centre(y, Y0, post, start)
    if n_perm * alpha < 1:
        return ConformalInterval(
            -math.inf,
            math.inf,
            math.inf,
            p0,
            centre,
            n_perm,
            note + f"; with {n_perm} permutations no effect can be rejected at alpha={alpha}, "
            "so the interval is unbounded",
        )
    u = _residuals(y, Y0, post, centre)
    scale = float(np.std(u, ddof=1)) * math.sqrt(1.0 / n1 + 1.0 / max(n_t - n1, 1))
    scale = max(scale, 1e-9 * max(1.0, abs(centre)))
    grid = centre + scale * np.linspace(-_GRID_HALF_WIDTH, _GRID_HALF_WIDTH, _GRID_POINTS)
    accepted = np.array([pv(float(t)) > alpha for t in grid])
    if not accepted.any():
        return ConformalInterval(
            centre, centre, 0.0, p0, centre, n_perm, note + "; every effect tried is rejected"
        )
    first, last = int(np.argmax(accepted)), int(len(grid) - 1 - np.argmax(accepted[::-1]))
    lo = _edge(pv, grid, first, -1, scale, alpha)
    hi = _edge(pv, grid, last, +1, scale, alpha)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        note += "; the accepted effects reach no bound on one side, the interval is open there"
    se = (hi - lo) / (2 * z) if math.isfinite(hi - lo) else math.inf
    return ConformalInterval(float(lo), float(hi), float(se), p0, centre, n_perm, note)


def _edge(
    pv: Callable[[float], float],
    grid: np.ndarray,
    k: int,
    direction: int,
    scale: float,
    alpha: float,
) -> float:
    """Refine the outermost accepted grid point ``k`` towards the first rejected effect.

    Past the grid's end the step doubles (at most 30 times) until an effect is rejected.
    """
    inside = float(grid[k])
    nxt = k + direction
    if 0 <= nxt < grid.size:
        return _bisect(pv, inside, float(grid[nxt]), alpha)
    step = _GRID_HALF_WIDTH * scale
    for _ in range(30):
        outside = inside + direction * step
        if pv(outside) <= alpha:
            return _bisect(pv, inside, outside, alpha)
        inside, step = outside, 2 * step
    return direction * math.inf
