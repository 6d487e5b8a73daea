"""Turn the simulator's integer-coded arrays into contract tables and ``truth.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from salesinsight.kpis import ACTIVITY_TYPES

from ._calendar import to_iso
from ._config import EFFECT_SCALE, PROGRAMS, SimConfig
from ._engine import Raw
from ._org import NEVER, REGIONS
from ._programs import REP_PROGRAMS

SOURCES: tuple[str, ...] = ("outbound", "inbound", "referral")
STATUS: dict[int, str] = {0: "lost", 1: "won", 2: "open"}


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _money(x: np.ndarray) -> np.ndarray:
    return np.array([f"{v:.2f}" for v in np.round(x, 2).tolist()], dtype=object)


def _order_ids(keys: tuple[np.ndarray, ...], prefix: str, width: int) -> np.ndarray:
    """Ids numbered in the order given by ``keys`` (first key most significant); index -> id."""
    order = np.lexsort(tuple(reversed(keys)))
    out = np.empty(len(order), dtype=object)
    out[order] = _ids(prefix, len(order), width)
    return out


def _rep_ids(raw: Raw) -> np.ndarray:
    """Contract rep ids of the simulator's reps (index -> id): numbered by hire day and seat."""
    R = raw.reps
    return _order_ids((R["hire"], R["seat"], np.arange(len(R["seat"]))), "R", 4)


def build_tables(raw: Raw) -> dict[str, pd.DataFrame]:
    """Every contract table as a string-typed DataFrame in a stable row order."""
    k = _keys(raw)
    programs, enrollments = _program_tables(raw, k.rep_ids, k.team_ids)
    return {
        "reps": _reps_table(raw, k),
        "opportunities": _opportunities_table(raw, k),
        "stage_history": _stage_table(raw, k),
        "activities": _activities_table(raw, k),
        "quotas": _quotas_table(raw, k),
        "programs": programs,
        "enrollments": enrollments,
        "csat": _csat_table(raw, k),
        "reviews": _reviews_table(raw, k),
    }


@dataclass(frozen=True)
class _Keys:
    """Contract ids of the simulator's integer codes (index -> id) and their sort ranks."""

    team_ids: np.ndarray
    manager_ids: np.ndarray
    rep_ids: np.ndarray
    rep_rank: np.ndarray
    opp_ids: np.ndarray
    opp_rank: np.ndarray
    account_ids: np.ndarray


def _keys(raw: Raw) -> _Keys:
    """Give teams, managers, reps, opportunities and accounts their contract ids."""
    o = raw.opps
    rep_ids = _rep_ids(raw)
    n_opps = len(o["rep"])
    rep_rank = np.argsort(np.argsort(rep_ids.astype(str), kind="stable"), kind="stable")
    opp_ids = _order_ids((o["created"], rep_rank[o["rep"]], np.arange(n_opps)), "O", 7)
    return _Keys(
        team_ids=_ids("T", raw.org.n_teams, 2),
        manager_ids=_ids("M", raw.org.n_teams, 2),
        rep_ids=rep_ids,
        rep_rank=rep_rank,
        opp_ids=opp_ids,
        opp_rank=np.argsort(np.argsort(opp_ids.astype(str), kind="stable"), kind="stable"),
        account_ids=np.array([f"AC{a:06d}" for a in o["account"].tolist()], dtype=object),
    )


def _reps_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """Build the reps table: managers (one per team) and account executives, by rep_id."""
    R, org = raw.reps, raw.org
    n_reps = len(R["seat"])
    rep_team = org.seat_team[R["seat"]]
    term = np.where(R["term"] >= NEVER, "", to_iso(raw.start, np.minimum(R["term"], 10**6)))
    hire = [to_iso(raw.start, -2000 - 30 * np.arange(org.n_teams)), to_iso(raw.start, R["hire"])]
    return pd.DataFrame(
        {
            "rep_id": np.concatenate([k.manager_ids, k.rep_ids]),
            "team_id": np.concatenate([k.team_ids, k.team_ids[rep_team]]),
            "hire_date": np.concatenate(hire),
            "termination_date": np.concatenate([np.full(org.n_teams, "", dtype=object), term]),
            "name": np.concatenate(
                [
                    np.array([f"Manager {m}" for m in k.manager_ids], dtype=object),
                    np.array([f"Rep {r}" for r in k.rep_ids], dtype=object),
                ]
            ),
            "region": np.array(REGIONS, dtype=object)[
                np.concatenate([org.team_region, org.team_region[rep_team]])
            ],
            "role": np.concatenate(
                [np.full(org.n_teams, "manager", dtype=object), np.full(n_reps, "ae", dtype=object)]
            ),
            "manager_id": np.concatenate(
                [np.full(org.n_teams, "", dtype=object), k.manager_ids[rep_team]]
            ),
        }
    ).sort_values("rep_id", kind="stable", ignore_index=True)


