"""A registry of hypotheses (``params/hypotheses.yaml``) and its evaluation with multiplicity control.

Each hypothesis states, before looking: the claim, the programs, outcome and population, the expected
direction, the smallest effect that matters, the design that tests it and the date it was registered.
:func:`run_registry` runs every design once, corrects the p-values across the *whole* registry
(Holm for the verdicts by default; Benjamini-Hochberg and Romano-Wolf reported beside it, see
:mod:`salesinsight.research.multiplicity`) and calls each hypothesis

* **supported** - the corrected p-value is below ``alpha``, the estimate has the expected sign and
  clears ``min_effect``, and no required check of the design failed;
* **contradicted** - the corrected p-value is below ``alpha`` with the opposite sign, or the interval
  lies within ``± min_effect`` (whatever effect there is, it is too small to matter);
* **inconclusive** - anything else, including a failed required check (e.g. a discontinuity that is
  not credible because sellers bunch).

A hypothesis tested on data that predate its registration (any closed deal dated before the
registration date) is flagged, with the share of the data's days that came before it: such a test is
exploratory, not confirmatory (the data could have been looked at before the hypothesis was written
down). Only data collected after registration make a test confirmatory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from salesinsight.causal.effect import Effect
from salesinsight.kpis import OUTCOMES
from salesinsight.results import ResultMixin, Summary

from .multiplicity import romano_wolf_from_draws

__all__ = [
    "DESIGNS",
    "Hypothesis",
    "Registry",
    "RegistryError",
    "RegistryResult",
    "load_registry",
    "run_registry",
]

#: designs a hypothesis can name, and the outcomes each one produces.
DESIGNS: dict[str, tuple[str, ...]] = {
    "pull_in": ("pulled_deals", "pulled_revenue", "pulled_closed_deals", "discount_premium"),
    "bunching": ("excess", "b"),
    "rd": ("revenue_next", "attainment_next", "activities_next", "left_next"),
    "effort": ("activities",),
    "program": OUTCOMES,  # what evaluate accepts: the outcomes of the KPI registry
    "subgroups": ("difference", "low", "high"),
    "plan": ("csat_corr_gain",),
}
LABELS: tuple[str, ...] = ("supported", "contradicted", "inconclusive")


class RegistryError(ValueError):
    """The registry file is not valid (every problem listed)."""


class Hypothesis(BaseModel):
    """One registered hypothesis."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Short unique identifier.")
    statement: str = Field(min_length=10, description="The claim, in words.")
    programs: list[str] = Field(default_factory=list, description="program_id(s) involved.")
    outcome: str = Field(description="The outcome the design estimates (see DESIGNS).")
    population: str = Field(description="Who the claim is about.")
    direction: Literal["increase", "decrease"]
    min_effect: float = Field(ge=0, description="Smallest effect that matters, outcome units.")
    design: Literal["pull_in", "bunching", "rd", "effort", "program", "subgroups", "plan"]
    registered: dt.date = Field(description="Date the hypothesis was registered.")
    options: dict[str, Any] = Field(default_factory=dict, description="Design arguments.")
    references: str = ""

    @field_validator("outcome")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()


class Registry(BaseModel):
    """The registry file: where the data are, how to test, and the hypotheses."""

    model_config = ConfigDict(extra="forbid")

    title: str = "Incentive research registry"
    data_dir: Path
    seed: int = 0
    alpha: float = Field(default=0.05, gt=0, lt=1)
    n_boot: int = Field(default=499, ge=99)
    correction: Literal["holm", "bh", "romano_wolf"] = "holm"
    folder: str = Field(default="research", description="Run folders go to reports/<folder>/.")
    hypotheses: list[Hypothesis] = Field(min_length=1)

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")

    @property
    def quarter(self) -> str:
        """Sub-folder of the reports root (the run machinery files runs by it)."""
        return self.folder

    @property
    def sha256(self) -> str:
        """sha256 of the registry file's bytes."""
        return self._sha256

    def notebook_parameters(self) -> dict[str, Any]:
        """Return what the research notebook receives: the registry file and its hash."""
        return {"registry_path": str(self._path), "registry_sha256": self._sha256}


