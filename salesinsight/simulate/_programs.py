"""Planted programs: who is enrolled when (with the selection each design implies) and their effects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._config import PROGRAMS, SimConfig
from ._org import NEVER, REGIONS

REP_PROGRAMS: tuple[str, ...] = ("P_TRAIN", "P_MENTOR", "P_PLACEBO")
TEAM_PROGRAMS: tuple[str, ...] = ("P_COACH", "P_INCENT")
INCENTIVE_REGIONS: tuple[str, ...] = ("east", "south")


def schedule(
    quarters: int, observational_start: int | None = None, train_cohorts: int | None = None
) -> dict[str, list[int]]:
    """Return the real-quarter indices (0 = first) at whose start each program enrolls units.

    ``observational_start`` moves the observational program (``P_PLACEBO``); ``train_cohorts``
    sets the number of ``P_TRAIN`` cohorts (default ``min(4, quarters - 2)``).
    """
    n_cohorts = max(1, min(4, quarters - 2)) if train_cohorts is None else int(train_cohorts)
    mentor_q = max(1, (3 * quarters) // 8)
    obs_q = mentor_q if observational_start is None else int(observational_start)
    if not 1 <= obs_q < quarters:
        raise ValueError(
            f"observational_start_quarter must be between 1 and {quarters - 1}, got {obs_q}"
        )
    return {
        "P_TRAIN": list(range(1, 1 + n_cohorts)),
        "P_COACH": [max(1, quarters // 4)],
        "P_MENTOR": [mentor_q],
        "P_PLACEBO": [obs_q],
        "P_INCENT": [max(1, quarters // 2)],
    }


#: how the observational program (``P_PLACEBO``) picks its members: ``recent`` (default: last
#: quarter's attainment, a persistent and a transient part), ``level`` (persistent ability),
#: ``streak`` (last quarter's transient form, which then fades), ``dip`` (the lowest form),
#: ``growth`` (the most recent hires), ``mix`` (ability and form with a random weight)
OBSERVATIONAL_SELECTIONS: tuple[str, ...] = ("recent", "level", "streak", "dip", "growth", "mix")


def observational_score(
    cfg: SimConfig,
    rng: np.random.Generator,
    *,
    attainment: np.ndarray,
    ability: np.ndarray,
    form: np.ndarray,
    tenure: np.ndarray,
) -> np.ndarray:
    """Return the enrolment score of each eligible rep under ``cfg.observational_selection``.

    The top ``placebo_share`` are enrolled; perception noise sd 0.5 (standardized units).
    """
    mode = cfg.observational_selection
    if mode == "recent":
        base = _z(attainment)
    elif mode == "level":
        base = _z(ability)
    elif mode == "streak":
        base = _z(form)
    elif mode == "dip":
        base = -_z(form)
    elif mode == "growth":
        base = -_z(tenure)
    elif mode == "mix":
        w = cfg.observational_mix_weight
        base = np.sqrt(w) * _z(ability) + np.sqrt(1 - w) * _z(form)
    else:
        raise ValueError(
            f"observational_selection must be one of {OBSERVATIONAL_SELECTIONS}, got {mode!r}"
        )
    return base + rng.normal(0.0, 0.5, len(base))


@dataclass
class ProgramState:
    """Enrollment of every program and the true effects to apply."""

    effects: dict[str, dict[str, float]]
    ramp_days: int
    n_teams: int
    rep_start: dict[str, dict[int, int]] = field(default_factory=dict)
    mentor_of: dict[int, int] = field(default_factory=dict)
    mentor_shift: dict[int, float] = field(default_factory=dict)  # mentor -> shift of the effect
    team_start: dict[str, np.ndarray] = field(default_factory=dict)
    control_teams: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pid in REP_PROGRAMS:
            self.rep_start.setdefault(pid, {})
        for pid in TEAM_PROGRAMS:
            self.team_start.setdefault(pid, np.full(self.n_teams, NEVER, dtype=np.int64))

    def enrolled_reps(self) -> set[int]:
        """Reps already enrolled in any rep-level program (a rep joins at most one)."""
        return set().union(*(set(d) for d in self.rep_start.values()))

    def start_days(self, pid: str, rep: np.ndarray, team_of_rep: np.ndarray) -> np.ndarray:
        """Treatment start day of each rep in ``rep`` for program ``pid`` (``NEVER`` if untreated)."""
        if pid in TEAM_PROGRAMS:
            return self.team_start[pid][team_of_rep[rep]]
        lookup = self.rep_start[pid]
        return np.fromiter((lookup.get(r, NEVER) for r in rep.tolist()), np.int64, len(rep))

    def _mentor_shifts(self, rep: np.ndarray) -> np.ndarray:
        """Each mentee's mentor-quality shift of the mentoring effect (0 for everyone else)."""
        shift = {m: self.mentor_shift.get(t, 0.0) for m, t in self.mentor_of.items()}
        return np.fromiter((shift.get(r, 0.0) for r in rep.tolist()), float, len(rep))

    def intensity(
        self, pid: str, rep: np.ndarray, day: np.ndarray, team_of_rep: np.ndarray
    ) -> np.ndarray:
        """Share of the full effect in force on ``day`` (training ramps in linearly)."""
        start = self.start_days(pid, rep, team_of_rep)
        on = day >= start
        if pid == "P_TRAIN":
            return np.where(on, np.clip((day - start + 1) / max(self.ramp_days, 1), 0.0, 1.0), 0.0)
        return on.astype(float)

    def shifts(
        self, kpi: str, rep: np.ndarray, day: np.ndarray, team_of_rep: np.ndarray
    ) -> np.ndarray:
        """Return the summed effect on ``kpi`` of every program at (rep, day); relative effects multiply."""
        relative = kpi in ("revenue", "follow_ups")
        out = np.ones(len(rep)) if relative else np.zeros(len(rep))
        for pid in PROGRAMS:
            eff: float | np.ndarray = self.effects[pid].get(kpi, 0.0)
            if pid == "P_MENTOR" and kpi == "revenue" and self.mentor_shift:
                eff = eff + self._mentor_shifts(rep)
            elif eff == 0.0:
                continue
            x = self.intensity(pid, rep, day, team_of_rep)
            out = out * (1.0 + eff * x) if relative else out + eff * x
        return out