def _opportunities_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """One row per opportunity, its current stage the last one entered; sorted by opp_id."""
    o, stages = raw.opps, raw.stages
    is_last = np.r_[stages["opp"][1:] != stages["opp"][:-1], True]
    current = np.empty(len(o["rep"]), dtype=object)
    current[stages["opp"][is_last]] = stages["stage"][is_last]
    open_ = o["status"] == 2
    return pd.DataFrame(
        {
            "opp_id": k.opp_ids,
            "rep_id": k.rep_ids[o["rep"]],
            "created_date": to_iso(raw.start, o["created"]),
            "status": np.array([STATUS[s] for s in o["status"].tolist()], dtype=object),
            "close_date": np.where(open_, "", to_iso(raw.start, o["close"])),
            "amount": _money(o["amount"]),
            "account_id": k.account_ids,
            "stage": current,
            "source": np.array(SOURCES, dtype=object)[o["source"]],
            "discount": np.array([f"{v:.2f}" for v in np.round(o["discount"], 2).tolist()]),
        }
    ).sort_values("opp_id", kind="stable", ignore_index=True)


def _stage_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """Stage entries sorted by opp_id, in the order they were entered."""
    stages = raw.stages
    stage_df = pd.DataFrame(
        {
            "opp_id": k.opp_ids[stages["opp"]],
            "stage": stages["stage"],
            "entered_date": to_iso(raw.start, stages["day"]),
            "_k": np.arange(len(stages["opp"])),
        }
    ).sort_values(["opp_id", "_k"], kind="stable", ignore_index=True)
    return stage_df.drop(columns="_k")


def _activities_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """Activities numbered by day, rep, opportunity and type."""
    a = raw.activities
    linked = a["opp"] >= 0
    a_opp_rank = np.where(linked, k.opp_rank[np.maximum(a["opp"], 0)], -1)
    order = np.lexsort((a["type"], a_opp_rank, k.rep_rank[a["rep"]], a["day"]))
    opp = np.maximum(a["opp"][order], 0)
    return pd.DataFrame(
        {
            "activity_id": _ids("A", len(order), 8),
            "rep_id": k.rep_ids[a["rep"][order]],
            "activity_date": to_iso(raw.start, a["day"][order]),
            "type": np.array(ACTIVITY_TYPES, dtype=object)[a["type"][order]],
            "opp_id": np.where(linked[order], k.opp_ids[opp], ""),
            "account_id": np.where(linked[order], k.account_ids[opp], ""),
        }
    )


def _quotas_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """One quota per rep and quarter, sorted by period start and rep_id."""
    q = raw.quotas
    return pd.DataFrame(
        {
            "rep_id": k.rep_ids[q["rep"]],
            "period_start": to_iso(raw.start, q["start"]),
            "period_end": to_iso(raw.start, q["end"]),
            "quota_amount": _money(q["amount"]),
        }
    ).sort_values(["period_start", "rep_id"], kind="stable", ignore_index=True)


def _csat_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """CSAT responses numbered by day and opportunity."""
    c = raw.csat
    c_order = np.lexsort((k.opp_rank[c["opp"]], c["day"]))
    return pd.DataFrame(
        {
            "response_id": _ids("S", len(c_order), 6),
            "rep_id": k.rep_ids[c["rep"][c_order]],
            "response_date": to_iso(raw.start, c["day"][c_order]),
            "score": np.array([f"{int(s)}" for s in c["score"][c_order].tolist()], dtype=object),
            "scale": "5",
            "account_id": k.account_ids[c["opp"][c_order]],
            "opp_id": k.opp_ids[c["opp"][c_order]],
        }
    )


