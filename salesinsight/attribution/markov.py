"""Activity attribution: which activity types go with opportunities being won.

Two associational views side by side:

* a first-order Markov chain over each closed opportunity's ordered activity types, states
  ``start -> types -> won | lost`` (absorbing), solved in closed form with the fundamental matrix
  ``N = (I - Q)^-1`` and absorption probabilities ``B = N R``; the removal effect of a type is
  ``1 - P(win | type removed) / P(win)``, its inbound transitions redirected to ``lost``;
* a linear probability model of win (0/1) on the opportunity's activity counts per type with rep
  fixed effects, standard errors clustered by rep (pyfixest ``feols``).

Paths and counts are built in DuckDB SQL (window functions); activities are never loaded whole.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.inference import t_critical, wald_p_values

__all__ = [
    "ActivityAttribution",
    "absorbing_chain",
    "activity_attribution",
    "removal_effects",
    "transition_counts",
]

START, WON, LOST = "start", "won", "lost"
_SAFE = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------------------------------
# SQL: transitions and per-opportunity counts
# --------------------------------------------------------------------------------------------------


def _con(data: Any) -> Any:
    return data.con if hasattr(data, "con") else data


def _closed_opps_sql() -> str:
    return """
        SELECT opp_id, rep_id, status, close_date
        FROM opportunities
        WHERE status IN ('won', 'lost') AND close_date IS NOT NULL
          AND ($start IS NULL OR close_date >= CAST($start AS DATE))
          AND ($end IS NULL OR close_date <= CAST($end AS DATE))
    """


def _acts_sql(types: Sequence[str] | None, opps: str) -> str:
    type_filter = "" if types is None else "AND list_contains(CAST($types AS VARCHAR[]), a.type)"
    return f"""
        SELECT a.opp_id, a.type, a.activity_date, a.activity_id
        FROM activities a JOIN {opps} o ON a.opp_id = o.opp_id
        WHERE a.activity_date <= o.close_date {type_filter}
    """


def _params(start: Any, end: Any, types: Sequence[str] | None) -> dict[str, Any]:
    p: dict[str, Any] = {
        "start": None if start is None else str(pd.Timestamp(start).date()),
        "end": None if end is None else str(pd.Timestamp(end).date()),
    }
    if types is not None:
        p["types"] = list(types)
    return p


@contextmanager
def _staged(
    con: Any, start: Any, end: Any, types: Sequence[str] | None
) -> Iterator[tuple[str, str]]:
    """Create temporary tables of the closed opportunities and their activities, dropped on exit.

    One scan of each view. Yields their names (opportunities, activities).
    """
    tag = uuid.uuid4().hex[:12]
    o, a = f"_si_attr_o_{tag}", f"_si_attr_a_{tag}"
    try:
        con.execute(f"CREATE TEMP TABLE {o} AS {_closed_opps_sql()}", _params(start, end, None))
        p = {"types": list(types)} if types is not None else None
        con.execute(f"CREATE TEMP TABLE {a} AS {_acts_sql(types, o)}", p)
        yield o, a
    finally:
        con.execute(f"DROP TABLE IF EXISTS {a}")
        con.execute(f"DROP TABLE IF EXISTS {o}")


def _transitions_sql(o: str, a: str) -> str:
    return f"""
        WITH s AS (
            SELECT opp_id, type,
                   LAG(type) OVER w AS prev_type,
                   LEAD(type) OVER w AS next_type
            FROM {a}
            WINDOW w AS (PARTITION BY opp_id ORDER BY activity_date, activity_id)
        ),
        t AS (
            SELECT COALESCE(prev_type, '{START}') AS from_state, type AS to_state FROM s
            UNION ALL
            SELECT s.type, o.status FROM s JOIN {o} o USING (opp_id) WHERE s.next_type IS NULL
            UNION ALL
            SELECT '{START}', o.status FROM {o} o
            WHERE NOT EXISTS (SELECT 1 FROM {a} a WHERE a.opp_id = o.opp_id)
        )
        SELECT from_state, to_state, COUNT(*)::BIGINT AS n
        FROM t GROUP BY from_state, to_state ORDER BY from_state, to_state
    """


def transition_counts(
    data: Any,
    *,
    start: str | date | None = None,
    end: str | date | None = None,
    types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Transition counts between states over closed opportunities' ordered activity paths.

    Each closed opportunity (``status`` won or lost, ``close_date`` in [start, end]) contributes
    the path ``start -> type_1 -> ... -> type_n -> won|lost`` of its activities dated on or before
    its close date, ordered by ``activity_date`` then ``activity_id``; an opportunity without
    activities contributes ``start -> won|lost``.

    Parameters
    ----------
    data : Dataset or duckdb connection
        Must have ``opportunities`` and ``activities`` views (contract columns).
    start, end : date-like, optional
        Inclusive bounds on the close date.
    types : sequence of str, optional
        Activity types kept in the paths (others are skipped); default all.

    Returns
    -------
    DataFrame
        Columns ``from_state``, ``to_state``, ``n`` (int), sorted.
    """
    con = _con(data)
    with _staged(con, start, end, types) as (o, a):
        return con.execute(_transitions_sql(o, a)).df()


