"""Who gains more from a seller-level program? Difference-in-differences of the win rate by subgroup.

For a program enrolled by seller (``enrollments.unit_id`` = rep, e.g. the staggered training
``P_TRAIN``), each cohort (sellers starting in the same quota period q0) is compared with the sellers
never enrolled in the program, between the period before (q0 - 1) and the period ``skip`` + 1 after
the start (the start period itself is skipped while the effect ramps up). Sellers are split by
tenure, a rule fixed before looking at the outcome and applied alike to enrolled and never-enrolled
sellers: *low* when tenure at the start of q0 - 1 is below ``split`` days (default 365).

A split on the pre-period outcome itself (low vs high baseline attainment) is deliberately not
offered: enrolled sellers below quota are short mostly for persistent reasons (managers nominate the
weakest), never-enrolled ones mostly by luck, so the controls rebound more (regression to the mean)
and the low group's effect is biased down. On one simulated folder (seed 200, planted +0.025 for
everyone) that split gave -0.015 [-0.044, 0.014] for the low group.

The win rate of a cell is a ratio of sums (won / closed deals). Per cohort and group,
``effect = (post - pre)_enrolled - (post - pre)_never``; the group effect averages cohorts weighted
by their enrolled sellers, and ``difference = effect_low - effect_high``.
Intervals: seller-cluster bootstrap (a never-enrolled seller serving several cohorts is resampled
once). Assumption: within each group, enrolled and never-enrolled sellers' win rates would have moved
alike without the program (parallel trends by group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.data import Dataset
from salesinsight.research._display import fmt
from salesinsight.results import ResultMixin, Summary

from ._boot import boot_effect, seller_weights
from ._frames import as_dataset, closed_deals, seller_periods

__all__ = ["SubgroupEffects", "subgroup_effects"]

TERMS: tuple[str, ...] = ("low", "high", "difference")


@dataclass(frozen=True, eq=False)
class SubgroupEffects(ResultMixin):
    """Result of :func:`subgroup_effects`.

    Attributes
    ----------
    effects : dict of str to Effect
        ``low``, ``high`` (win-rate effect in each group, probability points) and ``difference``
        (low - high).
    cells : DataFrame
        Per cohort, group and arm: sellers, won and closed deals before and after.
    spec : dict
    """

    effects: dict[str, Effect]
    cells: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Effect:
        return self.effects[name]

    def to_frame(self) -> pd.DataFrame:
        """One row per term: low, high, difference."""
        return pd.DataFrame(
            [
                {
                    "term": t,
                    "estimate": e.estimate,
                    "se": e.se,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p_value": e.p_value,
                    "n_units": e.n_units,
                }
                for t, e in self.effects.items()
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view."""
        out: dict[str, Any] = {"spec": dict(self.spec)}
        for t, e in self.effects.items():
            out[t] = {k: _num(getattr(e, k)) for k in ("estimate", "se", "ci_low", "ci_high")}
        return out

    def _summary(self) -> Summary:
        """Summarise the effect in each group and their difference, with intervals."""
        s = self.spec
        level = f"{100 * (1 - s['alpha']):g}%"
        rule = f"tenure below {s['split']:g} days"
        rows = [
            (
                "cohorts",
                f"{s['n_cohorts']}; enrolled sellers {s['n_enrolled']}, never enrolled "
                f"{s['n_never']}",
            )
        ]
        for t, e in self.effects.items():
            rows.append((t, f"{fmt(e.estimate)}  {level} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"))
        rows.append(
            (
                "assumption",
                "within each group, enrolled and never-enrolled sellers' win rates would have "
                "moved alike without the program",
            )
        )
        return Summary(
            title=f"{s['program_id']}: win-rate effect by subgroup (low = {rule})", rows=rows
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Plot the three estimates with their intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 2.5))
        f = self.to_frame()
        y = np.arange(len(f))
        ax.errorbar(
            f["estimate"],
            y,
            xerr=[f["estimate"] - f["ci_low"], f["ci_high"] - f["estimate"]],
            fmt="o",
            color="#4c72b0",
            capsize=3,
        )
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, f["term"])
        ax.set_xlabel("win-rate effect (probability points)")
        return ax