def _reviews_table(raw: Raw, k: _Keys) -> pd.DataFrame:
    """Quarterly reviews with a rating band, sorted by period and rep_id."""
    rv = raw.reviews
    labels = np.array([p[2] for p in raw.periods], dtype=object)
    score = rv["score"]
    rating = np.select([score >= 75, score >= 60, score >= 45], ["a", "b", "c"], default="d")
    return pd.DataFrame(
        {
            "rep_id": k.rep_ids[rv["rep"]],
            "period": labels[rv["quarter"]],
            "score": np.array([f"{s:.1f}" for s in score.tolist()], dtype=object),
            "rating": rating.astype(object),
            "reviewer_id": k.manager_ids[rv["reviewer"]],
        }
    ).sort_values(["period", "rep_id"], kind="stable", ignore_index=True)


def _program_tables(
    raw: Raw, rep_ids: np.ndarray, team_ids: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    state, start = raw.state, raw.start
    rows: list[dict[str, str]] = []
    for pid in PROGRAMS:
        if pid in REP_PROGRAMS:
            for r, d in state.rep_start[pid].items():
                mentor = rep_ids[state.mentor_of[r]] if pid == "P_MENTOR" else ""
                rows.append(_enr(pid, rep_ids[r], "treatment", d, mentor, start))
        else:
            ts = state.team_start[pid]
            for t in np.flatnonzero(ts < NEVER).tolist():
                rows.append(_enr(pid, team_ids[t], "treatment", int(ts[t]), "", start))
            if pid in state.control_teams:
                control, d = state.control_teams[pid]
                for t in control.tolist():
                    rows.append(_enr(pid, team_ids[t], "control", d, "", start))
    enr = pd.DataFrame(rows, columns=["program_id", "unit_id", "arm", "start_date", "mentor_id"])
    rank = {pid: i for i, pid in enumerate(PROGRAMS)}
    enr["_p"] = enr["program_id"].map(rank)
    enr = enr.sort_values(["_p", "unit_id"], kind="stable", ignore_index=True).drop(columns="_p")
    prog_rows = []
    for pid, meta in PROGRAMS.items():
        first = enr.loc[enr["program_id"] == pid, "start_date"].min()
        prog_rows.append(
            {
                "program_id": pid,
                "name": meta["name"],
                "kind": meta["kind"],
                "design": meta["design"],
                "unit": meta["unit"],
                "start_date": first,
                "end_date": "",
                "description": meta["description"],
                "budget": meta["budget"],  # salesinsight extension (docs/data-contract.md)
            }
        )
    return pd.DataFrame(prog_rows), enr


def _enr(pid: str, unit: str, arm: str, day: int, mentor: str, start) -> dict[str, str]:
    return {
        "program_id": pid,
        "unit_id": unit,
        "arm": arm,
        "start_date": str(to_iso(start, np.array([day]))[0]),
        "mentor_id": mentor,
    }


def summary(raw: Raw, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Realized headline numbers of the simulated folder (for the docs and sanity checks)."""
    o = raw.opps
    closed = (o["status"] <= 1) & (o["close"] >= 0)
    years = (raw.periods[-1][1] + 1) / 365.25
    R = raw.reps
    last = raw.periods[-1][1]
    days_employed = np.clip(np.minimum(R["term"], last) - np.maximum(R["hire"], 0) + 1, 0, None)
    headcount = days_employed.sum() / (last + 1)
    n_term = int(((R["term"] >= 0) & (R["term"] <= last)).sum())
    won = closed & (o["status"] == 1)
    rev = pd.DataFrame({"rep": o["rep"][won], "day": o["close"][won], "amount": o["amount"][won]})
    q = raw.quotas
    att = []
    for lo, hi, _ in raw.periods:
        sel = (q["end"] == hi) & (q["start"] == lo)
        r = rev[(rev["day"] >= lo) & (rev["day"] <= hi)].groupby("rep")["amount"].sum()
        got = r.reindex(q["rep"][sel]).fillna(0.0).to_numpy()
        att.append(got / q["amount"][sel])
    att_all = np.concatenate(att)
    qe = [
        rev[(rev["day"] >= hi - 13) & (rev["day"] <= hi)]["amount"].sum()
        / max(rev[(rev["day"] >= lo) & (rev["day"] <= hi)]["amount"].sum(), 1.0)
        for lo, hi, _ in raw.periods
    ]
    cycle = o["close"][won] - o["created"][won]
    return {
        "n_reps_ever": int(len(R["seat"])),
        "n_teams": int(raw.org.n_teams),
        "n_opportunities": int(len(tables["opportunities"])),
        "n_open_at_end": int((o["status"] == 2).sum()),
        "n_activities": int(len(tables["activities"])),
        "win_rate": round(float(won.sum() / closed.sum()), 4),
        "annual_attrition": round(float(n_term / headcount / years), 4),
        "share_at_quota_full_quarters": round(float((att_all >= 1).mean()), 4),
        "cycle_days_median_won": float(np.median(cycle)),
        "cycle_days_range_won": [int(cycle.min()), int(cycle.max())],
        "quarter_end_concentration": round(float(np.mean(qe)), 4),
        "csat_mean_0_1": round(float(raw.csat["score"].mean() / 5), 4),
    }


#: how the observational program enrolled, per selection scenario (truth.json notes)
SELECTION_NOTES: dict[str, str] = {
    "recent": "Top performers of the previous quarter by attainment (with noise) are invited: a "
    "persistent and a transient part.",
    "level": "Reps with the highest persistent ability (with noise) are invited: selection on a "
    "persistent level, which a fixed-effects DiD absorbs.",
    "streak": "Reps whose transient form was highest last quarter (with noise) are invited: a "
    "hot streak that fades, which a fixed-effects DiD reads as harm.",
    "dip": "Reps whose transient form was lowest last quarter (with noise) are invited: a slump "
    "that recovers (Ashenfelter's dip), which a fixed-effects DiD reads as a benefit.",
    "growth": "The most recent hires (with noise) are invited while on their learning curve in "
    "the win rate: they improve anyway.",
    "mix": "Selection on a weighted mix of persistent ability and last quarter's transient form "
    "(weight in mix_weight_on_ability).",
}


def truth(raw: Raw, cfg: SimConfig, seed: int, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Return the ground truth: true effects of every program, activity effects and latent rep traits."""
    enr = tables["enrollments"]
    programs = {}
    for pid, meta in PROGRAMS.items():
        eff = raw.state.effects[pid]
        sel = enr[enr["program_id"] == pid]
        programs[pid] = {
            "kind": meta["kind"],
            "design": meta["design"],
            "unit": meta["unit"],
            "effects": {k: eff[k] for k in eff},
            "effect_scale": {k: EFFECT_SCALE[k] for k in eff},
            "ramp_weeks": cfg.train_ramp_weeks if pid == "P_TRAIN" else None,
            "notes": meta["notes"],
            "n_treated": int((sel["arm"] == "treatment").sum()),
            "n_control": int((sel["arm"] == "control").sum()),
            "start_dates": sorted(set(sel["start_date"])),
        }
        if pid == "P_PLACEBO":
            programs[pid]["selection"] = cfg.observational_selection
            if cfg.observational_selection != "recent" or any(eff.values()):
                programs[pid]["notes"] = SELECTION_NOTES[cfg.observational_selection] + (
                    f" True effects: {', '.join(f'{k} {v:+g}' for k, v in eff.items() if v)}."
                    if any(eff.values())
                    else " True effect zero on everything."
                )
            if cfg.observational_selection == "mix":
                programs[pid]["mix_weight_on_ability"] = cfg.observational_mix_weight
    R, org = raw.reps, raw.org
    rep_ids = tables["reps"]
    ae = rep_ids[rep_ids["role"] == "ae"]["rep_id"].to_numpy()
    order = np.lexsort((np.arange(len(R["seat"])), R["seat"], R["hire"]))
    latent = {}
    for pos, i in enumerate(order.tolist()):
        latent[ae[pos]] = {
            "ability": round(float(R["ability"][i]), 4),
            "effort": round(float(R["effort"][i]), 4),
            "territory": round(float(org.seat_territory[R["seat"][i]]), 4),
            "ramp_days": int(R["ramp_len"][i]),
        }
    return {
        "seed": int(seed),
        "config": cfg.to_dict(),
        "programs": programs,
        "activity_effects": dict(zip(ACTIVITY_TYPES, cfg.activity_effects, strict=True)),
        "win_model": {
            "base_logodds": cfg.base_logodds,
            "source_effects": dict(zip(SOURCES, cfg.source_effects, strict=True)),
            "ramp_logodds_penalty": cfg.ramp_logodds_penalty,
            "team_effects": {
                t: round(float(e), 4)
                for t, e in zip(_ids("T", org.n_teams, 2), org.team_effect, strict=True)
            },
        },
        "rep_latent": latent,
        "reviews": _review_truth(raw, cfg),
        "mentoring": _mentor_truth(raw, cfg, tables),
        "summary": summary(raw, tables),
        "gaming": gaming_truth(raw, cfg),
    }


GAMING_COLUMNS: tuple[str, ...] = (
    "rep_id",
    "quarter",
    "pulled_deals",
    "pulled_won_deals",
    "pulled_won_revenue",
    "bunched_deals",
    "bunched_revenue",
    "attainment_before_bunching",
    "bunched_across_quota",
)


def gaming_truth(raw: Raw, cfg: SimConfig) -> dict[str, Any]:
    """Planted quarter-end gaming: the mechanism's parameters, per-quarter totals, per rep-quarter rows.

    ``rep_quarters`` lists only rep-quarters where a deal was pulled in or bunched (columns
    ``GAMING_COLUMNS``); pulled deals count every deal moved (won or lost), revenue only won deals.
    """
    n_reps = len(raw.reps["seat"])
    rep_ids = _order_ids((raw.reps["hire"], raw.reps["seat"], np.arange(n_reps)), "R", 4)
    rows = [[rep_ids[r[0]], *r[1:]] for r in raw.gaming.get("rows", [])]
    rows.sort(key=lambda r: (r[1], r[0]))
    return {
        "pull_in": {
            "rule": cfg.hockey_rule,
            "behind_pace": cfg.hockey_behind_pace,
            "window_days": cfg.hockey_window_days,
            "horizon_days": cfg.hockey_pull_days,
            "pull_prob": cfg.hockey_pull_prob,
            "discount_premium": cfg.hockey_discount,
        },
        "bunching": {
            "threshold": 1.0,
            "prob": cfg.bunch_prob,
            "window_below": cfg.bunch_window,
        },
        "by_quarter": raw.gaming.get("quarters", []),
        "rep_quarters": {"columns": list(GAMING_COLUMNS), "rows": rows},
    }


def _review_truth(raw: Raw, cfg: SimConfig) -> dict[str, Any]:
    """How review scores were made, and each reviewer's planted leniency (score points)."""
    managers = _ids("M", raw.org.n_teams, 2)
    n_by = np.bincount(raw.reviews["reviewer"], minlength=raw.org.n_teams)
    return {
        "score_model": (
            "score = clip(60 + latent_weight * z(ability + form) + attainment_weight * "
            "clip(attainment - 1, -1, 1.5) + leniency[reviewer] + N(0, noise_sd), 0, 100)"
        ),
        "latent_weight": cfg.review_latent_weight,
        "attainment_weight": cfg.review_attainment_weight,
        "noise_sd": cfg.review_noise_sd,
        "leniency_sd": cfg.reviewer_leniency_sd,
        "cross_review_share": cfg.cross_review_share,
        "leniency": {m: round(float(v), 4) for m, v in zip(managers, raw.leniency, strict=True)},
        "n_reviews": {m: int(n) for m, n in zip(managers, n_by, strict=True)},
    }


def _mentor_truth(raw: Raw, cfg: SimConfig, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Each mentor's true relative revenue effect on their mentees; mentoring costs mentors nothing."""
    state = raw.state
    enr = tables["enrollments"]
    mentors = enr.loc[(enr["program_id"] == "P_MENTOR") & (enr["mentor_id"] != ""), "mentor_id"]
    base = float(state.effects["P_MENTOR"].get("revenue", 0.0))
    by_index = {m: base + state.mentor_shift.get(m, 0.0) for m in state.mentor_of.values()}
    ids = _rep_ids(raw)
    return {
        "effect_scale": "relative change of mentee deal amounts (revenue)",
        "mentor_quality_sd": cfg.mentor_quality_sd,
        "mentor_effects": {ids[m]: round(float(v), 4) for m, v in sorted(by_index.items())},
        "n_mentors": int(mentors.nunique()),
        "mentor_cost": {"revenue": 0.0, "win_rate": 0.0},
    }


def write(folder: Path, tables: dict[str, pd.DataFrame], truth_obj: dict[str, Any]) -> None:
    r"""Write each table as ``<name>.csv`` (UTF-8, ``\n`` line ends) and ``truth.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    for name, df in tables.items():
        table = pa.Table.from_pandas(df.astype(str), preserve_index=False)
        with open(folder / f"{name}.csv", "wb") as fh:
            fh.write((",".join(df.columns) + "\n").encode("utf-8"))
            pacsv.write_csv(table, fh, write_options=options)
    text = json.dumps(truth_obj, indent=2, sort_keys=True, ensure_ascii=False)
    (folder / "truth.json").write_text(text + "\n", encoding="utf-8")
