"""Two-period (2x2) panel difference-in-differences estimators with influence functions.

These are the building blocks of :func:`salesinsight.causal.did.staggered_did`: each
group-time ATT(g, t) is a 2x2 comparison of the change in the outcome between a base period and
period ``t`` for the units first treated in ``g`` against a control group. The estimators follow
Sant'Anna & Zhao (2020, *J. Econometrics*) as implemented in the R package ``DRDID`` (1.4) and used
by R ``did`` (2.5):

- :func:`drdid_panel` -- locally efficient doubly robust estimator (logit propensity score by
  maximum likelihood, OLS outcome regression on the controls); this is what R ``did`` uses for
  ``est_method = "dr"``;
- :func:`drdid_imp_panel` -- the "improved" doubly robust estimator (propensity score by inverse
  probability tilting, outcome regression weighted by ps / (1 - ps)), whose influence function has
  no estimation-effect terms;
- :func:`std_ipw_did_panel` -- normalised (Hajek) inverse probability weighting;
- :func:`reg_did_panel` -- outcome regression.

Every function takes arrays of length ``n`` (units), returns the ATT and its influence function
``psi`` (shape ``(n,)``) normalised so that ``se = sqrt(mean(psi**2) / n)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit

__all__ = [
    "DiD2x2",
    "drdid_imp_panel",
    "drdid_panel",
    "logit_mle",
    "reg_did_panel",
    "std_ipw_did_panel",
]

_EPS = float(np.finfo(float).eps)
#: propensity scores are capped at 1 - 1e-6 (as DRDID does).
_PS_CAP = 1.0 - 1e-6


class DiD2x2(NamedTuple):
    """Result of a 2x2 estimator.

    Attributes
    ----------
    att : float
        Average treatment effect on the treated, in outcome units.
    inf_func : ndarray, shape (n,)
        Influence function; ``sqrt(mean(inf_func**2) / n)`` is the standard error.
    """

    att: float
    inf_func: np.ndarray


# ---------------------------------------------------------------------- inputs
def _inputs(
    y1: np.ndarray,
    y0: np.ndarray,
    d: np.ndarray,
    covariates: np.ndarray | None,
    i_weights: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y1 = np.asarray(y1, dtype=float)
    y0 = np.asarray(y0, dtype=float)
    d = np.asarray(d, dtype=float)
    n = d.shape[0]
    if y1.shape != (n,) or y0.shape != (n,):
        raise ValueError(
            f"y1, y0 and D must be vectors of the same length, got {y1.shape}, "
            f"{y0.shape}, {d.shape}"
        )
    if not np.all((d == 0) | (d == 1)):
        raise ValueError("D must contain only 0 and 1")
    if covariates is None:
        x = np.ones((n, 1))
    else:
        x = np.asarray(covariates, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[0] != n:
            raise ValueError(f"covariates must have {n} rows, got {x.shape[0]}")
    if i_weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(i_weights, dtype=float)
        if w.shape != (n,) or np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ValueError("i_weights must be a finite non-negative vector of length n")
        w = w / w.mean()
    return y1 - y0, d, x, w


def _rcond(a: np.ndarray) -> float:
    """Reciprocal condition number in the 1-norm (as R's ``rcond``)."""
    try:
        return float(1.0 / np.linalg.cond(a, 1))
    except np.linalg.LinAlgError:
        return 0.0


def _checked_inv(a: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(a)) or _rcond(a) < _EPS:
        raise np.linalg.LinAlgError(
            f"the {what} design matrix is singular; consider removing some covariates"
        )
    return np.linalg.inv(a)


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weighted least squares coefficients of ``y ~ x`` on rows ``mask``."""
    xm, ym, wm = x[mask], y[mask], w[mask]
    xtwx = xm.T @ (wm[:, None] * xm)
    _checked_inv(xtwx / max(len(ym), 1), "outcome regression")
    return np.linalg.solve(xtwx, xm.T @ (wm * ym))


def logit_mle(
    d: np.ndarray, x: np.ndarray, w: np.ndarray, *, tol: float = 1e-12, max_iter: int = 100
) -> np.ndarray:
    """Weighted logistic regression by Newton-Raphson; returns the coefficients.

    Parameters
    ----------
    d : ndarray, shape (n,)
        0/1 outcome.
    x : ndarray, shape (n, k)
        Design matrix (with intercept).
    w : ndarray, shape (n,)
        Non-negative weights.
    """
    k = x.shape[1]
    beta = np.zeros(k)
    pbar = float(np.clip(np.average(d, weights=w), 1e-6, 1 - 1e-6))
    # start at the intercept-only solution when the first column is constant
    if np.allclose(x[:, 0], x[0, 0]) and x[0, 0] != 0:
        beta[0] = np.log(pbar / (1 - pbar)) / x[0, 0]
    for _ in range(max_iter):
        p = expit(x @ beta)
        grad = x.T @ (w * (d - p))
        hess = x.T @ ((w * p * (1 - p))[:, None] * x)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError("propensity score Hessian is singular") from err
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            break
    return beta


def _pscore_logit(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted (capped) propensity scores and ``n * (X' W X)^{-1}`` at the fitted values."""
    n = d.shape[0]
    beta = logit_mle(d, x, w)
    ps = np.minimum(expit(x @ beta), _PS_CAP)
    info = x.T @ ((w * ps * (1 - ps))[:, None] * x)
    return ps, _checked_inv(info, "propensity score") * n


def _trim(ps: np.ndarray, d: np.ndarray, trim_level: float) -> np.ndarray:
    """1 for treated units and for controls with ps < trim_level, else 0 (DRDID's trimming)."""
    keep = np.ones_like(ps)
    ctrl = d == 0
    keep[ctrl] = (ps[ctrl] < trim_level).astype(float)
    return keep


# ---------------------------------------------------------------------- estimators
def reg_did_panel(
    y1: np.ndarray,
    y0: np.ndarray,
    D: np.ndarray,
    covariates: np.ndarray | None = None,
    i_weights: np.ndarray | None = None,
) -> DiD2x2:
    """Outcome-regression DiD for panel data (Heckman, Ichimura & Todd 1997).

    Parameters
    ----------
    y1, y0 : ndarray, shape (n,)
        Outcome in the post and base period.
    D : ndarray, shape (n,)
        1 for the treated group, 0 for the comparison group.
    covariates : ndarray, shape (n, k), optional
        Design matrix including the intercept column; ``None`` means intercept only.
    i_weights : ndarray, shape (n,), optional
        Sampling weights (normalised to mean one).
    """
    dy, d, x, w = _inputs(y1, y0, D, covariates, i_weights)
    n = d.shape[0]
    coef = _wls(dy, x, w, d == 0)
    out_delta = x @ coef
    w_treat = w * d
    m_treat = w_treat.mean()
    att_treat = w_treat * dy
    att_cont = w_treat * out_delta
    eta_treat = att_treat.mean() / m_treat
    eta_cont = att_cont.mean() / m_treat
    w_ols = w * (1 - d)
    xpx_inv = _checked_inv((w_ols[:, None] * x).T @ x / n, "outcome regression")
    lin_rep_ols = ((w_ols * (dy - out_delta))[:, None] * x) @ xpx_inv
    inf_treat = (att_treat - w_treat * eta_treat) / m_treat
    m1 = (w_treat[:, None] * x).mean(axis=0)
    inf_control = (att_cont - w_treat * eta_cont + lin_rep_ols @ m1) / m_treat
    return DiD2x2(float(eta_treat - eta_cont), inf_treat - inf_control)


def std_ipw_did_panel(
    y1: np.ndarray,
    y0: np.ndarray,
    D: np.ndarray,
    covariates: np.ndarray | None = None,
    i_weights: np.ndarray | None = None,
    trim_level: float = 0.995,
) -> DiD2x2:
    """Normalised inverse-probability-weighted DiD for panel data (Abadie 2005, Hajek weights).

    Parameters as :func:`reg_did_panel`; ``trim_level`` drops comparison units whose propensity
    score is at or above it.
    """
    dy, d, x, w = _inputs(y1, y0, D, covariates, i_weights)
    ps, hess = _pscore_logit(d, x, w)
    keep = _trim(ps, d, trim_level)
    w_treat = keep * w * d
    w_cont = keep * w * ps * (1 - d) / (1 - ps)
    m_treat, m_cont = w_treat.mean(), w_cont.mean()
    att_treat = w_treat * dy
    att_cont = w_cont * dy
    eta_treat = att_treat.mean() / m_treat
    eta_cont = att_cont.mean() / m_cont
    lin_rep_ps = ((w * (d - ps))[:, None] * x) @ hess
    inf_treat = (att_treat - w_treat * eta_treat) / m_treat
    m2 = ((w_cont * (dy - eta_cont))[:, None] * x).mean(axis=0)
    inf_control = (att_cont - w_cont * eta_cont + lin_rep_ps @ m2) / m_cont
    return DiD2x2(float(eta_treat - eta_cont), inf_treat - inf_control)


def drdid_panel(
    y1: np.ndarray,
    y0: np.ndarray,
    D: np.ndarray,
    covariates: np.ndarray | None = None,
    i_weights: np.ndarray | None = None,
    trim_level: float = 0.995,
) -> DiD2x2:
    """Locally efficient doubly robust DiD for panel data (Sant'Anna & Zhao 2020, eq. 3.1).

    Logit propensity score by maximum likelihood and OLS outcome regression of the change in the
    outcome on the comparison units; the influence function includes the estimation effect of both
    nuisance models. Parameters as :func:`std_ipw_did_panel`.
    """
    dy, d, x, w = _inputs(y1, y0, D, covariates, i_weights)
    n = d.shape[0]
    ps, hess = _pscore_logit(d, x, w)
    keep = _trim(ps, d, trim_level)
    coef = _wls(dy, x, w, d == 0)
    out_delta = x @ coef
    resid = dy - out_delta
    w_treat = keep * w * d
    w_cont = keep * w * ps * (1 - d) / (1 - ps)
    m_treat, m_cont = w_treat.mean(), w_cont.mean()
    att_treat = w_treat * resid
    att_cont = w_cont * resid
    eta_treat = att_treat.mean() / m_treat
    eta_cont = att_cont.mean() / m_cont

    w_ols = w * (1 - d)
    xpx_inv = _checked_inv((w_ols[:, None] * x).T @ x / n, "outcome regression")
    lin_rep_ols = ((w_ols * resid)[:, None] * x) @ xpx_inv
    lin_rep_ps = ((w * (d - ps))[:, None] * x) @ hess

    m1 = (w_treat[:, None] * x).mean(axis=0)
    inf_treat = (att_treat - w_treat * eta_treat - lin_rep_ols @ m1) / m_treat
    m2 = ((w_cont * (resid - eta_cont))[:, None] * x).mean(axis=0)
    m3 = (w_cont[:, None] * x).mean(axis=0)
    inf_control = (att_cont - w_cont * eta_cont + lin_rep_ps @ m2 - lin_rep_ols @ m3) / m_cont
    return DiD2x2(float(eta_treat - eta_cont), inf_treat - inf_control)


def _ipt_pscore(d: np.ndarray, x: np.ndarray, w: np.ndarray, max_iter: int = 200) -> np.ndarray:
    """Inverse probability tilting propensity score (Graham, Pinto & Egel 2012).

    Minimises the convex loss ``-mean(w * (D * x'g - (1 - D) * exp(x'g)))`` by damped Newton,
    whose first-order condition balances the covariate means of the re-weighted comparison group
    with the treated; returns ``expit(x'g)``.
    """
    n = d.shape[0]
    gamma = logit_mle(d, x, w)

    def loss(g: np.ndarray) -> float:
        idx = x @ g
        return float(-np.mean(w * np.where(d == 1, idx, -np.exp(idx))))

    val = loss(gamma)
    for _ in range(max_iter):
        idx = x @ gamma
        e = np.exp(idx)
        grad = -((w * np.where(d == 1, 1.0, -e))[:, None] * x).mean(axis=0)
        hess = (x.T @ ((w * (1 - d) * e)[:, None] * x)) / n
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError("inverse probability tilting Hessian is singular") from err
        t = 1.0
        while t > 1e-10:
            cand = gamma - t * step
            new = loss(cand)
            if np.isfinite(new) and new <= val + 1e-4 * t * float(grad @ (-step)):
                break
            t /= 2
        gamma, val = cand, new
        if np.max(np.abs(grad)) < 1e-10:
            break
    return expit(x @ gamma)


def drdid_imp_panel(
    y1: np.ndarray,
    y0: np.ndarray,
    D: np.ndarray,
    covariates: np.ndarray | None = None,
    i_weights: np.ndarray | None = None,
    trim_level: float = 0.995,
) -> DiD2x2:
    """Improved (locally efficient, doubly robust) DiD for panel data (Sant'Anna & Zhao 2020, 3.2).

    Propensity score by inverse probability tilting and outcome regression by weighted least
    squares on the comparison units with weights ``ps / (1 - ps)``; with these nuisance estimators
    the influence function has no estimation effect. Parameters as :func:`std_ipw_did_panel`.
    """
    dy, d, x, w = _inputs(y1, y0, D, covariates, i_weights)
    ps = np.minimum(_ipt_pscore(d, x, w), _PS_CAP)
    keep = _trim(ps, d, trim_level)
    coef = _wls(dy, x, keep * w * ps / (1 - ps), d == 0)
    resid = dy - x @ coef
    w_treat = keep * w * d
    w_cont = keep * w * ps * (1 - d) / (1 - ps)
    m_treat, m_cont = w_treat.mean(), w_cont.mean()
    att_treat = w_treat * resid
    att_cont = w_cont * resid
    eta_treat = att_treat.mean() / m_treat
    eta_cont = att_cont.mean() / m_cont
    inf = (att_treat - w_treat * eta_treat) / m_treat - (att_cont - w_cont * eta_cont) / m_cont
    return DiD2x2(float(eta_treat - eta_cont), inf)
