"""A real run (``execute_run``, papermill, nbconvert) with hostile program ids and names.

The staggered program's id is an attribute-breaking payload (``x" onload="alert(1)``): it reaches
the chart's ``alt`` attribute through ``plot_outcome``. The page is parsed with
:mod:`html.parser`; no element may carry an event-handler attribute or an attribute value that
swallowed the payload's closing quote. Every table the run wrote must read back with the same
shape through ``csv`` and pandas.
"""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from salesinsight.report.run import execute_run

CELLS = json.loads((Path(__file__).with_name("security_cells.json")).read_text(encoding="utf-8"))
PROGRAM_ID = CELLS["html_attribute"][0]  # x" onload="alert(1)
PROGRAM_NAME = "\r=cmd|' /C calc'!A0 " + CELLS["html_attribute"][2]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _plant(folder: Path) -> None:
    for name in ("programs.csv", "enrollments.csv"):
        df = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        df["program_id"] = df["program_id"].replace("P_TRAIN", PROGRAM_ID)
        if name == "programs.csv":
            df.loc[df["program_id"] == PROGRAM_ID, "name"] = PROGRAM_NAME
        df.to_csv(folder / name, index=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salesinsight.simulate import crm

    root = tmp_path_factory.mktemp("hostile-run")
    _plant(crm(root / "data", seed=3, n_reps=40, quarters=4))
    params = root / "q.yaml"
    params.write_text(
        f"quarter: 2026Q1\ndata_dir: data\nprograms: {json.dumps([PROGRAM_ID])}\n"
        "outcomes: [win_rate]\nseed: 1\n",
        encoding="utf-8",
    )
    return execute_run(params, out=root / "out", notebook="program_deep_dive").run_dir


def test_chart_alt_attribute_keeps_the_payload_inside(run_dir: Path) -> None:
    parser = _Elements()
    parser.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    images = [attrs for tag, attrs in parser.elements if tag == "img"]
    assert images, "the staggered program's event study should be drawn"
    alts = [a.get("alt") or "" for a in images]
    assert any(PROGRAM_ID in alt for alt in alts), alts  # the whole id, quotes and all
    for img in images:
        assert set(img) <= {"src", "alt", "style", "width", "height", "class"}, img
    handlers = [(t, k) for t, attrs in parser.elements for k in attrs if k.startswith("on")]
    assert handlers == []
    assert not any(tag == "script" for tag, _ in parser.elements)


def test_every_table_of_the_run_round_trips_with_the_same_shape(run_dir: Path) -> None:
    paths = sorted((run_dir / "tables").glob("*.csv"))
    assert paths
    for path in paths:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        widths = {len(r) for r in rows}
        assert len(widths) == 1, (path.name, widths)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert frame.shape == (len(rows) - 1, len(rows[0])), path.name
        live = [c for r in rows for c in r if c.startswith(("=", "@", "\r", "\n", "\t", "+"))]
        assert live == [], (path.name, live)
