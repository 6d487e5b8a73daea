"""Incentive plan what-if: what each seller would have been paid under alternative plans.

Computed on the historical data, with what each plan rewards.

**This is accounting, not a causal forecast.** It holds behaviour fixed at what happened under the plan
in force; sellers respond to plans (pull-in, bunching, effort, customer care), so a new plan would change
the revenue and CSAT it is applied to. Use it to see who would earn what and what a plan pays for, then
test the plan (``research.design`` / ``research.assign``) before rolling it out.

Pay per seller-period (currency): a commission on revenue (``commission_rate``, multiplied by
``accelerator_multiplier`` on revenue above ``accelerator_threshold`` x quota), plus ``quota_bonus`` when
attainment reaches 1. A ``team_share`` of that variable pay is computed on the team's attainment instead of
the seller's own (team revenue / team quota, applied to the seller's quota). A ``csat_weight`` share
(dual metric) is paid in proportion to CSAT (score/scale) up to ``csat_target``; sellers without CSAT
responses in the period get the company mean. ``cap`` limits the pay per seller-period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.causal.effect import Effect
from salesinsight.data import Dataset
from salesinsight.results import ResultMixin, Summary

from ._frames import as_dataset, kpi_ratio, seller_periods

__all__ = ["Plan", "PlanComparison", "csat_reward", "default_plans", "what_if"]

CAVEAT = (
    "Accounting on historical behaviour, not a causal forecast: sellers respond to a plan, so the "
    "revenue and CSAT it would be paid on would differ."
)


@dataclass(frozen=True)
class Plan:
    """An incentive plan (rates are shares, amounts in the data's currency)."""

    name: str
    commission_rate: float = 0.0
    quota_bonus: float = 0.0
    accelerator_threshold: float | None = None
    accelerator_multiplier: float = 1.0
    cap: float | None = None
    csat_weight: float = 0.0
    csat_target: float = 0.8
    team_share: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.commission_rate < 0 or self.quota_bonus < 0:
            problems.append("commission_rate and quota_bonus must be >= 0")
        if not 0 <= self.csat_weight <= 1 or not 0 <= self.team_share <= 1:
            problems.append("csat_weight and team_share must be in [0, 1]")
        if not self.csat_target > 0:
            problems.append("csat_target must be > 0")
        if self.accelerator_multiplier < 0:
            problems.append("accelerator_multiplier must be >= 0")
        if self.cap is not None and self.cap < 0:
            problems.append("cap must be >= 0")
        if problems:
            raise ValueError(f"plan {self.name!r}: " + "; ".join(problems))

    def pay(
        self,
        revenue: np.ndarray,
        quota: np.ndarray,
        *,
        team_attainment: np.ndarray,
        csat: np.ndarray,
    ) -> np.ndarray:
        """Pay per seller-period (see the module docstring)."""
        own = self._variable(revenue, quota)
        team = self._variable(team_attainment * quota, quota)
        variable = (1 - self.team_share) * own + self.team_share * team
        factor = (1 - self.csat_weight) + self.csat_weight * np.minimum(
            csat / self.csat_target, 1.0
        )
        pay = variable * factor
        return np.minimum(pay, self.cap) if self.cap is not None else pay

    def _variable(self, revenue: np.ndarray, quota: np.ndarray) -> np.ndarray:
        if self.accelerator_threshold is None:
            commission = self.commission_rate * revenue
        else:
            kink = self.accelerator_threshold * quota
            base = np.minimum(revenue, kink)
            above = np.maximum(revenue - kink, 0.0)
            commission = self.commission_rate * (base + self.accelerator_multiplier * above)
        return commission + self.quota_bonus * (revenue >= quota)


def default_plans() -> list[Plan]:
    """Return the comparison of the seed article's pitfall.

    Revenue only, a dual metric, a team component, and a capped plan (5% commission, a bonus at
    quota, 1.5x commission above 120%).
    """
    base = {
        "commission_rate": 0.05,
        "quota_bonus": 2000.0,
        "accelerator_threshold": 1.2,
        "accelerator_multiplier": 1.5,
    }
    return [
        Plan("revenue only", **base),
        Plan("revenue + CSAT (30%)", csat_weight=0.3, csat_target=0.85, **base),
        Plan("30% team component", team_share=0.3, **base),
        Plan("revenue only, capped", cap=15000.0, **base),
    ]


@dataclass(frozen=True, eq=False)
class PlanComparison(ResultMixin):
    """Result of :func:`what_if`.

    Attributes
    ----------
    payouts : DataFrame
        One row per seller-period and plan: rep_id, team_id, period, revenue, quota, attainment,
        csat, plan, pay.
    plans : list of Plan
    caveat : str
        The accounting caveat (always shown).
    """

    payouts: pd.DataFrame
    plans: list[Plan]
    caveat: str = CAVEAT
    spec: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Summarize each plan: its cost and what it rewards.

        Per plan: total pay, pay per revenue, share to the top 10% of earners, share paid a quota
        bonus, and the rank correlations of pay with revenue and with CSAT (what the plan rewards).
        """
        rows = []
        for plan in self.plans:
            g = self.payouts[self.payouts["plan"] == plan.name]
            pay = g["pay"].to_numpy(float)
            top = np.sort(pay)[::-1][: max(1, int(np.ceil(0.1 * len(pay))))].sum()
            rows.append(
                {
                    "plan": plan.name,
                    "total_pay": float(pay.sum()),
                    "pay_per_revenue": float(pay.sum() / g["revenue"].sum()),
                    "top10_share": float(top / pay.sum()) if pay.sum() > 0 else np.nan,
                    "reached_quota_share": float((g["attainment"] >= 1).mean()),
                    "rank_corr_revenue": _spearman(pay, g["revenue"]),
                    "rank_corr_csat": _spearman(pay, g["csat_observed"]),
                }
            )
        return pd.DataFrame(rows)

    def by_seller(self) -> pd.DataFrame:
        """Total pay per seller under each plan (sellers in rows, plans in columns)."""
        t = self.payouts.pivot_table(index="rep_id", columns="plan", values="pay", aggfunc="sum")
        return t[[p.name for p in self.plans]]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view with the caveat."""
        f = self.to_frame()
        return {
            "caveat": self.caveat,
            "plans": [asdict(p) for p in self.plans],
            "comparison": [{k: _json(v) for k, v in r.items()} for r in f.to_dict("records")],
        }

    def _summary(self) -> Summary:
        """Summarise per plan what it costs and what it rewards, with the caveat."""
        rows = [
            (
                str(r.plan),
                f"pay {r.total_pay:,.0f} ({100 * r.pay_per_revenue:.2f}% of revenue); top 10% "
                f"take {100 * r.top10_share:.0f}%; rank corr. with revenue "
                f"{r.rank_corr_revenue:.2f}, with CSAT {r.rank_corr_csat:.2f}",
            )
            for r in self.to_frame().itertuples()
        ]
        return Summary(
            title="Incentive plan what-if (historical revenue and CSAT held fixed)",
            rows=rows,
            notes=[f"NOTE: {self.caveat}"],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Mean pay by CSAT quintile under each plan (what the plan rewards); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        p = self.payouts.dropna(subset=["csat_observed"]).copy()
        p["csat_q"] = pd.qcut(p["csat_observed"].rank(method="first"), 5, labels=False) + 1
        for plan in self.plans:
            m = p[p["plan"] == plan.name].groupby("csat_q")["pay"].mean()
            ax.plot(m.index, m.to_numpy(), marker="o", label=plan.name)
        ax.set_xlabel("CSAT quintile of the seller-period")
        ax.set_ylabel("mean pay per seller-period")
        ax.set_title("What each plan rewards (accounting, not a forecast)")
        ax.legend(frameon=False, fontsize=8)
        return ax


def what_if(
    data: str | Path | Dataset | pd.DataFrame, plans: Sequence[Plan] | None = None
) -> PlanComparison:
    """Pay every full seller-period of the data under each plan.

    Parameters
    ----------
    data : path, Dataset or DataFrame
        A data folder (quotas needed; csat optional), or a frame with ``rep_id, team_id, period,
        revenue, quota`` and optionally ``csat`` (score/scale).
    plans : sequence of Plan, optional
        Default :func:`default_plans`.

    Returns
    -------
    PlanComparison
    """
    plans = list(plans) if plans is not None else default_plans()
    names = [p.name for p in plans]
    if len(set(names)) != len(names) or not plans:
        raise ValueError(f"what_if: plans need distinct names, got {names}")
    sp = data.copy() if isinstance(data, pd.DataFrame) else _frame(as_dataset(data))
    missing = {"rep_id", "team_id", "period", "revenue", "quota"} - set(sp.columns)
    if missing:
        raise ValueError(f"what_if: the frame lacks column(s) {', '.join(sorted(missing))}")
    if "csat" not in sp:
        sp["csat"] = np.nan
    sp["attainment"] = kpi_ratio(sp, "attainment")
    team = sp.groupby(["team_id", "period"])[["revenue", "quota"]].transform("sum")
    team_att = kpi_ratio(team, "attainment").to_numpy(float)  # a ratio of the team's sums
    csat_obs = sp["csat"].astype(float)
    csat = csat_obs.fillna(csat_obs.mean() if csat_obs.notna().any() else 1.0).to_numpy(float)
    parts = []
    for plan in plans:
        pay = plan.pay(
            sp["revenue"].to_numpy(float),
            sp["quota"].to_numpy(float),
            team_attainment=team_att,
            csat=csat,
        )
        parts.append(
            pd.DataFrame(
                {
                    "rep_id": sp["rep_id"].to_numpy(),
                    "team_id": sp["team_id"].to_numpy(),
                    "period": sp["period"].to_numpy(),
                    "revenue": sp["revenue"].to_numpy(float),
                    "quota": sp["quota"].to_numpy(float),
                    "attainment": sp["attainment"].to_numpy(float),
                    "csat_observed": csat_obs.to_numpy(float),
                    "plan": plan.name,
                    "pay": pay,
                }
            )
        )
    return PlanComparison(payouts=pd.concat(parts, ignore_index=True), plans=plans)


def csat_reward(
    data: str | Path | Dataset | pd.DataFrame,
    *,
    plan: Plan | None = None,
    baseline: Plan | None = None,
    n_boot: int = 499,
    alpha: float = 0.05,
    seed: int = 0,
    boot_universe: Sequence[str] | None = None,
) -> Effect:
    """How much more a plan rewards customer satisfaction than a baseline plan does.

    The estimate is ``corr(pay under plan, CSAT) - corr(pay under baseline, CSAT)`` (Pearson, over
    the seller-periods with CSAT responses; unitless, in [-2, 2]), with a seller-cluster bootstrap
    interval. Defaults: the dual metric ``"revenue + CSAT (30%)"`` against ``"revenue only"`` of
    :func:`default_plans`. Accounting on historical behaviour, not a causal forecast: it says what a
    plan pays for, not how CSAT would move under it.

    Parameters
    ----------
    data : path, Dataset or DataFrame
        As :func:`what_if`; CSAT is needed.
    plan, baseline : Plan, optional
    n_boot : int, default 499
    alpha : float, default 0.05
    seed : int, default 0
    boot_universe : sequence of str, optional
        Every seller of the data (joint draws with other designs, see ``research.registry``).

    Returns
    -------
    Effect
    """
    from ._boot import boot_effect, seller_weights

    plans = default_plans()
    plan = plan if plan is not None else plans[1]
    baseline = baseline if baseline is not None else plans[0]
    if plan.name == baseline.name:
        baseline = Plan(f"{baseline.name} (baseline)", **_plan_args(baseline))
    res = what_if(data, [baseline, plan])
    pay = res.payouts.pivot_table(
        index=["rep_id", "period"], columns="plan", values="pay", sort=True
    )
    first = res.payouts[res.payouts["plan"] == baseline.name].set_index(["rep_id", "period"])
    csat = first["csat_observed"].reindex(pay.index).to_numpy(float)
    ok = np.isfinite(csat)
    if ok.sum() < 10:
        raise ValueError(
            f"csat_reward: need CSAT responses in at least 10 seller-periods, found {int(ok.sum())}"
        )
    a = pay[plan.name].to_numpy(float)[ok]
    b = pay[baseline.name].to_numpy(float)[ok]
    c = csat[ok]
    # moments linear in the rows: 1, c, c^2, a, a^2, ac, b, b^2, bc
    X = np.column_stack([np.ones_like(c), c, c * c, a, a * a, a * c, b, b * b, b * c])
    reps = pay.index.get_level_values("rep_id").to_numpy()[ok]
    W = seller_weights(reps, n_boot=n_boot, seed=seed, universe=boot_universe)

    def gain(s: np.ndarray) -> np.ndarray:
        n, sc, scc = s[..., 0], s[..., 1], s[..., 2]
        vc = scc / n - (sc / n) ** 2

        def corr(sx, sxx, sxc):
            vx = sxx / n - (sx / n) ** 2
            cov = sxc / n - (sx / n) * (sc / n)
            with np.errstate(divide="ignore", invalid="ignore"):
                return cov / np.sqrt(vx * vc)

        return corr(s[..., 3], s[..., 4], s[..., 5]) - corr(s[..., 6], s[..., 7], s[..., 8])

    spec = {
        "plan": plan.name,
        "baseline": baseline.name,
        "n_boot": n_boot,
        "seed": seed,
        "boot_universe": None if boot_universe is None else len(boot_universe),
        "cluster": "rep_id",
        "notes": CAVEAT,
    }
    return boot_effect(
        float(gain(X.sum(0))),
        gain(W @ X),
        alpha=alpha,
        method="plan what-if: gain in the correlation of pay with CSAT (accounting)",
        outcome="csat_corr_gain (correlation points)",
        n_units=len(np.unique(reps)),
        n_obs=int(ok.sum()),
        spec=spec,
    )


def _plan_args(p: Plan) -> dict[str, Any]:
    d = asdict(p)
    d.pop("name")
    return d


def _frame(ds: Dataset) -> pd.DataFrame:
    sp = seller_periods(ds)
    if not ds.has("csat"):
        return sp
    c = ds.sql(
        "SELECT rep_id, CAST(response_date AS DATE) AS d, score / COALESCE(scale, 5) AS s FROM csat"
    )
    c["d"] = pd.to_datetime(c["d"])
    m = sp[["rep_id", "period_start", "period_end"]].reset_index().merge(c, on="rep_id")
    inside = (m["d"] >= m["period_start"]) & (m["d"] <= m["period_end"])
    sp["csat"] = m[inside].groupby("index")["s"].mean().reindex(sp.index)
    return sp


def _spearman(a: Any, b: Any) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(stats.spearmanr(a[ok], b[ok]).statistic)


def _json(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v
