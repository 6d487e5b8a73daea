"""Leading indicators: which process metrics predict next period's outcomes *within a seller*.

For each process KPI ``p`` and outcome ``o`` (``panel.KPI_KIND``), the model is
``o[rep, t+1] = a[rep] + b * f(p[rep, t]) + e`` with seller fixed effects ``a`` (``f`` = log(1 + x)
for counts and amounts). It is fitted on the earlier periods and evaluated on the later ones: the
out-of-sample gain is ``1 - MSE(model) / MSE(seller means only)`` on the test periods, with seller
means and centring taken from the training periods only (no look-ahead). Intervals: the coefficient's
is cluster-robust by seller (training fit); the gain's is a bootstrap over test sellers.
Predictive, not causal: a process metric that predicts may do so because good sellers both work
more and win more in the same quarter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.metrics._panel import KPI_KIND, panel
from salesinsight.results import ResultMixin, Summary

if TYPE_CHECKING:
    from salesinsight.data import Dataset

__all__ = ["LeadingIndicators", "leading_indicators"]

DEFAULT_PROCESS: tuple[str, ...] = (
    "activities",
    "calls",
    "visits",
    "meetings",
    "demos",
    "follow_ups",
    "opps_created",
    "pipeline_value",
)
#: the outcome KPIs predicted by default: the targets of the leading indicators, not the outcomes a
#: program is evaluated on (those are ``salesinsight.kpis.DEFAULT_OUTCOMES``)
DEFAULT_TARGETS: tuple[str, ...] = ("revenue", "win_rate", "attainment")
_LOG = {*DEFAULT_PROCESS, "emails", "other", "revenue"}


@dataclass(frozen=True, eq=False)
class LeadingIndicators(ResultMixin):
    """Within-seller predictive power of process metrics for next period's outcomes.

    Attributes
    ----------
    frame : DataFrame
        One row per (process, outcome): ``coef`` (outcome units per unit of log(1 + process); the
        revenue outcome is itself on the log(1 + revenue) scale, so its coefficient is an elasticity) with ``se``, ``ci_low``, ``ci_high``; out-of-sample ``gain`` with
        ``gain_low``, ``gain_high``; ``n_reps``, ``n_train``, ``n_test``; ``leading`` (the gain's
        interval excludes zero on the positive side).
    grain : str
    train_periods, test_periods : tuple of str
    """

    frame: pd.DataFrame
    grain: str
    train_periods: tuple[str, ...]
    test_periods: tuple[str, ...]
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """Return the (process, outcome) table (a copy)."""
        return self.frame.copy()

    def _summary(self) -> Summary:
        """Summarise which process metrics lead which outcomes, labelled predictive."""
        lead = self.frame[self.frame["leading"]].sort_values("gain", ascending=False)
        rows = [
            ("grain", self.grain),
            ("trained on", f"{self.train_periods[0]}..{self.train_periods[-1]}"),
            ("tested on", f"{self.test_periods[0]}..{self.test_periods[-1]}"),
            ("leading pairs", f"{len(lead)} of {len(self.frame)}"),
        ]
        notes = ["Predictive, not causal: within-seller out-of-sample gain over seller means."]
        if lead.empty:
            notes.append("No process metric improves next-period predictions out of sample.")
        cols = ["process", "outcome", "gain", "gain_low", "gain_high", "coef"]
        return Summary(
            title="Leading indicators (within sellers): PREDICTIVE, NOT CAUSAL",
            rows=rows,
            tables=[("Process metrics that lead next period's outcome", lead[cols])]
            if len(lead)
            else [],
            notes=notes,
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Out-of-sample gain with intervals per (process, outcome); returns the Axes."""
        import matplotlib.pyplot as plt

        f = self.frame.sort_values("gain")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.22 * len(f))))
        y = np.arange(len(f))
        ax.errorbar(
            f["gain"],
            y,
            xerr=[f["gain"] - f["gain_low"], f["gain_high"] - f["gain"]],
            fmt="o",
            ms=3,
        )
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, [f"{p} -> {o}" for p, o in zip(f["process"], f["outcome"], strict=True)])
        ax.set_xlabel("out-of-sample gain over seller means (predictive, not causal)")
        return ax


