"""Oaxaca-Blinder decomposition of a KPI gap between two groups of reps (statsmodels).

The gap in mean outcome between group A and group B is split into a part explained by the groups'
different covariate means (endowments) and a part due to different coefficients (returns); see
B. Jann, "The Blinder-Oaxaca decomposition for linear regression models", Stata Journal 8(4), 2008.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.results import ResultMixin, Summary

__all__ = ["OaxacaResult", "oaxaca_blinder"]

COMPONENTS = ("endowments", "coefficients", "interaction", "explained", "unexplained", "gap")


@dataclass(frozen=True, eq=False)
class OaxacaResult(ResultMixin):
    """Two- and three-fold Oaxaca-Blinder decomposition of ``mean(A) - mean(B)``.

    Attributes
    ----------
    outcome, group : str
        Outcome and group columns.
    covariates : tuple of str
    group_a, group_b : hashable
        Group labels; the gap is ``mean(outcome | A) - mean(outcome | B)``.
    reference : str or hashable
        Coefficients used as the non-discriminatory reference in the two-fold split: ``"pooled"``
        (pooled regression with a group indicator) or a group label.
    mean_a, mean_b : float
    n_a, n_b : int
    frame : DataFrame
        Columns ``component``, ``value``, ``se``, ``ci_low``, ``ci_high`` (see `to_frame`).
    detail : DataFrame
        Per covariate: ``mean_a``, ``mean_b``, ``coef_b``, ``coef_reference``, ``endowments``
        (three-fold, with B's coefficients) and ``explained`` (two-fold, reference coefficients).
    n_boot : int
        Bootstrap replications behind ``se`` (0 = none).
    seed : int or None
    notes : tuple of str
    """

    outcome: str
    group: str
    covariates: tuple[str, ...]
    group_a: Hashable
    group_b: Hashable
    reference: Any
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    frame: pd.DataFrame
    detail: pd.DataFrame
    n_boot: int
    seed: int | None
    notes: tuple[str, ...] = ()

    def value(self, component: str) -> float:
        """Return the value of one component.

        ``endowments``, ``coefficients``, ``interaction``, ``explained``, ``unexplained`` or
        ``gap``.
        """
        if component not in COMPONENTS:
            raise KeyError(f"component must be one of {COMPONENTS}, got {component!r}")
        return float(self.frame.set_index("component").loc[component, "value"])

    def to_frame(self) -> pd.DataFrame:
        """Return the decomposition as a tidy frame.

        Columns ``component`` (endowments, coefficients, interaction, explained, unexplained,
        gap), ``value`` (outcome units), ``se`` (stratified bootstrap standard error, NaN when
        ``n_boot`` = 0) and the percentile interval ``ci_low``, ``ci_high`` (95%).
        """
        return self.frame.copy()

    def _summary(self) -> Summary:
        """Summarise in words: the gap and how much of it the covariates explain."""
        v = self.frame.set_index("component")

        def part(name: str) -> str:
            se = v.loc[name, "se"]
            s = f"{v.loc[name, 'value']:.4g}"
            return s + (f" (SE {se:.3g})" if np.isfinite(se) else "")

        ref = "the pooled regression" if self.reference == "pooled" else f"group {self.reference}"
        lines = [
            f"Oaxaca-Blinder decomposition of mean {self.outcome}: {self.group}={self.group_a} "
            f"(n={self.n_a}, mean {self.mean_a:.4g}) minus {self.group}={self.group_b} "
            f"(n={self.n_b}, mean {self.mean_b:.4g}) = {part('gap')}.",
            f"Two-fold with the coefficients of {ref}: explained by "
            f"{', '.join(self.covariates)} {part('explained')}, unexplained {part('unexplained')}.",
            f"Three-fold (B's coefficients as reference): endowments {part('endowments')}, "
            f"coefficients {part('coefficients')}, interaction {part('interaction')}.",
            "The split is descriptive: 'unexplained' includes omitted covariates, not only "
            "differences in returns.",
        ]
        if self.n_boot:
            lines.append(
                f"Standard errors: {self.n_boot} bootstrap resamples within each group (seed "
                f"{self.seed})."
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return Summary.from_lines(lines, tables=[("Components", self.frame)])

    def plot(self, *, ax: Any = None) -> Any:
        """Horizontal bars of the components with 95% bootstrap intervals. Returns the Axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 3.5))
        f = self.frame
        y = np.arange(len(f))[::-1]
        colors = ["tab:blue"] * 3 + ["tab:green", "tab:orange", "0.4"]
        ax.barh(y, f["value"], color=colors)
        if np.isfinite(f["ci_low"]).any():
            err = np.vstack([f["value"] - f["ci_low"], f["ci_high"] - f["value"]])
            ax.errorbar(f["value"], y, xerr=err, fmt="none", ecolor="black", capsize=3)
        ax.set_yticks(y)
        ax.set_yticklabels(f["component"])
        ax.axvline(0.0, color="black", linewidth=0.5)
        ax.set_xlabel(f"{self.outcome}: {self.group}={self.group_a} minus {self.group_b}")
        ax.set_title("Oaxaca-Blinder decomposition")
        return ax


