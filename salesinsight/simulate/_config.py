"""Parameters of the CRM simulator and the planted programs with their default true effects."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: KPIs a program can act on, and the scale of the effect: ``win_rate`` in probability points added to
#: the win probability, ``csat`` in points of the 0-1 score/scale, ``revenue`` as a relative change of
#: deal amounts, ``follow_ups`` as a relative change of the follow-up rate.
EFFECT_SCALE: dict[str, str] = {
    "win_rate": "absolute",
    "revenue": "relative",
    "csat": "absolute",
    "follow_ups": "relative",
}

#: Rules deciding which sellers pull deals into the quarter's last days (``SimConfig.hockey_rule``).
HOCKEY_RULES: tuple[str, ...] = ("shortfall", "behind_at_entry")

#: Planted programs: metadata and default true effects (any KPI of ``EFFECT_SCALE`` may be overridden).
#: ``budget`` is money spent per quarter in the data's currency (written as ``programs.budget``, a
#: salesinsight extension of the contract; it does not enter the generative model).
PROGRAMS: dict[str, dict[str, Any]] = {
    "P_TRAIN": {
        "name": "Consultative selling training",
        "description": "Staggered training rollout: managers nominate reps each quarter",
        "budget": 450_000,
        "kind": "training",
        "design": "staggered",
        "unit": "rep",
        "effects": {"win_rate": 0.025},
        "notes": (
            "Cohorts enter at several quarter starts; each manager nominates the reps of the team "
            "judged weakest (persistent ability plus perception noise), so trained reps are weaker "
            "and naive comparisons are biased while parallel trends hold. The win-probability effect ramps in linearly over ramp_weeks after the enrollment "
            "start and applies to opportunities by close date. Some reps are never treated."
        ),
    },
    "P_COACH": {
        "name": "Weekly deal-review coaching",
        "description": "Teams randomized to weekly deal reviews with their manager",
        "budget": 800_000,
        "kind": "coaching",
        "design": "randomized",
        "unit": "team",
        "effects": {"win_rate": 0.025, "follow_ups": 0.25},
        "notes": (
            "Half of the teams randomized to treatment on one date (control rows for the others). "
            "From that date treated teams log relatively more follow-ups and each opportunity closing "
            "on or after it has its win probability raised by the stated points (total effect; part "
            "of it runs through the extra follow-ups)."
        ),
    },
    "P_MENTOR": {
        "name": "Peer mentoring",
        "description": "Low performers paired with a high-performing mentor",
        "budget": 120_000,
        "kind": "mentoring",
        "design": "observational",
        "unit": "rep",
        "effects": {"revenue": 0.12},
        "notes": (
            "Low performers by the previous two quarters' attainment (with noise) are paired with "
            "top performers (mentor_id, at most two mentees each). Mentee deal amounts closing on or "
            "after the mentee's start are multiplied by 1 + effect, so mentee revenue rises by the "
            "stated relative amount."
        ),
    },
    "P_INCENT": {
        "name": "Team revenue bonus",
        "description": "New team revenue bonus in the east and south regions",
        "budget": 1_500_000,
        "kind": "incentive",
        "design": "single_rollout",
        "unit": "team",
        "effects": {"revenue": 0.05, "csat": -0.04},
        "notes": (
            "Rolled out on one date to all teams of two regions (east, south). Deal amounts closing on "
            "or after the start rise by the relative effect; CSAT responses about those deals drop by "
            "the stated amount on the 0-1 (score/scale) scale: the revenue-only pitfall."
        ),
    },
    "P_PLACEBO": {
        "name": "Leadership circle",
        "description": "Invitation-only peer circle for last quarter's top performers",
        "budget": 200_000,
        "kind": "other",
        "design": "observational",
        "unit": "rep",
        "effects": {"win_rate": 0.0, "revenue": 0.0, "csat": 0.0, "follow_ups": 0.0},
        "notes": (
            "Top performers of the previous quarter (with noise) are invited: strong selection on a "
            "noisy high, so naive comparisons show a spurious effect or a regression-to-the-mean drop. "
            "True effect zero on everything."
        ),
    },
}


@dataclass(frozen=True)
class SimConfig:
    """Every parameter of the generative model (documented in ``docs/simulator.md``).

    Rates are per rep and working day unless stated; log-odds effects are on the win probability.
    """

    n_reps: int = 360
    team_size: int = 9
    start: str = "2025-01-06"
    quarters: int = 8
    burn_in_days: int = 119
    # latent reps and territories
    ability_sd: float = 0.35  # log-odds
    effort_sd: float = 0.20  # log scale
    ability_effort_corr: float = 0.3
    territory_sd: float = 0.25  # log scale, seat level (inherited by replacements)
    region_shift: tuple[float, ...] = (0.10, -0.05, 0.0, -0.05)  # north, south, east, west (log)
    team_sd: float = 0.10  # team effect on win log-odds
    form_rho: float = 0.6  # AR(1) of the quarterly form (log-odds)
    form_sd: float = 0.20
    # ramp and attrition
    ramp_days_min: int = 90
    ramp_days_max: int = 180
    attrition_quarterly: float = 0.07  # baseline quarterly leaving probability at attainment 1
    attrition_attainment_slope: float = -1.2  # log-odds per unit of (attainment - 1)
    attrition_new_hire: float = 0.4  # extra log-odds in the first year
    vacancy_days_min: int = 14
    vacancy_days_max: int = 56
    # prospecting activities (not linked to an opportunity), per working day
    prospect_rates: tuple[float, ...] = (0.6, 0.1, 0.5, 0.0, 0.0, 0.0, 0.1)
    # opportunity creation per prospecting activity
    opp_per_activity: tuple[float, ...] = (0.8, 2.0, 0.6, 0.0, 0.0, 0.0, 0.2)
    season: tuple[float, ...] = (0.92, 1.0, 0.97, 1.10)  # opp creation by calendar quarter
    trend_per_year: float = 0.04
    # activities on an opportunity (Poisson means over its life) and their win log-odds effects
    opp_activity_means: tuple[float, ...] = (0.6, 0.12, 0.8, 0.45, 0.3, 0.65, 0.08)
    activity_effects: tuple[float, ...] = (0.05, 0.25, 0.02, 0.15, 0.30, 0.12, 0.0)
    source_probs: tuple[float, ...] = (0.6, 0.3, 0.1)  # outbound, inbound, referral
    source_effects: tuple[float, ...] = (0.0, 0.3, 0.6)
    base_logodds: float = -1.75
    ramp_logodds_penalty: float = 0.0  # new hires ramp in volume, not in win rate
    win_season: tuple[float, ...] = (-0.05, 0.0, 0.0, 0.10)  # win log-odds by calendar quarter
    # cycle and amount
    cycle_median_days: float = 42.0
    cycle_sigma: float = 0.45
    cycle_min_days: int = 20
    cycle_max_days: int = 120
    amount_median: float = 9000.0
    amount_sigma: float = 0.5
    amount_territory_elasticity: float = 0.5
    amount_ability_slope: float = 0.3
    # quotas and the quarter-end hockey stick
    quota_factor: float = 0.95
    quota_noise_sd: float = 0.10
    hockey_window_days: int = 14
    hockey_pull_days: int = 30
    hockey_pull_prob: float = 0.5
    # who pulls: "shortfall" = below quota once the quarter's due deals have closed (the seller sees
    # the miss coming); "behind_at_entry" = won revenue before the last window below
    # hockey_behind_pace x the elapsed share of quota (observable in the data, see research.pull_in)
    hockey_rule: str = "shortfall"
    hockey_behind_pace: float = 1.0
    hockey_discount: float = 0.05  # discount premium on a pulled deal (share of list)
    # threshold bunching: sellers within bunch_window below 100% attainment after the quarter's
    # closes pull, with probability bunch_prob, just enough deals that will sign to reach quota
    bunch_prob: float = 0.0
    bunch_window: float = 0.10
    # CSAT and reviews
    csat_response_prob: float = 0.35
    csat_mean: float = 3.9  # on the 1-5 scale
    csat_rep_sd: float = 0.25
    csat_noise_halfwidth: float = 0.8
    review_latent_weight: float = 10.0  # score points per sd of latent ability + form
    review_attainment_weight: float = 12.0  # score points per unit of (attainment - 1), clipped
    review_noise_sd: float = 6.0  # score points
    reviewer_leniency_sd: float = 4.0  # score points, one shift per reviewing manager
    cross_review_share: float = 0.25  # share of reviews given by another team's manager
    # programs
    train_ramp_weeks: int = 8
    train_share_per_cohort: float = 0.12
    # number of P_TRAIN cohorts, one per quarter start from the second quarter; default (None):
    # min(4, quarters - 2). Omitted from to_dict() at None, so earlier truth.json files keep their bytes
    train_cohorts: int | None = None
    train_selection_strength: float = 2.0
    mentee_share: float = 0.18
    mentor_quality_sd: float = 0.0  # sd of each mentor's shift of the mentee revenue effect
    placebo_share: float = 0.15
    # the observational program's selection scenario (docs/simulator.md, "Selection scenarios")
    observational_selection: str = "recent"
    observational_mix_weight: float = 0.5  # weight on persistent ability in the "mix" scenario
    observational_start_quarter: int | None = None  # default: 3/8 of the way in
    effects: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.hockey_rule not in HOCKEY_RULES:
            raise ValueError(
                f"hockey_rule must be one of {', '.join(HOCKEY_RULES)}, got {self.hockey_rule!r}"
            )
        if not 0.0 <= self.bunch_prob <= 1.0:
            raise ValueError(f"bunch_prob must be in [0, 1], got {self.bunch_prob!r}")
        if not 0.0 < self.bunch_window < 1.0:
            raise ValueError(f"bunch_window must be in (0, 1), got {self.bunch_window!r}")
        if self.train_cohorts is not None and not 1 <= self.train_cohorts <= self.quarters - 2:
            raise ValueError(
                f"train_cohorts must be between 1 and quarters - 2 = {self.quarters - 2}, got "
                f"{self.train_cohorts!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view of the configuration."""
        out = dataclasses.asdict(self)
        out["effects"] = {k: dict(v) for k, v in self.effects.items()}
        if out["train_cohorts"] is None:
            del out["train_cohorts"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def merge_effects(
    overrides: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    """Default true effects updated by ``overrides`` (``{program_id: {kpi: value}}``).

    Raises
    ------
    ValueError
        Naming every unknown program id or KPI at once.
    """
    effects = {pid: dict(meta["effects"]) for pid, meta in PROGRAMS.items()}
    problems = []
    for pid, kpis in (overrides or {}).items():
        if pid not in PROGRAMS:
            problems.append(f"unknown program {pid!r} (known: {', '.join(PROGRAMS)})")
            continue
        for kpi, value in kpis.items():
            if kpi not in EFFECT_SCALE:
                known = ", ".join(EFFECT_SCALE)
                problems.append(f"{pid}: unknown effect {kpi!r} (known: {known})")
            else:
                effects[pid][kpi] = float(value)
    if problems:
        raise ValueError("effects: " + "; ".join(problems))
    return copy.deepcopy(effects)
