"""Romano-Wolf step-down multiplicity control from bootstrap draws (Romano and Wolf 2005, 2016).

For hypotheses ``j = 1..m`` with estimates ``theta_j``, bootstrap draws ``theta*_bj`` (the *same*
resampling for every hypothesis, so the draws keep the estimates' dependence) and bootstrap standard
errors ``s_j``, the statistics are ``t_j = |theta_j| / s_j`` and their null distribution is that of
the centred draws ``t*_bj = |theta*_bj - theta_j| / s_j``. Ordered ``t_(1) >= ... >= t_(m)``, the
adjusted p-value of the k-th is

    p_(k) = max over i <= k of  (1 + #{b : max over j in {(i), ..., (m)} of t*_bj >= t_(i)}) / (B + 1)

It controls the family-wise error rate, like Holm, but uses the dependence between the statistics,
so it rejects at least as often as Holm when they are correlated (and about as often when not).

Hypotheses without joint draws (e.g. a regression-discontinuity or a program evaluation with its own
analytic p-value) enter with their two-sided p-value turned into ``t_j = Phi^-1(1 - p_j / 2)`` and a
null of independent ``|N(0, 1)|`` draws. By the Gaussian correlation inequality (Royen 2014) the
probability that all of a set of jointly normal statistics stay inside symmetric bounds is at least
the product over independent blocks, so treating the blocks as independent gives critical values that
are too large, never too small: the family-wise error rate stays controlled (asymptotically, for
normal statistics), at the price of some power.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["romano_wolf", "romano_wolf_from_draws"]


def romano_wolf(t_obs: np.ndarray, t_null: np.ndarray) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values.

    Parameters
    ----------
    t_obs : array, shape (m,)
        Observed test statistics (larger = more evidence against the null), e.g. ``|estimate| / se``.
        Non-finite entries get a NaN p-value and are left out of the family.
    t_null : array, shape (B, m)
        Draws of the statistics under the null, jointly per row (e.g. centred, studentized bootstrap
        draws); rows with any non-finite entry among the finite ``t_obs`` columns are dropped.

    Returns
    -------
    array, shape (m,)
        Adjusted p-values in (0, 1], monotone in the ordering of ``t_obs``.
    """
    t_obs = np.asarray(t_obs, dtype=float)
    t_null = np.asarray(t_null, dtype=float)
    if t_null.ndim != 2 or t_null.shape[1] != len(t_obs):
        raise ValueError(
            f"romano_wolf: t_null must have shape (draws, {len(t_obs)}), got {t_null.shape}"
        )
    out = np.full(len(t_obs), np.nan)
    ok = np.flatnonzero(np.isfinite(t_obs))
    if not len(ok):
        return out
    null = t_null[:, ok]
    null = null[np.isfinite(null).all(axis=1)]
    if len(null) < 10:
        raise ValueError(f"romano_wolf: only {len(null)} usable null draws")
    order = ok[np.argsort(-t_obs[ok], kind="stable")]
    col = {j: i for i, j in enumerate(ok)}
    running = 0.0
    for k, j in enumerate(order):
        rest = [col[i] for i in order[k:]]
        max_null = null[:, rest].max(axis=1)
        p = (1.0 + float((max_null >= t_obs[j]).sum())) / (len(null) + 1.0)
        running = max(running, p)
        out[j] = min(running, 1.0)
    return out


def romano_wolf_from_draws(
    estimates: np.ndarray,
    draws: np.ndarray,
    *,
    p_values: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Romano-Wolf adjusted p-values from point estimates and joint bootstrap draws.

    Parameters
    ----------
    estimates : array, shape (m,)
    draws : array, shape (B, m)
        Joint bootstrap draws; a column of all NaN marks a hypothesis without draws, which then
        enters through ``p_values`` (see the module docstring).
    p_values : array, shape (m,), optional
        Two-sided p-values, used only for hypotheses without draws.
    seed : int, default 0
        Seed of the independent normal null draws of hypotheses without bootstrap draws.

    Returns
    -------
    array, shape (m,)
    """
    est = np.asarray(estimates, dtype=float)
    d = np.asarray(draws, dtype=float)
    m = len(est)
    if d.ndim != 2 or d.shape[1] != m:
        raise ValueError(f"romano_wolf_from_draws: draws must have shape (B, {m}), got {d.shape}")
    has = np.isfinite(d).any(axis=0)
    t_obs = np.full(m, np.nan)
    t_null = np.full(d.shape, np.nan)
    if has.any():
        sub = d[:, has]
        sub = np.where(np.isfinite(sub).all(axis=1, keepdims=True), sub, np.nan)
        se = np.nanstd(sub, axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_obs[has] = np.abs(est[has]) / se
            t_null[:, has] = np.abs(sub - est[has]) / se
    rest = ~has
    if rest.any():
        if p_values is None:
            raise ValueError("romano_wolf_from_draws: hypotheses without draws need p_values")
        p = np.clip(np.asarray(p_values, dtype=float)[rest], 1e-300, 1.0)
        t_obs[rest] = stats.norm.isf(p / 2)
        rng = np.random.default_rng(seed)
        t_null[:, rest] = np.abs(rng.standard_normal((d.shape[0], int(rest.sum()))))
    return romano_wolf(t_obs, t_null)