def load_registry(path: str | Path, *, check_data_dir: bool = True) -> Registry:
    """Read and validate a registry YAML file (relative ``data_dir`` against the file's folder).

    Raises
    ------
    RegistryError
        Listing every problem at once (unknown keys, bad dates, duplicate ids, unknown outcomes).
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise RegistryError(f"registry file {path} does not exist") from exc
    try:
        raw = yaml.safe_load(blob.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: expected a mapping with data_dir and hypotheses")
    data_dir = raw.get("data_dir")
    if isinstance(data_dir, str) and not Path(data_dir).is_absolute():
        raw["data_dir"] = str((path.parent / data_dir).resolve())
    try:
        reg = Registry.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {len(exc.errors())} problem(s)"]
        for e in exc.errors():
            where = ".".join(str(x) for x in e["loc"])
            lines.append(f"  - {where}: {e['msg']}")
        raise RegistryError("\n".join(lines)) from None
    problems = []
    seen: set[str] = set()
    for i, h in enumerate(reg.hypotheses):
        if h.id in seen:
            problems.append(f"hypotheses.{i}.id: duplicate id {h.id!r}")
        seen.add(h.id)
        if h.outcome not in DESIGNS[h.design]:
            problems.append(
                f"hypotheses.{i} ({h.id}): outcome {h.outcome!r} is not produced by design "
                f"{h.design!r} (one of {', '.join(DESIGNS[h.design])})"
            )
        if h.design in ("program", "subgroups") and len(h.programs) != 1:
            problems.append(
                f"hypotheses.{i} ({h.id}): design {h.design!r} needs exactly one program"
            )
    if check_data_dir and not reg.data_dir.is_dir():
        problems.append(f"data_dir: {reg.data_dir} is not a folder")
    if problems:
        raise RegistryError(f"{path}: {len(problems)} problem(s)\n  - " + "\n  - ".join(problems))
    reg._path = path.resolve()
    reg._sha256 = hashlib.sha256(blob).hexdigest()
    return reg


@dataclass(frozen=True, eq=False)
class RegistryResult(ResultMixin):
    """Result of :func:`run_registry`: one row per hypothesis, and the effects behind them.

    Attributes
    ----------
    table : DataFrame
        ``id, design, outcome, direction, min_effect, estimate, ci_low, ci_high, p_value, p_holm,
        p_bh, p_rw, joint_bootstrap, verdict, reason, registered, data_start, data_end, data_predate_registration,
        share_of_data_before_registration, statement``.
    effects : dict of str to Effect or None
    spec : dict
        Registry title, hash, alpha, correction, data folder.
    """

    table: pd.DataFrame
    effects: dict[str, Effect | None]
    spec: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return the per-hypothesis table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view (results.json of a research run)."""
        rows = []
        for r in self.table.to_dict(orient="records"):
            rows.append({k: _json(v) for k, v in r.items()})
        counts = self.table["verdict"].value_counts()
        return {
            "registry": dict(self.spec),
            "hypotheses": rows,
            "counts": {k: int(counts.get(k, 0)) for k in LABELS},
        }

    def _summary(self) -> Summary:
        """Summarise one row per hypothesis: verdict, estimate, interval, corrected p-values."""
        s = self.spec
        cols = [
            "id",
            "verdict",
            "outcome",
            "estimate",
            "ci_low",
            "ci_high",
            "p_holm",
            "p_bh",
            "p_rw",
        ]
        table = self.table[cols].copy()
        table["verdict"] = table["verdict"].str.upper()
        table["exploratory"] = self.table["data_predate_registration"].map(
            {True: "data predate registration", False: ""}
        )
        return Summary(
            title=(
                f"{s['title']} ({len(self.table)} hypotheses; {s['correction']} across the "
                f"registry, alpha {s['alpha']:g}; registry sha256 {s['registry_sha256'][:12]})"
            ),
            tables=[("Hypotheses", table)],
            notes=[f"{r.id}: {r.reason}" for r in self.table.itertuples()],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Each hypothesis' estimate over its ``min_effect`` with the interval; returns the Axes."""
        import matplotlib.pyplot as plt

        t = self.table
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.6 + 0.45 * len(t)))
        scale = t["min_effect"].where(t["min_effect"] > 0, 1.0)
        sign = np.where(t["direction"] == "increase", 1.0, -1.0)
        y = np.arange(len(t))
        est = sign * t["estimate"] / scale
        lo = np.minimum(sign * t["ci_low"], sign * t["ci_high"]) / scale
        hi = np.maximum(sign * t["ci_low"], sign * t["ci_high"]) / scale
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="#4c72b0", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.axvline(1, color="grey", ls="--", lw=0.8)
        ax.set_yticks(y, t["id"])
        ax.set_xlabel("estimate in the expected direction, in units of min_effect")
        return ax


