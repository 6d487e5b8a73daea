"""Selection scenarios for observational programs, with the true effect known.

A fast seller x month win-rate panel in which enrolment follows a chosen mechanism.

This is the Monte Carlo companion of ``salesinsight simulate --scenario`` (which plants the same
mechanisms in the full CRM simulator): it draws only what the observational designs read (won and
closed opportunities per seller and month), so hundreds of replications per scenario run in
minutes (``benchmarks/bench_observational.py``). It deliberately breaks one design's assumption per
scenario:

===================  ==============================================================  ===========
scenario             who is enrolled                                                 breaks
===================  ==============================================================  ===========
``level``            the top share by persistent skill (latent, seen with a little   lagged
                     noise)                                                          outcome
``streak``           the top share by a transient hot streak (latent form over the   FE DiD
                     half-year before the start, which then fades)
``dip``              the bottom share by transient form (Ashenfelter's dip)          FE DiD
``recent``           the top share by *observed* win rate over the last half-year     both, a
                     (a persistent and a transient part, as managers see it)          little
``growth``           recent hires still on their learning curve                      FE DiD
``mix``              a random mix (weight recorded) of persistent skill and           both
                     transient form
===================  ==============================================================  ===========

Every scenario runs a concurrent randomized team program (half the teams, from four months before
the evaluated program's start, +3 points of win rate) whose exposure is returned for adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SCENARIOS", "SelectionPanel", "selection_panel"]

SCENARIOS: tuple[str, ...] = ("level", "streak", "dip", "recent", "growth", "mix")


@dataclass(frozen=True)
class SelectionPanel:
    """One simulated data set in the shape the observational design reads.

    Attributes
    ----------
    frame : DataFrame
        ``unit_id, t, period_start, won, closed, _exposure`` (one row per seller and month).
    starts : DataFrame
        ``unit_id, arm, cohort`` of the enrolled sellers (``cohort`` = first treated ``t``).
    exposure : DataFrame
        ``unit_id, t, exposure_P_CONCURRENT``: share of the month under the concurrent program.
    tenure : Series
        Months since hire at the start, per ``unit_id`` (what the reps table's hire dates give).
    window : tuple of Timestamp
        First and last month of the panel.
    truth : dict
        Scenario, true effect (win-rate points), share enrolled, pre-period length, mix weight.
    """

    frame: pd.DataFrame
    starts: pd.DataFrame
    exposure: pd.DataFrame
    tenure: pd.Series
    window: tuple[pd.Timestamp, pd.Timestamp]
    truth: dict[str, object]


def selection_panel(
    scenario: str,
    *,
    effect: float = 0.0,
    n_units: int = 300,
    n_pre: int = 12,
    n_post: int = 6,
    share: float = 0.2,
    closes_per_month: float = 8.0,
    seed: int = 0,
) -> SelectionPanel:
    """Draw one seller x month panel with enrolment by ``scenario``.

    Parameters
    ----------
    scenario : {"level", "streak", "dip", "recent", "growth", "mix"}
    effect : float
        True effect on the win rate in probability points from the start on (0.03 = +3 points).
    n_units : int
        Sellers (teams of 10).
    n_pre, n_post : int
        Months before and from the start.
    share : float
        Share of sellers enrolled.
    closes_per_month : float
        Mean closed opportunities per seller and month (Poisson).
    seed : int

    Returns
    -------
    SelectionPanel
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    if n_pre < 2 or n_post < 1:
        raise ValueError("need at least two pre-period months and one post-period month")
    rng = np.random.default_rng(seed)
    n_t = n_pre + n_post
    skill = rng.normal(0.0, 0.35, n_units)  # persistent, log-odds
    form = _ar1(rng, n_units, n_t, rho=0.8, sd=0.25)  # transient, log-odds
    tenure0 = np.where(rng.random(n_units) < 0.25, rng.integers(0, 4, n_units), 36)
    tenure = tenure0[:, None] + np.arange(n_t)[None, :]
    learning = -0.8 * np.clip(1.0 - tenure / 12.0, 0.0, None)  # ramps to 0 over a year
    season = 0.08 * np.sin(2 * np.pi * np.arange(n_t) / 12.0)
    team = np.arange(n_units) // 10
    coached_team = rng.permutation(team.max() + 1)[: (team.max() + 1) // 2]
    coach_on = np.isin(team, coached_team)[:, None] & (np.arange(n_t) >= n_pre - 4)[None, :]
    logit = -1.1 + skill[:, None] + form + learning + season[None, :]
    p0 = 1.0 / (1.0 + np.exp(-logit)) + 0.03 * coach_on
    closed = rng.poisson(closes_per_month, (n_units, n_t))
    weight = float(rng.uniform()) if scenario == "mix" else None
    enrolled = _enrol(scenario, rng, share, skill, form, tenure0, closed, p0, n_pre, weight)
    p = np.clip(p0 + effect * (enrolled[:, None] & (np.arange(n_t) >= n_pre)[None, :]), 0, 1)
    won = rng.binomial(closed, p)
    months = pd.date_range("2024-01-01", periods=n_t, freq="MS")
    ids = np.array([f"S{i:04d}" for i in range(n_units)])
    frame = pd.DataFrame(
        {
            "unit_id": np.repeat(ids, n_t),
            "t": np.tile(np.arange(1, n_t + 1), n_units),
            "period_start": np.tile(months, n_units),
            "won": won.ravel().astype(float),
            "closed": closed.ravel().astype(float),
            "_exposure": 1.0,
        }
    )
    starts = pd.DataFrame({"unit_id": ids[enrolled], "arm": "treatment", "cohort": n_pre + 1})
    exposure = frame[["unit_id", "t"]].assign(exposure_P_CONCURRENT=coach_on.ravel().astype(float))
    truth = {
        "scenario": scenario,
        "effect": float(effect),
        "share": float(share),
        "n_pre": n_pre,
        "n_post": n_post,
        "n_units": n_units,
        "n_enrolled": int(enrolled.sum()),
        "mix_weight_on_skill": weight,
    }
    tenure = pd.Series((tenure0 + n_pre).astype(float), index=ids, name="tenure")
    return SelectionPanel(frame, starts, exposure, tenure, (months[0], months[-1]), truth)


def _ar1(rng: np.random.Generator, n: int, n_t: int, *, rho: float, sd: float) -> np.ndarray:
    """Stationary AR(1) paths with marginal standard deviation ``sd``."""
    out = np.empty((n, n_t))
    out[:, 0] = rng.normal(0.0, sd, n)
    innov = sd * np.sqrt(1 - rho**2)
    for t in range(1, n_t):
        out[:, t] = rho * out[:, t - 1] + rng.normal(0.0, innov, n)
    return out


def _z(x: np.ndarray) -> np.ndarray:
    s = x.std()
    return (x - x.mean()) / s if s > 0 else np.zeros_like(x)


def _enrol(
    scenario: str,
    rng: np.random.Generator,
    share: float,
    skill: np.ndarray,
    form: np.ndarray,
    tenure0: np.ndarray,
    closed: np.ndarray,
    p0: np.ndarray,
    n_pre: int,
    weight: float | None,
) -> np.ndarray:
    """Enrolled flag per seller: the top ``share`` by the scenario's score plus perception noise."""
    recent_form = form[:, n_pre - 6 : n_pre].mean(axis=1)
    if scenario == "level":
        score = _z(skill)
    elif scenario == "streak":
        score = _z(recent_form)
    elif scenario == "dip":
        score = -_z(recent_form)
    elif scenario == "recent":
        won = rng.binomial(closed[:, n_pre - 6 : n_pre], p0[:, n_pre - 6 : n_pre])
        score = _z(won.sum(axis=1) / np.maximum(closed[:, n_pre - 6 : n_pre].sum(axis=1), 1))
    elif scenario == "growth":
        score = _z(-tenure0.astype(float))
    else:
        w = float(weight if weight is not None else 0.5)
        score = np.sqrt(w) * _z(skill) + np.sqrt(1 - w) * _z(recent_form)
    score = score + rng.normal(0.0, 0.3, len(score))
    k = max(2, int(round(share * len(score))))
    out = np.zeros(len(score), dtype=bool)
    out[np.argsort(-score, kind="stable")[:k]] = True
    return out
