"""Synthetic-control inference: placebo-in-space, placebo-in-time, leave-one-donor-out, intervals.

Inference is by permutation (placebo-in-space): every donor is treated as if it were treated,
refitted from the other donors, and the ratio of post- to pre-period RMSPE is compared with the
treated unit's. The p-value is ``(1 + #{placebo ratio >= treated ratio}) / (1 + n_placebos)``
(Abadie et al. 2010), so its smallest possible value is ``1 / (1 + n_donors)``.

The interval for the average post-period effect inverts a second permutation test whose statistic
is the standardised average gap ``|mean post gap| / pre-RMSPE``; the accepted set is
``estimate ± c * pre-RMSPE`` with ``c`` the critical placebo value. With several treated units the
statistics are averaged over treated units and the placebo distribution uses averages over equally
many placebo units. See :mod:`salesinsight.causal.synth` for the full description.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic
from salesinsight.causal.synth_fit import SynthFit, fit_target, rmspe

__all__ = [
    "MIN_SUBSETS",
    "PlaceboInSpace",
    "leave_one_out",
    "leave_one_out_diagnostic",
    "placebo_in_space",
    "placebo_in_time",
    "placebo_time_diagnostic",
]

#: most placebo subsets enumerated (or sampled) for several treated units.
_MAX_SUBSETS = 20_000
#: fewer distinct placebo subsets than this: draw placebo units with replacement instead.
MIN_SUBSETS = 1_000


def _null_averages(values: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Placebo averages of ``values`` (B, ...) over ``size`` placebo units.

    All subsets when there are at most ``_MAX_SUBSETS``, else ``_MAX_SUBSETS`` random ones. When
    the donors allow fewer than ``MIN_SUBSETS`` distinct subsets (several treated units, few
    donors) the placebo units are drawn *with* replacement instead, i.e. the placebo ratios are
    treated as a sample from the null distribution (an approximation, stated in the notes).
    """
    n = values.shape[0]
    if size == 1:
        return values.copy()
    rng = np.random.default_rng(seed)
    n_subsets = math.comb(n, size)
    if n_subsets < MIN_SUBSETS:
        idx = rng.integers(0, n, size=(_MAX_SUBSETS, size))
    elif n_subsets <= _MAX_SUBSETS:
        idx = np.array(list(itertools.combinations(range(n), size)))
    else:
        idx = np.array([rng.choice(n, size=size, replace=False) for _ in range(_MAX_SUBSETS)])
    return values[idx].mean(axis=1)


#: placebo subsets refitted without each other (several treated units, many donors).
EXCLUSIVE_SUBSETS = 400


def _exclusive_null(
    Y: np.ndarray,
    pre: np.ndarray,
    fit: np.ndarray,
    post: np.ndarray,
    P: np.ndarray | None,
    aug_used: bool,
    donor_idx: np.ndarray,
    size: int,
    seed: int,
) -> np.ndarray:
    """Draw placebo (average post gap, average pre-RMSPE) pairs from mutually exclusive refits.

    ``EXCLUSIVE_SUBSETS`` random subsets of ``size`` donors, each member refitted from the donors
    *outside* the subset.

    The treated units' synthetic controls never use one another, so their gaps share donor noise
    but never contain each other's. Placebo units fitted from all other donors do: a member's noise
    enters another member's synthetic control with a negative sign, so averages over independently
    fitted placebos vary less than the treated average and the interval under-covers (measured:
    90.5-91.0% at 95% with four treated units, docs/validation-observational.md).
    Returns an array of shape (EXCLUSIVE_SUBSETS, 2).
    """
    rng = np.random.default_rng(seed)
    out = np.empty((EXCLUSIVE_SUBSETS, 2))
    for b in range(EXCLUSIVE_SUBSETS):
        subset = rng.choice(donor_idx, size=size, replace=False)
        pool = donor_idx[~np.isin(donor_idx, subset)]
        est, pre_r = [], []
        for j in subset:
            g = Y[:, j] - fit_target(int(j), pool, Y, pre, fit, post, P, augment=aug_used).synthetic
            est.append(float(g[post].mean()))
            pre_r.append(rmspe(g[pre]))
        out[b] = (np.mean(est), np.mean(pre_r))
    return out


