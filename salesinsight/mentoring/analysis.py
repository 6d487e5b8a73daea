"""Entry point: mentee ramp-up, mentor effects and mentor cost of a data folder in one object."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.mentoring.cost import mentor_cost
from salesinsight.mentoring.mentors import MentorEffects, mentor_effects
from salesinsight.mentoring.pairs import (
    MIN_TENURE_DAYS,
    Pairs,
    matched_sets,
    mentoring_pairs,
    rep_outcomes,
)
from salesinsight.mentoring.rampup import ramp_up_effects
from salesinsight.notes import Note
from salesinsight.results import ResultMixin, Summary

__all__ = ["MentoringAnalysis", "analyze_mentoring"]


@dataclass(frozen=True, eq=False)
class MentoringAnalysis(ResultMixin):
    """Mentoring pairs evaluated: ramp-up of mentees, mentor effects, cost to mentors.

    Attributes
    ----------
    pairs : Pairs
    ramp_up : dict of str -> Effect
        Mentees minus comparable unmentored sellers (``rampup.RAMP_OUTCOMES``).
    mentors : MentorEffects
    cost : dict of str -> Effect
        Mentors' own revenue (relative) and win rate (points) against comparable non-mentors.
    min_effect : dict of str -> float
        Minimum effect that matters per outcome, for the verdicts.
    """

    pairs: Pairs
    ramp_up: dict[str, Effect]
    mentors: MentorEffects
    cost: dict[str, Effect]
    min_effect: dict[str, float]
    alpha: float
    notes: tuple[str, ...] = ()

    def effects(self) -> dict[str, Effect]:
        """Every mentee and mentor-cost effect by name."""
        return {**self.ramp_up, **{f"mentor_{k}": v for k, v in self.cost.items()}}

    def to_frame(self) -> pd.DataFrame:
        """One row per effect: estimate, interval, verdict and reason."""
        rows = []
        for name, e in self.effects().items():
            v = e.verdict(min_effect=self.min_effect.get(name, 0.0), alpha=self.alpha)
            rows.append(
                {
                    "measure": name,
                    "estimate": e.estimate,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "n_units": e.n_units,
                    "baseline": e.baseline,
                    "verdict": v.label,
                    "reason": v.reason,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (missing numbers as None, never NaN)."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in r.items()
                }
                for r in df.to_dict("records")
            ]

        return {
            "effects": records(self.to_frame()),
            "mentors": records(self.mentors.frame),
            "n_pairs": int(len(self.pairs.frame)),
            "notes": list(self.notes),
        }

    def _summary(self) -> Summary:
        """Summarise each measure with its verdict, then the mentors."""
        f = self.to_frame()
        rows = [
            (
                str(r.measure),
                f"{r.estimate:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}] -> {r.verdict}: {r.reason}",
            )
            for r in f.itertuples()
        ]
        return Summary(
            title=(
                f"Mentoring pairs: {len(self.pairs.frame)} mentees, "
                f"{self.pairs.frame['mentor_id'].nunique()} mentors."
            ),
            rows=rows,
            notes=[f"Note: {n}" for n in self.notes],
            sections=[self.mentors.summary()],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Plot the mentor effects; return the Axes."""
        return self.mentors.plot(ax=ax)


#: Default minimum effects that matter: days, quarters, win-rate points, relative revenue.
DEFAULT_MIN_EFFECT: dict[str, float] = {
    "days_to_first_win": 7.0,
    "quarters_to_quota": 0.5,
    "early_win_rate": 0.02,
    "revenue": 0.05,
    "mentor_revenue": 0.05,
    "mentor_win_rate": 0.02,
}


def _pool(ds: Any, starts: pd.Series, exclude: set[str]) -> pd.DataFrame:
    """Comparison sellers for each start date: employed, tenured, not managers, not excluded."""
    reps = ds.sql(
        "SELECT rep_id, CAST(hire_date AS TIMESTAMP) AS hire, "
        "CAST(termination_date AS TIMESTAMP) AS term, role FROM reps"
    )
    rows = []
    for s in sorted(starts.unique()):
        ok = (
            (reps["hire"] <= s - pd.Timedelta(days=MIN_TENURE_DAYS))
            & (reps["term"].isna() | (reps["term"] > s))
            & (reps["role"].fillna("").str.lower() != "manager")
            & ~reps["rep_id"].isin(exclude)
        )
        rows.append(pd.DataFrame({"rep_id": reps.loc[ok, "rep_id"], "start": s}))
    return pd.concat(rows, ignore_index=True)