def _decompose(
    y: np.ndarray, x: np.ndarray, is_a: np.ndarray, reference: str | bool
) -> tuple[np.ndarray, Any]:
    """Run statsmodels' OaxacaBlinder with group A as its first group; return the six components.

    ``reference`` is ``"pooled"``, True (A's coefficients) or False (B's coefficients).
    """
    from statsmodels.stats.oaxaca import OaxacaBlinder

    n, k = x.shape
    indicator = np.where(is_a, 0.0, 1.0)  # statsmodels' first group = smallest indicator value
    exog = np.column_stack([x, indicator, np.ones(n)])
    model = OaxacaBlinder(y, exog, bifurcate=k, hasconst=True, swap=False)
    endow, coef, inter, gap = model.three_fold().params
    if reference == "pooled":
        unexpl, expl, _ = model.two_fold(two_fold_type="pooled").params
    else:
        weight = 1.0 if reference else 0.0
        unexpl, expl, _ = model.two_fold(
            two_fold_type="self_submitted", submitted_weight=weight
        ).params
    values = np.array([endow, coef, inter, expl, unexpl, gap], dtype=float)
    return values, model


def oaxaca_blinder(
    df: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    covariates: Sequence[str],
    reference: Any = "pooled",
    group_a: Hashable | None = None,
    n_boot: int = 499,
    seed: int | None = 0,
) -> OaxacaResult:
    """Oaxaca-Blinder two- and three-fold decomposition of a gap in mean outcome between two groups.

    With ``xA, xB`` the covariate means (plus constant) and ``bA, bB`` the OLS coefficients in each
    group, the gap ``mean(A) - mean(B)`` is split three-fold (as statsmodels and Stata ``oaxaca``)
    into endowments ``(xA - xB) bB``, coefficients ``xB (bA - bB)`` and interaction
    ``(xA - xB)(bA - bB)``, and two-fold into explained ``(xA - xB) b*`` and unexplained
    ``xA (bA - b*) + xB (b* - bB)`` for reference coefficients ``b*``.

    Parameters
    ----------
    df : DataFrame
        One row per unit (e.g. rep).
    outcome : str
        Outcome column (numeric).
    group : str
        Column with exactly two distinct values.
    covariates : sequence of str
        Numeric covariate columns (a constant is added).
    reference : "pooled" or a group label
        ``"pooled"``: coefficients of the pooled regression including a group indicator (Jann's
        ``pooled``; statsmodels' ``two_fold(two_fold_type="pooled")``). A group label: that group's
        coefficients.
    group_a : optional
        Label of group A (gap = A - B). Default: the group with the higher mean outcome, so the gap
        is non-negative (statsmodels' ``swap=True`` convention).
    n_boot : int
        Bootstrap resamples (rows resampled with replacement within each group) for standard errors
        and 95% percentile intervals; 0 for none.
    seed : int or None
        Seed of ``numpy.random.default_rng`` for the bootstrap.

    Returns
    -------
    OaxacaResult
    """
    covariates = tuple(covariates)
    sub, notes = _complete_rows(df, outcome, group, covariates)
    group_a, group_b, ref = _groups(sub, outcome, group, group_a, reference)
    is_a = (sub[group] == group_a).to_numpy()
    y = sub[outcome].to_numpy(dtype=float)
    x = sub[list(covariates)].to_numpy(dtype=float)
    n_a, n_b = int(is_a.sum()), int((~is_a).sum())
    if min(n_a, n_b) <= len(covariates) + 1:
        raise ValueError(
            f"each group needs more than {len(covariates) + 1} rows for its regression; "
            f"{group}={group_a}: {n_a}, {group}={group_b}: {n_b}"
        )

    values, model = _decompose(y, x, is_a, ref)
    se, lo, hi = _bootstrap(y, x, is_a, ref, n_boot, seed)

    frame = pd.DataFrame(
        {"component": list(COMPONENTS), "value": values, "se": se, "ci_low": lo, "ci_high": hi}
    )
    return OaxacaResult(
        outcome=outcome,
        group=group,
        covariates=covariates,
        group_a=group_a,
        group_b=group_b,
        reference=reference,
        mean_a=float(y[is_a].mean()),
        mean_b=float(y[~is_a].mean()),
        n_a=n_a,
        n_b=n_b,
        frame=frame,
        detail=_detail(model, covariates),
        n_boot=int(n_boot),
        seed=seed,
        notes=tuple(notes),
    )


