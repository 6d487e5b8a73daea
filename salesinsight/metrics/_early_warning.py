"""Early warning (智能预警): mid-quarter chance of reaching quota, drop alerts and attrition risk.

Three parts, all as of a date inside the current quarter (``as_of``):

1. **Chance of reaching quota.** Revenue won so far in the quarter, plus a Monte Carlo of what is still to
   come: each opportunity open at ``as_of`` is won before quarter end with probability
   ``pi x r_i`` (``pi`` = the company share of opportunities open at the same day of the quarter that were
   won by that quarter's end, over the previous quarters; ``r_i`` = the rep's empirical-Bayes shrunk win
   rate over the company win rate, so strong closers convert more), for its recorded amount; plus new
   business created after ``as_of`` and won within the quarter: a Poisson count with the rep's
   gamma-Poisson shrunk rate per quarter at the same phase, each deal an amount resampled from the rep's
   own won deals (company deals when the rep has fewer than five).
2. **Drop alerts** for activities, opportunities created and win rate, quarter-to-date versus the rep's
   own same-phase windows of the previous quarters, adjusted for the company-wide change (seasonality):
   counts by a conditional binomial (rate-ratio) test with a quasi-Poisson dispersion estimated from
   the reps' past windows; win rate by an exact conditional test (Fisher's noncentral hypergeometric,
   odds ratio fixed at the company-wide odds ratio current vs past).
   One-sided p-values for a drop; Benjamini-Hochberg across all reps and components (statsmodels
   ``multipletests``). A company-wide drop is absorbed by the adjustment and is not a rep alert.
3. **Attrition risk**: logistic regression (scikit-learn, standardised, median-imputed) of "leaves in the
   next quarter" on rep-quarter features, evaluated on a time split (train on earlier quarters, test on
   the latest ``test_quarters``) with AUC and Brier score (and the Brier of always predicting the
   training base rate), then refitted on all labelled quarters to score the last complete quarter.

Each part lives in its own module: :mod:`salesinsight.metrics.quota_chance`,
:mod:`salesinsight.metrics.drop_alerts` and :mod:`salesinsight.metrics.attrition` (same-phase windows in
:mod:`salesinsight.metrics._phase_windows`). This module holds the entry point :func:`early_warning` and
its result :class:`EarlyWarning`, and re-exports :func:`drop_tests`, :func:`attrition_model` and
``ATTRITION_FEATURES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.metrics._phase_windows import _windows
from salesinsight.metrics.attrition import ATTRITION_FEATURES, _attrition_features, attrition_model
from salesinsight.metrics.drop_alerts import _window_counts, drop_tests
from salesinsight.metrics.quota_chance import _quota_outlook
from salesinsight.results import ResultMixin, Summary

__all__ = [
    "ATTRITION_FEATURES",
    "EarlyWarning",
    "attrition_model",
    "drop_tests",
    "early_warning",
]


@dataclass(frozen=True)
class EarlyWarning(ResultMixin):
    """Mid-quarter early warning for every active rep.

    Attributes
    ----------
    reps : DataFrame
        One row per active rep (see :meth:`to_frame`).
    alerts : DataFrame
        Significant drops after Benjamini-Hochberg: ``rep_id, team_id, component, observed, expected,
        change, p_value, p_adj, message``.
    tests : DataFrame
        Every test run (same columns plus ``alert``), for audit.
    attrition : mapping
        Evaluation of the attrition model on the time split: ``auc, brier, brier_base_rate, n_train,
        n_test, positives_train, positives_test, train_quarters, test_quarters, note``.
    as_of : date
    quarter : str
    spec : mapping
    """

    reps: pd.DataFrame
    alerts: pd.DataFrame
    tests: pd.DataFrame
    attrition: Mapping[str, Any]
    as_of: dt.date
    quarter: str
    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per active rep (a copy).

        Columns ``rep_id, team_id, quarter, revenue_to_date, quota, open_pipeline, n_open,
        expected_revenue, revenue_low, revenue_high, p_reach_quota, n_alerts, alerts,
        p_attrition``.
        """
        return self.reps.copy()

    def _summary(self) -> Summary:
        """Summarise headline counts, the alerts and the attrition model's evaluation."""
        r = self.reps
        rows: list[tuple[str, Any]] = [
            ("active reps", len(r)),
            ("median P(quota)", f"{r['p_reach_quota'].median():.0%}"),
            ("reps below 20%", int((r["p_reach_quota"] < 0.2).sum())),
            (
                "drop alerts",
                f"{len(self.alerts)} of {len(self.tests)} tests (Benjamini-Hochberg, FDR "
                f"{self.spec.get('fdr', 0.1):.0%})",
            ),
        ]
        ev = self.attrition
        if ev.get("auc") is not None and np.isfinite(ev.get("auc", np.nan)):
            rows.append(
                (
                    "attrition model",
                    f"logistic, time split, test on {', '.join(ev['test_quarters'])}: AUC "
                    f"{ev['auc']:.2f}, Brier {ev['brier']:.3f} (base-rate Brier "
                    f"{ev['brier_base_rate']:.3f}), {ev['positives_test']} leavers in "
                    f"{ev['n_test']} test rep-quarters",
                )
            )
        else:
            rows.append(("attrition model", str(ev.get("note", "not fitted"))))
        top = self.alerts.sort_values("p_adj").head(10)
        tables = (
            [("Drop alerts (10 most significant)", top[["rep_id", "message"]])] if len(top) else []
        )
        return Summary(
            title=f"Early warning for {self.quarter} as of {self.as_of}", rows=rows, tables=tables
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Chance of reaching quota per rep (sorted), reps with alerts highlighted, on ``ax``.

        Returns the Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        r = self.reps.sort_values("p_reach_quota").reset_index(drop=True)
        colors = np.where(r["n_alerts"] > 0, "tab:red", "tab:blue")
        ax.bar(np.arange(len(r)), r["p_reach_quota"], color=colors)
        ax.axhline(0.5, color="black", lw=0.8)
        ax.set_ylim(0, 1)
        ax.set_xlabel("reps (red: at least one drop alert)")
        ax.set_ylabel("P(reach quota)")
        ax.set_title(f"{self.quarter} as of {self.as_of}")
        return ax


def early_warning(
    data: Any,
    *,
    as_of: str | dt.date = "2026-05-15",
    fdr: float = 0.1,
    n_history: int = 4,
    min_expected: float = 5.0,
    min_closed: int = 5,
    interval: float = 0.9,
    test_quarters: int = 2,
    n_draws: int = 4000,
    seed: int = 0,
    fiscal_year_start_month: int = 1,
) -> EarlyWarning:
    """Mid-quarter early warning for every rep employed on ``as_of``.

    Parameters
    ----------
    data : Dataset
        Loaded data folder (needs ``reps`` and ``opportunities``; ``activities`` and ``quotas`` switch on
        activity alerts and quota probabilities).
    as_of : date or ISO string
        The day of the warning; only information up to this day is used for the current quarter.
    fdr : float
        Benjamini-Hochberg false discovery rate across all reps and components.
    n_history : int
        Number of previous quarters whose same-phase windows form each rep's own baseline.
    min_expected, min_closed : float, int
        Minimum expected count / closed opportunities for a test to be run.
    interval : float
        Mass of the revenue interval.
    test_quarters : int
        Latest labelled quarters held out to evaluate the attrition model.
    n_draws, seed : int
        Monte Carlo size and seed.

    Returns
    -------
    EarlyWarning
    """
    from salesinsight.calendar import to_date

    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be in (0, 1), got {fdr}")
    as_of_d = to_date(as_of)
    m = fiscal_year_start_month
    reps = _reps(data)
    label, w = _windows(as_of_d, n_history, m)
    active = reps[
        (reps["hire_date"] <= as_of_d)
        & (reps["termination_date"].isna() | (reps["termination_date"] > as_of_d))
    ].sort_values("rep_id")
    tests, phis = _drop_tests(data, w, reps, active, fdr, min_expected, min_closed)
    alerts = tests[tests["alert"].astype(bool)].drop(columns="alert").reset_index(drop=True)
    outlook = _quota_outlook(data, w, active, n_draws=n_draws, seed=seed, interval=interval)
    last_complete = w.iloc[1]["quarter"]
    ev, p_attr = _attrition(data, reps, active, m, label, last_complete, test_quarters, seed)
    out = _rep_table(active, label, outlook, alerts, p_attr)
    spec = {
        "as_of": as_of_d.isoformat(),
        "fdr": fdr,
        "n_history": n_history,
        "min_expected": min_expected,
        "min_closed": min_closed,
        "interval": interval,
        "test_quarters": test_quarters,
        "n_draws": n_draws,
        "seed": seed,
        "fiscal_year_start_month": m,
        "dispersion": phis,
        "pipeline_conversion": outlook.attrs.get("pi"),
        "attrition_score_quarter": last_complete,
        "windows": [
            (int(r.window), r.quarter, r.s.isoformat(), r.e.isoformat()) for r in w.itertuples()
        ],
    }
    return EarlyWarning(
        reps=out,
        alerts=alerts,
        tests=tests,
        attrition=ev,
        as_of=as_of_d,
        quarter=label,
        spec=spec,
    )


def _reps(data: Any) -> pd.DataFrame:
    """Check the needed tables; return the reps with their hire and termination dates as dates."""
    for t in ("reps", "opportunities"):
        if not data.has(t):
            raise ValueError(f"early_warning needs the {t!r} table, which the data folder lacks")
    reps = data.sql("SELECT rep_id, team_id, hire_date, termination_date FROM reps")
    for c in ("hire_date", "termination_date"):
        reps[c] = pd.to_datetime(reps[c]).dt.date
    return reps


def _drop_tests(
    data: Any,
    w: pd.DataFrame,
    reps: pd.DataFrame,
    active: pd.DataFrame,
    fdr: float,
    min_expected: float,
    min_closed: int,
) -> tuple[pd.DataFrame, Any]:
    """Drop tests of every active rep's components (with ``team_id``) and the dispersions."""
    counts = _window_counts(data, w, reps)
    comps = (
        ("activities", "opps_created", "win_rate")
        if data.has("activities")
        else (
            "opps_created",
            "win_rate",
        )
    )
    counts = counts[counts["rep_id"].isin(set(active["rep_id"]))]
    tests, phis = drop_tests(
        counts, fdr=fdr, min_expected=min_expected, min_closed=min_closed, components=comps
    )
    team = active.set_index("rep_id")["team_id"]
    tests.insert(1, "team_id", tests["rep_id"].map(team))
    return tests, phis


def _attrition(
    data: Any,
    reps: pd.DataFrame,
    active: pd.DataFrame,
    m: int,
    label: str,
    last_complete: str,
    test_quarters: int,
    seed: int,
) -> tuple[Any, pd.Series]:
    """Evaluate the attrition model; score the active reps on the last complete quarter."""
    feats = _attrition_features(data, reps, m, label)
    model, ev = attrition_model(feats, test_quarters=test_quarters, seed=seed)
    score = feats[(feats["period"] == last_complete) & feats["rep_id"].isin(set(active["rep_id"]))]
    p_attr = pd.Series(dtype=float)
    if model is not None and len(score):
        p_attr = pd.Series(
            model.predict_proba(score[list(ATTRITION_FEATURES)].to_numpy(float))[:, 1],
            index=score["rep_id"].to_numpy(),
        )
    return ev, p_attr


def _rep_table(
    active: pd.DataFrame,
    label: str,
    outlook: pd.DataFrame,
    alerts: pd.DataFrame,
    p_attr: pd.Series,
) -> pd.DataFrame:
    """One row per active rep: quota outlook, number and text of alerts, attrition probability."""
    out = active[["rep_id", "team_id"]].reset_index(drop=True)
    out.insert(2, "quarter", label)
    out = out.merge(outlook, on="rep_id", how="left")
    n_al = alerts.groupby("rep_id").size()
    out["n_alerts"] = out["rep_id"].map(n_al).fillna(0).astype(int)
    msgs = alerts.groupby("rep_id")["message"].agg("; ".join)
    out["alerts"] = [str(msgs.get(r, "")) for r in out["rep_id"]]
    out["p_attrition"] = out["rep_id"].map(p_attr).astype(float)
    return out
