"""Aggregation, inference and pre-trend test for group-time ATTs (Callaway & Sant'Anna 2021).

Pure array functions used by :mod:`salesinsight.causal.did`. Notation: ``K`` group-time cells
with cohort ``group[k]``, period ``time[k]``, estimate ``att[k]`` and influence function
``inf[:, k]`` over the ``n`` units (``se_k = sqrt(sum_i inf[i, k]**2) / n``). Every aggregate is a
weighted sum of cells; when the weights are estimated cohort shares, the influence function gains
the weight term ``wif`` (Callaway & Sant'Anna 2021, Appendix; R ``did::compute.aggte``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats

from salesinsight.causal.inference import z_critical

__all__ = [
    "Aggregate",
    "UnitInfo",
    "aggregate_cells",
    "column_se",
    "f_pretest",
    "multiplier_crit",
    "wald_pretest",
]

#: standard errors at or below this are treated as zero (R did: sqrt(eps) * 10).
SE_ZERO = float(np.sqrt(np.finfo(float).eps) * 10)


@dataclass(frozen=True)
class UnitInfo:
    """Unit-level data needed for aggregation and inference.

    Attributes
    ----------
    unit_group : ndarray, shape (n,)
        First treated period of each unit; ``inf`` for never treated.
    cluster : ndarray of int, shape (n,) or None
        Cluster code of each unit (0..C-1); ``None`` = each unit its own cluster.
    """

    unit_group: np.ndarray
    cluster: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.unit_group.shape[0])

    def cluster_sum(self, inf: np.ndarray) -> np.ndarray:
        """Sum rows of ``inf`` (n, ...) within clusters -> (C, ...); identity if unclustered."""
        if self.cluster is None:
            return inf
        c = self.cluster
        n_c = int(c.max()) + 1
        ind = sparse.csr_matrix(
            (np.ones(c.shape[0]), (c, np.arange(c.shape[0]))), (n_c, c.shape[0])
        )
        return np.asarray(ind @ inf)


def column_se(inf: np.ndarray, units: UnitInfo) -> np.ndarray:
    """Analytic standard errors of the columns of ``inf`` (n,) or (n, K).

    ``sqrt(sum_c (sum_{i in c} psi_i)^2) / n`` -- with one unit per cluster this is R did's
    ``sqrt(mean(psi^2) / n)``.
    """
    s = units.cluster_sum(inf)
    return np.sqrt(np.einsum("i...,i...->...", s, s)) / units.n


@dataclass(frozen=True)
class Aggregate:
    """One aggregation: overall estimate and per-term estimates with influence functions.

    Attributes
    ----------
    overall, overall_inf : float, ndarray (n,)
    overall_weights : ndarray (K,)
        Weights of the overall estimate on the cells (for e.g. the counterfactual baseline).
    term_labels : ndarray (m,)
    term_att : ndarray (m,)
    term_inf : ndarray (n, m)
    term_weights : ndarray (m, K)
    term_cells : ndarray (m,) of int -- number of cells in each term.
    """

    overall: float
    overall_inf: np.ndarray
    overall_weights: np.ndarray
    term_labels: np.ndarray
    term_att: np.ndarray
    term_inf: np.ndarray
    term_weights: np.ndarray
    term_cells: np.ndarray


def _wif_att(
    keepers: np.ndarray,
    pg_cell: np.ndarray,
    ind_group: np.ndarray,
    att: np.ndarray,
    unit_group: np.ndarray,
) -> np.ndarray:
    """``wif(keepers) @ att[keepers]`` without forming the n x k matrix.

    For estimated weights ``pg_k / S`` with ``S = sum pg_k`` and ``pg_k = P(G = ind_group[k])``, the
    weight influence function of column k is ``(1{G = g_k} - pg_k) / S - sum_j (1{G = g_j} - pg_j)
    * pg_k / S^2``.
    """
    pk = pg_cell[keepers]
    ak = att[keepers]
    gk = ind_group[keepers]
    s = pk.sum()
    groups, inv = np.unique(gk, return_inverse=True)
    a_by_g = np.bincount(inv, weights=ak, minlength=groups.size)
    c_by_g = np.bincount(inv, minlength=groups.size).astype(float)
    pos = np.searchsorted(groups, unit_group)
    pos_c = np.clip(pos, 0, groups.size - 1)
    hit = (pos < groups.size) & (groups[pos_c] == unit_group)
    a_unit = np.where(hit, a_by_g[pos_c], 0.0)
    c_unit = np.where(hit, c_by_g[pos_c], 0.0)
    pa = float(pk @ ak)
    return (a_unit - pa) / s - (c_unit - s) * pa / s**2


def aggregate_cells(
    kind: str,
    *,
    group: np.ndarray,
    time: np.ndarray,
    att: np.ndarray,
    inf: np.ndarray,
    units: UnitInfo,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
) -> Aggregate:
    """Aggregate group-time ATTs as R ``did::aggte`` does (analytic influence functions).

    Parameters
    ----------
    kind : {"simple", "group", "dynamic", "calendar"}
    group, time, att : ndarray (K,)
        Cohort, period and estimate of each cell (NaN cells must already be removed).
    inf : ndarray (n, K)
        Cell influence functions.
    units : UnitInfo
    min_e, max_e : float
        Event-time window for ``"dynamic"``; ``max_e`` also caps the post-treatment cells used by
        ``"simple"`` and ``"group"`` (``time - group <= max_e``).
    balance_e : int, optional
        For ``"dynamic"``: keep only cohorts observed at least ``balance_e`` periods after
        treatment and event times in the window where all of them are observed.
    """
    c = _Cells.build(group, time, att, inf, units, max_e)
    if kind == "simple":
        return _simple(c)
    if kind == "group":
        return _by_group(c)
    if kind == "dynamic":
        return _dynamic(c, min_e, max_e, balance_e)
    if kind == "calendar":
        return _calendar(c)
    raise ValueError(f"kind must be one of 'simple', 'group', 'dynamic', 'calendar', got {kind!r}")


@dataclass(frozen=True)
class _Cells:
    """The group-time cells with their cohort shares, ready to be combined."""

    group: np.ndarray  # (K,) cohort of each cell
    time: np.ndarray  # (K,) period of each cell
    att: np.ndarray  # (K,)
    inf: np.ndarray  # (n, K)
    ug: np.ndarray  # (n,) cohort of each unit
    glist: np.ndarray  # cohorts
    pgg: np.ndarray  # share of units per cohort
    pg: np.ndarray  # (K,) share of the cell's cohort
    e_cell: np.ndarray  # (K,) event time
    post: np.ndarray  # (K,) post-treatment cells with event time <= max_e
    n: int  # units

    @classmethod
    def build(
        cls,
        group: np.ndarray,
        time: np.ndarray,
        att: np.ndarray,
        inf: np.ndarray,
        units: UnitInfo,
        max_e: float,
    ) -> _Cells:
        """Compute the cohort shares and event times of the cells."""
        ug = units.unit_group
        glist = np.unique(group)
        pgg = np.array([np.mean(ug == g) for g in glist])
        e_cell = time - group
        return cls(
            group=group,
            time=time,
            att=att,
            inf=inf,
            ug=ug,
            glist=glist,
            pgg=pgg,
            pg=pgg[np.searchsorted(glist, group)],
            e_cell=e_cell,
            post=(group <= time) & (e_cell <= max_e),
            n=units.n,
        )

    @property
    def k(self) -> int:
        """Return the number of cells."""
        return int(self.att.shape[0])

    def combo(self, which: np.ndarray, with_wif: bool) -> tuple[float, np.ndarray, np.ndarray]:
        """Cohort-share weighted average of the cells ``which``: estimate, influence, weights."""
        pg = self.pg
        w = pg[which] / pg[which].sum()
        est = float(w @ self.att[which])
        psi = self.inf[:, which] @ w
        if with_wif:
            psi = psi + _wif_att(which, pg, self.group, self.att, self.ug)
        wfull = np.zeros(self.k)
        wfull[which] = w
        return est, psi, wfull

    def terms(
        self, cells: list[tuple[float, np.ndarray]], with_wif: bool, empty: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Aggregate each non-empty cell set: labels, estimates, influence columns, weights, sizes."""
        kept = [(label, which) for label, which in cells if which.size]
        if not kept:
            raise ValueError(empty)
        combos = [self.combo(which, with_wif) for _, which in kept]
        return (
            np.asarray([label for label, _ in kept]),
            np.asarray([c[0] for c in combos]),
            np.column_stack([c[1] for c in combos]),
            np.vstack([c[2] for c in combos]),
            np.asarray([which.size for _, which in kept]),
        )