def _one(
    d: pd.DataFrame, process: str, outcome: str, cut: int, alpha: float, n_boot: int, seed: int
) -> dict[str, Any] | None:
    x_col, y_col = f"x_{process}", f"y_{outcome}"
    sub = d[["rep_id", "t", x_col, y_col]].dropna()
    train, test = sub[sub["t"] < cut], sub[sub["t"] >= cut]
    means = train.groupby("rep_id")[[x_col, y_col]].mean()
    counts = train.groupby("rep_id").size()
    means = means[counts >= 2]  # a seller needs two training periods for a within estimate
    train = train[train["rep_id"].isin(means.index)]
    test = test[test["rep_id"].isin(means.index)]
    if len(train) < 10 or len(test) < 10:
        return None
    xt = train[x_col].to_numpy() - means.loc[train["rep_id"], x_col].to_numpy()
    yt = train[y_col].to_numpy() - means.loc[train["rep_id"], y_col].to_numpy()
    sxx = float(xt @ xt)
    if sxx <= 0:
        return None
    b = float(xt @ yt) / sxx
    u = yt - b * xt
    g = pd.Series(xt * u).groupby(train["rep_id"].to_numpy()).sum().to_numpy()
    n_cl = len(g)
    se = float(np.sqrt(n_cl / (n_cl - 1) * np.sum(g**2)) / sxx)
    z = stats.norm.ppf(1 - alpha / 2)
    xs = test[x_col].to_numpy() - means.loc[test["rep_id"], x_col].to_numpy()
    base = means.loc[test["rep_id"], y_col].to_numpy()
    y = test[y_col].to_numpy()
    e0, e1 = (y - base) ** 2, (y - base - b * xs) ** 2
    codes, reps = pd.factorize(test["rep_id"])
    s0, s1 = np.bincount(codes, e0), np.bincount(codes, e1)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(reps), len(reps))
        boots.append(1 - s1[i].sum() / s0[i].sum())
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    gain = 1 - s1.sum() / s0.sum()
    return {
        "process": process,
        "outcome": outcome,
        "coef": b,
        "se": se,
        "ci_low": b - z * se,
        "ci_high": b + z * se,
        "gain": float(gain),
        "gain_low": float(lo),
        "gain_high": float(hi),
        "n_reps": int(len(means)),
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "leading": bool(lo > 0),
    }


def leading_indicators(
    data: Dataset | pd.DataFrame,
    *,
    process: tuple[str, ...] = DEFAULT_PROCESS,
    outcomes: tuple[str, ...] = DEFAULT_TARGETS,
    grain: Literal["month", "quarter"] = "quarter",
    test_share: float = 0.4,
    alpha: float = 0.05,
    n_boot: int = 499,
    seed: int = 0,
) -> LeadingIndicators:
    """Which process KPIs predict next period's outcome KPIs within a seller, out of sample.

    Parameters
    ----------
    data : Dataset or DataFrame
        A dataset (a rep panel at ``grain`` is built) or such a panel (``panel(..., by="rep")``).
    process, outcomes : tuple of str
        KPI columns; each must be declared ``process`` / ``outcome`` in ``panel.KPI_KIND``.
        Default ``DEFAULT_PROCESS`` and ``DEFAULT_TARGETS`` (the outcomes predicted).
    grain : {"month", "quarter"}
    test_share : float
        Share of the latest periods held out.
    alpha, n_boot, seed
        Interval level 1 - alpha; bootstrap resamples of test sellers and seed.
    """
    wrong = [p for p in process if KPI_KIND.get(p) != "process"]
    wrong += [o for o in outcomes if KPI_KIND.get(o) != "outcome"]
    if wrong:
        raise ValueError(
            f"not declared with that kind in KPI_KIND (salesinsight.kpis): {wrong} (process: "
            f"{sorted(k for k, v in KPI_KIND.items() if v == 'process')}; outcome: "
            f"{sorted(k for k, v in KPI_KIND.items() if v == 'outcome')})"
        )
    df = data if isinstance(data, pd.DataFrame) else panel(data, grain=grain, by="rep")
    df = df[df["active"].astype(bool)].copy()
    # periods before the activity log (or the deal history) starts would pair "no activities" with
    # "no revenue" and fake predictive power: start where both are observed company-wide
    totals = df.groupby("period")[["activities", "opps_closed"]].sum()
    observed = totals[(totals > 0).all(axis=1)].index
    if len(observed):
        df = df[df["period"] >= min(observed)]
    periods = sorted(df["period"].unique())
    if len(periods) < 4:
        raise ValueError(f"leading indicators need at least 4 periods; found {len(periods)}")
    t_of = {p: i for i, p in enumerate(periods)}
    df["t"] = df["period"].map(t_of)
    for p in process:
        v = df[p].astype(float)
        df[f"x_{p}"] = np.log1p(v) if p in _LOG else v
    nxt = df[["rep_id", "t", *outcomes]].copy()
    nxt["t"] -= 1
    for o in outcomes:
        v = nxt[o].astype(float)
        nxt[f"y_{o}"] = np.log1p(v) if o in _LOG else v
        if o == "attainment":
            nxt[f"y_{o}"] = v.clip(upper=3.0)
    d = df.merge(nxt[["rep_id", "t", *[f"y_{o}" for o in outcomes]]], on=["rep_id", "t"])
    n_pairs = len(periods) - 1
    cut = n_pairs - max(1, round(test_share * n_pairs))
    rows = [
        r
        for p in process
        for o in outcomes
        if (r := _one(d, p, o, cut, alpha, n_boot, seed)) is not None
    ]
    return LeadingIndicators(
        frame=pd.DataFrame(rows),
        grain=grain,
        train_periods=tuple(periods[:cut]),
        test_periods=tuple(periods[cut:n_pairs]),
        alpha=alpha,
    )
