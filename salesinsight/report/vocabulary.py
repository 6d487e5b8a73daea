"""Plain words for the report: outcomes with their units, verdicts, designs, checks, program kinds.

Every label is an English message id marked with :func:`~salesinsight.i18n.N_` and translated
where it is shown (``lang.tr(VERDICT_WORDS[v])``), except KPI names, which the KPI registry holds in
every report language (``salesinsight.kpis.KPI.names``, :func:`outcome_name`); identifiers never
reach the reader.
"""

from __future__ import annotations

from typing import Any

from salesinsight.calendar import GRAINS, periods_per_month
from salesinsight.i18n import N_, Lang
from salesinsight.kpis import KPIS, display_name

__all__ = [
    "ARCHETYPE_NAMES",
    "CHECK_NAMES",
    "DESIGN_METHODS",
    "FLOW_OUTCOMES",
    "KIND_NAMES",
    "MONEY_OUTCOMES",
    "OUTCOME_NAMES",
    "RATE_OUTCOMES",
    "VERDICT_WORDS",
    "check_name",
    "effect_text",
    "archetype_name",
    "outcome_name",
    "per_month_factor",
    "unit_word",
    "verdict_reason",
    "verdict_word",
]

#: KPI -> its English name (``salesinsight.kpis.KPI.names`` holds every report language).
OUTCOME_NAMES: dict[str, str] = {k.name: k.names["en"] for k in KPIS.values()}
#: outcomes that are shares (shown in %, effects in percentage points).
RATE_OUTCOMES = frozenset(k.name for k in KPIS.values() if k.unit == "share")
#: outcomes in money.
MONEY_OUTCOMES = frozenset(k.name for k in KPIS.values() if k.unit == "money")
#: outcomes that accumulate over time (an effect per week becomes an effect per month).
FLOW_OUTCOMES = frozenset(k.name for k in KPIS.values() if k.flow)
VERDICT_WORDS: dict[str, str] = {
    "worked": N_("worked"),
    "harmed": N_("harmed"),
    "no detectable effect": N_("no effect worth acting on"),
    "inconclusive": N_("not yet clear"),
    "not evaluated": N_("not evaluated"),
    "not estimable": N_("not estimable"),
}
KIND_NAMES: dict[str, str] = {
    "training": N_("training"),
    "coaching": N_("coaching"),
    "mentoring": N_("mentoring"),
    "incentive": N_("incentive"),
    "other": N_("program"),
}
#: what each design did, in words (no method names).
DESIGN_METHODS: dict[str, str] = {
    "randomized": N_(
        "We compared the enrolled sellers with sellers drawn at random to wait, before and after "
        "the start."
    ),
    "staggered": N_(
        "The program started at different times for different groups; we compared each group "
        "before and after its start with the groups that had not started yet."
    ),
    "single_rollout": N_(
        "Everyone enrolled started at once; we compared them before and after the start with the "
        "sellers who did not take part, and checked the answer against a weighted blend of "
        "similar sellers that tracked them closely before the start (drawn below)."
    ),
    "observational": N_(
        "Sellers chose or were chosen for the program; we compared them with sellers who were "
        "not enrolled in several ways (before and after the start, against sellers with the same "
        "past results, against a weighted blend of similar sellers), and a verdict needs every "
        "way whose checks hold to agree."
    ),
}
CHECK_NAMES: dict[str, str] = {
    "balance": N_("groups alike before the start"),
    "randomization_check": N_("the draw gave groups alike before the start"),
    "designs_carrying": N_("at least one way of comparing passes its own checks"),
    "trend_sensitivity": N_("how far trends could drift apart before the answer changes"),
    "balance_per_feature": N_("groups alike on each measure"),
    "pre_trends": N_("same trend before the start"),
    "placebo_date": N_("no effect at a fake start date"),
    "placebo_time": N_("no effect at a fake start date"),
    "placebo_pre": N_("no effect before the start"),
    "placebo_outcome": N_("no effect on quota (which the program cannot change)"),
    "pre_fit": N_("comparison tracked the group before the start"),
    "overlap": N_("comparable sellers exist on both sides"),
    "tenure_overlap": N_("sellers with the same tenure exist on both sides"),
    "designs_agree": N_("a second method gives a similar answer"),
    "e_value": N_("how strong a hidden factor would have to be"),
    "staggered_timing": N_("start dates differ between groups"),
    "untestable_assumptions": N_("assumptions that data cannot test"),
    "leave_one_out": N_("answer holds without any single comparison team"),
    "donor": N_("comparison teams available"),
    "weight": N_("no single comparison team dominates"),
    "propensity": N_("enrolment is predictable but not certain"),
    "pseudo_outcome": N_("per-seller effects are stable"),
    "cate": N_("effects by subgroup"),
    "residual_autocorrelation": N_("model fits the weekly pattern"),
}