def _perm_p(null: np.ndarray, stat: float) -> float:
    return float((1 + np.sum(null >= stat - 1e-12 * abs(stat))) / (1 + null.size))


def _invert_mean_gap(
    estimate: float, scale: float, null_stat: np.ndarray, alpha: float
) -> tuple[float, float, float, str]:
    """Interval and p-value from the placebo distribution of the standardised average gap.

    The statistic is ``|average post gap| / average pre-RMSPE``; ``null_stat`` holds its placebo
    values. Under a constant additive effect ``tau`` the treated statistic is
    ``|estimate - tau| / scale`` (weights and placebos do not change), so the accepted set is
    ``estimate ± c * scale`` with ``c`` the critical placebo value. Returns (low, high, p, note).
    """
    b = null_stat.size
    p = _perm_p(null_stat, abs(estimate) / scale)
    k = math.floor(alpha * (b + 1) + 1e-9)
    if k <= 0:
        return (
            -np.inf,
            np.inf,
            p,
            f"with {b} placebo draws the permutation test cannot reject at alpha={alpha}, so "
            "the interval is unbounded",
        )
    crit = float(np.sort(null_stat)[::-1][k - 1])
    return (
        estimate - crit * scale,
        estimate + crit * scale,
        p,
        "interval from inverting the placebo permutation test of the standardised average gap",
    )


@dataclass(frozen=True)
class PlaceboInSpace:
    """Placebo-in-space results for the treated unit(s).

    ``table`` has one row per donor (unit, pre_rmspe, post_rmspe, ratio, estimate); ``gaps`` is
    the (T, J) DataFrame of placebo gaps; ``term_se`` has shape (T1,); ``band`` is the
    counterfactual band (low, high), each shape (T,), NaN when there are too few placebo draws
    (``note`` then says so).
    """

    table: pd.DataFrame
    gaps: pd.DataFrame
    p_value: float
    ci_low: float
    ci_high: float
    p_value_mean_gap: float
    se: float
    inference: str
    term_se: np.ndarray
    band: tuple[np.ndarray, np.ndarray]
    note: str | None


