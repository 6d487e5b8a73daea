"""Doubly robust (AIPW) estimation for observational programs, with overlap and balance checks.

Cross-fitted augmented inverse-probability weighting (Robins, Rotnitzky & Zhao 1994; Chernozhukov
et al. 2018): the propensity score ``e(x) = P(D=1 | x)`` and the outcome regressions
``m_d(x) = E[Y | D=d, x]`` are fitted by scikit-learn learners on ``folds - 1`` folds and predicted on
the held-out fold (stratified, seeded ``StratifiedKFold``), so no unit's nuisance predictions
use its own outcome. Units whose cross-fitted propensity falls outside ``trim`` are dropped (the
count is reported) and the estimand then refers to the trimmed population.

Scores (``n`` units after trimming, ``p = mean(D)``):

* ATT: ``tau = sum[D (Y - m0) - (1 - D) e / (1 - e) (Y - m0)] / sum D``; influence function
  ``[D (Y - m0 - tau) - (1 - D) e / (1 - e) (Y - m0)] / p``;
* ATE: ``tau = mean[m1 - m0 + D (Y - m1) / e - (1 - D) (Y - m0) / (1 - e)]``.

The standard error is ``sd(influence) / sqrt(n)``, the interval normal. Alongside (in
``extras["alternatives"]``): raw difference in means, normalized (Hajek) IPW with its influence-
function SE (propensity treated as known), and 1-nearest-neighbour matching on the logit of the
propensity with replacement and the Abadie-Imbens (2006) variance (propensity treated as known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from salesinsight.causal._balance import (
    ADJUSTED_BALANCE_THRESHOLD,
    BALANCE_THRESHOLD,
    check_frame,
    raise_problems,
    smd_table,
)
from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.inference import normal_interval, wald_p_value

__all__ = ["MAX_TRIMMED_SHARE", "aipw", "default_learners"]

#: the overlap diagnostic fails when trimming drops more than this share of the units the
#: estimand is about (treated units for ATT, all units for ATE).
MAX_TRIMMED_SHARE = 0.10


def default_learners(seed: int = 0) -> dict[str, Any]:
    """Default nuisance learners.

    ``propensity``: standardised logistic regression (L2, C=1); ``outcome``: histogram gradient
    boosting (scikit-learn defaults, seeded).
    """
    return {
        "propensity": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)),
        "outcome": HistGradientBoostingRegressor(random_state=seed),
    }


def _cross_fit(
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    learners: Mapping[str, Any],
    folds: int,
    seed: int,
    need_m1: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = np.empty(len(y))
    m0 = np.empty(len(y))
    m1 = np.full(len(y), np.nan)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # Nuisance data sets are small: one BLAS/OpenMP thread is fast and avoids oversubscribing
    # shared machines (where multi-threaded fits can be 20x slower); restored on exit.
    with threadpool_limits(limits=1):
        for train, test in skf.split(X, d):
            ps = clone(learners["propensity"]).fit(X[train], d[train])
            e[test] = ps.predict_proba(X[test])[:, 1]
            c = train[d[train] == 0]
            m0[test] = clone(learners["outcome"]).fit(X[c], y[c]).predict(X[test])
            if need_m1:
                t = train[d[train] == 1]
                m1[test] = clone(learners["outcome"]).fit(X[t], y[t]).predict(X[test])
    return e, m0, m1


def _ipw(y: np.ndarray, d: np.ndarray, e: np.ndarray, estimand: str) -> tuple[float, float]:
    """Return the normalized (Hajek) IPW estimate and influence-function SE (e treated as known)."""
    n = y.size
    if estimand == "att":
        w = e / (1 - e)
        p = d.mean()
        mu1 = y[d == 1].mean()
        wc = w * (1 - d)
        mu0 = np.sum(wc * y) / np.sum(wc)
        phi = d * (y - mu1) / p - wc * (y - mu0) / (np.sum(wc) / n)
        return float(mu1 - mu0), float(phi.std(ddof=1) / np.sqrt(n))
    w1, w0 = d / e, (1 - d) / (1 - e)
    mu1 = np.sum(w1 * y) / np.sum(w1)
    mu0 = np.sum(w0 * y) / np.sum(w0)
    phi = w1 * (y - mu1) / w1.mean() - w0 * (y - mu0) / w0.mean()
    return float(mu1 - mu0), float(phi.std(ddof=1) / np.sqrt(n))


def _nearest(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Index (into ``target``) of the nearest value of ``target`` for each of ``source`` (1-D).

    Ties are broken towards the lower value (deterministic).
    """
    order = np.argsort(target, kind="stable")
    ts = target[order]
    pos = np.searchsorted(ts, source)
    lo = np.clip(pos - 1, 0, ts.size - 1)
    hi = np.clip(pos, 0, ts.size - 1)
    pick = np.where(np.abs(source - ts[lo]) <= np.abs(ts[hi] - source), lo, hi)
    return order[pick]


