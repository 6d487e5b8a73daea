"""mix_rate: hand-computed Kitagawa/Shapley mix versus rate split."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.attribution import mix_rate


def rep_rows():
    # Segment A: base won 30 of 50 (rate 0.6), current 14 of 20 (0.7), split over two reps.
    # Segment B: base won 10 of 50 (0.2), current 24 of 80 (0.3).
    return pd.DataFrame(
        [
            ("2026Q1", "r1", "A", 20, 30),
            ("2026Q1", "r2", "A", 10, 20),
            ("2026Q1", "r3", "B", 10, 50),
            ("2026Q2", "r1", "A", 8, 12),
            ("2026Q2", "r2", "A", 6, 8),
            ("2026Q2", "r3", "B", 24, 80),
        ],
        columns=["period", "rep_id", "team_id", "opps_won", "opps_closed"],
    )


def test_hand_computed_simpson_case():
    # R0 = 40/100 = 0.40, R1 = 38/100 = 0.38: change -0.02 although both teams improved.
    # Weights w0 = (0.5, 0.5), w1 = (0.2, 0.8).
    # rate = sum (r1 - r0)(w0 + w1)/2 = 0.1*0.35 + 0.1*0.65 = 0.035 + 0.065 = 0.10
    # mix  = sum (w1 - w0)((r0 + r1)/2 - (R0 + R1)/2), with (R0 + R1)/2 = 0.39:
    #        A: -0.3 * (0.65 - 0.39) = -0.078;  B: +0.3 * (0.25 - 0.39) = -0.042;  total -0.12
    #        (uncentred: -0.3*0.65 + 0.3*0.25 = -0.12, the same total)
    # mix + rate = -0.12 + 0.10 = -0.02.
    r = mix_rate(
        rep_rows(),
        rate_num="opps_won",
        rate_den="opps_closed",
        segment="team_id",
        base="2026Q1",
        current="2026Q2",
    )
    assert_allclose([r.rate_base, r.rate_current], [0.40, 0.38], rtol=1e-12, atol=0)
    assert_allclose(r.rate_effect, 0.10, rtol=1e-12, atol=1e-15)
    assert_allclose(r.mix_effect, -0.12, rtol=1e-12, atol=1e-15)
    assert_allclose(r.mix_effect + r.rate_effect, r.total_change, rtol=1e-12, atol=1e-15)
    f = r.to_frame().set_index("team_id")
    assert_allclose(f.loc[["A", "B"], "mix_contribution"], [-0.078, -0.042], rtol=1e-10, atol=0)
    assert_allclose(f.loc[["A", "B"], "rate_contribution"], [0.035, 0.065], rtol=1e-10, atol=0)
    assert_allclose(f.loc[["A", "B"], "weight_current"], [0.2, 0.8], rtol=1e-12, atol=0)
    assert "mix of team_id -0.12" in str(r)


def test_new_segment_is_all_mix_and_missing_rows_dropped():
    # Base: A 30/50. Current: A 30/50, C 5/50 (C new). R0 = 0.6, R1 = 35/100 = 0.35.
    # A: weight 1 -> 0.5, rate unchanged 0.6. C: weight 0 -> 0.5, rate taken as 0.1 in both.
    # rate effect = 0. mix = (-0.5)(0.6 - 0.475) + (0.5)(0.1 - 0.475) = -0.0625 - 0.1875 = -0.25.
    df = pd.DataFrame(
        [
            ("2026Q1", "A", 30, 50.0),
            ("2026Q2", "A", 30, 50.0),
            ("2026Q2", "C", 5, 50.0),
            ("2026Q2", "C", 7, None),
        ],
        columns=["period", "team_id", "won", "closed"],
    )
    r = mix_rate(
        df, rate_num="won", rate_den="closed", segment="team_id", base="2026Q1", current="2026Q2"
    )
    assert_allclose(r.total_change, -0.25, rtol=1e-12, atol=0)
    assert_allclose(r.rate_effect, 0.0, rtol=0, atol=1e-15)
    assert_allclose(r.mix_effect, -0.25, rtol=1e-12, atol=0)
    assert any("1 row(s) with a missing" in n for n in r.notes)
    assert any("team_id=C has no closed in 2026Q1" in n for n in r.notes)


def test_errors():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['quota'\]"):
        mix_rate(
            rep_rows(),
            rate_num="opps_won",
            rate_den="quota",
            segment="team_id",
            base="2026Q1",
            current="2026Q2",
        )
    with pytest.raises(ValueError, match="not found"):
        mix_rate(
            rep_rows(),
            rate_num="opps_won",
            rate_den="opps_closed",
            segment="team_id",
            base="2025Q1",
            current="2026Q2",
        )


def test_plot():
    import matplotlib

    matplotlib.use("Agg")
    r = mix_rate(
        rep_rows(),
        rate_num="opps_won",
        rate_den="opps_closed",
        segment="team_id",
        base="2026Q1",
        current="2026Q2",
    )
    ax = r.plot()
    assert len(ax.patches) == 4
