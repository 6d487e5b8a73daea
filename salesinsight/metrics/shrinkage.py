"""Empirical-Bayes shrinkage priors and posteriors (pure functions).

A rate measured on a few trials is a noisy measurement of a true rate; these functions fit the prior of
the true rates across units by marginal maximum likelihood, so that each unit can be shrunk toward the
population by exactly as much as its data warrant:

* proportions: beta-binomial, posterior ``Beta(a + k, b + n - k)`` (:func:`fit_beta_binomial`);
* counts per exposure: gamma-Poisson, posterior ``Gamma(a + y, b + E)`` (:func:`fit_gamma_poisson`);
* amounts: normal-normal with each unit's own sampling variance ``s_i^2`` (:func:`fit_normal_normal`).

:func:`fit_hierarchical` builds the three-level prior rep <- team <- company used by the capability
profiles: team means partially pooled toward the company (between-team variance by ML over teams), one
within-team spread fitted on all units (not per team of ~9 reps, where it can run off to a degenerate
value) with a boundary-avoiding penalty, and the team mean taken from the unit's team-mates
(leave-one-out) with its uncertainty carried into the prior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "HierarchicalPrior",
    "fit_beta_binomial",
    "fit_gamma_poisson",
    "fit_hierarchical",
    "fit_normal_normal",
]


# ----------------------------------------------------------------------------------------------------------
# Empirical-Bayes building blocks (pure functions, tested by hand)
# ----------------------------------------------------------------------------------------------------------
def fit_beta_binomial(
    k: np.ndarray, n: np.ndarray, *, max_kappa: float = 1e5
) -> tuple[float, float]:
    """Fit the beta prior ``Beta(a, b)`` of a beta-binomial by marginal maximum likelihood.

    Parameters
    ----------
    k, n : array of shape (m,)
        Successes and trials per unit (units with ``n == 0`` carry no information and are ignored).
    max_kappa : float
        Upper bound of the prior strength ``a + b`` (reached when units show no extra-binomial spread).

    Returns
    -------
    (a, b) : tuple of float
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if k.size == 0:
        raise ValueError("fit_beta_binomial: no unit has n > 0")
    p = k.sum() / n.sum()
    p = float(np.clip(p, 1e-4, 1 - 1e-4))
    if k.size == 1:
        return p * max_kappa, (1 - p) * max_kappa

    lo_k, hi_k = np.log(0.1), np.log(max_kappa)
    const = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)

    def nll(theta: np.ndarray) -> float:
        mu = special.expit(np.clip(theta[0], -12.0, 12.0))
        kappa = np.exp(np.clip(theta[1], lo_k, hi_k))
        a, b = mu * kappa, (1 - mu) * kappa
        ll = (
            const
            + special.gammaln(k + a)
            + special.gammaln(n - k + b)
            - special.gammaln(n + kappa)
            - special.gammaln(a)
            - special.gammaln(b)
            + special.gammaln(kappa)
        )
        return -float(np.sum(ll))

    start = np.array([special.logit(p), np.log(20.0)])
    # Nelder-Mead on a 2-parameter smooth likelihood: robust and cheap; bounds by clipping
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000}
    )
    res.x = np.array([np.clip(res.x[0], -12.0, 12.0), np.clip(res.x[1], lo_k, hi_k)])
    mu = float(special.expit(res.x[0]))
    kappa = float(np.exp(res.x[1]))
    return mu * kappa, (1 - mu) * kappa


