"""research.rd: rdrobust jump with the sorting checks; not credible when sellers bunch."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salesinsight.cli import main
from salesinsight.research import rd


def _frame(jump: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_reps, per = 400, 5
    rep = np.repeat([f"R{i:03d}" for i in range(n_reps)], per)
    x = rng.uniform(0.4, 1.6, n_reps * per)
    y = 2 + 1.5 * x + jump * (x >= 1.0) + rng.normal(0, 0.5, len(x))
    return pd.DataFrame({"rep_id": rep, "attainment": x, "y": y})


def test_recovers_a_planted_jump():
    """20 seeded draws with a jump of 0.8: the robust 95% interval covers it in at least 16
    (P(fewer) = 1.6% at nominal coverage) and excludes zero in every one."""
    covered, positive = 0, 0
    for seed in range(20):
        res = rd(_frame(0.8, seed=seed), outcome="y", bunching_check=False)
        e = res.effect
        covered += e.ci_low <= 0.8 <= e.ci_high
        positive += e.ci_low > 0
    assert covered >= 16 and positive == 20
    assert res.credible
    assert res.to_dict()["estimate"] == pytest.approx(e.estimate)


def test_no_jump_no_effect():
    res = rd(_frame(0.0, seed=1), outcome="y", n_boot=99)
    assert res.credible and res.effect.ci_low <= 0 <= res.effect.ci_high


def test_not_credible_when_sellers_bunch(planted_bunch):
    res = rd(planted_bunch, outcome="revenue_next", n_boot=199)
    assert not res.credible
    assert res.effect.verdict().label == "inconclusive"
    assert "NOT CREDIBLE" in str(res)
    d = res.to_dict()
    assert d["estimate"] is None and d["credible"] is False
    assert np.isnan(res.to_frame()["estimate"].iloc[0])


def test_credible_and_null_on_data_without_gaming(no_gaming):
    """The simulator plants nothing that depends on crossing quota, so the true jump is zero."""
    res = rd(no_gaming, outcome="revenue_next", n_boot=199)
    assert res.credible
    assert res.effect.ci_low <= 0 <= res.effect.ci_high
    ax = res.plot()
    assert ax.get_xlabel().startswith("attainment")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_unknown_outcome_is_named():
    with pytest.raises(ValueError, match="nope"):
        rd(_frame(0.0), outcome="nope")


def test_cli_json(no_gaming, capsys):
    args = ["research", "rd", str(no_gaming), "--outcome", "left_next", "--json"]
    assert main([*args, "--n-boot", "99"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["outcome"] == "left_next" and isinstance(out["credible"], bool)


def test_outcome_directions_come_from_the_kpi_registry():
    """Each next-period outcome names a registry KPI; leaving is the one where lower is better."""
    from salesinsight.kpis import KPIS
    from salesinsight.research._rd import _OUTCOME_KPIS, OUTCOMES, _higher_is_better

    assert set(_OUTCOME_KPIS) == set(OUTCOMES)
    assert set(_OUTCOME_KPIS.values()) <= set(KPIS)
    assert [o for o in OUTCOMES if not _higher_is_better(o)] == ["left_next"]
    assert _higher_is_better("y")  # a column of the caller's frame
    frame = _frame(0.0, seed=2).rename(columns={"y": "left_next"})
    res = rd(frame, outcome="left_next", bunching_check=False)
    assert res.effect.higher_is_better is False


def test_sorting_found_by_either_upper_edge_rule_withholds_the_jump():
    """Bunching is checked with the fixed default edge and with mass balance; excess mass found by
    either one is a failed required check (the two catch different sorting: just above the
    threshold, or pushed further above it by pulled-in deals)."""
    from types import SimpleNamespace

    from salesinsight.research._rd import _sorting_checks

    def bun(sorting: bool) -> SimpleNamespace:
        excess = SimpleNamespace(estimate=40.0 if sorting else 2.0, ci_low=-1.0, ci_high=80.0)
        return SimpleNamespace(sorting=sorting, excess=excess)

    for fixed, balance in ((False, False), (True, False), (False, True), (True, True)):
        diags = _sorting_checks(0.5, bun(fixed), 1.0, 0.05, mass_balance=bun(balance))
        failed = [d.name for d in diags if d.required and d.passed is False]
        assert bool(failed) == (fixed or balance), (fixed, balance, failed)
        assert ("no_bunching_mass_balance" in failed) == balance


def test_pulled_in_sorting_at_quota_makes_the_demo_not_credible(tmp_path):
    """The demo folder (seed 0): quarter-end pull-in pushes sellers across quota, landing anywhere
    above it. The fixed edge misses it there (B = 51 [-7, 108] in the session-5 run), mass balance
    finds it, so the jump at quota is withheld."""
    from salesinsight.simulate import crm

    res = rd(crm(tmp_path / "demo", seed=0), outcome="revenue_next", n_boot=199)
    assert not res.credible
    names = {d.name: d.passed for d in res.effect.diagnostics}
    assert names["no_bunching_mass_balance"] is False
