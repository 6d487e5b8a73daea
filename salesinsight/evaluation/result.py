"""The result of :func:`salesinsight.evaluation.evaluate`: one program, its outcomes, verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect, Verdict

__all__ = ["ProgramEvaluation"]


@dataclass(frozen=True, eq=False)
class ProgramEvaluation:
    """Evaluation of one program across its outcomes.

    Attributes
    ----------
    program : Mapping
        ``program_id, name, kind, design, unit, start_date, end_date`` and enrolment counts.
    outcomes : tuple of str
    effects : Mapping[str, Effect | None]
        ``None`` when the design is not (yet) supported or the outcome could not be estimated.
    verdicts : Mapping[str, Verdict]
        After the multiplicity correction (see ``docs/causal.md``).
    p_adjusted : Mapping[str, float]
        Holm or Benjamini-Hochberg adjusted p-values across the program's estimated outcomes.
    naive : DataFrame
        Naive comparisons, labelled as such: ``outcome, comparison, estimate, treated, reference,
        note`` with comparison ``"naive before/after"`` or ``"naive treated vs untreated"``.
    dynamic : Mapping[str, Effect]
        Event-study effects (staggered design) for plots.
    alternatives : Mapping[str, Mapping[str, Effect]]
        Other designs / estimators shown alongside the primary one, keyed by role (``"twfe"``
        beside staggered DiD; ``"synthetic_control"`` or ``"did"`` beside each other for a
        single rollout; ``"aipw"`` beside matched DiD for observational programs). Whether they
        agree with the primary estimate is the ``designs_agree`` diagnostic of the primary Effect.
    messages : Mapping[str, str]
        Per outcome, why it was not estimated (empty when it was).
    spec : Mapping
        Every argument and default, windows, library versions.
    """

    program: Mapping[str, Any]
    outcomes: tuple[str, ...]
    effects: Mapping[str, Effect | None]
    verdicts: Mapping[str, Verdict]
    p_adjusted: Mapping[str, float]
    naive: pd.DataFrame
    dynamic: Mapping[str, Effect] = field(default_factory=dict)
    alternatives: Mapping[str, Mapping[str, Effect]] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome: estimate, interval, raw and adjusted p, verdict, naive numbers."""
        rows = []
        for o in self.outcomes:
            e = self.effects.get(o)
            v = self.verdicts[o]
            nv = self.naive[self.naive["outcome"] == o].set_index("comparison")["estimate"]
            rows.append(
                {
                    "program_id": self.program["program_id"],
                    "design": self.program["design"],
                    "outcome": o,
                    "method": e.method if e else None,
                    "estimate": e.estimate if e else np.nan,
                    "se": e.se if e else np.nan,
                    "ci_low": e.ci_low if e else np.nan,
                    "ci_high": e.ci_high if e else np.nan,
                    "p_value": e.p_value if e else np.nan,
                    "p_adjusted": self.p_adjusted.get(o, np.nan),
                    "baseline": e.baseline if e and e.baseline is not None else np.nan,
                    "relative": e.relative if e and e.relative is not None else np.nan,
                    "n_units": e.n_units if e else pd.NA,
                    "n_obs": e.n_obs if e else pd.NA,
                    "verdict": v.label,
                    "reason": v.reason,
                    "naive_before_after": nv.get("naive before/after", np.nan),
                    "naive_treated_vs_untreated": nv.get("naive treated vs untreated", np.nan),
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Plain-text summary: one verdict line per outcome, then details and naive comparisons."""
        p = self.program
        lines = [
            f"Program {p['program_id']} — {p.get('name', '')} ({p['kind']}, design {p['design']}, "
            f"unit {p['unit']}, start {p['start_date']})",
            f"Multiplicity correction across {len(self.p_adjusted)} outcome(s): "
            f"{self.spec.get('correction')}",
        ]
        for o in self.outcomes:
            e, v = self.effects.get(o), self.verdicts[o]
            if e is None:
                lines.append(f"  {o}: {v.label} — {self.messages.get(o) or v.reason}")
                continue
            rel = f", {100 * e.relative:+.1f}%" if e.relative is not None else ""
            lines.append(
                f"  {o}: {v.label} — {e.estimate:.4g}{rel} "
                f"[{e.ci_low:.4g}, {e.ci_high:.4g}], p = {e.p_value:.3g} "
                f"(adjusted {self.p_adjusted.get(o, float('nan')):.3g}); {e.method}"
            )
            lines.append(f"      {v.reason}")
            for role, alt in self.alternatives.get(o, {}).items():
                lines.append(
                    f"      alongside, {role}: {alt.estimate:.4g} [{alt.ci_low:.4g}, "
                    f"{alt.ci_high:.4g}] ({alt.method})"
                )
            agree = next((d for d in e.diagnostics if d.name == "designs_agree"), None)
            if agree is not None:
                word = {True: "agree", False: "DISAGREE", None: "cannot be compared"}[agree.passed]
                lines.append(f"      designs {word}: {agree.note}")
        if len(self.naive):
            lines.append("Naive comparisons (biased by selection and trends; shown for contrast):")
            for r in self.naive.itertuples():
                lines.append(f"  {r.outcome}: {r.comparison} = {r.estimate:.4g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, outcome: str, ax: Any = None) -> Any:
        """Event study (staggered) or the outcome's Effect plot; returns the Axes."""
        if outcome not in self.outcomes:
            raise ValueError(f"outcome {outcome!r} not evaluated; evaluated: {list(self.outcomes)}")
        eff = self.dynamic.get(outcome) or self.effects.get(outcome)
        if eff is None:
            raise ValueError(f"no estimate to plot for {outcome!r}: {self.messages.get(outcome)}")
        return eff.plot(ax=ax)
