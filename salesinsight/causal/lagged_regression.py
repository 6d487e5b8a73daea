"""Lagged-outcome regression: the post-period outcome on enrolment and the pre-period *history*.

Identifying assumption: **selection on the observed history** — among units with the same
pre-period trajectory (binned), enrolment is as good as random. It handles enrolment that followed
a transient shock (a hot streak or a dip that then fades): the comparison units with the same
history fade the same way. It is biased when enrolment followed a *persistent* level that the noisy
history measures with error (the enrolled are better than their history says; Angrist & Pischke,
*Mostly Harmless Econometrics* §5.4). Where the fixed-effects DiD is biased one way, this design is
biased the other: the two bracket the truth (Ding & Li 2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.causal.fixed_effects_did import _effect
from salesinsight.causal.unit_history import UnitHistory, ols_hc2, pre_bins, unit_history

__all__ = ["lagged_outcome", "lagged_outcome_history"]


def lagged_outcome(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    treatment_time: object,
    covariates: Sequence[str] | None = None,
    bin_size: int = 3,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Regression of each unit's post-period mean on enrolment and its binned pre-period history.

    Parameters
    ----------
    df : DataFrame
        Long panel: one row per unit and period.
    outcome, unit, time, treated : str
        Column names; ``treated`` is 0/1 and constant within a unit.
    treatment_time : scalar
        First treated period.
    covariates : sequence of str, optional
        Time-invariant unit covariates added to the regression.
    bin_size : int, default 3
        Periods per history bin (the pre-period mean in each bin is a regressor; bins end at the
        start, so the most recent bin is complete).
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ``method="lagged-outcome regression"``.
    """
    h = unit_history(
        df,
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        treatment_time=treatment_time,
        covariates=covariates,
    )
    return lagged_outcome_history(
        h, outcome=outcome, bin_size=bin_size, alpha=alpha, higher_is_better=higher_is_better
    )


def lagged_outcome_history(
    h: UnitHistory,
    *,
    outcome: str,
    bin_size: int = 3,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """:func:`lagged_outcome` on a prepared :class:`UnitHistory`."""
    bins = pre_bins(h.n_pre, bin_size)
    hist = np.column_stack([h.y[:, b].mean(axis=1) for b in bins])
    cols = [np.ones(len(h.units)), h.treated.astype(float), hist]
    cols += [h.covariates[c].to_numpy(dtype=float) for c in h.covariates.columns]
    x = np.column_stack(cols)
    coef, cov, dof = ols_hc2(h.post_mean(), x)
    est, se = float(coef[1]), float(np.sqrt(cov[1, 1]))
    return _effect(
        h,
        est,
        se,
        dof,
        method="lagged-outcome regression",
        outcome=outcome,
        alpha=alpha,
        higher_is_better=higher_is_better,
        diagnostics=(),
        spec={
            "bin_size": bin_size,
            "history_bins": len(bins),
            "assumption": "selection on the observed pre-period history",
        },
        baseline=float(h.post_mean()[h.treated].mean() - est),
    )
