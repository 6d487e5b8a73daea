"""Unit x period outcome histories for the observational panel designs, and their shared OLS.

The OLS has heteroskedasticity-robust (HC2) errors.

The fixed-effects DiD (:mod:`.fixed_effects_did`), the lagged-outcome regression (:mod:`.lagged_regression`)
and synthetic DiD (:mod:`.synth_did`) all start from the same object: a balanced matrix of one
outcome per unit (rows) and period (columns), a treated flag per unit, the first treated period,
and optional time-invariant unit covariates. One row per unit means that errors robust to
heteroskedasticity across rows are clustered by unit, the level at which enrolment is decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["UnitHistory", "ols_hc2", "pre_bins", "unit_history"]


@dataclass(frozen=True)
class UnitHistory:
    """Balanced outcome history of every unit.

    Attributes
    ----------
    units : ndarray of str, shape (n_units,)
    times : ndarray, shape (n_periods,)
        Sorted period labels (columns of ``y``).
    y : ndarray, shape (n_units, n_periods)
        Outcome in the outcome's units.
    treated : ndarray of bool, shape (n_units,)
    start : int
        Column index of the first treated period (``times[start] == treatment_time``).
    covariates : DataFrame
        Time-invariant unit covariates (rows aligned with ``units``); may have no columns.
    n_dropped : int
        Units dropped because a period was missing.
    """

    units: np.ndarray
    times: np.ndarray
    y: np.ndarray
    treated: np.ndarray
    start: int
    covariates: pd.DataFrame
    n_dropped: int

    @property
    def n_pre(self) -> int:
        """Number of pre-periods."""
        return self.start

    @property
    def n_post(self) -> int:
        """Number of post-periods."""
        return int(self.y.shape[1] - self.start)

    def pre_mean(self) -> np.ndarray:
        """Mean outcome of each unit over the pre-periods."""
        return self.y[:, : self.start].mean(axis=1)

    def post_mean(self) -> np.ndarray:
        """Mean outcome of each unit over the post-periods."""
        return self.y[:, self.start :].mean(axis=1)

    def skip_last_pre(self, k: int) -> UnitHistory:
        """Return the history without the last ``k`` pre-periods.

        E.g. the window enrolment was decided on, so that the pre-period ends ``k`` periods before
        the start.
        """
        if not 0 <= k < self.start:
            raise ValueError(f"can skip 0 to {self.start - 1} pre-periods, got {k}")
        keep = np.r_[0 : self.start - k, self.start : self.y.shape[1]]
        return UnitHistory(
            units=self.units,
            times=self.times[keep],
            y=self.y[:, keep],
            treated=self.treated,
            start=self.start - k,
            covariates=self.covariates,
            n_dropped=self.n_dropped,
        )

    def before(self, new_start: int) -> UnitHistory:
        """Return the history before ``self.start``, with a fake start at column ``new_start``.

        For placebo checks on pre-period data only.
        """
        if not 0 < new_start < self.start:
            raise ValueError(f"fake start must lie inside the pre-period, got {new_start}")
        return UnitHistory(
            units=self.units,
            times=self.times[: self.start],
            y=self.y[:, : self.start],
            treated=self.treated,
            start=new_start,
            covariates=self.covariates,
            n_dropped=self.n_dropped,
        )


def unit_history(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    treatment_time: object,
    covariates: Sequence[str] | None = None,
) -> UnitHistory:
    """Pivot a long panel to a balanced unit x period history.

    Parameters
    ----------
    df : DataFrame
        Long panel, one row per unit and period.
    outcome, unit, time, treated : str
        Columns: outcome (numeric), unit id, period (sortable), treated flag (0/1, constant within
        unit).
    treatment_time : scalar
        First treated period (a value of ``time``).
    covariates : sequence of str, optional
        Time-invariant unit columns (the first value per unit is used).

    Raises
    ------
    ValueError
        Naming every missing column, a treated flag that varies within a unit, a treatment time
        outside the data, or too few units or periods.
    """
    covs = list(covariates or [])
    missing = [c for c in (outcome, unit, time, treated, *covs) if c not in df.columns]
    if missing:
        raise ValueError(f"unit_history: columns not in the frame: {missing}")
    flags = df.groupby(unit)[treated].nunique()
    if (flags > 1).any():
        bad = list(flags.index[flags > 1][:5])
        raise ValueError(f"unit_history: column {treated!r} varies within unit(s) {bad}")
    wide = df.pivot_table(index=unit, columns=time, values=outcome, aggfunc="mean")
    wide = wide.sort_index(axis=0).sort_index(axis=1)
    complete = wide.notna().all(axis=1)
    n_dropped = int((~complete).sum())
    wide = wide[complete]
    times = wide.columns.to_numpy()
    hits = np.flatnonzero(times == treatment_time)
    if hits.size == 0:
        raise ValueError(
            f"unit_history: treatment time {treatment_time!r} is not a period of the data"
        )
    start = int(hits[0])
    tr = df.groupby(unit)[treated].first().reindex(wide.index).astype(bool).to_numpy()
    if start < 1 or start >= len(times):
        raise ValueError("unit_history: need at least one pre-period and one post-period")
    if tr.sum() < 1 or (~tr).sum() < 2:
        raise ValueError(
            f"unit_history: need enrolled units and at least two comparison units with every "
            f"period (have {int(tr.sum())} and {int((~tr).sum())})"
        )
    cov = df.groupby(unit)[covs].first().reindex(wide.index).reset_index(drop=True)
    return UnitHistory(
        units=wide.index.astype(str).to_numpy(),
        times=times,
        y=wide.to_numpy(dtype=float),
        treated=tr,
        start=start,
        covariates=cov.astype(float),
        n_dropped=n_dropped,
    )


def pre_bins(n_pre: int, bin_size: int) -> list[np.ndarray]:
    """Return the column indices of consecutive pre-period bins of ``bin_size`` periods.

    Aligned so that the last bin ends just before the start; a short remainder at the beginning
    joins the first bin.
    """
    size = max(1, int(bin_size))
    edges = list(range(n_pre, 0, -size))[::-1]  # bin ends (exclusive), last == n_pre
    bins = [np.arange(max(0, e - size), e) for e in edges]
    if len(bins) > 1 and bins[0][0] > 0:
        bins[0] = np.arange(0, bins[0][-1] + 1)
    elif bins and bins[0][0] > 0:
        bins[0] = np.arange(0, n_pre)
    return bins


def ols_hc2(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS coefficients and their HC2 covariance (MacKinnon & White 1985).

    Parameters
    ----------
    y : ndarray, shape (n,)
    x : ndarray, shape (n, k)
        Design matrix including the intercept column.

    Returns
    -------
    coef : ndarray, shape (k,)
    cov : ndarray, shape (k, k)
    dof : int
        Residual degrees of freedom ``n - rank``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    # drop columns that are exactly collinear with earlier ones (constant covariates)
    q, r = np.linalg.qr(x)
    keep = np.abs(np.diag(r)) > 1e-10 * max(1.0, float(np.abs(np.diag(r)).max()))
    xk = x[:, keep]
    xtx_inv = np.linalg.pinv(xk.T @ xk)
    coef_k = xtx_inv @ xk.T @ y
    resid = y - xk @ coef_k
    lev = np.einsum("ij,jk,ik->i", xk, xtx_inv, xk)
    omega = resid**2 / np.clip(1.0 - lev, 1e-8, None)
    meat = (xk * omega[:, None]).T @ xk
    cov_k = xtx_inv @ meat @ xtx_inv
    coef = np.full(x.shape[1], np.nan)
    cov = np.full((x.shape[1], x.shape[1]), np.nan)
    coef[keep] = coef_k
    cov[np.ix_(keep, keep)] = cov_k
    return coef, cov, int(len(y) - keep.sum())
