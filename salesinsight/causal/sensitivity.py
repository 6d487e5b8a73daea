"""How strong unmeasured confounding would have to be to explain an observational estimate away.

* :func:`e_value` (VanderWeele & Ding 2017): the minimum strength of association, on the risk-ratio
  scale, that an unmeasured confounder would need with both treatment and outcome to move the
  estimate (or its confidence limit) to the null. Continuous outcomes are converted with the
  standardized mean difference ``d = estimate / sd(outcome)`` and ``RR ~ exp(0.91 d)``
  (VanderWeele & Ding 2017, section 4).
* :func:`robustness_value` (Cinelli & Hazlett 2020, omitted-variable-bias framework for a
  regression estimate): the share of residual variance of both treatment and outcome that a
  confounder would need to explain to reduce the estimate by ``100 q %`` (``RV_q``), or to make
  it statistically insignificant at ``alpha`` (``RV_q,alpha``), plus the partial R^2 of the
  treatment with the outcome.

Both are bounds on *how much* confounding is needed, not evidence that there is none: a small
value warns that modest confounding (e.g. managers' unrecorded judgement of who will improve)
could explain the result.
"""

from __future__ import annotations

import math

import numpy as np

from salesinsight.causal.effect import Effect
from salesinsight.causal.inference import t_critical

__all__ = ["e_value", "e_value_rr", "effect_e_value", "robustness_value"]


def e_value_rr(rr: float) -> float:
    """Return the E-value of a risk ratio: ``RR + sqrt(RR (RR - 1))`` after flipping RR < 1 to 1 / RR."""
    if not rr > 0:
        raise ValueError(f"risk ratio must be > 0, got {rr!r}")
    r = rr if rr >= 1 else 1.0 / rr
    return float(r + math.sqrt(r * (r - 1.0)))


def e_value(
    estimate: float, ci_low: float, ci_high: float, *, sd: float | None = None
) -> dict[str, float]:
    """Return the E-values of a point estimate and of the confidence limit closest to the null.

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        A risk ratio and its interval (``sd=None``), or a difference in means of a continuous
        outcome and its interval (give ``sd``, the outcome's standard deviation).
    sd : float, optional
        Outcome standard deviation; converts differences with ``RR = exp(0.91 * diff / sd)``.

    Returns
    -------
    dict
        ``rr`` (risk ratio used), ``e_value`` (point), ``e_value_ci`` (1 when the interval
        contains the null).
    """
    if sd is not None:
        if not sd > 0:
            raise ValueError(f"sd must be > 0, got {sd!r}")
        rr, lo, hi = (math.exp(0.91 * v / sd) for v in (estimate, ci_low, ci_high))
    else:
        rr, lo, hi = estimate, ci_low, ci_high
    if lo <= 1.0 <= hi:
        e_ci = 1.0
    else:
        e_ci = e_value_rr(lo if rr > 1 else hi)
    return {"rr": float(rr), "e_value": e_value_rr(rr), "e_value_ci": float(e_ci)}


def effect_e_value(effect: Effect, *, outcome_sd: float) -> dict[str, float]:
    """:func:`e_value` for an :class:`Effect` on a continuous outcome with sd ``outcome_sd``."""
    return e_value(effect.estimate, effect.ci_low, effect.ci_high, sd=outcome_sd)


def robustness_value(
    t_stat: float, dof: int, *, q: float = 1.0, alpha: float = 0.05
) -> dict[str, float]:
    """Cinelli & Hazlett (2020) robustness values of a regression coefficient.

    Parameters
    ----------
    t_stat : float
        t statistic of the treatment coefficient.
    dof : int
        Residual degrees of freedom of the regression.
    q : float, default 1
        Fraction of the estimate to explain away (1 = all of it).
    alpha : float, default 0.05

    Returns
    -------
    dict
        ``partial_r2`` (treatment with outcome), ``rv_q``, ``rv_q_alpha`` (shares in [0, 1]).
    """
    if dof < 2:
        raise ValueError(f"dof must be >= 2, got {dof}")
    f = abs(t_stat) / math.sqrt(dof)

    def rv(fq: float) -> float:
        if fq <= 0:
            return 0.0
        return float(0.5 * (math.sqrt(fq**4 + 4 * fq**2) - fq**2))

    t_crit = t_critical(alpha, dof - 1)
    f_alpha = q * f - t_crit / math.sqrt(dof - 1)
    return {
        "partial_r2": float(t_stat**2 / (t_stat**2 + dof)),
        "rv_q": rv(q * f),
        "rv_q_alpha": rv(f_alpha) if np.isfinite(f_alpha) else 0.0,
    }