def run_registry(registry: Registry) -> RegistryResult:
    """Run every hypothesis' design on the registry's data and call each one, corrected across all."""
    from statsmodels.stats.multitest import multipletests

    from ._frames import as_dataset, closed_deals

    ds = as_dataset(registry.data_dir)
    universe = ds.sql("SELECT DISTINCT rep_id FROM reps ORDER BY rep_id")["rep_id"].tolist()
    deals = closed_deals(ds)
    data_start, data_end = deals["close_date"].min().date(), deals["close_date"].max().date()
    cache: dict[tuple[Any, ...], Any] = {}
    effects: dict[str, Effect | None] = {}
    notes: dict[str, str] = {}
    for h in registry.hypotheses:
        try:
            effects[h.id], notes[h.id] = _effect(ds, h, registry, cache, universe)
        except (ValueError, KeyError) as exc:
            effects[h.id], notes[h.id] = None, f"could not be estimated: {exc}"
    p = np.array([_p(effects[h.id]) for h in registry.hypotheses])
    ok = np.isfinite(p)
    p_holm = np.full(len(p), np.nan)
    p_bh = np.full(len(p), np.nan)
    if ok.any():
        p_holm[ok] = multipletests(p[ok], alpha=registry.alpha, method="holm")[1]
        p_bh[ok] = multipletests(p[ok], alpha=registry.alpha, method="fdr_bh")[1]
    est = np.array([_est(effects[h.id]) for h in registry.hypotheses])
    draws = np.column_stack([_draws(effects[h.id], registry.n_boot) for h in registry.hypotheses])
    joint = np.isfinite(draws).any(axis=0)
    p_rw = np.full(len(p), np.nan)
    if ok.any():
        p_rw[ok] = romano_wolf_from_draws(est[ok], draws[:, ok], p_values=p[ok], seed=registry.seed)
    rows = []
    for i, h in enumerate(registry.hypotheses):
        e = effects[h.id]
        p_use = {"holm": p_holm, "bh": p_bh, "romano_wolf": p_rw}[registry.correction][i]
        label, reason = _call(h, e, p_use, registry.alpha, notes[h.id])
        rows.append(
            {
                "id": h.id,
                "design": h.design,
                "programs": ",".join(h.programs),
                "outcome": h.outcome,
                "direction": h.direction,
                "min_effect": h.min_effect,
                "estimate": e.estimate if e is not None else np.nan,
                "ci_low": e.ci_low if e is not None else np.nan,
                "ci_high": e.ci_high if e is not None else np.nan,
                "p_value": p[i],
                "p_holm": p_holm[i],
                "p_bh": p_bh[i],
                "p_rw": p_rw[i],
                "joint_bootstrap": bool(joint[i]),
                "verdict": label,
                "reason": reason,
                "registered": h.registered.isoformat(),
                "data_start": data_start.isoformat(),
                "data_end": data_end.isoformat(),
                "data_predate_registration": bool(data_start < h.registered),
                "share_of_data_before_registration": _share_before(
                    data_start, data_end, h.registered
                ),
                "statement": h.statement,
            }
        )
    spec = {
        "title": registry.title,
        "registry_sha256": registry.sha256,
        "alpha": registry.alpha,
        "correction": registry.correction,
        "n_boot": registry.n_boot,
        "seed": registry.seed,
        "data_dir": str(registry.data_dir),
        "romano_wolf": (
            f"step-down over all {int(ok.sum())} estimable hypotheses; "
            f"{int((joint & ok).sum())} with joint seller-bootstrap draws (the same "
            f"{registry.n_boot} resamplings of every seller), the others through their p-values "
            "with independent normal null draws (conservative by the Gaussian correlation "
            "inequality)"
        ),
    }
    return RegistryResult(table=pd.DataFrame(rows), effects=effects, spec=spec)


