"""Checks shared by the designs, all informational diagnostics.

Agreement of the designs run side by side, the placebo outcome and the E-value of observational
estimates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.causal.inference import wald_p_value

__all__ = ["DESIGN_ROLES", "designs_agree", "placebo_outcome_diag"]


#: alternatives that are separate designs (TWFE beside staggered DiD is the same design's biased
#: estimator, shown for contrast, and is not part of the agreement check)
DESIGN_ROLES = frozenset({"synthetic_control", "did", "aipw", "matched_did", "impact"})


def designs_agree(primary: Effect, alternatives: Mapping[str, Effect], alpha: float) -> Diagnostic:
    """Informational: whether the designs run on the same outcome tell the same story.

    Two estimates agree when the z test of their difference, ``(a - b) / sqrt(se_a^2 + se_b^2)``,
    does not reject at ``alpha`` *and* they are not significant in opposite directions. The
    variance ignores the positive correlation of two estimates from the same data, so the test is
    conservative (errs towards "agree"); a disagreement is therefore a real warning.
    """
    parts: list[str] = []
    verdicts: list[bool | None] = []
    for role, alt in alternatives.items():
        var = primary.se**2 + alt.se**2
        if not (np.isfinite(var) and var > 0 and np.isfinite(alt.estimate)):
            parts.append(f"{role}: not comparable (no finite standard error)")
            verdicts.append(None)
            continue
        z = (primary.estimate - alt.estimate) / np.sqrt(var)
        p = wald_p_value(z, 1.0)
        sig = [
            np.sign(e.estimate) if not (e.ci_low <= 0 <= e.ci_high) else 0 for e in (primary, alt)
        ]
        opposite = sig[0] * sig[1] < 0
        ok = p > alpha and not opposite
        verdicts.append(ok)
        parts.append(
            f"{role} {alt.estimate:.4g} vs {primary.estimate:.4g}: difference "
            f"{primary.estimate - alt.estimate:.4g}, z = {z:.2f}, p = {p:.3g}"
            + (", significant in opposite directions" if opposite else "")
        )
    passed = False if False in verdicts else (None if None in verdicts else True)
    first = next(
        (
            (primary.estimate - a.estimate) / np.sqrt(primary.se**2 + a.se**2)
            for a in alternatives.values()
            if np.isfinite(primary.se**2 + a.se**2) and primary.se**2 + a.se**2 > 0
        ),
        None,
    )
    return Diagnostic(
        name="designs_agree",
        passed=passed,
        statistic=None if first is None else float(first),
        value=None,
        required=False,
        note="; ".join(parts),
    )


def placebo_outcome_diag(eff: Effect | None, reason: str, alpha: float) -> Diagnostic:
    """Informational: the same design on quota per active rep-period.

    The program cannot change quota (targets are set by management from territory and season).
    """
    if eff is None:
        return Diagnostic("placebo_outcome", None, required=False, note=reason)
    if _degenerate(eff):
        return Diagnostic(
            "placebo_outcome",
            None,
            value=float(eff.estimate) if np.isfinite(eff.estimate) else None,
            required=False,
            note="not applicable: quota per active rep-period does not vary where the design "
            "compares (e.g. constant within every unit over time), so its 'effect' is 0 with a "
            "zero-width interval and the check cannot reveal anything",
        )
    covers = bool(eff.ci_low <= 0 <= eff.ci_high)
    return Diagnostic(
        name="placebo_outcome",
        passed=covers,
        p_value=float(eff.p_value) if np.isfinite(eff.p_value) else None,
        value=float(eff.estimate),
        required=False,
        note=(
            "the same design on quota per active rep-period (targets the program cannot change): "
            + (
                "no 'effect', as it should be"
                if covers
                else f"an 'effect' of {eff.estimate:.4g} whose interval excludes 0 — the "
                "comparison group differs in something the program did not cause"
            )
        ),
    )


#: an interval narrower than this share of the outcome's scale is no interval at all
_DEGENERATE_WIDTH = 1e-9


def _degenerate(eff: Effect) -> bool:
    """Return True when the estimate's interval has (numerically) zero width: the outcome did not vary."""
    width = float(eff.ci_high) - float(eff.ci_low)
    if not np.isfinite(width):
        return False
    scale = max(abs(float(eff.baseline or 0.0)), abs(float(eff.estimate)), 1e-300)
    return width <= _DEGENERATE_WIDTH * scale


def _e_value_diag(eff: Effect, sd: float) -> Diagnostic:
    """Return the E-value (VanderWeele & Ding 2017) of an observational estimate, informational."""
    from salesinsight.causal import e_value

    if not (np.isfinite(sd) and sd > 0 and np.isfinite(eff.ci_low) and np.isfinite(eff.ci_high)):
        return Diagnostic("e_value", None, required=False, note="E-value not computable")
    ev = e_value(eff.estimate, eff.ci_low, eff.ci_high, sd=sd)
    return Diagnostic(
        name="e_value",
        passed=None,
        statistic=ev["e_value_ci"],
        value=ev["e_value"],
        required=False,
        note=(
            f"an unmeasured confounder tied to both enrolment and the outcome by a risk ratio of "
            f"{ev['e_value']:.2f} each could explain the estimate away ({ev['e_value_ci']:.2f} to "
            "move the interval to zero); d = estimate / sd of the unit-level outcome, "
            "RR = exp(0.91 d)"
        ),
    )
