"""Performance reviews and mentoring pairs: from evaluation results to action.

Reviews (``analyze_reviews``): agreement of scores with same-quarter KPIs, reviewer leniency (shrunk,
flags with false-discovery control), predictive validity out of sample, rating gaps after KPIs.
See ``docs/reviews-mentoring.md``.
"""

from salesinsight.reviews.agreement import Agreement, score_agreement
from salesinsight.reviews.analysis import ReviewAnalysis, analyze_reviews
from salesinsight.reviews.data import KPI_COVARIATES, ReviewData, review_data
from salesinsight.reviews.gaps import RatingGaps, rating_gaps
from salesinsight.reviews.leniency import Leniency, reviewer_leniency
from salesinsight.reviews.validity import Validity, predictive_validity

__all__ = [
    "KPI_COVARIATES",
    "Agreement",
    "Leniency",
    "RatingGaps",
    "ReviewAnalysis",
    "ReviewData",
    "Validity",
    "analyze_reviews",
    "predictive_validity",
    "rating_gaps",
    "review_data",
    "reviewer_leniency",
    "score_agreement",
]
