"""Rating gaps between groups of sellers after accounting for KPIs (Oaxaca-Blinder), small cells hidden.

Reviews are averaged per rep first (score and KPIs over the rep's reviewed quarters), so each rep
counts once and the bootstrap resamples independent people. For each group column and each level
with at least ``min_cell_size`` reps on both sides, the gap ``mean score(level) - mean score(rest)``
is split into the part the KPIs explain and the rest (``attribution.oaxaca``). Levels below the
minimum cell size are listed as suppressed, with no numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.attribution.oaxaca import oaxaca_blinder
from salesinsight.results import ResultMixin, Summary
from salesinsight.reviews.data import KPI_COVARIATES

__all__ = ["RatingGaps", "rating_gaps"]

COLUMNS = (
    "group",
    "level",
    "n_reps",
    "gap",
    "explained",
    "unexplained",
    "ci_low",
    "ci_high",
    "suppressed",
)


@dataclass(frozen=True, eq=False)
class RatingGaps(ResultMixin):
    """Score gaps of each group level against all other reps, before and after KPIs.

    Attributes
    ----------
    frame : DataFrame
        ``COLUMNS``: the raw ``gap`` (score points), the part ``explained`` by the KPIs, the
        ``unexplained`` rest with its bootstrap interval; NaN and ``suppressed=True`` for cells
        smaller than ``min_cell_size`` reps (on either side).
    min_cell_size : int
    """

    frame: pd.DataFrame
    min_cell_size: int
    n_boot: int

    def to_frame(self) -> pd.DataFrame:
        """Return the gap table (a copy)."""
        return self.frame.copy()

    def _summary(self) -> Summary:
        """Summarise in words: gaps whose unexplained part's interval excludes zero."""
        f = self.frame
        shown = f[~f["suppressed"]]
        sig = shown[(shown["ci_low"] > 0) | (shown["ci_high"] < 0)]
        lines = [
            f"Rating gaps after KPIs: {len(shown)} group levels compared with everyone else "
            f"({int(f['suppressed'].sum())} suppressed below {self.min_cell_size} reps)."
        ]
        if sig.empty:
            lines.append("No gap left after the KPIs has an interval excluding zero.")
        for r in sig.itertuples():
            lines.append(
                f"  {r.group}={r.level} ({r.n_reps} reps): {r.gap:+.1f} points, {r.unexplained:+.1f} "
                f"[{r.ci_low:+.1f}, {r.ci_high:+.1f}] not explained by the KPIs"
            )
        lines.append("Descriptive: an unexplained gap can come from anything the KPIs miss.")
        return Summary.from_lines(lines, tables=[("Gaps per group level", shown)])

    def plot(self, *, ax: Any = None) -> Any:
        """Unexplained gaps with intervals (suppressed cells left out); returns the Axes."""
        import matplotlib.pyplot as plt

        f = self.frame[~self.frame["suppressed"]]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.3 * len(f))))
        y = np.arange(len(f))
        ax.errorbar(
            f["unexplained"],
            y,
            xerr=[f["unexplained"] - f["ci_low"], f["ci_high"] - f["unexplained"]],
            fmt="o",
            ms=3,
        )
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, [f"{g}={lv}" for g, lv in zip(f["group"], f["level"], strict=True)])
        ax.set_xlabel("score gap not explained by KPIs (points)")
        return ax


def rating_gaps(
    df: pd.DataFrame,
    *,
    groups: tuple[str, ...],
    covariates: tuple[str, ...] = KPI_COVARIATES,
    min_cell_size: int = 10,
    n_boot: int = 199,
    seed: int = 0,
) -> RatingGaps:
    """Score gap of each level of each group column against all other reps, after KPIs.

    Parameters
    ----------
    df : DataFrame
        ``ReviewData.frame``.
    groups : tuple of str
        Rep attribute columns (``ReviewData.group_columns``).
    min_cell_size : int
        Fewest reps a level (and its complement) must have to be shown.
    n_boot, seed : int
        Bootstrap of the decomposition (reps resampled within each side).
    """
    if min_cell_size < 1:
        raise ValueError(f"min_cell_size must be at least 1, got {min_cell_size}")
    per_rep = df.groupby("rep_id").agg(
        score=("score", "mean"),
        **{c: (c, "mean") for c in covariates},
        **{g: (g, "last") for g in groups},
    )
    rows = []
    for g in groups:
        levels = per_rep[g].dropna().astype(str)
        for level in sorted(levels.unique()):
            inside = levels == level
            n_in, n_out = int(inside.sum()), int((~inside).sum())
            row = {"group": g, "level": level, "n_reps": n_in}
            if n_out == 0:
                continue  # everyone shares the level: no comparison
            if min(n_in, n_out) < min_cell_size:
                rows.append({**row, "suppressed": True})
                continue
            d = per_rep.loc[levels.index, ["score", *covariates]].copy()
            d["side"] = np.where(inside, level, "(others)")
            res = oaxaca_blinder(
                d,
                outcome="score",
                group="side",
                covariates=covariates,
                group_a=level,
                n_boot=n_boot,
                seed=seed,
            )
            v = res.frame.set_index("component")
            rows.append(
                {
                    **row,
                    "gap": v.loc["gap", "value"],
                    "explained": v.loc["explained", "value"],
                    "unexplained": v.loc["unexplained", "value"],
                    "ci_low": v.loc["unexplained", "ci_low"],
                    "ci_high": v.loc["unexplained", "ci_high"],
                    "suppressed": False,
                }
            )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return RatingGaps(frame=frame, min_cell_size=min_cell_size, n_boot=n_boot)
