"""research.subgroups: win-rate effect of a seller-level program by tenure group."""

from __future__ import annotations

import pytest

from salesinsight.research import subgroup_effects


@pytest.fixture(scope="module")
def res(no_gaming):
    return subgroup_effects(no_gaming, "P_TRAIN", n_boot=299)


def test_homogeneous_planted_effect_is_recovered_in_both_groups(res, no_gaming):
    """The simulator plants +0.025 on the win probability for every trained seller (truth.json),
    whatever the tenure: both group intervals cover it and the difference interval covers zero."""
    import json

    truth = json.loads((no_gaming / "truth.json").read_text())
    planted = truth["config"]["effects"]["P_TRAIN"]["win_rate"]
    assert planted > 0
    for term in ("low", "high"):
        e = res[term]
        assert e.ci_low <= planted <= e.ci_high, (term, e.ci_low, e.ci_high)
    d = res["difference"]
    assert d.ci_low <= 0 <= d.ci_high
    assert d.estimate == pytest.approx(res["low"].estimate - res["high"].estimate)
    assert res.spec["n_cohorts"] >= 3 and res.spec["n_enrolled"] > 30


def test_result_contract(res):
    assert list(res.to_frame()["term"]) == ["low", "high", "difference"]
    assert "tenure below 365 days" in str(res)
    assert "<table>" in res._repr_html_()
    assert set(res.cells["arm"]) == {"enrolled", "never"}
    import matplotlib.pyplot as plt

    res.plot()
    plt.close("all")


def test_bad_input_is_named(no_gaming):
    with pytest.raises(ValueError, match="P_NOPE"):
        subgroup_effects(no_gaming, "P_NOPE", n_boot=99)
    with pytest.raises(ValueError, match="not enrolled by seller"):
        subgroup_effects(no_gaming, "P_COACH", n_boot=99)
    with pytest.raises(ValueError, match="split.*skip"):
        subgroup_effects(no_gaming, "P_TRAIN", split=-1, skip=-2)