def _simple(c: _Cells) -> Aggregate:
    """One average over all post-treatment cells, weighted by cohort size."""
    which = np.flatnonzero(c.post)
    if which.size == 0:
        raise ValueError("no post-treatment group-time cells to aggregate")
    est, psi, wfull = c.combo(which, True)
    return Aggregate(
        est,
        psi,
        wfull,
        np.array([]),
        np.array([]),
        np.zeros((c.n, 0)),
        np.zeros((0, c.k)),
        np.array([], dtype=int),
    )


def _by_group(c: _Cells) -> Aggregate:
    """One term per cohort; the overall effect weights cohorts by their (estimated) shares."""
    lab, att_g, inf_g, wts, sizes = c.terms(
        [(g, np.flatnonzero((c.group == g) & c.post)) for g in c.glist],
        False,
        "no post-treatment group-time cells to aggregate",
    )
    p = c.pgg[np.searchsorted(c.glist, lab)]
    wg = p / p.sum()
    overall = float(wg @ att_g)
    # the cohort shares are estimated: add their influence function (each cohort its own
    # share); this matches R did 2.5's overall_se for "group" to 1e-16 on mpdta.
    psi = inf_g @ wg + _wif_att(np.arange(lab.size), p, lab, att_g, c.ug)
    return Aggregate(overall, psi, wg @ wts, lab, att_g, inf_g, wts, sizes)