def fit_gamma_poisson(
    y: np.ndarray, exposure: np.ndarray, *, max_shape: float = 1e5
) -> tuple[float, float]:
    """Fit the gamma prior ``Gamma(shape=a, rate=b)`` of ``y ~ Poisson(exposure * lam)`` by marginal ML.

    The marginal of ``y`` is negative binomial with ``n = a`` and ``p = b / (b + exposure)``.

    Returns
    -------
    (a, b) : tuple of float, prior mean ``a / b`` in units of ``y`` per unit of exposure.
    """
    y = np.asarray(y, dtype=float)
    e = np.asarray(exposure, dtype=float)
    keep = e > 0
    y, e = y[keep], e[keep]
    if y.size == 0:
        raise ValueError("fit_gamma_poisson: no unit has exposure > 0")
    rate = max(y.sum() / e.sum(), 1e-8)
    if y.size == 1:
        return max_shape, max_shape / rate

    lo_a, hi_a = np.log(0.05), np.log(max_shape)
    lr = np.log(rate)
    const = -special.gammaln(y + 1)

    def nll(theta: np.ndarray) -> float:
        mu = np.exp(np.clip(theta[0], lr - 10, lr + 10))
        a = np.exp(np.clip(theta[1], lo_a, hi_a))
        b = a / mu
        # negative binomial: Gamma(y + a) / (Gamma(a) y!) (b / (b + e))^a (e / (b + e))^y
        ll = (
            special.gammaln(y + a)
            - special.gammaln(a)
            + const
            + a * np.log(b / (b + e))
            + special.xlogy(y, e / (b + e))
        )
        return -float(np.sum(ll))

    start = np.array([lr, np.log(5.0)])
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000}
    )
    res.x = np.array([np.clip(res.x[0], lr - 10, lr + 10), np.clip(res.x[1], lo_a, hi_a)])
    mu = float(np.exp(res.x[0]))
    a = float(np.exp(res.x[1]))
    return a, a / mu


def fit_normal_normal(y: np.ndarray, s2: np.ndarray) -> tuple[float, float]:
    """Fit ``y_i ~ N(mu, tau^2 + s2_i)`` by maximum likelihood.

    Parameters
    ----------
    y : array of shape (m,)
        Unit estimates.
    s2 : array of shape (m,)
        Their sampling variances (known).

    Returns
    -------
    (mu, tau2) : tuple of float
    """
    y = np.asarray(y, dtype=float)
    s2 = np.asarray(s2, dtype=float)
    keep = np.isfinite(y) & np.isfinite(s2) & (s2 > 0)
    y, s2 = y[keep], s2[keep]
    if y.size == 0:
        raise ValueError("fit_normal_normal: no unit with a finite estimate and variance")
    if y.size == 1:
        return float(y[0]), 0.0

    def profile(tau2: float) -> tuple[float, float]:
        w = 1.0 / (tau2 + s2)
        mu = float(np.sum(w * y) / np.sum(w))
        nll = 0.5 * float(np.sum(np.log(tau2 + s2) + w * (y - mu) ** 2))
        return mu, nll

    upper = float(np.var(y)) * 4 + float(np.max(s2))
    res = optimize.minimize_scalar(lambda t: profile(t)[1], bounds=(0.0, upper), method="bounded")
    tau2 = float(res.x)
    # the boundary tau2 = 0 is a legitimate ML solution; check it explicitly
    if profile(0.0)[1] <= profile(tau2)[1]:
        tau2 = 0.0
    return profile(tau2)[0], tau2


# ----------------------------------------------------------------------------------------------------------
# Hierarchical empirical Bayes: rep <- team <- company, one within-team spread fitted on all reps
# ----------------------------------------------------------------------------------------------------------
_SPREAD_NAME = {"beta": "kappa", "gamma": "shape", "normal": "tau2_rep"}


@dataclass(frozen=True)
class HierarchicalPrior:
    """Fitted three-level prior of one funnel stage (see :func:`fit_hierarchical`).

    Attributes
    ----------
    family : str
        ``"beta"``, ``"gamma"`` or ``"normal"``.
    center : float
        Company mean ``m`` of the stage (ratio of sums for rates; precision-weighted for amounts).
    between_group_var : float
        ``tau_team^2``: variance of the true team means around ``m`` (same scale as the stage).
    spread : float
        Within-team spread of true rep values, shared by every team: the beta strength ``kappa = a + b``,
        the gamma shape, or the normal variance ``tau_rep^2``.
    unit_param1, unit_param2 : array of shape (m,)
        Prior of each unit given the *other* units (leave-one-out team mean): ``(a, b)`` of a beta,
        ``(shape, rate)`` of a gamma or ``(mean, variance)`` of a normal. A unit without data gets the
        prior of a new rep of its group.
    groups : DataFrame
        One row per group: ``group, level`` (``"team"`` or ``"company"`` when the group has fewer than
        ``min_group_size`` units with data), ``n_units, group_mean, group_mean_sd, param1, param2``
        (prior of a new rep of the group) and ``prior_mean``.
    company : tuple of float
        Prior of a rep of an unknown team (between-team plus within-team spread).
    objective : float
        Penalised leave-one-out predictive log-likelihood at the fitted spread.
    """

    family: str
    center: float
    between_group_var: float
    spread: float
    unit_param1: np.ndarray
    unit_param2: np.ndarray
    groups: pd.DataFrame
    company: tuple[float, float]
    objective: float


