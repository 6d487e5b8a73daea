"""Leading indicators on hand-made panels whose data-generating process is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesinsight.metrics._panel import KPI_KIND
from salesinsight.metrics.leading import leading_indicators


def _panel(slope: float, seller_confounding: float, seed: int = 0) -> pd.DataFrame:
    """40 sellers x 10 quarters: next-quarter attainment = seller level + slope * calls + noise.

    Sellers who call more also sell more (``seller_confounding``) through their level alone.
    """
    rng = np.random.default_rng(seed)
    n, t = 40, 10
    level = rng.normal(0, 1, n)
    calls = np.exp(3 + seller_confounding * level[:, None] + rng.normal(0, 0.5, (n, t))) - 1
    x = np.log1p(calls)
    att = np.full((n, t), np.nan)
    att[:, 1:] = 1 + 0.3 * level[:, None] + slope * x[:, :-1] + rng.normal(0, 0.1, (n, t - 1))
    att[:, 0] = 1 + 0.3 * level + rng.normal(0, 0.1, n)
    periods = [f"{2024 + q // 4}Q{q % 4 + 1}" for q in range(t)]
    return pd.DataFrame(
        {
            "rep_id": np.repeat([f"R{i:02d}" for i in range(n)], t),
            "period": np.tile(periods, n),
            "active": True,
            "activities": calls.ravel(),
            "opps_closed": 5,
            "calls": calls.ravel(),
            "attainment": att.ravel(),
        }
    )


def test_within_seller_slope_recovered_and_leading():
    res = leading_indicators(
        _panel(0.2, 0.0), process=("calls",), outcomes=("attainment",), n_boot=199
    )
    row = res.frame.iloc[0]
    assert row["ci_low"] <= 0.2 <= row["ci_high"]
    assert row["leading"] and row["gain_low"] > 0
    assert max(res.train_periods) < min(res.test_periods)
    assert "NOT CAUSAL" in str(res)


def test_between_seller_correlation_alone_is_not_leading():
    # sellers who call more sell more, but within a seller calls predict nothing
    df = _panel(0.0, 1.0)
    pooled = np.corrcoef(np.log1p(df["calls"]), df["attainment"])[0, 1]
    assert pooled > 0.3  # a pooled regression would call calls a leading indicator
    res = leading_indicators(df, process=("calls",), outcomes=("attainment",), n_boot=199)
    row = res.frame.iloc[0]
    assert not row["leading"]
    assert row["ci_low"] <= 0 <= row["ci_high"]


def test_kpis_declared_and_checked():
    assert KPI_KIND["follow_ups"] == "process" and KPI_KIND["win_rate"] == "outcome"
    assert KPI_KIND["revenue"] == "outcome" and KPI_KIND["meetings"] == "process"
    with pytest.raises(ValueError, match="KPI_KIND"):
        leading_indicators(_panel(0.2, 0.0), process=("revenue",), outcomes=("attainment",))