def _opp_counts_sql(types: Sequence[str], o: str, a: str) -> str:
    """One row per closed opportunity: opp_id, rep_id, won (0/1), n_<type> counts."""
    cols = ",\n".join(
        f"COUNT(a.opp_id) FILTER (WHERE a.type = '{t}')::DOUBLE AS n_{t}" for t in types
    )
    return f"""
        SELECT o.opp_id, o.rep_id, CAST(o.status = 'won' AS INTEGER) AS won,
               {cols}
        FROM {o} o LEFT JOIN {a} a ON a.opp_id = o.opp_id
        GROUP BY o.opp_id, o.rep_id, o.status
        ORDER BY o.opp_id
    """


# --------------------------------------------------------------------------------------------------
# Absorbing chain (closed form)
# --------------------------------------------------------------------------------------------------


def absorbing_chain(
    counts: pd.DataFrame,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Transition probabilities of the absorbing chain from transition counts.

    Parameters
    ----------
    counts : DataFrame
        Columns ``from_state``, ``to_state``, ``n``; absorbing states are ``won`` and ``lost``,
        the initial state is ``start``.

    Returns
    -------
    states : list of str
        Transient states, ``start`` first then the activity types sorted.
    Q : ndarray of shape (t, t)
        Transient-to-transient probabilities.
    R : ndarray of shape (t, 2)
        Transient-to-absorbing probabilities, columns (won, lost).
    """
    bad = set(counts["from_state"]) & {WON, LOST}
    if bad:
        raise ValueError(f"absorbing states {sorted(bad)} cannot have outgoing transitions")
    types = sorted((set(counts["from_state"]) | set(counts["to_state"])) - {START, WON, LOST})
    states = [START, *types]
    idx = {s: i for i, s in enumerate(states)}
    t = len(states)
    C = np.zeros((t, t + 2))
    for f, to, n in counts[["from_state", "to_state", "n"]].itertuples(index=False):
        if to == START:
            raise ValueError("no transition may enter 'start'")
        j = t if to == WON else t + 1 if to == LOST else idx[to]
        C[idx[f], j] += float(n)
    out = C.sum(axis=1)
    if np.any(out == 0):
        dead = [states[i] for i in np.flatnonzero(out == 0)]
        raise ValueError(f"state(s) {dead} have no outgoing transitions")
    P = C / out[:, None]
    return states, P[:, :t], P[:, t:]


def _absorb(Q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental matrix ``N = (I - Q)^-1`` and absorption probabilities ``B = N R``."""
    N = np.linalg.solve(np.eye(len(Q)) - Q, np.eye(len(Q)))
    return N, N @ R


def removal_effects(counts: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """Win probability and removal effect of each activity type, in closed form.

    Parameters
    ----------
    counts : DataFrame
        Transition counts (``from_state``, ``to_state``, ``n``), e.g. from `transition_counts`.

    Returns
    -------
    p_win : float
        ``B[start, won]`` of the full chain.
    frame : DataFrame
        One row per type: ``type``, ``expected_visits`` (``N[start, type]``: mean visits per
        opportunity), ``p_win_removed``, ``removal_effect`` (``1 - p_win_removed / p_win``),
        ``removal_share`` (removal effects normalised to sum to 1).
    """
    states, Q, R = absorbing_chain(counts)
    N, B = _absorb(Q, R)
    p_win = float(B[0, 0])
    rows = []
    for k in range(1, len(states)):
        keep = [i for i in range(len(states)) if i != k]
        Qk = Q[np.ix_(keep, keep)]
        Rk = R[keep].copy()
        Rk[:, 1] += Q[keep, k]  # inbound mass of the removed type goes to 'lost'
        _, Bk = _absorb(Qk, Rk)
        p_k = float(Bk[0, 0])
        rows.append(
            {
                "type": states[k],
                "expected_visits": float(N[0, k]),
                "p_win_removed": p_k,
                "removal_effect": 1.0 - p_k / p_win if p_win > 0 else np.nan,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["type", "expected_visits", "p_win_removed", "removal_effect"]
    )
    total = frame["removal_effect"].sum()
    frame["removal_share"] = frame["removal_effect"] / total if total > 0 else np.nan
    return p_win, frame


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ActivityAttribution:
    """Markov removal effects and a fixed-effects regression of win on activity counts.

    Attributes
    ----------
    p_win : float
        Win probability of the fitted chain (equals the share of closed opportunities won).
    frame : DataFrame
        One row per activity type (see `to_frame`).
    transitions : DataFrame
        ``from_state``, ``to_state``, ``n``, ``prob``.
    n_opps, n_won, n_reps : int
        Closed opportunities, won ones, reps (clusters) in the regression.
    regression_n_obs : int
        Opportunities used by the regression (singleton rep fixed effects are dropped).
    start, end : str or None
        Close-date window.
    spec : dict
        Arguments and library versions.
    notes : tuple of str
    """

    p_win: float
    frame: pd.DataFrame
    transitions: pd.DataFrame
    n_opps: int
    n_won: int
    n_reps: int
    regression_n_obs: int
    start: str | None
    end: str | None
    spec: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per activity type.

        Columns: ``type``, ``mean_count`` (activities per closed opportunity), ``expected_visits``
        (chain), ``p_win_removed``, ``removal_effect``, ``removal_share``, ``coef`` (change in win
        probability per extra activity, rep fixed effects), ``se`` (clustered by rep), ``ci_low``,
        ``ci_high`` (95%), ``p_value``, ``rank_removal``, ``rank_coef`` (1 = largest).
        """
        return self.frame.copy()

    def summary(self) -> str:
        """Words: rankings by both methods and the associational caveat."""
        f = self.frame
        by_rem = f.sort_values("removal_effect", ascending=False)
        by_coef = f.sort_values("coef", ascending=False)
        win = f"{self.start or 'start'} to {self.end or 'end'}"
        lines = [
            f"Activity attribution over {self.n_opps} closed opportunities ({self.n_won} won, "
            f"P(win) = {self.p_win:.3f}), close dates {win}.",
            "Markov removal effects (share of wins lost if the type were removed): "
            + ", ".join(f"{r.type} {r.removal_effect:.3f}" for r in by_rem.itertuples())
            + ".",
            f"Win ~ activity counts + rep fixed effects ({self.n_reps} reps, clustered by rep), "
            "probability points per extra activity: "
            + ", ".join(
                f"{r.type} {r.coef:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
                for r in by_coef.itertuples()
            )
            + ".",
            "Caveat: both are associational. Removal effects grow with how often a type occurs "
            "on paths, not only with its effect; the regression compares opportunities of the "
            "same rep, but activity counts also follow deal length and the rep's judgement about "
            "which deals are promising. Neither is a causal effect of doing more of an activity.",
        ]
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax: Any = None, kind: str = "both") -> Any:
        """Plot removal shares, coefficient intervals, or both.

        Bars of removal shares (``kind="removal"``), coefficient intervals
        (``kind="regression"``), or both on twin axes (``"both"``). Returns the Axes.
        """
        if kind not in ("removal", "regression", "both"):
            raise ValueError(f"kind must be 'removal', 'regression' or 'both', got {kind!r}")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 4))
        f = self.frame.sort_values("removal_effect", ascending=True).reset_index(drop=True)
        y = np.arange(len(f))
        if kind in ("removal", "both"):
            ax.barh(y, f["removal_share"], color="tab:blue", alpha=0.6, label="removal share")
            ax.set_xlabel("Markov removal share")
        if kind in ("regression", "both"):
            rax = ax.twiny() if kind == "both" else ax
            err = np.vstack([f["coef"] - f["ci_low"], f["ci_high"] - f["coef"]])
            rax.errorbar(f["coef"], y, xerr=err, fmt="o", color="tab:red", capsize=3)
            rax.axvline(0.0, color="tab:red", linewidth=0.5)
            rax.set_xlabel("win probability per extra activity (rep FE, 95% CI)")
        ax.set_yticks(y)
        ax.set_yticklabels(f["type"])
        ax.set_title("Activity attribution (associational)")
        return ax


def _regression(df: pd.DataFrame, types: Sequence[str], alpha: float) -> tuple[pd.DataFrame, int]:
    """Win on counts with rep fixed effects (within transformation), CRV1 by rep.

    Reps with a single closed opportunity (singleton fixed effects) are dropped, as fixest and
    pyfixest do. Standard errors: cluster-robust with the small-sample factor
    ``G/(G-1) * (N-1)/(N-K-1)`` (K slopes, plus one for the absorbed intercept; the rep effects
    are nested in the clusters) and t(G-1) intervals, as ``pyfixest.feols(..., vcov={"CRV1":
    "rep_id"})`` (pyfixest is not called: its first call compiles for several seconds).
    """
    import statsmodels.api as sm

    cols = [f"n_{t}" for t in types]
    out = pd.DataFrame(
        {"type": list(types), "coef": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    )
    out["p_value"] = np.nan
    d = df[df.groupby("rep_id")["won"].transform("size") > 1]
    if d["rep_id"].nunique() < 2:
        return out, 0
    grp = d.groupby("rep_id")
    y = d["won"] - grp["won"].transform("mean")
    X = d[cols] - grp[cols].transform("mean")
    varying = [c for c in cols if float((X[c] ** 2).sum()) > 1e-12]
    if not varying:
        return out, len(d)
    X = X[varying]
    codes = pd.factorize(d["rep_id"])[0]
    fit = sm.OLS(y.to_numpy(float), X.to_numpy(float)).fit(
        cov_type="cluster", cov_kwds={"groups": codes}, use_t=True
    )
    g = int(codes.max()) + 1
    # statsmodels' factor is G/(G-1) (N-1)/(N-K); fixest/pyfixest count the absorbed intercept too:
    # (N-1)/(N-K-1)
    n, k = X.shape
    se = np.asarray(fit.bse, dtype=float) * np.sqrt((n - k) / (n - k - 1))
    coef = np.asarray(fit.params, dtype=float)
    q = t_critical(alpha, g - 1)
    pv = wald_p_values(coef, se, df=g - 1)
    for c, b, s_, p in zip(varying, coef, se, pv, strict=True):
        i = cols.index(c)
        out.loc[i, ["coef", "se", "ci_low", "ci_high", "p_value"]] = [
            b,
            s_,
            b - q * s_,
            b + q * s_,
            p,
        ]
    return out, len(d)


def activity_attribution(
    data: Any,
    *,
    start: str | date | None = None,
    end: str | date | None = None,
    types: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> ActivityAttribution:
    """Markov-chain removal effects and a rep fixed-effects regression of win on activity counts.

    Parameters
    ----------
    data : Dataset (or duckdb connection)
        With ``opportunities`` and ``activities`` views.
    start, end : date-like, optional
        Inclusive bounds on the opportunities' close date.
    types : sequence of str, optional
        Activity types to analyse (others are left out of paths and counts); default all types
        found on the closed opportunities.
    alpha : float
        1 - confidence level of the regression intervals.

    Returns
    -------
    ActivityAttribution
    """
    import duckdb
    import statsmodels

    if types is not None:
        types = list(dict.fromkeys(types))
        bad = [t for t in types if not _SAFE.match(t) or t in (START, WON, LOST)]
        if bad:
            raise ValueError(f"activity types must be lower-case identifiers, got {bad}")
    con = _con(data)
    with _staged(con, start, end, types) as (o_tab, a_tab):
        counts = con.execute(_transitions_sql(o_tab, a_tab)).df()
        found = sorted((set(counts["from_state"]) | set(counts["to_state"])) - {START, WON, LOST})
        bad = [t for t in found if not _SAFE.match(t)]
        if bad:
            raise ValueError(
                f"activities.type has values that are not lower-case identifiers: {bad}"
            )
        opp = (
            con.execute(_opp_counts_sql(found, o_tab, a_tab)).df()
            if found and not counts.empty
            else None
        )
    if counts.empty:
        raise ValueError(
            f"no closed opportunities with close_date in [{start}, {end}]: nothing to attribute"
        )
    notes: list[str] = []
    if types is not None:
        absent = [t for t in types if t not in found]
        if absent:
            notes.append(f"no activities of type {', '.join(absent)} on closed opportunities")
    analysed = found if types is None else [t for t in types if t in found]
    if not analysed or opp is None:
        raise ValueError("no activities on the closed opportunities: nothing to attribute")
    p_win, rem = removal_effects(counts)
    reg, n_obs = _regression(opp, analysed, alpha)
    frame = rem.merge(reg, on="type", how="left")
    means = opp[[f"n_{t}" for t in analysed]].mean()
    frame.insert(1, "mean_count", [float(means[f"n_{t}"]) for t in frame["type"]])
    frame["rank_removal"] = frame["removal_effect"].rank(ascending=False, method="min")
    frame["rank_coef"] = frame["coef"].rank(ascending=False, method="min")
    tr = counts.copy()
    tr["prob"] = tr["n"] / tr.groupby("from_state")["n"].transform("sum")
    n_singletons = len(opp) - n_obs
    if n_singletons > 0:
        notes.append(
            f"{n_singletons} opportunit{'y' if n_singletons == 1 else 'ies'} of reps with a single "
            f"closed opportunity left out of the fixed-effects regression"
        )
    return ActivityAttribution(
        p_win=p_win,
        frame=frame,
        transitions=tr,
        n_opps=len(opp),
        n_won=int(opp["won"].sum()),
        n_reps=int(opp["rep_id"].nunique()),
        regression_n_obs=n_obs,
        start=None if start is None else str(pd.Timestamp(start).date()),
        end=None if end is None else str(pd.Timestamp(end).date()),
        spec={
            "start": start,
            "end": end,
            "types": types,
            "alpha": alpha,
            "path_order": "activity_date, activity_id; activities after close_date excluded",
            "regression": "won ~ counts + rep fixed effects (within), CRV1 by rep_id, t(G-1)",
            "statsmodels": statsmodels.__version__,
            "duckdb": duckdb.__version__,
        },
        notes=tuple(notes),
    )
