"""Funnel gap attribution: which stage of the funnel holds an entity's revenue gap to a benchmark.

Revenue is written as an exact product of funnel factors::

    revenue = activities x (opps_created / activities) x (opps_won / opps_created)
              x (revenue / opps_won)

and the gap between an entity (rep or team) and a benchmark profile is split between the factors in
money with exact Shapley values. The stage with the largest negative contribution is the binding
stage, named in words with the entity's percentiles among its peers.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.attribution.shapley import _new_ax, shapley_product, stacked_contributions
from salesinsight.attribution.shapley import waterfall as _waterfall
from salesinsight.results import ResultMixin, Summary

__all__ = ["FunnelGap", "funnel_gap"]

# words for the default stages: (label, verb, coaching focus)
_FIRST_STAGE_WORDS = {
    "activities": ("activity volume", "is", "prospecting"),
    "visits": ("visits", "are", "prospecting"),
    "calls": ("calls", "are", "prospecting"),
}
_RATIO_WORDS = {
    ("activities", "opps_created"): (
        "conversion of activities to opportunities",
        "is",
        "qualifying",
    ),
    ("visits", "opps_created"): ("conversion of visits to opportunities", "is", "qualifying"),
    ("calls", "opps_created"): ("conversion of calls to opportunities", "is", "qualifying"),
    ("opps_created", "opps_won"): ("conversion to signed deals", "is", "closing"),
    ("opps_won", "revenue"): ("deal size", "is", "deal sizing and discounting"),
}


def _stage_words(stages: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(factor name, label, verb, coaching focus) for each factor of the funnel identity."""
    out = []
    first = stages[0]
    label, verb, focus = _FIRST_STAGE_WORDS.get(
        first, (first, "are" if first.endswith("s") else "is", "prospecting")
    )
    out.append((first, label, verb, focus))
    for prev, cur in zip(stages[:-1], stages[1:], strict=True):
        name = f"{cur}_per_{prev}"
        label, verb, focus = _RATIO_WORDS.get(
            (prev, cur), (f"{cur} per {prev}", "is", f"turning {prev} into {cur}")
        )
        out.append((name, label, verb, focus))
    return out


def _ordinal(p: float) -> str:
    n = int(np.floor(p + 0.5))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _band(p: float) -> str:
    if not np.isfinite(p):
        return "not ranked"
    if p >= 75:
        return "in the top quartile"
    if p >= 50:
        return "above the median"
    if p > 25:
        return "below the median"
    return "in the bottom quartile"


def _money(x: float) -> str:
    return f"{'-' if x < 0 else '+'}{abs(x):,.0f}"


