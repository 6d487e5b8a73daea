"""The design registry: one design per ``design`` value of the data contract."""

from __future__ import annotations

import dataclasses
import inspect

import pandas as pd
import pytest

from salesinsight.data.contract import PROGRAM_DESIGNS
from salesinsight.evaluation import DESIGNS, Design, ProgramInputs
from salesinsight.evaluation.rollout import CompanyWideDesign, SingleRolloutDesign


def test_every_design_of_the_data_contract_is_registered_under_its_name():
    assert sorted(DESIGNS) == sorted(PROGRAM_DESIGNS)
    for key, cls in DESIGNS.items():
        assert issubclass(cls, Design) and not inspect.isabstract(cls)
        assert cls.name == key  # spec["route"] names the design that ran


def test_panel_grains_and_windows_by_design():
    # randomized: the grain asked for; staggered: did_grain (quarters by default); single
    # rollout and observational: design_grain, with a year on each side by default
    grains = {k: c.panel_grain("week", "quarter", "month") for k, c in DESIGNS.items()}
    assert grains == {
        "randomized": "week",
        "staggered": "quarter",
        "single_rollout": "month",
        "observational": "month",
    }
    assert DESIGNS["staggered"].panel_grain("week", None, "month") == "week"
    assert DESIGNS["observational"].panel_grain("week", "quarter", None) == "week"
    windows = {k: c.windows["month"] for k, c in DESIGNS.items()}
    assert windows == {
        "randomized": (6, 12),
        "staggered": (6, 12),
        "single_rollout": (12, 12),
        "observational": (12, 12),
    }
    assert CompanyWideDesign.windows["week"] == (52, 52)


def test_a_single_rollout_without_unenrolled_units_is_company_wide():
    frame = pd.DataFrame({"unit_id": ["a", "b", "c"], "_exposure": [1.0, 1.0, 0.0]})
    starts = pd.DataFrame({"unit_id": ["a", "b"], "arm": ["treatment", "treatment"]})
    # "c" was never enrolled but never active either: no comparison group
    assert SingleRolloutDesign.resolve(frame, starts) is CompanyWideDesign
    active_c = frame.assign(_exposure=1.0)
    assert SingleRolloutDesign.resolve(active_c, starts) is SingleRolloutDesign
    assert DESIGNS["observational"].resolve(frame, starts) is DESIGNS["observational"]


def test_program_inputs_are_frozen():
    fields = {f.name for f in dataclasses.fields(ProgramInputs)}
    assert {
        "data",
        "program",
        "outcomes",
        "grain",
        "alpha",
        "seed",
        "min_effect",
        "frame",
    } <= fields
    inputs = ProgramInputs(
        data=None,
        program={"program_id": "P", "unit": "rep", "design": "randomized"},
        enroll=pd.DataFrame(),
        outcomes=("win_rate",),
        route="randomized",
        grain="week",
        alpha=0.05,
        seed=0,
        correction="holm",
        min_effect={"win_rate": 0.0},
        frame=pd.DataFrame(),
        periods=pd.DatetimeIndex([]),
        starts=pd.DataFrame(),
        window=(pd.Timestamp("2025-01-06"), pd.Timestamp("2025-12-29")),
        pre_periods=26,
        post_periods=52,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.alpha = 0.1  # type: ignore[misc]
    assert (inputs.unit, inputs.design) == ("rep", "randomized")
    assert inputs.higher_is_better("win_rate") and not inputs.higher_is_better("cycle_days")
    spec = inputs.spec()
    assert spec["window"] == ("2025-01-06", "2025-12-29") and spec["excluded_controls"] == 0
