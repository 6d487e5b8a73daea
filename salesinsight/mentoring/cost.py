"""What mentoring costs the mentor: their own revenue and win rate while mentoring.

Against comparable sellers who did not mentor (matched on prior attainment and tenure).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.mentoring.matched import matched_effect
from salesinsight.mentoring.rampup import revenue_did

__all__ = ["mentor_cost"]


def _win_rate_did(t: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    # columns: early_won, early_closed, pre_won, pre_closed
    with np.errstate(divide="ignore", invalid="ignore"):
        dt = t[0] / t[1] - t[2] / t[3]
        dc = c[0] / c[1] - c[2] / c[3]
    return dt - dc, c[0] / c[1]


def mentor_cost(
    sets: pd.DataFrame, *, alpha: float = 0.05, n_boot: int = 999, seed: int = 0
) -> dict[str, Effect]:
    """Mentors' own results after they start mentoring, relative to matched non-mentors.

    Returns ``{"revenue": relative DiD, "win_rate": DiD in win-rate points (first 91 days vs the
    prior window)}``; a negative effect is a cost.
    """
    kw: dict[str, Any] = {"alpha": alpha, "n_boot": n_boot, "seed": seed}
    rev = revenue_did(sets, outcome="mentor_revenue", **kw)
    wr = matched_effect(
        sets,
        columns=["early_won", "early_closed", "pre_won", "pre_closed"],
        statistic=_win_rate_did,
        outcome="mentor_win_rate",
        higher_is_better=True,
        method="matched comparison of mentors with non-mentors, difference in differences",
        notes=("win rate of the first 91 days of mentoring minus the prior window's",),
        **kw,
    )
    return {"revenue": rev, "win_rate": wr}
