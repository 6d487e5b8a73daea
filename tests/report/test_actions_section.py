"""The report's action section: data text escaped, ids masked on request, missing parts said."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from salesinsight.actions import ActionPlan
from salesinsight.report.html import pseudonym
from salesinsight.report.params import RunParams
from salesinsight.report.sections import actions_html

HOSTILE = "<script>alert(1)</script>"


def _report(mask: bool) -> SimpleNamespace:
    plan = ActionPlan(
        pd.DataFrame(
            {
                "manager_id": ["M01"],
                "team_id": ["T01"],
                "rep_id": ["R0007"],
                "action": ["deal coaching"],
                "reason": [f"busy but converting poorly {HOSTILE}"],
                "value": [0.1],
                "benchmark": [0.2],
            }
        )
    )
    params = RunParams(quarter="2026Q2", data_dir=Path("."), mask_names=mask)
    return SimpleNamespace(params=params, sections={"actions": plan})


def test_escaped_and_missing_parts_named():
    page = actions_html(_report(False))
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "R0007" in page and "M01" in page
    for part in ("Reviews", "Mentoring pairs", "Leading indicators"):
        assert f"{part}: not available" in page


def test_masked_ids():
    page = actions_html(_report(True))
    assert "R0007" not in page and "M01" not in page
    assert pseudonym("R0007") in page and pseudonym("M01") in page