def _dynamic(c: _Cells, min_e: float, max_e: float, balance_e: int | None) -> Aggregate:
    """One term per event time; the overall effect averages the post-treatment event times."""
    include = np.ones(c.k, dtype=bool)
    eseq = np.unique(c.e_cell)
    if balance_e is not None:
        t_max, t_min = float(np.max(c.time)), float(np.min(c.time))
        include = (t_max - c.group) >= balance_e
        eseq = np.unique(c.e_cell[include])
        eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - t_max + t_min)]
    eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
    lab, att_e, inf_e, wts, sizes = c.terms(
        [(e, np.flatnonzero((c.e_cell == e) & include)) for e in eseq],
        True,
        "no event times left to aggregate (check min_e / max_e / balance_e)",
    )
    epos = lab >= 0
    if not epos.any():
        overall, psi, ow = np.nan, np.full(c.n, np.nan), np.full(c.k, np.nan)
    else:
        overall = float(att_e[epos].mean())
        psi = inf_e[:, epos].mean(axis=1)
        ow = wts[epos].mean(axis=0)
    return Aggregate(overall, psi, ow, lab, att_e, inf_e, wts, sizes)


def _calendar(c: _Cells) -> Aggregate:
    """One term per calendar period; the overall effect averages the periods."""
    tlist = np.unique(c.time)
    lab, att_t, inf_t, wts, sizes = c.terms(
        [
            (t1, np.flatnonzero((c.time == t1) & (c.group <= c.time)))
            for t1 in tlist[tlist >= c.glist.min()]
        ],
        True,
        "no post-treatment group-time cells to aggregate",
    )
    return Aggregate(
        float(att_t.mean()),
        inf_t.mean(axis=1),
        wts.mean(axis=0),
        lab,
        att_t,
        inf_t,
        wts,
        sizes,
    )


def multiplier_crit(
    inf: np.ndarray,
    se: np.ndarray,
    units: UnitInfo,
    *,
    alpha: float,
    iters: int,
    seed: int,
) -> float:
    """Sup-t critical value for a uniform band by the Gaussian multiplier bootstrap.

    The multiplier bootstrap draws ``b = sum_c v_c psi_c / n`` with iid multipliers ``v_c`` per unit
    (per cluster when clustered). With standard normal multipliers, ``b`` given the data is exactly
    ``N(0, S)`` with ``S = Psi' Psi / n^2`` (the analytic covariance of the estimates), so the draws
    are generated from ``S`` directly -- the same distribution at ``O(n m^2)`` instead of
    ``O(iters n m)`` cost. Returns the ``1 - alpha`` empirical quantile of ``max_k |b_k| / se_k``,
    never below the pointwise normal value (as R did). Columns with zero/undefined ``se`` are ignored.
    """
    z = z_critical(alpha)
    ok = np.isfinite(se) & (se > SE_ZERO)
    if iters <= 0 or not ok.any():
        return z
    psi = units.cluster_sum(inf[:, ok]) / units.n
    cov = psi.T @ psi
    evals, evecs = np.linalg.eigh(cov)
    root = evecs * np.sqrt(np.clip(evals, 0.0, None))
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((iters, root.shape[1])) @ root.T
    tmax = np.max(np.abs(draws) / se[ok], axis=1)
    crit = float(np.quantile(tmax, 1 - alpha, method="inverted_cdf"))
    return max(crit, z)


