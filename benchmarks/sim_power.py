"""Power of simple, independent estimators for the simulator's planted effects (default demo size).

Usage: ``python benchmarks/sim_power.py --sims 40 [--reps 360] [--quarters 8]``. For each seed it
simulates a folder, estimates every planted non-zero effect with a deliberately simple estimator written
here (not the package's causal code), and reports per effect: truth, mean estimate, bias, SD, coverage
of the 95% interval and power (share of sims where the interval excludes zero). Figures are recorded in
``docs/simulator.md``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from salesinsight.simulate import crm


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means, its Welch SE and the t critical value (Welch-Satterthwaite df)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(a.mean() - b.mean()), float(se), float(stats.t.ppf(0.975, df))


def load(folder: Path) -> dict[str, pd.DataFrame]:
    names = ("reps", "opportunities", "enrollments", "csat", "quotas")
    t = {n: pd.read_csv(folder / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}
    o = t["opportunities"]
    o = o[o["status"] != "open"].copy()
    o["close"] = pd.to_datetime(o["close_date"])
    o["won"] = (o["status"] == "won").astype(float)
    o["amount"] = o["amount"].astype(float)
    o["rev"] = o["won"] * o["amount"]
    t["closed"] = o.merge(t["reps"][["rep_id", "team_id"]], on="rep_id")
    return t


def _team_did(df: pd.DataFrame, num: str, den: str | None, split: pd.Timestamp, date: str):
    """Per team: post minus pre of sum(num)/sum(den) (or of log sum(num) per day when den is None)."""
    pre, post = df[df[date] < split], df[df[date] >= split]
    if den is None:
        days_pre = (split - df[date].min()).days
        days_post = (df[date].max() - split).days + 1
        a = np.log(post.groupby("team_id")[num].sum() / days_post)
        b = np.log(pre.groupby("team_id")[num].sum() / days_pre)
    else:
        a = post.groupby("team_id")[num].sum() / post.groupby("team_id")[den].sum()
        b = pre.groupby("team_id")[num].sum() / pre.groupby("team_id")[den].sum()
    return (a - b).dropna()


def estimate(folder: Path) -> dict[str, tuple[float, float, float]]:
    """(estimate, se, t critical) for every planted non-zero effect."""
    t = load(folder)
    enr, closed = t["enrollments"], t["closed"]
    closed["one"] = 1.0
    out = {}
    # P_COACH: randomized team DiD of ratio-of-sums win rate; follow-ups: log-ratio DiD
    coach = enr[enr["program_id"] == "P_COACH"]
    split = pd.Timestamp(coach["start_date"].iloc[0])
    treated = set(coach.loc[coach["arm"] == "treatment", "unit_id"])
    d = _team_did(closed, "won", "one", split, "close")
    out["P_COACH.win_rate"] = _welch(
        d[d.index.isin(treated)].to_numpy(), d[~d.index.isin(treated)].to_numpy()
    )
    fu = (
        duckdb.connect()
        .sql(
            f"SELECT r.team_id, a.activity_date::DATE AS day, count(*)::DOUBLE AS n "
            f"FROM read_csv('{folder / 'activities.csv'}', all_varchar=true) a "
            f"JOIN read_csv('{folder / 'reps.csv'}', all_varchar=true) r USING (rep_id) "
            f"WHERE a.type = 'follow_up' GROUP BY 1, 2"
        )
        .df()
    )
    fu["day"] = pd.to_datetime(fu["day"])
    d = _team_did(fu, "n", None, split, "day")
    est, se, crit = _welch(
        d[d.index.isin(treated)].to_numpy(), d[~d.index.isin(treated)].to_numpy()
    )
    out["P_COACH.follow_ups"] = (np.expm1(est), np.exp(est) * se, crit)
    # P_INCENT: team DiD of log revenue per day; CSAT: team DiD of mean score/5
    inc = enr[enr["program_id"] == "P_INCENT"]
    split = pd.Timestamp(inc["start_date"].iloc[0])
    treated = set(inc["unit_id"])
    d = _team_did(closed, "rev", None, split, "close")
    est, se, crit = _welch(
        d[d.index.isin(treated)].to_numpy(), d[~d.index.isin(treated)].to_numpy()
    )
    out["P_INCENT.revenue"] = (np.expm1(est), np.exp(est) * se, crit)
    cs = t["csat"].merge(t["reps"][["rep_id", "team_id"]], on="rep_id")
    cs["s"] = cs["score"].astype(float) / cs["scale"].astype(float)
    cs["one"] = 1.0
    cs["day"] = pd.to_datetime(cs["response_date"])
    d = _team_did(cs, "s", "one", split, "day")
    out["P_INCENT.csat"] = _welch(
        d[d.index.isin(treated)].to_numpy(), d[~d.index.isin(treated)].to_numpy()
    )
    # P_TRAIN: per cohort, reps' win rate in the quarter after the 8-week ramp minus the quarter
    # before the start, treated cohort vs never-treated reps; inverse-variance pooled
    tr = enr[enr["program_id"] == "P_TRAIN"]
    never = set(t["reps"].loc[t["reps"]["role"] == "ae", "rep_id"]) - set(tr["unit_id"])
    ests, ws = [], []
    for s, grp in tr.groupby("start_date"):
        s = pd.Timestamp(s)
        pre = closed[(closed["close"] >= s - pd.Timedelta(days=91)) & (closed["close"] < s)]
        post = closed[
            (closed["close"] >= s + pd.Timedelta(days=56))
            & (closed["close"] < s + pd.Timedelta(days=147))
        ]
        if post.empty:
            continue
        dd = (post.groupby("rep_id")["won"].mean() - pre.groupby("rep_id")["won"].mean()).dropna()
        e, se_, _ = _welch(
            dd[dd.index.isin(set(grp["unit_id"]))].to_numpy(), dd[dd.index.isin(never)].to_numpy()
        )
        ests.append(e)
        ws.append(1 / se_**2)
    w = np.asarray(ws)
    out["P_TRAIN.win_rate"] = (float(np.dot(w, ests) / w.sum()), float(np.sqrt(1 / w.sum())), 1.96)
    # P_MENTOR: ANCOVA of post revenue/day on pre (2 quarters) revenue/day among reps eligible then
    me = enr[enr["program_id"] == "P_MENTOR"]
    s = pd.Timestamp(me["start_date"].min())
    reps = t["reps"]
    ae = reps[
        (reps["role"] == "ae") & (pd.to_datetime(reps["hire_date"]) <= s - pd.Timedelta(days=182))
    ]
    term = pd.to_datetime(ae["termination_date"].replace("", None))
    ae = ae[term.isna() | (term > closed["close"].max())]
    others = set(enr.loc[enr["program_id"].isin(["P_TRAIN", "P_PLACEBO"]), "unit_id"])
    ae = ae[~ae["rep_id"].isin(others)]
    pre = closed[(closed["close"] >= s - pd.Timedelta(days=182)) & (closed["close"] < s)]
    post = closed[closed["close"] >= s + pd.Timedelta(days=14)]
    df = pd.DataFrame({"rep_id": ae["rep_id"]}).set_index("rep_id")
    df["pre"] = pre.groupby("rep_id")["rev"].sum().reindex(df.index).fillna(0.0)
    df["post"] = post.groupby("rep_id")["rev"].sum().reindex(df.index).fillna(0.0)
    q = t["quotas"].copy()
    q["ps"] = pd.to_datetime(q["period_start"])
    q["amt"] = q["quota_amount"].astype(float)
    q_pre = (
        q[(q["ps"] >= s - pd.Timedelta(days=185)) & (q["ps"] < s)].groupby("rep_id")["amt"].sum()
    )
    q_post = q[q["ps"] >= s].groupby("rep_id")["amt"].sum()
    df["q_pre"] = q_pre.reindex(df.index).fillna(0.0)
    df["q_post"] = q_post.reindex(df.index).fillna(0.0)
    df["T"] = df.index.isin(set(me["unit_id"])).astype(float)
    X = np.column_stack([np.ones(len(df)), df["T"], df["pre"], df["q_pre"], df["q_post"]])
    beta, *_ = np.linalg.lstsq(X, df["post"].to_numpy(), rcond=None)
    resid = df["post"].to_numpy() - X @ beta
    bread = np.linalg.inv(X.T @ X)
    V = bread @ (X.T * resid**2) @ X @ bread * len(df) / (len(df) - X.shape[1])
    base = float((X[df["T"] == 1] @ beta).mean() - beta[1])
    out["P_MENTOR.revenue"] = (beta[1] / base, float(np.sqrt(V[1, 1])) / base, 1.96)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=40)
    ap.add_argument("--reps", type=int, default=360)
    ap.add_argument("--quarters", type=int, default=8)
    args = ap.parse_args()
    rows, secs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.sims):
            t0 = time.process_time()
            folder = crm(Path(tmp) / "sim", seed=seed, n_reps=args.reps, quarters=args.quarters)
            secs.append(time.process_time() - t0)
            truth = json.loads((folder / "truth.json").read_text())["programs"]
            for key, (est, se, crit) in estimate(folder).items():
                pid, kpi = key.split(".")
                tv = truth[pid]["effects"][kpi]
                rows.append(
                    {
                        "effect": key,
                        "truth": tv,
                        "estimate": est,
                        "se": se,
                        "covered": abs(est - tv) <= crit * se,
                        "reject": abs(est) > crit * se,
                    }
                )
            print(f"seed {seed}: simulated in {secs[-1]:.1f} s CPU", flush=True)
    df = pd.DataFrame(rows)
    res = df.groupby("effect").agg(
        truth=("truth", "first"),
        mean_estimate=("estimate", "mean"),
        sd=("estimate", "std"),
        mean_se=("se", "mean"),
        coverage=("covered", "mean"),
        power=("reject", "mean"),
    )
    res["bias"] = res["mean_estimate"] - res["truth"]
    print(
        f"\n{args.sims} sims, {args.reps} reps, {args.quarters} quarters; "
        f"simulation CPU time median {np.median(secs):.1f} s"
    )
    print(res.round(4).to_string())


if __name__ == "__main__":
    main()
