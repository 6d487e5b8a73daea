"""People: seats, teams, regions, latent reps, hiring, ramp and attrition."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._config import SimConfig

#: Day offset used for "never" (no termination, never enrolled).
NEVER = 10**9
REGIONS: tuple[str, ...] = ("north", "south", "east", "west")


@dataclass
class Org:
    """Seats (territories) and teams, fixed for the whole simulation."""

    n_teams: int
    seat_team: np.ndarray  # (n_seats,) team index
    seat_territory: np.ndarray  # (n_seats,) territory potential (multiplier, mean ~1)
    team_region: np.ndarray  # (n_teams,) index into REGIONS
    team_effect: np.ndarray  # (n_teams,) win log-odds


@dataclass
class Reps:
    """Account executives ever employed, in order of creation (index = simulator rep number)."""

    seat: list[int] = field(default_factory=list)
    hire: list[int] = field(default_factory=list)
    term: list[int] = field(default_factory=list)
    ability: list[float] = field(default_factory=list)
    effort: list[float] = field(default_factory=list)
    ramp_len: list[int] = field(default_factory=list)
    csat_mu: list[float] = field(default_factory=list)
    form: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.seat)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the current state as numpy arrays."""
        return {
            "seat": np.asarray(self.seat, dtype=np.int64),
            "hire": np.asarray(self.hire, dtype=np.int64),
            "term": np.asarray(self.term, dtype=np.int64),
            "ability": np.asarray(self.ability, dtype=float),
            "effort": np.asarray(self.effort, dtype=float),
            "ramp_len": np.asarray(self.ramp_len, dtype=np.int64),
            "csat_mu": np.asarray(self.csat_mu, dtype=float),
            "form": np.asarray(self.form, dtype=float),
        }


def make_org(cfg: SimConfig, rng: np.random.Generator) -> Org:
    """Seats split into contiguous teams of about ``team_size``; teams cycle through the regions."""
    n_teams = max(2, round(cfg.n_reps / cfg.team_size))
    seat_team = np.arange(cfg.n_reps) * n_teams // cfg.n_reps
    team_region = np.arange(n_teams) % len(REGIONS)
    shift = np.asarray(cfg.region_shift)[team_region[seat_team]]
    territory = np.exp(shift + rng.normal(0.0, cfg.territory_sd, cfg.n_reps))
    team_effect = rng.normal(0.0, cfg.team_sd, n_teams)
    return Org(n_teams, seat_team, territory, team_region, team_effect)


def hire_reps(
    reps: Reps, cfg: SimConfig, rng: np.random.Generator, seats: np.ndarray, hire: np.ndarray
) -> None:
    """Append new reps with fresh latent ability, effort, ramp length and CSAT level."""
    n = len(seats)
    if n == 0:
        return
    z1, z2 = rng.normal(size=(2, n))
    rho = cfg.ability_effort_corr
    ability = cfg.ability_sd * z1
    effort = np.exp(cfg.effort_sd * (rho * z1 + np.sqrt(1 - rho**2) * z2) - cfg.effort_sd**2 / 2)
    ramp_len = rng.integers(cfg.ramp_days_min, cfg.ramp_days_max + 1, n)
    hw = cfg.csat_noise_halfwidth
    csat_mu = np.clip(cfg.csat_mean + rng.normal(0.0, cfg.csat_rep_sd, n), 1 + hw + 0.2, 5 - hw)
    form = rng.normal(0.0, cfg.form_sd / np.sqrt(1 - cfg.form_rho**2), n)
    reps.seat += seats.tolist()
    reps.hire += hire.tolist()
    reps.term += [NEVER] * n
    reps.ability += ability.tolist()
    reps.effort += effort.tolist()
    reps.ramp_len += ramp_len.tolist()
    reps.csat_mu += csat_mu.tolist()
    reps.form += form.tolist()


def initial_reps(cfg: SimConfig, rng: np.random.Generator, first_day: int) -> Reps:
    """One rep per seat, hired before the simulation begins (exponential tenure, mean ~1.6 years)."""
    reps = Reps()
    tenure = np.floor(rng.exponential(600.0, cfg.n_reps)).astype(np.int64)
    hire_reps(reps, cfg, rng, np.arange(cfg.n_reps), first_day - tenure)
    return reps


def ramp(day: np.ndarray, hire: np.ndarray, ramp_len: np.ndarray) -> np.ndarray:
    """Share of full productivity reached: linear from 0 at hire to 1 after ``ramp_len`` days."""
    return np.clip((day - hire) / ramp_len, 0.0, 1.0)


def leave_probability(
    cfg: SimConfig, attainment: np.ndarray, tenure_days: np.ndarray
) -> np.ndarray:
    """Quarterly probability of leaving: higher below quota and in the first year."""
    a0 = np.log(cfg.attrition_quarterly / (1 - cfg.attrition_quarterly))
    x = np.clip(np.nan_to_num(attainment, nan=1.0), 0.0, 2.0) - 1.0
    logit = a0 + cfg.attrition_attainment_slope * x + cfg.attrition_new_hire * (tenure_days < 365)
    return 1.0 / (1.0 + np.exp(-logit))


def attrition(
    reps: Reps,
    cfg: SimConfig,
    rng: np.random.Generator,
    *,
    candidates: np.ndarray,
    attainment: np.ndarray,
    decided_on: int,
    next_lo: int,
    next_hi: int,
    last_day: int,
) -> np.ndarray:
    """Decide who leaves during the next quarter; hire replacements into the same seats.

    Returns the indices of the leavers (their ``term`` is set in ``reps``).
    """
    hire = np.asarray(reps.hire)[candidates]
    p = leave_probability(cfg, attainment, decided_on - hire)
    leaves = rng.random(len(candidates)) < p
    leavers = candidates[leaves]
    term = rng.integers(next_lo, next_hi + 1, len(leavers))
    for i, t in zip(leavers.tolist(), term.tolist(), strict=True):
        reps.term[i] = t
    new_hire = term + 1 + rng.integers(cfg.vacancy_days_min, cfg.vacancy_days_max + 1, len(leavers))
    keep = new_hire <= last_day
    seats = np.asarray(reps.seat)[leavers][keep]
    hire_reps(reps, cfg, rng, seats, new_hire[keep])
    return leavers
