"""Who benefits? Subgroup effects with a test of difference, and a DR-learner for conditional effects.

:func:`heterogeneity` fits one regression ``y ~ group + treatment x group (+ covariates)`` (OLS;
standard errors clustered by ``cluster`` — the unit of assignment — or HC1) and reports the
effect in every subgroup, their treated-share-weighted average, and a Wald test that all
subgroup effects are equal (F form; with clustering, denominator degrees of freedom = number of
clusters - 1).

:func:`dr_learner` estimates conditional average treatment effects (Kennedy 2023): cross-fitted
propensity and outcome models give doubly robust pseudo-outcomes
``phi = m1 - m0 + D (Y - m1) / e - (1 - D) (Y - m0) / (1 - e)`` whose conditional mean is the
CATE. Their mean is the AIPW average effect; their group means are group average effects with
valid standard errors; their OLS projection on the covariates is the best linear predictor of
the CATE with robust standard errors (Semenova & Chernozhukov 2021). Individual CATE predictions
from a flexible final model are noisy and have *no* valid per-person interval: use them to rank,
not to promise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from salesinsight.causal._aipw import default_learners
from salesinsight.causal._balance import check_frame, raise_problems
from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.inference import (
    normal_interval,
    t_critical,
    wald_p_value,
    wald_p_values,
)

__all__ = ["CATE_CAVEAT", "ConditionalEffects", "dr_learner", "heterogeneity"]

CATE_CAVEAT = (
    "Conditional effects are estimated far less precisely than the average effect; group "
    "averages and the linear projection have valid intervals, individual predictions do not, and "
    "all of them inherit the design's assumption of no unmeasured confounding."
)


def _quantile_bins(x: pd.Series, n_bins: int) -> pd.Series:
    labels = [f"Q{i + 1}" for i in range(n_bins)]
    if n_bins == 3:
        labels = ["low", "middle", "high"]
    return pd.qcut(x, q=n_bins, labels=labels, duplicates="drop").astype(str)


def heterogeneity(
    df: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    by: str,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
    n_bins: int | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Treatment effect in each subgroup and a test that they differ.

    Parameters
    ----------
    df : DataFrame
        One row per unit (or unit-period with ``cluster``).
    outcome, treatment : str
        Outcome column and 0/1 treatment column.
    by : str
        Subgroup column (region, team, tenure band...). A numeric column with ``n_bins`` is cut
        into quantile bins (``n_bins=3`` gives ``low / middle / high`` terciles, e.g. of baseline
        performance).
    covariates : list of str, optional
        Numeric adjustment covariates (main effects, common slopes).
    cluster : str, optional
        Cluster column for standard errors (the unit of assignment, e.g. team).
    n_bins : int, optional
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ``estimate`` = average of the subgroup effects weighted by each subgroup's number of
        treated rows; ``terms`` = one row per subgroup (``term``, estimate, se, ci_low, ci_high,
        p_value, n, n_treated); ``extras["interaction_test"]`` = Wald test of equal effects
        (``statistic``, ``df_num``, ``df_denom``, ``p_value``), also stated in the summary notes.
    """
    covariates = list(covariates or [])
    groups, levels, d = _validate_groups(df, outcome, treatment, by, covariates, cluster, n_bins)
    res, names, n_clusters, df_denom = _fit_interactions(
        df, outcome, covariates, cluster, groups, levels, d
    )
    k = len(levels)
    idx = np.arange(k, 2 * k)
    beta = np.asarray(res.params)[idx]
    V = np.asarray(res.cov_params())[np.ix_(idx, idx)]
    terms = _subgroup_terms(beta, V, groups, levels, d, alpha, df_denom)
    F, p_int = _equality_test(beta, V, df_denom)
    # treated-share-weighted average of subgroup effects
    w = terms["n_treated"].to_numpy(dtype=float)
    w = w / w.sum()
    avg = float(w @ beta)
    avg_se = float(np.sqrt(w @ V @ w))
    crit = t_critical(alpha, df_denom)
    lo, hi = avg - crit * avg_se, avg + crit * avg_se
    verdict_text = (
        "the subgroup effects differ" if p_int <= alpha else "no evidence that they differ"
    )
    notes = [
        f"Wald test that the effect is the same in all {k} subgroups of {by}: "
        f"F({k - 1}, {df_denom}) = {F:.3g}, p = {p_int:.3g}: {verdict_text}.",
        "Subgroup effects share the identifying assumptions of the main design; with many "
        "subgroups some will differ by chance, so trust the interaction test before any one "
        "subgroup.",
    ]
    spec = {
        "outcome": outcome,
        "treatment": treatment,
        "by": by,
        "covariates": covariates,
        "cluster": cluster,
        "n_bins": n_bins,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "ci_level": 1.0 - alpha,
        "inference": (
            f"OLS with {'cluster-robust (by ' + cluster + ')' if cluster else 'HC1'} standard "
            f"errors, t({df_denom}) intervals"
        ),
        "notes": notes,
        "versions": library_versions(),
    }
    y = df[outcome].to_numpy(dtype=float)
    base = float(np.average(y[d == 0])) if (d == 0).any() else None
    return Effect(
        estimate=avg,
        se=avg_se,
        ci_low=lo,
        ci_high=hi,
        p_value=wald_p_value(avg, avg_se, df=df_denom),
        n_units=n_clusters,
        n_obs=len(y),
        method=f"subgroup effects by {by}",
        outcome=outcome,
        spec=spec,
        baseline=base,
        higher_is_better=higher_is_better,
        terms=terms,
        extras={
            "interaction_test": {
                "statistic": F,
                "df_num": k - 1,
                "df_denom": df_denom,
                "p_value": p_int,
            },
            "coefficients": pd.DataFrame(
                {"estimate": np.asarray(res.params), "se": np.asarray(res.bse)}, index=names
            ),
            "notes": notes,
        },
    )


