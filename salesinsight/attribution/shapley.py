"""Exact Shapley decompositions of a KPI change over a multiplicative identity.

`decompose_change` splits the change of a KPI between two periods into per-factor contributions for a
multiplicative identity ``kpi = f1 * f2 * ... * fk`` (by default revenue = opportunities closed x win
rate x average deal size), with exact Shapley values over all orderings of the factors and the
log-mean-Divisia (LMDI-I) index beside it. Mix versus rate lives in `salesinsight.attribution.mix`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.results import ResultMixin, Summary

__all__ = [
    "Decomposition",
    "IdentityError",
    "decompose_change",
    "lmdi_product",
    "shapley_product",
]

MAX_FACTORS = 8


class IdentityError(ValueError):
    """The multiplicative identity ``kpi = product of factors`` does not hold in the data."""


# --------------------------------------------------------------------------------------------------
# Pure numerical kernels
# --------------------------------------------------------------------------------------------------


def shapley_product(base: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Exact Shapley values of the change of a product of factors.

    The game's value of a coalition ``S`` of factors is the product with the factors in ``S`` at their
    current values and the others at their base values; each factor's Shapley value is its marginal
    contribution averaged over all ``k!`` orderings (``itertools.permutations``).

    Parameters
    ----------
    base, current : array of shape (m, k)
        Factor values of ``m`` entities in the base and the current period. Must be finite.

    Returns
    -------
    ndarray of shape (m, k)
        Contributions, in the units of the product; each row sums to
        ``prod(current) - prod(base)`` (up to floating-point rounding).
    """
    base = np.atleast_2d(np.asarray(base, dtype=float))
    current = np.atleast_2d(np.asarray(current, dtype=float))
    if base.shape != current.shape:
        raise ValueError(f"base {base.shape} and current {current.shape} differ in shape")
    k = base.shape[1]
    if k > MAX_FACTORS:
        raise ValueError(f"exact Shapley values need at most {MAX_FACTORS} factors, got {k}")
    out = np.zeros_like(base)
    perms = list(itertools.permutations(range(k)))
    for perm in perms:
        x = base.copy()
        prev = np.prod(x, axis=1)
        for j in perm:
            x[:, j] = current[:, j]
            new = np.prod(x, axis=1)
            out[:, j] += new - prev
            prev = new
    return out / len(perms)


def _log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Logarithmic mean ``(a - b) / (ln a - ln b)``, equal to ``a`` when ``a == b``; NaN if not > 0."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = (a > 0) & (b > 0)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.log(a) - np.log(b)
        lm = np.where(diff == 0, a, (a - b) / np.where(diff == 0, 1.0, diff))
    out[ok] = lm[ok]
    return out


