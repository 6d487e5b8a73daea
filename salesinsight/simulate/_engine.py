"""The simulation loop: quarter by quarter, people -> activities -> opportunities -> outcomes."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import numpy as np

from salesinsight.kpis import ACTIVITY_TYPES

from . import _programs as prog
from ._calendar import day_features, quarters
from ._config import SimConfig
from ._org import NEVER, Org, Reps, attrition, initial_reps, make_org, ramp
from ._sales import (
    activity_paths,
    concat,
    create_opportunities,
    prospecting,
    stage_entries,
    to_weekday,
    win_probability,
)

FOLLOW_UP = ACTIVITY_TYPES.index("follow_up")


@dataclass
class Raw:
    """Everything the simulation produced, as integer-coded arrays (turned into tables later)."""

    start: dt.date
    periods: list[tuple[int, int, str]]
    org: Org
    reps: dict[str, np.ndarray]
    opps: dict[str, np.ndarray]
    activities: dict[str, np.ndarray]
    stages: dict[str, np.ndarray]
    csat: dict[str, np.ndarray]
    quotas: dict[str, np.ndarray]
    reviews: dict[str, np.ndarray]
    state: prog.ProgramState
    leniency: np.ndarray  # (n_teams,) score shift of each team's manager as a reviewer
    #: planted quarter-end gaming, one row per rep-quarter where a deal was pulled in (see ``_gaming``)
    gaming: dict[str, list] = field(default_factory=dict)


def _quota(
    cfg: SimConfig,
    *,
    lo: int,
    hi: int,
    hire: np.ndarray,
    ramp_len: np.ndarray,
    territory: np.ndarray,
    season_d: np.ndarray,
    workday: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Quota of each rep for a quarter: expected revenue from territory, season and ramp (not ability).

    Returns (period start day, quota amount).
    """
    days = np.arange(lo, hi + 1)
    rp = ramp(days[None, :], hire[:, None], ramp_len[:, None])
    on = (days[None, :] >= hire[:, None]) & workday[None, :]
    opps = (on * territory[:, None] * season_d[None, :] * (0.5 + 0.5 * rp) * (0.6 + 0.4 * rp)).sum(
        1
    )
    mean_amount = (
        cfg.amount_median
        * territory**cfg.amount_territory_elasticity
        * np.exp(cfg.amount_sigma**2 / 2 + (cfg.amount_ability_slope * cfg.ability_sd) ** 2 / 2)
    )
    expected = opps * 0.22 * mean_amount
    noise = np.exp(rng.normal(0.0, cfg.quota_noise_sd, len(hire)))
    return np.maximum(hire, lo), np.maximum(cfg.quota_factor * expected * noise, 1000.0)


def simulate(cfg: SimConfig, effects: dict[str, dict[str, float]], seed: int) -> Raw:
    """Run the generative model; see ``docs/simulator.md`` for every step and parameter."""
    w = _setup(cfg, effects, seed)
    for pi in range(len(w.periods)):
        _simulate_period(w, pi)
    return _finish(w)


@dataclass
class _Run:
    """State of one run, shared by the steps of `simulate` (the draws keep the loop's order)."""

    cfg: SimConfig
    rng: np.random.Generator
    aux: np.random.Generator
    start: dt.date
    real: list[tuple[int, int, str]]
    periods: list[tuple[int, int, str]]
    burn: int
    last_day: int
    feats: dict[str, np.ndarray]
    season_all: np.ndarray
    org: Org
    leniency: np.ndarray
    reps: Reps
    state: prog.ProgramState
    sched: dict[str, list[int]]
    opps: dict[str, np.ndarray] = field(default_factory=dict)
    unlinked: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    quota_rows: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    review_rows: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    history: list[dict[str, np.ndarray]] = field(default_factory=list)  # per real quarter, per rep
    gaming: dict[str, list] = field(default_factory=lambda: {"rows": [], "quarters": []})

    def calq(self, day: np.ndarray) -> np.ndarray:
        """Calendar quarter of each day offset."""
        return self.feats["cal_quarter"][day + self.burn]