def _effect(ds, h: Hypothesis, reg: Registry, cache, universe) -> tuple[Effect | None, str]:
    """Run the hypothesis' design (each distinct design call once) and pick its outcome.

    The bootstrap designs resample the same seller ``universe`` with the registry's seed, so their
    draws are joint across hypotheses (Romano-Wolf).
    """
    opts = dict(h.options)
    common: dict[str, Any] = {"alpha": reg.alpha, "seed": reg.seed}
    joint: dict[str, Any] = {**common, "boot_universe": universe}
    key: tuple[Any, ...]
    if h.design == "pull_in":
        key = ("pull_in", tuple(sorted(opts.items())))
        if key not in cache:
            from ._pull_in import pull_in

            cache[key] = pull_in(ds, n_boot=reg.n_boot, **joint, **opts)
        return cache[key][h.outcome], ""
    if h.design == "bunching":
        key = ("bunching", tuple(sorted(opts.items())))
        if key not in cache:
            from ._bunching import bunching

            cache[key] = bunching(ds, n_boot=reg.n_boot, **joint, **opts)
        b = cache[key]
        return (b.excess if h.outcome == "excess" else b.b), ""
    if h.design == "effort":
        from ._effort import effort

        return effort(ds, n_boot=reg.n_boot, **joint, **opts), ""
    if h.design == "subgroups":
        from .subgroups import subgroup_effects

        key = ("subgroups", h.programs[0], tuple(sorted(opts.items())))
        if key not in cache:
            cache[key] = subgroup_effects(ds, h.programs[0], n_boot=reg.n_boot, **joint, **opts)
        return cache[key][h.outcome], ""
    if h.design == "plan":
        from .plans import Plan, csat_reward

        kw: dict[str, Any] = {k: Plan(**v) if isinstance(v, dict) else v for k, v in opts.items()}
        return csat_reward(ds, n_boot=reg.n_boot, **joint, **kw), ""
    if h.design == "rd":
        from ._rd import rd

        res = rd(ds, outcome=h.outcome, n_boot=reg.n_boot, **common, **opts)
        return res.effect, ("" if res.credible else res.reason)
    from salesinsight.evaluation import evaluate

    ev = evaluate(ds, h.programs[0], outcomes=[h.outcome], alpha=reg.alpha, seed=reg.seed, **opts)
    e = ev.effects.get(h.outcome)
    return e, ev.messages.get(h.outcome, "") if e is None else ""


def _call(
    h: Hypothesis, e: Effect | None, p_adj: float, alpha: float, note: str
) -> tuple[str, str]:
    if e is None or not np.isfinite(e.estimate) or not np.isfinite(p_adj):
        return "inconclusive", note or "the design could not produce an estimate"
    failed = [d.name for d in e.diagnostics if d.required and d.passed is False]
    if failed:
        extra = f" ({note})" if note else ""
        return "inconclusive", f"required check(s) failed: {', '.join(failed)}{extra}"
    sign = 1.0 if h.direction == "increase" else -1.0
    est = sign * e.estimate
    lo, hi = sorted((sign * e.ci_low, sign * e.ci_high))
    if p_adj < alpha and est > 0 and est >= h.min_effect:
        return "supported", (
            f"corrected p = {p_adj:.3g} < {alpha:g}, estimate {e.estimate:.4g} in the expected "
            f"direction ({h.direction}) and at least min_effect {h.min_effect:g}"
        )
    if p_adj < alpha and est < 0:
        return "contradicted", (
            f"corrected p = {p_adj:.3g} < {alpha:g} with the estimate {e.estimate:.4g} in the "
            f"opposite direction to the expected {h.direction}"
        )
    if h.min_effect > 0 and -h.min_effect <= lo and hi <= h.min_effect:
        return "contradicted", (
            f"the interval [{e.ci_low:.4g}, {e.ci_high:.4g}] lies within ± min_effect "
            f"{h.min_effect:g}: any effect is too small to matter"
        )
    if p_adj < alpha:
        return "inconclusive", (
            f"corrected p = {p_adj:.3g} in the expected direction, but the estimate "
            f"{e.estimate:.4g} is below min_effect {h.min_effect:g}"
        )
    return "inconclusive", (
        f"corrected p = {p_adj:.3g} >= {alpha:g} and the interval [{e.ci_low:.4g}, "
        f"{e.ci_high:.4g}] reaches beyond ± min_effect {h.min_effect:g}"
    )


def _share_before(start: dt.date, end: dt.date, registered: dt.date) -> float:
    """Share of the data's days (start..end) dated before ``registered``."""
    days = (end - start).days + 1
    before = min(max((registered - start).days, 0), days)
    return round(before / days, 4)


def _est(e: Effect | None) -> float:
    return float("nan") if e is None else float(e.estimate)


def _draws(e: Effect | None, n_boot: int) -> np.ndarray:
    """Return the effect's joint bootstrap draws (length n_boot), or NaN when it has none."""
    d = None if e is None else e.extras.get("draws")
    if e is None or d is None or len(d) != n_boot or not e.spec.get("boot_universe"):
        return np.full(n_boot, np.nan)
    return np.asarray(d, dtype=float)


def _p(e: Effect | None) -> float:
    if e is None or e.p_value is None:
        return float("nan")
    return float(e.p_value)


def _json(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _fmt(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{f:.4g}" if np.isfinite(f) else "n/a"