def analyze_mentoring(
    data: Any,
    *,
    k: int = 3,
    alpha: float = 0.05,
    min_effect: dict[str, float] | None = None,
    n_boot: int = 999,
    seed: int = 0,
) -> MentoringAnalysis:
    """Evaluate mentoring pairs of a data folder or open ``Dataset``.

    Parameters
    ----------
    data : Dataset or path
    k : int
        Comparison sellers per mentee (and per mentor), nearest on prior attainment and tenure.
    alpha : float
        Intervals are 1 - alpha.
    min_effect : dict, optional
        Minimum effect that matters per measure (defaults: ``DEFAULT_MIN_EFFECT``).
    n_boot, seed : int
        Matched-set bootstrap.
    """
    if isinstance(data, str | Path):
        from salesinsight.data import load

        with load(data) as ds:
            return analyze_mentoring(
                ds, k=k, alpha=alpha, min_effect=min_effect, n_boot=n_boot, seed=seed
            )
    ds = data
    pairs = mentoring_pairs(ds)
    pf = pairs.frame
    enrolled = ds.sql(
        "SELECT DISTINCT e.unit_id FROM enrollments e JOIN programs p USING (program_id) "
        "WHERE p.unit = 'rep' AND e.arm = 'treatment'"
    )["unit_id"]
    exclude = set(enrolled) | set(pf["mentor_id"])
    mentee_rows = pf.rename(columns={"mentee_id": "rep_id"})[["rep_id", "start", "mentor_id"]]
    mentor_rows = pf.groupby("mentor_id", as_index=False)["start"].min()
    mentor_rows = mentor_rows.rename(columns={"mentor_id": "rep_id"})
    pool = _pool(ds, pd.concat([mentee_rows["start"], mentor_rows["start"]]), exclude)
    both = pd.concat([mentee_rows[["rep_id", "start"]], mentor_rows, pool], ignore_index=True)
    outcomes = rep_outcomes(ds, both.drop_duplicates(), pairs.data_end)
    key = ["rep_id", "start"]
    mentees = mentee_rows.merge(outcomes, on=key, how="left")
    mentors = mentor_rows.merge(outcomes, on=key, how="left")
    pool_out = pool.merge(outcomes, on=key, how="left")
    m_sets = matched_sets(mentees, pool_out, k=k)
    notes = []
    if m_sets.attrs["n_unmatched"]:
        notes.append(
            Note(
                "{n} of {total} mentees have no {k} unmentored sellers close enough to compare "
                "with and are left out",
                n=int(m_sets.attrs["n_unmatched"]),
                total=len(mentees),
                k=k,
            )
        )
    kw: dict[str, Any] = {"alpha": alpha, "n_boot": n_boot, "seed": seed}
    try:
        c_sets = matched_sets(mentors, pool_out, k=k)
        cost = mentor_cost(c_sets, **kw)
        if c_sets.attrs["n_unmatched"]:
            notes.append(
                Note(
                    "mentors' own results: {n} of {total} mentors have no {k} sellers who did "
                    "not mentor close enough to compare with and are left out",
                    n=int(c_sets.attrs["n_unmatched"]),
                    total=len(mentors),
                    k=k,
                )
            )
    except ValueError as exc:
        cost = {}
        notes.append(Note("mentor cost not estimated: {error}", error=str(exc)))
    return MentoringAnalysis(
        pairs=pairs,
        ramp_up=ramp_up_effects(m_sets, **kw),
        mentors=mentor_effects(m_sets, alpha=alpha),
        cost=cost,
        min_effect={**DEFAULT_MIN_EFFECT, **(min_effect or {})},
        alpha=alpha,
        notes=tuple(notes),
    )
