"""Actions per manager, each with its reason and numbers.

Whom to coach on what, who is ready to mentor, whose quota looks miscalibrated, whose review
scores need calibrating.

Pure rules over the result tables the package already computes (profiles, early warnings, forecast,
review leniency), so each rule can be checked by hand. Rules and thresholds:

- **deal coaching** (good process, poor conversion): activity at or above the median of sellers and
  a shrunk win rate in the bottom quarter with at least ``min_closed`` closed deals;
- **activity goal** (low activity): activity in the bottom tenth; the goal is a small weekly step,
  ``+step`` (default 15%) of the seller's own weekly rate, never above the median seller's;
- **ready to mentor**: attainment of at least ``mentor_attainment`` in each of the last two quarters,
  a win rate in the top 30%, at least a year of tenure; the best ``MENTORS_PER_MANAGER`` per manager;

Coaching rules skip sellers hired less than ``RAMP_DAYS`` ago (they are still ramping).
- **quota check**: this quarter's quota is more than ``quota_ratio`` times (or less than its
  inverse) what the seller's own history suggests for an even chance (forecast's suggested quota),
  *and* the median attainment of the last four quarters agrees (below about ``1 / quota_ratio``, or
  above about ``quota_ratio``), so one noisy forecast alone does not trigger it;
- **review calibration**: the manager's review scores are flagged lenient or severe at equal KPIs;
- **check in**: an early-warning drop alert against the seller's own history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.notes import Note
from salesinsight.results import ResultMixin, Summary

__all__ = ["ACTION_KINDS", "REASONS", "ActionPlan", "build_actions"]

ACTION_KINDS: tuple[str, ...] = (
    "deal coaching",
    "activity goal",
    "check in",
    "ready to mentor",
    "quota check",
    "review calibration",
)
COLUMNS = ("manager_id", "team_id", "rep_id", "action", "reason", "value", "benchmark")
WEEKS_PER_QUARTER = 13
RAMP_DAYS = 180  # sellers hired less than this long ago are left to their onboarding plan
MENTORS_PER_MANAGER = 2

#: the reason of each rule, an English sentence with the rule's numbers as named values (the
#: ``reason`` column holds a :class:`~salesinsight.notes.Note` of one of these, so the report can
#: say it in its own language with the numbers formatted for its locale).
REASON_DEAL_COACHING = (
    "busy but converting poorly: {activities:.0f} activities this quarter (top {activity_top:.0f}%), "
    "win rate {win_rate:.0%} [{win_low:.0%}, {win_high:.0%}] on {closed:.0f} closed deals (bottom "
    "{win_bottom:.0f}%): coach qualification and closing, not more prospecting"
)
REASON_ACTIVITY_GOAL = (
    "low activity: {per_week:.1f} activities a week (bottom {activity_bottom:.0f}%; the median "
    "seller does {median_per_week:.1f}): set a weekly goal of {goal:.0f} and review it every week"
)
REASON_MENTOR = (
    "at least {attainment:.0%} of quota in each of the last two quarters, win rate {win_rate:.0%} "
    "(top {win_top:.0f}%), {years:.1f} years in the job: pair with a struggling seller"
)
_QUOTA = (
    "quota looks too {word}: {quota:,.0f} this quarter against {suggested:,.0f} that the seller's "
    "own history gives an even chance of reaching ({ratio:.1f}x), and a median attainment of "
    "{median:.0%} over the last four quarters"
)
REASON_QUOTA_HIGH = _QUOTA.replace("{word}", "high")
REASON_QUOTA_LOW = _QUOTA.replace("{word}", "low")
_REVIEW = (
    "review scores {points:.1f} points {word} peers' at equal KPIs ([{low:+.1f}, {high:+.1f}], "
    "{n_reviews} reviews): calibrate with the other managers before ratings are final"
)
REASON_REVIEW_LENIENT = _REVIEW.replace("{word}", "above")
REASON_REVIEW_SEVERE = _REVIEW.replace("{word}", "below")
#: ``component`` is a drop test's component (``activities``, ``opps_created``, ``win_rate``);
#: ``change`` the relative change (points for the win rate), ``observed`` and ``expected`` counts
#: (shares for the win rate).
REASON_CHECK_IN = "drop against own history: {message}"
#: every reason template by action kind.
REASONS: dict[str, tuple[str, ...]] = {
    "deal coaching": (REASON_DEAL_COACHING,),
    "activity goal": (REASON_ACTIVITY_GOAL,),
    "check in": (REASON_CHECK_IN,),
    "ready to mentor": (REASON_MENTOR,),
    "quota check": (REASON_QUOTA_HIGH, REASON_QUOTA_LOW),
    "review calibration": (REASON_REVIEW_LENIENT, REASON_REVIEW_SEVERE),
}


@dataclass(frozen=True, eq=False)
class ActionPlan(ResultMixin):
    """The action list, one row per (manager, rep, action).

    Attributes
    ----------
    frame : DataFrame
        ``COLUMNS``: the manager who acts, the team, the rep (the manager themself for review
        calibration), the action (one of ``ACTION_KINDS``), the reason in words with its numbers,
        and the headline number and its benchmark. A reason is a :class:`~salesinsight.notes.Note`
        (an English ``str`` that keeps its template, one of ``REASONS``, and its numbers).
    """

    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the action table (a copy)."""
        return self.frame.copy()

    def for_manager(self, manager_id: str) -> pd.DataFrame:
        """Actions of one manager."""
        return self.frame[self.frame["manager_id"] == manager_id].copy()

    def _summary(self) -> Summary:
        """Summarise the counts per action and the managers with the most to do."""
        f = self.frame
        if f.empty:
            return Summary("Actions: none of the rules fires this quarter.")
        counts = f["action"].value_counts()
        busiest = f["manager_id"].value_counts().head(3)
        rows: list[tuple[str, Any]] = [(str(k), int(n)) for k, n in counts.items()]
        rows.append(("most", ", ".join(f"{m} ({n})" for m, n in busiest.items())))
        return Summary(
            title=f"Actions for {f['manager_id'].nunique()} managers",
            rows=rows,
            tables=[("Actions", f)],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Plot the number of actions by kind; return the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 2.5))
        counts = self.frame["action"].value_counts().reindex(ACTION_KINDS, fill_value=0)
        ax.barh(list(counts.index), counts.to_numpy())
        ax.set_xlabel("actions")
        return ax