def lmdi_product(base: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Log-mean-Divisia (LMDI-I) contributions of the change of a product of factors.

    ``c_j = L(V1, V0) * ln(x_j1 / x_j0)`` with ``L`` the logarithmic mean of the products ``V1`` and
    ``V0``; the contributions sum exactly to ``V1 - V0``. Undefined (NaN for the whole row) when any
    factor is zero, negative or missing in either period.

    Parameters
    ----------
    base, current : array of shape (m, k)

    Returns
    -------
    ndarray of shape (m, k)
    """
    base = np.atleast_2d(np.asarray(base, dtype=float))
    current = np.atleast_2d(np.asarray(current, dtype=float))
    ok = np.all((base > 0) & (current > 0) & np.isfinite(base) & np.isfinite(current), axis=1)
    out = np.full(base.shape, np.nan)
    if ok.any():
        b, c = base[ok], current[ok]
        weight = _log_mean(np.prod(c, axis=1), np.prod(b, axis=1))
        out[ok] = weight[:, None] * np.log(c / b)
    return out


# --------------------------------------------------------------------------------------------------
# Plot helper (shared with funnel.py)
# --------------------------------------------------------------------------------------------------


def waterfall(
    ax: Any,
    *,
    start_label: str,
    start: float,
    labels: Sequence[str],
    deltas: Sequence[float],
    end_label: str,
    end: float,
) -> Any:
    """Draw a waterfall (start bar, one floating bar per delta, end bar) on ``ax``; return ``ax``."""
    names = [start_label, *labels, end_label]
    bottoms, heights, colors = [0.0], [start], ["0.55"]
    level = start
    for d in deltas:
        d = 0.0 if not np.isfinite(d) else float(d)
        bottoms.append(level if d >= 0 else level + d)
        heights.append(abs(d))
        colors.append("tab:green" if d >= 0 else "tab:red")
        level += d
    bottoms.append(0.0)
    heights.append(end)
    colors.append("0.35")
    x = np.arange(len(names))
    ax.bar(x, heights, bottom=bottoms, color=colors, edgecolor="black", linewidth=0.5)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.axhline(0.0, color="black", linewidth=0.5)
    return ax


def stacked_contributions(ax: Any, wide: pd.DataFrame, totals: pd.Series) -> Any:
    """Plot stacked bars: one bar per row of ``wide`` (entities), one segment per column (factors).

    Positive and negative parts are stacked separately, with ``totals`` as black diamonds.
    """
    x = np.arange(len(wide))
    bottom_pos = np.zeros(len(wide))
    bottom_neg = np.zeros(len(wide))
    for factor in wide.columns:
        v = np.nan_to_num(wide[factor].to_numpy(dtype=float))
        bottom = np.where(v >= 0, bottom_pos, bottom_neg)
        ax.bar(x, v, bottom=bottom, label=str(factor))
        bottom_pos = bottom_pos + np.where(v >= 0, v, 0)
        bottom_neg = bottom_neg + np.where(v < 0, v, 0)
    ax.scatter(x, totals.to_numpy(dtype=float), color="black", marker="D", zorder=3, label="total")
    ax.set_xticks(x)
    ax.set_xticklabels([str(i) for i in wide.index], rotation=30, ha="right")
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.legend()
    return ax


def _new_ax(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.4g}"


# --------------------------------------------------------------------------------------------------
# decompose_change
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Decomposition(ResultMixin):
    """Per-entity, per-factor decomposition of a KPI change between two periods.

    Attributes
    ----------
    kpi : str
        Name of the decomposed KPI.
    factors : tuple of str
        Factors of the identity ``kpi = product(factors)``.
    base, current : str
        Period labels compared (change = current - base).
    by : str or None
        Entity key column, or None for a single entity (company panel).
    frame : pandas.DataFrame
        Long table, one row per entity and factor (see `to_frame`).
    notes : tuple of str
        Sentences about special cases (undefined factors, LMDI not defined, entities in one period).
    max_identity_error : float
        Largest relative difference between the KPI and the product of its factors in the data.
    """

    kpi: str
    factors: tuple[str, ...]
    base: str
    current: str
    by: str | None
    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    max_identity_error: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        """One row per entity and factor.

        Columns: the ``by`` key (if any), ``factor``, ``base_value``, ``current_value``,
        ``contribution`` (exact Shapley, KPI units), ``lmdi_contribution`` (LMDI-I, NaN where
        undefined), ``total_change`` (KPI current - base), ``kpi_base``, ``kpi_current``.
        """
        return self.frame.copy()

    def totals(self) -> pd.DataFrame:
        """One row per entity: ``kpi_base``, ``kpi_current``, ``total_change``, sum of contributions."""
        keys = [self.by] if self.by else []
        f = self.frame
        if not keys:
            f = f.assign(_all="all")
            keys = ["_all"]
        out = f.groupby(keys, sort=False).agg(
            kpi_base=("kpi_base", "first"),
            kpi_current=("kpi_current", "first"),
            total_change=("total_change", "first"),
            sum_contributions=("contribution", "sum"),
        )
        out = out.reset_index()
        return out.drop(columns="_all") if "_all" in out else out

    def _summary(self) -> Summary:
        """Summarise in words: for each entity, the change and each factor's share of it."""
        lines = [
            f"Decomposition of the change in {self.kpi} from {self.base} to {self.current} "
            f"(identity: {self.kpi} = {' x '.join(self.factors)}; exact Shapley values over all "
            f"orderings, LMDI-I beside; largest relative identity error "
            f"{self.max_identity_error:.2g})."
        ]
        keys = [self.by] if self.by else []
        groups = self.frame.groupby(keys, sort=False) if keys else [(("all",), self.frame)]
        for key, g in groups:
            name = f"{self.by}={key[0]}" if self.by else "total"
            first = g.iloc[0]
            parts = ", ".join(
                f"{r.factor} {'+' if r.contribution >= 0 else ''}{_fmt(r.contribution)}"
                for r in g.itertuples()
            )
            lines.append(
                f"- {name}: {_fmt(first.kpi_base)} -> {_fmt(first.kpi_current)} "
                f"(change {_fmt(first.total_change)}): {parts}"
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return Summary.from_lines(lines)

    def plot(self, *, ax: Any = None, entity: Any = None) -> Any:
        """Waterfall from the base to the current KPI for one entity (or stacked bars per entity).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        entity : optional
            Entity (value of the ``by`` key) to draw as a waterfall. When None and there are several
            entities, draws one stacked bar of factor contributions per entity.

        Returns
        -------
        matplotlib Axes
        """
        ax = _new_ax(ax)
        f = self.frame
        if self.by is not None and entity is None and f[self.by].nunique() > 1:
            wide = f.pivot_table(
                index=self.by, columns="factor", values="contribution", sort=False
            )[list(self.factors)]
            totals = f.groupby(self.by, sort=False)["total_change"].first().loc[wide.index]
            stacked_contributions(ax, wide, totals)
            ax.set_ylabel(f"change in {self.kpi}")
            ax.set_title(f"{self.kpi}: {self.base} -> {self.current} by {self.by}")
            return ax
        if self.by is not None:
            if entity is None:
                entity = f[self.by].iloc[0]
            f = f[f[self.by] == entity]
            if f.empty:
                raise ValueError(f"entity {entity!r} is not in the decomposition ({self.by})")
        first = f.iloc[0]
        waterfall(
            ax,
            start_label=self.base,
            start=float(first.kpi_base),
            labels=list(f["factor"]),
            deltas=list(f["contribution"]),
            end_label=self.current,
            end=float(first.kpi_current),
        )
        ax.set_ylabel(self.kpi)
        title = f"{self.kpi}: {self.base} -> {self.current}"
        ax.set_title(title if self.by is None else f"{title} ({self.by}={entity})")
        return ax


def _entity_label(by: str | None, key: Any) -> str:
    return "company" if by is None else f"{by}={key}"


def decompose_change(
    panel: pd.DataFrame,
    kpi: str = "revenue",
    factors: Sequence[str] = ("opps_closed", "win_rate", "avg_deal_size"),
    base: str = "2026Q1",
    current: str = "2026Q2",
    by: str | None = "team_id",
    period_col: str = "period",
    identity_rtol: float = 1e-6,
) -> Decomposition:
    """Decompose the change of a KPI between two periods into contributions of its factors.

    For the identity ``kpi = product(factors)`` (checked in the data, per entity and period), the
    change ``kpi[current] - kpi[base]`` of each entity is split into exact Shapley values (the
    marginal contribution of switching each factor from its base to its current value, averaged over
    all orderings), which sum exactly to the change; the LMDI-I contributions are given beside.

    Parameters
    ----------
    panel : DataFrame
        A panel from `salesinsight.metrics.panel` (or any frame with ``period_col``, the ``by`` key,
        ``kpi`` and ``factors`` columns), one row per entity and period.
    kpi : str
        Column to decompose.
    factors : sequence of str
        Columns whose product equals ``kpi`` (at most 8).
    base, current : str
        Period labels (values of ``period_col``).
    by : str or None
        Entity key column (``"team_id"``, ``"rep_id"``); None for a company panel (one row per period).
    period_col : str
        Column holding the period labels.
    identity_rtol : float
        Relative tolerance for ``|kpi - product| <= rtol * max(|kpi|, |product|)``.

    Returns
    -------
    Decomposition

    Raises
    ------
    IdentityError
        When the identity fails for any entity and period; the message lists every failure with the
        entity, the period, the product of the factors and the KPI.
    ValueError
        Missing columns or periods, duplicate entity-period rows.

    Notes
    -----
    A factor may be undefined (missing) only where the KPI is 0 and another factor is 0 in the same
    period (e.g. ``avg_deal_size`` when no deal was won); it is then treated as unchanged (the other
    period's value), so the change is attributed to the factor that actually went to or from zero. If
    a factor is undefined in both periods the KPI is 0 in both and all contributions are 0. LMDI-I is
    undefined (NaN) whenever a factor is zero or missing in either period. Entities present in only one
    of the two periods are left out and named in ``notes``.
    """
    factors = tuple(factors)
    sub = _select_rows(panel, kpi, factors, base, current, by, period_col)
    max_err = _check_identity(sub, kpi, factors, by, period_col, identity_rtol)
    common, b, c, notes = _align_periods(sub, base, current, by, period_col)
    xb = b[list(factors)].to_numpy(dtype=float)
    xc = c[list(factors)].to_numpy(dtype=float)
    yb = b[kpi].to_numpy(dtype=float)
    yc = c[kpi].to_numpy(dtype=float)
    shap, lmdi = _contributions(xb, xc, common, kpi, factors, base, current, by, notes)
    frame = _assemble_frame(common, factors, by, xb, xc, shap, lmdi, yb, yc)
    return Decomposition(
        kpi=kpi,
        factors=factors,
        base=base,
        current=current,
        by=by,
        frame=frame,
        notes=tuple(notes),
        max_identity_error=max_err,
    )


def _select_rows(
    panel: pd.DataFrame,
    kpi: str,
    factors: tuple[str, ...],
    base: str,
    current: str,
    by: str | None,
    period_col: str,
) -> pd.DataFrame:
    """Check the arguments and return the base and current rows, numeric, one per entity-period."""
    if not factors:
        raise ValueError("factors must name at least one column")
    if len(factors) > MAX_FACTORS:
        raise ValueError(f"at most {MAX_FACTORS} factors are supported, got {len(factors)}")
    if kpi in factors:
        raise ValueError(f"kpi {kpi!r} cannot also be one of the factors {factors}")
    keys = [by] if by is not None else []
    needed = [period_col, *keys, kpi, *factors]
    missing_cols = [c for c in dict.fromkeys(needed) if c not in panel.columns]
    if missing_cols:
        raise ValueError(f"panel is missing column(s) {missing_cols}; it has {list(panel.columns)}")
    periods = set(panel[period_col].astype(str))
    absent = [p for p in (base, current) if p not in periods]
    if absent:
        raise ValueError(
            f"period(s) {absent} not found in panel column {period_col!r}; "
            f"available: {sorted(periods)}"
        )
    if base == current:
        raise ValueError(f"base and current are the same period {base!r}")
    sub = panel.loc[panel[period_col].astype(str).isin([base, current]), needed].copy()
    sub[period_col] = sub[period_col].astype(str)
    dup = sub.duplicated([period_col, *keys], keep=False)
    if dup.any():
        examples = sub.loc[dup, [period_col, *keys]].drop_duplicates().head(10)
        hint = "" if by is not None else " (pass by= for a rep or team panel)"
        raise ValueError(
            f"panel has several rows per {'/'.join([*keys, period_col])}{hint}: "
            f"{examples.to_dict('records')}"
        )
    for col in (kpi, *factors):
        sub[col] = pd.to_numeric(sub[col], errors="coerce").astype(float)
    return sub


def _check_identity(
    sub: pd.DataFrame,
    kpi: str,
    factors: tuple[str, ...],
    by: str | None,
    period_col: str,
    identity_rtol: float,
) -> float:
    """Check ``kpi = product(factors)`` on every row, all failures at once; the largest error."""
    vals = sub[list(factors)].to_numpy(dtype=float)
    y = sub[kpi].to_numpy(dtype=float)
    finite = np.isfinite(vals)
    prod = np.prod(np.where(finite, vals, 1.0), axis=1)
    all_finite = finite.all(axis=1)
    has_zero = np.any(finite & (vals == 0), axis=1)
    # a missing factor is acceptable only when the KPI is 0 and another factor is exactly 0
    excused = ~all_finite & has_zero & (y == 0)
    rel = np.abs(y - prod) / np.maximum(np.maximum(np.abs(y), np.abs(prod)), np.finfo(float).tiny)
    rel = np.where((y == 0) & (prod == 0), 0.0, rel)
    ok = (all_finite & np.isfinite(y) & (rel <= identity_rtol)) | excused
    if not ok.all():
        lines = []
        for i in np.flatnonzero(~ok).tolist():
            row = sub.iloc[i]
            who = _entity_label(by, row[by] if by else None)
            expr = " x ".join(f"{f}={_fmt(row[f])}" for f in factors)
            if not all_finite[i]:
                why = "a factor is missing while the KPI is not 0 (or no other factor is 0)"
            elif not np.isfinite(y[i]):
                why = f"{kpi} is missing"
            else:
                why = f"relative difference {rel[i]:.3g} > identity_rtol={identity_rtol:g}"
            lines.append(
                f"  {who}, {period_col}={row[period_col]}: {expr} = {_fmt(prod[i])} "
                f"but {kpi} = {_fmt(y[i])} ({why})"
            )
        raise IdentityError(
            f"the identity {kpi} = {' x '.join(factors)} does not hold in {len(lines)} "
            f"entity-period row(s):\n" + "\n".join(lines)
        )
    return float(np.max(np.where(all_finite, rel, 0.0))) if len(rel) else 0.0


def _align_periods(
    sub: pd.DataFrame, base: str, current: str, by: str | None, period_col: str
) -> tuple[list[Any], pd.DataFrame, pd.DataFrame, list[str]]:
    """Return the entities in both periods, their base and current rows, notes on the rest."""
    notes: list[str] = []
    if by is None:
        sub = sub.assign(_entity="company")
        key = "_entity"
    else:
        key = by
    b = sub[sub[period_col] == base].set_index(key)
    c = sub[sub[period_col] == current].set_index(key)
    only_b = [k for k in b.index if k not in c.index]
    only_c = [k for k in c.index if k not in b.index]
    if only_b:
        notes.append(f"left out, only in {base}: {by}={', '.join(map(str, only_b))}")
    if only_c:
        notes.append(f"left out, only in {current}: {by}={', '.join(map(str, only_c))}")
    common = [k for k in b.index if k in c.index]
    return common, b.loc[common], c.loc[common], notes


def _undefined_notes(
    nan_b: np.ndarray,
    nan_c: np.ndarray,
    both: np.ndarray,
    common: list[Any],
    kpi: str,
    factors: tuple[str, ...],
    base: str,
    current: str,
    by: str | None,
) -> list[str]:
    """Write notes on the factors undefined in one or both periods, entity by entity."""
    notes: list[str] = []
    for i, ent in enumerate(common):
        for j, f in enumerate(factors):
            if nan_b[i, j] and nan_c[i, j]:
                continue
            if nan_b[i, j]:
                notes.append(
                    f"{_entity_label(by, ent)}: {f} undefined in {base} ({kpi} = 0 there); "
                    f"treated as unchanged"
                )
            elif nan_c[i, j]:
                notes.append(
                    f"{_entity_label(by, ent)}: {f} undefined in {current} ({kpi} = 0 there); "
                    f"treated as unchanged"
                )
        if both[i]:
            undefined = [f for j, f in enumerate(factors) if nan_b[i, j] and nan_c[i, j]]
            notes.append(
                f"{_entity_label(by, ent)}: {', '.join(undefined)} undefined in both periods "
                f"({kpi} = 0 in both); all contributions set to 0"
            )
    return notes


def _contributions(
    xb: np.ndarray,
    xc: np.ndarray,
    common: list[Any],
    kpi: str,
    factors: tuple[str, ...],
    base: str,
    current: str,
    by: str | None,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Compute Shapley and LMDI-I contributions per entity and factor; append to ``notes``."""
    nan_b, nan_c = ~np.isfinite(xb), ~np.isfinite(xc)
    both = (nan_b & nan_c).any(axis=1)
    notes.extend(_undefined_notes(nan_b, nan_c, both, common, kpi, factors, base, current, by))
    xb_f = np.where(nan_b, xc, xb)
    xc_f = np.where(nan_c, xb, xc)
    xb_f = np.where(np.isfinite(xb_f), xb_f, 1.0)
    xc_f = np.where(np.isfinite(xc_f), xc_f, 1.0)

    shap = shapley_product(xb_f, xc_f) if len(common) else np.zeros((0, len(factors)))
    shap[both] = 0.0
    lmdi = lmdi_product(xb, xc) if len(common) else np.zeros((0, len(factors)))
    n_lmdi_nan = int(np.isnan(lmdi).any(axis=1).sum())
    if n_lmdi_nan:
        notes.append(
            f"LMDI-I undefined (NaN) for {n_lmdi_nan} entit{'y' if n_lmdi_nan == 1 else 'ies'} "
            f"with a zero or missing factor in {base} or {current}; the Shapley values are defined"
        )
    return shap, lmdi


def _assemble_frame(
    common: list[Any],
    factors: tuple[str, ...],
    by: str | None,
    xb: np.ndarray,
    xc: np.ndarray,
    shap: np.ndarray,
    lmdi: np.ndarray,
    yb: np.ndarray,
    yc: np.ndarray,
) -> pd.DataFrame:
    """Build the result frame, one row per entity and factor."""
    k = len(factors)
    m = len(common)
    data: dict[str, Any] = {}
    if by is not None:
        data[by] = np.repeat(np.asarray(common, dtype=object), k)
    data.update(
        factor=np.tile(np.asarray(factors, dtype=object), m),
        base_value=xb.reshape(-1),
        current_value=xc.reshape(-1),
        contribution=shap.reshape(-1),
        lmdi_contribution=lmdi.reshape(-1),
        total_change=np.repeat(yc - yb, k),
        kpi_base=np.repeat(yb, k),
        kpi_current=np.repeat(yc, k),
    )
    return pd.DataFrame(data)