def _setup(cfg: SimConfig, effects: dict[str, dict[str, float]], seed: int) -> _Run:
    """Seed the streams, lay out the calendar and draw the organisation and the first reps."""
    rng = np.random.default_rng(seed)
    # a separate stream for reviewers and mentor quality: the main stream (and so every other
    # table of a seed) is the same with or without them
    aux = np.random.default_rng([seed, 15])
    start = dt.date.fromisoformat(cfg.start)
    real = quarters(start, cfg.quarters)
    burn = cfg.burn_in_days
    last_day = real[-1][1]
    feats = day_features(start, -burn, last_day)
    season_all = np.asarray(cfg.season)[feats["cal_quarter"]] * np.exp(
        cfg.trend_per_year * feats["offset"] / 365.25
    )
    org = make_org(cfg, rng)
    leniency = aux.normal(0.0, cfg.reviewer_leniency_sd, org.n_teams)
    reps = initial_reps(cfg, rng, -burn)
    return _Run(
        cfg=cfg,
        rng=rng,
        aux=aux,
        start=start,
        real=real,
        periods=[(-burn, -1, ""), *real],
        burn=burn,
        last_day=last_day,
        feats=feats,
        season_all=season_all,
        org=org,
        leniency=leniency,
        reps=reps,
        state=prog.ProgramState(effects, cfg.train_ramp_weeks * 7, org.n_teams),
        sched=prog.schedule(cfg.quarters, cfg.observational_start_quarter, cfg.train_cohorts),
    )


def _simulate_period(w: _Run, pi: int) -> None:
    """Simulate one period (the burn-in, then each real quarter) into ``w``."""
    lo, hi, label = w.periods[pi]
    qi = pi - 1
    R, team_of_rep = _start_period(w, pi, qi, lo)
    idx, territory, fi, workday = _prospect(w, R, team_of_rep, lo, hi)
    quota = _set_quotas(w, qi, R, idx, territory, fi, workday, lo, hi)
    due = _close_deals(w, qi, R, team_of_rep, idx, quota, lo, hi, label)
    attain = _tally(w, qi, R, idx, due, quota, hi, team_of_rep)
    if pi < len(w.periods) - 1:
        _leave(w, pi, qi, R, hi, attain)


