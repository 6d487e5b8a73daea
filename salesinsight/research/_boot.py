"""Cluster bootstrap helpers: resampling weights by cluster, and an :class:`Effect` from the draws."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, library_versions

__all__ = ["boot_effect", "cluster_weights", "seller_weights"]


def cluster_weights(codes: np.ndarray, *, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap weights per row, shape (n_boot, n_rows): how often each row's cluster was drawn.

    ``codes`` are integer cluster codes 0..G-1; clusters are drawn with replacement, G per draw.
    """
    if n_boot < 99:
        raise ValueError(f"n_boot must be at least 99 for a percentile interval, got {n_boot}")
    rng = np.random.default_rng(seed)
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot)
    return counts[:, codes].astype(float)


def seller_weights(
    rep_ids: np.ndarray | Sequence[str],
    *,
    n_boot: int,
    seed: int,
    universe: Sequence[str] | None = None,
) -> np.ndarray:
    """Seller-cluster bootstrap weights per row, shape (n_boot, n_rows).

    Without ``universe`` the clusters are the sellers in ``rep_ids`` (numbered in order of first
    appearance), exactly :func:`cluster_weights`. With ``universe`` (every seller of the data, in a
    fixed order) the draw is over the whole universe, so designs run on different subsets of the same
    data with the same ``seed`` share their resampling and their draws are *joint* (what Romano-Wolf
    needs); sellers a design does not use simply contribute nothing.
    """
    ids = np.asarray(rep_ids, dtype=object)
    if universe is None:
        return cluster_weights(pd.factorize(ids)[0], n_boot=n_boot, seed=seed)
    if n_boot < 99:
        raise ValueError(f"n_boot must be at least 99 for a percentile interval, got {n_boot}")
    uni = pd.Index(list(universe))
    pos = uni.get_indexer(ids)
    if (pos < 0).any():
        unknown = sorted({str(x) for x in ids[pos < 0]})[:5]
        raise ValueError(f"seller(s) {', '.join(unknown)} are not in the bootstrap universe")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(uni), np.full(len(uni), 1.0 / len(uni)), size=n_boot)
    return counts[:, pos].astype(float)


def boot_effect(
    point: float,
    draws: np.ndarray,
    *,
    alpha: float,
    method: str,
    outcome: str,
    n_units: int,
    n_obs: int,
    spec: Mapping[str, Any],
    diagnostics: Sequence[Diagnostic] = (),
    higher_is_better: bool = True,
    baseline: float | None = None,
) -> Effect:
    """Build an :class:`Effect` with a percentile interval and a two-sided bootstrap p-value.

    The p-value is ``2 * min(share of draws <= 0, share >= 0)`` (floored at ``1 / n_draws``), the
    usual percentile-bootstrap test of zero; non-finite draws are dropped. All draws (in order, with
    any non-finite ones) are kept in ``extras["draws"]`` for joint inference across effects.
    """
    all_draws = np.asarray(draws, dtype=float).copy()
    d = all_draws
    d = d[np.isfinite(d)]
    if len(d) < 10 or not np.isfinite(point):
        lo = hi = se = p = float("nan")
    else:
        lo, hi = (float(x) for x in np.quantile(d, [alpha / 2, 1 - alpha / 2]))
        se = float(d.std(ddof=1))
        p = float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))
        p = max(p, 1.0 / len(d))
    full = {
        **spec,
        "ci_level": 1 - alpha,
        "inference": f"cluster bootstrap ({spec.get('cluster', 'seller')}), {len(d)} draws, "
        "percentile interval",
        "versions": library_versions(),
    }
    return Effect(
        estimate=float(point),
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        n_units=int(n_units),
        n_obs=int(n_obs),
        method=method,
        outcome=outcome,
        spec=full,
        diagnostics=tuple(diagnostics),
        baseline=baseline,
        higher_is_better=higher_is_better,
        extras={"draws": all_draws},
    )
