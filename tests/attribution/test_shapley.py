"""decompose_change: hand-computed Shapley values, LMDI, identity checks, Shapley axioms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from salesinsight.attribution import (
    IdentityError,
    decompose_change,
    lmdi_product,
    shapley_product,
)


def team_panel(rows):
    """A hand-built team panel with the metrics-panel column names."""
    df = pd.DataFrame(
        rows, columns=["period", "team_id", "opps_closed", "opps_won", "revenue"]
    ).astype({"opps_closed": float, "opps_won": float, "revenue": float})
    df["win_rate"] = np.where(
        df.opps_closed > 0, df.opps_won / df.opps_closed.where(df.opps_closed > 0), np.nan
    )
    df["avg_deal_size"] = df.revenue / df.opps_won.where(df.opps_won > 0)
    df.insert(
        0,
        "period_start",
        pd.to_datetime(df.period.str.replace("Q1", "-01-01").str.replace("Q2", "-04-01")),
    )
    return df


# ---------------------------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------------------------


def test_two_factor_by_hand():
    # revenue = deals x size. Base 10 x 100 = 1000, current 12 x 150 = 1800, change 800.
    # deals: deals first: 12*100 - 10*100 = 200; size first: 12*150 - 10*150 = 300 -> 250
    # size:  size first:  10*150 - 10*100 = 500; deals first: 12*150 - 12*100 = 600 -> 550
    panel = pd.DataFrame(
        {
            "period": ["2026Q1", "2026Q2"],
            "deals": [10.0, 12.0],
            "size": [100.0, 150.0],
            "revenue": [1000.0, 1800.0],
        }
    )
    d = decompose_change(panel, kpi="revenue", factors=("deals", "size"), by=None)
    f = d.to_frame()
    assert list(f["factor"]) == ["deals", "size"]
    assert_allclose(f["contribution"], [250.0, 550.0], rtol=1e-12, atol=0)
    assert_allclose(f["total_change"], [800.0, 800.0], rtol=1e-12, atol=0)
    # LMDI-I by hand: L = (1800 - 1000) / ln(1800 / 1000); deals L*ln(1.2), size L*ln(1.5)
    L = 800.0 / math.log(1.8)
    assert_allclose(
        f["lmdi_contribution"], [L * math.log(1.2), L * math.log(1.5)], rtol=1e-12, atol=0
    )
    assert_allclose(f["lmdi_contribution"].sum(), 800.0, rtol=1e-12, atol=0)


def test_three_factor_by_hand_per_team():
    # Team A: closed 20 -> 30, win rate 0.5 -> 0.4, avg deal 100 -> 150: revenue 1000 -> 1800.
    # For a product a*b*c the orderings give
    #   phi_a = da * (2*b0*c0 + b1*c0 + b0*c1 + 2*b1*c1) / 6   (a first twice, second once after
    #           each of b, c, last twice), and likewise for b and c.
    # phi_closed = 10   * (2*50 + 40 + 75 + 2*60) / 6         = 10 * 335 / 6   =  558.3333
    # phi_win    = -0.1 * (2*2000 + 3000 + 3000 + 2*4500) / 6 = -0.1 * 19000/6 = -316.6667
    # phi_deal   = 50   * (2*10 + 15 + 8 + 2*12) / 6          = 50 * 67 / 6    =  558.3333
    # sum = 800 = 1800 - 1000.
    # Team B: closed 10 -> 10, win rate 0.5 -> 0.6, avg 200 -> 200: revenue 1000 -> 1200:
    # only the win rate moved, so it gets all 200 and the others 0.
    panel = team_panel(
        [
            ("2026Q1", "A", 20, 10, 1000.0),
            ("2026Q2", "A", 30, 12, 1800.0),
            ("2026Q1", "B", 10, 5, 1000.0),
            ("2026Q2", "B", 10, 6, 1200.0),
        ]
    )
    d = decompose_change(panel, base="2026Q1", current="2026Q2", by="team_id")
    f = d.to_frame()
    assert list(f.columns[:3]) == ["team_id", "factor", "base_value"]
    for col in ("contribution", "total_change", "lmdi_contribution"):
        assert col in f
    a = f[f.team_id == "A"].set_index("factor")["contribution"]
    assert_allclose(
        a[["opps_closed", "win_rate", "avg_deal_size"]],
        [10 * 335 / 6, -0.1 * 19000 / 6, 50 * 67 / 6],
        rtol=1e-10,
        atol=0,
    )
    b = f[f.team_id == "B"].set_index("factor")["contribution"]
    assert_allclose(b[["opps_closed", "win_rate", "avg_deal_size"]], [0, 200, 0], rtol=0, atol=1e-9)
    tot = d.totals().set_index("team_id")
    assert_allclose(tot["sum_contributions"], tot["total_change"], rtol=1e-12, atol=1e-9)
    assert_allclose(tot.loc[["A", "B"], "total_change"], [800.0, 200.0], rtol=1e-12, atol=0)
    # LMDI sums to the same total as Shapley for every entity with positive factors
    lm = f.groupby("team_id")["lmdi_contribution"].sum()
    assert_allclose(lm[["A", "B"]], [800.0, 200.0], rtol=1e-10, atol=0)


def test_identity_violation_names_entity_period_product_and_kpi():
    panel = team_panel(
        [
            ("2026Q1", "A", 20, 10, 1000.0),
            ("2026Q2", "A", 30, 12, 1800.0),
            ("2026Q1", "B", 10, 5, 1000.0),
            ("2026Q2", "B", 10, 6, 1200.0),
        ]
    )
    panel.loc[(panel.team_id == "B") & (panel.period == "2026Q1"), "revenue"] = 999.0
    panel.loc[(panel.team_id == "A") & (panel.period == "2026Q2"), "revenue"] = 1900.0
    with pytest.raises(IdentityError) as exc:
        decompose_change(panel, by="team_id")
    msg = str(exc.value)
    assert "2 entity-period row(s)" in msg
    assert "team_id=B, period=2026Q1" in msg and "= 1,000" in msg and "revenue = 999.00" in msg
    assert "team_id=A, period=2026Q2" in msg and "= 1,800" in msg and "revenue = 1,900" in msg
    # a loose tolerance accepts it (1e-3 relative error on B, ~5% on A)
    with pytest.raises(IdentityError):
        decompose_change(panel, by="team_id", identity_rtol=0.01)
    decompose_change(panel, by="team_id", identity_rtol=0.06)


def test_zero_and_undefined_factors():
    # Team C won nothing in Q1: closed 5, win rate 0, avg deal size undefined, revenue 0.
    # Q2: closed 4, won 2, revenue 400 (win rate 0.5, avg 200). Avg deal size is treated as
    # unchanged (200 -> 200), so with c fixed at 200:
    #   phi_closed = -1  * 200 * (2*0 + 0.5 + 0 + 2*0.5) / 6 = -200 * 1.5 / 6 = -50
    #   phi_win    = 0.5 * 200 * (2*5 + 4 + 5 + 2*4) / 6     = 100 * 27 / 6   = 450
    #   phi_deal   = 0;  sum 400.
    # Team D closed nothing in either quarter: everything 0.
    panel = team_panel(
        [
            ("2026Q1", "C", 5, 0, 0.0),
            ("2026Q2", "C", 4, 2, 400.0),
            ("2026Q1", "D", 0, 0, 0.0),
            ("2026Q2", "D", 0, 0, 0.0),
        ]
    )
    d = decompose_change(panel, by="team_id")
    f = d.to_frame()
    c = f[f.team_id == "C"].set_index("factor")
    assert_allclose(
        c.loc[["opps_closed", "win_rate", "avg_deal_size"], "contribution"],
        [-50.0, 450.0, 0.0],
        rtol=1e-12,
        atol=1e-12,
    )
    assert c["lmdi_contribution"].isna().all()
    dd = f[f.team_id == "D"]
    assert (dd["contribution"] == 0).all() and (dd["total_change"] == 0).all()
    notes = " ".join(d.notes)
    assert "team_id=C: avg_deal_size undefined in 2026Q1" in notes
    assert "LMDI-I undefined" in notes and "team_id=D" in notes


def test_entities_in_one_period_are_noted_and_duplicates_rejected():
    panel = team_panel(
        [
            ("2026Q1", "A", 20, 10, 1000.0),
            ("2026Q2", "A", 30, 12, 1800.0),
            ("2026Q2", "NEW", 10, 6, 1200.0),
        ]
    )
    d = decompose_change(panel, by="team_id")
    assert set(d.to_frame().team_id) == {"A"}
    assert any("only in 2026Q2: team_id=NEW" in n for n in d.notes)
    with pytest.raises(ValueError, match="several rows per period"):
        decompose_change(panel, by=None)
    with pytest.raises(ValueError, match=r"period\(s\) \['2025Q4'\] not found"):
        decompose_change(panel, base="2025Q4", by="team_id")


def test_summary_and_plot():
    panel = team_panel(
        [
            ("2026Q1", "A", 20, 10, 1000.0),
            ("2026Q2", "A", 30, 12, 1800.0),
            ("2026Q1", "B", 10, 5, 1000.0),
            ("2026Q2", "B", 10, 6, 1200.0),
        ]
    )
    d = decompose_change(panel, by="team_id")
    text = str(d)
    assert "team_id=A: 1,000 -> 1,800 (change 800.00)" in text
    import matplotlib

    matplotlib.use("Agg")
    ax = d.plot(entity="A")
    assert len(ax.patches) == 5  # base, three factors, current
    ax2 = d.plot()
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["A", "B"]


# ---------------------------------------------------------------------------------------------
# Shapley axioms as properties
# ---------------------------------------------------------------------------------------------

pos = st.floats(min_value=0.01, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def factor_pairs(draw, k_min=2, k_max=4):
    k = draw(st.integers(min_value=k_min, max_value=k_max))
    base = np.array([draw(pos) for _ in range(k)])
    cur = np.array([draw(pos) for _ in range(k)])
    return base, cur


@settings(max_examples=60, deadline=None)
@given(factor_pairs())
def test_efficiency_sum_equals_change(pair):
    base, cur = pair
    phi = shapley_product(base[None], cur[None])[0]
    total = np.prod(cur) - np.prod(base)
    assert_allclose(phi.sum(), total, rtol=1e-9, atol=1e-9 * np.prod(np.maximum(base, cur)))
    lm = lmdi_product(base[None], cur[None])[0]
    assert_allclose(lm.sum(), total, rtol=1e-7, atol=1e-7 * np.prod(np.maximum(base, cur)))


@settings(max_examples=60, deadline=None)
@given(factor_pairs(), st.integers(min_value=0, max_value=3))
def test_null_factor_gets_zero(pair, j):
    base, cur = pair
    j = j % len(base)
    cur[j] = base[j]
    phi = shapley_product(base[None], cur[None])[0]
    assert phi[j] == 0.0
    assert lmdi_product(base[None], cur[None])[0][j] == 0.0


@settings(max_examples=60, deadline=None)
@given(factor_pairs(k_min=3), pos, pos)
def test_symmetry_and_permutation(pair, b, c):
    base, cur = pair
    base[:2] = b
    cur[:2] = c
    phi = shapley_product(base[None], cur[None])[0]
    # the contributions are sums of differences of products of the factors: their rounding error
    # scales with the products, not with the (possibly cancelling) contribution itself, so the
    # absolute tolerance is a few dozen ulps of them (a fixed 1e-10 failed at products near 3e7:
    # 1.9e-9 apart, against 64 ulps = 4.8e-7)
    ulps = 64 * np.finfo(float).eps * float(np.prod(np.abs(base)) + np.prod(np.abs(cur)))
    assert_allclose(phi[0], phi[1], rtol=1e-12, atol=max(1e-12, ulps))
    perm = np.roll(np.arange(len(base)), 1)
    phi_p = shapley_product(base[perm][None], cur[perm][None])[0]
    assert_allclose(phi_p, phi[perm], rtol=1e-10, atol=max(1e-10, ulps))


@settings(max_examples=60, deadline=None)
@given(pos, pos, pos, pos)
def test_two_factor_is_average_of_both_orderings(a0, a1, b0, b1):
    phi = shapley_product(np.array([[a0, b0]]), np.array([[a1, b1]]))[0]
    first_a = (a1 * b0 - a0 * b0, a1 * b1 - a1 * b0)
    first_b = (a1 * b1 - a0 * b1, a0 * b1 - a0 * b0)
    assert_allclose(phi, np.add(first_a, first_b) / 2, rtol=1e-12, atol=1e-9)


def test_matches_subset_formula_for_four_factors():
    # Independent formula: phi_j = sum_S |S|!(k-|S|-1)!/k! [v(S+j) - v(S)] over subsets S.
    rng = np.random.default_rng(4)
    base, cur = rng.uniform(0.5, 2.0, 4), rng.uniform(0.5, 2.0, 4)
    k = 4

    def v(S):
        return np.prod([cur[i] if i in S else base[i] for i in range(k)])

    expected = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for r in range(k):
            for S in itertools.combinations(others, r):
                w = math.factorial(r) * math.factorial(k - r - 1) / math.factorial(k)
                expected[j] += w * (v(set(S) | {j}) - v(set(S)))
    assert_allclose(shapley_product(base[None], cur[None])[0], expected, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------------
# On simulated data through the metrics panel
# ---------------------------------------------------------------------------------------------


def test_simulated_quarter_decomposed_exactly(tmp_path):
    from salesinsight.data import load
    from salesinsight.metrics import panel
    from salesinsight.simulate import crm

    folder = crm(tmp_path / "sim", seed=1, n_reps=60, quarters=4)
    with load(folder, validate=False) as ds:
        teams = panel(ds, grain="quarter", by="team")
        company = panel(ds, grain="quarter", by="company")
    base, current = sorted(teams["period"].unique())[-2:]
    d = decompose_change(teams, base=base, current=current, by="team_id")
    tot = d.totals()
    # each team: contributions sum to its own revenue change (the panel's identity holds)
    assert_allclose(tot["sum_contributions"], tot["total_change"], rtol=1e-9, atol=1e-6)
    # the teams' changes add up to the company's change in revenue (revenue is additive)
    c = company.set_index("period")["revenue"]
    assert_allclose(tot["total_change"].sum(), c[current] - c[base], rtol=1e-9, atol=1e-6)
    dc = decompose_change(company, base=base, current=current, by=None)
    assert_allclose(dc.to_frame()["contribution"].sum(), c[current] - c[base], rtol=1e-9, atol=1e-6)
    assert d.max_identity_error < 1e-9
