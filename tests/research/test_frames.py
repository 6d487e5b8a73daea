"""research._frames: quarter labels from the calendar and KPI ratios from the registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesinsight.research._frames import kpi_ratio, period_labels


def test_period_labels_name_calendar_quarter_ends_and_date_other_ends():
    ends = pd.Series(
        pd.to_datetime(
            ["2025-03-31", "2024-12-31", "2025-06-30", "2026-09-30", "2025-02-28", "2025-05-15"]
        )
    )
    # worked out by hand: the first four end a calendar quarter, the last two do not
    expected = ["2025Q1", "2024Q4", "2025Q2", "2026Q3", "2025-02-28", "2025-05-15"]
    assert list(period_labels(ends)) == expected


def test_kpi_ratio_is_the_registry_ratio():
    frame = pd.DataFrame({"revenue": [50.0, 0.0, 120.0], "quota": [100.0, 80.0, 100.0]})
    np.testing.assert_array_equal(kpi_ratio(frame, "attainment").to_numpy(), [0.5, 0.0, 1.2])
    with pytest.raises(ValueError, match="not a ratio"):
        kpi_ratio(frame, "share_at_quota")
    with pytest.raises(KeyError):
        kpi_ratio(frame, "no_such_kpi")
