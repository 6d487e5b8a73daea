"""Experiment design: minimum detectable effect, or units needed, for a randomized program.

Both come from the variance structure of the data themselves (intra-cluster correlation,
pre-period correlation, CUPED).

The outcome is taken per unit and period (``grain``) from the KPI panel: rates (win rate, attainment,
CSAT) as ratios of sums per unit, counts and revenue per active seller when the unit is a team. Units
are compared within periods (each period's mean is removed), so the variance is the cross-sectional
spread a randomized comparison in one period faces:

    MDE(J)   = (t_{1-alpha/2} + t_{power}) * sigma * sqrt(1 / (p J) + 1 / ((1 - p) J))
    MDE_cuped = MDE * sqrt(1 - rho^2)

with ``t`` quantiles on ``J - 2`` degrees of freedom (Bloom 1995), ``sigma`` the within-period SD of
the unit outcome, ``p`` the treated share, ``J`` units and
``rho`` the correlation of a unit's outcome with its own previous period (CUPED, Deng et al. 2013:
adjusting for the pre-period outcome removes the share ``rho^2`` of the variance). Solving for ``J``
gives the units needed. The intra-cluster correlation of sellers within teams (one-way ANOVA) is
reported for teams: it is what makes a team-randomized design need many more sellers than a
seller-randomized one (design effect ``1 + (m - 1) ICC``). ``Design.simulate_power`` checks the formula
by re-randomizing the data's own units with the effect added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.data import Dataset
from salesinsight.kpis import KPIS, SELLERS
from salesinsight.results import ResultMixin, Summary

from ._frames import as_dataset

__all__ = ["Design", "design", "unit_outcomes"]

#: outcomes a team panel holds as team totals and the design puts per seller (the data contract's
#: per-seller figures): the KPIs whose registry denominator is ``sellers_active``. Ratios (win rate,
#: attainment, cycle days, ...) and shares are already comparable across team sizes.
PER_SELLER_OUTCOMES: frozenset[str] = frozenset(
    name for name, k in KPIS.items() if k.denominator == SELLERS
)
UNITS: tuple[str, ...] = ("team", "rep")


@dataclass(frozen=True, eq=False)
class Design(ResultMixin):
    """Result of :func:`design` (every number in the outcome's units unless stated).

    Attributes
    ----------
    sigma : float
        Within-period SD of the unit outcome.
    rho_pre : float
        Correlation of a unit's outcome with its previous period (within periods).
    cuped_variance_factor : float
        ``1 - rho_pre ** 2``: the variance left after CUPED adjustment.
    icc, cluster_size, design_effect : float or None
        Sellers-within-team ICC, mean active sellers per team and ``1 + (m - 1) ICC`` (teams only).
    n_units : int
        Units in the design (given, solved for, or all units of the data's last period).
    mde, mde_cuped : float
        Minimum detectable effect at ``n_units`` without and with CUPED.
    units_needed, units_needed_cuped : int or None
        Units needed for the given ``mde_target`` (None when none was given).
    unit_outcomes : DataFrame
        ``unit_id, period, y, y_pre`` (within-period demeaned ``y_dm``, ``y_pre_dm``).
    spec : dict
    """

    sigma: float
    rho_pre: float
    cuped_variance_factor: float
    icc: float | None
    cluster_size: float | None
    design_effect: float | None
    n_units: int
    mde: float
    mde_cuped: float
    units_needed: int | None
    units_needed_cuped: int | None
    unit_outcomes: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity (``term``, ``value``)."""
        rows = [
            ("unit", self.spec["unit"]),
            ("outcome", self.spec["outcome"]),
            ("n_units", self.n_units),
            ("mde", self.mde),
            ("mde_cuped", self.mde_cuped),
            ("units_needed", self.units_needed),
            ("units_needed_cuped", self.units_needed_cuped),
            ("sigma", self.sigma),
            ("rho_pre", self.rho_pre),
            ("cuped_variance_factor", self.cuped_variance_factor),
            ("icc", self.icc),
            ("cluster_size", self.cluster_size),
            ("design_effect", self.design_effect),
            ("alpha", self.spec["alpha"]),
            ("power", self.spec["power"]),
        ]
        return pd.DataFrame(rows, columns=["term", "value"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view."""
        out = {}
        for term, v in self.to_frame().itertuples(index=False):
            if isinstance(v, float | np.floating):
                v = float(v) if math.isfinite(v) else None
            elif isinstance(v, np.integer):
                v = int(v)
            out[term] = v
        out["spec"] = dict(self.spec)
        return out

    def _summary(self) -> Summary:
        """Summarise what the design can detect, and what it would need."""
        s = self.spec
        rows = [
            ("units", self.n_units),
            ("MDE", f"{_fmt(self.mde)} ({_fmt(self.mde_cuped)} with CUPED)"),
        ]
        if s.get("mde_target") is not None:
            rows.append(
                (
                    "units needed",
                    f"{self.units_needed} for an effect of {_fmt(s['mde_target'])} "
                    f"({self.units_needed_cuped} with CUPED)",
                )
            )
        rows.append(
            (
                "variance",
                f"SD {_fmt(self.sigma)} between units within a period; previous-period "
                f"correlation {_fmt(self.rho_pre)}, so CUPED keeps "
                f"{100 * self.cuped_variance_factor:.0f}% of the variance",
            )
        )
        if self.icc is not None:
            rows.append(
                (
                    "clustering",
                    f"ICC {_fmt(self.icc)} among ~{_fmt(self.cluster_size)} sellers per team "
                    f"(design effect {_fmt(self.design_effect)})",
                )
            )
        rows.append(
            (
                "assumption",
                "the effect is a constant shift of the unit outcome in one post period; units "
                "are independent; the data's variance is that of the experiment's period",
            )
        )
        return Summary(
            title=(
                f"Experiment design: {s['outcome']} randomized by {s['unit']} (alpha "
                f"{s['alpha']:g}, power {s['power']:g}, treated share {s['treated_share']:g})"
            ),
            rows=rows,
        )

    def power_at(self, effect: float, n_units: int, *, cuped: bool = False) -> float:
        """Return the analytic two-sided power for ``effect`` with ``n_units`` units.

        Noncentral t with ``n_units - 2`` degrees of freedom.
        """
        p = self.spec["treated_share"]
        se = _sd(self, cuped) * math.sqrt(1 / (p * n_units) + 1 / ((1 - p) * n_units))
        df = max(n_units - 2, 1)
        crit = stats.t.ppf(1 - self.spec["alpha"] / 2, df)
        nc = abs(effect) / se
        return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))

    def simulate_power(
        self, effect: float, *, n_sims: int = 500, cuped: bool = False, seed: int = 0
    ) -> float:
        """Return the simulated power for ``effect`` on re-randomizations of the data's own units.

        The share of re-randomizations of the data's own units (one period at a time) in which the
        two-sided Welch test (or the CUPED-adjusted difference) rejects at ``alpha`` once ``effect``
        is added to the treated units.

        It uses the units the data have in each period (``spec["n_available"]`` in the last), so
        compare it with ``power_at(effect, spec["n_available"])``, not with ``power``.
        """
        rng = np.random.default_rng(seed)
        uo = self.unit_outcomes.dropna(subset=["y_dm"] + (["y_pre_dm"] if cuped else []))
        groups = [g for _, g in uo.groupby("period") if len(g) >= 4]
        if not groups:
            raise ValueError("simulate_power: no period with at least 4 units")
        p, alpha = self.spec["treated_share"], self.spec["alpha"]
        hits = 0
        for i in range(n_sims):
            g = groups[i % len(groups)]
            y = g["y_dm"].to_numpy(float)
            t = np.zeros(len(y), dtype=bool)
            t[rng.permutation(len(y))[: max(1, round(p * len(y)))]] = True
            y = y + effect * t
            if cuped:
                x = g["y_pre_dm"].to_numpy(float)
                theta = np.cov(x, y - effect * t)[0, 1] / np.var(x, ddof=1)
                y = y - theta * (x - x.mean())
            hits += stats.ttest_ind(y[t], y[~t], equal_var=False).pvalue < alpha
        return hits / n_sims

    def plot(self, *, ax: Any = None) -> Any:
        """MDE against the number of units, with and without CUPED; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        J = np.arange(4, max(4 * self.n_units, 40) + 1, 2)
        ax.plot(J, [_mde(self, j, False) for j in J.tolist()], label="difference in means")
        ax.plot(J, [_mde(self, j, True) for j in J.tolist()], label="with CUPED")
        ax.axvline(self.n_units, color="grey", ls="--", lw=1)
        ax.set_xlabel(f"{self.spec['unit']}s randomized")
        ax.set_ylabel(f"MDE ({self.spec['outcome']})")
        ax.legend(frameon=False)
        return ax


def unit_outcomes(
    data: str | Path | Dataset,
    *,
    unit: str = "team",
    outcome: str = "win_rate",
    grain: str = "quarter",
) -> pd.DataFrame:
    """Outcome per unit and period from the KPI panel, with the previous period's value.

    Counts and revenue are per active seller for teams (managers excluded, as the data contract's
    per-seller figures); periods with less than half the median
    volume of closes and activities (partial periods at the data's edges) are dropped.
    """
    from salesinsight.metrics import panel

    if unit not in UNITS:
        raise ValueError(f"design: unit must be one of {', '.join(UNITS)}, got {unit!r}")
    ds = as_dataset(data)
    p = panel(ds, grain=grain, by=unit)
    if outcome not in p.columns:
        raise ValueError(f"design: outcome {outcome!r} is not a panel KPI (see docs/metrics.md)")
    key = "team_id" if unit == "team" else "rep_id"
    y = p[outcome].astype(float)
    if unit == "team":
        active = p["n_active_reps"] > 0
        if outcome in PER_SELLER_OUTCOMES:
            n = p["sellers_active"].astype(float)
            y = y / n.where(n > 0)
    else:
        active = p["active"].astype(bool)
    df = pd.DataFrame({"unit_id": p[key], "period_start": p["period_start"], "period": p["period"]})
    # periods at the data's edges hold only part of their days (or only old pipeline): leave out
    # periods with less than half the median volume of closes and activities
    volume = (p["opps_closed"].fillna(0) + p["activities"].fillna(0)).groupby(p["period"]).sum()
    full = volume[volume >= 0.5 * volume.median()].index
    df["y"] = y.where(active & p["period"].isin(full))
    df = df.sort_values(["unit_id", "period_start"], kind="stable")
    df["y_pre"] = df.groupby("unit_id")["y"].shift(1)
    df = df.dropna(subset=["y"])
    df["y_dm"] = df["y"] - df.groupby("period")["y"].transform("mean")
    both = df.dropna(subset=["y_pre"])
    pre_mean = both.groupby("period")["y_pre"].transform("mean")
    df["y_pre_dm"] = (df["y_pre"] - pre_mean.reindex(df.index)).where(df["y_pre"].notna())
    return df.reset_index(drop=True)


def design(
    data: str | Path | Dataset,
    *,
    unit: str = "team",
    outcome: str = "win_rate",
    mde: float | None = None,
    n_units: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    treated_share: float = 0.5,
    grain: str = "quarter",
) -> Design:
    """Minimum detectable effect for ``n_units`` units, or units needed for an effect ``mde``.

    Parameters
    ----------
    data : path or Dataset
    unit : {"team", "rep"}, default "team"
        Level of randomization.
    outcome : str, default "win_rate"
        A KPI of the panel (``docs/metrics.md``); rates in their own units (win rate as a
        probability), counts and revenue per seller and period.
    mde : float, optional
        Effect to detect, in the outcome's units: the units needed are solved for.
    n_units : int, optional
        Units available; default all units active in the data's last period.
    alpha : float, default 0.05
        Two-sided test level.
    power : float, default 0.8
    treated_share : float, default 0.5
    grain : {"quarter", "month", "week"}, default "quarter"
        Length of the post period the outcome is measured over.

    Returns
    -------
    Design
    """
    problems = []
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if not 0 < power < 1:
        problems.append(f"power must be in (0, 1), got {power!r}")
    if not 0 < treated_share < 1:
        problems.append(f"treated_share must be in (0, 1), got {treated_share!r}")
    if mde is not None and not mde > 0:
        problems.append(f"mde must be > 0, got {mde!r}")
    if n_units is not None and n_units < 4:
        problems.append(f"n_units must be at least 4, got {n_units!r}")
    if problems:
        raise ValueError("design: " + "; ".join(problems))
    ds = as_dataset(data)
    uo = unit_outcomes(ds, unit=unit, outcome=outcome, grain=grain)
    if uo["period"].nunique() < 2 or len(uo) < 8:
        raise ValueError(f"design: need at least two periods of {outcome} per {unit}")
    sigma = float(np.sqrt((uo["y_dm"] ** 2).sum() / (len(uo) - uo["period"].nunique())))
    both = uo.dropna(subset=["y_pre_dm"])
    rho = float(np.corrcoef(both["y_dm"], both["y_pre_dm"])[0, 1]) if len(both) > 3 else 0.0
    last = uo["period_start"].max()
    available = int((uo["period_start"] == last).sum())
    icc = size = deff = None
    if unit == "team":
        icc, size = _icc(ds, outcome, grain)
        deff = 1 + (size - 1) * icc if icc is not None and size is not None else None
    spec = {
        "unit": unit,
        "outcome": outcome,
        "alpha": alpha,
        "power": power,
        "treated_share": treated_share,
        "grain": grain,
        "mde_target": mde,
        "n_units_given": n_units,
        "n_available": available,
    }
    shell = Design(
        sigma=sigma,
        rho_pre=rho,
        cuped_variance_factor=1 - rho**2,
        icc=icc,
        cluster_size=size,
        design_effect=deff,
        n_units=n_units or available,
        mde=float("nan"),
        mde_cuped=float("nan"),
        units_needed=None,
        units_needed_cuped=None,
        unit_outcomes=uo,
        spec=spec,
    )
    need = need_c = None
    if mde is not None:
        need, need_c = _units(shell, mde, False), _units(shell, mde, True)
    J = n_units or (need if need is not None else available)
    return Design(
        **{
            **shell.__dict__,
            "n_units": int(J),
            "mde": _mde(shell, J, False),
            "mde_cuped": _mde(shell, J, True),
            "units_needed": need,
            "units_needed_cuped": need_c,
        }
    )


def _sd(d: Design, cuped: bool) -> float:
    return d.sigma * math.sqrt(d.cuped_variance_factor if cuped else 1.0)


def _multiplier(d: Design, J: int) -> float:
    """``t_{1-alpha/2} + t_{power}`` with ``J - 2`` degrees of freedom (Bloom 1995)."""
    df = max(J - 2, 1)
    return float(stats.t.ppf(1 - d.spec["alpha"] / 2, df) + stats.t.ppf(d.spec["power"], df))


def _mde(d: Design, J: int, cuped: bool) -> float:
    p = d.spec["treated_share"]
    return _multiplier(d, J) * _sd(d, cuped) * math.sqrt(1 / (p * J) + 1 / ((1 - p) * J))


def _units(d: Design, mde: float, cuped: bool) -> int:
    """Smallest J whose MDE is at most ``mde`` (the t multiplier depends on J)."""
    p = d.spec["treated_share"]
    z = float(stats.norm.ppf(1 - d.spec["alpha"] / 2) + stats.norm.ppf(d.spec["power"]))
    J = max(4, int(math.ceil((z * _sd(d, cuped) / mde) ** 2 * (1 / p + 1 / (1 - p)))))
    while _mde(d, J, cuped) > mde:
        J += 1
    return J


def _icc(ds: Dataset, outcome: str, grain: str) -> tuple[float | None, float | None]:
    """Return the one-way ANOVA ICC of seller outcomes within teams, and the mean team size.

    Managers are excluded, the ICC is pooled over periods, and the team size is the ANOVA mean
    team size.
    """
    from salesinsight.metrics import panel

    p = panel(ds, grain=grain, by="rep")
    reps = ds.table("reps")
    role = reps.set_index("rep_id")["role"] if "role" in reps else pd.Series(dtype=object)
    is_mgr = p["rep_id"].map(role).fillna("").astype(str).str.lower().eq("manager")
    p = p[p["active"].astype(bool) & ~is_mgr].dropna(subset=[outcome])
    if p.empty:
        return None, None
    msb_num = msw_num = 0.0
    df_b = df_w = 0
    sizes = []
    for _, g in p.groupby("period"):
        teams = g.groupby("team_id")[outcome]
        n = teams.size()
        if len(n) < 2:
            continue
        grand = g[outcome].mean()
        msb_num += float((n * (teams.mean() - grand) ** 2).sum())
        msw_num += float(((g[outcome] - teams.transform("mean")) ** 2).sum())
        df_b += len(n) - 1
        df_w += int(n.sum()) - len(n)
        N, k = int(n.sum()), len(n)
        sizes.append((N - (n**2).sum() / N) / (k - 1))
    if df_b == 0 or df_w == 0:
        return None, None
    msb, msw, m0 = msb_num / df_b, msw_num / df_w, float(np.mean(sizes))
    icc = (msb - msw) / (msb + (m0 - 1) * msw)
    return float(max(icc, 0.0)), m0


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    f = float(x)
    return f"{f:.4g}" if math.isfinite(f) else "n/a"