def subgroup_effects(
    data: str | Path | Dataset,
    program_id: str,
    *,
    split: float = 365.0,
    skip: int = 1,
    n_boot: int = 499,
    alpha: float = 0.05,
    seed: int = 0,
    boot_universe: Sequence[str] | None = None,
) -> SubgroupEffects:
    """Win-rate effect of a seller-level program in a low and a high group, and their difference.

    Parameters
    ----------
    data : path or Dataset
        Data folder with ``enrollments`` (seller units), ``opportunities``, ``reps`` and ``quotas``.
    program_id : str
    split : float, default 365
        Tenure (days, at the start of the period before the program start) below which a seller is
        in the *low* group.
    skip : int, default 1
        Quota periods skipped after the start (the effect ramps up); the post period is q0 + skip.
    n_boot : int, default 499
    alpha : float, default 0.05
    seed : int, default 0
    boot_universe : sequence of str, optional
        Every seller of the data (joint draws with other designs, see ``research.registry``).

    Returns
    -------
    SubgroupEffects
    """
    _validate(split, skip, alpha)
    ds = as_dataset(data)
    enr = _enrollments(ds, program_id)
    sp = seller_periods(ds)
    deals = closed_deals(ds)
    if not set(enr["rep_id"]) <= set(sp["rep_id"]):
        raise ValueError(
            f"subgroup_effects: {program_id!r} is not enrolled by seller (unit_id are not rep_id)"
        )
    periods, panel = _period_panel(sp, deals)
    f = _cohort_rows(enr, sp, periods, panel, skip=skip, split=split)
    if f.empty or not {"enrolled", "never"} <= set(f["arm"]):
        raise ValueError(
            f"subgroup_effects: no cohort of {program_id!r} has enrolled and never-enrolled "
            "sellers with a full period before and after the start"
        )
    cohorts = sorted(f["cohort"].unique())
    X2 = _cell_sums(f, cohorts)
    W = seller_weights(f["rep_id"], n_boot=n_boot, seed=seed, universe=boot_universe)
    point = _group_effects(X2.sum(0), len(cohorts))
    boot = _group_effects(W @ X2, len(cohorts))
    spec = {
        "program_id": program_id,
        "by": "tenure",
        "split": split,
        "skip": skip,
        "n_boot": n_boot,
        "alpha": alpha,
        "seed": seed,
        "boot_universe": None if boot_universe is None else len(boot_universe),
        "cluster": "rep_id",
        "n_cohorts": len(cohorts),
        "n_enrolled": int(f.loc[f["arm"] == "enrolled", "rep_id"].nunique()),
        "n_never": int(f.loc[f["arm"] == "never", "rep_id"].nunique()),
    }
    effects = {
        t: boot_effect(
            float(point[t]),
            boot[t],
            alpha=alpha,
            method="subgroup difference-in-differences (tenure, never-enrolled controls)",
            outcome=f"win_rate effect, {t} (probability points)",
            n_units=int(f["rep_id"].nunique()),
            n_obs=len(f),
            spec=spec,
        )
        for t in TERMS
    }
    return SubgroupEffects(effects=effects, cells=_cells_table(f), spec=spec)


# ----------------------------------------------------------------------------------------------------------
# Steps: validate -> enrollments -> seller-period panel -> cohort rows -> cell sums -> effects
# ----------------------------------------------------------------------------------------------------------
#: the sums kept per cohort, group and arm (``n`` counts the sellers)
_STATS: tuple[str, ...] = ("won_pre", "closed_pre", "won_post", "closed_post", "n")