def _complete_rows(
    df: pd.DataFrame, outcome: str, group: str, covariates: tuple[str, ...]
) -> tuple[pd.DataFrame, list[str]]:
    """Check the columns; return the rows with every value present, and a note on the rest."""
    if not covariates:
        raise ValueError("covariates must name at least one column")
    needed = [outcome, group, *covariates]
    missing_cols = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing_cols:
        raise ValueError(f"df is missing column(s) {missing_cols}; it has {list(df.columns)}")
    non_numeric = [
        c for c in (outcome, *covariates) if not pd.api.types.is_numeric_dtype(df[c].dtype)
    ]
    if non_numeric:
        raise ValueError(
            f"column(s) {non_numeric} are not numeric; encode categories as 0/1 columns first"
        )
    notes: list[str] = []
    sub = df.loc[:, list(dict.fromkeys(needed))]
    incomplete = sub.isna().any(axis=1)
    if incomplete.any():
        notes.append(
            f"{int(incomplete.sum())} row(s) with a missing {outcome}, {group} or covariate left out"
        )
        sub = sub[~incomplete]
    return sub, notes


def _groups(
    sub: pd.DataFrame, outcome: str, group: str, group_a: Hashable | None, reference: Any
) -> tuple[Any, Any, str | bool]:
    """Resolve group A (default: the higher mean), group B and the reference coefficients."""
    labels = pd.unique(sub[group])
    if len(labels) != 2:
        raise ValueError(
            f"column {group!r} must have exactly 2 distinct values, found {len(labels)}: "
            f"{list(labels)[:10]}"
        )
    means = sub.groupby(group)[outcome].mean()
    if group_a is None:
        ordered = sorted(labels, key=lambda g: (-means[g], str(g)))
        group_a = ordered[0]
    if group_a not in set(labels):
        raise ValueError(f"group_a={group_a!r} is not a value of {group!r}: {list(labels)}")
    group_b = next(g for g in labels if g != group_a)
    if reference == "pooled":
        ref: str | bool = "pooled"
    elif reference in set(labels):
        ref = bool(reference == group_a)
    else:
        raise ValueError(
            f"reference must be 'pooled' or a value of {group!r} ({list(labels)}), "
            f"got {reference!r}"
        )
    return group_a, group_b, ref


def _bootstrap(
    y: np.ndarray,
    x: np.ndarray,
    is_a: np.ndarray,
    ref: str | bool,
    n_boot: int,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bootstrap the components, resampling within each group; SEs and 95% percentile bounds."""
    se = np.full(len(COMPONENTS), np.nan)
    lo = np.full(len(COMPONENTS), np.nan)
    hi = np.full(len(COMPONENTS), np.nan)
    if not n_boot:
        return se, lo, hi
    n_a, n_b = int(is_a.sum()), int((~is_a).sum())
    rng = np.random.default_rng(seed)
    idx_a, idx_b = np.flatnonzero(is_a), np.flatnonzero(~is_a)
    draws = np.empty((n_boot, len(COMPONENTS)))
    for r in range(n_boot):
        idx = np.concatenate(
            [
                rng.choice(idx_a, size=n_a, replace=True),
                rng.choice(idx_b, size=n_b, replace=True),
            ]
        )
        draws[r], _ = _decompose(y[idx], x[idx], is_a[idx], ref)
    se = draws.std(axis=0, ddof=1)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    return se, lo, hi


def _detail(model: Any, covariates: tuple[str, ...]) -> pd.DataFrame:
    """Build the per-covariate table: group means, coefficients, endowments, explained part."""
    coef_b = np.asarray(model._s_model.params, dtype=float)
    t_params = np.asarray(model.t_params, dtype=float)
    diff = np.asarray(model.exog_f_mean - model.exog_s_mean, dtype=float)
    names = [*covariates, "const"]
    return pd.DataFrame(
        {
            "covariate": names,
            "mean_a": np.asarray(model.exog_f_mean, dtype=float),
            "mean_b": np.asarray(model.exog_s_mean, dtype=float),
            "coef_b": coef_b,
            "coef_reference": t_params,
            "endowments": diff * coef_b,
            "explained": diff * t_params,
        }
    )
