"""Shared inference rows: Wald p-values, critical values and intervals.

Every estimator that reports ``estimate``, ``se``, ``ci_low``, ``ci_high`` and ``p_value`` from a
(normal or Student t) reference distribution computes them here, so the rule is written once:

* the two-sided Wald p-value ``2 · P(Z > |estimate / se|)`` (``Z`` standard normal, or Student t
  on ``df`` degrees of freedom), NaN when the standard error is not positive;
* the interval ``estimate ± c · se`` with ``c`` the ``1 - alpha / 2`` quantile of the same
  distribution;
* the percentile interval of bootstrap or simulation draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "check_alpha",
    "normal_interval",
    "percentile_interval",
    "t_critical",
    "wald_interval",
    "wald_p_value",
    "wald_p_values",
    "z_critical",
]


def check_alpha(alpha: float) -> None:
    """Raise ``ValueError`` unless ``alpha`` is a number strictly between 0 and 1.

    Parameters
    ----------
    alpha : float
        Significance level (unitless).
    """
    try:
        finite = math.isfinite(float(alpha))
    except (TypeError, ValueError):
        finite = False
    if not finite or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")


def z_critical(alpha: float) -> float:
    """Return the two-sided normal critical value ``z_{1 - alpha/2}``.

    Parameters
    ----------
    alpha : float
        Significance level; the interval level is ``1 - alpha``.

    Returns
    -------
    float
        The ``1 - alpha / 2`` quantile of the standard normal (1.959964 for ``alpha = 0.05``).
    """
    return float(stats.norm.ppf(1 - alpha / 2))


def t_critical(alpha: float, df: float) -> float:
    """Return the two-sided Student t critical value ``t_{1 - alpha/2, df}``.

    Parameters
    ----------
    alpha : float
        Significance level; the interval level is ``1 - alpha``.
    df : float
        Degrees of freedom.

    Returns
    -------
    float
        The ``1 - alpha / 2`` quantile of Student's t on ``df`` degrees of freedom.
    """
    return float(stats.t.ppf(1 - alpha / 2, df))


def wald_p_value(estimate: float, se: float, df: float | None = None) -> float:
    """Return the two-sided Wald p-value of ``estimate / se``.

    Parameters
    ----------
    estimate : float
        Point estimate (any unit).
    se : float
        Its standard error (same unit).
    df : float, optional
        Degrees of freedom of a Student t reference; ``None`` (default) uses the standard normal.

    Returns
    -------
    float
        ``2 · P(T > |estimate / se|)``; NaN when ``se`` is not positive (zero or NaN).
    """
    if not se > 0:
        return math.nan
    z = abs(estimate / se)
    if df is None:
        return float(2 * stats.norm.sf(z))
    return float(2 * stats.t.sf(z, df))


def wald_p_values(estimates: ArrayLike, ses: ArrayLike, df: float | None = None) -> np.ndarray:
    """Return two-sided Wald p-values element-wise (the array form of :func:`wald_p_value`).

    Parameters
    ----------
    estimates : array_like
        Point estimates.
    ses : array_like
        Their standard errors, broadcastable against ``estimates``.
    df : float, optional
        Degrees of freedom of a Student t reference; ``None`` (default) uses the standard normal.

    Returns
    -------
    numpy.ndarray
        ``2 · P(T > |estimate / se|)`` per element; NaN where ``se`` is not positive.
    """
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(est / se)
    p = 2 * (stats.norm.sf(z) if df is None else stats.t.sf(z, df))
    return np.where(se > 0, p, np.nan)


def wald_interval(
    estimate: Any, se: Any, alpha: float = 0.05, df: float | None = None
) -> tuple[Any, Any]:
    """Return the Wald interval ``estimate ± c · se``.

    Parameters
    ----------
    estimate : float or array_like
        Point estimate(s).
    se : float or array_like
        Standard error(s), same unit.
    alpha : float, default 0.05
        Significance level; the interval level is ``1 - alpha``.
    df : float, optional
        Degrees of freedom of a Student t critical value ``c``; ``None`` (default) uses the
        normal ``z_{1 - alpha/2}``.

    Returns
    -------
    tuple
        ``(estimate - c · se, estimate + c · se)``, scalars or arrays like the input.
    """
    crit = z_critical(alpha) if df is None else t_critical(alpha, df)
    return estimate - crit * se, estimate + crit * se


def normal_interval(estimate: float, se: float, alpha: float = 0.05) -> tuple[float, float]:
    """Return ``estimate ± z_{1-alpha/2} · se`` as two floats, after checking ``alpha``.

    Parameters
    ----------
    estimate : float
        Point estimate.
    se : float
        Its standard error.
    alpha : float, default 0.05
        Significance level, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    check_alpha(alpha)
    z = z_critical(alpha)
    return float(estimate - z * se), float(estimate + z * se)


def percentile_interval(draws: ArrayLike, alpha: float = 0.05) -> tuple[float, float]:
    """Return the percentile interval of bootstrap or simulation draws.

    Parameters
    ----------
    draws : array_like
        One-dimensional draws of a statistic.
    alpha : float, default 0.05
        Significance level; the interval runs from the ``alpha / 2`` to the ``1 - alpha / 2``
        quantile (numpy's default linear interpolation).

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when there are no draws.
    """
    d = np.asarray(draws, dtype=float)
    if d.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)
