"""Predictive validity of review scores: whether they predict next quarter beyond this quarter's KPIs.

Time split: both models (next-quarter attainment on this quarter's KPIs, with and without the score)
are fitted on the earlier quarters and compared on the later ones, out of sample. The estimate is
the out-of-sample gain in R^2 from adding the score (share of next-quarter attainment variance);
its interval is a bootstrap over reps in the test quarters (reps resampled whole, so a rep's
quarters stay together). Predictive, not causal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.inference import percentile_interval
from salesinsight.reviews._display import SummaryMixin
from salesinsight.reviews.data import KPI_COVARIATES

__all__ = ["Validity", "predictive_validity"]


@dataclass(frozen=True, eq=False)
class Validity(SummaryMixin):
    """Out-of-sample incremental validity of the score.

    Attributes
    ----------
    estimate, ci_low, ci_high : float
        Gain in out-of-sample R^2 of next-quarter attainment from adding the score, with its
        bootstrap interval (1 - alpha).
    r2_kpis, r2_with_score : float
        Out-of-sample R^2 of the two models.
    score_coef : float
        Next-quarter attainment per 10 score points, in the training fit.
    train_quarters, test_quarters : tuple of str
    n_train, n_test, n_test_reps : int
    """

    estimate: float
    ci_low: float
    ci_high: float
    r2_kpis: float
    r2_with_score: float
    score_coef: float
    train_quarters: tuple[str, ...]
    test_quarters: tuple[str, ...]
    n_train: int
    n_test: int
    n_test_reps: int
    alpha: float
    n_boot: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """One row per model and the gain: ``term, estimate, ci_low, ci_high``."""
        return pd.DataFrame(
            {
                "term": ["r2_kpis", "r2_with_score", "gain"],
                "estimate": [self.r2_kpis, self.r2_with_score, self.estimate],
                "ci_low": [np.nan, np.nan, self.ci_low],
                "ci_high": [np.nan, np.nan, self.ci_high],
            }
        )

    def summary(self) -> str:
        """Words: does the score add anything beyond the KPIs, out of sample."""
        adds = (
            "adds predictive information beyond the KPIs"
            if self.ci_low > 0
            else "adds nothing detectable beyond the KPIs"
        )
        return (
            f"Predictive validity (trained on {', '.join(self.train_quarters)}; tested on "
            f"{', '.join(self.test_quarters)}, {self.n_test} reviews of {self.n_test_reps} reps): "
            f"next-quarter attainment R^2 {self.r2_kpis:.3f} from KPIs alone, "
            f"{self.r2_with_score:.3f} with the score; gain {self.estimate:+.3f} "
            f"[{self.ci_low:+.3f}, {self.ci_high:+.3f}] ({1 - self.alpha:.0%}, {self.n_boot} "
            f"bootstrap resamples of reps). The score {adds}; +10 points go with "
            f"{self.score_coef:+.3f} attainment next quarter. Predictive, not causal."
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Out-of-sample R^2 of both models; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 3))
        ax.bar(
            ["KPIs", "KPIs + score"], [self.r2_kpis, self.r2_with_score], color=["0.6", "tab:blue"]
        )
        ax.set_ylabel("out-of-sample R² (next-quarter attainment)")
        return ax


def _fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)[0]


def _pred(coef: np.ndarray, X: np.ndarray) -> np.ndarray:
    return coef[0] + X @ coef[1:]


def predictive_validity(
    df: pd.DataFrame,
    *,
    covariates: tuple[str, ...] = KPI_COVARIATES,
    test_share: float = 0.4,
    alpha: float = 0.05,
    n_boot: int = 999,
    seed: int = 0,
) -> Validity:
    """Out-of-sample gain from the score in predicting next-quarter attainment.

    Parameters
    ----------
    df : DataFrame
        ``ReviewData.frame`` (``quarter_index``, ``period``, ``score``, ``next_attainment``, KPIs).
    test_share : float
        Share of the quarters (the latest ones, at least one) held out for testing.
    n_boot, seed : int
        Bootstrap resamples of test reps and the seed of ``numpy.random.default_rng``.

    Raises
    ------
    ValueError
        With fewer than 3 quarters of reviews followed by a next quarter.
    """
    d = df.dropna(subset=["score", "next_attainment", *covariates])
    quarters = sorted(d["quarter_index"].unique())
    if len(quarters) < 3:
        raise ValueError(
            f"predictive validity needs reviews in at least 3 quarters followed by a next quarter; "
            f"found {len(quarters)}"
        )
    n_test = max(1, round(test_share * len(quarters)))
    cut = quarters[-n_test]
    train, test = d[d["quarter_index"] < cut], d[d["quarter_index"] >= cut]
    cols = list(covariates)
    a = _fit(train[cols].to_numpy(float), train["next_attainment"].to_numpy(float))
    b = _fit(train[[*cols, "score"]].to_numpy(float), train["next_attainment"].to_numpy(float))
    y = test["next_attainment"].to_numpy(float)
    err_a = (y - _pred(a, test[cols].to_numpy(float))) ** 2
    err_b = (y - _pred(b, test[[*cols, "score"]].to_numpy(float))) ** 2
    codes, reps = pd.factorize(test["rep_id"])
    sums = np.column_stack(
        [np.bincount(codes, w, len(reps)) for w in (err_a, err_b, y, y**2, np.ones_like(y))]
    )

    def gain(s: np.ndarray) -> tuple[float, float, float]:
        n = s[4]
        sst = s[3] - s[2] ** 2 / n
        return (s[0] - s[1]) / sst, 1 - s[0] / sst, 1 - s[1] / sst

    est, r2a, r2b = gain(sums.sum(0))
    rng = np.random.default_rng(seed)
    boots = np.array(
        [gain(sums[rng.integers(0, len(reps), len(reps))].sum(0))[0] for _ in range(n_boot)]
    )
    lo, hi = percentile_interval(boots, alpha)
    label = test.groupby("quarter_index")["period"].first()
    train_label = train.groupby("quarter_index")["period"].first()
    return Validity(
        estimate=float(est),
        ci_low=float(lo),
        ci_high=float(hi),
        r2_kpis=float(r2a),
        r2_with_score=float(r2b),
        score_coef=float(b[-1] * 10),
        train_quarters=tuple(train_label.astype(str)),
        test_quarters=tuple(label.astype(str)),
        n_train=len(train),
        n_test=len(test),
        n_test_reps=len(reps),
        alpha=alpha,
        n_boot=n_boot,
        seed=seed,
    )
