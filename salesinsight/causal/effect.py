"""The result object every causal estimator returns, and the verdict rules.

An :class:`Effect` carries one headline estimate (with its standard error, interval and p-value), the
specification that produced it, named :class:`Diagnostic` checks, and optionally sub-estimates (``terms``,
e.g. an event study) or a counterfactual path (``path``, e.g. synthetic control).
:meth:`Effect.verdict` turns it into one of four plain-language labels (see ``docs/causal.md``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesinsight.causal.inference import check_alpha as _check_alpha
from salesinsight.causal.inference import normal_interval
from salesinsight.results import ResultMixin, Summary

__all__ = [
    "VERDICT_LABELS",
    "Diagnostic",
    "Effect",
    "EffectSpec",
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


#: keys of an estimator's spec that :class:`EffectSpec` types; every other key is an ``option``.
_TYPED_SPEC_KEYS = ("ci_level", "inference", "versions", "notes")


@dataclass(frozen=True, eq=False)
class EffectSpec(Mapping[str, Any]):
    """Everything that produced an :class:`Effect`: the interval level, inference, versions, options.

    A read-only mapping, so ``spec["seed"]``, ``spec.get("inference")`` and ``{**spec, ...}`` keep
    working; the keys every estimator shares are typed attributes.

    Parameters
    ----------
    ci_level : float, default 0.95
        Level of the stored interval.
    inference : str or None
        How the interval and p-value were computed, in words (e.g. ``"cluster-robust (CR1)"``).
    versions : mapping of str to str
        Versions of the libraries that shaped the result (:func:`library_versions`).
    notes : tuple of str
        Caveats in words.
    options : mapping
        Every other argument and default of the estimator (method-specific).
    """

    ci_level: float = 0.95
    inference: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ci = float(self.ci_level)
        if not 0.0 < ci < 1.0:
            raise ValueError(f"EffectSpec.ci_level must be strictly between 0 and 1, got {ci!r}")
        object.__setattr__(self, "ci_level", ci)
        object.__setattr__(self, "versions", MappingProxyType(dict(self.versions)))
        object.__setattr__(self, "notes", _as_notes(self.notes))
        clash = set(self.options) & set(_TYPED_SPEC_KEYS)
        if clash:
            raise ValueError(
                f"EffectSpec.options must not repeat the typed keys {sorted(clash)}; pass them as "
                "attributes"
            )
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> EffectSpec:
        """Build from an estimator's spec dict (an ``EffectSpec`` is returned as is).

        ``ci_level``, ``inference``, ``versions`` and ``notes`` become attributes, the rest
        ``options``.
        """
        if isinstance(spec, EffectSpec):
            return spec
        if not isinstance(spec, Mapping):
            raise TypeError(f"Effect.spec must be a mapping, got {type(spec).__name__}")
        rest = {k: v for k, v in spec.items() if k not in _TYPED_SPEC_KEYS}
        inference = spec.get("inference")
        return cls(
            ci_level=float(spec.get("ci_level", 0.95)),
            inference=None if inference is None else str(inference),
            versions=dict(spec.get("versions") or {}),
            notes=_as_notes(spec.get("notes")),
            options=rest,
        )

    def _present(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.options)
        out["ci_level"] = self.ci_level
        if self.inference is not None:
            out["inference"] = self.inference
        if self.versions:
            out["versions"] = self.versions
        if self.notes:
            out["notes"] = self.notes
        return out

    def __getitem__(self, key: str) -> Any:
        return self._present()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._present())

    def __len__(self) -> int:
        return len(self._present())

    def __repr__(self) -> str:
        return f"EffectSpec({self._present()!r})"


def _as_notes(notes: Any) -> tuple[str, ...]:
    if notes is None:
        return ()
    if isinstance(notes, str):
        return (notes,) if notes else ()
    return tuple(str(n) for n in notes)


@dataclass(frozen=True, eq=False)
class Effect(ResultMixin):
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
    spec : EffectSpec
        Every argument and default that produced the estimate, the interval level ``ci_level`` and
        library versions (a plain mapping given here is converted by
        :meth:`EffectSpec.from_mapping`; :attr:`specification` is the same object, typed).
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
        Method-specific objects (balance table, weights, ...), read-only; the ones the verdict and
        the report read are typed properties (:attr:`bracket`, :attr:`ri_p_value`, :attr:`notes`).
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", EffectSpec.from_mapping(self.spec))
        object.__setattr__(self, "diagnostics", tuple(self.diagnostics))
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))

    # ------------------------------------------------------------------ derived numbers
    @property
    def specification(self) -> EffectSpec:
        """The :class:`EffectSpec` (``spec``, typed for readers that want its attributes)."""
        spec = self.spec
        assert isinstance(spec, EffectSpec)  # converted in __post_init__
        return spec

    @property
    def ci_level(self) -> float:
        """Level of the stored interval (``spec.ci_level``, default 0.95)."""
        return self.specification.ci_level

    @property
    def bracket(self) -> tuple[float, ...] | None:
        """Estimates under different assumptions that the verdict requires all to clear min_effect."""
        b = self.extras.get("bracket")
        return None if b is None else tuple(float(x) for x in b)

    @property
    def ri_p_value(self) -> float | None:
        """Randomization-inference p-value, where the estimator computed one."""
        p = self.extras.get("ri_p_value")
        return None if p is None else float(p)

    @property
    def notes(self) -> tuple[str, ...]:
        """Caveats in words: the spec's notes, else the estimator's ``extras["notes"]``."""
        return self.specification.notes or _as_notes(self.extras.get("notes"))

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
        bracket = self.bracket
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
    def _summary(self) -> Summary:
        """Summarise the effect (absolute, relative), interval, p-value, n, notes, diagnostics."""
        level = f"{100 * self.ci_level:g}%"
        rows: list[tuple[str, Any]] = [
            ("estimate", f"{_fmt(self.estimate)} (SE {_fmt(self.se)})"),
            (f"{level} interval", f"[{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"),
            ("p-value", _fmt_p(self.p_value)),
        ]
        rel = self.relative
        if rel is not None and self.baseline is not None:
            b = abs(self.baseline)
            rows.append(
                (
                    "relative",
                    f"{100 * rel:+.2f}% of baseline {_fmt(self.baseline)} "
                    f"(interval {100 * self.ci_low / b:+.2f}% to {100 * self.ci_high / b:+.2f}%, "
                    "baseline taken as known)",
                )
            )
        elif self.baseline is not None:
            rows.append(("baseline", f"{_fmt(self.baseline)} (relative effect undefined)"))
        rows.append(("n units", f"{self.n_units}   n obs {self.n_obs}"))
        rows.append(("direction", f"{'higher' if self.higher_is_better else 'lower'} is better"))
        if self.specification.inference:
            rows.append(("inference", self.specification.inference))
        rows.extend(("note", n) for n in self.notes)
        diagnostics = [d.describe() for d in self.diagnostics] or ["none"]
        return Summary(
            title=f"Effect of treatment on {self.outcome} ({self.method})",
            rows=rows,
            sections=[Summary("Diagnostics", notes=diagnostics)],
        )

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

    def plot_data(self) -> pd.DataFrame:
        """Return the data :meth:`plot` draws, in the units of the outcome.

        Returns
        -------
        DataFrame
            ``path`` (time, observed, counterfactual and its band) when the effect has one; else the
            ``terms`` in the order drawn (event study); else one ``"effect"`` row with ``estimate``,
            ``ci_low`` and ``ci_high`` (a point and its interval, e.g. a randomized experiment).
        """
        if self.path is not None:
            return self.path.copy()
        if self.terms is not None:
            xs, _ = self._term_positions()
            return self.terms.iloc[np.argsort(xs, kind="stable")].reset_index(drop=True)
        row = {"term": "effect", "estimate": self.estimate, "ci_low": self.ci_low}
        return pd.DataFrame([{**row, "ci_high": self.ci_high, "ci_level": self.ci_level}])

    def plot(self, *, ax: Any = None) -> Any:
        """Plot the counterfactual from ``path``, else the ``terms`` (event study), else the estimate.

        An effect with neither (a randomized experiment, AIPW, a matched DiD) is drawn as its point
        estimate with its confidence interval, beside the zero line. :meth:`plot_data` returns what
        is drawn.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib Axes
            ``ax`` (or the new Axes).
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(
                figsize=(7, 4) if self.terms is not None or self.path is not None else (7, 2.2)
            )
        if self.path is not None:
            self._plot_path(ax)
        elif self.terms is not None:
            self._plot_terms(ax)
        else:
            self._plot_point(ax)
        ax.set_title(f"{self.outcome}: {self.method}")
        ax.legend(loc="best", fontsize="small")
        return ax

    def _term_positions(self) -> tuple[np.ndarray, bool]:
        """Return the x positions of the terms (their number when each term is one, else 0, 1, ...)."""
        t = self.terms
        assert t is not None
        x = pd.to_numeric(t["term"], errors="coerce")
        numeric = bool(x.notna().all())
        return (x.to_numpy(dtype=float) if numeric else np.arange(len(t), dtype=float)), numeric

    def _plot_terms(self, ax: Any) -> None:
        t = self.terms
        assert t is not None
        xs, numeric = self._term_positions()
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        est = t["estimate"].to_numpy(dtype=float)[order]
        lo = t["ci_low"].to_numpy(dtype=float)[order]
        hi = t["ci_high"].to_numpy(dtype=float)[order]
        ax.fill_between(xs, lo, hi, alpha=0.25, color="C0", label=f"{100 * self.ci_level:g}% CI")
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

    def _plot_path(self, ax: Any) -> None:
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

    def _plot_point(self, ax: Any) -> None:
        d = self.plot_data().iloc[0]
        est, lo, hi = float(d["estimate"]), float(d["ci_low"]), float(d["ci_high"])
        ax.errorbar(
            [est],
            [0.0],
            xerr=[[est - lo], [hi - est]],
            fmt="o",
            color="C0",
            capsize=4,
            label=f"estimate and {100 * self.ci_level:g}% CI",
        )
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yticks([0.0])
        ax.set_yticklabels([self.method])
        ax.set_xlabel(f"effect on {self.outcome}")


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
