"""Activities and opportunities: prospecting, creation, win probability, amounts, paths, stages."""

from __future__ import annotations

import numpy as np

from salesinsight.kpis import ACTIVITY_TYPES

from ._config import SimConfig
from ._org import ramp

#: Position of each activity type along an opportunity's life, Beta(a, b) of the elapsed share
#: (calls and emails early, demos in the middle, follow-ups late).
PATH_BETA: dict[str, tuple[float, float]] = {
    "call": (1.2, 3.0),
    "visit": (2.0, 2.0),
    "email": (1.5, 2.0),
    "meeting": (2.0, 2.0),
    "demo": (3.0, 2.5),
    "follow_up": (3.0, 1.3),
    "other": (1.0, 1.0),
}
STAGES: tuple[str, ...] = ("qualify", "discovery", "proposal", "negotiation")
STAGE_FRACTIONS: tuple[float, ...] = (0.0, 0.2, 0.5, 0.8)
LOST_REACHED_PROBS: tuple[float, ...] = (0.35, 0.30, 0.20, 0.15)
OPP_FIELDS: tuple[str, ...] = (
    "rep",
    "created",
    "close",
    "source",
    "account",
    "amount_base",
    "u_win",
    "u_stage",
    "discount",
    "logit_static",
    "counts",
    "status",
    "amount",
    "pulled",
    "p_win",
)


def prospecting(
    cfg: SimConfig,
    rng: np.random.Generator,
    *,
    active: np.ndarray,
    act_mult: np.ndarray,
) -> np.ndarray:
    """Prospecting activity counts, shape (reps, days, types); zero on inactive rep-days."""
    rates = np.asarray(cfg.prospect_rates)
    lam = act_mult[:, :, None] * rates[None, None, :] * active[:, :, None]
    return rng.poisson(lam)


