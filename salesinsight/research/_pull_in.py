"""Quarter-end pull-in (Oyer 1998; Larkin 2014).

Deals pulled into the period's last days by sellers who enter them behind quota, identified
against sellers on track.

Every seller-period is classified when it enters the last ``window_days`` of the quota period (the
*entry* date, T - w): *behind* when the won revenue so far is below ``behind_pace`` x the elapsed
share of the quota, else *on track*. Each seller-period's **pipeline at entry** P is the set of its
deals open on the entry date (created on or before it, not closed by it). Of the pipeline, PL closed
(won or lost) in the last window L = (T - w, T] and PN in the next days N = (T, T + h], where pulled
deals would have closed. The on-track sellers' share of their pipeline that closes in L (and in N)
gives the behind sellers' counterfactual, so the quarter-end rush that every seller shares (the
customers' calendar) cancels. The shares are taken per *pipeline-age bin* a (days from creation to
the entry date, whole weeks by default), because how much of a pipeline closes in the next days
depends on its age and behind sellers' pipelines are younger:

    excess_q  = sum_a [PL_behind,a - P_behind,a * PL_on,a / P_on,a]   (pulled in, per period q)
    deficit_q = sum_a [P_behind,a * PN_on,a / P_on,a - PN_behind,a]   (missing early in next period)

Why the age bins: a seller's deal creation varies from day to day, and the days that fed the
closes before entry (which decide *behind*) are older than the pipeline's youngest deals, so
sellers who are behind have, on average, fewer old deals and relatively more young ones, which
cannot close within the window. Pooling all ages read that as negative pull-in (about -28 closed
deals per folder of 240 sellers and 6 quarters, against an SD of about 60; docs/research.md).

The pipeline is measured on the classification date, before any pulling can happen, so the contrast
is not mechanically tied to the outcome. (An earlier version scaled by the closes of a later reference
window, R = (T + h, T + h + r]; on 40 simulated folders without gaming it was biased by -35 closed
deals, bootstrap SE 95, and covered zero 88% of the time: see docs/research.md.) Closes rather than
wins are counted because whether a deal is won depends on the seller's current form, which differs
between the groups; when a pipeline deal closes does not. The excess is valued at the behind sellers'
win share and revenue per closed pipeline deal in L. The discount premium per pulled deal is the
difference-in-differences of mean discounts (all closes in L vs in R, behind vs on track) divided by
the pulled share of the behind sellers' closes in L. Deals both opened and closed inside L are not in
the pipeline and are not counted as pulled.

Intervals (``inference``): by default the delete-one-seller **jackknife** (every period of a seller is
left out together), variance ``(G - 1) / G * sum_i (theta_(i) - theta_bar)^2`` over the G sellers
(the CR3 idea for a nonlinear estimator), with a ``t(G - 1)`` interval and p-value. It is
deterministic (no resampling noise in the interval's ends) and, by the Efron-Stein inequality, in
expectation at least the variance of the estimator on G - 1 sellers. ``inference="bootstrap"`` gives the earlier seller cluster bootstrap with
percentile intervals; the bootstrap draws are computed either way (``Effect.extras["draws"]``, for
joint inference across designs). Both assume sellers are independent of each other; when a team's
sellers share timing shocks, ``cluster="team"`` deletes (or resamples) whole teams instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.data import Dataset
from salesinsight.research._display import fmt
from salesinsight.results import ResultMixin, Summary

from ._boot import boot_effect, cluster_weights, seller_weights
from ._frames import as_dataset, pipeline_deals, seller_periods

__all__ = ["PullIn", "pull_in"]

#: per seller-period statistics summed by group (order matters for the estimator below); the
#: pipeline counts P, PL and PN are further split by age bin (``_age_stats``).
STATS: tuple[str, ...] = (
    "P",
    "PL",
    "PN",
    "PL_won",
    "PL_rev",
    "L",
    "L_dsum",
    "L_dn",
    "R_dsum",
    "R_dn",
)
_I = {s: i for i, s in enumerate(STATS)}

HEADLINES: tuple[str, ...] = (
    "pulled_deals",
    "pulled_revenue",
    "pulled_closed_deals",
    "next_period_deficit",
    "discount_premium",
)

#: interval methods of :func:`pull_in` (``inference``)
INFERENCE: tuple[str, ...] = ("jackknife", "bootstrap")
#: the clusters intervals resample or delete: a seller (every period of one seller) or a team.
CLUSTERS: tuple[str, ...] = ("seller", "team")


@dataclass(frozen=True, eq=False)
class PullIn(ResultMixin):
    """Result of :func:`pull_in`.

    Attributes
    ----------
    effects : dict of str to Effect
        ``pulled_deals`` (won deals pulled in, count), ``pulled_revenue`` (their revenue, currency),
        ``pulled_closed_deals`` (all closes pulled in, won or lost), ``next_period_deficit`` (closes
        missing in the next period's first days; should match the excess when deals are borrowed,
        not created) and ``discount_premium`` (extra discount per pulled deal, share of list price).
    by_period : DataFrame
        Per quota period: sellers behind / on track, pulled deals and revenue with intervals.
    seller_periods : DataFrame
        The seller-periods used, with their group and window counts.
    spec : dict
        Every argument.
    """

    effects: dict[str, Effect]
    by_period: pd.DataFrame
    seller_periods: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Effect:
        return self.effects[name]

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per headline quantity (term, estimate, se, ci_low, ci_high, p_value)."""
        rows = []
        for name in HEADLINES:
            e = self.effects[name]
            rows.append(
                {
                    "term": name,
                    "estimate": e.estimate,
                    "se": e.se,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p_value": e.p_value,
                    "n_units": e.n_units,
                    "n_obs": e.n_obs,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (what ``salesinsight research pull-in --json`` prints)."""
        out: dict[str, Any] = {}
        for name in HEADLINES:
            out[name] = _est_dict(self.effects[name])
        out["by_quarter"] = [
            {k: _num(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in self.by_period.to_dict(orient="records")
        ]
        out["spec"] = {k: v for k, v in self.spec.items() if k != "data"}
        out["diagnostics"] = [
            {"name": d.name, "passed": d.passed, "value": _num(d.value), "note": d.note}
            for d in self.effects["pulled_closed_deals"].diagnostics
        ]
        return out

    def _summary(self) -> Summary:
        """Summarise what was pulled in, with intervals, and how it was identified."""
        s = self.spec
        level = f"{100 * (1 - s['alpha']):g}%"
        n_b = int(self.seller_periods["behind"].sum())
        n_o = int((~self.seller_periods["behind"]).sum())
        rows = [
            (
                "seller-periods",
                f"{n_b} behind, {n_o} on track, {len(self.by_period)} periods",
            )
        ]
        for name in HEADLINES:
            e = self.effects[name]
            rows.append((name, f"{fmt(e.estimate)}  {level} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"))
        rows.append(
            (
                "windows",
                f"last {s['window_days']} days; next {s['horizon_days']} days; reference the "
                f"{s['reference_days']} days after that",
            )
        )
        rows.append(("interval", str(self.effects["pulled_deals"].spec.get("inference"))))
        rows.append(
            (
                "assumption",
                "without gaming, behind and on-track sellers close the same share of their "
                "pipeline at entry of each age in the last days (the customers' calendar is "
                "shared); sellers are independent of each other",
            )
        )
        return Summary(
            title="Quarter-end pull-in (behind-quota vs on-track sellers)",
            rows=rows,
            notes=[d.describe() for d in self.effects["pulled_closed_deals"].diagnostics],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Won deals pulled in per period with their intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        b = self.by_period
        x = np.arange(len(b))
        err = np.vstack(
            [
                b["pulled_deals"] - b["pulled_deals_ci_low"],
                b["pulled_deals_ci_high"] - b["pulled_deals"],
            ]
        )
        ax.bar(x, b["pulled_deals"], color="#4c72b0")
        ax.errorbar(x, b["pulled_deals"], yerr=np.abs(err), fmt="none", color="black", capsize=3)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, b["period"], rotation=45, ha="right")
        ax.set_ylabel("won deals pulled in")
        ax.set_title("Quarter-end pull-in by behind-quota sellers")
        return ax


def pull_in(
    data: str | Path | Dataset,
    *,
    window_days: int = 14,
    horizon_days: int = 30,
    reference_days: int = 42,
    behind_pace: float = 1.0,
    min_tenure_days: int = 180,
    age_bin_days: int | None = 7,
    max_age_days: int = 105,
    n_boot: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
    boot_universe: Sequence[str] | None = None,
    inference: str = "jackknife",
    cluster: str = "seller",
) -> PullIn:
    """Estimate the won deals (and revenue) behind-quota sellers pulled in from the next period.

    The deals are pulled into the last days of each quota period from the next.

    Parameters
    ----------
    data : path or Dataset
        Data folder with ``opportunities`` (created and close dates, statuses, amounts;
        ``discount`` for the premium), ``reps`` and ``quotas``.
    window_days : int, default 14
        Length of the period's last window L, in days.
    horizon_days : int, default 30
        How far into the next period pulled deals come from (window N, for the deficit), in days.
    reference_days : int, default 42
        Length of the reference window R after N, in days (the baseline of the discount premium);
        seller-periods need ``horizon + reference`` days of data (and employment) after the end.
    behind_pace : float, default 1.0
        A seller is *behind* when won revenue before the last window is below this multiple of the
        quota's elapsed share.
    min_tenure_days : int, default 180
        Seller-periods of sellers hired less than this many days before the period start are left
        out (ramping sellers' deal flow grows, which would mimic pull-in).
    age_bin_days : int or None, default 7
        Width of the pipeline-age bins, in days (age = days from a deal's creation to the entry
        date): the on-track sellers' closing shares are taken per age bin and applied to the behind
        sellers' pipeline in each bin, so a younger or older pipeline is not read as pull-in. Whole
        weeks keep the weekday mix of every bin the same. ``None`` pools all ages (one bin).
    max_age_days : int, default 105
        Pipeline deals this old or older at entry share one age bin, in days.
    n_boot : int, default 999
        Seller-cluster bootstrap draws.
    alpha : float, default 0.05
        One minus the interval level.
    seed : int, default 0
        Seed of the bootstrap.
    boot_universe : sequence of str, optional
        Every seller of the data in a fixed order: the bootstrap then resamples this universe, so
        designs run with the same seed share their draws (the registry's Romano-Wolf correction).
    inference : {"jackknife", "bootstrap"}, default "jackknife"
        How the intervals and p-values are computed. ``"jackknife"``: delete-one-seller jackknife
        standard error (factor ``(G - 1) / G``, G sellers) with a ``t(G - 1)`` interval;
        deterministic. ``"bootstrap"``: percentile interval of the seller-cluster bootstrap (the
        default before the jackknife, kept for comparison). The ``n_boot`` bootstrap
        draws are computed in both cases (``Effect.extras["draws"]``).
    cluster : {"seller", "team"}, default "seller"
        The cluster the jackknife deletes and the bootstrap resamples: one seller (all of their
        periods) or one team (``reps.team_id``; all of its sellers). ``"team"`` when sellers of a
        team share shocks to their deals' timing (a territory's customers signing early or late
        together): the seller jackknife then misses the shared part of the variance. Needs enough
        teams (the interval is ``t(teams - 1)``); not combinable with ``boot_universe``.

    Returns
    -------
    PullIn
    """
    _check(
        window_days, horizon_days, reference_days, behind_pace, alpha, age_bin_days, max_age_days
    )
    _check_inference(inference, cluster, boot_universe)
    spec: dict[str, Any] = {
        "window_days": window_days,
        "horizon_days": horizon_days,
        "reference_days": reference_days,
        "behind_pace": behind_pace,
        "min_tenure_days": min_tenure_days,
        "age_bin_days": age_bin_days,
        "max_age_days": max_age_days,
        "n_boot": n_boot,
        "alpha": alpha,
        "seed": seed,
        "boot_universe": None if boot_universe is None else len(boot_universe),
        "cluster": "rep_id" if cluster == "seller" else "team_id",
        "inference_method": inference,
    }
    ds = as_dataset(data)
    edges = _age_edges(age_bin_days, max_age_days)
    sp = _seller_windows(ds, **{k: spec[k] for k in list(spec)[:5]}, age_edges=edges)
    if sp.empty or sp["behind"].all() or not sp["behind"].any():
        raise ValueError(
            "pull_in: need seller-periods both behind and on track with "
            f"{horizon_days + reference_days} days of data after the period end; found "
            f"{int(sp['behind'].sum()) if len(sp) else 0} behind and "
            f"{int((~sp['behind']).sum()) if len(sp) else 0} on track"
        )
    periods = sorted(sp["period_end"].unique())
    q_idx = np.searchsorted(np.asarray(periods), sp["period_end"].to_numpy())
    stats = [*STATS, *_age_stats(len(edges))]
    design = _design(sp[stats].to_numpy(float), q_idx, sp["behind"].to_numpy(bool), len(periods))
    codes = pd.factorize(sp[spec["cluster"]])[0]
    if cluster == "seller":
        W = seller_weights(sp["rep_id"], n_boot=n_boot, seed=seed, universe=boot_universe)
    else:
        W = cluster_weights(codes, n_boot=n_boot, seed=seed)
    shape = (len(stats), len(periods), 2)
    point = _estimate(design.sum(0).reshape(shape), len(edges))
    boot = _estimate((W @ design).reshape((n_boot, *shape)), len(edges))
    n_units, n_obs = int(codes.max()) + 1, len(sp)
    jack = None
    if inference == "jackknife":
        jack = _jackknife(design, codes, shape, len(edges))
    effects = _effects(point, boot, jack, alpha=alpha, n_units=n_units, n_obs=n_obs, spec=spec)
    by = _by_period(sp, periods, point, boot, alpha, jack, n_units)
    return PullIn(effects=effects, by_period=by, seller_periods=sp, spec=spec)


def _check_inference(inference: str, cluster: str, boot_universe: Sequence[str] | None) -> None:
    """Raise one ValueError naming every invalid inference option."""
    problems = []
    if inference not in INFERENCE:
        problems.append(f"inference must be one of {', '.join(INFERENCE)}, got {inference!r}")
    if cluster not in CLUSTERS:
        problems.append(f"cluster must be one of {', '.join(CLUSTERS)}, got {cluster!r}")
    elif cluster == "team" and boot_universe is not None:
        problems.append("cluster='team' cannot be combined with boot_universe (a seller universe)")
    if problems:
        raise ValueError("pull_in: " + "; ".join(problems))


def _effects(
    point: dict[str, np.ndarray],
    boot: dict[str, np.ndarray],
    jack: dict[str, np.ndarray] | None,
    *,
    alpha: float,
    n_units: int,
    n_obs: int,
    spec: dict[str, Any],
) -> dict[str, Effect]:
    """Build the headline effects and the deficit-matches-excess diagnostic.

    Intervals are jackknife ``t(G - 1)`` when ``jack`` is given, else bootstrap percentile.
    """
    diff = boot["pulled_closed_deals"] - boot["next_period_deficit"]
    if jack is None:
        lo, hi = np.nanquantile(diff, [alpha / 2, 1 - alpha / 2])
    else:
        d_point = point["pulled_closed_deals"] - point["next_period_deficit"]
        d_se = jackknife_se(jack["pulled_closed_deals"] - jack["next_period_deficit"])
        half = float(sps.t.ppf(1 - alpha / 2, n_units - 1)) * d_se
        lo, hi = d_point - half, d_point + half
    diag = Diagnostic(
        name="deficit_matches_excess",
        passed=bool(lo <= 0 <= hi),
        value=float(point["pulled_closed_deals"] - point["next_period_deficit"]),
        required=False,
        note=(
            "the excess of last-window closes and the deficit early in the next period should agree "
            "when deals are borrowed from the next period rather than created "
            f"(difference interval [{lo:.4g}, {hi:.4g}])"
        ),
    )
    effects = {}
    units = {
        "pulled_deals": "won deals",
        "pulled_revenue": "revenue",
        "pulled_closed_deals": "closed deals",
        "next_period_deficit": "closed deals",
        "discount_premium": "discount share",
    }
    for name in HEADLINES:
        kw: dict[str, Any] = {
            "alpha": alpha,
            "method": "pull-in DiD (behind vs on track, last vs reference window)",
            "outcome": f"{name} ({units[name]})",
            "n_units": n_units,
            "n_obs": n_obs,
            "spec": spec,
            "diagnostics": (diag,) if name != "discount_premium" else (),
        }
        if jack is None:
            effects[name] = boot_effect(float(point[name]), boot[name], **kw)
        else:
            effects[name] = jackknife_effect(float(point[name]), jack[name], boot[name], **kw)
    return effects


def _design(x: np.ndarray, period: np.ndarray, behind: np.ndarray, n_periods: int) -> np.ndarray:
    """One row per seller-period: its statistics ``x`` placed in its (statistic, period, group) cell.

    Summing rows gives the group sums ``_estimate`` takes, shape (stats, periods, 2) once reshaped;
    a weighted sum gives a bootstrap draw's sums.
    """
    onehot = np.zeros((len(x), 2 * n_periods))
    onehot[np.arange(len(x)), np.asarray(period) * 2 + np.asarray(behind).astype(int)] = 1.0
    return (x[:, :, None] * onehot[:, None, :]).reshape(len(x), -1)


def _jackknife(
    design: np.ndarray, codes: np.ndarray, shape: tuple[int, ...], n_bins: int
) -> dict[str, np.ndarray]:
    """Leave-one-seller-out estimates: row i is the estimator without every period of seller i.

    ``design`` holds one row per seller-period (group sums by column); ``codes`` number the sellers
    0..G-1. Returns every output of :func:`_estimate` with a leading axis of length G.
    """
    n_sellers = int(codes.max()) + 1
    per_seller = np.zeros((n_sellers, design.shape[1]))
    np.add.at(per_seller, codes, design)
    total = design.sum(0)
    return _estimate((total[None, :] - per_seller).reshape((n_sellers, *shape)), n_bins)


def jackknife_se(leave_one_out: np.ndarray) -> float:
    """Delete-one-cluster jackknife standard error from the G leave-one-out estimates.

    ``sqrt((G - 1) / G * sum_i (theta_(i) - mean_i theta_(i))^2)``; NaN when any estimate is not
    finite (a seller without whom the estimator is undefined) or G < 2.
    """
    x = np.asarray(leave_one_out, dtype=float)
    g = len(x)
    if g < 2 or not np.isfinite(x).all():
        return float("nan")
    return float(np.sqrt((g - 1) / g * ((x - x.mean()) ** 2).sum()))


def jackknife_effect(
    point: float,
    leave_one_out: np.ndarray,
    draws: np.ndarray,
    *,
    alpha: float,
    method: str,
    outcome: str,
    n_units: int,
    n_obs: int,
    spec: dict[str, Any],
    diagnostics: Sequence[Diagnostic] = (),
) -> Effect:
    """Build an :class:`Effect` with the jackknife SE and a ``t(G - 1)`` interval and p-value.

    ``draws`` (the bootstrap draws) are kept in ``extras["draws"]`` for joint inference; they do not
    enter the interval.
    """
    se = jackknife_se(leave_one_out)
    df = max(int(n_units) - 1, 1)
    if np.isfinite(se) and np.isfinite(point) and se > 0:
        half = float(sps.t.ppf(1 - alpha / 2, df)) * se
        lo, hi = point - half, point + half
        p = float(2 * sps.t.sf(abs(point) / se, df))
    else:
        lo = hi = p = float("nan")
    full = {
        **spec,
        "ci_level": 1 - alpha,
        "inference": f"delete-one-{'team' if spec.get('cluster') == 'team_id' else 'seller'} "
        f"jackknife ({spec.get('cluster', 'rep_id')}), "
        f"{n_units} clusters, t({df}) interval",
        "versions": library_versions(),
    }
    return Effect(
        estimate=float(point),
        se=se,
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=p,
        n_units=int(n_units),
        n_obs=int(n_obs),
        method=method,
        outcome=outcome,
        spec=full,
        diagnostics=tuple(diagnostics),
        extras={
            "draws": np.asarray(draws, dtype=float).copy(),
            "leave_one_out": np.asarray(leave_one_out, dtype=float).copy(),
        },
    )


def _check(
    window: int,
    horizon: int,
    reference: int,
    pace: float,
    alpha: float,
    age_bin: int | None,
    max_age: int,
) -> None:
    problems = []
    for name, v in (
        ("window_days", window),
        ("horizon_days", horizon),
        ("reference_days", reference),
    ):
        if not isinstance(v, int | np.integer) or v < 1:
            problems.append(f"{name} must be a positive whole number of days, got {v!r}")
    if age_bin is not None and (not isinstance(age_bin, int | np.integer) or age_bin < 1):
        problems.append(f"age_bin_days must be None or a positive whole number, got {age_bin!r}")
    if not isinstance(max_age, int | np.integer) or max_age < 1:
        problems.append(f"max_age_days must be a positive whole number of days, got {max_age!r}")
    if not (pace > 0):
        problems.append(f"behind_pace must be > 0, got {pace!r}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if problems:
        raise ValueError("pull_in: " + "; ".join(problems))


def _seller_windows(
    ds: Dataset,
    *,
    window_days: int,
    horizon_days: int,
    reference_days: int,
    behind_pace: float,
    min_tenure_days: int,
    age_edges: np.ndarray,
) -> pd.DataFrame:
    """Eligible seller-periods with their group and per-window counts (``STATS`` and age bins)."""
    sp = seller_periods(ds, min_tenure_days=min_tenure_days)
    deals = pipeline_deals(ds)
    data_end = deals["close_date"].max()
    day = pd.Timedelta(days=1)
    T = sp["period_end"]
    ref_end = T + (horizon_days + reference_days) * day
    alive = sp["termination_date"].isna() | (sp["termination_date"] > ref_end)
    sp = sp[alive & (ref_end <= data_end)].reset_index(drop=True)
    sp["entry"] = sp["period_end"] - window_days * day
    m = (
        sp[["rep_id", "period_start", "period_end", "entry"]]
        .reset_index()
        .merge(deals, on="rep_id", how="inner")
    )
    c, T, e = m["close_date"], m["period_end"], m["entry"]
    closed = m["closed"].to_numpy(bool)
    won = m["won"].to_numpy(bool)
    w = {
        "pre": closed & (c >= m["period_start"]) & (c <= e),
        "L": closed & (c > e) & (c <= T),
        "N": closed & (c > T) & (c <= T + horizon_days * day),
        "R": closed
        & (c > T + horizon_days * day)
        & (c <= T + (horizon_days + reference_days) * day),
    }
    # the pipeline on the entry date: created by then and not closed by then (NaT = still open)
    pipe = (m["created_date"] <= e) & ~(closed & (c <= e))
    disc = m["discount"].to_numpy(float)
    has_d = np.isfinite(disc)
    amount = m["amount"].to_numpy(float)
    age_bin = np.searchsorted(age_edges, (e - m["created_date"]).dt.days.to_numpy(), "right") - 1
    cols = {
        "pre_rev": w["pre"] * amount,
        "P": pipe,
        "PL": pipe & w["L"],
        "PN": pipe & w["N"],
        "PL_won": pipe & w["L"] & won,
        "PL_rev": (pipe & w["L"]) * amount,
        "L": w["L"],
        "N": w["N"],
        "R": w["R"],
        "L_dsum": np.where(w["L"] & has_d, np.nan_to_num(disc), 0.0),
        "L_dn": w["L"] & has_d,
        "R_dsum": np.where(w["R"] & has_d, np.nan_to_num(disc), 0.0),
        "R_dn": w["R"] & has_d,
    }
    for k, name in enumerate(_age_stats(len(age_edges))):
        cols[name] = pipe & (age_bin == k // 3) & (True, w["L"], w["N"])[k % 3]
    agg = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in cols.items()})
    agg["index"] = m["index"].to_numpy()
    sums = agg.groupby("index").sum().reindex(sp.index, fill_value=0.0)
    sp = pd.concat([sp, sums], axis=1)
    elapsed = (sp["entry"] - sp["period_start"]).dt.days + 1
    length = (sp["period_end"] - sp["period_start"]).dt.days + 1
    sp["target_at_entry"] = behind_pace * sp["quota"] * elapsed / length
    sp["behind"] = sp["pre_rev"] < sp["target_at_entry"]
    return sp


def _age_edges(bin_days: int | None, max_age: int) -> np.ndarray:
    """Left edges of the pipeline-age bins, in days (the last bin is open-ended)."""
    if bin_days is None:
        return np.zeros(1, dtype=np.int64)
    return np.arange(0, max_age + 1, bin_days, dtype=np.int64)


def _age_stats(n_bins: int) -> list[str]:
    """Names of the per-age-bin pipeline counts: P, PL and PN of every bin, bin by bin."""
    return [f"{x}_age{k}" for k in range(n_bins) for x in ("P", "PL", "PN")]


def _estimate(s: np.ndarray, n_bins: int) -> dict[str, np.ndarray]:
    """Apply the estimator to group sums ``s``, shape (..., stats, periods, 2), group 1 = behind.

    ``s`` holds ``STATS`` followed by the ``n_bins`` age bins' P, PL and PN (``_age_stats``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _estimate_sums(s, n_bins)


def _estimate_sums(s: np.ndarray, n_bins: int) -> dict[str, np.ndarray]:
    on, b = s[..., 0], s[..., 1]

    def g(x: np.ndarray, name: str) -> np.ndarray:
        return x[..., _I[name], :]

    def by_age(x: np.ndarray, j: int) -> np.ndarray:  # (..., bins, periods)
        return x[..., len(STATS) + j :: 3, :][..., :n_bins, :]

    p_on, p_b = by_age(on, 0), by_age(b, 0)
    share = {}
    for j, name in ((1, "PL"), (2, "PN")):
        # the on-track closing share per age bin; a bin without on-track pipeline takes the period's
        pooled = (g(on, name) / g(on, "P"))[..., None, :]
        share[name] = np.where(p_on > 0, by_age(on, j) / np.where(p_on > 0, p_on, 1.0), pooled)
    excess = (by_age(b, 1) - p_b * share["PL"]).sum(-2)
    deficit = (p_b * share["PN"] - by_age(b, 2)).sum(-2)
    won_share = g(b, "PL_won") / g(b, "PL")
    rev_per = g(b, "PL_rev") / g(b, "PL")
    pulled_won = excess * won_share
    pulled_rev = excess * rev_per

    def mean(x: np.ndarray, num: str, den: str) -> np.ndarray:
        return g(x, num).sum(-1) / g(x, den).sum(-1)

    gap = (mean(b, "L_dsum", "L_dn") - mean(b, "R_dsum", "R_dn")) - (
        mean(on, "L_dsum", "L_dn") - mean(on, "R_dsum", "R_dn")
    )
    share = excess.sum(-1) / g(b, "L").sum(-1)
    return {
        "pulled_deals": pulled_won.sum(-1),
        "pulled_revenue": pulled_rev.sum(-1),
        "pulled_closed_deals": excess.sum(-1),
        "next_period_deficit": deficit.sum(-1),
        "discount_premium": gap / share,
        "by_deals": pulled_won,
        "by_revenue": pulled_rev,
        "by_closed": excess,
        "by_deficit": deficit,
    }


def _by_period(sp, periods, point, boot, alpha, jack, n_units) -> pd.DataFrame:
    rows = []
    q = [alpha / 2, 1 - alpha / 2]
    t_crit = float(sps.t.ppf(1 - alpha / 2, n_units - 1))
    for j, end in enumerate(periods):
        sel = sp["period_end"] == end
        row = {
            "period": str(sp.loc[sel, "period"].iloc[0]),
            "sellers_behind": int(sp.loc[sel, "behind"].sum()),
            "sellers_on_track": int((~sp.loc[sel, "behind"]).sum()),
        }
        for name, key in (
            ("pulled_deals", "by_deals"),
            ("pulled_revenue", "by_revenue"),
            ("pulled_closed_deals", "by_closed"),
            ("next_period_deficit", "by_deficit"),
        ):
            if jack is None:
                lo, hi = np.nanquantile(boot[key][:, j], q)
            else:
                half = t_crit * jackknife_se(jack[key][:, j])
                lo, hi = point[key][j] - half, point[key][j] + half
            row[name] = float(point[key][j])
            row[f"{name}_ci_low"] = float(lo)
            row[f"{name}_ci_high"] = float(hi)
        rows.append(row)
    return pd.DataFrame(rows)


def _num(x: Any) -> Any:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if np.isfinite(f) else None


def _est_dict(e: Effect) -> dict[str, Any]:
    return {
        "estimate": _num(e.estimate),
        "se": _num(e.se),
        "ci_low": _num(e.ci_low),
        "ci_high": _num(e.ci_high),
        "p_value": _num(e.p_value),
    }