def _row(r: Any, action: str, reason: Note, value: float, benchmark: float) -> dict[str, Any]:
    return {
        "manager_id": r.manager_id,
        "team_id": r.team_id,
        "rep_id": r.rep_id,
        "action": action,
        "reason": reason,
        "value": float(value),
        "benchmark": float(benchmark),
    }


def _coaching(
    p: pd.DataFrame, tenure: pd.Series, min_closed: int, step: float
) -> list[dict[str, Any]]:
    rows = []
    med_act = float(p["activity"].median())
    for r in p.itertuples():
        if tenure.get(r.rep_id, 0) < RAMP_DAYS:
            continue  # still ramping: coached by the onboarding plan, not by these rules
        if r.activity_pctl >= 50 and r.win_rate_pctl <= 25 and (r.win_rate_n or 0) >= min_closed:
            rows.append(
                _row(
                    r,
                    "deal coaching",
                    Note(
                        REASON_DEAL_COACHING,
                        activities=float(r.activity_raw),
                        activity_top=float(100 - r.activity_pctl),
                        win_rate=float(r.win_rate),
                        win_low=float(r.win_rate_low),
                        win_high=float(r.win_rate_high),
                        closed=float(r.win_rate_n),
                        win_bottom=float(r.win_rate_pctl),
                    ),
                    r.win_rate,
                    float(p["win_rate"].median()),
                )
            )
        elif r.activity_pctl <= 10 and np.isfinite(r.activity_raw):
            now = r.activity_raw / WEEKS_PER_QUARTER
            target = min(now * (1 + step), med_act / WEEKS_PER_QUARTER)
            target = max(target, now + 1)  # at least one more activity a week
            rows.append(
                _row(
                    r,
                    "activity goal",
                    Note(
                        REASON_ACTIVITY_GOAL,
                        per_week=float(now),
                        activity_bottom=float(r.activity_pctl),
                        median_per_week=float(med_act / WEEKS_PER_QUARTER),
                        goal=float(np.ceil(target)),
                    ),
                    now,
                    float(np.ceil(target)),
                )
            )
    return rows


