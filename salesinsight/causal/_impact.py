"""CausalImpact-style counterfactual for a change with no control group (structural time series).

A statsmodels ``UnobservedComponents`` model (local level or local linear trend, optional
stochastic seasonality, regression on covariate series) is fitted by maximum likelihood on the
pre-period only. The counterfactual for the post-period is simulated from the fitted model:

1. parameter uncertainty: ``n_param_draws`` parameter vectors are drawn from the asymptotic normal
   distribution of the MLE in the optimiser's unconstrained space (inverse numerical Hessian), then
   mapped back (variances stay positive); if the Hessian is not positive definite the MLE is used
   for every draw and this is said in the notes;
2. state and noise uncertainty: for each parameter draw, paths are simulated forward from the
   Kalman-filter predictive distribution of the state at the intervention (``anchor="end"``), with
   the observed post-period covariates.

The effect per period is observed minus simulated counterfactual; the average (and cumulative)
effect and their intervals are summaries over the same simulated paths, so they respect the
correlation between periods. The point counterfactual is the forecast mean at the MLE.

The design has no control group. It assumes (i) the covariates were not affected by the change
and (ii) the pre-period relationship (trend, seasonality, regression) would have continued. Neither
can be checked from the data; :func:`impact` says so in ``summary()``. A placebo-in-time check
(fake intervention inside the pre-period) is reported as a diagnostic.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.tools.numdiff import approx_hess
from statsmodels.tsa.statespace.structural import UnobservedComponents

from salesinsight.causal._balance import raise_problems
from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.inference import percentile_interval, z_critical

__all__ = ["CAVEAT", "impact"]

CAVEAT = (
    "No control group: this assumes the covariates were unaffected by the change and that the "
    "pre-period pattern (level, trend, seasonality, relation to covariates) would have continued; "
    "neither assumption can be tested from the data."
)

_LEVELS = {"local level": "llevel", "local linear trend": "lltrend"}


def _fit(y: np.ndarray, X: np.ndarray | None, level: str, seasonal: int | None) -> tuple[Any, Any]:
    mod = UnobservedComponents(
        y,
        exog=X,
        level=_LEVELS[level],
        seasonal=seasonal,
        stochastic_seasonal=True if seasonal else False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mod.fit(disp=False, method="lbfgs", maxiter=500)
        # polish from the L-BFGS solution (Nelder-Mead is robust where variances hit zero)
        res2 = mod.fit(res.params, disp=False, method="nm", maxiter=2000)
        res3 = mod.fit(res2.params, disp=False, method="lbfgs", maxiter=500)
    best = max((res, res2, res3), key=lambda r: r.llf)
    return mod, best


def _param_draws(
    mod: Any, res: Any, n_draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """(n_draws, k) constrained parameter draws; flag False when the MLE is used throughout."""
    theta = np.asarray(mod.untransform_params(res.params), dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            H = approx_hess(theta, lambda t: mod.loglike(t, transformed=False))
            cov = np.linalg.inv(-H)
            cov = (cov + cov.T) / 2.0
            eig = np.linalg.eigvalsh(cov)
            ok = bool(np.all(np.isfinite(cov)) and eig.min() > 0)
        except (np.linalg.LinAlgError, ValueError):
            ok = False
    if not ok:
        return np.tile(np.asarray(res.params, dtype=float), (n_draws, 1)), False
    draws_u = rng.multivariate_normal(theta, cov, size=n_draws)
    return np.array([mod.transform_params(t) for t in draws_u]), True


def _simulate(
    mod: Any,
    params: np.ndarray,
    n_post: int,
    X_post: np.ndarray | None,
    reps: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n_post, reps) counterfactual paths (standardised units) for one parameter draw.

    The state at the first post period is drawn from its Kalman-filter predictive distribution
    given the pre-period; states and observations are then simulated forward with the model's
    (time-invariant) matrices and the regression term ``X_post @ beta``.
    """
    mod.update(params, transformed=True)
    fr = mod.ssm.filter()
    a = np.asarray(fr.predicted_state)[:, -1]
    P = np.asarray(fr.predicted_state_cov)[:, :, -1]
    Z = np.asarray(mod.ssm["design"]).reshape(1, -1)
    T = np.asarray(mod.ssm["transition"])
    R = np.asarray(mod.ssm["selection"])
    Q = np.asarray(mod.ssm["state_cov"])
    h = float(np.asarray(mod.ssm["obs_cov"]).reshape(-1)[0])
    k = a.size
    alpha = a[:, None] + _psd_sqrt(P) @ rng.standard_normal((k, reps))
    q_sqrt = _psd_sqrt(Q)
    xb = np.zeros(n_post)
    if X_post is not None:
        names = list(mod.param_names)
        beta = np.array([params[names.index(f"beta.x{i + 1}")] for i in range(X_post.shape[1])])
        xb = X_post @ beta
    out = np.empty((n_post, reps))
    for t in range(n_post):
        out[t] = (Z @ alpha)[0] + xb[t] + np.sqrt(max(h, 0.0)) * rng.standard_normal(reps)
        alpha = T @ alpha + R @ (q_sqrt @ rng.standard_normal((Q.shape[0], reps)))
    return out