def _pool(
    r: np.ndarray, v: np.ndarray, ok: np.ndarray, m: float, tau2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the posterior mean and variance of group means.

    Group means ``mu_g ~ N(m, tau2)`` seen as ``r ~ N(mu_g, v)``; groups without data (``ok``
    False) keep the prior ``(m, tau2)``.
    """
    if tau2 <= 0:
        return np.full(r.shape, m), np.zeros(r.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = 1.0 / v + 1.0 / tau2
        mean = (r / v + m / tau2) / prec
    return np.where(ok, mean, m), np.where(ok, 1.0 / prec, tau2)


def _marginal(
    family: str, mean: np.ndarray, var_mean: np.ndarray, spread: float
) -> tuple[np.ndarray, np.ndarray]:
    """Moment-matched prior of a rep's true value when its team mean is ``N(mean, var_mean)``."""
    if family == "beta":
        mu = np.clip(mean, 1e-6, 1 - 1e-6)
        var = mu * (1 - mu) / (spread + 1) + var_mean * spread / (spread + 1)
        strength = np.maximum(mu * (1 - mu) / np.minimum(var, mu * (1 - mu) * (1 - 1e-9)) - 1, 1e-3)
        return mu * strength, (1 - mu) * strength
    if family == "gamma":
        mu = np.maximum(mean, 1e-12)
        var = (mu * mu + var_mean) / spread + var_mean
        return mu * mu / var, mu / var
    return np.asarray(mean, dtype=float), spread + np.asarray(var_mean, dtype=float)


def _log_predictive(
    family: str, x: np.ndarray, n: np.ndarray, p1: np.ndarray, p2: np.ndarray, s2: np.ndarray
) -> np.ndarray:
    """Log density of each unit's data under its (leave-one-out) prior."""
    if family == "beta":
        return (
            special.gammaln(n + 1)
            - special.gammaln(x + 1)
            - special.gammaln(n - x + 1)
            + special.betaln(x + p1, n - x + p2)
            - special.betaln(p1, p2)
        )
    if family == "gamma":
        return (
            special.gammaln(x + p1)
            - special.gammaln(p1)
            - special.gammaln(x + 1)
            + p1 * np.log(p2 / (p2 + n))
            + special.xlogy(x, n / (p2 + n))
        )
    return stats.norm.logpdf(x, loc=p1, scale=np.sqrt(p2 + s2))


def fit_hierarchical(
    family: str,
    x: np.ndarray,
    n: np.ndarray,
    groups: np.ndarray,
    *,
    within_var: float | None = None,
    min_group_size: int = 3,
    n_grid: int = 41,
) -> HierarchicalPrior:
    """Fit a rep <- team <- company empirical-Bayes prior for one funnel stage.

    Model: the true value of rep ``i`` in team ``g`` has mean ``mu_g`` and a within-team spread that is
    the same for every team (beta strength ``kappa``, gamma shape, or normal variance ``tau_rep^2``);
    team means are normal around the company mean, ``mu_g ~ N(m, tau_team^2)``. Estimation:

    * ``m``: company ratio of sums (rates) or precision-weighted mean (amounts);
    * ``tau_team^2``: ML over team estimates (ratio of sums of the team, with its exact sampling variance
      under the model), :func:`fit_normal_normal`; teams are partially pooled toward ``m``;
    * the within-team spread: maximiser, over **all** reps at once, of the leave-one-out predictive
      likelihood (each rep's data under the prior built from its team-mates) plus the boundary-avoiding
      log-density of a ``Gamma(2, 0)`` prior on the between-rep standard deviation (Chung et al. 2013),
      so the spread cannot collapse to zero when the observed spread is at or below sampling noise.

    Each rep's prior uses the *other* reps of its team (no double use of its own data), and carries the
    uncertainty of the team mean (moment-matched into one beta / gamma / normal).

    Parameters
    ----------
    family : {"beta", "gamma", "normal"}
    x : array of shape (m,)
        Successes (beta), counts (gamma) or unit means (normal).
    n : array of shape (m,)
        Trials, exposure, or number of observations behind each mean; ``n <= 0`` or non-finite ``x``
        means "no data" (such units get the prior of their group and do not enter the fit).
    groups : array of shape (m,)
        Team label of each unit.
    within_var : float
        Normal family only: within-rep variance of one observation (``s_i^2 = within_var / n_i``).
    min_group_size : int
        Groups with fewer units carrying data use the company mean (their mean is not estimated).
    n_grid : int
        Points of the log-spaced grid that brackets the spread before the bounded 1-D refinement.

    Returns
    -------
    HierarchicalPrior
    """
    data, lo, hi = _prepare(family, x, n, groups, within_var, min_group_size)
    theta = _fit_spread(data, lo, hi, n_grid)
    obj, fit = _objective(theta, data)
    return _assemble(data, obj, fit)


@dataclass(frozen=True)
class _StageData:
    """Inputs of the spread objective, prepared once by `_prepare`."""

    family: str
    xs: np.ndarray  # value, 0 where no data
    ns: np.ndarray  # trials / exposure / observations, 0 where no data
    s2: np.ndarray  # normal family: sampling variance of each unit's mean
    z: np.ndarray  # each unit's own estimate
    has: np.ndarray  # unit has data
    center: float  # company mean (rates; NaN for the normal family, where it depends on the spread)
    labels: np.ndarray  # group labels
    gi: np.ndarray  # group index of each unit
    n_units: np.ndarray  # units with data per group
    team_ok: np.ndarray  # group has enough units to estimate its mean
    use: np.ndarray  # units whose data estimate their team mean
    others: np.ndarray  # team-mates with data


def _prepare(
    family: str,
    x: np.ndarray,
    n: np.ndarray,
    groups: np.ndarray,
    within_var: float | None,
    min_group_size: int,
) -> tuple[_StageData, float, float]:
    """Check the inputs; return the prepared data and the log-spread interval to search."""
    if family not in _SPREAD_NAME:
        raise ValueError(f"family must be 'beta', 'gamma' or 'normal', got {family!r}")
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    g = np.asarray(groups).astype(str)
    if not x.shape == n.shape == g.shape:
        raise ValueError(
            f"x, n and groups must have one shape, got {x.shape}, {n.shape}, {g.shape}"
        )
    has = np.isfinite(x) & np.isfinite(n) & (n > 0)
    if not has.any():
        raise ValueError("fit_hierarchical: no unit has data (n > 0 and a finite value)")
    xs = np.where(has, x, 0.0)
    ns = np.where(has, n, 0.0)
    safe_n = np.where(has, ns, 1.0)
    s2 = np.zeros_like(xs)
    if family == "normal":
        if within_var is None or not np.isfinite(within_var) or within_var <= 0:
            raise ValueError(
                f"fit_hierarchical: normal family needs within_var > 0, got {within_var}"
            )
        s2 = np.where(has, within_var / safe_n, np.inf)
        z = xs
        scale = float(np.var(xs[has])) + float(np.median(s2[has]))
        scale = scale if scale > 0 else 1.0
        lo, hi = np.log(scale * 1e-6), np.log(scale * 10.0)
        center = float("nan")  # depends on the spread
    else:
        z = np.where(has, xs / safe_n, 0.0)
        center = float(xs[has].sum() / ns[has].sum())
        if family == "beta":
            center = float(np.clip(center, 1e-4, 1 - 1e-4))
            lo, hi = np.log(0.1), np.log(1e6)
        else:
            center = max(center, 1e-8)
            lo, hi = np.log(0.05), np.log(1e6)

    labels, gi = np.unique(g, return_inverse=True)
    n_units = np.bincount(gi, weights=has.astype(float), minlength=labels.size)
    team_ok = n_units >= max(int(min_group_size), 1)
    data = _StageData(
        family=family,
        xs=xs,
        ns=ns,
        s2=s2,
        z=z,
        has=has,
        center=center,
        labels=labels,
        gi=gi,
        n_units=n_units,
        team_ok=team_ok,
        use=has & team_ok[gi],
        others=n_units[gi] - has,
    )
    return data, lo, hi


def _spread_penalty(family: str, center: float, spread: float) -> Any:
    """Log sd of true rep values within a team: Gamma(2, 0) boundary-avoiding prior on the sd."""
    if family == "beta":
        return 0.5 * np.log(center * (1 - center) / (spread + 1))
    if family == "gamma":
        return np.log(center) - 0.5 * np.log(spread)
    return 0.5 * np.log(spread)


def _objective(theta: float, d: _StageData) -> tuple[float, dict[str, Any]]:
    """Minus the penalised leave-one-out predictive log-likelihood at spread ``exp(theta)``."""
    family, ns, z, gi, labels, team_ok = d.family, d.ns, d.z, d.gi, d.labels, d.team_ok
    spread = float(np.exp(theta))
    if family == "beta":
        omega = ns
        contrib = d.center * (1 - d.center) * ns * (1 + (ns - 1) / (spread + 1))
        m = d.center
    elif family == "gamma":
        omega = ns
        contrib = d.center * ns + d.center * d.center * ns * ns / spread
        m = d.center
    else:
        omega = np.where(d.has, 1.0 / (spread + d.s2), 0.0)
        contrib = omega
        m = float(np.sum(omega * z) / np.sum(omega))
    w, wz, c = omega * d.use, omega * z * d.use, contrib * d.use
    a_g = np.bincount(gi, weights=w, minlength=labels.size)
    b_g = np.bincount(gi, weights=wz, minlength=labels.size)
    c_g = np.bincount(gi, weights=c, minlength=labels.size)
    est = team_ok & (a_g > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_g = np.where(est, b_g / a_g, m)
        v_g = np.where(est, c_g / a_g**2, np.inf)
    tau2 = fit_normal_normal(r_g[est], v_g[est])[1] if est.sum() >= 2 else 0.0
    mean_g, var_g = _pool(r_g, v_g, est, m, tau2)
    # leave-one-out team estimate of each unit
    loo_ok = team_ok[gi] & (d.others > 0)
    a_i, b_i, c_i = a_g[gi] - w, b_g[gi] - wz, c_g[gi] - c
    with np.errstate(invalid="ignore", divide="ignore"):
        r_i = np.where(loo_ok, b_i / np.where(loo_ok, a_i, 1.0), m)
        v_i = np.where(loo_ok, c_i / np.where(loo_ok, a_i, 1.0) ** 2, np.inf)
    mean_i, var_i = _pool(r_i, v_i, loo_ok, m, tau2)
    p1, p2 = _marginal(family, mean_i, var_i, spread)
    ll = float(np.sum(_log_predictive(family, d.xs, ns, p1, p2, d.s2)[d.has]))
    pen = _spread_penalty(family, d.center, spread)
    parts = {
        "spread": spread, "m": m, "tau2": tau2, "mean_g": mean_g, "var_g": var_g,
        "p1": p1, "p2": p2, "est": est,
    }  # fmt: skip
    return -(ll + float(pen)), parts


def _fit_spread(d: _StageData, lo: float, hi: float, n_grid: int) -> float:
    """Bracket the log spread on a grid, then refine it with a bounded 1-D search."""
    grid = np.linspace(lo, hi, n_grid)
    values = [_objective(t, d)[0] for t in grid]
    best = int(np.argmin(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, n_grid - 1)]
    res = optimize.minimize_scalar(
        lambda t: _objective(t, d)[0],
        bounds=(left, right),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(res.x) if res.fun <= values[best] else float(grid[best])


def _assemble(d: _StageData, obj: float, fit: dict[str, Any]) -> HierarchicalPrior:
    """Build the group table and each unit's prior at the fitted spread."""
    family, gi = d.family, d.gi
    g1, g2 = _marginal(family, fit["mean_g"], fit["var_g"], fit["spread"])
    c1, c2 = _marginal(family, np.array([fit["m"]]), np.array([fit["tau2"]]), fit["spread"])
    table = pd.DataFrame(
        {
            "group": d.labels,
            "level": np.where(fit["est"], "team", "company"),
            "n_units": d.n_units.astype(int),
            "group_mean": fit["mean_g"],
            "group_mean_sd": np.sqrt(fit["var_g"]),
            "param1": g1,
            "param2": g2,
            "prior_mean": fit["mean_g"],
        }
    )
    # units without data: prior of a new rep of their group
    p1 = np.where(d.has, fit["p1"], g1[gi])
    p2 = np.where(d.has, fit["p2"], g2[gi])
    return HierarchicalPrior(
        family=family,
        center=float(fit["m"]),
        between_group_var=float(fit["tau2"]),
        spread=float(fit["spread"]),
        unit_param1=p1,
        unit_param2=p2,
        groups=table,
        company=(float(c1[0]), float(c2[0])),
        objective=-float(obj),
    )
