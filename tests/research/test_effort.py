"""research.effort: no response where none is planted; recovers a reduction planted by this test."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from salesinsight.research import effort


def _read(folder, name):
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def test_no_effort_response_in_the_simulator(no_gaming):
    e = effort(no_gaming, n_boot=299)
    assert e.ci_low <= 0 <= e.ci_high
    assert len(e.terms) == 4


def test_recovers_a_planted_late_period_slowdown(no_gaming, tmp_path):
    """Drop 30% of the activities of far-behind sellers in their quarter's last 28 days (far behind:
    won revenue before that window below half the elapsed share of quota, computed here from the CSV
    files); the estimate's interval covers the realized drop."""
    folder = tmp_path / "data"
    shutil.copytree(no_gaming, folder)
    q = _read(folder, "quotas")
    q["start"], q["end"] = pd.to_datetime(q["period_start"]), pd.to_datetime(q["period_end"])
    q["quota"] = q["quota_amount"].astype(float)
    o = _read(folder, "opportunities")
    won = o[o["status"] == "won"].assign(
        close=lambda d: pd.to_datetime(d["close_date"]), amount=lambda d: d["amount"].astype(float)
    )
    m = q.merge(won[["rep_id", "close", "amount"]], on="rep_id", how="left")
    entry = m["end"] - pd.Timedelta(days=28)
    m["pre"] = np.where((m["close"] >= m["start"]) & (m["close"] <= entry), m["amount"], 0.0)
    pre = m.groupby(["rep_id", "end"])["pre"].sum()
    q = q.set_index(["rep_id", "end"]).assign(pre=pre).reset_index()
    share = ((q["end"] - pd.Timedelta(days=28) - q["start"]).dt.days + 1) / (
        (q["end"] - q["start"]).dt.days + 1
    )
    far = q[q["pre"] < 0.5 * q["quota"] * share][["rep_id", "end"]]
    a = _read(folder, "activities")
    a["d"] = pd.to_datetime(a["activity_date"])
    hit = a.reset_index().merge(far, on="rep_id")
    hit = hit[(hit["d"] > hit["end"] - pd.Timedelta(days=28)) & (hit["d"] <= hit["end"])]
    rng = np.random.default_rng(0)
    drop = hit.loc[rng.random(len(hit)) < 0.3, "index"]
    realized = len(drop) / len(hit)
    a.drop(index=drop).drop(columns="d").to_csv(folder / "activities.csv", index=False)
    e = effort(folder, n_boot=299)
    assert e.ci_low <= -realized <= e.ci_high, (realized, e.estimate, e.ci_low, e.ci_high)
    assert e.ci_high < 0


def test_bad_arguments(no_gaming):
    with pytest.raises(ValueError, match="far_below.*alpha"):
        effort(no_gaming, far_below=2, alpha=0)