def _psd_sqrt(M: np.ndarray) -> np.ndarray:
    """Return a matrix S with S S' = M for a symmetric positive semi-definite M."""
    w, V = np.linalg.eigh((M + M.T) / 2.0)
    return V * np.sqrt(np.clip(w, 0.0, None))


def _counterfactual(
    y: np.ndarray,
    X: np.ndarray | None,
    n_pre: int,
    *,
    level: str,
    seasonal: int | None,
    n_sims: int,
    n_param_draws: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Fit on y[:n_pre] (standardised internally); simulate y[n_pre:]'s counterfactual."""
    mu, sd = float(np.mean(y[:n_pre])), float(np.std(y[:n_pre], ddof=1))
    sd = sd if sd > 0 else 1.0
    ys = (y - mu) / sd
    Xs = None
    if X is not None:
        xm, xsd = X[:n_pre].mean(axis=0), X[:n_pre].std(axis=0, ddof=1)
        xsd[~(xsd > 0)] = 1.0
        Xs = (X - xm) / xsd
    Xpre = None if Xs is None else Xs[:n_pre]
    Xpost = None if Xs is None else Xs[n_pre:]
    n_post = len(y) - n_pre
    mod, res = _fit(ys[:n_pre], Xpre, level, seasonal)
    n_draws = max(1, min(n_param_draws, n_sims))
    draws, param_unc = _param_draws(mod, res, n_draws, rng)
    reps = np.full(n_draws, n_sims // n_draws)
    reps[: n_sims - reps.sum()] += 1
    paths = np.hstack(
        [_simulate(mod, p, n_post, Xpost, int(k), rng) for p, k in zip(draws, reps, strict=True)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = res.get_forecast(n_post, exog=Xpost)
        point = np.asarray(fc.predicted_mean, dtype=float)
        pre_pred = res.get_prediction()
        pre_mean = np.asarray(pre_pred.predicted_mean, dtype=float)
        pre_var = np.asarray(pre_pred.var_pred_mean, dtype=float).reshape(-1)
        resid = np.asarray(res.standardized_forecasts_error, dtype=float).reshape(-1)
    return {
        "point": point * sd + mu,
        "paths": paths * sd + mu,
        "pre_mean": pre_mean * sd + mu,
        "pre_sd": np.sqrt(np.clip(pre_var, 0, None)) * sd,
        "resid": resid,
        "param_uncertainty": param_unc,
        "params": pd.Series(np.asarray(res.params), index=mod.param_names),
        "llf": float(res.llf),
        "burn": int(res.loglikelihood_burn),
    }


def impact(
    series: pd.Series | Sequence[float] | np.ndarray,
    *,
    intervention: Any,
    covariates: pd.DataFrame | None = None,
    level: Literal["local level", "local linear trend"] = "local level",
    seasonal: int | None = None,
    alpha: float = 0.05,
    n_sims: int = 1000,
    n_param_draws: int = 100,
    placebo: bool = True,
    seed: int = 0,
    higher_is_better: bool = True,
    outcome: str | None = None,
) -> Effect:
    """Effect of a change on one time series, against a structural time-series counterfactual.

    Parameters
    ----------
    series : Series or array, shape (T,)
        Outcome in time order (e.g. weekly company revenue). The index (if a Series) gives the
        time labels; otherwise positions 0..T-1 are used.
    intervention : index label (or position for arrays)
        First period of the change; earlier periods form the pre-period (at least 10).
    covariates : DataFrame, shape (T, k), optional
        Control series on the same index, observed before and after (they must not be affected
        by the change).
    level : {"local level", "local linear trend"}
    seasonal : int, optional
        Period of a stochastic seasonal component (e.g. 52 for weeks in a year, 4 for quarters).
    alpha : float, default 0.05
        One minus the interval level.
    n_sims : int, default 1000
        Simulated counterfactual paths.
    n_param_draws : int, default 100
        Parameter draws the paths are spread over (parameter uncertainty).
    placebo : bool, default True
        Also run the placebo-in-time check (a fake intervention two thirds into the pre-period).
    seed : int, default 0
    higher_is_better : bool, default True
    outcome : str, optional
        Outcome name for reports (default: the Series name or ``"y"``).

    Returns
    -------
    Effect
        ``estimate`` = average post-period effect (observed - counterfactual), interval = central
        (1 - alpha) range of the simulated average effect, ``p_value`` = two-sided simulation tail
        probability; ``terms`` per-period effects with ``cumulative``, ``cum_low``, ``cum_high``;
        ``path`` observed and counterfactual (pre-period: one-step-ahead predictions);
        ``extras["cumulative"]`` the total effect with its interval.
    """
    y_ser, n_pre, X = _validate(series, intervention, covariates, level, alpha, n_sims)
    name = outcome or (str(y_ser.name) if y_ser.name is not None else "y")
    y = pd.to_numeric(y_ser, errors="coerce").to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    cf = _counterfactual(
        y,
        X,
        n_pre,
        level=level,
        seasonal=seasonal,
        n_sims=n_sims,
        n_param_draws=n_param_draws,
        rng=rng,
    )
    inf = _infer(y, n_pre, cf, alpha, y_ser.index)
    diagnostics = _diagnostics(cf, alpha)
    pit: dict[str, Any] | None = None
    if placebo:
        pit = _placebo_in_time(
            y[:n_pre], X[:n_pre] if X is not None else None, level, seasonal, alpha, n_sims, rng
        )
        if pit is not None:
            diagnostics.append(_placebo_diagnostic(pit))
    notes = [CAVEAT]
    if not cf["param_uncertainty"]:
        notes.append(
            "The information matrix was not positive definite, so parameter uncertainty is not "
            "included: the interval is too narrow."
        )
    spec: dict[str, Any] = {
        "intervention": intervention,
        "covariates": None if covariates is None else list(map(str, covariates.columns)),
        "level": level,
        "seasonal": seasonal,
        "alpha": alpha,
        "n_sims": n_sims,
        "n_param_draws": n_param_draws,
        "placebo": placebo,
        "seed": seed,
        "higher_is_better": higher_is_better,
        "outcome": name,
        "ci_level": 1.0 - alpha,
        "versions": library_versions(),
        "inference": _inference_text(n_sims, n_param_draws, cf["param_uncertainty"]),
        "notes": notes,
    }
    point = float(cf["point"].mean())
    return Effect(
        estimate=inf["estimate"],
        se=float(inf["avg"].std(ddof=1)),
        ci_low=inf["ci_low"],
        ci_high=inf["ci_high"],
        p_value=_tail_p(inf["avg"]),
        n_units=1,
        n_obs=len(y),
        method="structural time series (CausalImpact-style)",
        outcome=name,
        spec=spec,
        diagnostics=tuple(diagnostics),
        baseline=point,
        higher_is_better=higher_is_better,
        terms=inf["terms"],
        path=_path(y, y_ser.index, cf, alpha),
        extras={
            "cumulative": inf["cumulative"],
            "relative": inf["estimate"] / abs(point) if cf["point"].mean() != 0 else np.nan,
            "params": cf["params"],
            "loglike": cf["llf"],
            "param_uncertainty": cf["param_uncertainty"],
            "n_pre": n_pre,
            "n_post": len(y) - n_pre,
            "placebo_time": pit,
            "notes": notes,
        },
    )


def _placebo_diagnostic(pit: dict[str, Any]) -> Diagnostic:
    """Return the placebo-in-time result as an informational diagnostic."""
    return Diagnostic(
        name="placebo_time",
        passed=pit["passed"],
        p_value=pit["p_value"],
        value=pit["estimate"],
        required=False,
        note=pit["note"],
    )


def _validate(
    series: pd.Series | Sequence[float] | np.ndarray,
    intervention: Any,
    covariates: pd.DataFrame | None,
    level: str,
    alpha: float,
    n_sims: int,
) -> tuple[pd.Series, int, np.ndarray | None]:
    """Check the inputs (all problems at once); return the series, pre-period length, covariates."""
    problems: list[str] = []
    y_ser = series if isinstance(series, pd.Series) else pd.Series(np.asarray(series))
    if level not in _LEVELS:
        problems.append(f"impact: level must be one of {list(_LEVELS)}, got {level!r}")
    if not 0 < alpha < 1:
        problems.append(f"impact: alpha must be in (0, 1), got {alpha!r}")
    if n_sims < 100:
        problems.append(f"impact: n_sims must be >= 100, got {n_sims}")
    y_num = pd.to_numeric(y_ser, errors="coerce")
    bad = y_num.isna().to_numpy()
    if bad.any():
        problems.append(
            f"impact: `series` has {int(bad.sum())} missing/non-numeric value(s) at "
            f"{list(y_ser.index[bad][:5])}"
        )
    if not y_ser.index.is_monotonic_increasing or y_ser.index.has_duplicates:
        problems.append("impact: `series` index must be increasing with no duplicates")
    n_pre = int(np.sum(y_ser.index < intervention)) if not bad.all() else 0
    if intervention not in y_ser.index:
        problems.append(f"impact: intervention {intervention!r} is not in the series index")
    if n_pre < 10:
        problems.append(
            f"impact: {n_pre} pre-period observations before {intervention!r}; need >= 10"
        )
    X = None
    if covariates is not None:
        if not isinstance(covariates, pd.DataFrame):
            problems.append("impact: `covariates` must be a DataFrame")
        elif not covariates.index.equals(y_ser.index):
            problems.append("impact: `covariates` must have exactly the index of `series`")
        else:
            for c in covariates.columns:
                col = pd.to_numeric(covariates[c], errors="coerce")
                if col.isna().any():
                    rows = list(covariates.index[col.isna().to_numpy()][:5])
                    problems.append(
                        f"impact: table `covariates`, column {c!r} has missing/non-numeric "
                        f"values at {rows}"
                    )
            X = covariates.to_numpy(dtype=float) if not problems else None
    raise_problems(problems)
    return y_ser, n_pre, X


def _infer(
    y: np.ndarray, n_pre: int, cf: dict[str, Any], alpha: float, times: pd.Index
) -> dict[str, Any]:
    """Average, per-period and cumulative effects with simulation intervals."""
    obs_post = y[n_pre:]
    eff_paths = obs_post[:, None] - cf["paths"]  # (n_post, n_sims)
    avg = eff_paths.mean(axis=0)
    cum = eff_paths.sum(axis=0)
    q = (alpha / 2, 1 - alpha / 2)
    lo, hi = percentile_interval(avg, alpha)
    c_lo, c_hi = percentile_interval(cum, alpha)
    per = obs_post - cf["point"]
    per_lo, per_hi = np.quantile(eff_paths, q, axis=1)
    cum_lo, cum_hi = np.quantile(np.cumsum(eff_paths, axis=0), q, axis=1)
    terms = pd.DataFrame(
        {
            "term": list(times[n_pre:]),
            "estimate": per,
            "se": eff_paths.std(axis=1, ddof=1),
            "ci_low": per_lo,
            "ci_high": per_hi,
            "cumulative": np.cumsum(per),
            "cum_low": cum_lo,
            "cum_high": cum_hi,
        }
    )
    return {
        "estimate": float(obs_post.mean() - cf["point"].mean()),
        "avg": avg,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "terms": terms,
        "cumulative": {
            "estimate": float(obs_post.sum() - cf["point"].sum()),
            "ci_low": float(c_lo),
            "ci_high": float(c_hi),
            "p_value": _tail_p(cum),
        },
    }


def _path(y: np.ndarray, times: pd.Index, cf: dict[str, Any], alpha: float) -> pd.DataFrame:
    """Observed and counterfactual series; pre-period band from one-step-ahead predictions."""
    q = (alpha / 2, 1 - alpha / 2)
    cf_lo, cf_hi = np.quantile(cf["paths"], q, axis=1)
    z = z_critical(alpha)
    pre_lo = cf["pre_mean"] - z * cf["pre_sd"]
    pre_hi = cf["pre_mean"] + z * cf["pre_sd"]
    burn = cf["burn"]
    pre_lo[:burn] = np.nan
    pre_hi[:burn] = np.nan
    return pd.DataFrame(
        {
            "time": list(times),
            "observed": y,
            "counterfactual": np.concatenate([cf["pre_mean"], cf["point"]]),
            "cf_low": np.concatenate([pre_lo, cf_lo]),
            "cf_high": np.concatenate([pre_hi, cf_hi]),
        }
    )


def _diagnostics(cf: dict[str, Any], alpha: float) -> list[Diagnostic]:
    """Return the untestable-assumption note and the Ljung-Box check of the pre-period errors."""
    diagnostics = [
        Diagnostic(
            name="untestable_assumptions",
            passed=None,
            required=False,
            note=CAVEAT,
        )
    ]
    resid = cf["resid"][cf["burn"] :]
    resid = resid[np.isfinite(resid)]
    lags = max(1, min(10, resid.size // 5))
    lb = acorr_ljungbox(resid, lags=[lags])
    lb_p = float(lb["lb_pvalue"].iloc[0])
    diagnostics.append(
        Diagnostic(
            name="residual_autocorrelation",
            passed=bool(lb_p > alpha),
            statistic=float(lb["lb_stat"].iloc[0]),
            p_value=lb_p,
            required=False,
            note=(
                f"Ljung-Box test on one-step-ahead pre-period errors ({lags} lags): "
                + (
                    "no sign of a misspecified model"
                    if lb_p > alpha
                    else "errors are autocorrelated, so the model misses structure and the "
                    "interval may be too narrow"
                )
            ),
        )
    )
    return diagnostics


def _inference_text(n_sims: int, n_param_draws: int, param_uncertainty: bool) -> str:
    """Describe the inference for ``spec["inference"]``."""
    return (
        f"{n_sims} simulated counterfactual paths from the fitted state-space model "
        + (
            f"over {min(n_param_draws, n_sims)} parameter draws"
            if param_uncertainty
            else "at the MLE (no parameter uncertainty)"
        )
        + "; interval = simulation quantiles, p = two-sided simulation tail probability"
    )


def _tail_p(draws: np.ndarray) -> float:
    """Two-sided simulation tail probability of zero, with the +1 correction."""
    n = draws.size
    lower = (1 + np.sum(draws <= 0)) / (n + 1)
    upper = (1 + np.sum(draws >= 0)) / (n + 1)
    return float(min(1.0, 2 * min(lower, upper)))


def _placebo_in_time(
    y_pre: np.ndarray,
    X_pre: np.ndarray | None,
    level: str,
    seasonal: int | None,
    alpha: float,
    n_sims: int,
    rng: np.random.Generator,
) -> dict[str, Any] | None:
    """Fake intervention two thirds into the pre-period: its interval should cover zero."""
    n = y_pre.size
    cut = int(round(n * 2 / 3))
    if cut < 10 or n - cut < 2:
        return None
    cf = _counterfactual(
        y_pre,
        X_pre,
        cut,
        level=level,
        seasonal=seasonal,
        n_sims=n_sims,
        n_param_draws=max(1, n_sims // 10),
        rng=rng,
    )
    avg = (y_pre[cut:, None] - cf["paths"]).mean(axis=0)
    lo, hi = percentile_interval(avg, alpha)
    ok = bool(lo <= 0 <= hi)
    return {
        "fake_intervention_position": cut,
        "estimate": float(y_pre[cut:].mean() - cf["point"].mean()),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p_value": _tail_p(avg),
        "passed": ok,
        "note": (
            "a fake intervention two thirds into the pre-period "
            + (
                "shows no effect, as it should"
                if ok
                else "shows an 'effect': the model does not forecast this series well"
            )
        ),
    }
