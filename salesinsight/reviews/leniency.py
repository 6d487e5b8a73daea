"""Reviewer leniency and severity: each reviewer's score shift at equal KPIs, shrunk, with intervals.

Model: ``score = KPIs @ beta + rep effect + reviewer shift + noise`` by least squares. When reps are
scored by more than one reviewer (calibration or cross reviews) and every reviewer is connected to
the others through shared reps, the rep effects are in the model and a reviewer's shift is measured
*within reps*: what they give relative to what other reviewers give the same people. Otherwise (each
rep always scored by their own manager) the rep effects are left out and the shift compares reviewers'
teams at equal KPIs, which assumes reps are spread over reviewers as if at random (a note says so).

Shifts are relative to the average reviewer (they sum to zero). Each is shrunk towards zero by
normal-normal empirical Bayes (``metrics.shrinkage.fit_normal_normal``); the interval is the
posterior interval. A reviewer is flagged lenient or severe only when the raw shift survives
Benjamini-Hochberg across all reviewers *and* the shrunk interval excludes zero, so a reviewer with
three reviews is not called lenient on a lucky draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from statsmodels.stats.multitest import multipletests

from salesinsight.causal.inference import wald_p_values, z_critical
from salesinsight.metrics.shrinkage import fit_normal_normal
from salesinsight.reviews._display import SummaryMixin
from salesinsight.reviews.data import KPI_COVARIATES

__all__ = ["Leniency", "reviewer_leniency"]

COLUMNS = (
    "reviewer_id",
    "n_reviews",
    "n_reps",
    "raw_shift",
    "raw_se",
    "p_value",
    "leniency",
    "ci_low",
    "ci_high",
    "flag",
)


@dataclass(frozen=True, eq=False)
class Leniency(SummaryMixin):
    """Reviewer shifts (score points at equal KPIs, relative to the average reviewer).

    Attributes
    ----------
    frame : DataFrame
        One row per reviewer, columns ``COLUMNS``: raw least-squares shift and its standard error,
        its two-sided p-value, the shrunk shift ``leniency`` with its posterior interval
        ``ci_low``/``ci_high`` and ``flag`` (``lenient``, ``severe`` or ``in line``).
    design : {"within reps", "between teams"}
    tau : float
        Estimated spread (sd, score points) of true reviewer shifts.
    sigma : float
        Residual sd of a score (points).
    alpha, fdr : float
        Interval level 1 - alpha, Benjamini-Hochberg false-discovery rate of the flags.
    n_obs : int
    notes : tuple of str
    """

    frame: pd.DataFrame
    design: str
    tau: float
    sigma: float
    alpha: float
    fdr: float
    n_obs: int
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Return the per-reviewer table (a copy)."""
        return self.frame.copy()

    def flagged(self) -> pd.DataFrame:
        """Reviewers flagged lenient or severe."""
        return self.frame[self.frame["flag"] != "in line"].copy()

    def summary(self) -> str:
        """Words: design, spread of reviewer shifts, who is flagged."""
        f = self.frame
        lines = [
            f"Reviewer leniency ({self.design}): {len(f)} reviewers, {self.n_obs} reviews; true "
            f"shifts spread with sd {self.tau:.2f} score points (residual sd {self.sigma:.2f}).",
            f"Flagged at a {self.fdr:.0%} false-discovery rate with the shrunk "
            f"{1 - self.alpha:.0%} interval excluding zero: {int((f['flag'] == 'lenient').sum())} "
            f"lenient, {int((f['flag'] == 'severe').sum())} severe.",
        ]
        for r in self.flagged().itertuples():
            lines.append(
                f"  {r.reviewer_id}: {r.flag}, {r.leniency:+.1f} points "
                f"[{r.ci_low:+.1f}, {r.ci_high:+.1f}] over {r.n_reviews} reviews"
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def plot(self, *, ax: Any = None) -> Any:
        """Shrunk shifts with intervals, one row per reviewer; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.18 * len(self.frame))))
        f = self.frame.sort_values("leniency")
        y = np.arange(len(f))
        colors = f["flag"].map({"lenient": "tab:red", "severe": "tab:blue"}).fillna("0.5")
        ax.errorbar(
            f["leniency"],
            y,
            xerr=[f["leniency"] - f["ci_low"], f["ci_high"] - f["leniency"]],
            fmt="none",
            ecolor="0.7",
        )
        ax.scatter(f["leniency"], y, c=list(colors), s=12, zorder=3)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, f["reviewer_id"].astype(str), fontsize=6)
        ax.set_xlabel("score shift at equal KPIs (points, shrunk)")
        return ax


def _deviation_coding(k: int) -> np.ndarray:
    """(k, k-1) contrast matrix whose effects sum to zero."""
    c = np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])
    return c


def _demean(a: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Columns of ``a`` minus their mean within each group."""
    n_groups = groups.max() + 1
    sums = np.zeros((n_groups, a.shape[1]))
    np.add.at(sums, groups, a)
    counts = np.bincount(groups, minlength=n_groups)[:, None]
    return a - (sums / counts)[groups]


def _connected(rep: np.ndarray, reviewer: np.ndarray) -> bool:
    """Return True when the rep-reviewer graph is one connected component (shifts identified within reps)."""
    n_rep, n_rev = rep.max() + 1, reviewer.max() + 1
    g = sparse.coo_matrix(
        (np.ones(len(rep)), (rep, n_rep + reviewer)), shape=(n_rep + n_rev, n_rep + n_rev)
    )
    n_comp, labels = connected_components(g, directed=False)
    used = np.unique(np.r_[rep, n_rep + reviewer])
    return len(np.unique(labels[used])) == 1


def reviewer_leniency(
    df: pd.DataFrame,
    *,
    covariates: tuple[str, ...] = KPI_COVARIATES,
    alpha: float = 0.05,
    fdr: float = 0.05,
    design: str = "auto",
) -> Leniency:
    """Each reviewer's score shift at equal KPIs, shrunk, with intervals and controlled flags.

    Parameters
    ----------
    df : DataFrame
        One row per review with ``rep_id``, ``reviewer_id``, ``score`` (points) and ``covariates``
        (``ReviewData.frame``).
    covariates : tuple of str
        Same-quarter KPI columns the score is adjusted for.
    alpha : float
        The intervals are 1 - alpha posterior intervals.
    fdr : float
        Benjamini-Hochberg false-discovery rate across reviewers.
    design : {"auto", "within reps", "between teams"}
        ``auto``: within reps when identified (see the module docstring), else between teams.

    Returns
    -------
    Leniency
    """
    missing = [c for c in ("rep_id", "reviewer_id", "score", *covariates) if c not in df.columns]
    if missing:
        raise ValueError(f"reviews frame is missing column(s) {missing}")
    if design not in ("auto", "within reps", "between teams"):
        raise ValueError(f"design must be auto, 'within reps' or 'between teams'; got {design!r}")
    d = df.dropna(subset=["score", *covariates])
    rep_codes, rep_levels = pd.factorize(d["rep_id"], sort=True)
    rev_codes, rev_levels = pd.factorize(d["reviewer_id"].astype(str), sort=True)
    k = len(rev_levels)
    if k < 2:
        raise ValueError(f"need at least 2 reviewers to compare; found {k}")
    notes: list[str] = []
    within = _connected(rep_codes, rev_codes) and len(rep_levels) < len(d)
    if design == "within reps" and not within:
        raise ValueError(
            "reviewer shifts are not identified within reps: reps and reviewers do not form one "
            "connected set (each rep needs reviews from more than one reviewer somewhere)"
        )
    if design == "auto":
        design = "within reps" if within else "between teams"
    if design == "between teams":
        notes.append(
            "every rep is scored by one reviewer only: shifts compare reviewers' teams at equal "
            "KPIs and assume reps are spread over reviewers as if at random"
        )
    y = d["score"].to_numpy(float)
    x = d[list(covariates)].to_numpy(float)
    x = x - x.mean(0)
    rev = np.zeros((len(d), k))
    rev[np.arange(len(d)), rev_codes] = 1.0
    contrast = _deviation_coding(k)
    Z = np.hstack([x, rev @ contrast])
    if design == "within reps":
        # Frisch-Waugh-Lovell: demeaning within reps absorbs the rep effects exactly, so memory
        # grows with reviews x reviewers, not reviews x reps
        Z, y, n_absorbed = (
            _demean(Z, rep_codes),
            _demean(y[:, None], rep_codes)[:, 0],
            len(rep_levels),
        )
    else:
        Z, y, n_absorbed = Z - Z.mean(0), y - y.mean(), 1
    ztz_inv = np.linalg.pinv(Z.T @ Z)
    coef = ztz_inv @ (Z.T @ y)
    resid = y - Z @ coef
    dof = len(y) - n_absorbed - np.linalg.matrix_rank(Z)
    if dof <= 0:
        raise ValueError(f"too few reviews ({len(y)}) for {n_absorbed + Z.shape[1]} parameters")
    sigma2 = float(resid @ resid / dof)
    j = x.shape[1]
    shift = contrast @ coef[j:]
    cov = contrast @ (sigma2 * ztz_inv[j:, j:]) @ contrast.T
    se = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    mu, tau2 = fit_normal_normal(shift, se**2)
    weight = tau2 / (tau2 + se**2)
    post = mu + weight * (shift - mu)
    # posterior variance including the uncertainty of the estimated average (Morris 1983)
    var_mu = 1.0 / np.sum(1.0 / (tau2 + se**2))
    post_sd = np.sqrt(weight * se**2 + (1 - weight) ** 2 * var_mu)
    z = z_critical(alpha)
    p = wald_p_values(shift, se)
    reject = multipletests(p, alpha=fdr, method="fdr_bh")[0]
    lo, hi = post - z * post_sd, post + z * post_sd
    flag = np.where(reject & (lo > 0), "lenient", np.where(reject & (hi < 0), "severe", "in line"))
    counts = d.groupby(rev_codes).agg(n_reviews=("score", "size"), n_reps=("rep_id", "nunique"))
    frame = pd.DataFrame(
        {
            "reviewer_id": rev_levels.astype(str),
            "n_reviews": counts["n_reviews"].to_numpy(),
            "n_reps": counts["n_reps"].to_numpy(),
            "raw_shift": shift,
            "raw_se": se,
            "p_value": p,
            "leniency": post,
            "ci_low": lo,
            "ci_high": hi,
            "flag": flag,
        },
        columns=list(COLUMNS),
    )
    return Leniency(
        frame=frame,
        design=design,
        tau=float(np.sqrt(tau2)),
        sigma=float(np.sqrt(sigma2)),
        alpha=alpha,
        fdr=fdr,
        n_obs=len(d),
        notes=tuple(notes),
    )
