"""Several effects side by side, one column per estimate (like linearmodels' ``compare``).

pyfixest's ``etable`` is the same idea for regression tables.

>>> from salesinsight.causal import compare
>>> cmp = compare(did_effect, synth_effect, names=["DiD", "synthetic control"])  # doctest: +SKIP
>>> print(cmp)  # estimate, SE, interval, p-value, design, n per column  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.results import ResultMixin, Summary

__all__ = ["TABLE_ROWS", "EffectComparison", "compare"]

#: rows of :meth:`EffectComparison.table`, in order.
TABLE_ROWS: tuple[str, ...] = (
    "outcome",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_level",
    "p_value",
    "design",
    "inference",
    "n_units",
    "n_obs",
)


@dataclass(frozen=True, eq=False)
class EffectComparison(ResultMixin):
    """Effects side by side.

    Attributes
    ----------
    effects : tuple of Effect
        The compared estimates, in the order given.
    names : tuple of str
        One column name per effect (unique).
    """

    effects: tuple[Effect, ...]
    names: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """Return the side-by-side table: one column per effect, one row per :data:`TABLE_ROWS`.

        ``design`` is the estimator (``Effect.method``), ``inference`` how its interval was computed
        (empty when the estimator did not say), ``ci_level`` the level of ``ci_low``/``ci_high``.
        """
        cols = {
            name: [
                e.outcome,
                e.estimate,
                e.se,
                e.ci_low,
                e.ci_high,
                e.ci_level,
                e.p_value,
                e.method,
                e.specification.inference or "",
                e.n_units,
                e.n_obs,
            ]
            for name, e in zip(self.names, self.effects, strict=True)
        }
        return pd.DataFrame(cols, index=pd.Index(TABLE_ROWS, name="statistic"), dtype=object)

    def to_frame(self) -> pd.DataFrame:
        """Return one tidy row per effect.

        Columns ``name``, then those of :meth:`Effect.to_frame`'s head row, then ``ci_level``.
        """
        rows = []
        for name, e in zip(self.names, self.effects, strict=True):
            head = e.to_frame().iloc[[0]].drop(columns="term")
            head.insert(0, "name", name)
            head["ci_level"] = e.ci_level
            rows.append(head)
        return pd.concat(rows, ignore_index=True)

    def _summary(self) -> Summary:
        shown = self.table().reset_index()
        notes = []
        levels = sorted({e.ci_level for e in self.effects})
        if len(levels) > 1:
            notes.append(
                "The intervals have different levels ("
                + ", ".join(f"{100 * lv:g}%" for lv in levels)
                + "); compare them with care."
            )
        outcomes = sorted({e.outcome for e in self.effects})
        if len(outcomes) > 1:
            notes.append(
                "The effects are on different outcomes (" + ", ".join(outcomes) + "), "
                "so their sizes are in different units."
            )
        return Summary(
            title=f"Comparison of {len(self.effects)} effects",
            tables=[("", shown)],
            notes=notes,
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Forest plot: each estimate with its interval, top to bottom in the given order.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.5 * len(self.effects) + 1)))
        est = np.array([e.estimate for e in self.effects], dtype=float)
        lo = np.array([e.ci_low for e in self.effects], dtype=float)
        hi = np.array([e.ci_high for e in self.effects], dtype=float)
        y = np.arange(len(est))[::-1]
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="C0", capsize=3)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yticks(y, list(self.names))
        ax.set_xlabel("estimate with its interval")
        return ax


def compare(*effects: Effect, names: Sequence[str] | None = None) -> EffectComparison:
    """Put several effects side by side.

    Parameters
    ----------
    *effects : Effect
        The estimates to compare (at least one).
    names : sequence of str, optional
        Column names, one per effect; default the estimators' names (``Effect.method``), numbered
        when two are the same.

    Returns
    -------
    EffectComparison
        ``table()`` side by side, ``to_frame()`` one tidy row per effect, ``plot()`` a forest plot.

    Raises
    ------
    TypeError
        When an argument is not an :class:`Effect` (every such position named).
    ValueError
        When no effect is given, or ``names`` has the wrong length or repeats a name.
    """
    if not effects:
        raise ValueError("compare needs at least one Effect")
    wrong = [
        f"#{i + 1} ({type(e).__name__})" for i, e in enumerate(effects) if not isinstance(e, Effect)
    ]
    if wrong:
        raise TypeError(f"compare takes Effect objects; not an Effect: {', '.join(wrong)}")
    if names is None:
        names = _default_names([e.method for e in effects])
    names = [str(n) for n in names]
    if len(names) != len(effects):
        raise ValueError(f"compare got {len(effects)} effects but {len(names)} names")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"compare names must be unique; repeated: {', '.join(map(repr, dup))}")
    return EffectComparison(effects=tuple(effects), names=tuple(names))


def _default_names(methods: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for m in methods:
        seen[m] = seen.get(m, 0) + 1
        out.append(m if methods.count(m) == 1 else f"{m} ({seen[m]})")
    return out