def create_opportunities(
    cfg: SimConfig,
    rng: np.random.Generator,
    *,
    counts: np.ndarray,
    conv_mult: np.ndarray,
    rep_index: np.ndarray,
    day_offsets: np.ndarray,
    reps: dict[str, np.ndarray],
    seat_territory: np.ndarray,
    team_of_rep: np.ndarray,
    team_effect: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw new opportunities on each rep-day: Poisson in the day's weighted prospecting activities."""
    weights = np.asarray(cfg.opp_per_activity)
    lam = conv_mult * (counts * weights[None, None, :]).sum(axis=2)
    n = rng.poisson(lam)
    r_pos, d_pos = np.nonzero(n)
    reps_of = np.repeat(rep_index[r_pos], n[r_pos, d_pos])
    created = np.repeat(day_offsets[d_pos], n[r_pos, d_pos])
    m = len(reps_of)
    cycle = np.exp(rng.normal(np.log(cfg.cycle_median_days), cfg.cycle_sigma, m))
    cycle = np.clip(np.rint(cycle), cfg.cycle_min_days, cfg.cycle_max_days).astype(np.int64)
    close = np.minimum(created + cycle, reps["term"][reps_of])
    source = rng.choice(len(cfg.source_probs), size=m, p=np.asarray(cfg.source_probs))
    seat = reps["seat"][reps_of]
    account = seat * 200 + rng.integers(0, 200, m)
    ability = reps["ability"][reps_of]
    log_amount = (
        np.log(cfg.amount_median)
        + cfg.amount_territory_elasticity * np.log(seat_territory[seat])
        + cfg.amount_ability_slope * ability
        + rng.normal(0.0, cfg.amount_sigma, m)
    )
    means = np.asarray(cfg.opp_activity_means)
    eff = np.sqrt(reps["effort"][reps_of])
    act_counts = rng.poisson(eff[:, None] * means[None, :])
    logit_static = (
        cfg.base_logodds
        + ability
        + team_effect[team_of_rep[reps_of]]
        + np.asarray(cfg.source_effects)[source]
        + act_counts @ np.asarray(cfg.activity_effects)
    )
    return {
        "rep": reps_of,
        "created": created,
        "close": close,
        "source": source,
        "account": account,
        "amount_base": np.exp(log_amount),
        "u_win": rng.random(m),
        "u_stage": rng.random(m),
        "discount": rng.beta(2.0, 14.0, m),
        "logit_static": logit_static,
        "counts": act_counts,
        "status": np.full(m, -1, dtype=np.int64),
        "amount": np.full(m, np.nan),
        "pulled": np.zeros(m, dtype=bool),
        "p_win": np.full(m, np.nan),
    }


def concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Append opportunity arrays ``b`` to ``a``."""
    if not a:
        return b
    return {k: np.concatenate([a[k], b[k]]) for k in OPP_FIELDS}


def win_probability(
    cfg: SimConfig,
    opps: dict[str, np.ndarray],
    idx: np.ndarray,
    reps: dict[str, np.ndarray],
    win_shift: np.ndarray,
    cal_quarter: np.ndarray,
) -> np.ndarray:
    """Win probability of opportunities ``idx`` at their close date.

    ``expit(static log-odds + form + season - ramp penalty) + win_shift`` (program effects in
    probability points); ``cal_quarter`` is the calendar quarter (0-3) of each close day.
    """
    r = opps["rep"][idx]
    close = opps["close"][idx]
    rp = ramp(close, reps["hire"][r], reps["ramp_len"][r])
    season = np.asarray(cfg.win_season)[cal_quarter]
    logit = (
        opps["logit_static"][idx] + reps["form"][r] + season - cfg.ramp_logodds_penalty * (1 - rp)
    )
    return np.clip(1.0 / (1.0 + np.exp(-logit)) + win_shift, 0.001, 0.999)


def activity_paths(
    rng: np.random.Generator,
    *,
    counts: np.ndarray,
    created: np.ndarray,
    close: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dated activities on each opportunity: (opp index, type index, day) per activity.

    Each type's position in the opportunity's life is Beta distributed (see ``PATH_BETA``);
    weekend days move back to the Friday before.
    """
    n_types = counts.shape[1]
    opp = np.repeat(np.tile(np.arange(len(counts)), n_types), counts.T.ravel())
    typ = np.repeat(np.repeat(np.arange(n_types), len(counts)), counts.T.ravel())
    a = np.array([PATH_BETA[t][0] for t in ACTIVITY_TYPES])[typ]
    b = np.array([PATH_BETA[t][1] for t in ACTIVITY_TYPES])[typ]
    frac = rng.beta(a, b)
    span = close[opp] - created[opp] + 1
    day = np.minimum(created[opp] + np.floor(frac * span).astype(np.int64), close[opp])
    return opp, typ, day


def to_weekday(day: np.ndarray, weekday_of_start: int) -> np.ndarray:
    """Move Saturday/Sunday offsets back to the Friday before."""
    wd = (weekday_of_start + day) % 7
    return day - np.where(wd == 5, 1, 0) - np.where(wd == 6, 2, 0)


def stage_entries(
    *,
    status: np.ndarray,
    created: np.ndarray,
    close: np.ndarray,
    u_stage: np.ndarray,
    last_day: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage history: (opp index, stage name, entered day) rows, ordered by opp then stage.

    Won deals pass every stage; lost deals stop at a random stage (``LOST_REACHED_PROBS``); open deals
    show the stages entered by ``last_day``. Closed deals end with ``closed_won``/``closed_lost``.
    """
    n = len(status)
    reached = np.searchsorted(np.cumsum(LOST_REACHED_PROBS), u_stage, side="right")
    reached = np.where(status == 0, np.minimum(reached, len(STAGES) - 1), len(STAGES) - 1)
    span = close - created
    entered = created[:, None] + np.rint(np.outer(span, STAGE_FRACTIONS)).astype(np.int64)
    keep = np.arange(len(STAGES))[None, :] <= reached[:, None]
    keep &= (status[:, None] >= 0) | (entered <= last_day)
    names = np.array(list(STAGES) + ["closed_lost", "closed_won"], dtype=object)
    final = np.where(status == 1, len(STAGES) + 1, len(STAGES))
    entered = np.concatenate([entered, close[:, None]], axis=1)
    keep = np.concatenate([keep, (status >= 0)[:, None]], axis=1)
    stage_idx = np.concatenate([np.tile(np.arange(len(STAGES)), (n, 1)), final[:, None]], axis=1)
    opp_idx = np.repeat(np.arange(n), keep.sum(axis=1))
    return opp_idx, names[stage_idx[keep]], entered[keep]
