"""Mentoring pairs: mentee ramp-up, mentor effects and what mentoring costs the mentor.

Mentee ramp-up against comparable unmentored sellers, which mentors' mentees do better (shrunk,
with intervals), and what mentoring costs the mentor. See ``docs/reviews-mentoring.md``.
"""

from salesinsight.mentoring.analysis import MentoringAnalysis, analyze_mentoring
from salesinsight.mentoring.cost import mentor_cost
from salesinsight.mentoring.mentors import MentorEffects, mentor_effects
from salesinsight.mentoring.pairs import Pairs, matched_sets, mentoring_pairs, rep_outcomes
from salesinsight.mentoring.rampup import RAMP_OUTCOMES, ramp_up_effects, revenue_did

__all__ = [
    "RAMP_OUTCOMES",
    "MentorEffects",
    "MentoringAnalysis",
    "Pairs",
    "analyze_mentoring",
    "matched_sets",
    "mentor_cost",
    "mentor_effects",
    "mentoring_pairs",
    "ramp_up_effects",
    "rep_outcomes",
    "revenue_did",
]
