"""Capability profiles (能力画像): per-rep funnel rates with hierarchical empirical-Bayes shrinkage.

Each funnel stage of a rep in one quarter is a noisy measurement of the rep's true rate. A rep with three
closed deals and three wins does not have a true win rate of 100%. Every rep is shrunk toward the mean of
their team, itself partially pooled toward the company, by exactly as much as the data warrant:

* proportions (win rate, follow-up share): beta-binomial, posterior ``Beta(a_i + k, b_i + n - k)``;
* counts per exposure (activities, opportunities created per activity): gamma-Poisson, posterior
  ``Gamma(a_i + y, b_i + E)``;
* amounts (deal size, cycle days, CSAT): normal-normal with each rep's own sampling variance
  ``s_i^2 = sigma_w^2 / n_i``.

The prior of rep ``i`` (``a_i, b_i``) is built by :func:`fit_hierarchical`: team means partially pooled
toward the company (between-team variance by ML over teams), one within-team spread fitted on all reps of
the quarter (not per team of ~9 reps, where it can run off to a degenerate value) with a
boundary-avoiding penalty, and the team mean taken from the rep's team-mates (leave-one-out) with its
uncertainty carried into the prior.

Shrunk values are then ranked among the reps with data for the stage, turned into strengths and weak
spots in words, archetypes ("high activity, low conversion" ...) and a high-potential probability
``P(true win rate > company top-quartile true win rate)`` from the posterior. Reps with no activity and
no closed opportunity in the period (managers) are excluded and listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "ARCHETYPES",
    "INSUFFICIENT",
    "STAGES",
    "HierarchicalPrior",
    "Profiles",
    "Stage",
    "fit_beta_binomial",
    "fit_gamma_poisson",
    "fit_hierarchical",
    "fit_normal_normal",
    "profiles",
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
    """Posterior mean and variance of group means ``mu_g ~ N(m, tau2)`` seen as ``r ~ N(mu_g, v)``;
    groups without data (``ok`` False) keep the prior ``(m, tau2)``."""
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
    use = has & team_ok[gi]  # units whose data estimate their team mean
    others = n_units[gi] - has  # team-mates with data

    def evaluate(theta: float) -> tuple[float, dict[str, Any]]:
        spread = float(np.exp(theta))
        if family == "beta":
            omega = ns
            contrib = center * (1 - center) * ns * (1 + (ns - 1) / (spread + 1))
            m = center
        elif family == "gamma":
            omega = ns
            contrib = center * ns + center * center * ns * ns / spread
            m = center
        else:
            omega = np.where(has, 1.0 / (spread + s2), 0.0)
            contrib = omega
            m = float(np.sum(omega * z) / np.sum(omega))
        w, wz, c = omega * use, omega * z * use, contrib * use
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
        loo_ok = team_ok[gi] & (others > 0)
        a_i, b_i, c_i = a_g[gi] - w, b_g[gi] - wz, c_g[gi] - c
        with np.errstate(invalid="ignore", divide="ignore"):
            r_i = np.where(loo_ok, b_i / np.where(loo_ok, a_i, 1.0), m)
            v_i = np.where(loo_ok, c_i / np.where(loo_ok, a_i, 1.0) ** 2, np.inf)
        mean_i, var_i = _pool(r_i, v_i, loo_ok, m, tau2)
        p1, p2 = _marginal(family, mean_i, var_i, spread)
        ll = float(np.sum(_log_predictive(family, xs, ns, p1, p2, s2)[has]))
        # log sd of true rep values within a team: Gamma(2, 0) boundary-avoiding prior on the sd
        if family == "beta":
            pen = 0.5 * np.log(center * (1 - center) / (spread + 1))
        elif family == "gamma":
            pen = np.log(center) - 0.5 * np.log(spread)
        else:
            pen = 0.5 * np.log(spread)
        parts = {
            "spread": spread, "m": m, "tau2": tau2, "mean_g": mean_g, "var_g": var_g,
            "p1": p1, "p2": p2, "est": est,
        }  # fmt: skip
        return -(ll + float(pen)), parts

    grid = np.linspace(lo, hi, n_grid)
    values = [evaluate(t)[0] for t in grid]
    best = int(np.argmin(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, n_grid - 1)]
    res = optimize.minimize_scalar(
        lambda t: evaluate(t)[0], bounds=(left, right), method="bounded", options={"xatol": 1e-5}
    )
    theta = float(res.x) if res.fun <= values[best] else float(grid[best])
    obj, fit = evaluate(theta)

    g1, g2 = _marginal(family, fit["mean_g"], fit["var_g"], fit["spread"])
    c1, c2 = _marginal(family, np.array([fit["m"]]), np.array([fit["tau2"]]), fit["spread"])
    table = pd.DataFrame(
        {
            "group": labels,
            "level": np.where(fit["est"], "team", "company"),
            "n_units": n_units.astype(int),
            "group_mean": fit["mean_g"],
            "group_mean_sd": np.sqrt(fit["var_g"]),
            "param1": g1,
            "param2": g2,
            "prior_mean": fit["mean_g"],
        }
    )
    # units without data: prior of a new rep of their group
    p1 = np.where(has, fit["p1"], g1[gi])
    p2 = np.where(has, fit["p2"], g2[gi])
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


# ----------------------------------------------------------------------------------------------------------
# Stages
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One funnel stage of a profile.

    ``family`` is ``"beta"`` (numerator/denominator proportion), ``"gamma"`` (count per exposure) or
    ``"normal"`` (mean amount with ``denominator`` observations).
    """

    name: str
    label: str
    family: str
    numerator: str
    denominator: str | None
    higher_is_better: bool = True


