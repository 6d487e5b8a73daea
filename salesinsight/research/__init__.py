"""Incentive research on CRM data.

Quarter-end pull-in, bunching at thresholds, regression discontinuity, experiment design and
assignment, staggered-rollout power by simulation, plan what-ifs and a registry of hypotheses.

See ``docs/research.md`` for the methods, their assumptions and a worked example.
"""

from __future__ import annotations

from ._assign import Assignment, assign
from ._bunching import Bunching, bunching
from ._design import Design, design
from ._effort import effort
from ._pull_in import PullIn, pull_in
from ._rd import RDResult, next_period_outcomes, rd
from ._staggered_power import StaggeredPower, staggered_power
from .multiplicity import romano_wolf, romano_wolf_from_draws
from .plans import Plan, PlanComparison, csat_reward, default_plans, what_if
from .registry import RegistryResult
from .subgroups import SubgroupEffects, subgroup_effects

__all__ = [
    "Assignment",
    "Bunching",
    "Design",
    "Plan",
    "PlanComparison",
    "PullIn",
    "RDResult",
    "RegistryResult",
    "StaggeredPower",
    "SubgroupEffects",
    "assign",
    "bunching",
    "csat_reward",
    "default_plans",
    "design",
    "effort",
    "next_period_outcomes",
    "pull_in",
    "rd",
    "romano_wolf",
    "romano_wolf_from_draws",
    "staggered_power",
    "subgroup_effects",
    "what_if",
]
