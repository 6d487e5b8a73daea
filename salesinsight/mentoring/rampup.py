"""Mentee ramp-up against comparable unmentored sellers.

Time to first won deal, quarters to first quarter at quota, early win rate, and revenue (relative
difference in differences).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.mentoring.matched import matched_effect
from salesinsight.mentoring.pairs import EARLY_DAYS, HORIZON_DAYS

__all__ = ["RAMP_OUTCOMES", "ramp_up_effects", "revenue_did"]

#: outcome -> (description, higher is better)
RAMP_OUTCOMES: dict[str, tuple[str, bool]] = {
    "days_to_first_win": (
        f"days from the start to the first won deal (capped at {HORIZON_DAYS})",
        False,
    ),
    "quarters_to_quota": ("full quarters to the first at quota (5 = not within 4)", False),
    "early_win_rate": (f"win rate of deals closed in the first {EARLY_DAYS} days", True),
    "revenue": (
        "revenue per employed day after the start, relative, difference in differences",
        True,
    ),
}

METHOD = "matched comparison (3 nearest unmentored sellers on prior attainment and tenure)"


def _mean_diff(t: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    # columns: value, one (count of units); control rows carry weight 1/k
    base = c[0] / c[1]
    return t[0] / t[1] - base, base


def _rate_diff(t: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    base = c[0] / c[1] if c[1] > 0 else np.nan
    return (t[0] / t[1] if t[1] > 0 else np.nan) - base, base


def _did_ratio(t: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    # columns: post_revenue, post_days, pre_revenue, pre_days -> relative change vs controls
    with np.errstate(divide="ignore", invalid="ignore"):
        rt = (t[0] / t[1]) / (t[2] / t[3])
        rc = (c[0] / c[1]) / (c[2] / c[3])
    return rt / rc - 1.0, 0.0


def revenue_did(sets: pd.DataFrame, *, outcome: str = "revenue", **kw) -> Effect:
    """Relative change of revenue per employed day (after vs the prior window), treated vs controls."""
    s = sets[(sets["pre_days"] > 0) & (sets["post_days"] > 0)]
    return matched_effect(
        s,
        columns=["post_revenue", "post_days", "pre_revenue", "pre_days"],
        statistic=_did_ratio,
        outcome=outcome,
        higher_is_better=True,
        method=METHOD + ", ratio of per-day revenue ratios",
        notes=("relative effect: 0.10 = revenue per day 10% above the comparison's change",),
        **kw,
    )


def ramp_up_effects(
    sets: pd.DataFrame, *, alpha: float = 0.05, n_boot: int = 999, seed: int = 0
) -> dict[str, Effect]:
    """Mentee minus comparison on each ramp-up measure (``RAMP_OUTCOMES``) as ``Effect`` objects."""
    kw: dict[str, Any] = {"alpha": alpha, "n_boot": n_boot, "seed": seed}
    s = sets.assign(one=1.0)
    out: dict[str, Effect] = {}
    for name in ("days_to_first_win", "quarters_to_quota"):
        d = s.dropna(subset=[name])
        out[name] = matched_effect(
            d,
            columns=[name, "one"],
            statistic=_mean_diff,
            outcome=name,
            higher_is_better=RAMP_OUTCOMES[name][1],
            method=METHOD,
            notes=(RAMP_OUTCOMES[name][0], "reps not followed long enough are left out"),
            **kw,
        )
    out["early_win_rate"] = matched_effect(
        s,
        columns=["early_won", "early_closed"],
        statistic=_rate_diff,
        outcome="early_win_rate",
        higher_is_better=True,
        method=METHOD + ", ratio of sums",
        notes=(RAMP_OUTCOMES["early_win_rate"][0],),
        **kw,
    )
    out["revenue"] = revenue_did(s, **kw)
    return out