def _start_period(w: _Run, pi: int, qi: int, lo: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Move each rep's form on, snapshot the reps and enrol units in the quarter's programs."""
    cfg = w.cfg
    form_before = np.asarray(w.reps.form, dtype=float)  # last quarter's form
    if pi > 0:
        w.reps.form = (
            cfg.form_rho * form_before + w.rng.normal(0.0, cfg.form_sd, len(form_before))
        ).tolist()
    R = w.reps.arrays()
    R["form_prev"] = np.concatenate([form_before, np.zeros(len(R["hire"]) - len(form_before))])
    team_of_rep = w.org.seat_team[R["seat"]]
    if qi >= 1:
        _enroll(cfg, w.rng, w.state, w.sched, qi, lo, R, team_of_rep, w.org, w.history)
        if qi in w.sched["P_MENTOR"]:
            prog.draw_mentor_quality(w.state, cfg, w.aux)
    return R, team_of_rep


def _prospect(
    w: _Run, R: dict[str, np.ndarray], team_of_rep: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw the period's prospecting activities and the opportunities they create."""
    cfg, rng, org = w.cfg, w.rng, w.org
    idx = np.flatnonzero((R["hire"] <= hi) & (R["term"] >= lo))
    days = np.arange(lo, hi + 1)
    fi = days + w.burn
    workday = w.feats["weekday"][fi] < 5
    hire, term = R["hire"][idx][:, None], R["term"][idx][:, None]
    active = (days[None, :] >= hire) & (days[None, :] <= term) & workday[None, :]
    rp = ramp(days[None, :], hire, R["ramp_len"][idx][:, None])
    counts = prospecting(
        cfg, rng, active=active, act_mult=R["effort"][idx][:, None] * (0.5 + 0.5 * rp)
    )
    territory = org.seat_territory[R["seat"][idx]]
    conv = territory[:, None] * w.season_all[fi][None, :] * (0.6 + 0.4 * rp)
    r_pos, d_pos, k_pos = np.nonzero(counts * (days >= 0)[None, :, None])
    c = counts[r_pos, d_pos, k_pos]
    w.unlinked.append((np.repeat(idx[r_pos], c), np.repeat(k_pos, c), np.repeat(days[d_pos], c)))
    new = create_opportunities(
        cfg,
        rng,
        counts=counts,
        conv_mult=conv,
        rep_index=idx,
        day_offsets=days,
        reps=R,
        seat_territory=org.seat_territory,
        team_of_rep=team_of_rep,
        team_effect=org.team_effect,
    )
    w.opps = concat(w.opps, new)
    return idx, territory, fi, workday


def _set_quotas(
    w: _Run,
    qi: int,
    R: dict[str, np.ndarray],
    idx: np.ndarray,
    territory: np.ndarray,
    fi: np.ndarray,
    workday: np.ndarray,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Set the quarter's quota of each active rep (none in the burn-in); per rep index."""
    quota = np.zeros(len(w.reps))
    if qi >= 0:
        q_start, q_amount = _quota(
            w.cfg,
            lo=lo,
            hi=hi,
            hire=R["hire"][idx],
            ramp_len=R["ramp_len"][idx],
            territory=territory,
            season_d=w.season_all[fi],
            workday=workday,
            rng=w.rng,
        )
        quota[idx] = q_amount
        w.quota_rows.append((idx, q_start, np.full(len(idx), hi), q_amount))
    return quota


def _close_deals(
    w: _Run,
    qi: int,
    R: dict[str, np.ndarray],
    team_of_rep: np.ndarray,
    idx: np.ndarray,
    quota: np.ndarray,
    lo: int,
    hi: int,
    label: str,
) -> np.ndarray:
    """Resolve the opportunities due this period, with the planted quarter-end gaming."""
    cfg, rng, opps, state = w.cfg, w.rng, w.opps, w.state
    due = np.flatnonzero((opps["status"] < 0) & (opps["close"] <= hi))
    _resolve(cfg, opps, due, R, state, team_of_rep, w.calq)
    if qi >= 0:
        pre = _won_revenue(opps, due, len(w.reps))
        pulled, behind = _hockey_stick(cfg, rng, opps, due, quota, R, lo, hi, w.feats, w.burn)
        _resolve(cfg, opps, pulled, R, state, team_of_rep, w.calq)
        due = np.concatenate([due, pulled])
        bunched = np.zeros(0, dtype=np.int64)
        if cfg.bunch_prob > 0:
            resolve = functools.partial(
                _resolve, cfg, opps, R=R, state=state, team_of_rep=team_of_rep, calq=w.calq
            )
            bunched = _bunch(cfg, rng, opps, due, quota, R, hi, w.feats, w.burn, resolve)
            due = np.concatenate([due, bunched])
        _record_gaming(w.gaming, opps, pulled, bunched, behind, pre, quota, idx, label, due)
    return due


def _tally(
    w: _Run,
    qi: int,
    R: dict[str, np.ndarray],
    idx: np.ndarray,
    due: np.ndarray,
    quota: np.ndarray,
    hi: int,
    team_of_rep: np.ndarray,
) -> np.ndarray:
    """Count each rep's wins and revenue, record the quarter and its reviews; attainment."""
    opps, n = w.opps, len(w.reps)
    wins = np.bincount(opps["rep"][due], weights=opps["status"][due] == 1, minlength=n)
    closed = np.bincount(opps["rep"][due], minlength=n).astype(float)
    won = due[opps["status"][due] == 1]
    revenue = np.bincount(opps["rep"][won], weights=opps["amount"][won], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        attain = np.where(quota > 0, revenue / quota, np.nan)
    if qi >= 0:
        w.history.append({"wins": wins, "closed": closed, "revenue": revenue, "quota": quota})
        w.review_rows.append(
            _reviews(w.cfg, w.rng, R, idx, attain, hi, qi, team_of_rep, w.aux, w.leniency)
        )
    return attain


def _leave(
    w: _Run, pi: int, qi: int, R: dict[str, np.ndarray], hi: int, attain: np.ndarray
) -> None:
    """Draw the leavers at the period's end; their open deals close by their last day."""
    nlo, nhi = w.periods[pi + 1][:2]
    cand = np.flatnonzero((R["hire"] <= hi) & (R["term"] > hi))
    leavers = attrition(
        w.reps,
        w.cfg,
        w.rng,
        candidates=cand,
        attainment=attain[cand] if qi >= 0 else np.ones(len(cand)),
        decided_on=hi,
        next_lo=nlo,
        next_hi=nhi,
        last_day=w.last_day,
    )
    opps = w.opps
    term_now = np.asarray(w.reps.term)
    pend = np.flatnonzero((opps["status"] < 0) & np.isin(opps["rep"], leavers))
    opps["close"][pend] = np.minimum(opps["close"][pend], term_now[opps["rep"][pend]])


def _finish(w: _Run) -> Raw:
    """Mark the deals still open, draw activities and CSAT, and collect everything into Raw."""
    cfg, rng, state, last_day = w.cfg, w.rng, w.state, w.last_day
    R = w.reps.arrays()
    team_of_rep = w.org.seat_team[R["seat"]]
    opps = w.opps
    open_ = np.flatnonzero(opps["status"] < 0)
    opps["status"][open_] = 2
    opps["amount"][open_] = opps["amount_base"][open_] * state.shifts(
        "revenue", opps["rep"][open_], opps["close"][open_], team_of_rep
    )
    keep = (opps["status"] == 2) | (opps["close"] >= 0)
    opps = {k: v[keep] for k, v in opps.items()}
    wd0 = w.start.weekday()
    activities = _activities(cfg, rng, opps, w.unlinked, R, state, team_of_rep, last_day, wd0)
    s_opp, s_name, s_day = stage_entries(
        status=np.where(opps["status"] == 2, -1, opps["status"]),
        created=opps["created"],
        close=opps["close"],
        u_stage=opps["u_stage"],
        last_day=last_day,
    )
    return Raw(
        start=w.start,
        periods=w.real,
        org=w.org,
        reps=R,
        opps=opps,
        activities=activities,
        stages={"opp": s_opp, "stage": s_name, "day": s_day},
        csat=_csat(cfg, rng, opps, R, state, team_of_rep, last_day),
        quotas=_stack(w.quota_rows, ("rep", "start", "end", "amount")),
        reviews=_stack(w.review_rows, ("rep", "quarter", "score", "reviewer")),
        state=state,
        leniency=w.leniency,
        gaming=w.gaming,
    )


def _stack(rows: list[tuple[np.ndarray, ...]], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {n: np.concatenate([r[i] for r in rows]) for i, n in enumerate(names)}


def _resolve(cfg, opps, idx, R, state, team_of_rep, calq) -> None:
    """Draw won/lost for opportunities ``idx`` at their close day, with program effects."""
    if len(idx) == 0:
        return
    rep, close = opps["rep"][idx], opps["close"][idx]
    shift = state.shifts("win_rate", rep, close, team_of_rep)
    p = win_probability(cfg, opps, idx, R, shift, calq(close))
    opps["p_win"][idx] = p
    opps["status"][idx] = (opps["u_win"][idx] < p).astype(np.int64)
    opps["amount"][idx] = opps["amount_base"][idx] * state.shifts(
        "revenue", rep, close, team_of_rep
    )


def _won_revenue(opps, idx, n) -> np.ndarray:
    """Won revenue per rep over opportunities ``idx``."""
    won = idx[opps["status"][idx] == 1]
    return np.bincount(opps["rep"][won], weights=opps["amount"][won], minlength=n)


def _last_days(cfg, rng, n, hi, feats, burn) -> np.ndarray:
    """Random close days in the quarter's last ``hockey_window_days``, weekends moved to Friday.

    Under the ``"shortfall"`` rule (the historical default) a weekend at the window's start may move a
    day before the window; the other rule moves such days forward to the Monday instead, so every
    pulled deal lands inside the window.
    """
    new_close = hi - rng.integers(0, cfg.hockey_window_days, n)
    wd = feats["weekday"][new_close + burn]
    back = new_close - np.where(wd == 5, 1, 0) - np.where(wd == 6, 2, 0)
    if cfg.hockey_rule == "shortfall":
        return back
    fwd = new_close + np.where(wd == 5, 2, 0) + np.where(wd == 6, 1, 0)
    return np.where(back > hi - cfg.hockey_window_days, back, fwd)


def _hockey_stick(cfg, rng, opps, due, quota, R, lo, hi, feats, burn):
    """Reps short of quota pull deals due within ``hockey_pull_days`` into the quarter's last days.

    Returns (pulled opportunity indices, boolean "behind" flag per rep under ``cfg.hockey_rule``).
    """
    if cfg.hockey_rule == "shortfall":
        revenue = _won_revenue(opps, due, len(quota))
        target = quota
    else:
        entry = hi - cfg.hockey_window_days
        revenue = _won_revenue(opps, due[opps["close"][due] <= entry], len(quota))
        target = cfg.hockey_behind_pace * quota * (entry - lo + 1) / (hi - lo + 1)
    short = (quota > 0) & (revenue < target) & (R["term"] > hi)
    cand = np.flatnonzero(
        (opps["status"] < 0)
        & (opps["close"] > hi)
        & (opps["close"] <= hi + cfg.hockey_pull_days)
        & short[opps["rep"]]
    )
    new_close = _last_days(cfg, rng, len(cand), hi, feats, burn)
    ok = (rng.random(len(cand)) < cfg.hockey_pull_prob) & (
        new_close - opps["created"][cand] >= cfg.cycle_min_days
    )
    pulled = cand[ok]
    opps["close"][pulled] = new_close[ok]
    opps["pulled"][pulled] = True
    opps["discount"][pulled] = np.minimum(opps["discount"][pulled] + cfg.hockey_discount, 1.0)
    return pulled, short


def _bunch(cfg, rng, opps, due, quota, R, hi, feats, burn, resolve) -> np.ndarray:
    """Threshold bunching: sellers just below quota pull just enough deals that will sign to reach it.

    Sellers with attainment in ``[1 - bunch_window, 1)`` after the quarter's closes (pull-ins
    included), each with probability ``bunch_prob``, take open deals due within ``hockey_pull_days``
    that would be won if closed now, in random order, until quota is reached (discount premium
    ``hockey_discount``). Deals that would not sign are left alone, so only timing changes.
    """
    n = len(quota)
    revenue = _won_revenue(opps, due, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        att = np.where(quota > 0, revenue / quota, np.nan)
    near = (quota > 0) & (att >= 1 - cfg.bunch_window) & (att < 1) & (R["term"] > hi)
    near &= rng.random(n) < cfg.bunch_prob
    cand = np.flatnonzero(
        (opps["status"] < 0)
        & (opps["close"] > hi)
        & (opps["close"] <= hi + cfg.hockey_pull_days)
        & near[opps["rep"]]
    )
    new_close = _last_days(cfg, rng, len(cand), hi, feats, burn)
    ok = new_close - opps["created"][cand] >= cfg.cycle_min_days
    cand, new_close = cand[ok], new_close[ok]
    original = opps["close"][cand].copy()
    opps["close"][cand] = new_close
    resolve(idx=cand)
    order = rng.permutation(len(cand))
    order = order[np.argsort(opps["rep"][cand[order]], kind="stable")]
    cand, original = cand[order], original[order]
    keep = np.zeros(len(cand), dtype=bool)
    gap = quota - revenue
    got = np.zeros(n)
    for j, i in enumerate(cand.tolist()):
        r = opps["rep"][i]
        if opps["status"][i] == 1 and got[r] < gap[r]:
            keep[j] = True
            got[r] += opps["amount"][i]
    undo = cand[~keep]
    opps["close"][undo] = original[~keep]
    opps["status"][undo] = -1
    opps["amount"][undo] = np.nan
    opps["p_win"][undo] = np.nan
    kept = cand[keep]
    opps["pulled"][kept] = True
    opps["discount"][kept] = np.minimum(opps["discount"][kept] + cfg.hockey_discount, 1.0)
    return kept


def _record_gaming(gaming, opps, pulled, bunched, behind, pre, quota, idx, label, due) -> None:
    """Per rep-quarter truth of the planted gaming: pulled and bunched deals, attainment moves."""
    n = len(quota)
    post = _won_revenue(opps, due, n)
    won_p = pulled[opps["status"][pulled] == 1]
    cnt = lambda ix: np.bincount(opps["rep"][ix], minlength=n)  # noqa: E731
    rev = lambda ix: np.bincount(opps["rep"][ix], weights=opps["amount"][ix], minlength=n)  # noqa: E731
    pulled_n, pulled_won, pulled_rev = cnt(pulled), cnt(won_p), rev(won_p)
    bunched_n, bunched_rev = cnt(bunched), rev(bunched)
    with np.errstate(divide="ignore", invalid="ignore"):
        before_bunch = np.where(quota > 0, (post - bunched_rev) / quota, np.nan)
        att_pre = np.where(quota > 0, pre / quota, np.nan)
        att_post = np.where(quota > 0, post / quota, np.nan)
    crossed_bunch = (bunched_n > 0) & (before_bunch < 1) & (att_post >= 1)
    crossed_any = (att_pre < 1) & (att_post >= 1)
    for r in idx[(pulled_n[idx] > 0) | (bunched_n[idx] > 0)].tolist():
        gaming["rows"].append(
            [
                r,
                label,
                int(pulled_n[r]),
                int(pulled_won[r]),
                round(float(pulled_rev[r]), 2),
                int(bunched_n[r]),
                round(float(bunched_rev[r]), 2),
                round(float(before_bunch[r]), 4),
                bool(crossed_bunch[r]),
            ]
        )
    gaming["quarters"].append(
        {
            "quarter": label,
            "sellers_with_quota": int((quota[idx] > 0).sum()),
            "sellers_behind": int(behind[idx].sum()),
            "pulled_deals": int(pulled_n.sum()),
            "pulled_won_deals": int(pulled_won.sum()),
            "pulled_won_revenue": round(float(pulled_rev.sum()), 2),
            "bunched_deals": int(bunched_n.sum()),
            "bunched_revenue": round(float(bunched_rev.sum()), 2),
            "bunchers": int(crossed_bunch.sum()),
            "crossed_quota_by_pulling": int(crossed_any[idx].sum()),
        }
    )


def _enroll(cfg, rng, state, sched, qi, lo, R, team_of_rep, org, history) -> None:
    """Enroll units of every program scheduled at the start of real quarter ``qi``."""
    n = len(R["hire"])

    def pad(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, np.zeros(n - len(x))])

    prev = {k: pad(v) for k, v in history[qi - 1].items()}
    prev2 = {k: pad(v) for k, v in history[max(qi - 2, 0)].items()} if qi >= 2 else prev
    active = (R["hire"] <= lo) & (R["term"] >= lo)
    tenure = lo - R["hire"]
    if qi in sched["P_TRAIN"]:
        taken = np.isin(np.arange(n), list(state.enrolled_reps()))
        elig = np.flatnonzero(active & (tenure >= 90) & ~taken)
        prog.enroll_training(
            state,
            cfg,
            rng,
            eligible=elig,
            team=team_of_rep[elig],
            ability=R["ability"][elig],
            day=lo,
        )
    if qi in sched["P_COACH"]:
        prog.enroll_coaching(state, rng, day=lo)
    if qi in sched["P_INCENT"]:
        prog.enroll_incentive(state, org.team_region, day=lo)
    rev2, quota2 = prev["revenue"] + prev2["revenue"], prev["quota"] + prev2["quota"]
    if qi in sched["P_MENTOR"]:
        taken = np.isin(np.arange(n), list(state.enrolled_reps()))
        base = active & (quota2 > 0)
        elig = np.flatnonzero(base & (tenure >= 120) & ~taken)
        pool = np.flatnonzero(base & (tenure >= 365))
        att = np.divide(rev2, quota2, out=np.zeros(n), where=quota2 > 0)
        prog.enroll_mentoring(
            state,
            cfg,
            rng,
            eligible=elig,
            attainment=att[elig],
            mentor_pool=pool,
            mentor_attainment=att[pool],
            day=lo,
        )
    if qi in sched["P_PLACEBO"]:
        taken = np.isin(np.arange(n), list(state.enrolled_reps()))
        min_tenure = 30 if cfg.observational_selection == "growth" else 120
        elig = np.flatnonzero(active & (prev["quota"] > 0) & (tenure >= min_tenure) & ~taken)
        score = prog.observational_score(
            cfg,
            rng,
            attainment=prev["revenue"][elig] / prev["quota"][elig],
            ability=R["ability"][elig],
            form=R["form_prev"][elig],
            tenure=tenure[elig].astype(float),
        )
        prog.enroll_placebo(state, cfg, eligible=elig, score=score, day=lo)


def _reviews(
    cfg, rng, R, idx, attain, hi, qi, team_of_rep, aux, leniency
) -> tuple[np.ndarray, ...]:
    """Draw the quarterly review score (0-100).

    Latent ability and form plus realized attainment, the reviewer's leniency, and noise.

    The reviewer is the rep's manager, or with probability ``cross_review_share`` another team's
    manager (a calibration review). Reviewers and leniency come from the separate stream ``aux``.
    """
    sel = idx[(R["hire"][idx] <= hi - 30) & (R["term"][idx] >= hi)]
    latent = (R["ability"][sel] + R["form"][sel]) / np.sqrt(
        cfg.ability_sd**2 + cfg.form_sd**2 / (1 - cfg.form_rho**2)
    )
    att = np.clip(np.nan_to_num(attain[sel], nan=1.0) - 1.0, -1.0, 1.5)
    own = team_of_rep[sel]
    n_teams = len(leniency)
    cross = aux.random(len(sel)) < cfg.cross_review_share
    other = (own + aux.integers(1, max(n_teams, 2), len(sel))) % n_teams
    reviewer = np.where(cross, other, own)
    score = np.clip(
        60
        + cfg.review_latent_weight * latent
        + cfg.review_attainment_weight * att
        + leniency[reviewer]
        + rng.normal(0.0, cfg.review_noise_sd, len(sel)),
        0,
        100,
    )
    return sel, np.full(len(sel), qi), np.round(score, 1), reviewer


def _activities(cfg, rng, opps, unlinked, R, state, team_of_rep, last_day, wd0):
    """All activity rows: prospecting (no opportunity) plus dated paths on each opportunity."""
    close = opps["close"]
    o_idx, o_typ, o_day = activity_paths(
        rng, counts=opps["counts"], created=opps["created"], close=close
    )
    o_day = to_weekday(o_day, wd0)
    parts_opp, parts_typ, parts_day = [o_idx], [o_typ], [o_day]
    for pid in state.effects:
        eff = state.effects[pid].get("follow_ups", 0.0)
        if eff == 0.0:
            continue
        start = state.start_days(pid, opps["rep"], team_of_rep)
        if eff > 0:
            lam = np.where(close >= start, eff * np.sqrt(R["effort"][opps["rep"]]), 0.0)
            extra = np.zeros_like(opps["counts"])
            extra[:, FOLLOW_UP] = rng.poisson(lam * cfg.opp_activity_means[FOLLOW_UP])
            e_idx, e_typ, e_day = activity_paths(
                rng, counts=extra, created=opps["created"], close=close
            )
            e_day = to_weekday(e_day, wd0)
            ok = e_day >= start[e_idx]
            parts_opp.append(e_idx[ok])
            parts_typ.append(e_typ[ok])
            parts_day.append(e_day[ok])
        else:
            d = parts_day[0]
            hit = (parts_typ[0] == FOLLOW_UP) & (d >= start[parts_opp[0]])
            drop = hit & (rng.random(len(d)) < -eff)
            parts_opp[0], parts_typ[0], parts_day[0] = (
                x[~drop] for x in (parts_opp[0], parts_typ[0], parts_day[0])
            )
    opp = np.concatenate(parts_opp)
    typ = np.concatenate(parts_typ)
    day = np.concatenate(parts_day)
    rep = opps["rep"][opp]
    ok = (day >= 0) & (day <= last_day)
    u_rep = np.concatenate([u[0] for u in unlinked])
    u_typ = np.concatenate([u[1] for u in unlinked])
    u_day = np.concatenate([u[2] for u in unlinked])
    return {
        "rep": np.concatenate([u_rep, rep[ok]]),
        "type": np.concatenate([u_typ, typ[ok]]),
        "day": np.concatenate([u_day, day[ok]]),
        "opp": np.concatenate([np.full(len(u_rep), -1), opp[ok]]),
    }


def _csat(cfg, rng, opps, R, state, team_of_rep, last_day) -> dict[str, np.ndarray]:
    """CSAT after won deals: randomized rounding of a latent 1-5 score keeps program shifts exact."""
    won = np.flatnonzero(opps["status"] == 1)
    won = won[rng.random(len(won)) < cfg.csat_response_prob]
    day = opps["close"][won] + rng.integers(3, 22, len(won))
    rep = opps["rep"][won]
    hw = cfg.csat_noise_halfwidth
    shift = 5.0 * state.shifts("csat", rep, opps["close"][won], team_of_rep)
    y = np.clip(R["csat_mu"][rep] + rng.uniform(-hw, hw, len(won)) + shift, 1.0, 5.0)
    score = np.floor(y) + (rng.random(len(won)) < y - np.floor(y))
    ok = day <= last_day
    return {"opp": won[ok], "rep": rep[ok], "day": day[ok], "score": np.minimum(score[ok], 5.0)}


__all__ = ["NEVER", "Raw", "Reps", "simulate"]
