"""Randomized experiments: difference in means, regression adjustment, ratio metrics, few clusters.

``experiment`` estimates the average treatment effect of a randomized program:

* difference in means by OLS of the outcome on the treatment indicator;
* with ``covariates``: Lin (2013) regression adjustment (treatment interacted with covariates centred at
  their full-sample means; the treatment coefficient is the ATE) or plain ANCOVA/CUPED
  (``adjustment="ancova"``);
* standard errors from statsmodels OLS: HC1 for individually randomized units (``vcov="iid"`` or ``"HC2"``
  on request), CR1 cluster-robust when ``cluster`` is given;
* with fewer than ``few_clusters`` clusters the primary p-value and interval come from a wild cluster
  restricted bootstrap (WCR, Rademacher weights, Webb six-point weights with 12 clusters or fewer) with the
  interval by test inversion, as in Roodman, MacKinnon, Nielsen & Webb (2019) ``boottest``;
* ``permutations > 0`` adds a randomization-inference p-value (studentized statistic; treatment permuted
  at the cluster level when it is constant within clusters);
* ratio metrics (e.g. win rate = won / closed): ``outcome`` is the numerator, ``ratio_denominator`` the
  denominator; the estimate is the difference of the arms' ratios of sums (over cluster totals when
  clustered) with a delta-method standard error, obtained by regressing the linearized outcome
  ``R_a + (y_i - R_a x_i) / mean_a(x)`` on treatment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from salesinsight.causal.effect import Diagnostic, Effect, library_versions

__all__ = ["balance_table", "experiment", "randomization_check", "wild_cluster_bootstrap"]

WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def experiment(
    df: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    cluster: str | None = None,
    covariates: Sequence[str] | None = None,
    permutations: int = 0,
    seed: int | None = None,
    ratio_denominator: str | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    vcov: Literal["HC1", "HC2", "iid"] = "HC1",
    adjustment: Literal["lin", "ancova"] = "lin",
    few_clusters: int = 40,
    bootstrap_reps: int = 9999,
    balance_threshold: float = 0.1,
    balance_required: bool = True,
) -> Effect:
    """Average treatment effect of a randomized treatment.

    Parameters
    ----------
    df : DataFrame
        One row per unit (rep, team, deal, ...); ``n_obs`` = rows.
    outcome : str
        Outcome column, or the numerator column of a ratio metric.
    treatment : str
        0/1 (or bool) assignment column.
    cluster : str, optional
        Cluster (assignment-unit) column; SEs are CR1 cluster-robust and ``n_units`` counts clusters.
    covariates : sequence of str, optional
        Pre-treatment covariates for regression adjustment and the balance table.
    permutations : int, default 0
        Number of randomization-inference permutations (0 = none).
    seed : int, optional
        Seed for the bootstrap and permutations (``None`` means 0: results are always reproducible).
    ratio_denominator : str, optional
        Denominator column of a ratio metric; the effect is on ``sum(outcome) / sum(denominator)``.
    alpha : float, default 0.05
        Interval level is ``1 - alpha``.
    higher_is_better : bool, default True
    vcov : {"HC1", "HC2", "iid"}, default "HC1"
        Variance estimator without clusters ("iid" = classical OLS).
    adjustment : {"lin", "ancova"}, default "lin"
        Regression adjustment used when covariates are given.
    few_clusters : int, default 40
        With fewer clusters than this, inference is by wild cluster restricted bootstrap.
    bootstrap_reps : int, default 9999
    balance_threshold : float, default 0.1
        Balance passes when every covariate's |standardized mean difference| is below this.
    balance_required : bool, default True
        Whether a failed balance check makes the verdict inconclusive. With few randomized
        clusters chance imbalances above 0.1 are common and harmless once the covariates are
        adjusted for; the always-required ``randomization_check`` (joint test that the covariates
        do not predict treatment, p >= 0.01) then guards against broken randomization.

    Returns
    -------
    Effect
        ``method`` is ``"experiment"`` (or ``"experiment_ratio"``); ``extras`` holds ``balance``
        (DataFrame), ``arms`` (per-arm n and mean/ratio), ``analytic`` (the analytic p-value and
        interval), and ``ri_p_value`` / ``bootstrap`` where computed.
    """
    covs = list(covariates or [])
    _validate(
        df,
        outcome=outcome,
        treatment=treatment,
        cluster=cluster,
        covariates=covs,
        ratio_denominator=ratio_denominator,
        alpha=alpha,
        vcov=vcov,
        adjustment=adjustment,
        permutations=permutations,
    )
    rng = np.random.default_rng(0 if seed is None else seed)
    u, notes = _prepare(df, outcome, treatment, cluster, covs, ratio_denominator)
    X = _design(u.d, u.cov_mat, adjustment)
    fit, vcov_used = _fit(u.y, X, u.groups, vcov)
    analytic, inference = _analytic(fit, u, alpha, vcov_used)
    p_value, ci_low, ci_high = analytic["p_value"], analytic["ci_low"], analytic["ci_high"]
    extras: dict[str, Any] = {"arms": u.arms, "analytic": analytic}
    if u.groups is not None and u.n_units < few_clusters:
        boot, inference, note = _few_clusters(u, X, alpha, bootstrap_reps, few_clusters, rng)
        p_value, ci_low, ci_high = boot["p_value"], boot["ci_low"], boot["ci_high"]
        extras["bootstrap"] = boot
        notes.append(note)
    if permutations > 0:
        notes.append(_add_ri(extras, u, adjustment, vcov_used, permutations, rng))
    extras["balance"], diagnostics = _balance_checks(
        u, treatment, covs, balance_threshold, balance_required
    )
    extras["coefficients"] = pd.DataFrame(
        {"estimate": fit.params, "se": fit.bse}, index=_design_names(covs, adjustment)
    )
    spec = {
        "outcome": outcome,
        "treatment": treatment,
        "cluster": cluster,
        "covariates": tuple(covs),
        "permutations": permutations,
        "seed": seed,
        "ratio_denominator": ratio_denominator,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "vcov": vcov_used,
        "adjustment": adjustment if covs else "none",
        "few_clusters": few_clusters,
        "bootstrap_reps": bootstrap_reps,
        "balance_threshold": balance_threshold,
        "balance_required": balance_required,
        "ci_level": 1.0 - alpha,
        "inference": inference,
        "notes": tuple(notes),
        "versions": library_versions(),
    }
    return Effect(
        estimate=float(fit.params[1]),
        se=float(fit.bse[1]),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=float(p_value),
        n_units=u.n_units,
        n_obs=len(df),
        method="experiment_ratio" if ratio_denominator else "experiment",
        outcome=outcome if not ratio_denominator else f"{outcome}/{ratio_denominator}",
        spec=spec,
        diagnostics=diagnostics,
        baseline=float(u.arms.loc[0, "value"]),
        higher_is_better=higher_is_better,
        extras=extras,
    )


def _analytic(fit: Any, u: _Units, alpha: float, vcov_used: str) -> tuple[dict[str, float], str]:
    """Return the analytic p-value, interval and degrees of freedom, and the inference in words."""
    ci_a = fit.conf_int(alpha=alpha)[1]
    analytic = {
        "p_value": float(fit.pvalues[1]),
        "ci_low": float(ci_a[0]),
        "ci_high": float(ci_a[1]),
        "df": float(fit.df_resid) if u.groups is None else float(u.n_units - 1),
    }
    dist = "t" if u.groups is None else f"t({u.n_units - 1})"
    return analytic, f"analytic {vcov_used} standard errors, {dist} critical values"


def _add_ri(
    extras: dict[str, Any],
    u: _Units,
    adjustment: str,
    vcov_used: str,
    permutations: int,
    rng: np.random.Generator,
) -> str:
    """Add the randomization-inference p-value and level to ``extras``; return the note."""
    ri = _randomization_p(
        u.num, u.den, u.d, u.cov_mat, u.groups, adjustment, vcov_used, permutations, rng
    )
    extras["ri_p_value"] = ri["p_value"]
    extras["ri_level"] = ri["level"]
    return (
        f"randomization-inference p = {ri['p_value']:.4f} ({permutations} permutations "
        f"at the {ri['level']} level)"
    )


@dataclass(frozen=True)
class _Units:
    """The analysis units (rows, or cluster totals for a clustered ratio) as arrays."""

    frame: pd.DataFrame  # one row per analysis unit
    d: np.ndarray  # 0/1 treatment
    groups: np.ndarray | None  # cluster codes
    cov_mat: np.ndarray  # covariates, (n, k)
    num: np.ndarray  # outcome (ratio numerator)
    den: np.ndarray | None  # ratio denominator
    y: np.ndarray  # outcome the regression uses
    arms: pd.DataFrame  # per-arm n and mean/ratio
    n_units: int  # clusters, or units


def _prepare(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    cluster: str | None,
    covs: list[str],
    ratio_denominator: str | None,
) -> tuple[_Units, list[str]]:
    """Build the unit-level arrays (cluster totals for a clustered ratio); check arm sizes."""
    notes: list[str] = []
    if ratio_denominator is not None and cluster is not None:
        _check_constant_within(df, treatment, cluster)
        agg = {outcome: "sum", ratio_denominator: "sum", treatment: "first"}
        agg.update({c: "mean" for c in covs})
        units = df.groupby(cluster, sort=True, observed=True).agg(agg).reset_index()
        notes.append(
            f"ratio of sums computed on {cluster} totals; covariates averaged within {cluster}"
        )
    else:
        units = df.reset_index(drop=True)
    d = units[treatment].astype(float).to_numpy()
    groups = _group_codes(units[cluster]) if cluster is not None else None
    cov_mat = units[covs].astype(float).to_numpy() if covs else np.empty((len(units), 0))
    num = units[outcome].astype(float).to_numpy()
    den = units[ratio_denominator].astype(float).to_numpy() if ratio_denominator else None
    y, arms = _unit_outcome(num, den, d)
    n_units = int(groups.max() + 1) if groups is not None else len(units)
    for arm, n_arm in ((1, int((d == 1).sum())), (0, int((d == 0).sum()))):
        if n_arm < 2:
            raise ValueError(
                f"experiment: treatment arm {treatment}={arm} has {n_arm} unit(s); need at least 2"
            )
    units_ = _Units(units, d, groups, cov_mat, num, den, y, arms, n_units)
    return units_, notes


def _fit(y: np.ndarray, X: np.ndarray, groups: np.ndarray | None, vcov: str) -> tuple[Any, str]:
    """OLS with CR1 (clusters), classical or HC standard errors; return the fit and its vcov."""
    if groups is not None:
        fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        return fit, "CR1"
    if vcov == "iid":
        return sm.OLS(y, X).fit(use_t=True), "iid"
    return sm.OLS(y, X).fit(cov_type=vcov, use_t=True), vcov


def _few_clusters(
    u: _Units,
    X: np.ndarray,
    alpha: float,
    bootstrap_reps: int,
    few_clusters: int,
    rng: np.random.Generator,
) -> tuple[dict[str, Any], str, str]:
    """Wild cluster restricted bootstrap; return it, the inference text and a note."""
    assert u.groups is not None
    weights: Literal["rademacher", "webb"] = "webb" if u.n_units <= 12 else "rademacher"
    boot = wild_cluster_bootstrap(
        u.y, X, u.groups, column=1, alpha=alpha, reps=bootstrap_reps, weights=weights, rng=rng
    )
    inference = (
        f"wild cluster restricted bootstrap ({weights} weights, {bootstrap_reps} draws, "
        f"{u.n_units} clusters < {few_clusters}); interval by test inversion; "
        f"SE is the analytic CR1"
    )
    note = f"only {u.n_units} clusters: p-value and interval from the wild bootstrap"
    return boot, inference, note


def _balance_checks(
    u: _Units,
    treatment: str,
    covs: list[str],
    balance_threshold: float,
    balance_required: bool,
) -> tuple[pd.DataFrame, tuple[Diagnostic, ...]]:
    """Return the balance table and the balance (and randomization) diagnostics."""
    if not covs:
        diag = Diagnostic(
            name="balance",
            passed=None,
            required=True,
            note="no pre-treatment covariates given, balance not checked",
        )
        empty = pd.DataFrame(
            columns=["covariate", "mean_treated", "mean_control", "sd_pooled", "smd"]
        )
        return empty, (diag,)
    bal = balance_table(u.frame, treatment=treatment, covariates=covs)
    max_smd = float(bal["smd"].abs().max())
    worst = str(bal.loc[bal["smd"].abs().idxmax(), "covariate"])
    diag = Diagnostic(
        name="balance",
        passed=bool(max_smd < balance_threshold) if np.isfinite(max_smd) else None,
        statistic=max_smd,
        value=max_smd,
        required=balance_required,
        note=(
            f"largest |standardized mean difference| {max_smd:.3f} ({worst}); "
            f"passes below {balance_threshold}"
        ),
    )
    return bal, (diag, randomization_check(u.d, u.cov_mat, u.groups))


# ---------------------------------------------------------------------- building blocks
def balance_table(df: pd.DataFrame, *, treatment: str, covariates: Sequence[str]) -> pd.DataFrame:
    """Standardized mean differences of covariates between arms.

    ``smd = (mean_treated - mean_control) / sqrt((var_treated + var_control) / 2)`` (sample
    variances); one row per covariate with columns ``covariate, mean_treated, mean_control,
    sd_pooled, smd``.
    """
    t = df[treatment].astype(float) == 1
    rows = []
    for c in covariates:
        x = df[c].astype(float)
        m1, m0 = float(x[t].mean()), float(x[~t].mean())
        sd = float(np.sqrt((x[t].var(ddof=1) + x[~t].var(ddof=1)) / 2.0))
        smd = (m1 - m0) / sd if sd > 0 else (0.0 if m1 == m0 else np.inf)
        rows.append((c, m1, m0, sd, smd))
    return pd.DataFrame(
        rows, columns=["covariate", "mean_treated", "mean_control", "sd_pooled", "smd"]
    )


def wild_cluster_bootstrap(
    y: np.ndarray,
    X: np.ndarray,
    groups: np.ndarray,
    *,
    column: int = 1,
    alpha: float = 0.05,
    reps: int = 9999,
    weights: Literal["rademacher", "webb"] = "webb",
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Wild cluster restricted (WCR) bootstrap p-value and test-inversion interval for one coefficient.

    For a null value ``b0`` the restricted model imposes ``beta[column] = b0``; bootstrap outcomes are
    ``X_r gamma_r + b0 x + w_g u_r`` with one weight per cluster, and the bootstrap statistic is the
    CR1 t-statistic of each draw. Everything is linear in ``b0``, so each null value costs
    O(reps x clusters). The same weight draws are used for every ``b0``.

    Parameters
    ----------
    y : array (n,)
    X : array (n, p)
    groups : int array (n,)
        Cluster codes 0..G-1.

    Returns
    -------
    dict with ``p_value`` (for b0 = 0), ``ci_low``, ``ci_high``, ``reps``, ``weights``.
    """
    n, p = X.shape
    G = int(groups.max()) + 1
    XtX_inv = np.linalg.inv(X.T @ X)
    c = (XtX_inv @ X.T)[column]  # beta_k = c @ y
    beta = XtX_inv @ X.T @ y
    e = y - X @ beta
    k = G / (G - 1) * (n - 1) / (n - p)
    s = np.bincount(groups, weights=c * e, minlength=G)
    se_hat = float(np.sqrt(k * np.sum(s**2)))
    est = float(beta[column])

    x_k = X[:, column]
    X_r = np.delete(X, column, axis=1)
    H_r = np.linalg.pinv(X_r)

    def resid_r(v: np.ndarray) -> np.ndarray:
        return v - X_r @ (H_r @ v)

    u_y, u_x = resid_r(y), resid_r(x_k)  # u_r(b0) = u_y - b0 * u_x
    C = _group_sum(X * c[:, None], groups, G)  # (G, p): X_h' c_h

    def parts(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.bincount(groups, weights=c * u, minlength=G)  # (G,)
        P = _group_sum(X * u[:, None], groups, G)  # (G, p)
        Q = np.diag(a) - P @ XtX_inv @ C.T  # (G, G): Q[g', h]
        return a, Q

    a0, Q0 = parts(u_y)
    a1, Q1 = parts(u_x)
    if weights == "webb":
        W = rng.choice(WEBB, size=(reps, G))
    else:
        W = rng.choice(np.array([-1.0, 1.0]), size=(reps, G))
    Wa0, Wa1 = W @ a0, W @ a1
    WQ0, WQ1 = W @ Q0, W @ Q1

    def pval(b0: float) -> float:
        num = Wa0 - b0 * Wa1
        S = WQ0 - b0 * WQ1
        se_b = np.sqrt(k * np.sum(S**2, axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_b = np.abs(num / se_b)
        t_obs = abs(est - b0) / se_hat
        return float(np.mean(t_b >= t_obs - 1e-12 * max(1.0, t_obs)))

    def bound(direction: float) -> float:
        step = max(se_hat, 1e-12)
        inner, outer = est, est + direction * 2.0 * step
        tries = 0
        while pval(outer) > alpha:
            inner, outer = outer, outer + direction * 2.0 * step * (2**tries)
            tries += 1
            if tries > 60:
                return direction * np.inf
        for _ in range(60):
            mid = 0.5 * (inner + outer)
            if pval(mid) > alpha:
                inner = mid
            else:
                outer = mid
            if abs(outer - inner) < 1e-7 * step:
                break
        return 0.5 * (inner + outer)

    return {
        "p_value": pval(0.0),
        "ci_low": bound(-1.0),
        "ci_high": bound(1.0),
        "reps": float(reps),
        "weights": weights,
        "se_cr1": se_hat,
    }


# ---------------------------------------------------------------------- internals
def _unit_outcome(
    num: np.ndarray, den: np.ndarray | None, d: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame]:
    """Outcome per unit (linearized for ratio metrics) and a per-arm table (n, value)."""
    rows = []
    if den is None:
        for arm in (0, 1):
            m = d == arm
            rows.append((arm, int(m.sum()), float(num[m].mean()), np.nan, np.nan))
        arms = pd.DataFrame(rows, columns=["arm", "n", "value", "numerator", "denominator"])
        return num.astype(float), arms.set_index("arm", drop=False)
    y = np.empty_like(num, dtype=float)
    for arm in (0, 1):
        m = d == arm
        s_num, s_den = float(num[m].sum()), float(den[m].sum())
        if s_den <= 0:
            raise ValueError(
                f"experiment: ratio denominator sums to {s_den} in arm {arm}; ratio undefined"
            )
        r = s_num / s_den
        xbar = s_den / m.sum()
        y[m] = r + (num[m] - r * den[m]) / xbar
        rows.append((arm, int(m.sum()), r, s_num, s_den))
    arms = pd.DataFrame(rows, columns=["arm", "n", "value", "numerator", "denominator"])
    return y, arms.set_index("arm", drop=False)


def _design(d: np.ndarray, cov: np.ndarray, adjustment: str) -> np.ndarray:
    cols = [np.ones_like(d), d]
    if cov.shape[1]:
        cc = cov - cov.mean(axis=0)
        cols.extend(cc.T)
        if adjustment == "lin":
            cols.extend((cc * d[:, None]).T)
    return np.column_stack(cols)


def _design_names(covs: list[str], adjustment: str) -> list[str]:
    names = ["const", "treatment"] + [f"{c}_c" for c in covs]
    if covs and adjustment == "lin":
        names += [f"treatment:{c}_c" for c in covs]
    return names


def _group_codes(s: pd.Series) -> np.ndarray:
    return pd.factorize(s, sort=True)[0].astype(np.int64)


def _group_sum(M: np.ndarray, groups: np.ndarray, G: int) -> np.ndarray:
    out = np.zeros((G, M.shape[1]))
    np.add.at(out, groups, M)
    return out


def _ols_t(
    y: np.ndarray, X: np.ndarray, groups: np.ndarray | None, vcov: str
) -> tuple[float, float]:
    """Coefficient 1 and its t-statistic (numpy; same formulas as statsmodels)."""
    n, p = X.shape
    XtX_inv = np.linalg.inv(X.T @ X)
    beta = XtX_inv @ (X.T @ y)
    e = y - X @ beta
    if groups is not None:
        G = int(groups.max()) + 1
        S = _group_sum(X * e[:, None], groups, G)
        V = XtX_inv @ (S.T @ S) @ XtX_inv * (G / (G - 1) * (n - 1) / (n - p))
    elif vcov == "iid":
        V = XtX_inv * float(e @ e) / (n - p)
    else:
        if vcov == "HC2":
            h = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
            w = e**2 / (1.0 - h)
        else:
            w = e**2 * n / (n - p)
        V = XtX_inv @ (X.T * w) @ X @ XtX_inv
    return float(beta[1]), float(beta[1] / np.sqrt(V[1, 1]))


def _randomization_p(
    num: np.ndarray,
    den: np.ndarray | None,
    d: np.ndarray,
    cov: np.ndarray,
    groups: np.ndarray | None,
    adjustment: str,
    vcov: str,
    permutations: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Studentized randomization-inference p-value, permuting at the cluster level when possible."""

    def tstat(dd: np.ndarray) -> float:
        y, _ = _unit_outcome(num, den, dd)
        return _ols_t(y, _design(dd, cov, adjustment), groups, vcov)[1]

    t_obs = abs(tstat(d))
    cluster_level = False
    if groups is not None:
        per = pd.Series(d).groupby(groups).agg(["min", "max"])
        cluster_level = bool((per["min"] == per["max"]).all())
        g_treat = per["min"].to_numpy()
    hits = 0
    for _ in range(permutations):
        if cluster_level:
            dd = rng.permutation(g_treat)[groups]
        else:
            dd = rng.permutation(d)
        hits += abs(tstat(dd)) >= t_obs - 1e-12 * max(1.0, t_obs)
    return {
        "p_value": (1 + hits) / (1 + permutations),
        "level": "cluster" if cluster_level else "unit",
    }


def randomization_check(d: np.ndarray, cov: np.ndarray, groups: np.ndarray | None) -> Diagnostic:
    """Joint Wald test that the covariates do not predict treatment (CR1 or HC1, F reference)."""
    k = cov.shape[1]
    X = np.column_stack([np.ones_like(d), cov - cov.mean(axis=0)])
    try:
        if groups is not None:
            fit = sm.OLS(d, X).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        else:
            fit = sm.OLS(d, X).fit(cov_type="HC1", use_t=True)
        test = fit.f_test(np.eye(k + 1)[1:])
        stat, p = float(np.squeeze(test.fvalue)), float(test.pvalue)
    except (np.linalg.LinAlgError, ValueError):
        stat, p = np.nan, np.nan
    if not np.isfinite(p):
        return Diagnostic(
            "randomization_check",
            passed=None,
            note="joint test of covariate imbalance could not be computed",
        )
    return Diagnostic(
        "randomization_check",
        passed=bool(p >= 0.01),
        statistic=stat,
        p_value=p,
        value=float(k),
        required=True,
        note=(
            f"joint F test that the {k} covariate(s) do not predict treatment; fails (p < 0.01) "
            "when the imbalance is beyond chance, a sign of broken randomization"
        ),
    )


def _check_constant_within(df: pd.DataFrame, treatment: str, cluster: str) -> None:
    per = df.groupby(cluster, observed=True)[treatment].nunique()
    bad = per[per > 1]
    if len(bad):
        raise ValueError(
            f"experiment: ratio metrics by cluster need {treatment!r} constant within {cluster!r}; "
            f"{len(bad)} cluster(s) mix arms, e.g. {bad.index[:5].tolist()}"
        )


def _validate(
    df: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    cluster: str | None,
    covariates: list[str],
    ratio_denominator: str | None,
    alpha: float,
    vcov: str,
    adjustment: str,
    permutations: int,
) -> None:
    """Collect every input problem and raise one ValueError naming columns, rows and values."""
    problems: list[str] = []
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"experiment: df must be a pandas DataFrame, got {type(df).__name__}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if vcov not in ("HC1", "HC2", "iid"):
        problems.append(f"vcov must be 'HC1', 'HC2' or 'iid', got {vcov!r}")
    if adjustment not in ("lin", "ancova"):
        problems.append(f"adjustment must be 'lin' or 'ancova', got {adjustment!r}")
    if permutations < 0:
        problems.append(f"permutations must be >= 0, got {permutations!r}")
    numeric = [outcome, *covariates] + ([ratio_denominator] if ratio_denominator else [])
    needed = [treatment, *numeric] + ([cluster] if cluster else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        problems.append(f"missing column(s) {missing}; available: {list(df.columns)}")
    for col in [c for c in needed if c in df.columns]:
        bad = df.index[df[col].isna()]
        if len(bad):
            problems.append(
                f"column {col!r} has {len(bad)} missing value(s) at row(s) {bad[:5].tolist()}"
                + (" ..." if len(bad) > 5 else "")
            )
    for col in [c for c in numeric if c in df.columns]:
        if not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
            problems.append(f"column {col!r} must be numeric, has dtype {df[col].dtype}")
    if treatment in df.columns:
        t = df[treatment].dropna()
        ok = t.isin([0, 1, True, False])
        if not ok.all():
            bad = t[~ok]
            problems.append(
                f"treatment column {treatment!r} must be 0/1; row(s) {bad.index[:5].tolist()} "
                f"have {pd.unique(bad)[:5].tolist()}"
            )
    if ratio_denominator and ratio_denominator in df.columns:
        neg = df.index[df[ratio_denominator] < 0]
        if len(neg):
            problems.append(
                f"ratio denominator {ratio_denominator!r} is negative at row(s) {neg[:5].tolist()}"
            )
    if problems:
        raise ValueError("experiment: invalid input:\n  - " + "\n  - ".join(problems))