STAGES: tuple[Stage, ...] = (
    Stage("activity", "activity volume", "gamma", "activities", None),
    Stage(
        "opp_creation", "opportunities created per activity", "gamma", "opps_created", "activities"
    ),
    Stage("win_rate", "win rate", "beta", "opps_won", "opps_closed"),
    Stage("deal_size", "deal size", "normal", "avg_deal_size", "opps_won"),
    Stage("cycle_days", "sales cycle", "normal", "cycle_days", "opps_won", higher_is_better=False),
    Stage("follow_up_share", "follow-up intensity", "beta", "follow_ups", "activities"),
    Stage("csat", "customer satisfaction", "normal", "csat", "csat_responses"),
)

ARCHETYPES = (
    "high activity, low conversion",
    "all-round performer",
    "efficient closer",
    "pipeline builder",
    "developing",
    "steady",
    "insufficient data",
)
INSUFFICIENT = "insufficient data"  # no activity or no closed opportunity: no archetype can be read


# ----------------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profiles:
    """Capability profiles of every active rep with data in one period.

    Attributes
    ----------
    table : DataFrame
        One row per rep (see :meth:`to_frame`).
    priors : DataFrame
        One row per stage and group, plus a ``"(company)"`` row: the prior of a new rep of that group
        (``param1, param2``: beta ``a, b``, gamma ``shape, rate`` or normal ``mean, variance``), the
        partially pooled group mean and its sd, the pooled within-team ``spread`` and the
        ``between_team_var``.
    period : str
    spec : mapping
        Every argument that produced the profiles.
    rep_priors : DataFrame
        ``rep_id, stage, family, param1, param2``: the prior each rep was updated from (built from its
        team-mates); the posterior is its conjugate update.
    excluded : DataFrame
        ``rep_id``, group, ``reason``: active reps left out because they had no activity and no closed
        opportunity in the period (e.g. managers).
    """

    table: pd.DataFrame
    priors: pd.DataFrame
    period: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    rep_priors: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """One row per rep: ``rep_id, team_id, period``, then per stage ``<stage>_raw``, ``<stage>_n``
        (denominator: activities, closed or won deals, responses), ``<stage>`` (shrunk), ``<stage>_low``,
        ``<stage>_high`` (posterior interval), ``<stage>_pctl`` (0-100 among the reps with data for the
        stage, on the shrunk value, 100 = best, direction-aware; NaN without data), then ``strengths``,
        ``weak_spots``, ``archetype``, ``p_high_potential`` (NaN without a closed opportunity) and
        ``high_potential``."""
        return self.table.copy()

    def rep(self, rep_id: str) -> pd.Series:
        """The profile row of one rep."""
        hit = self.table[self.table["rep_id"] == rep_id]
        if hit.empty:
            ex = self.excluded
            if len(ex) and (ex["rep_id"] == rep_id).any():
                reason = ex.loc[ex["rep_id"] == rep_id, "reason"].iloc[0]
                raise KeyError(
                    f"rep_id {rep_id!r} is excluded from the {self.period} profiles: {reason}"
                )
            raise KeyError(f"rep_id {rep_id!r} has no profile in period {self.period}")
        return hit.iloc[0].copy()

    def summary(self) -> str:
        """Counts per archetype, the high-potential reps, and the shrinkage used, in words."""
        t = self.table
        lines = [
            (
                f"Capability profiles, {self.period}: {len(t)} active reps with data "
                f"(empirical-Bayes shrinkage toward {self.spec.get('by_group', 'team_id')} means, "
                "themselves pooled toward the company)."
            ),
            "Archetypes: "
            + ", ".join(f"{k} {v}" for k, v in t["archetype"].value_counts().items() if v > 0),
        ]
        if len(self.excluded):
            lines.append(
                f"Excluded: {len(self.excluded)} active reps with no activity and no closed "
                "opportunity in the period (e.g. managers)."
            )
        hp = t[t["high_potential"]].sort_values("p_high_potential", ascending=False)
        if len(hp):
            lines.append(
                "High potential (P(true win rate above company top quartile) >= "
                f"{self.spec.get('high_potential_prob', 0.7):.0%}): "
                + ", ".join(f"{r.rep_id} ({r.p_high_potential:.0%})" for r in hp.itertuples())
            )
        else:
            lines.append("No rep is high-potential with the required probability.")
        case = t[t["archetype"] == "high activity, low conversion"]
        if len(case):
            lines.append(
                "High activity, low conversion (coach closing, not prospecting): "
                + ", ".join(case["rep_id"].astype(str))
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        return "<pre>" + escape(self.summary()) + "</pre>"

    def plot(self, rep_id: str | None = None, ax: Any = None) -> Any:
        """Percentile profile of one rep (bars with the shrunk value's percentile among peers), or, when
        ``rep_id`` is None, the archetype counts. Returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        if rep_id is None:
            counts = self.table["archetype"].value_counts()
            ax.barh(counts.index.astype(str), counts.to_numpy())
            ax.set_xlabel("reps")
            ax.set_title(f"Archetypes, {self.period}")
            return ax
        row = self.rep(rep_id)
        names = [s.label for s in STAGES]
        pct = [float(row[f"{s.name}_pctl"]) for s in STAGES]
        vals = [v if np.isfinite(v) else 0.0 for v in pct]  # no data: empty bar
        colors = ["tab:green" if v >= 75 else "tab:red" if v <= 25 else "tab:gray" for v in pct]
        ax.barh(names, vals, color=colors)
        ax.axvline(50, color="black", lw=0.8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("percentile among peers (100 = best)")
        ax.set_title(f"{rep_id}: {row['archetype']}")
        ax.invert_yaxis()
        return ax


# ----------------------------------------------------------------------------------------------------------
# Main function
# ----------------------------------------------------------------------------------------------------------
def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "con") and hasattr(obj, "sql") and not isinstance(obj, pd.DataFrame)


def _quarter_panel(data: Any, fiscal_year_start_month: int) -> pd.DataFrame:
    if _is_dataset(data):
        from salesinsight.metrics.panel import panel

        return panel(
            data, grain="quarter", by="rep", fiscal_year_start_month=fiscal_year_start_month
        )
    if isinstance(data, pd.DataFrame):
        return data
    raise TypeError(
        f"expected a salesinsight Dataset or a quarter x rep panel DataFrame, got {type(data).__name__}"
    )


def _check_columns(df: pd.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: the panel lacks column(s) {missing}; pass panel(ds, grain='quarter', by='rep')"
        )


def _within_variance_sql(data: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Per-rep sums and sums of squares of won amounts, cycle days and CSAT scores (DuckDB)."""
    params = [start.date(), end.date()]
    deals = data.sql(
        """
        SELECT rep_id,
               count(*) AS n_won,
               sum(amount) AS s_amt, sum(amount * amount) AS ss_amt,
               sum(date_diff('day', created_date, close_date)) AS s_cyc,
               sum(date_diff('day', created_date, close_date)
                   * date_diff('day', created_date, close_date)) AS ss_cyc
        FROM opportunities
        WHERE status = 'won' AND close_date BETWEEN ? AND ?
        GROUP BY rep_id
        """,
        params,
    )
    if data.has("csat"):
        cs = data.sql(
            """
            SELECT rep_id, count(*) AS n_cs, sum(score / coalesce(scale, 5)) AS s_cs,
                   sum((score / coalesce(scale, 5)) * (score / coalesce(scale, 5))) AS ss_cs
            FROM csat WHERE response_date BETWEEN ? AND ?
            GROUP BY rep_id
            """,
            params,
        )
        deals = deals.merge(cs, on="rep_id", how="outer")
    return deals


def _pooled_within_var(n: np.ndarray, s: np.ndarray, ss: np.ndarray) -> float:
    """Pooled within-unit variance from per-unit counts, sums and sums of squares."""
    n = np.asarray(n, dtype=float)
    keep = np.isfinite(n) & (n > 0)
    n, s, ss = n[keep], np.asarray(s, float)[keep], np.asarray(ss, float)[keep]
    dof = float(np.sum(n - 1))
    if dof <= 0:
        return float("nan")
    return float(np.sum(ss - s * s / n) / dof)


def _moment_within_var(y: np.ndarray, n: np.ndarray) -> float:
    """Method-of-moments within variance when only unit means are known:
    ``E[(y_i - mu)^2] = tau^2 + sigma_w^2 / n_i``, regressed on ``1 / n_i``."""
    keep = np.isfinite(y) & (n > 0)
    y, n = y[keep], n[keep].astype(float)
    if y.size < 3:
        return float(np.var(y)) if y.size > 1 else 1.0
    mu = np.sum(n * y) / np.sum(n)
    d2 = (y - mu) ** 2
    x = np.column_stack([np.ones_like(n), 1.0 / n])
    coef, *_ = np.linalg.lstsq(x, d2, rcond=None)
    slope = float(coef[1])
    return slope if slope > 0 else float(np.var(y))


def _no_data_mask(cur: pd.DataFrame) -> np.ndarray:
    """Reps with no activity and no closed opportunity in the period (e.g. managers)."""
    act = pd.to_numeric(cur["activities"], errors="coerce").fillna(0).to_numpy(float)
    closed = pd.to_numeric(cur["opps_closed"], errors="coerce").fillna(0).to_numpy(float)
    return (act <= 0) & (closed <= 0)


def profiles(
    data_or_panel: Any,
    period: str = "2026Q2",
    *,
    by_group: str = "team_id",
    min_group_size: int = 3,
    interval: float = 0.9,
    high_potential_quantile: float = 0.75,
    high_potential_prob: float = 0.7,
    fiscal_year_start_month: int = 1,
) -> Profiles:
    """Capability profile of every active rep with data in ``period``.

    Reps that are active but have no activity and no closed opportunity in the period (managers,
    reps on leave) carry no information on any selling stage: they are left out of the table and
    listed in ``Profiles.excluded``. A rep without observations in one stage (e.g. no closed deal)
    gets the prior as posterior for it, but no percentile, strength, weak spot or high-potential
    probability from it.

    Parameters
    ----------
    data_or_panel : Dataset or DataFrame
        A loaded dataset (the quarter x rep panel is built with ``panel``, and per-deal variances are
        aggregated in DuckDB) or a quarter x rep panel (deal-size/cycle/CSAT within-rep variances are
        then estimated by the method of moments from the rep means alone, which is cruder).
    period : str
        Quarter label, e.g. ``"2026Q2"`` (fiscal label when the panel is fiscal).
    by_group : str
        Panel column whose groups are the middle level of the prior (default team).
    min_group_size : int
        Groups with fewer reps carrying data for a stage are not given an estimated mean for it; their
        reps are shrunk toward the company mean (with the between-team spread added to the prior).
    interval : float
        Posterior interval mass (0.9 -> 5th to 95th posterior percentile).
    high_potential_quantile : float
        The threshold for "high potential" is this quantile of the company prior of true win rates.
    high_potential_prob : float
        ``high_potential`` is True when ``p_high_potential`` is at least this.
    fiscal_year_start_month : int
        Only used when a dataset is passed.

    Returns
    -------
    Profiles
    """
    if not 0 < interval < 1:
        raise ValueError(f"interval must be in (0, 1), got {interval}")
    dataset = data_or_panel if _is_dataset(data_or_panel) else None
    pnl = _quarter_panel(data_or_panel, fiscal_year_start_month)
    needed = ["period", "period_start", "rep_id", by_group, "active"] + sorted(
        {s.numerator for s in STAGES} | {s.denominator for s in STAGES if s.denominator}
    )
    _check_columns(pnl, needed, "profiles")
    cur = pnl[(pnl["period"].astype(str) == str(period)) & pnl["active"].astype(bool)].copy()
    if cur.empty:
        known = sorted(pnl["period"].astype(str).unique())
        raise ValueError(f"profiles: no active rep in period {period!r}; periods present: {known}")
    cur = cur.sort_values("rep_id").reset_index(drop=True)
    for c in needed[5:]:
        cur[c] = pd.to_numeric(cur[c], errors="coerce")
    empty = _no_data_mask(cur)
    excluded = cur.loc[empty, ["rep_id", by_group]].reset_index(drop=True)
    excluded["reason"] = "no activity and no closed opportunity in the period"
    cur = cur.loc[~empty].reset_index(drop=True)
    if cur.empty:
        raise ValueError(
            f"profiles: none of the {len(excluded)} active reps of {period!r} has any activity or "
            "closed opportunity"
        )

    within: dict[str, float] = {}
    if dataset is not None:
        start = pd.Timestamp(cur["period_start"].iloc[0])
        end = start + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        per_rep_var = _within_variance_sql(dataset, start, end)
        within["deal_size"] = _pooled_within_var(
            per_rep_var["n_won"], per_rep_var["s_amt"], per_rep_var["ss_amt"]
        )
        within["cycle_days"] = _pooled_within_var(
            per_rep_var["n_won"], per_rep_var["s_cyc"], per_rep_var["ss_cyc"]
        )
        if "n_cs" in per_rep_var:
            within["csat"] = _pooled_within_var(
                per_rep_var["n_cs"], per_rep_var["s_cs"], per_rep_var["ss_cs"]
            )

    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    groups = cur[by_group].astype(str).to_numpy()
    out = cur[["rep_id", by_group]].copy()
    out.insert(2, "period", str(period))
    prior_rows: list[pd.DataFrame] = []
    rep_prior_rows: list[pd.DataFrame] = []
    has_by_stage: dict[str, np.ndarray] = {}
    post_beta_win: tuple[np.ndarray, np.ndarray] | None = None
    company_win_prior: tuple[float, float] | None = None

    for st in STAGES:
        num = cur[st.numerator].to_numpy(dtype=float)
        den = (
            cur[st.denominator].fillna(0).to_numpy(dtype=float)
            if st.denominator
            else np.ones(len(cur))
        )
        has = np.isfinite(num) & (den > 0)
        has_by_stage[st.name] = has
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.where(has, num / den if st.family != "normal" else num, np.nan)
        out[f"{st.name}_raw"] = raw
        out[f"{st.name}_n"] = den
        shrunk = np.full(len(cur), np.nan)
        low = np.full(len(cur), np.nan)
        high = np.full(len(cur), np.nan)
        sw2 = None
        if st.family == "normal" and has.any():
            sw2 = within.get(st.name, float("nan"))
            if not np.isfinite(sw2) or sw2 <= 0:
                sw2 = _moment_within_var(raw, den)
            if not sw2 > 0:  # no spread at all: any tiny positive variance gives the same answer
                sw2 = 1e-12 * (float(np.nanmean(raw)) ** 2 + 1.0)
        if not has.any():
            prior_rows.append(
                pd.DataFrame([{"stage": st.name, "group": "(none)", "note": "no data"}])
            )
            for suffix, arr in (("", shrunk), ("_low", low), ("_high", high)):
                out[f"{st.name}{suffix}"] = arr
            continue

        fit = fit_hierarchical(
            st.family, num, den, groups, within_var=sw2, min_group_size=min_group_size
        )
        table = fit.groups.rename(columns={"n_units": "n_reps"})
        company = pd.DataFrame(
            [
                {
                    "group": "(company)",
                    "level": "company",
                    "n_reps": int(has.sum()),
                    "group_mean": fit.center,
                    "group_mean_sd": float(np.sqrt(fit.between_group_var)),
                    "param1": fit.company[0],
                    "param2": fit.company[1],
                    "prior_mean": fit.center,
                }
            ]
        )
        table = pd.concat([table, company], ignore_index=True)
        table.insert(0, "stage", st.name)
        table.insert(3, "family", st.family)
        table["spread_name"] = _SPREAD_NAME[st.family]
        table["spread"] = fit.spread
        table["between_team_var"] = fit.between_group_var
        prior_rows.append(table)
        p1, p2 = fit.unit_param1, fit.unit_param2
        rep_prior_rows.append(
            pd.DataFrame(
                {
                    "rep_id": cur["rep_id"].to_numpy(),
                    "stage": st.name,
                    "family": st.family,
                    "param1": p1,
                    "param2": p2,
                }
            )
        )
        x = np.where(has, num, 0.0)
        if st.family == "beta":
            a, b = p1 + x, p2 + den - x
            shrunk = a / (a + b)
            low, high = stats.beta.ppf(lo_q, a, b), stats.beta.ppf(hi_q, a, b)
            if st.name == "win_rate":
                post_beta_win = (a, b)
                company_win_prior = fit.company
        elif st.family == "gamma":
            a, b = p1 + x, p2 + np.where(has, den, 0.0)
            shrunk = a / b
            low, high = stats.gamma.ppf(lo_q, a, scale=1 / b), stats.gamma.ppf(hi_q, a, scale=1 / b)
        else:
            s2 = np.where(has, sw2 / np.where(has, den, 1.0), np.inf)
            w_data = np.where(has, 1.0 / s2, 0.0)
            post_var = 1.0 / (w_data + 1.0 / p2)
            shrunk = post_var * (w_data * np.where(has, raw, 0.0) + p1 / p2)
            z = stats.norm.ppf(hi_q)
            low, high = shrunk - z * np.sqrt(post_var), shrunk + z * np.sqrt(post_var)
        out[st.name] = shrunk
        out[f"{st.name}_low"] = low
        out[f"{st.name}_high"] = high

    # percentiles among the reps with data for the stage, 100 = best; none without data
    for st in STAGES:
        v = out[st.name] if st.higher_is_better else -out[st.name]
        out[f"{st.name}_pctl"] = 100.0 * v.where(has_by_stage[st.name]).rank(
            pct=True, method="average"
        )

    out["strengths"] = [_words(r, strong=True) for _, r in out.iterrows()]
    out["weak_spots"] = [_words(r, strong=False) for _, r in out.iterrows()]
    out["archetype"] = [_archetype(r) for _, r in out.iterrows()]

    if post_beta_win is not None and company_win_prior is not None:
        threshold = float(stats.beta.ppf(high_potential_quantile, *company_win_prior))
        p_hp = stats.beta.sf(threshold, *post_beta_win)
        out["p_high_potential"] = np.where(has_by_stage["win_rate"], p_hp, np.nan)
    else:
        threshold = float("nan")
        out["p_high_potential"] = np.nan
    out["high_potential"] = (out["p_high_potential"] >= high_potential_prob).astype(bool)

    spec = {
        "period": str(period),
        "by_group": by_group,
        "min_group_size": min_group_size,
        "interval": interval,
        "high_potential_quantile": high_potential_quantile,
        "high_potential_prob": high_potential_prob,
        "high_potential_threshold": threshold,
        "fiscal_year_start_month": fiscal_year_start_month,
        "within_variance": "duckdb per-deal" if dataset is not None else "method of moments",
        "prior": "hierarchical empirical Bayes (rep <- team <- company, within-team spread pooled)",
        "n_excluded": len(excluded),
    }
    rep_priors = (
        pd.concat(rep_prior_rows, ignore_index=True)
        if rep_prior_rows
        else pd.DataFrame(columns=["rep_id", "stage", "family", "param1", "param2"])
    )
    return Profiles(
        table=out,
        priors=pd.concat(prior_rows, ignore_index=True),
        period=str(period),
        spec=spec,
        rep_priors=rep_priors,
        excluded=excluded,
    )


def _words(row: pd.Series, *, strong: bool) -> str:
    parts = []
    for st in STAGES:
        p = row[f"{st.name}_pctl"]
        if not np.isfinite(p) or not row[f"{st.name}_n"] > 0:
            continue
        if strong and p >= 75:
            parts.append((p, f"{st.label} (top {max(100 - p, 1):.0f}%)"))
        elif not strong and p <= 25:
            parts.append((-p, f"{st.label} (bottom {max(p, 1):.0f}%)"))
    parts.sort(key=lambda t: -t[0])
    return "; ".join(s for _, s in parts)


def _archetype(row: pd.Series) -> str:
    act, win, opp = row["activity_pctl"], row["win_rate_pctl"], row["opp_creation_pctl"]
    if not (np.isfinite(act) and np.isfinite(win)):
        return INSUFFICIENT
    hi, lo = 200 / 3, 100 / 3
    if act >= hi and win <= lo:
        return "high activity, low conversion"
    if act >= hi and win >= hi:
        return "all-round performer"
    if win >= hi:
        return "efficient closer"
    if np.isfinite(opp) and opp >= hi:
        return "pipeline builder"
    if act <= lo and win <= lo:
        return "developing"
    return "steady"