def _top_k(score: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of a weighted sample without replacement, weights ``exp(score)`` (Gumbel top-k)."""
    if k <= 0 or len(score) == 0:
        return np.array([], dtype=np.int64)
    key = score + rng.gumbel(size=len(score))
    return np.argsort(-key, kind="stable")[:k]


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def enroll_training(
    state: ProgramState,
    cfg: SimConfig,
    rng: np.random.Generator,
    *,
    eligible: np.ndarray,
    team: np.ndarray,
    ability: np.ndarray,
    day: int,
) -> None:
    """Each manager nominates the reps of the team they judge weakest.

    The manager's judgement is the rep's persistent ability plus perception noise (sd 0.15 log-odds),
    not last quarter's luck: treated reps are weaker (naive comparisons are biased) while parallel
    trends hold, so a staggered difference-in-differences recovers the truth.
    """
    perceived = ability + rng.normal(0.0, 0.15, len(ability))
    for t in np.unique(team):
        members = np.flatnonzero(team == t)
        k = int(np.floor(cfg.train_share_per_cohort * len(members) + rng.random()))
        pick = _top_k(-cfg.train_selection_strength * _z(perceived[members]), k, rng)
        for r in eligible[members[pick]].tolist():
            state.rep_start["P_TRAIN"][r] = day


def enroll_mentoring(
    state: ProgramState,
    cfg: SimConfig,
    rng: np.random.Generator,
    *,
    eligible: np.ndarray,
    attainment: np.ndarray,
    mentor_pool: np.ndarray,
    mentor_attainment: np.ndarray,
    day: int,
) -> None:
    """Low performers (noisy) become mentees; top performers mentor at most two each."""
    n = round(cfg.mentee_share * len(eligible))
    score = -_z(attainment) + rng.normal(0.0, 0.5, len(eligible))
    mentees = eligible[np.argsort(-score, kind="stable")[:n]]
    pool = np.setdiff1d(mentor_pool, mentees)
    pool_att = mentor_attainment[np.isin(mentor_pool, pool)]
    mentors = pool[np.argsort(-pool_att, kind="stable")[: (n + 1) // 2]]
    slots = rng.permutation(np.repeat(mentors, 2))[:n]
    starts = day + 7 * rng.integers(0, 3, n)
    for mentee, mentor, s in zip(mentees.tolist(), slots.tolist(), starts.tolist(), strict=True):
        state.rep_start["P_MENTOR"][mentee] = s
        state.mentor_of[mentee] = mentor


def draw_mentor_quality(state: ProgramState, cfg: SimConfig, rng: np.random.Generator) -> None:
    """Mentor quality: each mentor shifts the relative revenue effect on their mentees.

    Shifts are normal with sd ``cfg.mentor_quality_sd`` and centred over mentees, so the mentees'
    average effect stays the planted one. ``rng`` is a separate stream: drawing them leaves every
    other random draw of the simulation unchanged.
    """
    if cfg.mentor_quality_sd <= 0 or not state.mentor_of:
        return
    mentors = np.array(sorted(set(state.mentor_of.values())), dtype=np.int64)
    q = rng.normal(0.0, cfg.mentor_quality_sd, len(mentors))
    weight = np.array([sum(t == m for t in state.mentor_of.values()) for m in mentors.tolist()])
    q = q - np.sum(weight * q) / weight.sum()
    state.mentor_shift.update(zip(mentors.tolist(), q.tolist(), strict=True))


def enroll_placebo(
    state: ProgramState,
    cfg: SimConfig,
    *,
    eligible: np.ndarray,
    score: np.ndarray,
    day: int,
) -> None:
    """Invite the top ``placebo_share`` of the eligible reps by ``score``.

    The observational program: by default last quarter's top performers, with noise, and no effect.
    """
    n = round(cfg.placebo_share * len(eligible))
    for r in eligible[np.argsort(-score, kind="stable")[:n]].tolist():
        state.rep_start["P_PLACEBO"][r] = day


def enroll_coaching(state: ProgramState, rng: np.random.Generator, *, day: int) -> None:
    """Randomize half of the teams (rounded down) to coaching; the rest are the control arm."""
    treated = rng.permutation(state.n_teams)[: state.n_teams // 2]
    state.team_start["P_COACH"][treated] = day
    control = np.setdiff1d(np.arange(state.n_teams), treated)
    state.control_teams["P_COACH"] = (control, day)


def enroll_incentive(state: ProgramState, team_region: np.ndarray, *, day: int) -> None:
    """All teams of the incentive regions switch to the new plan on one date."""
    regions = [REGIONS.index(r) for r in INCENTIVE_REGIONS]
    state.team_start["P_INCENT"][np.isin(team_region, regions)] = day
