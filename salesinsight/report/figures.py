"""Charts of the report as inline SVG whose text stays text.

Matplotlib writes SVG with ``svg.fonttype: none``: every label is a ``<text>`` element the reader's
browser renders with its own fonts, so Chinese labels show on a machine without CJK fonts for
matplotlib, and the text can be searched, copied and translated. The SVG is embedded in the page
(no file, no script, no external reference) with a ``<title>`` carrying the chart's description.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from salesinsight.report.html import esc

__all__ = ["chart_style", "figure_svg", "show_svg"]

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: fonts the browser tries in order: Latin first, then the common CJK fonts of each platform.
FONT_FAMILY = [
    "DejaVu Sans",
    "Helvetica",
    "Arial",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "sans-serif",
]
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "salesinsight",
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILY,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
}


@contextmanager
def chart_style() -> Iterator[None]:
    """Apply the report's matplotlib settings inside the ``with`` block.

    SVG text as text, reproducible ids, quiet glyph warnings.
    """
    import matplotlib as mpl

    with mpl.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing from.*")
        warnings.filterwarnings("ignore", message=r".*findfont.*")
        yield


def figure_svg(fig: Any, alt: str, *, chart_id: str) -> str:
    """Return the figure as an ``<svg>`` element (closes the figure).

    Parameters
    ----------
    fig : matplotlib Figure
    alt : str
        Description of the chart (the SVG's ``<title>`` and ``aria-label``).
    chart_id : str
        Unique id of the chart in the page; prefixes the SVG's internal ids so several charts on one
        page never share an id.
    """
    import io

    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with chart_style():
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration, no DOCTYPE (it names an external DTD)
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{safe_id}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{safe_id}-{m.group(1)})", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{safe_id}-{m.group(1)}"', svg)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    label = esc(alt)
    svg = re.sub(
        r"<svg\b",
        f'<svg role="img" aria-label="{label}" class="si-chart"',
        svg,
        count=1,
    )
    svg = svg.replace(">", f"><title>{label}</title>", 1)
    # let the chart shrink with the page: width 100%, height from the viewBox
    svg = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"', r'\1 width="100%"', svg, count=1)
    svg = re.sub(r'(<svg[^>]*?)\sheight="[^"]*"', r"\1", svg, count=1)
    return svg


def show_svg(fig: Any, alt: str, *, chart_id: str, max_width: int = 1000) -> None:
    """Display the figure in the notebook as inline SVG (the report embeds it as is)."""
    from IPython.display import HTML, display

    svg = figure_svg(fig, alt, chart_id=chart_id)
    box = re.search(r'viewBox="0 0 ([0-9.]+) ', svg)
    width = min(max_width, round(float(box.group(1)) * 4 / 3)) if box else max_width
    display(HTML(f'<figure class="si-figure" style="max-width:{width}px">{svg}</figure>'))
