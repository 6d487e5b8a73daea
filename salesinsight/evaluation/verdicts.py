"""Multiplicity correction across a program's outcomes and the verdict that survives it.

A program is evaluated on several outcomes at once, so a *worked* or *harmed* verdict must also
survive a correction for testing them together: Holm (familywise error rate) or
Benjamini-Hochberg (false discovery rate) adjusted p-values, at the same ``alpha`` as the
interval. An effect whose interval clears zero but whose adjusted p-value does not is downgraded
to *inconclusive*. :func:`salesinsight.evaluation.evaluate`, the report's deep dive and the
quarterly report's table all apply this one rule (see ``docs/causal.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from salesinsight.causal.effect import Effect, Verdict

__all__ = ["CORRECTIONS", "adjust_p_values", "adjusted_verdict"]

#: multiplicity corrections by their parameter value, with the name used in verdict reasons
CORRECTIONS: dict[str, str] = {"holm": "Holm", "bh": "Benjamini-Hochberg"}

#: statsmodels' name of each correction
_METHODS = {"holm": "holm", "bh": "fdr_bh"}


def adjust_p_values(
    p_values: Mapping[str, float], *, alpha: float, correction: str = "holm"
) -> dict[str, float]:
    """Return the adjusted p-values of a program's outcomes.

    Parameters
    ----------
    p_values : mapping outcome -> float
        Raw p-values of the estimated outcomes (finite), in the program's outcome order.
    alpha : float
        Familywise (Holm) or false-discovery (Benjamini-Hochberg) level.
    correction : {"holm", "bh"}

    Returns
    -------
    dict
        Outcome -> adjusted p-value, in the order of ``p_values``; empty when it is empty.
    """
    from statsmodels.stats.multitest import multipletests

    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be 'holm' or 'bh', got {correction!r}")
    if not p_values:
        return {}
    adjusted = multipletests(list(p_values.values()), alpha=alpha, method=_METHODS[correction])[1]
    return {o: float(a) for o, a in zip(p_values, adjusted, strict=True)}


def adjusted_verdict(
    effect: Effect,
    *,
    min_effect: float,
    alpha: float,
    p_adjusted: float | None,
    correction: str = "holm",
    wording: Literal["technical", "plain"] = "technical",
) -> Verdict:
    """Return the effect's verdict, downgraded when it does not survive the correction.

    Parameters
    ----------
    effect : Effect
    min_effect : float
        Smallest effect that matters, in the outcome's units (see :meth:`Effect.verdict`).
    alpha : float
        Level of the interval and of the adjusted p-value.
    p_adjusted : float or None
        The outcome's adjusted p-value (:func:`adjust_p_values`); None leaves the verdict as is.
    correction : {"holm", "bh"}
        Named in the technical reason.
    wording : {"technical", "plain"}
        Reason of a downgraded verdict: ``"technical"`` names the correction and the adjusted
        p-value (evaluation summary, deep dive); ``"plain"`` says it in words for the quarterly
        report's table.

    Returns
    -------
    Verdict
        ``effect.verdict(min_effect, alpha)``, except that *worked* and *harmed* become
        *inconclusive* when ``p_adjusted >= alpha``.
    """
    verdict = effect.verdict(min_effect=min_effect, alpha=alpha)
    if verdict.label not in ("worked", "harmed") or p_adjusted is None or p_adjusted < alpha:
        return verdict
    if wording == "plain":
        reason = (
            f"{verdict.reason} But after correcting for testing several outcomes the p-value is "
            f"{p_adjusted:.3g}, not below {alpha}, so it may be chance."
        )
    else:
        name = "Holm" if correction == "holm" else "Benjamini-Hochberg"
        reason = (
            f"{verdict.reason[:-1]}, but the {name}-adjusted p-value {p_adjusted:.3g} across the "
            f"program's outcomes is not below {alpha}."
        )
    return Verdict("inconclusive", reason)
