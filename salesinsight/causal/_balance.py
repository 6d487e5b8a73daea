"""Shared helpers for the observational estimators: standardized mean differences and input checks.

SMD convention (as in ``cobalt`` / Austin 2009): the difference of (weighted) group means divided by
the *unweighted* pooled standard deviation ``sqrt((var_treated + var_control) / 2)`` of the original
sample, so that weighting cannot shrink the yardstick.

Bars: ``|SMD| < 0.1`` when the comparison relies on weighting or matching alone (Austin 2009);
``|SMD| < 0.25`` when the estimator also adjusts for the covariates with an outcome model (AIPW,
bias-corrected matching), following the What Works Clearinghouse baseline-equivalence standard
(differences of 0.05-0.25 sd are acceptable with statistical adjustment, larger ones are not)
and Stuart (2010).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ADJUSTED_BALANCE_THRESHOLD",
    "BALANCE_THRESHOLD",
    "check_frame",
    "raise_problems",
    "smd",
    "smd_table",
]

#: largest absolute standardized mean difference regarded as balanced (weighting/matching only).
BALANCE_THRESHOLD = 0.1
#: the same when the estimator also regression-adjusts for the covariates.
ADJUSTED_BALANCE_THRESHOLD = 0.25


def _weighted_mean(x: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return float(np.mean(x))
    return float(np.sum(w * x) / np.sum(w))


def smd(
    x: np.ndarray,
    treated: np.ndarray,
    *,
    w_treated: np.ndarray | None = None,
    w_control: np.ndarray | None = None,
) -> float:
    """Standardized mean difference of one covariate.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Covariate values.
    treated : ndarray of bool, shape (n,)
        Treatment indicator.
    w_treated, w_control : ndarray or None
        Weights for the treated rows (shape ``(n_treated,)``) and control rows
        (shape ``(n_control,)``); None means equal weights.

    Returns
    -------
    float
        ``(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` with unweighted variances; 0 when both
        groups are constant and equal, ``inf``-signed when constant and different.
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(treated, dtype=bool)
    xt, xc = x[t], x[~t]
    diff = _weighted_mean(xt, w_treated) - _weighted_mean(xc, w_control)
    var_t = float(np.var(xt, ddof=1)) if xt.size > 1 else 0.0
    var_c = float(np.var(xc, ddof=1)) if xc.size > 1 else 0.0
    sd = np.sqrt((var_t + var_c) / 2.0)
    if sd == 0:
        return 0.0 if abs(diff) < 1e-12 else float(np.sign(diff) * np.inf)
    return float(diff / sd)


def smd_table(
    X: pd.DataFrame,
    treated: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    threshold: float = BALANCE_THRESHOLD,
) -> pd.DataFrame:
    """Balance table before and (optionally) after weighting.

    Parameters
    ----------
    X : DataFrame, shape (n, k)
        Covariates (numeric).
    treated : ndarray of bool, shape (n,)
    weights : ndarray or None, shape (n,)
        Balancing weights for every row (e.g. ATT weights: 1 for treated, e/(1-e) for controls).
    threshold : float
        ``|SMD|`` bar used for the ``balanced`` column.

    Returns
    -------
    DataFrame
        One row per covariate: ``covariate, mean_treated, mean_control, smd_before`` and, with
        weights, ``mean_treated_weighted, mean_control_weighted, smd_after``; then ``balanced``
        (``|smd_after|`` or ``|smd_before|`` below ``threshold``).
    """
    t = np.asarray(treated, dtype=bool)
    rows = []
    for col in X.columns:
        x = X[col].to_numpy(dtype=float)
        row: dict[str, Any] = {
            "covariate": str(col),
            "mean_treated": float(np.mean(x[t])),
            "mean_control": float(np.mean(x[~t])),
            "smd_before": smd(x, t),
        }
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            row["mean_treated_weighted"] = _weighted_mean(x[t], w[t])
            row["mean_control_weighted"] = _weighted_mean(x[~t], w[~t])
            row["smd_after"] = smd(x, t, w_treated=w[t], w_control=w[~t])
        rows.append(row)
    out = pd.DataFrame(rows)
    key = "smd_after" if weights is not None else "smd_before"
    out["balanced"] = out[key].abs() < threshold
    return out


def check_frame(
    df: Any,
    *,
    func: str,
    columns: Iterable[str],
    numeric: Sequence[str] = (),
    no_missing: Sequence[str] = (),
    table: str = "df",
) -> list[str]:
    """Collect (not raise) problems with an input frame.

    Returns a list of messages naming the function, table, column, first rows and values. The
    caller adds its own checks and raises one ``ValueError`` listing everything.
    """
    if not isinstance(df, pd.DataFrame):
        return [f"{func}: `{table}` must be a pandas DataFrame, got {type(df).__name__}"]
    problems: list[str] = []
    missing_cols = [c for c in columns if c not in df.columns]
    for c in missing_cols:
        problems.append(
            f"{func}: table `{table}` has no column {c!r} (columns: {list(map(str, df.columns))})"
        )
    for c in numeric:
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):
            bad = pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()
            problems.append(
                f"{func}: table `{table}`, column {c!r} must be numeric; "
                f"{_rows_text(df.index[bad.to_numpy()], df.loc[bad, c])}"
            )
    for c in no_missing:
        if c in df.columns:
            na = df[c].isna().to_numpy()
            if na.any():
                problems.append(
                    f"{func}: table `{table}`, column {c!r} has {int(na.sum())} missing value(s) "
                    f"at rows {_first(df.index[na])}"
                )
    return problems


def raise_problems(problems: list[str]) -> None:
    """Raise one ValueError listing every problem (no-op for an empty list)."""
    if problems:
        head = f"{len(problems)} problem(s) with the input:"
        raise ValueError(head + "\n  - " + "\n  - ".join(problems))


def _first(index: Iterable[Any], n: int = 5) -> str:
    items = list(index)
    text = ", ".join(map(str, items[:n]))
    return text + (f" … (+{len(items) - n} more)" if len(items) > n else "")


def _rows_text(index: Iterable[Any], values: Iterable[Any], n: int = 5) -> str:
    idx, vals = list(index), list(values)
    pairs = ", ".join(f"row {i}: {v!r}" for i, v in zip(idx[:n], vals[:n], strict=False))
    more = f" … (+{len(idx) - n} more)" if len(idx) > n else ""
    return f"{len(idx)} non-numeric value(s): {pairs}{more}"