def wald_pretest(
    att: np.ndarray, inf: np.ndarray, units: UnitInfo
) -> tuple[float, float, int] | None:
    """Wald test that all given (pre-treatment) ATT(g, t) are zero.

    ``W = att' V^{-1} att`` with ``V`` the analytic covariance ``Psi' Psi / n^2`` (cluster sums when
    clustered); ``W ~ chi2(q)``. Returns ``(W, p, q)`` or ``None`` when there is nothing to test or
    ``V`` is numerically singular (R did's rule: ``rcond(V) <= eps``).
    """
    se = column_se(inf, units)
    keep = np.isfinite(att) & np.isfinite(se) & (se > SE_ZERO)
    if not keep.any():
        return None
    a = att[keep]
    s = units.cluster_sum(inf[:, keep])
    v = (s.T @ s) / units.n**2
    try:
        rc = 1.0 / np.linalg.cond(v, 1)
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(rc) or rc <= np.finfo(float).eps:
        return None
    w = float(a @ np.linalg.solve(v, a))
    q = int(a.size)
    return w, float(stats.chi2.sf(w, q)), q


def f_pretest(
    att: np.ndarray, inf: np.ndarray, units: UnitInfo
) -> tuple[float, float, int, float] | None:
    """Finite-sample F version of :func:`wald_pretest` (few units per cohort, many restrictions).

    The covariance of the estimates is a sum of independent blocks, ``V = sum_k V_k``: one block per
    cohort (the never treated are one block), ``V_k = n_k / (n_k - 1) * Psi_k' Psi_k / n^2`` over the
    block's ``n_k`` units (unbiased). ``T2 = att' V^{-1} att`` is referred to the Nel & van der Merwe
    (1986) approximation of the multivariate Behrens-Fisher problem (K samples, Krishnamoorthy & Yu
    2004): ``T2 ~ nu q / (nu - q + 1) F(q, nu - q + 1)`` with

        nu = (q + q^2) / sum_k [tr((V_k V^{-1})^2) + tr(V_k V^{-1})^2] / (n_k - 1),

    exact Hotelling when one block carries all the variance (``nu = n_k - 1``). When clustered, the
    cluster sums form one block of ``G`` clusters: ``F(q, G - q)``. The chi-square Wald test ignores
    that ``V`` is estimated; with cohorts of a handful of units and as many restrictions it rejects a
    true null almost always.

    Returns ``(F, p, q, df2)`` or ``None`` when there is nothing to test, ``V`` is numerically
    singular, or ``df2 = nu - q + 1 <= 0`` (too few units for ``q`` restrictions).
    """
    se = column_se(inf, units)
    keep = np.isfinite(att) & np.isfinite(se) & (se > SE_ZERO)
    if not keep.any():
        return None
    a = att[keep]
    q = int(a.size)
    n = units.n
    blocks: list[tuple[np.ndarray, int]] = []
    if units.cluster is not None:
        s = units.cluster_sum(inf[:, keep])
        g = s.shape[0]
        if g < 2:
            return None
        blocks.append(((s.T @ s) / n**2 * g / (g - 1), g))
    else:
        x = inf[:, keep]
        _, code = np.unique(units.unit_group, return_inverse=True)
        for k in range(int(code.max()) + 1):
            rows = x[code == k]
            n_k = rows.shape[0]
            scale = n_k / (n_k - 1) if n_k > 1 else 1.0
            blocks.append(((rows.T @ rows) / n**2 * scale, n_k))
    v = sum(b for b, _ in blocks)
    try:
        rc = 1.0 / np.linalg.cond(v, 1)
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(rc) or rc <= np.finfo(float).eps:
        return None
    v_inv = np.linalg.inv(v)
    t2 = float(a @ v_inv @ a)
    denom = 0.0
    for b, n_k in blocks:
        if n_k < 2:
            continue
        m = b @ v_inv
        denom += (float(np.trace(m @ m)) + float(np.trace(m)) ** 2) / (n_k - 1)
    if denom <= 0:
        return None
    nu = (q + q * q) / denom
    df2 = nu - q + 1
    if df2 <= 0:
        return None
    f = t2 * df2 / (nu * q)
    return f, float(stats.f.sf(f, q, df2)), q, float(df2)
