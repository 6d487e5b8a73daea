"""Covariate overlap check: counts by hand, and what it does to a tenure-adjusted design."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesinsight.causal.overlap import covariate_overlap
from salesinsight.causal.unit_history import UnitHistory


def _history(enrolled: list[float], comparison: list[float]) -> UnitHistory:
    n = len(enrolled) + len(comparison)
    return UnitHistory(
        units=np.array([f"u{i}" for i in range(n)]),
        times=np.arange(4),
        y=np.zeros((n, 4)),
        treated=np.array([True] * len(enrolled) + [False] * len(comparison)),
        start=2,
        covariates=pd.DataFrame({"tenure": enrolled + comparison}),
        n_dropped=0,
    )


def test_counts_comparison_units_inside_the_enrolled_central_range() -> None:
    # enrolled 10..19 months: 10% and 90% quantiles (numpy linear) are 10.9 and 18.1;
    # comparison at 5, 11, 12, 18, 19, 30 -> 11, 12, 18 inside: 3 units, passes at 3
    h = _history([float(v) for v in range(10, 20)], [5.0, 11.0, 12.0, 18.0, 19.0, 30.0])
    d = covariate_overlap(h, "tenure", label="tenure", unit_label="months")
    assert d.required and d.passed is True and d.value == 3.0
    assert "10.9–18.1 months" in d.note


def test_fails_when_no_comparison_unit_is_like_the_enrolled() -> None:
    # the growth scenario's failure: enrolled recent hires (12-15 months), every comparison
    # seller capped at 24 months -> nobody to compare with
    h = _history([12.0, 13.0, 14.0, 15.0] * 5, [24.0] * 80)
    d = covariate_overlap(h, "tenure", label="tenure")
    assert d.passed is False and d.value == 0.0
    assert "cannot carry the verdict" in d.note


def test_missing_column_is_not_a_failure() -> None:
    h = _history([1.0, 2.0], [1.0, 2.0])
    d = covariate_overlap(h, "seniority", label="seniority")
    assert d.passed is None