def _same_arm_sigma2(score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Conditional variance by matching each unit to its nearest neighbour in the same arm."""
    if y.size < 2:
        return np.zeros(y.size)
    order = np.argsort(score, kind="stable")
    s, ys = score[order], y[order]
    left = np.r_[np.inf, np.diff(s)]
    right = np.r_[np.diff(s), np.inf]
    nb = np.where(left <= right, np.arange(s.size) - 1, np.arange(s.size) + 1)
    sig = np.empty(y.size)
    sig[order] = (ys - ys[nb]) ** 2 / 2.0
    return sig


def _match(y: np.ndarray, d: np.ndarray, score: np.ndarray, estimand: str) -> tuple[float, float]:
    """1-NN matching with replacement on ``score``; Abadie-Imbens (2006) variance (M = 1)."""
    t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    sig = np.empty(y.size)
    sig[t_idx] = _same_arm_sigma2(score[t_idx], y[t_idx])
    sig[c_idx] = _same_arm_sigma2(score[c_idx], y[c_idx])
    k = np.zeros(y.size)  # times each unit is used as a match
    m_for_t = c_idx[_nearest(score[t_idx], score[c_idx])]
    np.add.at(k, m_for_t, 1.0)
    if estimand == "att":
        diff = y[t_idx] - y[m_for_t]
        tau = float(diff.mean())
        n1 = t_idx.size
        var = (np.sum((diff - tau) ** 2) + np.sum((k[c_idx] ** 2 - k[c_idx]) * sig[c_idx])) / n1**2
        return tau, float(np.sqrt(var))
    m_for_c = t_idx[_nearest(score[c_idx], score[t_idx])]
    np.add.at(k, m_for_c, 1.0)
    y1 = y.copy()
    y0 = y.copy()
    y0[t_idx] = y[m_for_t]
    y1[c_idx] = y[m_for_c]
    tau = float(np.mean(y1 - y0))
    n = y.size
    var = (np.sum((y1 - y0 - tau) ** 2) + np.sum((k**2 + k) * sig)) / n**2
    return tau, float(np.sqrt(var))


def _row(method: str, est: float, se: float, n: int, alpha: float) -> dict[str, Any]:
    lo, hi = normal_interval(est, se, alpha=alpha)
    p = wald_p_value(est, se)
    return {
        "method": method,
        "estimate": est,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p,
        "n_used": n,
    }


def aipw(
    df: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    estimand: Literal["att", "ate"] = "att",
    learners: Mapping[str, Any] | None = None,
    folds: int = 5,
    trim: tuple[float, float] = (0.01, 0.99),
    seed: int = 0,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Cross-fitted AIPW estimate of a program's effect with overlap and balance diagnostics.

    Parameters
    ----------
    df : DataFrame
        One row per unit (e.g. rep), with the outcome, a 0/1 treatment column and covariates
        measured *before* the program (pre-period performance, tenure, ...).
    outcome, treatment : str
        Column names; treatment must be 0/1 (or bool).
    covariates : list of str
        Numeric covariate columns (encode categories as dummies first).
    estimand : {"att", "ate"}
        Effect on the treated (default; what "did it work for those enrolled" asks) or on all.
    learners : mapping, optional
        ``{"propensity": classifier with predict_proba, "outcome": regressor}``, scikit-learn
        estimators (cloned per fold). Default :func:`default_learners`.
    folds : int, default 5
        Cross-fitting folds.
    trim : (low, high), default (0.01, 0.99)
        Units with cross-fitted propensity outside ``[low, high]`` are dropped.
    seed : int, default 0
        Seed for fold assignment (and the default outcome learner).
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ``extras``: ``alternatives`` (DataFrame: raw difference, IPW, matching, AIPW), ``balance``
        (SMD table before / after weighting), ``propensity`` (distribution by arm),
        ``n_trimmed`` (dict by arm), ``propensity_scores`` (Series, cross-fitted, all rows),
        ``effective_sample_size`` (of the weighted comparison group).
    """
    covariates = list(covariates)
    _validate(df, outcome, treatment, covariates, estimand, trim, folds)
    learners = _learners(learners, seed)
    X_df = df[covariates].astype(float)
    y = df[outcome].to_numpy(dtype=float)
    d = df[treatment].to_numpy(dtype=float).astype(int)
    e, m0, m1 = _cross_fit(X_df.to_numpy(), y, d, learners, folds, seed, need_m1=estimand == "ate")
    s = _score(y, d, e, m0, m1, estimand, trim)
    se = float(s.phi.std(ddof=1) / np.sqrt(s.n))
    alternatives = _alternatives(y, d, s, estimand, se, alpha)
    balance = _balance(X_df, d, s)
    diagnostics = _diagnostics(balance, s, trim)
    notes = [
        "AIPW assumes no unmeasured confounding: every reason for enrolment that also affects the "
        "outcome is among the covariates.",
    ]
    if s.n_trim["treated"] or s.n_trim["control"]:
        notes.append(
            f"The estimate refers to the {s.n} units with propensity inside [{trim[0]}, {trim[1]}]."
        )
    spec: dict[str, Any] = {
        "outcome": outcome,
        "treatment": treatment,
        "covariates": covariates,
        "estimand": estimand,
        "learners": {k: repr(v) for k, v in learners.items()},
        "folds": folds,
        "trim": tuple(trim),
        "seed": seed,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "ci_level": 1.0 - alpha,
        "versions": {**library_versions(), **_sklearn_version()},
        "inference": (
            f"cross-fitted ({folds} folds) influence-function standard error, normal interval"
        ),
        "notes": notes,
    }
    ci_low, ci_high = normal_interval(s.tau, se, alpha=alpha)
    return Effect(
        estimate=s.tau,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=wald_p_value(s.tau, se),
        n_units=s.n,
        n_obs=s.n,
        method=f"AIPW ({estimand.upper()}, cross-fitted)",
        outcome=outcome,
        spec=spec,
        diagnostics=diagnostics,
        baseline=s.baseline,
        higher_is_better=higher_is_better,
        extras={
            "alternatives": alternatives,
            "balance": balance,
            "propensity": _propensity_table(e, d),
            "propensity_scores": pd.Series(e, index=df.index, name="propensity"),
            "n_trimmed": s.n_trim,
            "effective_sample_size": _ess(s),
            "raw_difference": float(alternatives.loc[0, "estimate"]),
            "notes": notes,
        },
    )


@dataclass(frozen=True)
class _Score:
    """The trimmed sample and its doubly robust score (fit step)."""

    keep: np.ndarray  # rows inside the trimming range
    n_trim: dict[str, int]  # rows trimmed, by arm
    n: int  # rows kept
    y: np.ndarray  # outcome, kept rows
    d: np.ndarray  # treatment, kept rows
    e: np.ndarray  # cross-fitted propensity, kept rows
    tau: float  # AIPW estimate
    phi: np.ndarray  # influence function
    weights: np.ndarray  # balancing weights of the kept rows
    baseline: float  # counterfactual mean of the estimand's population
    share_dropped: float  # share of the estimand's population trimmed
    whom: str  # that population, in words


def _validate(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: list[str],
    estimand: str,
    trim: tuple[float, float],
    folds: int,
) -> None:
    """Check columns, options and arm sizes; raise one error listing every problem."""
    problems = check_frame(
        df,
        func="aipw",
        columns=[outcome, treatment, *covariates],
        numeric=[outcome, *covariates],
        no_missing=[outcome, treatment, *covariates],
    )
    if estimand not in ("att", "ate"):
        problems.append(f"aipw: estimand must be 'att' or 'ate', got {estimand!r}")
    if not (0 <= trim[0] < trim[1] <= 1):
        problems.append(f"aipw: trim must satisfy 0 <= low < high <= 1, got {trim!r}")
    if folds < 2:
        problems.append(f"aipw: folds must be >= 2, got {folds}")
    if not problems:
        vals = set(pd.unique(df[treatment].astype(float)))
        if not vals <= {0.0, 1.0}:
            bad = df.index[~df[treatment].astype(float).isin([0.0, 1.0]).to_numpy()]
            problems.append(
                f"aipw: table `df`, column {treatment!r} must be 0/1; rows {list(bad[:5])} "
                f"have {list(df.loc[bad[:5], treatment])}"
            )
        else:
            n1 = int(df[treatment].astype(float).sum())
            if min(n1, len(df) - n1) < 2 * folds:
                problems.append(
                    f"aipw: need at least {2 * folds} treated and {2 * folds} untreated rows "
                    f"for {folds}-fold cross-fitting; got {n1} and {len(df) - n1}"
                )
    raise_problems(problems)


def _learners(learners: Mapping[str, Any] | None, seed: int) -> dict[str, Any]:
    """Return the nuisance learners (default or given), checking both keys are present."""
    out = dict(learners) if learners is not None else default_learners(seed)
    for key in ("propensity", "outcome"):
        if key not in out:
            raise ValueError(f"aipw: learners must have key {key!r}; got {sorted(out)}")
    return out


def _score(
    y: np.ndarray,
    d: np.ndarray,
    e: np.ndarray,
    m0: np.ndarray,
    m1: np.ndarray,
    estimand: str,
    trim: tuple[float, float],
) -> _Score:
    """Trim the propensities, then the ATT or ATE score, its influence function and weights."""
    keep = (e >= trim[0]) & (e <= trim[1])
    n_trim = {
        "treated": int(np.sum(~keep & (d == 1))),
        "control": int(np.sum(~keep & (d == 0))),
    }
    ys, ds, es, m0s, m1s = y[keep], d[keep], e[keep], m0[keep], m1[keep]
    if ds.sum() < 2 or (1 - ds).sum() < 2:
        raise ValueError(
            f"aipw: after trimming propensities outside {trim} only {int(ds.sum())} treated and "
            f"{int((1 - ds).sum())} untreated rows remain: no overlap between the groups"
        )
    if estimand == "att":
        p = ds.mean()
        w0 = es / (1 - es)
        num = ds * (ys - m0s) - (1 - ds) * w0 * (ys - m0s)
        tau = float(num.sum() / ds.sum())
        phi = (ds * (ys - m0s - tau) - (1 - ds) * w0 * (ys - m0s)) / p
        weights = np.where(ds == 1, 1.0, w0)
        baseline = float(ys[ds == 1].mean() - tau)
        share_dropped = n_trim["treated"] / max(int(d.sum()), 1)
        whom = "treated units"
    else:
        score = m1s - m0s + ds * (ys - m1s) / es - (1 - ds) * (ys - m0s) / (1 - es)
        tau = float(score.mean())
        phi = score - tau
        weights = np.where(ds == 1, 1.0 / es, 1.0 / (1 - es))
        baseline = float(np.mean(m0s + (1 - ds) * (ys - m0s) / (1 - es)))
        share_dropped = (n_trim["treated"] + n_trim["control"]) / len(d)
        whom = "units"
    return _Score(
        keep=keep,
        n_trim=n_trim,
        n=int(keep.sum()),
        y=ys,
        d=ds,
        e=es,
        tau=tau,
        phi=phi,
        weights=weights,
        baseline=baseline,
        share_dropped=share_dropped,
        whom=whom,
    )


def _alternatives(
    y: np.ndarray, d: np.ndarray, s: _Score, estimand: str, se: float, alpha: float
) -> pd.DataFrame:
    """Raw difference, normalized IPW and propensity matching next to AIPW (for contrast)."""
    raw = y[d == 1].mean() - y[d == 0].mean()
    raw_se = np.sqrt(y[d == 1].var(ddof=1) / d.sum() + y[d == 0].var(ddof=1) / (1 - d).sum())
    ipw_est, ipw_se = _ipw(s.y, s.d, s.e, estimand)
    logit = np.log(s.e / (1 - s.e))
    m_est, m_se = _match(s.y, s.d, logit, estimand)
    return pd.DataFrame(
        [
            _row("raw difference (untrimmed)", float(raw), float(raw_se), len(y), alpha),
            _row("IPW (normalized)", ipw_est, ipw_se, s.n, alpha),
            _row("1-NN propensity matching", m_est, m_se, s.n, alpha),
            _row(f"AIPW ({estimand.upper()})", s.tau, se, s.n, alpha),
        ]
    )


def _balance(X_df: pd.DataFrame, d: np.ndarray, s: _Score) -> pd.DataFrame:
    """SMD table before (all rows, unweighted) and after weighting (kept rows)."""
    balance = smd_table(X_df, d == 1).drop(columns="balanced")
    after = smd_table(X_df.loc[s.keep], s.d == 1, weights=s.weights)
    # after weighting (trimmed rows); same yardstick as before: the full sample's pooled sd
    pooled_sd = np.sqrt((X_df[d == 1].var(ddof=1) + X_df[d == 0].var(ddof=1)).to_numpy() / 2.0)
    diff = (after["mean_treated_weighted"] - after["mean_control_weighted"]).to_numpy()
    balance["mean_treated_weighted"] = after["mean_treated_weighted"].to_numpy()
    balance["mean_control_weighted"] = after["mean_control_weighted"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        balance["smd_after"] = np.where(pooled_sd > 0, diff / pooled_sd, 0.0)
    balance["balanced"] = balance["smd_after"].abs() < ADJUSTED_BALANCE_THRESHOLD
    return balance


def _ess(s: _Score) -> float:
    """Effective sample size of the weighted comparison group."""
    wc = s.weights[s.d == 0]
    return float(wc.sum() ** 2 / np.sum(wc**2))


def _propensity_table(e: np.ndarray, d: np.ndarray) -> pd.DataFrame:
    """Quantiles of the cross-fitted propensity by arm (all rows)."""
    quant = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]
    return pd.DataFrame(
        {
            "treated": np.quantile(e[d == 1], quant),
            "control": np.quantile(e[d == 0], quant),
        },
        index=pd.Index(["min", "p01", "p05", "p25", "p50", "p75", "p95", "p99", "max"]),
    )


def _diagnostics(
    balance: pd.DataFrame, s: _Score, trim: tuple[float, float]
) -> tuple[Diagnostic, Diagnostic]:
    """Return the required overlap and balance checks."""
    max_after = float(balance["smd_after"].abs().max())
    max_before = float(balance["smd_before"].abs().max())
    n_trim, share_dropped = s.n_trim, s.share_dropped
    return (
        Diagnostic(
            name="overlap",
            passed=bool(share_dropped <= MAX_TRIMMED_SHARE),
            value=float(share_dropped),
            required=True,
            note=(
                f"trimming propensities outside [{trim[0]}, {trim[1]}] dropped "
                f"{n_trim['treated']} treated and {n_trim['control']} untreated rows "
                f"({100 * share_dropped:.1f}% of {s.whom}; limit {100 * MAX_TRIMMED_SHARE:.0f}%)"
            ),
        ),
        Diagnostic(
            name="balance",
            passed=bool(max_after < ADJUSTED_BALANCE_THRESHOLD),
            statistic=max_after,
            value=max_before,
            required=True,
            note=(
                f"largest |standardized mean difference| {max_before:.2f} before and "
                f"{max_after:.2f} after weighting (bar {ADJUSTED_BALANCE_THRESHOLD}: AIPW also "
                f"adjusts with the outcome model; {BALANCE_THRESHOLD} for weighting alone)"
            ),
        ),
    )


def _sklearn_version() -> dict[str, str]:
    import sklearn

    return {"scikit-learn": sklearn.__version__}