def _validate_groups(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    by: str,
    covariates: list[str],
    cluster: str | None,
    n_bins: int | None,
) -> tuple[pd.Series, list[str], np.ndarray]:
    """Check the inputs; return the subgroup labels, the sorted levels and the 0/1 treatment."""
    cols = [outcome, treatment, by, *covariates] + ([cluster] if cluster else [])
    problems = check_frame(
        df,
        func="heterogeneity",
        columns=cols,
        numeric=[outcome, treatment, *covariates],
        no_missing=cols,
    )
    raise_problems(problems)
    if not df[treatment].isin([0, 1, True, False]).all():
        bad = df.index[~df[treatment].isin([0, 1, True, False]).to_numpy()]
        raise ValueError(
            f"heterogeneity: column {treatment!r} must be 0/1; rows {list(bad[:5])} have "
            f"{list(df.loc[bad[:5], treatment])}"
        )
    groups = df[by]
    if n_bins is not None:
        groups = _quantile_bins(pd.to_numeric(df[by]), n_bins)
    groups = groups.astype(str)
    levels = sorted(pd.unique(groups))
    d = df[treatment].astype(float).to_numpy()
    cells = pd.crosstab(groups, d)
    thin = [g for g in levels if cells.loc[g].min() < 2 or cells.shape[1] < 2]
    if len(levels) < 2 or thin:
        raise ValueError(
            f"heterogeneity: need >= 2 subgroups of {by!r}, each with >= 2 treated and >= 2 "
            f"untreated rows; subgroups lacking them: {thin or levels}"
        )
    return groups, levels, d


def _fit_interactions(
    df: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    cluster: str | None,
    groups: pd.Series,
    levels: list[str],
    d: np.ndarray,
) -> tuple[Any, list[str], int, int]:
    """OLS of ``y ~ group + treatment x group (+ centred covariates)``, clustered or HC1.

    Returns the fit, the coefficient names, the number of clusters (rows without clustering)
    and the denominator degrees of freedom.
    """
    G = np.column_stack([(groups == g).to_numpy(dtype=float) for g in levels])
    parts = [G, G * d[:, None]]
    names = [f"group[{g}]" for g in levels] + [f"effect[{g}]" for g in levels]
    if covariates:
        C = df[covariates].to_numpy(dtype=float)
        parts.append(C - C.mean(axis=0))
        names += covariates
    X = np.column_stack(parts)
    y = df[outcome].to_numpy(dtype=float)
    model = sm.OLS(y, X)
    if cluster:
        codes = pd.factorize(df[cluster])[0]
        res = model.fit(cov_type="cluster", cov_kwds={"groups": codes})
        n_clusters = int(codes.max() + 1)
        return res, names, n_clusters, n_clusters - 1
    res = model.fit(cov_type="HC1")
    return res, names, len(y), int(res.df_resid)


def _subgroup_terms(
    beta: np.ndarray,
    V: np.ndarray,
    groups: pd.Series,
    levels: list[str],
    d: np.ndarray,
    alpha: float,
    df_denom: int,
) -> pd.DataFrame:
    """One row per subgroup: effect, SE, t interval, p-value and counts."""
    se = np.sqrt(np.diag(V))
    crit = t_critical(alpha, df_denom)
    n_by = groups.value_counts()
    n_tr = pd.Series(d, index=groups.index).groupby(groups).sum()
    return pd.DataFrame(
        {
            "term": levels,
            "estimate": beta,
            "se": se,
            "ci_low": beta - crit * se,
            "ci_high": beta + crit * se,
            "p_value": wald_p_values(beta, se, df=df_denom),
            "n": [int(n_by[g]) for g in levels],
            "n_treated": [int(n_tr[g]) for g in levels],
        }
    )


