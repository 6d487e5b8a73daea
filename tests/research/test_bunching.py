"""research.bunching: recovers the simulator's planted bunchers; finds no excess in a smooth density."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesinsight.research import bunching
from salesinsight.research._frames import as_dataset, seller_periods

from .conftest import gaming_rows


@pytest.fixture(scope="module")
def planted(planted_bunch):
    return bunching(planted_bunch)


def test_recovers_planted_bunchers_within_interval(planted, planted_bunch):
    sp = seller_periods(as_dataset(planted_bunch))
    rows = gaming_rows(planted_bunch)
    m = sp.merge(rows, left_on=["rep_id", "period"], right_on=["rep_id", "quarter"], how="inner")
    inside = m["attainment"].between(*planted.spec["fit_range"])
    bunchers = int((m["bunched_across_quota"] & inside).sum())
    assert bunchers > 40
    e = planted.excess
    assert e.ci_low <= bunchers <= e.ci_high, (bunchers, e.ci_low, e.ci_high)
    assert planted.sorting and e.ci_low > 0
    # bunchers come from just below: the missing mass is there too
    assert planted.missing.ci_low > 0
    assert planted.excess.diagnostics[0].passed


def test_smooth_density_shows_no_bunching():
    """Attainment drawn from a lognormal (no threshold behaviour): the interval covers zero."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "rep_id": np.repeat([f"R{i}" for i in range(300)], 6),
            "attainment": rng.lognormal(0.0, 0.45, 1800),
        }
    )
    res = bunching(frame)
    assert res.excess.ci_low <= 0 <= res.excess.ci_high
    assert not res.sorting


def test_counterfactual_is_exact_for_a_polynomial_density():
    """Bin counts that are exactly a quadratic in the bin index (hand construction, integer counts
    500 + 10 j - j (j - 1) / 2): the fitted counterfactual reproduces them and B = M = 0."""
    j = np.arange(30)
    counts = 500 + 10 * j - j * (j - 1) // 2
    z = 0.42 + 0.04 * j  # bin centres for bins of 0.04 from 0.40 to 1.60
    att = np.repeat(z, counts)
    frame = pd.DataFrame({"rep_id": [f"R{i}" for i in range(len(att))], "attainment": att})
    res = bunching(frame, bin_width=0.04, fit_range=(0.4, 1.6), degree=2, n_boot=99)
    np.testing.assert_array_equal(res.bins["count"], counts)
    np.testing.assert_allclose(res.bins["counterfactual"], counts, atol=1e-6)
    assert abs(res.excess.estimate) < 1e-6 and abs(res.missing.estimate) < 1e-6


def test_result_contract_and_errors(planted):
    assert list(planted.to_frame()["term"]) == ["excess", "b", "missing"]
    assert "not credible" in str(planted)
    assert "<table>" in planted._repr_html_()
    ax = planted.plot()
    assert len(ax.patches) == len(planted.bins)
    import matplotlib.pyplot as plt

    plt.close("all")
    frame = pd.DataFrame({"rep_id": ["a"], "attainment": [1.0]})
    with pytest.raises(ValueError, match="bin_width.*lower < threshold"):
        bunching(frame, bin_width=0, lower=1.2)


def test_cli_json_one_result_per_threshold(planted_bunch, capsys):
    from salesinsight.cli import main

    args = ["research", "bunching", str(planted_bunch), "--threshold", "1.0", "--threshold", "1.2"]
    assert main([*args, "--json", "--n-boot", "99"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert [o["threshold"] for o in out] == [1.0, 1.2]
    assert out[0]["sorting"] is True and set(out[0]["excess"]) >= {"estimate", "ci_low", "ci_high"}


def test_default_upper_edge_is_threshold_plus_0_2(planted, planted_bunch):
    """The default edge (pre-registered comparison, docs/research.md) is fixed at threshold + 0.2."""
    assert planted.spec["upper_rule"] == "fixed"
    assert planted.spec["upper"] == pytest.approx(1.2)
    at_12 = bunching(planted_bunch, threshold=1.2, n_boot=99)
    assert at_12.spec["upper"] == pytest.approx(1.4) and at_12.spec["lower"] == pytest.approx(1.1)
    assert "threshold + 0.2" in str(planted)


def test_cli_upper_takes_a_number_or_mass_balance(planted_bunch, capsys):
    import json

    from salesinsight.cli import main

    args = ["research", "bunching", str(planted_bunch), "--n-boot", "99", "--json"]
    assert main([*args, "--upper", "mass_balance"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["spec"]["upper_rule"] == "mass_balance"
    assert main([*args, "--upper", "1.3"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["spec"]["upper"] == pytest.approx(1.3)
    with pytest.raises(SystemExit):
        main([*args, "--upper", "widest"])
    assert "expected a number or 'mass_balance', got 'widest'" in capsys.readouterr().err


def test_upper_edge_by_mass_balance_and_window_sensitivity(planted_bunch):
    """The chosen edge is the first candidate where B reaches M; a fixed edge reports the same grid."""
    planted = bunching(planted_bunch, upper="mass_balance")
    w = planted.window
    assert planted.spec["upper_rule"] == "mass_balance"
    first = int(np.flatnonzero(w["excess"].to_numpy() >= w["missing"].to_numpy())[0])
    assert w["chosen"].to_numpy().nonzero()[0].tolist() == [first]
    assert planted.spec["upper"] == pytest.approx(w["upper"].iloc[first])
    assert planted.excess.estimate == pytest.approx(w["excess"].iloc[first])
    assert w["share_of_draws"].sum() == pytest.approx(1.0)
    fixed = bunching(planted_bunch, upper=1.1, n_boot=99)
    row = fixed.window[fixed.window["chosen"]]
    assert row["upper"].tolist() == [pytest.approx(1.1)] and row["share_of_draws"].tolist() == [1.0]
    assert fixed.excess.estimate == pytest.approx(row["excess"].iloc[0])
    # the grid's point estimates do not depend on which edge is chosen
    np.testing.assert_allclose(
        fixed.window.set_index("upper").loc[w["upper"], "excess"].to_numpy(),
        w["excess"].to_numpy(),
    )
    with pytest.raises(ValueError, match="mass_balance"):
        bunching(planted_bunch, upper="widest")
