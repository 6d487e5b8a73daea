"""Hostile program ids in the report's HTML attributes, and a real run's tables.

Fast: every HTML-attribute payload of ``security_cells.json`` goes through ``sections._show`` (the
one place charts get their ``alt`` text) and ``render_html`` (the nbconvert template). Slow: a real
run (``execute_run``, papermill, nbconvert) of the deep dive, where the staggered program's id is an attribute-breaking payload (``x" onload="alert(1)``): it reaches
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

import nbformat
import pandas as pd
import pytest

from salesinsight.report import sections
from salesinsight.report.run import execute_run, render_html

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


def _parse(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.elements


def _assert_no_injected_attribute(elements, payloads) -> None:
    images = [attrs for tag, attrs in elements if tag == "img"]
    svgs = [attrs for tag, attrs in elements if tag == "svg" and attrs.get("role") == "img"]
    assert images or svgs, "a chart should be drawn"
    # charts are PNG <img alt> or inline <svg role="img" aria-label> (report.figures)
    alts = [a.get("alt") or "" for a in images] + [a.get("aria-label") or "" for a in svgs]
    for payload in payloads:  # the whole payload, quotes and all, stays inside the text
        assert any(payload in alt for alt in alts), (payload, alts)
    for img in images:
        assert set(img) <= {"src", "alt", "style", "width", "height", "class"}, img
    handlers = [(t, k) for t, attrs in elements for k in attrs if k.startswith("on")]
    assert handlers == []
    assert not any(tag == "script" for tag, _ in elements)


def test_chart_alt_text_is_escaped_for_attribute_context(tmp_path, monkeypatch):
    import IPython.display
    import matplotlib.pyplot as plt

    outputs = []

    def capture(data, *, raw, metadata):
        outputs.append(nbformat.v4.new_output("display_data", data=data, metadata=metadata))

    monkeypatch.setattr(IPython.display, "display", capture)
    payloads = CELLS["html_attribute"]
    for payload in payloads:
        fig, ax = plt.subplots(figsize=(1, 1))
        sections._show(fig, f"Effect of program {payload} over time on win_rate")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=outputs)])
    nbformat.write(nb, tmp_path / "executed.ipynb")
    render_html(tmp_path / "executed.ipynb", tmp_path / "report.html", title="t")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    _assert_no_injected_attribute(_parse(page), payloads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from salesinsight.simulate import crm

    root = tmp_path_factory.mktemp("hostile-run")
    _plant(crm(root / "data", seed=3, n_reps=40, quarters=4))
    params = root / "q.yaml"
    params.write_text(
        f"quarter: 2025Q4\ndata_dir: data\nprograms: {json.dumps([PROGRAM_ID])}\n"
        "outcomes: [win_rate]\nseed: 1\n",
        encoding="utf-8",
    )
    return execute_run(params, out=root / "out", notebook="program_deep_dive").run_dir


@pytest.mark.slow
def test_real_run_chart_alt_attribute_keeps_the_payload_inside(run_dir: Path) -> None:
    elements = _parse((run_dir / "report.html").read_text(encoding="utf-8"))
    # the deep dive's charts name the program by its name (its id stays in the data tables)
    _assert_no_injected_attribute(elements, [CELLS["html_attribute"][2]])


@pytest.mark.slow
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
