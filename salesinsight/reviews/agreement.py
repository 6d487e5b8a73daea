"""Agreement of review scores with the same quarter's objective KPIs, overall and per reviewer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.causal.inference import z_critical
from salesinsight.reviews._display import SummaryMixin
from salesinsight.reviews.data import KPI_COVARIATES

__all__ = ["Agreement", "score_agreement"]


def _spearman(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Spearman correlation with a Fisher-z interval (Fieller's variance 1.06 / (n - 3))."""
    n = len(a)
    if n < 5 or np.std(a) == 0 or np.std(b) == 0:
        return np.nan, np.nan, np.nan
    rho = float(stats.spearmanr(a, b).statistic)
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    half = z_critical(alpha) * np.sqrt(1.06 / (n - 3))
    return rho, float(np.tanh(z - half)), float(np.tanh(z + half))


@dataclass(frozen=True, eq=False)
class Agreement(SummaryMixin):
    """How far scores follow the same quarter's KPIs.

    Attributes
    ----------
    frame : DataFrame
        One row per reviewer plus an ``(all)`` row: ``reviewer_id``, ``n_reviews``, ``rho`` (Spearman
        correlation of score and attainment) with its interval ``ci_low``/``ci_high``.
    r2 : float
        Share of score variance explained by a linear fit on the KPIs (all reviews).
    coefficients : dict
        Score points per unit of each KPI in that fit.
    alpha : float
    """

    frame: pd.DataFrame
    r2: float
    coefficients: dict[str, float]
    alpha: float
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Per-reviewer correlations (a copy)."""
        return self.frame.copy()

    def summary(self) -> str:
        """Words: overall agreement and the reviewers who agree least."""
        allrow = self.frame.iloc[0]
        low = self.frame.iloc[1:].dropna(subset=["rho"]).nsmallest(3, "rho")
        coefs = ", ".join(f"{k} {v:+.2f}" for k, v in self.coefficients.items())
        lines = [
            f"Scores and same-quarter attainment: Spearman {allrow.rho:.2f} "
            f"[{allrow.ci_low:.2f}, {allrow.ci_high:.2f}] over {int(allrow.n_reviews)} reviews; "
            f"the KPIs explain {self.r2:.0%} of score variance (points per unit: {coefs}).",
        ]
        if len(low):
            lines.append(
                "Lowest agreement: "
                + "; ".join(
                    f"{r.reviewer_id} {r.rho:.2f} (n={r.n_reviews})" for r in low.itertuples()
                )
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def plot(self, *, ax: Any = None) -> Any:
        """Per-reviewer correlation with intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.18 * len(self.frame))))
        f = self.frame.dropna(subset=["rho"]).sort_values("rho")
        y = np.arange(len(f))
        ax.errorbar(
            f["rho"], y, xerr=[f["rho"] - f["ci_low"], f["ci_high"] - f["rho"]], fmt="o", ms=3
        )
        ax.set_yticks(y, f["reviewer_id"].astype(str), fontsize=6)
        ax.set_xlabel("Spearman correlation of score with attainment")
        return ax


def score_agreement(
    df: pd.DataFrame, *, covariates: tuple[str, ...] = KPI_COVARIATES, alpha: float = 0.05
) -> Agreement:
    """Agreement of scores with same-quarter KPIs, overall and per reviewer.

    Parameters
    ----------
    df : DataFrame
        ``ReviewData.frame``: ``reviewer_id``, ``score`` and the ``covariates``.
    covariates : tuple of str
        KPIs of the linear fit (attainment must be among them: it is the correlation's partner).
    alpha : float
        Intervals are 1 - alpha.
    """
    if "attainment" not in covariates:
        raise ValueError("covariates must include attainment")
    d = df.dropna(subset=["score", *covariates])
    rows: list[dict[str, Any]] = []
    for rid, g in [("(all)", d), *d.groupby("reviewer_id", sort=True)]:
        rho, lo, hi = _spearman(g["score"].to_numpy(), g["attainment"].to_numpy(), alpha)
        rows.append(
            {"reviewer_id": str(rid), "n_reviews": len(g), "rho": rho, "ci_low": lo, "ci_high": hi}
        )
    X = np.column_stack([np.ones(len(d)), d[list(covariates)].to_numpy(float)])
    y = d["score"].to_numpy(float)
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    r2 = 1.0 - float(np.var(y - X @ coef) / np.var(y))
    notes: tuple[str, ...] = ()
    small = sum(1 for r in rows[1:] if r["n_reviews"] < 5)
    if small:
        notes = (f"{small} reviewer(s) with fewer than 5 reviews have no correlation",)
    return Agreement(
        frame=pd.DataFrame(rows),
        r2=r2,
        coefficients=dict(zip(covariates, coef[1:].tolist(), strict=True)),
        alpha=alpha,
        notes=notes,
    )
