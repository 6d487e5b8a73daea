"""Mentoring pairs against the simulator's ground truth (truth.json: mentor effects, zero cost)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesinsight.causal.effect import Effect
from salesinsight.mentoring import matched_sets


def test_mentee_revenue_interval_covers_planted_average(mentoring, pairs_truth):
    e = mentoring.ramp_up["revenue"]
    assert isinstance(e, Effect)
    planted = pairs_truth["programs"]["P_MENTOR"]["effects"]["revenue"]  # 0.12 over all mentees
    assert e.ci_low <= planted <= e.ci_high
    assert e.diagnostics[0].name == "balance" and e.diagnostics[0].passed


def test_no_effect_on_deal_timing_or_win_rate_is_never_called_worked(mentoring):
    # planted: mentoring scales deal amounts only; timing and win rate are untouched
    for name in ("days_to_first_win", "early_win_rate"):
        v = mentoring.ramp_up[name].verdict(min_effect=mentoring.min_effect[name])
        assert v.label in ("no detectable effect", "inconclusive"), (name, v)


def test_mentor_intervals_cover_planted_mentor_effects(mentoring, pairs_truth):
    f = mentoring.mentors.frame
    planted = f["mentor_id"].map(pairs_truth["mentoring"]["mentor_effects"])
    assert planted.notna().all()
    covered = (f["ci_low"] <= planted) & (planted <= f["ci_high"])
    # nominal 95%; at least 80% of ~25 mentors (fewer has probability < 1%)
    assert covered.mean() >= 0.8
    # shrinkage: shrunk effects spread less than raw ones
    assert f["effect"].std() <= f["raw"].std()


def test_frame_and_display(mentoring):
    df = mentoring.to_frame()
    assert {"measure", "estimate", "ci_low", "ci_high", "verdict", "reason"} <= set(df.columns)
    assert "Mentoring pairs" in str(mentoring)
    assert "<table" in mentoring._repr_html_()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, given = plt.subplots()
    assert mentoring.plot(ax=given) is given
    # the markers are the shrunk mentor effects, sorted
    f = mentoring.mentors.frame.sort_values("effect")
    assert list(given.get_lines()[0].get_xdata()) == pytest.approx(f["effect"].tolist())
    assert [t.get_text() for t in given.get_yticklabels()] == f["mentor_id"].astype(str).tolist()
    plt.close(fig)


def test_matching_by_hand():
    treated = pd.DataFrame(
        {"rep_id": ["T"], "start": [1], "pre_attainment": [0.5], "tenure_days": [400]}
    )
    pool = pd.DataFrame(
        {
            "rep_id": ["A", "B", "C", "D"],
            "start": [1, 1, 1, 2],
            "pre_attainment": [0.52, 0.9, 0.45, 0.5],
            "tenure_days": [400, 400, 380, 400],
        }
    )
    s = matched_sets(treated, pool, k=2, caliper=10)
    # D has another start date; the two nearest of A, B, C on attainment are A and C
    assert sorted(s.loc[s["role"] == "control", "rep_id"]) == ["A", "C"]
    np.testing.assert_allclose(s.loc[s["role"] == "control", "weight"], 0.5, rtol=0, atol=0)
    with pytest.raises(ValueError, match="caliper"):
        matched_sets(treated, pool.assign(pre_attainment=[2.0, 2.1, 2.2, 0.5]), k=2, caliper=0.1)


def test_cli_json_is_strict_and_bad_folder_is_a_clear_error(pairs_folder, tmp_path, capsys):
    import json
    import shutil

    from salesinsight.cli import main

    assert main(["mentoring", str(pairs_folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    assert {e["measure"] for e in out["effects"]} >= {"days_to_first_win", "revenue"}
    assert out["n_pairs"] > 0 and out["mentors"]
    folder = tmp_path / "nopairs"
    shutil.copytree(pairs_folder, folder)
    for name in ("programs.csv", "enrollments.csv"):
        (folder / name).unlink()
    assert main(["mentoring", str(folder)]) == 2
    assert "no programs and enrollments" in capsys.readouterr().out
