"""Effects from matched sets, with a matched-set bootstrap.

A statistic of treated and weighted-control sums, with a matched-set bootstrap (whole sets
resampled, so a treated rep and its comparison sellers stay together), returned as the package's
``Effect`` with a required balance diagnostic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, library_versions
from salesinsight.causal.inference import percentile_interval, wald_p_value

__all__ = ["balance", "matched_effect", "set_sums"]

#: Largest |standardized mean difference| the balance diagnostic accepts.
MAX_SMD = 0.1


def set_sums(sets: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per matched set: treated sums and weighted control sums of ``columns``; (n_sets, n_cols) each."""
    ids = np.sort(sets["set_id"].unique())
    pos = np.searchsorted(ids, sets["set_id"].to_numpy())
    x = sets[columns].to_numpy(float) * sets["weight"].to_numpy(float)[:, None]
    treated = sets["role"].to_numpy() == "treated"
    out = []
    for mask in (treated, ~treated):
        s = np.zeros((len(ids), len(columns)))
        np.add.at(s, pos[mask], x[mask])
        out.append(s)
    return out[0], out[1]


def balance(
    sets: pd.DataFrame, covariates: tuple[str, ...] = ("pre_attainment", "tenure_days")
) -> Diagnostic:
    """Check balance (required): weighted standardized mean differences of the matching covariates."""
    t = sets[sets["role"] == "treated"]
    c = sets[sets["role"] == "control"]
    smds = []
    for v in covariates:
        mt = t[v].mean()
        mc = np.average(c[v], weights=c["weight"])
        sd = np.sqrt((t[v].var() + c[v].var()) / 2)
        smds.append(abs(mt - mc) / sd if sd > 0 else 0.0)
    worst = float(max(smds))
    return Diagnostic(
        name="balance",
        passed=worst < MAX_SMD,
        value=worst,
        required=True,
        note=f"largest |SMD| of {', '.join(covariates)} after matching (must be < {MAX_SMD})",
    )


def matched_effect(
    sets: pd.DataFrame,
    *,
    columns: list[str],
    statistic: Callable[[np.ndarray, np.ndarray], tuple[float, float]],
    outcome: str,
    higher_is_better: bool,
    method: str,
    alpha: float = 0.05,
    n_boot: int = 999,
    seed: int = 0,
    notes: tuple[str, ...] = (),
) -> Effect:
    """Effect = ``statistic(treated sums, control sums)``, matched-set bootstrap interval.

    ``statistic`` returns ``(estimate, baseline)`` from the column sums of treated and controls.
    Sets with a missing value in ``columns`` are left out.
    """
    keep_sets = sets.groupby("set_id")[columns].apply(lambda g: g.notna().all().all())
    full = sets[sets["set_id"].isin(keep_sets[keep_sets].index)]
    # a set needs its treated rep and at least one control left
    roles = full.groupby("set_id")["role"].nunique()
    full = full[full["set_id"].isin(roles[roles == 2].index)]
    if full.empty:
        raise ValueError(f"{outcome}: no matched set with complete data")
    t, c = set_sums(full, columns)
    est, baseline = statistic(t.sum(0), c.sum(0))
    rng = np.random.default_rng(seed)
    n = len(t)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        boots[b] = statistic(t[idx].sum(0), c[idx].sum(0))[0]
    boots = boots[np.isfinite(boots)]
    se = float(np.std(boots, ddof=1)) if len(boots) > 1 else np.nan
    lo, hi = percentile_interval(boots, alpha)
    p = wald_p_value(est, se) if np.isfinite(se) else np.nan
    return Effect(
        estimate=float(est),
        se=se,
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=p,
        n_units=n,
        n_obs=len(full),
        method=method,
        outcome=outcome,
        spec={
            "ci_level": 1 - alpha,
            "n_boot": n_boot,
            "seed": seed,
            "inference": f"percentile bootstrap of {n} matched sets ({n_boot} resamples)",
            "notes": list(notes),
            "versions": library_versions(),
        },
        diagnostics=(balance(full),),
        baseline=float(baseline),
        higher_is_better=higher_is_better,
    )