def placebo_in_space(
    *,
    Y: np.ndarray,
    pre: np.ndarray,
    fit: np.ndarray,
    post: np.ndarray,
    P: np.ndarray | None,
    aug_used: bool,
    donor_idx: np.ndarray,
    units: list[Any],
    donors_u: list[Any],
    times: list[Any],
    time: str,
    n_tr: int,
    estimate: float,
    pre_rmspe: np.ndarray,
    post_rmspe: np.ndarray,
    synth_avg: np.ndarray,
    alpha: float,
    seed: int,
) -> PlaceboInSpace:
    """Refit every donor from the other donors; p-value, interval, se and per-period bands.

    ``Y`` is (T, N) with the ``n_tr`` treated units first; ``pre_rmspe``/``post_rmspe`` (n_tr,)
    and ``synth_avg`` (T,) describe the treated fit.
    """
    pl_gaps, pl_rows = [], []
    for j in donor_idx:
        others = donor_idx[donor_idx != j]
        fj = fit_target(j, others, Y, pre, fit, post, P, augment=aug_used)
        g = Y[:, j] - fj.synthetic
        pl_gaps.append(g)
        pr, po = rmspe(g[pre]), rmspe(g[post])
        pl_rows.append(
            {
                "unit": units[j],
                "pre_rmspe": pr,
                "post_rmspe": po,
                "ratio": po / max(pr, 1e-12),
                "estimate": float(g[post].mean()),
            }
        )
    placebo_table = pd.DataFrame(pl_rows)
    G = np.column_stack(pl_gaps)  # (T, J)
    placebo_gaps = pd.DataFrame(G, index=pd.Index(times, name=time), columns=donors_u)
    treated_ratio = post_rmspe / np.maximum(pre_rmspe, 1e-12)
    null = _null_averages(placebo_table["ratio"].to_numpy(), n_tr, seed)
    p_value = _perm_p(null, float(treated_ratio.mean()))
    # standardised average gap: same placebo subsets for gaps and pre-RMSPEs
    pair = placebo_table[["estimate", "pre_rmspe"]].to_numpy()
    exclusive = n_tr > 1 and math.comb(len(donor_idx), n_tr) >= MIN_SUBSETS
    if exclusive:
        null_pair = _exclusive_null(Y, pre, fit, post, P, aug_used, donor_idx, n_tr, seed)
    else:
        null_pair = _null_averages(pair, n_tr, seed)
    null_std = null_pair[:, 0] / np.maximum(null_pair[:, 1], 1e-12)
    scale = float(max(pre_rmspe.mean(), 1e-12))
    ci_low, ci_high, p_gap, how = _invert_mean_gap(estimate, scale, np.abs(null_std), alpha)
    se = float(null_std.std(ddof=1) * scale)
    inference = (
        f"placebo-in-space permutation over {len(donors_u)} donors: p-value from post/pre "
        f"RMSPE ratios (sharp null of no effect in any period); {how} (p = {p_gap:.3g}"
        + (
            f"; {EXCLUSIVE_SUBSETS} random sets of {n_tr} placebo units, each refitted from the "
            "donors outside its set"
            if exclusive
            else ""
        )
        + "); se = spread of the placebo estimates rescaled to the treated pre-RMSPE"
    )
    # placebo gaps rescaled to the treated units' average pre-period RMSPE
    scaled = G * (pre_rmspe.mean() / np.maximum(placebo_table["pre_rmspe"].to_numpy(), 1e-12))
    null_gaps = _null_averages(scaled.T, n_tr, seed)  # (B, T)
    term_se = null_gaps[:, post].std(axis=0, ddof=1)
    band = (np.full(len(times), np.nan), np.full(len(times), np.nan))
    note = None
    if null_gaps.shape[0] >= math.ceil(2.0 / alpha) - 1:
        q_lo = np.quantile(null_gaps, alpha / 2, axis=0)
        q_hi = np.quantile(null_gaps, 1 - alpha / 2, axis=0)
        band = (synth_avg + q_lo, synth_avg + q_hi)
    else:
        note = (
            f"Per-period bands need at least {math.ceil(2.0 / alpha) - 1} placebo draws; "
            f"there are {null_gaps.shape[0]}, so they are left empty."
        )
    return PlaceboInSpace(
        table=placebo_table,
        gaps=placebo_gaps,
        p_value=p_value,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value_mean_gap=p_gap,
        se=se,
        inference=inference,
        term_se=term_se,
        band=band,
        note=note,
    )