def _equality_test(beta: np.ndarray, V: np.ndarray, df_denom: int) -> tuple[float, float]:
    """Wald F test that all subgroup effects are equal (R = consecutive differences)."""
    k = beta.size
    R = np.zeros((k - 1, k))
    for i in range(k - 1):
        R[i, i], R[i, i + 1] = 1.0, -1.0
    rb = R @ beta
    wald = float(rb @ np.linalg.solve(R @ V @ R.T, rb))
    F = wald / (k - 1)
    return F, float(stats.f.sf(F, k - 1, df_denom))


# ----------------------------------------------------------------------------- DR-learner
@dataclass(frozen=True, eq=False)
class ConditionalEffects:
    """Result of :func:`dr_learner`.

    Attributes
    ----------
    ate : Effect
        Average effect (mean of the pseudo-outcomes = cross-fitted AIPW).
    cate : Series
        Predicted conditional effect per row (cross-fitted final model). No valid per-row
        interval.
    blp : DataFrame
        Best linear projection of the CATE on the (centred) covariates: ``term, estimate, se,
        ci_low, ci_high, p_value``; the intercept is the average effect; HC1 standard errors.
    pseudo_outcomes : Series
        Doubly robust pseudo-outcomes per row (their group means are group effects).
    caveat : str
    spec : Mapping
    """

    ate: Effect
    cate: pd.Series
    blp: pd.DataFrame
    pseudo_outcomes: pd.Series
    caveat: str = CATE_CAVEAT
    spec: Mapping[str, Any] = field(default_factory=dict)

    def by(self, groups: pd.Series | np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
        """Group average effects: mean pseudo-outcome per group with its SE and interval.

        Parameters
        ----------
        groups : Series or array, shape (n,)
            Group label for each row (aligned with the data passed to :func:`dr_learner`).
        """
        g = pd.Series(np.asarray(groups), index=self.pseudo_outcomes.index)
        rows = []
        for level, phi in self.pseudo_outcomes.groupby(g, sort=True):
            est = float(phi.mean())
            se = float(phi.std(ddof=1) / np.sqrt(phi.size))
            lo, hi = normal_interval(est, se, alpha=alpha)
            rows.append(
                {
                    "term": level,
                    "estimate": est,
                    "se": se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": int(phi.size),
                }
            )
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Return the best-linear-projection table (tidy)."""
        return self.blp.copy()

    def summary(self) -> str:
        """Average effect, linear projection of the CATE, and the caveat, in text."""
        lines = [self.ate.summary(), "Best linear projection of the conditional effect:"]
        lines.append(self.blp.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        lines.append(f"Caveat: {self.caveat}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax: Any = None) -> Any:
        """Histogram of the predicted conditional effects; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.hist(self.cate.to_numpy(), bins=30, color="C0", alpha=0.7)
        ax.axvline(self.ate.estimate, color="black", ls="--", label="average effect")
        ax.set_xlabel(f"predicted effect on {self.ate.outcome}")
        ax.set_ylabel("rows")
        ax.legend(loc="best", fontsize="small")
        return ax


def dr_learner(
    df: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    learners: Mapping[str, Any] | None = None,
    final: Any = None,
    folds: int = 5,
    trim: tuple[float, float] = (0.01, 0.99),
    seed: int = 0,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> ConditionalEffects:
    """Cross-fitted DR-learner for conditional average treatment effects.

    Parameters
    ----------
    df : DataFrame
        One row per unit.
    outcome, treatment : str
    covariates : list of str
        Numeric covariates; used for the nuisance models, the final model and the projection.
    learners : mapping, optional
        ``{"propensity": classifier, "outcome": regressor}``; default as in :func:`aipw`.
    final : regressor, optional
        Final-stage model of the pseudo-outcomes for ``cate`` (default linear regression);
        predictions are cross-fitted with the same folds.
    folds : int, default 5
    trim : (low, high), default (0.01, 0.99)
        Propensities are clipped to this range in the pseudo-outcome (no rows are dropped).
    seed : int, default 0
    alpha : float, default 0.05
    higher_is_better : bool, default True
    """
    covariates = list(covariates)
    problems = check_frame(
        df,
        func="dr_learner",
        columns=[outcome, treatment, *covariates],
        numeric=[outcome, treatment, *covariates],
        no_missing=[outcome, treatment, *covariates],
    )
    raise_problems(problems)
    learners = dict(learners) if learners is not None else default_learners(seed)
    final = final if final is not None else LinearRegression()
    X = df[covariates].to_numpy(dtype=float)
    y = df[outcome].to_numpy(dtype=float)
    d = df[treatment].to_numpy(dtype=float).astype(int)
    if not set(np.unique(d)) <= {0, 1} or min(d.sum(), (1 - d).sum()) < 2 * folds:
        raise ValueError(
            f"dr_learner: column {treatment!r} must be 0/1 with >= {2 * folds} rows in each arm"
        )
    e, m0, ec, phi, cate = _pseudo_outcomes(X, y, d, learners, final, folds, trim, seed)
    n = len(y)
    ate = float(phi.mean())
    ate_se = float(phi.std(ddof=1) / np.sqrt(n))
    lo, hi = normal_interval(ate, ate_se, alpha=alpha)
    blp = _best_linear_projection(X, phi, covariates, alpha)
    spec = {
        "outcome": outcome,
        "treatment": treatment,
        "covariates": covariates,
        "learners": {k: repr(v) for k, v in learners.items()},
        "final": repr(final),
        "folds": folds,
        "trim": tuple(trim),
        "seed": seed,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "ci_level": 1.0 - alpha,
        "inference": "mean of cross-fitted DR pseudo-outcomes, influence-function SE",
        "notes": [CATE_CAVEAT],
        "versions": library_versions(),
    }
    n_clipped = int(np.sum((e < trim[0]) | (e > trim[1])))
    ate_effect = Effect(
        estimate=ate,
        se=ate_se,
        ci_low=lo,
        ci_high=hi,
        p_value=wald_p_value(ate, ate_se),
        n_units=n,
        n_obs=n,
        method="DR-learner (ATE)",
        outcome=outcome,
        spec=spec,
        diagnostics=(
            Diagnostic(
                name="overlap",
                passed=bool(n_clipped / n <= 0.10),
                value=n_clipped / n,
                required=True,
                note=f"{n_clipped} of {n} propensities clipped to [{trim[0]}, {trim[1]}]",
            ),
        ),
        baseline=float(np.mean(m0 + (1 - d) * (y - m0) / (1 - ec))),
        higher_is_better=higher_is_better,
        extras={"notes": [CATE_CAVEAT]},
    )
    return ConditionalEffects(
        ate=ate_effect,
        cate=pd.Series(cate, index=df.index, name="cate"),
        blp=blp,
        pseudo_outcomes=pd.Series(phi, index=df.index, name="pseudo_outcome"),
        spec=spec,
    )


def _pseudo_outcomes(
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    learners: Mapping[str, Any],
    final: Any,
    folds: int,
    trim: tuple[float, float],
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cross-fit the nuisances and the final model.

    Returns the propensity, the untreated outcome model, the clipped propensity, the doubly
    robust pseudo-outcomes and the cross-fitted CATE predictions.
    """
    n = len(y)
    e, m0, m1 = np.empty(n), np.empty(n), np.empty(n)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1):
        for train, test in skf.split(X, d):
            e[test] = (
                clone(learners["propensity"]).fit(X[train], d[train]).predict_proba(X[test])[:, 1]
            )
            t, c = train[d[train] == 1], train[d[train] == 0]
            m1[test] = clone(learners["outcome"]).fit(X[t], y[t]).predict(X[test])
            m0[test] = clone(learners["outcome"]).fit(X[c], y[c]).predict(X[test])
        ec = np.clip(e, trim[0], trim[1])
        phi = m1 - m0 + d * (y - m1) / ec - (1 - d) * (y - m0) / (1 - ec)
        cate = np.empty(n)
        for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(X):
            cate[test] = clone(final).fit(X[train], phi[train]).predict(X[test])
    return e, m0, ec, phi, cate


def _best_linear_projection(
    X: np.ndarray, phi: np.ndarray, covariates: list[str], alpha: float
) -> pd.DataFrame:
    """OLS of the pseudo-outcomes on the centred covariates with HC1 errors (tidy table)."""
    Xc = X - X.mean(axis=0)
    blp_res = sm.OLS(phi, sm.add_constant(Xc, has_constant="add")).fit(cov_type="HC1")
    ci = np.asarray(blp_res.conf_int(alpha=alpha))
    return pd.DataFrame(
        {
            "term": ["average effect", *[f"slope[{c}]" for c in covariates]],
            "estimate": np.asarray(blp_res.params),
            "se": np.asarray(blp_res.bse),
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "p_value": np.asarray(blp_res.pvalues),
        }
    )