@dataclass(frozen=True, eq=False)
class FunnelGap(ResultMixin):
    """Revenue gap of each entity to a benchmark, attributed to funnel stages in money.

    Attributes
    ----------
    entity : str
        Entity key column (``rep_id`` or ``team_id``).
    benchmark : str or hashable
        ``"team_median"``, ``"median"``, ``"top_quartile"`` or an entity id.
    stages : tuple of str
        Stage columns; the factors are the first stage and each stage per the previous one.
    factors : tuple of str
        Factor names (``activities``, ``opps_created_per_activities``, ...).
    frame : DataFrame
        One row per entity and factor (see `to_frame`).
    messages : DataFrame
        One row per entity: ``binding_factor``, ``binding_contribution``, ``gap``, ``message``.
    notes : tuple of str
    """

    entity: str
    benchmark: Any
    stages: tuple[str, ...]
    factors: tuple[str, ...]
    frame: pd.DataFrame
    messages: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per entity and factor.

        Columns: the entity key, ``factor``, ``label`` (words), ``value`` (the entity's factor),
        ``benchmark_value``, ``percentile`` (0-100 among all entities, mid-rank), ``contribution``
        (Shapley share of the gap, money), ``gap`` (revenue - benchmark revenue), ``revenue``,
        ``benchmark_revenue``, ``binding`` (bool: the stage with the largest shortfall).
        """
        return self.frame.copy()

    def _summary(self) -> Summary:
        """Summarise in one sentence per entity naming the binding stage."""
        head = (
            f"Funnel gap to the {self.benchmark} benchmark: revenue = "
            f"{' x '.join(self.factors)} (exact), gap split between the stages with Shapley "
            f"values (money). Percentiles are among all {self.entity} values in the panel."
        )
        lines = [head]
        lines.extend(f"- {m}" for m in self.messages["message"])
        lines.extend(f"Note: {n}" for n in self.notes)
        return Summary.from_lines(lines)

    def plot(self, *, ax: Any = None, entity: Hashable | None = None) -> Any:
        """Plot the waterfall benchmark -> stages -> entity revenue for one entity.

        With ``entity`` None, stacked bars of the stage contributions for every entity. Returns
        the Axes.
        """
        ax = _new_ax(ax)
        f = self.frame
        if entity is None and f[self.entity].nunique() > 1:
            wide = f.pivot_table(
                index=self.entity, columns="factor", values="contribution", sort=False
            )[list(self.factors)]
            totals = f.groupby(self.entity, sort=False)["gap"].first().loc[wide.index]
            stacked_contributions(ax, wide, totals)
            ax.set_ylabel("revenue gap to benchmark")
            ax.set_title(f"Funnel gap to {self.benchmark} by {self.entity}")
            return ax
        if entity is None:
            entity = f[self.entity].iloc[0]
        g = f[f[self.entity] == entity]
        if g.empty:
            raise ValueError(f"{self.entity}={entity!r} is not in the funnel gap result")
        first = g.iloc[0]
        _waterfall(
            ax,
            start_label="benchmark",
            start=float(first.benchmark_revenue),
            labels=list(g["label"]),
            deltas=list(g["contribution"]),
            end_label=str(entity),
            end=float(first.revenue),
        )
        ax.set_ylabel("revenue")
        ax.set_title(f"{self.entity}={entity} vs {self.benchmark}")
        return ax


def _entity_team(panel: pd.DataFrame, entity: str, team_col: str) -> pd.Series:
    """Return the team of each entity in its latest period."""
    order = "period_start" if "period_start" in panel else "period"
    last = panel.sort_values(order).groupby(entity, sort=False)[team_col].last()
    return last


def funnel_gap(
    panel: pd.DataFrame,
    *,
    entity: str = "rep_id",
    benchmark: Any = "team_median",
    stages: Sequence[str] = ("activities", "opps_created", "opps_won", "revenue"),
    period: str | Sequence[str] | None = None,
    period_col: str = "period",
    team_col: str = "team_id",
) -> FunnelGap:
    """Attribute each entity's revenue gap to a benchmark to the stages of the funnel, in money.

    Stage counts are summed over the panel's rows for each entity (optionally only ``period``), so
    every factor is a ratio of sums. For an entity with factors ``x`` and a benchmark profile
    ``x*``, the gap ``prod(x) - prod(x*)`` is split with exact Shapley values (all orderings).

    Parameters
    ----------
    panel : DataFrame
        Rep or team panel from `salesinsight.metrics.panel` (stage columns must be additive
        counts or money).
    entity : str
        ``"rep_id"`` or ``"team_id"``.
    benchmark : str or entity id
        ``"team_median"``: per factor, the median over the entity's team (for a team panel, over
        all teams); ``"median"``: median over all entities; ``"top_quartile"``: the 75th percentile
        over all entities; or an entity id to compare against that peer.
    stages : sequence of str
        Funnel stage columns, first the volume, last the money.
    period : str or sequence of str, optional
        Period label(s) to keep; default all rows.
    period_col, team_col : str

    Returns
    -------
    FunnelGap

    Notes
    -----
    A benchmark profile is a set of per-factor medians (or quartiles): its revenue is the product
    of those factors, not the median revenue. ``opps_won / opps_created`` counts wins closed in the
    window per opportunity created in it (a flow ratio, not a cohort win rate); with the default
    stages it is what makes the identity exact. A ratio whose denominator is 0 (e.g. no wins, so no
    revenue per win) is taken at the benchmark's value, which leaves the product 0; an entity with
    a later stage above 0 after a zero stage cannot be decomposed and gets NaN contributions.
    Entities with every stage 0 in the window (managers, reps not yet hired) are left out of the
    result, the benchmark and the percentiles, and named in ``notes``.
    """
    stages = tuple(stages)
    sub, is_rep_level = _select_rows(panel, entity, benchmark, stages, period, period_col, team_col)
    notes: list[str] = []
    sums = _stage_sums(sub, entity, stages, notes)
    words = _stage_words(stages)
    factor_names = tuple(w[0] for w in words)
    s = sums.to_numpy()
    x, broken = _factors(s)
    entities = sums.index.to_numpy()
    if broken.any():
        notes.append(
            f"cannot decompose {entity} {', '.join(map(str, entities[broken]))}: a stage is above "
            f"0 after a stage that is 0 (e.g. opportunities without logged activities); "
            f"contributions are NaN"
        )
    fx = pd.DataFrame(x, index=sums.index, columns=factor_names)
    bench = _benchmark_profile(fx, sub, entity, benchmark, is_rep_level, team_col)
    b = bench.to_numpy(dtype=float)
    if not np.isfinite(b).all():
        bad = sorted({factor_names[j] for j in np.flatnonzero(~np.isfinite(b).all(axis=0))})
        notes.append(f"benchmark undefined for {', '.join(bad)} in some peer groups")
    contrib, ok = _gap_contributions(x, b, broken)
    revenue = s[:, -1]
    bench_rev = np.where(np.isfinite(b).all(axis=1), np.prod(np.nan_to_num(b), axis=1), np.nan)
    gap = revenue - bench_rev
    pct = fx.rank(method="average").sub(0.5).div(fx.notna().sum()).mul(100.0).to_numpy()
    binding_idx = _binding_factor(contrib, ok)
    frame = pd.DataFrame(
        _frame_columns(entity, entities, words, x, b, pct, contrib, gap, revenue, bench_rev)
        | {"binding": (np.arange(len(words))[None, :] == binding_idx[:, None]).reshape(-1)}
    )
    msgs = [
        {
            entity: ent,
            "binding_factor": factor_names[binding_idx[i]] if binding_idx[i] >= 0 else None,
            "binding_contribution": contrib[i, binding_idx[i]] if binding_idx[i] >= 0 else 0.0,
            "gap": gap[i],
            "message": _message(
                entity, ent, words, contrib[i], pct[i], gap[i], binding_idx[i], ok[i]
            ),
        }
        for i, ent in enumerate(entities)
    ]
    return FunnelGap(
        entity=entity,
        benchmark=benchmark,
        stages=stages,
        factors=factor_names,
        frame=frame,
        messages=pd.DataFrame(msgs),
        notes=tuple(notes),
    )


def _select_rows(
    panel: pd.DataFrame,
    entity: str,
    benchmark: Any,
    stages: tuple[str, ...],
    period: str | Sequence[str] | None,
    period_col: str,
    team_col: str,
) -> tuple[pd.DataFrame, bool]:
    """Check the columns and stage values; return the rows of ``period`` and if it is a rep panel."""
    if len(stages) < 2:
        raise ValueError("stages must name at least two columns")
    needed = [entity, *stages]
    if period is not None:
        needed.append(period_col)
    is_rep_level = entity != team_col and team_col in panel.columns
    if benchmark == "team_median" and is_rep_level:
        needed.append(team_col)
    missing_cols = [c for c in dict.fromkeys(needed) if c not in panel.columns]
    if missing_cols:
        raise ValueError(f"panel is missing column(s) {missing_cols}; it has {list(panel.columns)}")
    sub = panel
    if period is not None:
        wanted = [period] if isinstance(period, str) else list(period)
        sub = sub[sub[period_col].astype(str).isin(wanted)]
        if sub.empty:
            raise ValueError(f"no rows with {period_col} in {wanted}")
    neg = {s: int((pd.to_numeric(sub[s], errors="coerce") < 0).sum()) for s in stages}
    neg = {s: n for s, n in neg.items() if n}
    if neg:
        raise ValueError(f"stage columns must be >= 0; negative values: {neg}")
    return sub, is_rep_level


def _stage_sums(
    sub: pd.DataFrame, entity: str, stages: tuple[str, ...], notes: list[str]
) -> pd.DataFrame:
    """Sum each stage per entity, leaving out (and noting) entities with every stage 0."""
    sums = sub.groupby(entity, sort=True)[list(stages)].sum(min_count=1).fillna(0.0)
    sums = sums.astype(float)
    idle = (sums == 0).all(axis=1)
    if idle.any():
        notes.append(
            f"left out, every stage 0 in the window (e.g. managers, reps not yet hired): "
            f"{entity} {', '.join(map(str, sums.index[idle]))}"
        )
        sums = sums[~idle]
    if sums.empty:
        raise ValueError(f"every {entity} has all stages {list(stages)} equal to 0")
    return sums


def _factors(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn stage sums into the volume and the stage-to-stage ratios; flag broken identities."""
    x = np.empty_like(s)
    x[:, 0] = s[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        x[:, 1:] = np.where(s[:, :-1] > 0, s[:, 1:] / np.where(s[:, :-1] > 0, s[:, :-1], 1), np.nan)
    # identity broken: a stage > 0 after a stage that is 0
    broken = np.any((s[:, :-1] == 0) & (s[:, 1:] > 0), axis=1)
    return x, broken


def _benchmark_profile(
    fx: pd.DataFrame,
    sub: pd.DataFrame,
    entity: str,
    benchmark: Any,
    is_rep_level: bool,
    team_col: str,
) -> pd.DataFrame:
    """Compute each entity's benchmark factors (NaN factors are skipped in medians, quantiles)."""
    if benchmark == "team_median" and is_rep_level:
        team = _entity_team(sub, entity, team_col).reindex(fx.index)
        bench = fx.groupby(team.to_numpy()).transform("median")
        bench.index = fx.index
        return bench
    if benchmark in ("team_median", "median"):
        row = fx.median().to_numpy()
    elif benchmark == "top_quartile":
        row = fx.quantile(0.75).to_numpy()
    elif benchmark in set(fx.index):
        row = fx.loc[benchmark].to_numpy()
    else:
        raise ValueError(
            f"benchmark must be 'team_median', 'median', 'top_quartile' or a value of {entity!r}; "
            f"got {benchmark!r}"
        )
    return pd.DataFrame(np.tile(row, (len(fx), 1)), index=fx.index, columns=fx.columns)


def _gap_contributions(
    x: np.ndarray, b: np.ndarray, broken: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shapley-split each entity's gap to its benchmark; NaN where it cannot be decomposed."""
    # undefined entity ratios (0/0) take the benchmark's value: the product stays 0
    xf = np.where(np.isfinite(x), x, b)
    ok = ~broken & np.isfinite(xf).all(axis=1) & np.isfinite(b).all(axis=1)
    contrib = np.full(x.shape, np.nan)
    if ok.any():
        contrib[ok] = shapley_product(b[ok], xf[ok])
    return contrib, ok


def _binding_factor(contrib: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Find the index of each entity's most negative contribution (-1 when none is negative)."""
    binding_idx = np.full(len(contrib), -1)
    for i in range(len(contrib)):
        if ok[i] and np.nanmin(contrib[i]) < 0:
            binding_idx[i] = int(np.nanargmin(contrib[i]))
    return binding_idx


def _frame_columns(
    entity: str,
    entities: np.ndarray,
    words: list[tuple[str, str, str, str]],
    x: np.ndarray,
    b: np.ndarray,
    pct: np.ndarray,
    contrib: np.ndarray,
    gap: np.ndarray,
    revenue: np.ndarray,
    bench_rev: np.ndarray,
) -> dict[str, Any]:
    """Build the columns of the result frame, one row per entity and factor."""
    k = len(words)
    n = len(entities)
    return {
        entity: np.repeat(entities, k),
        "factor": np.tile(np.asarray([w[0] for w in words], dtype=object), n),
        "label": np.tile(np.asarray([w[1] for w in words], dtype=object), n),
        "value": x.reshape(-1),
        "benchmark_value": b.reshape(-1),
        "percentile": pct.reshape(-1),
        "contribution": contrib.reshape(-1),
        "gap": np.repeat(gap, k),
        "revenue": np.repeat(revenue, k),
        "benchmark_revenue": np.repeat(bench_rev, k),
    }


def _message(
    entity: str,
    ent: Any,
    words: list[tuple[str, str, str, str]],
    contrib: np.ndarray,
    pct: np.ndarray,
    gap: float,
    binding: int,
    ok: bool,
) -> str:
    who = f"{entity}={ent}"
    if not ok:
        return f"{who}: the funnel identity cannot be formed (a stage after a zero stage is > 0)."
    if binding < 0:
        return f"{who}: at or above the benchmark at every stage (gap {_money(gap)})."
    _, b_label, b_verb, b_focus = words[binding]
    bind_txt = f"{b_label} {b_verb} {_band(pct[binding])} ({_ordinal(pct[binding])} percentile)"
    money = f"{_money(contrib[binding])} from this stage; gap to benchmark {_money(gap)}"
    if gap >= 0:
        return f"{who}: ahead of the benchmark overall; the stage behind: {bind_txt} ({money})."
    strong = int(np.nanargmax(contrib))
    if contrib[strong] > 0 and strong != binding:
        _, s_label, s_verb, s_focus = words[strong]
        strong_txt = f"{s_label} {s_verb} {_band(pct[strong])} ({_ordinal(pct[strong])} percentile)"
        advice = f"coach {b_focus}, not {s_focus}" if b_focus != s_focus else f"coach {b_focus}"
        return f"{who}: {strong_txt} but {bind_txt}: {advice} ({money})."
    return f"{who}: {bind_txt}: coach {b_focus} ({money})."
