"""Tests of salesinsight.metrics.early_warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.metrics._early_warning import (
    ATTRITION_FEATURES,
    EarlyWarning,
    attrition_model,
    drop_tests,
    early_warning,
)
from tests.metrics._fake import fake_folder


def _null_counts(rng, *, n_reps=80, k=4, overdispersion=0.01, season=None):
    """Rep-window counts with no drop: activity rate theta_i x season_w x gamma noise (overdispersed,
    window-to-window sd of the rate sqrt(overdispersion), 10% by default)."""
    season = season or [1.1, 1.0, 0.9, 1.0, 1.05][: k + 1]
    rows = []
    theta = rng.lognormal(np.log(150), 0.3, n_reps)
    p = rng.beta(6, 18, n_reps)
    for i in range(n_reps):
        for w in range(k + 1):
            lam = theta[i] * season[w] * rng.gamma(1 / overdispersion, overdispersion)
            a = rng.poisson(lam)
            oc = rng.poisson(0.08 * lam)
            closed = rng.poisson(10)
            rows.append(
                {
                    "rep_id": f"R{i:03d}",
                    "window": w,
                    "activities": a,
                    "opps_created": oc,
                    "opps_won": rng.binomial(closed, p[i]),
                    "opps_closed": closed,
                }
            )
    return pd.DataFrame(rows)


def test_planted_activity_drop_detected_with_words():
    rng = np.random.default_rng(0)
    c = _null_counts(rng)
    cur = (c["rep_id"] == "R007") & (c["window"] == 0)
    c.loc[cur, "activities"] = (c.loc[cur, "activities"] * 0.5).round()
    tests, phi = drop_tests(c, fdr=0.1)
    alerts = tests[tests["alert"]]
    hit = alerts[(alerts["rep_id"] == "R007") & (alerts["component"] == "activities")]
    assert len(hit) == 1
    assert -0.65 < hit["change"].iloc[0] < -0.35
    assert "below own baseline" in hit["message"].iloc[0]
    assert "p_adj=" in hit["message"].iloc[0]
    assert phi["activities"] > 1.0  # the overdispersion in the generator is detected


def test_planted_win_rate_drop_detected():
    rng = np.random.default_rng(1)
    c = _null_counts(rng)
    past = (c["rep_id"] == "R003") & (c["window"] > 0)
    c.loc[past, ["opps_won", "opps_closed"]] = [6, 15]  # 40% historically
    cur = (c["rep_id"] == "R003") & (c["window"] == 0)
    c.loc[cur, ["opps_won", "opps_closed"]] = [1, 30]  # 3% now
    tests, _ = drop_tests(c, fdr=0.1)
    hit = tests[(tests["rep_id"] == "R003") & (tests["component"] == "win_rate")].iloc[0]
    assert hit["alert"]
    assert "pp below own baseline" in hit["message"]


def test_bh_usage_by_hand():
    rng = np.random.default_rng(2)
    c = _null_counts(rng)
    for r in ("R001", "R002", "R010"):
        sel = (c["rep_id"] == r) & (c["window"] == 0)
        c.loc[sel, "activities"] = (c.loc[sel, "activities"] * 0.5).round()
    tests, _ = drop_tests(c, fdr=0.1)
    # Benjamini-Hochberg written out: p_adj_(i) = min_{j >= i} m p_(j) / j, capped at 1
    p = tests["p_value"].to_numpy()
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum(1, np.minimum.accumulate(ranked[::-1])[::-1])
    expect = np.empty(m)
    expect[order] = adj
    assert_allclose(tests["p_adj"].to_numpy(), expect, rtol=1e-12, atol=0)
    assert (tests["alert"] == (expect <= 0.1)).all()
    assert {"R001", "R002", "R010"} <= set(tests.loc[tests["alert"], "rep_id"])


def _null_alert_counts(n_sets, seed0):
    any_alert, share = 0, []
    for s in range(n_sets):
        c = _null_counts(np.random.default_rng(seed0 + s), n_reps=60)
        tests, _ = drop_tests(c, fdr=0.1)
        n_alerted = tests.loc[tests["alert"], "rep_id"].nunique()
        any_alert += n_alerted > 0
        share.append(n_alerted / 60)
    return any_alert, float(np.mean(share))


def test_null_share_alerted_is_controlled():
    # complete null (no drops, overdispersed counts, seasonal windows): BH at 10% bounds the chance of
    # any alert at about 10%. Over 15 data sets, P(more than 5 with an alert | p = 0.1) = 0.002.
    any_alert, share = _null_alert_counts(15, 100)
    assert any_alert <= 5, any_alert
    assert share < 0.02


@pytest.mark.slow
def test_null_share_alerted_is_controlled_many():
    # 200 null data sets: the share with any alert should be near or below 10%; binomial sd 2.1 pp,
    # so 16% is about 3 sd above the nominal bound.
    any_alert, share = _null_alert_counts(200, 1000)
    assert any_alert / 200 <= 0.16, any_alert
    assert share < 0.005


def test_drop_tests_bad_input():
    with pytest.raises(ValueError, match="opps_closed"):
        drop_tests(pd.DataFrame({"rep_id": ["a"], "window": [0], "activities": [1]}))


def _attrition_frame(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(8):
        for _ in range(150):
            x = rng.normal(size=len(ATTRITION_FEATURES))
            eta = -2.5 - 1.2 * x[0] + 0.8 * x[6]
            rows.append(
                {
                    "period": f"2025Q{q + 1}" if q < 4 else f"2026Q{q - 3}",
                    **dict(zip(ATTRITION_FEATURES, x, strict=True)),
                    "left_next": float(rng.random() < 1 / (1 + np.exp(-eta))),
                }
            )
    return pd.DataFrame(rows)


def test_attrition_model_time_split_auc_and_brier():
    f = _attrition_frame(3)
    model, ev = attrition_model(f, test_quarters=2)
    assert ev["test_quarters"] == ["2026Q3", "2026Q4"]
    assert ev["n_test"] == 300 and ev["n_train"] == 900
    # true model has a strong signal: AUC well above chance, Brier better than the base rate
    assert ev["auc"] > 0.65
    assert ev["brier"] < ev["brier_base_rate"]
    # calibrated: mean predicted probability near the observed test rate (binomial sd ~ 0.016)
    assert abs(ev["mean_predicted_test"] - ev["observed_rate_test"]) < 0.05
    assert model is not None


def test_attrition_model_too_few_leavers():
    f = _attrition_frame(4)
    f["left_next"] = 0.0
    model, ev = attrition_model(f)
    assert model is None
    assert "too few" in ev["note"]


@pytest.fixture(scope="module")
def fake_ds(tmp_path_factory):
    from salesinsight.data import load

    folder = tmp_path_factory.mktemp("ew") / "data"
    fake_folder(
        str(folder),
        seed=2,
        n_reps=150,
        drop={"R005": 0.4},
        data_end="2026-12-31",
        quarters=8,
    )
    return load(folder)


@pytest.fixture(scope="module")
def ew(fake_ds) -> EarlyWarning:
    return early_warning(fake_ds, as_of="2026-05-15", n_draws=2000, seed=1)


def test_early_warning_on_data_folder_detects_planted_drop(ew):
    assert ew.quarter == "2026Q2"
    r5 = ew.alerts[ew.alerts["rep_id"] == "R005"]
    assert "activities" in set(r5["component"])
    row = ew.to_frame().set_index("rep_id").loc["R005"]
    assert row["n_alerts"] >= 1 and "activities" in row["alerts"]
    # the planted rate factor is 0.4 from 2026-04-01: about 60% below baseline
    ch = r5.loc[r5["component"] == "activities", "change"].iloc[0]
    assert -0.75 < ch < -0.45


def test_quota_probability_is_calibrated_on_realised_quarter(ew, fake_ds):
    # as_of uses only information up to 2026-05-15; the data folder runs to year end, so the realised
    # quarter is known: predicted probabilities should match realised quota attainment.
    f = ew.to_frame()
    act = fake_ds.sql(
        """SELECT rep_id, sum(amount) AS rev FROM opportunities
           WHERE status = 'won' AND close_date BETWEEN DATE '2026-04-01' AND DATE '2026-06-30'
           GROUP BY rep_id"""
    ).set_index("rep_id")["rev"]
    f["actual"] = f["rep_id"].map(act).fillna(0.0)
    f = f[f["quota"] > 0]
    y = (f["actual"] >= f["quota"]).to_numpy(float)
    p = f["p_reach_quota"].to_numpy(float)
    brier = np.mean((p - y) ** 2)
    brier_base = np.mean((y.mean() - y) ** 2)
    assert brier < 0.8 * brier_base, (brier, brier_base)
    # ~100 reps: sd of the observed share ~0.05; mean prediction within 0.1
    assert abs(p.mean() - y.mean()) < 0.1
    cover = np.mean((f["actual"] >= f["revenue_low"]) & (f["actual"] <= f["revenue_high"]))
    assert 0.82 <= cover <= 0.97, cover


def test_early_warning_result_api(ew):
    import matplotlib

    matplotlib.use("Agg")
    f = ew.to_frame()
    assert f["rep_id"].is_unique
    assert ((f["p_reach_quota"] >= 0) & (f["p_reach_quota"] <= 1)).all()
    assert {"auc", "brier", "brier_base_rate", "n_test"} <= set(ew.attrition)
    assert "Early warning for 2026Q2" in str(ew)
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    fig, given = plt.subplots()
    assert ew.plot(ax=given) is given
    # one bar per rep: the chance of reaching quota, sorted, reps with alerts in red
    r = ew.reps.sort_values("p_reach_quota")
    bars = given.patches
    assert [b.get_height() for b in bars] == pytest.approx(r["p_reach_quota"].tolist())
    red = [b.get_facecolor() == to_rgba("tab:red") for b in bars]
    assert red == (r["n_alerts"] > 0).tolist()
    plt.close(fig)
    assert f["p_attrition"].between(0, 1).all()


def test_early_warning_deterministic(fake_ds, ew):
    again = early_warning(fake_ds, as_of="2026-05-15", n_draws=2000, seed=1)
    pd.testing.assert_frame_equal(ew.to_frame(), again.to_frame())


@pytest.mark.slow
def test_simulator_attrition_auc_quota_calibration_and_planted_drop(tmp_path):
    # the project's CRM simulator, with one rep's activities thinned by 85% from 2026-04-01 (written
    # as a modified copy of the folder through DuckDB). The simulator's activity counts per 6-week
    # window are ~5x overdispersed relative to Poisson, so a 60% cut of a typical rep gives p ~ 0.001,
    # not enough after BH over ~500 tests (measured once, seed 7); 85% is a clear disengagement.
    import shutil

    import duckdb

    from salesinsight.data import load
    from salesinsight.simulate import crm

    src = crm(tmp_path / "sim", seed=7, n_reps=200)
    dst = tmp_path / "planted"
    shutil.copytree(src, dst)
    ds0 = load(src)
    victim = ds0.sql(
        """SELECT rep_id FROM reps WHERE role = 'ae' AND hire_date < DATE '2024-06-01'
           AND (termination_date IS NULL OR termination_date > DATE '2026-12-31')
           ORDER BY rep_id LIMIT 1"""
    )["rep_id"].iloc[0]
    acts = next(p for p in dst.iterdir() if p.name.startswith("activities."))
    con = duckdb.connect()
    kept = con.sql(
        f"""SELECT * FROM '{acts}' WHERE NOT (rep_id = '{victim}'
              AND CAST(activity_date AS DATE) >= DATE '2026-04-01' AND hash(activity_id) % 20 < 17)"""
    )
    out = dst / "activities_new.parquet"
    kept.write_parquet(str(out))
    acts.unlink()
    out.rename(dst / "activities.parquet")
    ds = load(dst)
    ew = early_warning(ds, as_of="2026-05-15", n_draws=2000, seed=3)
    hit = ew.alerts[(ew.alerts["rep_id"] == victim) & (ew.alerts["component"] == "activities")]
    assert len(hit) == 1
    assert -0.95 < hit["change"].iloc[0] < -0.7
    # attrition model on the time split: better than chance, Brier reported
    assert ew.attrition["auc"] > 0.5
    assert 0 < ew.attrition["brier"] < 0.25
    # quota probabilities vs the realised quarter
    f = ew.to_frame()
    act = ds.sql(
        """SELECT rep_id, sum(amount) AS rev FROM opportunities WHERE status = 'won'
           AND close_date BETWEEN DATE '2026-04-01' AND DATE '2026-06-30' GROUP BY rep_id"""
    ).set_index("rep_id")["rev"]
    f = f[f["quota"] > 0]
    y = (f["rep_id"].map(act).fillna(0.0) >= f["quota"]).to_numpy(float)
    p = f["p_reach_quota"].to_numpy(float)
    assert np.mean((p - y) ** 2) < 0.8 * np.mean((y.mean() - y) ** 2)
    assert abs(p.mean() - y.mean()) < 0.1
