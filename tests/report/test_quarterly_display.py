"""QuarterReport and DeepDive on the results contract: one summary as text and escaped HTML, the
verdict table as to_frame(), a plot on the given Axes (numbers checked by hand)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd

from salesinsight.report.quarterly import ProgramRow, QuarterReport

matplotlib.use("Agg")


def _row(pid: str, outcome: str, estimate: float, lo: float, hi: float, base: float | None):
    return ProgramRow(
        program_id=pid, name=f"Program {pid}", kind="coaching", design="randomized", unit="team",
        outcome=outcome, verdict="worked", reason="r", estimate=estimate, ci_low=lo, ci_high=hi,
        p_value=0.01, p_adjusted=0.02, baseline=base, method="experiment_ratio",
    )  # fmt: skip


def _report() -> QuarterReport:
    empty = pd.DataFrame()
    return QuarterReport(
        params=SimpleNamespace(title="Q4 <script>x</script>", quarter="2026Q4"),  # type: ignore[arg-type]
        quarter_start=date(2026, 10, 1),
        quarter_end=date(2026, 12, 31),
        kpi_company=empty,
        kpi_team=empty,
        kpi_rep=empty,
        programs=empty,
        evaluations={"A": None, "B": None},
        rows=(
            _row("A", "revenue", 1000.0, 400.0, 1600.0, 10_000.0),
            _row("B", "win_rate", 0.02, -0.01, 0.05, 0.25),
            _row("B", "csat", 0.1, 0.0, 0.2, None),  # no baseline: no relative effect
        ),
        notes=("mentoring switched off: no pairs",),
    )


def test_summary_text_html_and_frame() -> None:
    rep = _report()
    text, page = str(rep), rep._repr_html_()
    assert text == rep.summary().to_text()
    assert "Q4 <script>x</script> (2026Q4)" in text.splitlines()[0]
    assert "<script>" not in page and "&lt;script&gt;" in page
    for number in ("1000", "0.02", "-0.01", "0.05", "2026-10-01 to 2026-12-31"):
        assert number in text and number in page
    assert "mentoring switched off" in page
    assert list(rep.to_frame()["outcome"]) == ["revenue", "win_rate", "csat"]


def test_plot_is_relative_effects_on_the_given_axes() -> None:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert _report().plot(ax=ax) is ax
    points = ax.containers[0].lines[0]
    # A revenue 1000 / 10,000 = 10%; B win rate 0.02 / 0.25 = 8%; csat left out (no baseline)
    np.testing.assert_allclose(points.get_xdata(), [10.0, 8.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A: revenue", "B: win_rate"]
    plt.close("all")
