"""The result object every causal estimator returns, and the verdict rules.

An :class:`Effect` carries one headline estimate (with its standard error, interval and p-value), the
specification that produced it, named :class:`Diagnostic` checks, and optionally sub-estimates (``terms``,
e.g. an event study) or a counterfactual path (``path``, e.g. synthetic control).
:meth:`Effect.verdict` turns it into one of four plain-language labels (see ``docs/causal.md``).
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesinsight.causal.inference import check_alpha as _check_alpha
from salesinsight.causal.inference import normal_interval

__all__ = [
    "VERDICT_LABELS",
    "Diagnostic",
    "Effect",
    "Verdict",
    "library_versions",
    "normal_interval",
]

VerdictLabel = Literal["worked", "harmed", "no detectable effect", "inconclusive", "not estimable"]
#: "not estimable": the outcome has no data to estimate from (no table, or no event in the window)
VERDICT_LABELS: tuple[str, ...] = (
    "worked",
    "harmed",
    "no detectable effect",
    "inconclusive",
    "not estimable",
)

#: columns of :meth:`Effect.to_frame`, in order.
FRAME_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n_units",
    "n_obs",
    "method",
    "outcome",
)


@dataclass(frozen=True)
class Diagnostic:
    """A named check of an estimator's assumptions.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"pre_trends"``, ``"balance"``, ``"overlap"``, ``"pre_fit"``.
    passed : bool or None
        ``None`` means not applicable or could not be computed.
    statistic, p_value, value : float or None
        Test statistic, its p-value and any other headline number (e.g. the largest |SMD|).
    required : bool
        A failed required diagnostic makes the verdict ``"inconclusive"``.
    note : str
        One sentence in words.
    """

    name: str
    passed: bool | None
    statistic: float | None = None
    p_value: float | None = None
    value: float | None = None
    required: bool = True
    note: str = ""

    def describe(self) -> str:
        """One line in words: name, outcome of the check, statistic and p-value."""
        if self.passed is None:
            state = "not applicable / not computed"
        else:
            state = "passed" if self.passed else "FAILED"
        parts = [f"{self.name}: {state}"]
        if self.statistic is not None and _finite(self.statistic):
            parts.append(f"statistic {self.statistic:.4g}")
        if self.p_value is not None and _finite(self.p_value):
            parts.append(f"p = {_fmt_p(self.p_value)}")
        if self.value is not None and _finite(self.value):
            parts.append(f"value {self.value:.4g}")
        parts.append("required" if self.required else "informational")
        text = ", ".join(parts)
        if self.note:
            text += f". {self.note}"
        return text


@dataclass(frozen=True)
class Verdict:
    """Plain-language verdict on an effect.

    Attributes
    ----------
    label : {"worked", "harmed", "no detectable effect", "inconclusive", "not estimable"}
    reason : str
        One sentence explaining why.
    """

    label: VerdictLabel
    reason: str

    def __post_init__(self) -> None:
        if self.label not in VERDICT_LABELS:
            raise ValueError(f"Verdict label must be one of {VERDICT_LABELS}, got {self.label!r}")

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


@dataclass(frozen=True, eq=False)
class Effect:
    """One causal estimate with its uncertainty, specification and diagnostics.

    Attributes
    ----------
    estimate, se : float
        Point estimate and standard error, in the outcome's units (e.g. win-rate points as a
        probability, revenue in currency per unit-period).
    ci_low, ci_high : float
        Confidence interval at level ``spec["ci_level"]`` (default 0.95).
    p_value : float
        Two-sided p-value for the null of no effect.
    n_units, n_obs : int
        Number of independent units (clusters where clustered) and of observations used.
    method, outcome : str
        Estimator name and outcome column.
    spec : Mapping
        Every argument and default that produced the estimate, the interval level ``ci_level`` and
        library versions.
    diagnostics : tuple of Diagnostic
    baseline : float or None
        Untreated / counterfactual mean of the outcome, used for the relative effect.
    higher_is_better : bool
        Decides which direction counts as good in :meth:`verdict`.
    terms : DataFrame or None
        Sub-estimates with columns ``term, estimate, se, ci_low, ci_high`` (+ optional extras).
    path : DataFrame or None
        Counterfactual picture with columns ``time, observed, counterfactual, cf_low, cf_high``.
    extras : Mapping
        Method-specific objects (balance table, weights, ...).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_units: int
    n_obs: int
    method: str
    outcome: str
    spec: Mapping[str, Any]
    diagnostics: tuple[Diagnostic, ...] = ()
    baseline: float | None = None
    higher_is_better: bool = True
    terms: pd.DataFrame | None = None
    path: pd.DataFrame | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived numbers
    @property
    def ci_level(self) -> float:
        """Level of the stored interval (``spec["ci_level"]``, default 0.95)."""
        return float(self.spec.get("ci_level", 0.95))

    @property
    def relative(self) -> float | None:
        """Estimate relative to ``baseline`` (e.g. 0.05 = +5%), or None when undefined."""
        if self.baseline is None or not _finite(self.baseline) or self.baseline == 0:
            return None
        return float(self.estimate / abs(self.baseline))

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        """Return the (1 - alpha) interval.

        The stored interval when its level matches ``1 - alpha``; otherwise
        ``estimate ± z_{1-alpha/2} · se`` (normal critical value).
        """
        _check_alpha(alpha)
        if math.isclose(1.0 - alpha, self.ci_level, abs_tol=1e-9):
            return float(self.ci_low), float(self.ci_high)
        return normal_interval(self.estimate, self.se, alpha=alpha)

    # ------------------------------------------------------------------ verdict
    def verdict(self, min_effect: float = 0.0, alpha: float = 0.05) -> Verdict:
        """Classify the effect as worked / harmed / no detectable effect / inconclusive.

        Rules, in order (``good`` is up when ``higher_is_better`` else down; the interval is the
        (1 - alpha) interval, see :meth:`interval`):

        1. estimate or interval not finite, or any failed *required* diagnostic -> inconclusive;
        2. interval excludes zero on the good side and the estimate is at least ``min_effect`` in the
           good direction -> worked;
        3. interval excludes zero on the bad side -> harmed;
        4. interval inside ``[-min_effect, +min_effect]`` -> no detectable effect;
        5. otherwise -> inconclusive.

        Parameters
        ----------
        min_effect : float, default 0
            Smallest effect that matters, in the outcome's units, >= 0.
        alpha : float, default 0.05
            One minus the interval level.
        """
        if not _finite(min_effect) or min_effect < 0:
            raise ValueError(f"min_effect must be a finite number >= 0, got {min_effect!r}")
        _check_alpha(alpha)
        level = f"{100 * (1 - alpha):g}%"
        failed = [d.name for d in self.diagnostics if d.required and d.passed is False]
        if failed:
            return Verdict(
                "inconclusive",
                f"required diagnostic(s) failed ({', '.join(failed)}), so the design's assumptions "
                "are in doubt whatever the estimate says.",
            )
        low, high = self.interval(alpha)
        if not all(_finite(x) for x in (self.estimate, low, high)):
            return Verdict("inconclusive", "the effect or its interval could not be estimated.")
        sign = 1.0 if self.higher_is_better else -1.0
        g_est = sign * self.estimate
        bracket = self.extras.get("bracket")
        if bracket is not None:
            # a range of estimates under different assumptions: every one must clear min_effect
            g_est = min(sign * float(b) for b in bracket)
        g_low, g_high = sorted((sign * low, sign * high))
        good = "increase" if self.higher_is_better else "decrease"
        bad = "decrease" if self.higher_is_better else "increase"
        ci_txt = f"{level} interval [{_fmt(low)}, {_fmt(high)}]"
        if g_low > 0 and g_est >= min_effect:
            extra = f" and the estimate {_fmt(self.estimate)} clears min_effect {_fmt(min_effect)}"
            if bracket is not None:
                extra = (
                    f" and every estimate (between {_fmt(min(bracket))} and {_fmt(max(bracket))}) "
                    f"clears min_effect {_fmt(min_effect)}"
                )
            return Verdict(
                "worked",
                f"the {ci_txt} excludes zero on the good side ({good}){extra if min_effect else ''}.",
            )
        if g_high < 0:
            return Verdict(
                "harmed",
                f"the {ci_txt} excludes zero on the bad side ({bad} in {self.outcome}).",
            )
        if -min_effect <= g_low and g_high <= min_effect:
            tail = (
                " (it excludes zero, but the effect is too small to matter)"
                if g_low > 0 or g_high < 0
                else ""
            )
            return Verdict(
                "no detectable effect",
                f"the {ci_txt} lies inside ±{_fmt(min_effect)}{tail}, so any effect is smaller "
                "than the minimum that matters.",
            )
        if g_low > 0:
            why = (
                f"the {ci_txt} excludes zero but the estimate {_fmt(self.estimate)} is below "
                f"min_effect {_fmt(min_effect)} and the interval reaches beyond it"
            )
        else:
            why = (
                f"the {ci_txt} includes zero and reaches beyond ±{_fmt(min_effect)}: "
                "the data cannot tell a meaningful effect from none"
            )
        if bracket is not None and max(bracket) > min(bracket):
            why += (
                f"; the estimate lies between {_fmt(min(bracket))} and {_fmt(max(bracket))} "
                "depending on why people were enrolled"
            )
        return Verdict("inconclusive", why + ".")

    # ------------------------------------------------------------------ rendering
    def summary(self) -> str:
        """Plain-text summary: effect (absolute and relative), interval, p-value, n, diagnostics."""
        level = f"{100 * self.ci_level:g}%"
        lines = [
            f"Effect of treatment on {self.outcome} ({self.method})",
            f"  estimate        {_fmt(self.estimate)} (SE {_fmt(self.se)})",
            f"  {level} interval    [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]",
            f"  p-value         {_fmt_p(self.p_value)}",
        ]
        rel = self.relative
        if rel is not None and self.baseline is not None:
            b = abs(self.baseline)
            lines.append(
                f"  relative        {100 * rel:+.2f}% of baseline {_fmt(self.baseline)} "
                f"(interval {100 * self.ci_low / b:+.2f}% to {100 * self.ci_high / b:+.2f}%, "
                "baseline taken as known)"
            )
        elif self.baseline is not None:
            lines.append(f"  baseline        {_fmt(self.baseline)} (relative effect undefined)")
        lines.append(f"  n units         {self.n_units}   n obs {self.n_obs}")
        lines.append(
            f"  direction       {'higher' if self.higher_is_better else 'lower'} is better"
        )
        inference = self.spec.get("inference")
        if inference:
            lines.append(f"  inference       {inference}")
        notes = self.spec.get("notes") or self.extras.get("notes")
        if notes:
            for n in [notes] if isinstance(notes, str) else list(notes):
                lines.append(f"  note            {n}")
        if self.diagnostics:
            lines.append("Diagnostics")
            lines.extend(f"  - {d.describe()}" for d in self.diagnostics)
        else:
            lines.append("Diagnostics: none")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        esc = html.escape
        level = f"{100 * self.ci_level:g}%"
        rows = [
            ("Estimate", _fmt(self.estimate)),
            ("SE", _fmt(self.se)),
            (f"{level} interval", f"[{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"),
            ("p-value", _fmt_p(self.p_value)),
            ("Units / obs", f"{self.n_units} / {self.n_obs}"),
        ]
        if self.relative is not None:
            rows.append(("Relative to baseline", f"{100 * self.relative:+.2f}%"))
        if self.spec.get("inference"):
            rows.append(("Inference", str(self.spec["inference"])))
        body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
        diag = "".join(f"<li>{esc(d.describe())}</li>" for d in self.diagnostics)
        title = esc(f"Effect on {self.outcome} ({self.method})")
        out = f"<div><strong>{title}</strong><table>{body}</table>"
        if diag:
            out += f"<p>Diagnostics</p><ul>{diag}</ul>"
        return out + "</div>"

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one ``"effect"`` row, then one row per entry of ``terms`` (if any)."""
        head = {
            "term": "effect",
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "n_units": self.n_units,
            "n_obs": self.n_obs,
            "method": self.method,
            "outcome": self.outcome,
        }
        frame = pd.DataFrame([head])
        if self.terms is not None and len(self.terms):
            t = self.terms.copy()
            t["term"] = t["term"].astype(str)
            for col in ("p_value", "n_units", "n_obs"):
                if col not in t.columns:
                    t[col] = np.nan
            t["method"] = self.method
            t["outcome"] = self.outcome
            extra = [c for c in t.columns if c not in FRAME_COLUMNS]
            frame = pd.concat([frame, t[list(FRAME_COLUMNS) + extra]], ignore_index=True)
        frame["n_units"] = frame["n_units"].astype("Int64")
        frame["n_obs"] = frame["n_obs"].astype("Int64")
        return frame

    def plot(self, ax: Any = None) -> Any:
        """Plot the counterfactual from ``path`` when present, else the ``terms`` (event study).

        Returns the Axes.
        """
        if self.terms is None and self.path is None:
            raise ValueError(
                f"nothing to plot for method {self.method!r}: this Effect has neither `terms` "
                "(event study) nor `path` (counterfactual); use summary() or to_frame() instead"
            )
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        if self.path is None:
            t = self.terms
            assert t is not None
            x = pd.to_numeric(t["term"], errors="coerce")
            numeric = bool(x.notna().all())
            xs = x.to_numpy(dtype=float) if numeric else np.arange(len(t), dtype=float)
            order = np.argsort(xs, kind="stable")
            xs = xs[order]
            est = t["estimate"].to_numpy(dtype=float)[order]
            lo = t["ci_low"].to_numpy(dtype=float)[order]
            hi = t["ci_high"].to_numpy(dtype=float)[order]
            ax.fill_between(
                xs, lo, hi, alpha=0.25, color="C0", label=f"{100 * self.ci_level:g}% CI"
            )
            ax.plot(xs, est, "o-", color="C0", label="estimate")
            ax.axhline(0.0, color="grey", lw=0.8)
            if numeric:
                ax.axvline(-0.5, color="grey", ls="--", lw=0.8)
                ax.set_xlabel("periods relative to treatment")
            else:
                ax.set_xticks(xs)
                ax.set_xticklabels(t["term"].astype(str).to_numpy()[order], rotation=45)
                ax.set_xlabel("term")
            ax.set_ylabel(f"effect on {self.outcome}")
        else:
            p = self.path
            assert p is not None
            ax.plot(p["time"], p["observed"], color="black", label="observed")
            ax.plot(p["time"], p["counterfactual"], color="C1", ls="--", label="counterfactual")
            if {"cf_low", "cf_high"} <= set(p.columns):
                ax.fill_between(
                    p["time"], p["cf_low"], p["cf_high"], color="C1", alpha=0.2, label="band"
                )
            if self.spec.get("treatment_time") is not None:
                ax.axvline(self.spec["treatment_time"], color="grey", ls=":", lw=1)
            ax.set_xlabel("time")
            ax.set_ylabel(self.outcome)
        ax.set_title(f"{self.outcome}: {self.method}")
        ax.legend(loc="best", fontsize="small")
        return ax


# ---------------------------------------------------------------------- helpers
def library_versions() -> dict[str, str]:
    """Versions of the numerical libraries that shape results (for ``Effect.spec``); a new dict."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> tuple[tuple[str, str], ...]:
    import importlib.metadata as md

    out: list[tuple[str, str]] = []
    for name in ("salesinsight", "numpy", "pandas", "scipy", "statsmodels", "pyfixest"):
        try:
            out.append((name, md.version(name)))
        except md.PackageNotFoundError:
            continue
    return tuple(out)


def _finite(x: Any) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _fmt(x: Any) -> str:
    if x is None or not _finite(x):
        return "nan"
    return f"{float(x):.4g}"


def _fmt_p(p: Any) -> str:
    if p is None or not _finite(p):
        return "nan"
    return "< 0.0001" if float(p) < 1e-4 else f"{float(p):.4f}"
