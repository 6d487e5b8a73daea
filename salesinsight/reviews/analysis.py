"""Entry point: every review analysis of a data folder in one result object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from salesinsight.results import ResultMixin, Summary
from salesinsight.reviews.agreement import Agreement, score_agreement
from salesinsight.reviews.data import ReviewData, review_data
from salesinsight.reviews.gaps import RatingGaps, rating_gaps
from salesinsight.reviews.leniency import Leniency, reviewer_leniency
from salesinsight.reviews.validity import Validity, predictive_validity

__all__ = ["ReviewAnalysis", "analyze_reviews"]


@dataclass(frozen=True, eq=False)
class ReviewAnalysis(ResultMixin):
    """Agreement, reviewer leniency, predictive validity and rating gaps of one data folder.

    ``validity`` is None when fewer than three reviewed quarters are followed by a next quarter (the
    reason is in ``notes``).
    """

    data: ReviewData
    agreement: Agreement
    leniency: Leniency
    validity: Validity | None
    gaps: RatingGaps
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return the per-reviewer table: leniency beside agreement."""
        agree = self.agreement.frame[["reviewer_id", "rho"]].rename(columns={"rho": "agreement"})
        return self.leniency.frame.merge(agree, on="reviewer_id", how="left")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (the ``salesinsight reviews --json`` output)."""

        def num(x: Any) -> float | None:
            return None if pd.isna(x) else round(float(x), 6)

        reviewers = [
            {
                "reviewer_id": r.reviewer_id,
                "n_reviews": int(r.n_reviews),
                "leniency": num(r.leniency),
                "ci_low": num(r.ci_low),
                "ci_high": num(r.ci_high),
                "raw_shift": num(r.raw_shift),
                "p_value": num(r.p_value),
                "flag": r.flag,
            }
            for r in self.leniency.frame.itertuples()
        ]
        v = self.validity
        overall = self.agreement.frame.iloc[0]
        return {
            "n_reviews": int(len(self.data.frame)),
            "reviewers": reviewers,
            "leniency_design": self.leniency.design,
            "agreement": {
                "spearman": num(overall.rho),
                "ci_low": num(overall.ci_low),
                "ci_high": num(overall.ci_high),
                "r2_kpis": num(self.agreement.r2),
            },
            "validity": None
            if v is None
            else {
                "estimate": num(v.estimate),
                "ci_low": num(v.ci_low),
                "ci_high": num(v.ci_high),
                "measure": "out-of-sample R^2 gain for next-quarter attainment",
                "r2_kpis": num(v.r2_kpis),
                "r2_with_score": num(v.r2_with_score),
                "test_quarters": list(v.test_quarters),
            },
            "gaps": [
                {k: (num(val) if isinstance(val, float) else val) for k, val in row.items()}
                for row in self.gaps.frame.to_dict("records")
            ],
            "notes": list(self.notes),
        }

    def _summary(self) -> Summary:
        """Summarise every part, one section each."""
        parts = [self.agreement.summary(), self.leniency.summary()]
        parts.append(
            self.validity.summary() if self.validity is not None else Summary("Validity: n/a.")
        )
        parts.append(self.gaps.summary())
        return Summary(
            title="Performance reviews",
            notes=[f"Note: {n}" for n in self.notes],
            sections=parts,
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Plot the leniency (the part a reader acts on); return the Axes."""
        return self.leniency.plot(ax=ax)


def analyze_reviews(
    data: Any,
    *,
    min_cell_size: int = 10,
    alpha: float = 0.05,
    fdr: float = 0.05,
    n_boot: int = 999,
    seed: int = 0,
    through: str | None = None,
) -> ReviewAnalysis:
    """Run every review analysis on a data folder or an open ``Dataset``.

    Parameters
    ----------
    data : Dataset or path
    min_cell_size : int
        Smallest group (reps) whose rating gap is shown.
    alpha, fdr : float
        Interval level 1 - alpha; false-discovery rate of the leniency flags.
    n_boot, seed : int
        Bootstrap resamples (validity; gaps use a fifth of them) and seed.
    through : str, optional
        Last quarter (label) to use; later reviews and KPIs are ignored.
    """
    if isinstance(data, str | Path):
        from salesinsight.data import load

        with load(data) as ds:
            return analyze_reviews(
                ds,
                min_cell_size=min_cell_size,
                alpha=alpha,
                fdr=fdr,
                n_boot=n_boot,
                seed=seed,
                through=through,
            )
    rd = review_data(data, through=through)
    notes = list(rd.notes)
    try:
        validity = predictive_validity(rd.frame, alpha=alpha, n_boot=n_boot, seed=seed)
    except ValueError as exc:
        validity = None
        notes.append(f"predictive validity not computed: {exc}")
    return ReviewAnalysis(
        data=rd,
        agreement=score_agreement(rd.frame, alpha=alpha),
        leniency=reviewer_leniency(rd.frame, alpha=alpha, fdr=fdr),
        validity=validity,
        gaps=rating_gaps(
            rd.frame,
            groups=rd.group_columns,
            min_cell_size=min_cell_size,
            n_boot=max(99, n_boot // 5),
            seed=seed,
        ),
        notes=tuple(notes),
    )