#: capability-profile archetypes (``salesinsight.metrics._profiles.ARCHETYPES``) in words.
ARCHETYPE_NAMES: dict[str, str] = {
    "high activity, low conversion": N_("high activity, low conversion"),
    "all-round performer": N_("all-round performer"),
    "efficient closer": N_("efficient closer"),
    "pipeline builder": N_("pipeline builder"),
    "developing": N_("developing"),
    "steady": N_("steady"),
    "insufficient data": N_("too little data to tell"),
}


def archetype_name(lang: Lang, archetype: object) -> str:
    """Name a capability-profile archetype in the report's language."""
    msg = ARCHETYPE_NAMES.get(str(archetype))
    return lang.tr(msg) if msg else str(archetype)


def outcome_name(lang: Lang, outcome: str) -> str:
    """Name the outcome in words (an unknown outcome shows with spaces for underscores)."""
    return display_name(outcome, lang.language)


def verdict_word(lang: Lang, verdict: str) -> str:
    """Put the verdict in plain words."""
    msg = VERDICT_WORDS.get(verdict)
    return lang.tr(msg) if msg else verdict


def verdict_reason(
    lang: Lang, verdict: str, *, failed: list[str], small: str, chance: bool = False
) -> str:
    """Why a verdict, in plain words.

    Parameters
    ----------
    verdict : str
        The verdict label (``worked``, ``harmed``, ``no detectable effect``, ``inconclusive``).
    failed : list of str
        Names of the required checks that failed.
    small : str
        The smallest effect that matters, formatted with its unit.
    chance : bool
        Whether the interval alone excludes zero but the result does not survive the correction
        for testing several outcomes.
    """
    if verdict == "worked":
        return lang.tr(
            "The whole range of likely effects is above zero and the best estimate clears the "
            "smallest effect that matters ({small}).",
            small=small,
        )
    if verdict == "harmed":
        return lang.tr("The whole range of likely effects is on the harmful side of zero.")
    if verdict == "no detectable effect":
        return lang.tr(
            "The whole range of likely effects is smaller than the smallest effect that matters "
            "({small}).",
            small=small,
        )
    if failed:
        return lang.tr(
            "A check the comparison relies on failed ({checks}), so the estimate cannot be "
            "trusted yet.",
            checks=lang.join([check_name(lang, c) for c in failed]),
        )
    if chance:
        return lang.tr(
            "Taken alone it looks real, but with several outcomes tested together it could be "
            "chance."
        )
    return lang.tr(
        "The range of likely effects includes both zero and effects that would matter: more "
        "data or time is needed."
    )


def check_name(lang: Lang, name: str) -> str:
    """Name a diagnostic in words."""
    msg = CHECK_NAMES.get(name)
    return lang.tr(msg) if msg else name.replace("_", " ")


def unit_word(lang: Lang, unit: str) -> str:
    """``seller`` or ``team``."""
    return lang.tr("team") if unit == "team" else lang.tr("seller")


def per_month_factor(grain: str | None) -> float:
    """Multiplier turning an effect per period of ``grain`` (default week) into one per month."""
    grain = grain or "week"
    return periods_per_month(grain) if grain in GRAINS else 1.0


def effect_text(
    lang: Lang,
    outcome: str,
    value: Any,
    *,
    unit: str = "rep",
    grain: str | None = "week",
    signed: bool = True,
    with_unit: bool = True,
) -> str:
    """Format an effect with its unit.

    For example ``+¥1,847 per seller per month``, ``+3.5 pp``, ``+2.1 per seller…``.

    Flow outcomes (revenue, counts) are per active seller and period in every design (ratios of
    sums, see :mod:`salesinsight.evaluation.panel`), whatever the program's unit; they are converted
    from per ``grain`` to per month. ``unit`` is accepted for symmetry and not used.
    """
    if value is None:
        return "–"
    v = float(value)
    if outcome in RATE_OUTCOMES:
        return lang.points(v, signed=signed)
    if outcome == "cycle_days":
        return lang.tr("{n} days", n=lang.sig(v, signed=signed))
    if outcome in FLOW_OUTCOMES:
        v *= per_month_factor(grain)
    text = lang.money(v, signed=signed) if outcome in MONEY_OUTCOMES else lang.sig(v, signed=signed)
    if not with_unit or outcome not in FLOW_OUTCOMES:
        return text
    return lang.tr("{amount} per seller per month", amount=text)
