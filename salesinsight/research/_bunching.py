"""Bunching at a threshold (Kleven 2016, *Bunching*; Chetty et al. 2011).

Excess mass of quarterly attainment just above a quota, accelerator or bonus threshold, against a
smooth counterfactual density.

Attainment of every full seller-period is binned (width ``bin_width``) over ``fit_range``. A polynomial
of degree ``degree`` is fitted to the bin counts with one dummy per bin in the excluded window
``[lower, upper)`` around the threshold, so the window does not inform the smooth part; the
counterfactual count of a bin is the polynomial alone. Then

    B = sum over bins in [threshold, upper) of (count - counterfactual)     excess (the bunchers)
    M = sum over bins in [lower, threshold) of (counterfactual - count)     missing mass below
    b = B / counterfactual count of the first bin at the threshold         Kleven's normalized b

``B`` and ``M`` should agree when bunchers come from just below. By default the upper edge of the
window is ``threshold + 0.2`` (``DEFAULT_UPPER_OFFSET``), so bunchers who overshoot the threshold (one
deal can be 10-20% of quota) are not absorbed by the polynomial; it was chosen over the data-driven
edge on a pre-registered simulation comparison (docs/research.md: same false-excess rate, power 0.80
against 0.48). ``upper="mass_balance"`` chooses the edge from the data as Kleven (2016) recommends:
starting one bin above the threshold, it is widened bin by bin (up to ``max_upper``) until the excess
``B`` reaches the missing mass ``M``. ``window`` reports ``B`` and ``M`` for every candidate edge (the
window sensitivity). Intervals: seller-cluster bootstrap of the whole procedure (bins re-counted, a
data-driven edge re-chosen, polynomial re-fitted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.data import Dataset
from salesinsight.research._display import fmt
from salesinsight.results import ResultMixin, Summary

from ._boot import boot_effect, seller_weights
from ._frames import as_dataset, seller_periods

__all__ = ["DEFAULT_UPPER_OFFSET", "Bunching", "bunching"]

#: default upper edge of the excluded window, above the threshold (attainment units)
DEFAULT_UPPER_OFFSET = 0.2


@dataclass(frozen=True, eq=False)
class Bunching(ResultMixin):
    """Result of :func:`bunching`.

    Attributes
    ----------
    excess : Effect
        ``B``, the number of seller-periods in excess just above the threshold (count).
    b : Effect
        Excess relative to the counterfactual count of the threshold bin (Kleven's ``b``, in bins).
    missing : Effect
        ``M``, the seller-periods missing just below the threshold (count).
    bins : DataFrame
        ``z`` (bin centre), ``count``, ``counterfactual``, ``excluded``, ``side``.
    window : DataFrame
        Window sensitivity: per candidate upper edge, ``upper``, ``excess``, ``missing`` (point
        estimates) and ``chosen`` (the edge used; with a data-driven edge, also ``share_of_draws``
        choosing it in the bootstrap).
    spec : dict
    """

    excess: Effect
    b: Effect
    missing: Effect
    bins: pd.DataFrame
    window: pd.DataFrame = field(default_factory=pd.DataFrame)
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def sorting(self) -> bool:
        """True when the excess-mass interval lies above zero (sellers sort around the threshold)."""
        return bool(np.isfinite(self.excess.ci_low) and self.excess.ci_low > 0)

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: excess (B), b, missing (M)."""
        rows = []
        for term, e in (("excess", self.excess), ("b", self.b), ("missing", self.missing)):
            rows.append(
                {
                    "term": term,
                    "estimate": e.estimate,
                    "se": e.se,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p_value": e.p_value,
                    "threshold": self.spec["threshold"],
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view."""
        out: dict[str, Any] = {
            "threshold": self.spec["threshold"],
            "sorting": self.sorting,
        }
        for term, e in (("excess", self.excess), ("b", self.b), ("missing", self.missing)):
            out[term] = {
                k: _num(getattr(e, k)) for k in ("estimate", "se", "ci_low", "ci_high", "p_value")
            }
        out["diagnostics"] = [
            {"name": d.name, "passed": d.passed, "value": _num(d.value), "note": d.note}
            for d in self.excess.diagnostics
        ]
        out["spec"] = dict(self.spec)
        return out

    def _summary(self) -> Summary:
        """Summarise the excess mass, its interval and what it means."""
        s = self.spec
        level = f"{100 * (1 - s['alpha']):g}%"
        rows = [
            (
                "seller-periods",
                f"{s['n_obs']} (bins of {s['bin_width']:g} over [{s['fit_range'][0]:g}, "
                f"{s['fit_range'][1]:g}], polynomial degree {s['degree']}, excluded window "
                f"[{s['lower']:g}, {s['upper']:g}))",
            ),
            (
                "upper edge",
                f"chosen from the data: the first edge where B reaches M (Kleven 2016), searched "
                f"up to {s['max_upper']:g}"
                if s["upper_rule"] == "mass_balance"
                else f"fixed at {s['upper']:g} (default: threshold + {DEFAULT_UPPER_OFFSET:g}; "
                "upper='mass_balance' chooses it from the data)",
            ),
        ]
        for term, e in (("excess B", self.excess), ("b", self.b), ("missing M", self.missing)):
            rows.append((term, f"{fmt(e.estimate)}  {level} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"))
        rows.append(
            (
                "reading",
                "sellers sort to just above the threshold (the excess interval excludes zero); "
                "a discontinuity design at this threshold is not credible"
                if self.sorting
                else "no excess mass detected at the threshold",
            )
        )
        return Summary(
            title=f"Bunching of attainment at {s['threshold']:g} (Kleven 2016)",
            rows=rows,
            notes=[d.describe() for d in self.excess.diagnostics],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Histogram of attainment with the fitted counterfactual; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        b = self.bins
        w = self.spec["bin_width"]
        colors = np.where(b["excluded"], "#dd8452", "#4c72b0")
        ax.bar(b["z"], b["count"], width=w * 0.95, color=colors, label="seller-periods")
        ax.plot(b["z"], b["counterfactual"], color="black", lw=1.5, label="counterfactual")
        ax.axvline(self.spec["threshold"], color="grey", ls="--", lw=1)
        ax.set_xlabel("attainment (revenue / quota)")
        ax.set_ylabel(f"seller-periods per {w:g} bin")
        ax.set_title(f"Bunching at {self.spec['threshold']:g}: B = {fmt(self.excess.estimate)}")
        ax.legend(frameon=False)
        return ax


def bunching(
    data: str | Path | Dataset | pd.DataFrame,
    *,
    threshold: float = 1.0,
    bin_width: float = 0.02,
    lower: float | None = None,
    upper: float | str | None = None,
    max_upper: float | None = None,
    fit_range: tuple[float, float] | None = None,
    degree: int = 7,
    min_tenure_days: int = 0,
    n_boot: int = 499,
    alpha: float = 0.05,
    seed: int = 0,
    boot_universe: Sequence[str] | None = None,
) -> Bunching:
    """Excess mass of attainment just above ``threshold`` against a polynomial counterfactual.

    Parameters
    ----------
    data : path, Dataset or DataFrame
        A data folder (quotas needed), or a frame with ``rep_id`` and ``attainment`` columns (one
        row per seller-period).
    threshold : float, default 1.0
        Attainment at which pay jumps or kinks (1.0 = quota; accelerators e.g. 1.2).
    bin_width : float, default 0.02
        Bin width in attainment units; the threshold is a bin edge.
    lower : float, optional
        Lower edge of the excluded window (attainment); default ``threshold - 0.1``.
    upper : float or "mass_balance", optional
        Upper edge of the excluded window ``[lower, upper)``. Default (None): ``threshold + 0.2``.
        A number fixes it elsewhere. ``"mass_balance"``: chosen from the data, the smallest edge (in
        steps of ``bin_width`` above the threshold, up to ``max_upper``) at which the excess ``B``
        reaches the missing mass ``M`` (Kleven 2016); the bootstrap re-chooses it in every draw.
    max_upper : float, optional
        Widest upper edge searched; default ``threshold + 0.4``.
    fit_range : (float, float), optional
        Attainment range whose bins are fitted; default ``threshold - 0.8`` to ``threshold + 1.0``
        (attainment is right-skewed).
    degree : int, default 7
        Polynomial degree of the counterfactual (Chetty et al. 2011 use 7).
    min_tenure_days : int, default 0
        Leave out seller-periods of sellers hired fewer days before the period start.
    n_boot : int, default 499
        Seller-cluster bootstrap draws.
    alpha : float, default 0.05
    seed : int, default 0
        Seed of the bootstrap.
    boot_universe : sequence of str, optional
        Every seller of the data in a fixed order: the bootstrap then resamples this universe, so
        designs run with the same seed share their draws (the registry's Romano-Wolf correction).

    Returns
    -------
    Bunching
    """
    lower, auto, fixed_upper, max_upper, (lo, hi) = _options(
        threshold, bin_width, lower, upper, max_upper, fit_range, degree, alpha
    )
    sp = _frame(data, min_tenure_days)
    edges, z, inside, onehot = _bins(sp["attainment"].to_numpy(float), threshold, bin_width, lo, hi)
    uppers = _candidate_uppers(
        threshold, bin_width, max_upper, fixed_upper if not auto else None, hi
    )
    counts = onehot.sum(0)
    codes = pd.factorize(sp["rep_id"].to_numpy()[inside])[0]
    W = seller_weights(
        sp["rep_id"].to_numpy()[inside], n_boot=n_boot, seed=seed, universe=boot_universe
    )
    uppers, fits = _fit_windows(
        uppers, edges, z, counts, W @ onehot, threshold, lower, degree, bin_width,
        fixed_upper if not auto else None,
    )  # fmt: skip
    pick, pick_b = _choose(fits, uppers, fixed_upper if not auto else None, n_boot)
    excluded, above, below, point, _ = fits[int(pick)]
    boot = {
        name: np.stack([f[4][name] for f in fits], axis=-1)[np.arange(n_boot), pick_b]
        for name in ("excess", "missing", "b")
    }
    chosen_upper = float(uppers[int(pick)])
    window = pd.DataFrame(
        {
            "upper": np.round(uppers, 10),
            "excess": [float(f[3]["excess"]) for f in fits],
            "missing": [float(f[3]["missing"]) for f in fits],
            "chosen": np.arange(len(uppers)) == int(pick),
            "share_of_draws": np.bincount(pick_b, minlength=len(uppers)) / n_boot,
        }
    )
    spec = {
        "threshold": threshold,
        "bin_width": bin_width,
        "lower": lower,
        "upper": chosen_upper,
        "upper_rule": "mass_balance" if auto else "fixed",
        "max_upper": max_upper,
        "fit_range": [lo, hi],
        "degree": degree,
        "min_tenure_days": min_tenure_days,
        "n_boot": n_boot,
        "alpha": alpha,
        "seed": seed,
        "boot_universe": None if boot_universe is None else len(boot_universe),
        "n_obs": int(inside.sum()),
        "cluster": "rep_id",
    }
    balance = _balance(point, boot, auto=auto, max_upper=max_upper, alpha=alpha)
    n_units = int(codes.max()) + 1 if len(codes) else 0
    fx = _effects(point, boot, balance, alpha=alpha, n_units=n_units, spec=spec)
    bins = pd.DataFrame(
        {
            "z": z,
            "count": counts,
            "counterfactual": point["counterfactual"],
            "excluded": excluded,
            "side": np.where(above, "above", np.where(below, "below", "fit")),
        }
    )
    return Bunching(
        excess=fx["excess"], b=fx["b"], missing=fx["missing"], bins=bins, window=window, spec=spec
    )


def _options(
    threshold: float,
    bin_width: float,
    lower: float | None,
    upper: float | str | None,
    max_upper: float | None,
    fit_range: tuple[float, float] | None,
    degree: int,
    alpha: float,
) -> tuple[float, bool, float, float, tuple[float, float]]:
    """Resolve the defaults and check every option: ``lower, auto, fixed_upper, max_upper, range``."""
    lower = threshold - 0.1 if lower is None else float(lower)
    if upper is None:
        upper = threshold + DEFAULT_UPPER_OFFSET
    auto = isinstance(upper, str) and upper == "mass_balance"
    if isinstance(upper, str) and not auto:
        raise ValueError(f"bunching: upper must be a number or 'mass_balance', got {upper!r}")
    fixed_upper = 0.0 if auto else float(cast(float, upper))
    max_upper = threshold + 0.4 if max_upper is None else float(max_upper)
    lo, hi = fit_range if fit_range is not None else (threshold - 0.8, threshold + 1.0)
    _check(threshold, bin_width, lower, max_upper if auto else fixed_upper, lo, hi, degree, alpha)
    return lower, auto, fixed_upper, max_upper, (lo, hi)


def _frame(data: str | Path | Dataset | pd.DataFrame, min_tenure_days: int) -> pd.DataFrame:
    """Seller-periods with ``rep_id`` and ``attainment``: the caller's frame, or from the folder."""
    if isinstance(data, pd.DataFrame):
        missing = {"rep_id", "attainment"} - set(data.columns)
        if missing:
            raise ValueError(f"bunching: the frame lacks column(s) {', '.join(sorted(missing))}")
        return data
    return seller_periods(as_dataset(data), min_tenure_days=min_tenure_days)


def _bins(
    att: np.ndarray, threshold: float, bin_width: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bin edges (the threshold one of them), centres, rows inside the range, one-hot bin matrix."""
    n_below = int(np.ceil(round((threshold - lo) / bin_width, 9)))
    n_above = int(np.ceil(round((hi - threshold) / bin_width, 9)))
    edges = threshold + bin_width * np.arange(-n_below, n_above + 1)
    z = (edges[:-1] + edges[1:]) / 2
    inside = np.isfinite(att) & (att >= edges[0]) & (att < edges[-1])
    j = np.clip(np.searchsorted(edges, att[inside], side="right") - 1, 0, len(z) - 1)
    onehot = np.zeros((int(inside.sum()), len(z)))
    onehot[np.arange(len(j)), j] = 1.0
    return edges, z, inside, onehot


def _candidate_uppers(
    threshold: float, bin_width: float, max_upper: float, fixed: float | None, hi: float
) -> np.ndarray:
    """Upper edges searched (data-driven) or reported as the sensitivity grid (fixed edge)."""
    k_max = max(1, int(np.floor(round((max_upper - threshold) / bin_width, 9))))
    uppers = np.round(threshold + bin_width * np.arange(1, k_max + 1), 10)
    if fixed is not None:
        uppers = uppers[uppers < hi - 1e-9]  # the sensitivity grid stays inside the fit range
        uppers = np.unique(np.append(uppers, round(fixed, 10)))
    return uppers


def _fit_windows(
    uppers: np.ndarray,
    edges: np.ndarray,
    z: np.ndarray,
    counts: np.ndarray,
    boot_counts: np.ndarray,
    threshold: float,
    lower: float,
    degree: int,
    bin_width: float,
    fixed: float | None,
) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Fit the counterfactual for every candidate edge the fit range can carry.

    Returns the edges kept and per edge ``(excluded, above, below, point, boot)`` estimates.
    """
    fits: list[tuple[Any, ...]] = []
    kept: list[float] = []
    for u in uppers:
        excluded = (edges[:-1] >= lower - 1e-12) & (edges[:-1] < u - 1e-12)
        above = excluded & (edges[:-1] >= threshold - 1e-12)
        below = excluded & ~above
        is_fixed = fixed is not None and u == round(fixed, 10)
        problem = ""
        if not above.any() or not below.any():
            problem = "the excluded window must hold bins on both sides of the threshold"
        elif (~excluded).sum() <= degree + 1:
            problem = (
                f"only {(~excluded).sum()} bins outside the excluded window for a degree "
                f"{degree} polynomial; widen fit_range or lower the degree"
            )
        if problem:
            if is_fixed or (fixed is None and not fits):
                raise ValueError(f"bunching: {problem}")
            continue  # a candidate edge of the sensitivity grid that the fit range cannot carry
        proj = _projection(z, threshold, excluded, degree, bin_width)
        kept.append(u)
        fits.append(
            (
                excluded,
                above,
                below,
                _estimate(counts, proj, above, below),
                _estimate(boot_counts, proj, above, below),
            )
        )
    return np.asarray(kept), fits


def _choose(
    fits: list[tuple[Any, ...]], uppers: np.ndarray, fixed: float | None, n_boot: int
) -> tuple[Any, Any]:
    """Return the index of the edge used on the sample and in every bootstrap draw."""
    if fixed is None:
        pick = _first_balanced(
            np.array([f[3]["excess"] for f in fits]), np.array([f[3]["missing"] for f in fits])
        )
        pick_b = _first_balanced(
            np.stack([f[4]["excess"] for f in fits], axis=-1),
            np.stack([f[4]["missing"] for f in fits], axis=-1),
        )
        return pick, pick_b
    at = np.int64(np.flatnonzero(uppers == round(fixed, 10))[0])
    return at, np.full(n_boot, at)


def _balance(
    point: dict[str, np.ndarray],
    boot: dict[str, np.ndarray],
    *,
    auto: bool,
    max_upper: float,
    alpha: float,
) -> Diagnostic:
    """Return the mass-balance diagnostic: B against M (by construction with a data-driven edge)."""
    balanced = bool(point["excess"] >= point["missing"]) or not auto
    gap = boot["excess"] - boot["missing"]
    g_lo, g_hi = np.quantile(gap, [alpha / 2, 1 - alpha / 2])
    if auto:
        note = (
            "the upper edge was chosen where the excess above reaches the missing mass below, so "
            "B and M agree by construction"
            + (
                ""
                if balanced
                else f"; they did NOT within the widest edge searched ({max_upper:g}): bunchers "
                "may come from further below or land further above, widen lower or max_upper"
            )
            + f" (difference interval [{g_lo:.4g}, {g_hi:.4g}])"
        )
        passed = balanced
    else:
        passed = bool(g_lo <= 0 <= g_hi)
        note = (
            "excess above and missing mass below the threshold should agree when bunchers come "
            f"from just below (difference interval [{g_lo:.4g}, {g_hi:.4g}]); if not, widen the "
            "excluded window"
        )
    return Diagnostic(
        name="mass_balance",
        passed=passed,
        value=float(point["excess"] - point["missing"]),
        required=False,
        note=note,
    )


def _effects(
    point: dict[str, np.ndarray],
    boot: dict[str, np.ndarray],
    balance: Diagnostic,
    *,
    alpha: float,
    n_units: int,
    spec: dict[str, Any],
) -> dict[str, Effect]:
    """B, b and M as bootstrap :class:`Effect` objects (the balance diagnostic on B)."""
    common: dict[str, Any]
    common = {"alpha": alpha, "n_units": n_units, "n_obs": spec["n_obs"], "spec": spec}
    auto = spec["upper_rule"] == "mass_balance"
    method = (
        f"bunching (polynomial degree {spec['degree']}, excluded [{spec['lower']:g}, "
        f"{spec['upper']:g})" + (", upper edge by mass balance)" if auto else ")")
    )
    return {
        name: boot_effect(
            float(point[name]),
            boot[name],
            method=method,
            outcome=outcome,
            diagnostics=(balance,) if name == "excess" else (),
            **common,
        )
        for name, outcome in (
            ("excess", "excess seller-periods above the threshold"),
            ("b", "excess in threshold-bin counterfactual counts"),
            ("missing", "missing seller-periods below the threshold"),
        )
    }


def _first_balanced(excess: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Index (along the last axis of candidate edges) of the first edge where B >= M, else the last."""
    ok = excess >= missing
    first = np.argmax(ok, axis=-1)
    return np.where(ok.any(axis=-1), first, excess.shape[-1] - 1)


def _check(threshold, width, lower, upper, lo, hi, degree, alpha) -> None:
    problems = []
    if not width > 0:
        problems.append(f"bin_width must be > 0, got {width!r}")
    if not lower < threshold < upper:
        problems.append(f"need lower < threshold < upper, got {lower!r}, {threshold!r}, {upper!r}")
    if not lo < lower or not upper < hi:
        problems.append(f"fit_range ({lo!r}, {hi!r}) must contain [lower, upper)")
    if not isinstance(degree, int | np.integer) or degree < 1:
        problems.append(f"degree must be a whole number >= 1, got {degree!r}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if problems:
        raise ValueError("bunching: " + "; ".join(problems))


def _projection(z, threshold, excluded, degree, width) -> np.ndarray:
    """Matrix P with counterfactual = P @ counts: polynomial part of OLS with excluded-bin dummies."""
    u = (z - threshold) / (width * len(z))
    poly = np.vander(u, degree + 1, increasing=True)
    dummies = np.eye(len(z))[:, excluded]
    X = np.hstack([poly, dummies])
    coef_map = np.linalg.pinv(X)  # (k, bins): coefficients = coef_map @ counts
    return poly @ coef_map[: degree + 1]


def _estimate(counts: np.ndarray, proj: np.ndarray, above, below) -> dict[str, np.ndarray]:
    cf = counts @ proj.T
    excess = (counts[..., above] - cf[..., above]).sum(-1)
    missing = (cf[..., below] - counts[..., below]).sum(-1)
    first = np.flatnonzero(above)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        b = excess / cf[..., first]
    return {"excess": excess, "missing": missing, "b": b, "counterfactual": cf}


def _num(x: Any) -> Any:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if np.isfinite(f) else None