def _validate(split: float, skip: int, alpha: float) -> None:
    """Raise one ValueError naming every bad argument."""
    problems = []
    if not split > 0:
        problems.append(f"split must be a positive number of days, got {split!r}")
    if not isinstance(skip, int | np.integer) or skip < 0:
        problems.append(f"skip must be a whole number >= 0, got {skip!r}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if problems:
        raise ValueError("subgroup_effects: " + "; ".join(problems))


def _enrollments(ds: Dataset, program_id: str) -> pd.DataFrame:
    """Return ``rep_id, start, arm`` of the program's enrollment rows."""
    enr = ds.sql(
        "SELECT unit_id AS rep_id, CAST(start_date AS DATE) AS start, arm FROM enrollments "
        f"WHERE program_id = '{program_id.replace(chr(39), chr(39) * 2)}'"
    )
    if enr.empty:
        raise ValueError(f"subgroup_effects: program {program_id!r} has no enrollment rows")
    enr["start"] = pd.to_datetime(enr["start"])
    return enr


def _period_panel(sp: pd.DataFrame, deals: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Return the sorted period starts and won/closed deals and tenure per seller and period index."""
    periods = np.sort(sp["period_start"].unique())
    k = {p: i for i, p in enumerate(periods)}
    sp["k"] = sp["period_start"].map(k)
    m = deals.merge(sp[["rep_id", "period_start", "period_end", "k"]], on="rep_id")
    m = m[(m["close_date"] >= m["period_start"]) & (m["close_date"] <= m["period_end"])]
    wc = m.groupby(["rep_id", "k"]).agg(won=("won", "sum"), closed=("won", "size"))
    panel = (
        sp.set_index(["rep_id", "k"])[["tenure_days"]].join(wc).fillna({"won": 0.0, "closed": 0.0})
    )
    return periods, panel


def _cohort_rows(
    enr: pd.DataFrame,
    sp: pd.DataFrame,
    periods: np.ndarray,
    panel: pd.DataFrame,
    *,
    skip: int,
    split: float,
) -> pd.DataFrame:
    """One row per cohort and seller (enrolled or never enrolled) with a period before and after."""
    treated = enr[enr["arm"].fillna("treatment") == "treatment"]
    never = sorted(set(sp["rep_id"]) - set(enr["rep_id"]))
    rows = []
    for start, grp in treated.groupby("start"):
        q0 = int(np.searchsorted(periods, np.datetime64(start), side="right")) - 1
        pre, post = q0 - 1, q0 + skip
        if pre < 0 or post >= len(periods):
            continue
        for arm, reps in (("enrolled", sorted(grp["rep_id"])), ("never", never)):
            for r in reps:
                if (r, pre) not in panel.index or (r, post) not in panel.index:
                    continue
                a, b = panel.loc[(r, pre)], panel.loc[(r, post)]
                x = a["tenure_days"]
                rows.append(
                    {
                        "cohort": str(pd.Timestamp(periods[q0]).date()),
                        "rep_id": r,
                        "arm": arm,
                        "group": "low" if x < split else "high",
                        "won_pre": a["won"],
                        "closed_pre": a["closed"],
                        "won_post": b["won"],
                        "closed_post": b["closed"],
                    }
                )
    return pd.DataFrame(rows)


def _cell_sums(f: pd.DataFrame, cohorts: list[str]) -> np.ndarray:
    """Per seller row, its sums placed in its (cohort, group, arm) cell, flattened."""
    cells = [(c, g, a) for c in cohorts for g in ("low", "high") for a in ("enrolled", "never")]
    idx = {cell: i for i, cell in enumerate(cells)}
    col = f[["cohort", "group", "arm"]].apply(tuple, axis=1).map(idx).to_numpy()
    X = np.zeros((len(f), len(cells), len(_STATS)))
    vals = f[list(_STATS[:4])].to_numpy(float)
    X[np.arange(len(f)), col, :4] = vals
    X[np.arange(len(f)), col, 4] = 1.0
    return X.reshape(len(f), -1)


def _group_effects(s: np.ndarray, n_cohorts: int) -> dict[str, np.ndarray]:
    """Win-rate DiD per group from cell sums, cohorts weighted by enrolled sellers."""
    s = s.reshape(*s.shape[:-1], n_cohorts, 2, 2, len(_STATS))
    with np.errstate(divide="ignore", invalid="ignore"):
        change = s[..., 2] / s[..., 3] - s[..., 0] / s[..., 1]  # (.., cohort, group, arm)
        did = change[..., 0] - change[..., 1]  # (.., cohort, group)
        n_t = s[..., 0, 4]  # enrolled sellers per cohort and group
        ok = np.isfinite(did) & (n_t > 0)
        eff = np.where(ok, did * n_t, 0.0).sum(-2) / np.where(ok, n_t, 0.0).sum(-2)
    return {"low": eff[..., 0], "high": eff[..., 1], "difference": eff[..., 0] - eff[..., 1]}


def _cells_table(f: pd.DataFrame) -> pd.DataFrame:
    """Sellers and won/closed deals before and after per cohort, group and arm."""
    return (
        f.groupby(["cohort", "group", "arm"])
        .agg(
            sellers=("rep_id", "size"),
            won_pre=("won_pre", "sum"),
            closed_pre=("closed_pre", "sum"),
            won_post=("won_post", "sum"),
            closed_post=("closed_post", "sum"),
        )
        .reset_index()
    )


def _num(x: Any) -> Any:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if np.isfinite(f) else None
