"""Effort late in the period (Chung, Steenburgh and Sudhir 2014).

Do sellers far from quota as the period ends log fewer activities than sellers on track, relative
to their own activity next period?

Every full seller-period is classified when it enters the last ``window_days`` of the quota period: *far
behind* when won revenue so far is below ``far_below`` x the elapsed share of quota, *on track* when at
or above the full elapsed share (sellers in between are left out). Activities (all types) are counted
in the last window L = (T - w, T] and in a reference window R = (T + gap, T + gap + w] of the next
period. The effort response is the ratio of ratios

    effect = (A_L,far / A_R,far) / (A_L,on / A_R,on) - 1

(a relative change: -0.2 = far-behind sellers log 20% fewer activities late in the period than their
own next-period level implies, beyond what on-track sellers do), with a seller-cluster bootstrap
interval. Assumption: without an effort response the two groups' late-period and next-period activity
move in proportion (the calendar is shared); ramping sellers (``min_tenure_days``) and leavers are
excluded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.data import Dataset

from ._boot import boot_effect, seller_weights
from ._frames import as_dataset, closed_deals, seller_periods

__all__ = ["effort"]


def effort(
    data: str | Path | Dataset,
    *,
    window_days: int = 28,
    gap_days: int = 14,
    far_below: float = 0.5,
    min_tenure_days: int = 180,
    n_boot: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
    boot_universe: Sequence[str] | None = None,
) -> Effect:
    """Relative change in late-period activity of sellers far behind quota (see the module doc).

    Parameters
    ----------
    data : path or Dataset
        Data folder with ``activities``, ``opportunities``, ``reps`` and ``quotas``.
    window_days : int, default 28
        Length of the late window L and of the reference window R, in days.
    gap_days : int, default 14
        Days after the period end before the reference window starts.
    far_below : float, default 0.5
        Far behind = won revenue before L below this multiple of the elapsed share of quota.
    min_tenure_days : int, default 180
    n_boot : int, default 999
    alpha : float, default 0.05
    seed : int, default 0
        Seed of the bootstrap.
    boot_universe : sequence of str, optional
        Every seller of the data in a fixed order: the bootstrap then resamples this universe, so
        designs run with the same seed share their draws (the registry's Romano-Wolf correction).

    Returns
    -------
    Effect
        ``estimate`` is the relative change (e.g. -0.2); ``terms`` holds the four activity totals.
    """
    _validate(window_days, gap_days, far_below, alpha)
    ds = as_dataset(data)
    if not ds.has("activities"):
        raise ValueError(f"effort: {ds.folder} has no activities table")
    sp = seller_periods(ds, min_tenure_days=min_tenure_days)
    deals = closed_deals(ds)
    a = ds.sql(
        "SELECT rep_id, CAST(activity_date AS DATE) AS d, count(*) AS n FROM activities GROUP BY ALL"
    )
    a["d"] = pd.to_datetime(a["d"])
    sp = _classify(sp, deals, a, window_days=window_days, gap_days=gap_days, far_below=far_below)
    _count_windows(sp, a, window_days=window_days, gap_days=gap_days)
    if (sp["group"] == "far").sum() < 5 or (sp["group"] == "on").sum() < 5:
        raise ValueError(
            "effort: need at least 5 seller-periods far behind and 5 on track; found "
            f"{int((sp['group'] == 'far').sum())} and {int((sp['group'] == 'on').sum())}"
        )
    far = (sp["group"] == "far").to_numpy(float)
    X = np.column_stack(
        [sp["A_L"] * far, sp["A_R"] * far, sp["A_L"] * (1 - far), sp["A_R"] * (1 - far)]
    )
    codes = pd.factorize(sp["rep_id"])[0]
    W = seller_weights(sp["rep_id"], n_boot=n_boot, seed=seed, universe=boot_universe)
    totals = X.sum(0)
    spec = {
        "window_days": window_days,
        "gap_days": gap_days,
        "far_below": far_below,
        "min_tenure_days": min_tenure_days,
        "n_boot": n_boot,
        "seed": seed,
        "boot_universe": None if boot_universe is None else len(boot_universe),
        "cluster": "rep_id",
        "notes": (
            "relative change in late-period activities of far-behind sellers against their own "
            "next-period level, beyond the same ratio for on-track sellers"
        ),
    }
    e = boot_effect(
        float(_ratio_of_ratios(totals)),
        _ratio_of_ratios(W @ X),
        alpha=alpha,
        method="late-period activity ratio of ratios (far behind vs on track)",
        outcome="activities (relative change)",
        n_units=int(codes.max()) + 1,
        n_obs=len(sp),
        spec=spec,
    )
    return Effect(**{**e.__dict__, "terms": _terms(totals)})


# ----------------------------------------------------------------------------------------------------------
# Steps: validate -> classify seller-periods at entry -> count activities per window -> ratio of ratios
# ----------------------------------------------------------------------------------------------------------
_DAY = pd.Timedelta(days=1)


def _validate(window_days: int, gap_days: int, far_below: float, alpha: float) -> None:
    """Raise one ValueError naming every bad argument."""
    problems = []
    if window_days < 1 or gap_days < 0:
        problems.append(
            f"window_days must be >= 1 and gap_days >= 0, got {window_days}, {gap_days}"
        )
    if not 0 < far_below < 1:
        problems.append(f"far_below must be in (0, 1), got {far_below!r}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if problems:
        raise ValueError("effort: " + "; ".join(problems))


def _classify(
    sp: pd.DataFrame,
    deals: pd.DataFrame,
    a: pd.DataFrame,
    *,
    window_days: int,
    gap_days: int,
    far_below: float,
) -> pd.DataFrame:
    """Seller-periods observed to the end of the reference window, far behind or on track at entry."""
    end_ref = sp["period_end"] + (gap_days + window_days) * _DAY
    alive = sp["termination_date"].isna() | (sp["termination_date"] > end_ref)
    sp = sp[alive & (end_ref <= a["d"].max())].reset_index(drop=True)
    entry = sp["period_end"] - window_days * _DAY
    won = deals[deals["won"]]
    m = sp[["rep_id", "period_start"]].assign(entry=entry).reset_index().merge(won, on="rep_id")
    pre = m[(m["close_date"] >= m["period_start"]) & (m["close_date"] <= m["entry"])]
    rev = pre.groupby("index")["amount"].sum().reindex(sp.index).fillna(0.0)
    share = ((entry - sp["period_start"]).dt.days + 1) / (
        (sp["period_end"] - sp["period_start"]).dt.days + 1
    )
    target = sp["quota"] * share
    sp["group"] = np.select([rev < far_below * target, rev >= target], ["far", "on"], "middle")
    return sp[sp["group"] != "middle"].reset_index(drop=True)


def _count_windows(sp: pd.DataFrame, a: pd.DataFrame, *, window_days: int, gap_days: int) -> None:
    """Add ``A_L`` (activities in the late window) and ``A_R`` (in the next period's reference)."""
    ma = sp[["rep_id", "period_end"]].reset_index().merge(a, on="rep_id")
    T = ma["period_end"]
    late = (ma["d"] > T - window_days * _DAY) & (ma["d"] <= T)
    ref = (ma["d"] > T + gap_days * _DAY) & (ma["d"] <= T + (gap_days + window_days) * _DAY)
    sp["A_L"] = ma[late].groupby("index")["n"].sum().reindex(sp.index).fillna(0.0).to_numpy()
    sp["A_R"] = ma[ref].groupby("index")["n"].sum().reindex(sp.index).fillna(0.0).to_numpy()


def _ratio_of_ratios(s: np.ndarray) -> np.ndarray:
    """``(A_L,far / A_R,far) / (A_L,on / A_R,on) - 1`` over the last axis of the four totals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (s[..., 0] / s[..., 1]) / (s[..., 2] / s[..., 3]) - 1


def _terms(totals: np.ndarray) -> pd.DataFrame:
    """Return the four activity totals as terms without standard errors."""
    return pd.DataFrame(
        {
            "term": [
                "far: late window",
                "far: reference",
                "on track: late window",
                "on track: reference",
            ],
            "estimate": totals,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
        }
    )