def _mentors(
    p: pd.DataFrame, history: pd.DataFrame, tenure: pd.Series, mentor_attainment: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    last = history.sort_values("period").groupby("rep_id").tail(2)
    both = last.groupby("rep_id")["attainment"].agg(["min", "count"])
    for r in p.itertuples():
        if r.rep_id not in both.index or tenure.get(r.rep_id, 0) < 365:
            continue
        lo, n = both.loc[r.rep_id, "min"], both.loc[r.rep_id, "count"]
        if n == 2 and lo >= mentor_attainment and r.win_rate_pctl >= 70:
            rows.append(
                _row(
                    r,
                    "ready to mentor",
                    Note(
                        REASON_MENTOR,
                        attainment=float(lo),
                        win_rate=float(r.win_rate),
                        win_top=float(100 - r.win_rate_pctl),
                        years=float(tenure[r.rep_id] / 365),
                    ),
                    lo,
                    mentor_attainment,
                )
            )
    # the strongest few per manager: a manager can only pair so many at once
    best = _frame(rows).sort_values("value", ascending=False)
    best = best.groupby("manager_id", sort=False).head(MENTORS_PER_MANAGER)
    return best.to_dict("records")


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build the frame of rows, keeping the ``reason`` cells as :class:`Note` objects.

    Pandas would turn a column of ``str`` subclasses into plain strings.
    """
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["reason"] = pd.Series([r["reason"] for r in rows], index=frame.index, dtype=object)
    return frame


def _quota(
    fc: pd.DataFrame, history: pd.DataFrame | None, quota_ratio: float
) -> list[dict[str, Any]]:
    """Quota far from what the seller's history supports, and missed (or beaten) persistently."""
    rows: list[dict[str, Any]] = []
    if history is None:
        return rows
    recent = history.sort_values("period").groupby("rep_id").tail(4)
    stats = recent.groupby("rep_id")["attainment"].agg(["median", "count"])
    for r in fc.itertuples():
        q, s = r.quota, r.suggested_quota
        if not (np.isfinite(q) and np.isfinite(s)) or q <= 0 or s <= 0:
            continue
        if r.rep_id not in stats.index or stats.loc[r.rep_id, "count"] < 4:
            continue
        ratio, med = q / s, stats.loc[r.rep_id, "median"]
        high = ratio > quota_ratio and med < 1 / quota_ratio + 0.05
        low = ratio < 1 / quota_ratio and med > quota_ratio - 0.1
        if high or low:
            rows.append(
                _row(
                    r,
                    "quota check",
                    Note(
                        REASON_QUOTA_HIGH if high else REASON_QUOTA_LOW,
                        quota=float(q),
                        suggested=float(s),
                        ratio=float(ratio),
                        median=float(med),
                    ),
                    q,
                    s,
                )
            )
    return rows


def _reviewers(leniency: pd.DataFrame, teams: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    team_of = teams.drop_duplicates("manager_id").set_index("manager_id")["team_id"]
    for r in leniency[leniency["flag"] != "in line"].itertuples():
        rows.append(
            {
                "manager_id": r.reviewer_id,
                "team_id": team_of.get(r.reviewer_id, ""),
                "rep_id": r.reviewer_id,
                "action": "review calibration",
                "reason": Note(
                    REASON_REVIEW_LENIENT if r.leniency > 0 else REASON_REVIEW_SEVERE,
                    points=float(abs(r.leniency)),
                    low=float(r.ci_low),
                    high=float(r.ci_high),
                    n_reviews=int(r.n_reviews),
                ),
                "value": float(r.leniency),
                "benchmark": 0.0,
            }
        )
    return rows


def _alerts(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    def values(r: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"message": r.message}
        for k in ("component", "change", "observed", "expected"):
            if hasattr(r, k):
                out[k] = getattr(r, k)
        return out

    return [
        _row(r, "check in", Note(REASON_CHECK_IN, **values(r)), np.nan, np.nan)
        for r in alerts.itertuples()
    ]


def build_actions(
    *,
    reps: pd.DataFrame,
    profiles: pd.DataFrame | None = None,
    attainment_history: pd.DataFrame | None = None,
    forecast: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    leniency: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    min_closed: int = 10,
    activity_step: float = 0.15,
    mentor_attainment: float = 1.2,
    quota_ratio: float = 2.0,
) -> ActionPlan:
    """Apply every rule (module docstring) and return the actions, grouped by manager.

    Parameters
    ----------
    reps : DataFrame
        The ``reps`` table (``rep_id``, ``team_id``, ``hire_date``, ``manager_id``, ``role``).
    profiles : DataFrame, optional
        ``Profiles.to_frame()`` of the quarter.
    attainment_history : DataFrame, optional
        Rep-quarter ``rep_id``, ``period``, ``attainment`` (mentoring readiness uses the last two
        quarters, the quota check the last four).
    forecast : DataFrame, optional
        Rows with ``rep_id``, ``team_id``, ``quota`` (this quarter) and ``suggested_quota``.
    alerts : DataFrame, optional
        ``EarlyWarning.alerts`` (``rep_id``, ``team_id``, ``message``).
    leniency : DataFrame, optional
        ``Leniency.to_frame()``.
    as_of : Timestamp, optional
        Date for tenure (the quarter's end). Without it every seller counts as new: no coaching or
        mentoring lines (today's date is never used, so runs are reproducible).
    min_closed, activity_step, mentor_attainment, quota_ratio
        Rule thresholds (module docstring).
    """
    r = reps.copy()
    manager = r["manager_id"].where(r["manager_id"].notna() & (r["manager_id"] != ""), None)
    if "role" in r.columns:
        heads = r[r["role"].fillna("").str.lower() == "manager"].drop_duplicates("team_id")
        manager = manager.fillna(r["team_id"].map(heads.set_index("team_id")["rep_id"]))
    r["manager_id"] = manager.fillna("(team " + r["team_id"].astype(str) + ")")
    who = r.set_index("rep_id")[["manager_id"]]

    def attach(df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=["manager_id"], errors="ignore").join(who, on="rep_id")

    sellers = set(
        r.loc[r.get("role", pd.Series("", index=r.index)).fillna("") != "manager", "rep_id"]
    )
    rows: list[dict[str, Any]] = []
    hired = pd.to_datetime(r.set_index("rep_id")["hire_date"])
    tenure = (as_of - hired).dt.days if as_of is not None else pd.Series(0, index=hired.index)
    if profiles is not None and len(profiles):
        p = attach(profiles[profiles["rep_id"].isin(sellers)])
        rows += _coaching(p, tenure, min_closed, activity_step)
        if attainment_history is not None and as_of is not None:
            rows += _mentors(p, attainment_history, tenure, mentor_attainment)
    if forecast is not None and len(forecast):
        fc = attach(forecast[forecast["rep_id"].isin(sellers)])
        rows += _quota(fc, attainment_history, quota_ratio)
    if alerts is not None and len(alerts):
        rows += _alerts(attach(alerts))
    if leniency is not None and len(leniency):
        rows += _reviewers(leniency, r[["manager_id", "team_id"]])
    frame = _frame(rows)
    order = {k: i for i, k in enumerate(ACTION_KINDS)}
    frame = frame.assign(_k=frame["action"].map(order)).sort_values(
        ["manager_id", "_k", "rep_id"], kind="stable"
    )
    return ActionPlan(frame.drop(columns="_k").reset_index(drop=True))