def placebo_in_time(
    Y: np.ndarray,
    pre: np.ndarray,
    n_tr: int,
    donor_idx: np.ndarray,
    aug_used: bool,
    alpha: float,
    seed: int,
    times: list[Any],
) -> dict[str, Any]:
    """Pretend treatment started earlier; the fake effect should be unremarkable.

    Uses only pre-period data, an outcome-only fit (``V = I``), and the same permutation test. The
    fake date leaves the earlier two thirds of the pre-period for fitting.
    """
    t0 = int(pre.sum())
    h = max(1, min(int((~pre).sum()), t0 // 3))
    if t0 - h < 2:
        return {"passed": None, "note": "pre-period too short for a placebo-in-time check"}
    Yp = Y[:t0]
    fake_pre = np.arange(t0) < t0 - h
    fake_post = ~fake_pre
    fits = [
        fit_target(i, donor_idx, Yp, fake_pre, fake_pre, fake_post, None, aug_used)
        for i in range(n_tr)
    ]
    gaps = np.column_stack([Yp[:, i] - f.synthetic for i, f in enumerate(fits)])
    ratio = np.array(
        [rmspe(gaps[fake_post, i]) / max(rmspe(gaps[fake_pre, i]), 1e-12) for i in range(n_tr)]
    )
    pl = []
    for j in donor_idx:
        others = donor_idx[donor_idx != j]
        fj = fit_target(j, others, Yp, fake_pre, fake_pre, fake_post, None, aug_used)
        g = Yp[:, j] - fj.synthetic
        pl.append(rmspe(g[fake_post]) / max(rmspe(g[fake_pre]), 1e-12))
    null = _null_averages(np.array(pl), n_tr, seed)
    p = _perm_p(null, float(ratio.mean()))
    fake_time = times[t0 - h]
    resolvable = 1.0 / (1 + null.size) <= alpha
    out: dict[str, Any] = {
        "fake_treatment_time": fake_time,
        "estimate": float(gaps[fake_post].mean()),
        "ratio": float(ratio.mean()),
        "p_value": p,
    }
    if resolvable:
        out["passed"] = bool(p > alpha)
        out["note"] = f"pretending treatment began at {fake_time} gives a fake effect " + (
            "that is unremarkable among placebos" if p > alpha else "that stands out (p <= alpha)"
        )
    else:
        out["passed"] = None
        out["note"] = (
            f"pretending treatment began at {fake_time}: permutation p = {p:.3f}, but with "
            f"{null.size} placebo draws the test cannot reach alpha={alpha}"
        )
    return out


def leave_one_out(
    fits: list[SynthFit],
    Y: np.ndarray,
    pre: np.ndarray,
    fit: np.ndarray,
    post: np.ndarray,
    P: np.ndarray | None,
    aug_used: bool,
    donor_idx: np.ndarray,
    units: list[Any],
    n_tr: int,
    max_donors: int = 10,
) -> pd.DataFrame | None:
    """Refit without each influential donor (SC weight > 0.01), largest weights first."""
    w = np.max(np.column_stack([f.weights_scm for f in fits]), axis=1)
    order = [int(i) for i in np.argsort(-w, kind="stable") if w[i] > 0.01][:max_donors]
    if len(donor_idx) < 3:
        return None
    rows = []
    for pos in order:
        keep = np.delete(donor_idx, pos)
        est = []
        for i in range(n_tr):
            f = fit_target(i, keep, Y, pre, fit, post, P, aug_used)
            est.append(float((Y[post, i] - f.synthetic[post]).mean()))
        rows.append(
            {
                "dropped_donor": units[donor_idx[pos]],
                "weight": float(w[pos]),
                "estimate": float(np.mean(est)),
            }
        )
    return pd.DataFrame(rows)


def placebo_time_diagnostic(pit: Mapping[str, Any]) -> Diagnostic:
    """Build the (not required) ``placebo_time`` diagnostic from :func:`placebo_in_time`."""
    return Diagnostic(
        name="placebo_time",
        passed=pit.get("passed"),
        statistic=pit.get("ratio"),
        p_value=pit.get("p_value"),
        value=pit.get("estimate"),
        required=False,
        note=pit.get("note", ""),
    )


def leave_one_out_diagnostic(loo_table: pd.DataFrame, estimate: float) -> Diagnostic:
    """Build the (not required) ``leave_one_out`` diagnostic: does dropping a donor flip the sign."""
    same = bool(np.all(np.sign(loo_table["estimate"]) == np.sign(estimate)))
    return Diagnostic(
        name="leave_one_out",
        passed=same,
        value=float(loo_table["estimate"].sub(estimate).abs().max()),
        required=False,
        note=(
            "dropping any one donor with weight > 0.01 keeps the estimate's sign"
            if same
            else "dropping one influential donor flips the estimate's sign"
        ),
    )
