"""Regression discontinuity at a bonus threshold.

The effect of just reaching attainment ``threshold`` in a period on the next period (revenue,
attainment, activity, attrition).

Local-polynomial estimates come from the ``rdrobust`` package (Calonico, Cattaneo and Titiunik): the
conventional point estimate with the robust bias-corrected interval and p-value, MSE-optimal bandwidth,
standard errors clustered by seller. The manipulation test is ``rddensity`` (Cattaneo, Jansson and Ma)
on the running variable. The design needs sellers *not* to sort around the threshold; when bunching
(:func:`salesinsight.research.bunching`) finds excess mass just above it, or the density test rejects
continuity, the discontinuity is reported as **not credible** and its number is withheld from the
summary (it stays in ``effect`` for inspection, with failed required diagnostics).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.data import Dataset
from salesinsight.kpis import kpi
from salesinsight.results import ResultMixin, Summary

from ._bunching import Bunching, bunching
from ._frames import as_dataset, closed_deals, seller_periods

__all__ = ["OUTCOMES", "RDResult", "next_period_outcomes", "rd"]

#: next-period outcomes and their units.
OUTCOMES: dict[str, str] = {
    "revenue_next": "won revenue in the next period (currency)",
    "attainment_next": "attainment in the next period (revenue / quota)",
    "activities_next": "activities logged in the next period (count)",
    "left_next": "left the company during the next period (0/1)",
}
#: the KPI of ``salesinsight.kpis`` each next-period outcome measures (its direction comes from there)
_OUTCOME_KPIS: dict[str, str] = {
    "revenue_next": "revenue",
    "attainment_next": "attainment",
    "activities_next": "activities",
    "left_next": "attrition",
}


@dataclass(frozen=True, eq=False)
class RDResult(ResultMixin):
    """Result of :func:`rd`.

    Attributes
    ----------
    effect : Effect
        Jump in the outcome at the threshold (conventional estimate, robust bias-corrected
        interval); its diagnostics hold the density test and the bunching check (both required).
    credible : bool
        False when sellers sort around the threshold (bunching or density test).
    bunching : Bunching or None
    density_p : float
        ``rddensity`` p-value (jackknife) for continuity of the running variable's density.
    binned : DataFrame
        Outcome means in attainment bins (for the plot).
    spec : dict
    """

    effect: Effect
    credible: bool
    bunching: Bunching | None
    density_p: float
    binned: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row: the effect (``estimate``/interval missing when not credible) and credibility."""
        e = self.effect
        keep = self.credible
        return pd.DataFrame(
            [
                {
                    "term": f"jump at {self.spec['threshold']:g}",
                    "outcome": self.spec["outcome"],
                    "estimate": e.estimate if keep else np.nan,
                    "se": e.se if keep else np.nan,
                    "ci_low": e.ci_low if keep else np.nan,
                    "ci_high": e.ci_high if keep else np.nan,
                    "p_value": e.p_value if keep else np.nan,
                    "n_obs": e.n_obs,
                    "credible": self.credible,
                    "density_p": self.density_p,
                }
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view; the estimate is null when the design is not credible."""
        row = self.to_frame().iloc[0].to_dict()
        out = {k: _num(v) for k, v in row.items()}
        out["credible"] = self.credible
        out["reason"] = self.reason
        out["spec"] = dict(self.spec)
        return out

    @property
    def reason(self) -> str:
        """Why the design is or is not credible, in words."""
        if self.credible:
            return (
                "no sorting detected at the threshold (no excess mass, density continuous), so "
                "sellers just below and just above are comparable"
            )
        parts = [d.note for d in self.effect.diagnostics if d.required and d.passed is False]
        return "not credible: " + "; ".join(parts)

    def _summary(self) -> Summary:
        """Summarise the jump with its interval, or why it is not reported."""
        s = self.spec
        e = self.effect
        level = f"{100 * (1 - s['alpha']):g}%"
        if self.credible:
            rows = [
                (
                    "jump",
                    f"{_fmt(e.estimate)} (robust {level} [{_fmt(e.ci_low)}, {_fmt(e.ci_high)}], "
                    f"p = {_fmt(e.p_value)})",
                ),
                (
                    "bandwidth",
                    f"{_fmt(e.spec.get('bandwidth'))} either side, {e.spec.get('n_effective')} "
                    "seller-periods inside",
                ),
            ]
        else:
            rows = [("jump", "not reported: the discontinuity is NOT CREDIBLE")]
        rows.append(("reason", self.reason))
        return Summary(
            title=(
                f"Regression discontinuity at attainment {s['threshold']:g} -> {s['outcome']} "
                f"({OUTCOMES.get(s['outcome'], s['outcome'])})"
            ),
            rows=rows,
            notes=[d.describe() for d in e.diagnostics],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Binned outcome means against attainment with the threshold; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        b = self.binned
        t = self.spec["threshold"]
        for side, color in ((b["x"] < t, "#4c72b0"), (b["x"] >= t, "#dd8452")):
            ax.scatter(b.loc[side, "x"], b.loc[side, "y"], s=14, color=color)
        ax.axvline(t, color="grey", ls="--", lw=1)
        ax.set_xlabel("attainment this period")
        ax.set_ylabel(self.spec["outcome"])
        state = "" if self.credible else " (not credible: sorting)"
        ax.set_title(f"Discontinuity at {t:g}{state}")
        return ax


def next_period_outcomes(data: str | Path | Dataset) -> pd.DataFrame:
    """Seller-periods with the next period's outcomes (``OUTCOMES``), for periods that have a next one.

    A seller counts in ``left_next`` when employed at the period end and terminated on or before the
    next period's end; the other outcomes are over the next quota period's dates.
    """
    ds = as_dataset(data)
    sp = seller_periods(ds)
    ends = np.sort(sp["period_end"].unique())
    nxt = dict(zip(ends[:-1], ends[1:], strict=True))
    sp = sp[sp["period_end"].isin(list(nxt))].copy()
    sp["next_end"] = sp["period_end"].map(nxt)
    term = sp["termination_date"]
    sp = sp[term.isna() | (term > sp["period_end"])]
    sp["left_next"] = (sp["termination_date"] <= sp["next_end"]).astype(float)
    won = closed_deals(ds)
    won = won[won["won"]]
    m = sp[["rep_id", "period_end", "next_end"]].reset_index().merge(won, on="rep_id")
    inside = (m["close_date"] > m["period_end"]) & (m["close_date"] <= m["next_end"])
    rev = m[inside].groupby("index")["amount"].sum()
    sp["revenue_next"] = rev.reindex(sp.index).fillna(0.0)
    q = ds.sql("SELECT rep_id, CAST(period_end AS DATE) AS next_end, quota_amount FROM quotas")
    q["next_end"] = pd.to_datetime(q["next_end"])
    sp = sp.merge(
        q.rename(columns={"quota_amount": "quota_next"}), on=["rep_id", "next_end"], how="left"
    )
    sp["attainment_next"] = sp["revenue_next"] / sp["quota_next"]
    if ds.has("activities"):
        a = ds.sql(
            "SELECT rep_id, CAST(activity_date AS DATE) AS d, count(*) AS n FROM activities GROUP BY ALL"
        )
        a["d"] = pd.to_datetime(a["d"])
        ma = sp[["rep_id", "period_end", "next_end"]].reset_index().merge(a, on="rep_id")
        ins = (ma["d"] > ma["period_end"]) & (ma["d"] <= ma["next_end"])
        sp["activities_next"] = (
            ma[ins].groupby("index")["n"].sum().reindex(sp.index).fillna(0.0).astype(float)
        )
    return sp.reset_index(drop=True)


def rd(
    data: str | Path | Dataset | pd.DataFrame,
    *,
    outcome: str = "revenue_next",
    threshold: float = 1.0,
    alpha: float = 0.05,
    bunching_check: bool = True,
    n_boot: int = 499,
    seed: int = 0,
) -> RDResult:
    """Effect of just reaching ``threshold`` attainment on a next-period outcome, with the sorting checks.

    Parameters
    ----------
    data : path, Dataset or DataFrame
        A data folder, or a frame with ``rep_id``, ``attainment`` and the ``outcome`` column.
    outcome : str, default "revenue_next"
        One of ``OUTCOMES`` (or any column of a frame passed in).
    threshold : float, default 1.0
        Attainment cutoff (1.0 = quota; bonus or accelerator thresholds otherwise).
    alpha : float, default 0.05
        One minus the interval level; also the level of the density test.
    bunching_check : bool, default True
        Run :func:`bunching` at the threshold; excess mass makes the design not credible.
    n_boot : int, default 499
        Bootstrap draws of the bunching check.
    seed : int, default 0

    Returns
    -------
    RDResult
    """
    if not 0 < alpha < 1:
        raise ValueError(f"rd: alpha must be in (0, 1), got {alpha!r}")
    f = _rd_frame(data, outcome, threshold)
    x = f["attainment"].to_numpy(float)
    y = f[outcome].to_numpy(float)
    cluster = pd.factorize(f["rep_id"])[0]
    est = _rdrobust(y, x, threshold, cluster, alpha)
    density_p = _rddensity(x, threshold)
    bun = bun_mb = None
    if bunching_check:
        bun = bunching(f, threshold=threshold, n_boot=n_boot, alpha=alpha, seed=seed)
        bun_mb = bunching(
            f, threshold=threshold, upper="mass_balance", n_boot=n_boot, alpha=alpha, seed=seed
        )
    diags = _sorting_checks(density_p, bun, threshold, alpha, mass_balance=bun_mb)
    credible = not any(d.required and d.passed is False for d in diags)
    spec = {
        "outcome": outcome,
        "threshold": threshold,
        "alpha": alpha,
        "bunching_check": bunching_check,
        "n_boot": n_boot,
        "seed": seed,
    }
    effect = Effect(
        estimate=est["estimate"],
        se=est["se"],
        ci_low=est["ci_low"],
        ci_high=est["ci_high"],
        p_value=est["p_value"],
        n_units=int(cluster.max()) + 1,
        n_obs=len(f),
        method="regression discontinuity (rdrobust, local linear, robust bias-corrected CI)",
        outcome=outcome,
        spec={
            **spec,
            "ci_level": 1 - alpha,
            "bandwidth": est["h"],
            "n_effective": est["n_h"],
            "inference": "robust bias-corrected, clustered by seller",
            "versions": library_versions(),
        },
        diagnostics=tuple(diags),
        higher_is_better=_higher_is_better(outcome),
    )
    return RDResult(
        effect=effect,
        credible=credible,
        bunching=bun,
        density_p=density_p,
        binned=_binned(x, y, threshold),
        spec=spec,
    )


def _higher_is_better(outcome: str) -> bool:
    """Direction of the outcome's KPI (``salesinsight.kpis``); higher for a column of the caller's."""
    name = _OUTCOME_KPIS.get(outcome)
    return name is None or kpi(name).direction != "lower"


def _rd_frame(
    data: str | Path | Dataset | pd.DataFrame, outcome: str, threshold: float
) -> pd.DataFrame:
    """Return ``rep_id, attainment, outcome`` without missing values, 20 or more on each side."""
    frame = data if isinstance(data, pd.DataFrame) else next_period_outcomes(data)
    missing = {"rep_id", "attainment", outcome} - set(frame.columns)
    if missing:
        known = ", ".join(OUTCOMES)
        raise ValueError(
            f"rd: column(s) {', '.join(sorted(missing))} not available (outcomes from a data "
            f"folder: {known}; activities_next needs activities.csv)"
        )
    f = frame[["rep_id", "attainment", outcome]].dropna()
    x = f["attainment"].to_numpy(float)
    if (x < threshold).sum() < 20 or (x >= threshold).sum() < 20:
        raise ValueError(
            f"rd: need at least 20 seller-periods on each side of {threshold:g}; found "
            f"{int((x < threshold).sum())} below and {int((x >= threshold).sum())} above"
        )
    return f


def _sorting_checks(
    density_p: float, bun: Any, threshold: float, alpha: float, *, mass_balance: Any = None
) -> list[Diagnostic]:
    """Return the density-continuity check and, when run, the no-bunching checks.

    Bunching is checked with both upper-edge rules (the fixed default and mass balance): excess mass
    found by either makes the design not credible. The fixed edge has more power against sorting
    that lands just above the threshold; mass balance catches sellers pushed further above it (deals
    pulled in across quota), which the fixed edge can miss.
    """
    diags = [
        Diagnostic(
            name="density_continuity",
            passed=None if not np.isfinite(density_p) else bool(density_p >= alpha),
            p_value=density_p,
            note=f"rddensity manipulation test at {threshold:g} (p = {density_p:.3g})"
            if np.isfinite(density_p)
            else "rddensity could not be computed",
        )
    ]
    if bun is not None:
        diags.append(
            Diagnostic(
                name="no_bunching",
                passed=not bun.sorting,
                value=float(bun.excess.estimate),
                note=(
                    f"excess mass just above {threshold:g}: B = {bun.excess.estimate:.3g} seller-"
                    f"periods, interval [{bun.excess.ci_low:.3g}, {bun.excess.ci_high:.3g}]"
                ),
            )
        )
    if mass_balance is not None:
        mb = mass_balance.excess
        diags.append(
            Diagnostic(
                name="no_bunching_mass_balance",
                passed=not mass_balance.sorting,
                value=float(mb.estimate),
                note=(
                    f"excess mass above {threshold:g} with the mass-balance upper edge: B = "
                    f"{mb.estimate:.3g} seller-periods, interval [{mb.ci_low:.3g}, {mb.ci_high:.3g}]"
                ),
            )
        )
    return diags


def _rdrobust(y, x, c, cluster, alpha) -> dict[str, float]:
    from rdrobust import rdrobust

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        r = rdrobust(y, x, c=c, cluster=cluster, level=100 * (1 - alpha))
    return {
        "estimate": float(r.coef.loc["Conventional"].iloc[0]),
        "se": float(r.se.loc["Robust"].iloc[0]),
        "ci_low": float(r.ci.loc["Robust"].iloc[0]),
        "ci_high": float(r.ci.loc["Robust"].iloc[1]),
        "p_value": float(r.pv.loc["Robust"].iloc[0]),
        "h": float(r.bws.loc["h"].iloc[0]),
        "n_h": int(sum(r.N_h)),
    }


def _rddensity(x, c) -> float:
    from rddensity import rddensity

    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            d = rddensity(X=x, c=c)
        return float(d.test["p_jk"])
    except Exception:  # the package raises bare exceptions on degenerate data
        return float("nan")


def _binned(x, y, c, width: float = 0.05) -> pd.DataFrame:
    k = np.floor((x - c) / width)
    df = pd.DataFrame({"k": k, "y": y})
    g = df.groupby("k")["y"].agg(["mean", "size"]).reset_index()
    g = g[(g["k"] >= -12) & (g["k"] < 12)]
    return pd.DataFrame({"x": c + (g["k"] + 0.5) * width, "y": g["mean"], "n": g["size"]})


def _num(x: Any) -> Any:
    if isinstance(x, bool | np.bool_):
        return bool(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if np.isfinite(f) else None


def _fmt(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return f"{f:,.4g}" if np.isfinite(f) else "n/a"
