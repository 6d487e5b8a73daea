"""Charts as inline SVG with text left as text (salesinsight.report.figures)."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from salesinsight.report.figures import chart_style, figure_svg

SVG = "{http://www.w3.org/2000/svg}"


def _chart(title: str, xlabel: str):
    with chart_style():
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.plot([0, 1, 2], [3, 1, 2])
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    return fig


def test_cjk_labels_stay_text_in_the_svg():
    """No CJK font is needed on the machine that draws: the labels are <text> elements that the
    reader's browser renders (and nothing is turned into glyph outlines)."""
    svg = figure_svg(_chart("赢单率的变化", "距开始的期数"), "图表：赢单率", chart_id="t1")
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "赢单率的变化" in texts
    assert "距开始的期数" in texts
    # fonttype 'path' would define each glyph as a path with the font's name in its id
    assert not re.search(r'id="[^"]*DejaVu', svg)
    assert root.find(f"{SVG}title").text == "图表：赢单率"
    assert root.get("role") == "img" and root.get("aria-label") == "图表：赢单率"


def test_svg_is_self_contained_and_ids_are_prefixed():
    a = figure_svg(_chart("a", "x"), 'quote " and <tag>', chart_id="first chart")
    b = figure_svg(_chart("a", "x"), "b", chart_id="second")
    assert not a.lstrip().startswith("<?xml") and "<!DOCTYPE" not in a
    assert "<script" not in a.lower()
    assert not re.search(r"(href|src)\s*=\s*\"(?!#)", a)  # only in-document references
    ids_a = set(re.findall(r'id="([^"]+)"', a))
    ids_b = set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b  # two charts on one page never share an id
    assert all(i.startswith("first-chart-") for i in ids_a)
    for ref in re.findall(r"url\(#([^)]+)\)", a):
        assert ref in ids_a
    # the description is attribute-escaped
    assert (
        f'aria-label="{html.escape(chr(113) + "uote " + chr(34) + " and <tag>", quote=True)}"' in a
    )


def test_svg_is_byte_identical_across_runs():
    one = figure_svg(_chart("同一张图", "x"), "alt", chart_id="c")
    two = figure_svg(_chart("同一张图", "x"), "alt", chart_id="c")
    assert one == two
