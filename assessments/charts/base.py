"""Rendering shared by every chart: the house style, the SVG writer, the data
table that goes with each figure, and the small formatters they all use.

Figures are explicit matplotlib ``Figure`` objects printed by the SVG canvas
(no pyplot, hence no global figure registry). rcParams are process-global, so
a lock serialises rendering and the house settings are applied inside it with
``rc_context``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from xml.sax.saxutils import escape

import matplotlib
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from ..words import Words, gettext_noop, same

logger = logging.getLogger(__name__)


# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
]
NO_DATA = gettext_noop("No data yet")
FONT = "DejaVu Sans"  # ships with matplotlib, so every machine draws the same
SIZE = 9
RC: dict[Any, Any] = {
    "font.family": FONT,
    "font.size": SIZE,
    "svg.fonttype": "none",  # text stays text: selectable, searchable, small
    "svg.hashsalt": "rqs-charts",  # stable element ids: same input, same bytes
    "text.parse_math": False,  # a "$" in a study title is not TeX
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "figure.titlesize": 11,
    "figure.titleweight": "bold",
}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    alt: str
    table: Table
    render_ms: float = field(default=0.0, compare=False)

    @property
    def data_uri(self) -> str:
        encoded = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        return f"data:image/svg+xml;base64,{encoded}"


# --- rendering ------------------------------------------------------------------------


def render_chart(
    title: str,
    alt: str,
    table: Table,
    draw: Callable[[Figure], None],
    size: tuple[float, float],
    layout: Literal["constrained"] | None = "constrained",
) -> Chart:
    """Draw under the house settings; `layout=None` when `draw` sets margins."""
    start = time.perf_counter()
    buffer = io.BytesIO()
    with _LOCK, matplotlib.rc_context(RC):
        figure = Figure(figsize=size, layout=layout)
        FigureCanvasSVG(figure)
        draw(figure)
        _settle(figure)
        # No date in the metadata, so equal input gives byte-equal output.
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _accessible(buffer.getvalue().decode("utf-8"), title, alt)
    elapsed = (time.perf_counter() - start) * 1000
    logger.debug("chart %r rendered in %.1f ms", title, elapsed)
    return Chart(title=title, svg=svg, alt=alt, table=table, render_ms=elapsed)


def _settle(figure: Figure) -> None:
    """Run the constrained layout once, then freeze it.

    Left on, savefig would lay out and draw twice, each time with a fresh
    renderer that measures every label again: half the render time.
    """
    engine = figure.get_layout_engine()
    if engine is not None:
        engine.execute(figure)
        figure.set_layout_engine(None)


def _accessible(svg: str, title: str, alt: str) -> str:
    """Name the image for assistive technology: role, <title> and <desc>."""
    ident = "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]
    opening = svg.index("<svg ")
    close = svg.index(">", opening) + 1
    tag = svg[opening:close].replace(
        "<svg ", f'<svg role="img" aria-labelledby="{ident}" ', 1
    )
    head = (
        f'\n <title id="{ident}">{escape(title)}</title>\n <desc>{escape(alt)}</desc>'
    )
    return svg[:opening] + tag + head + svg[close:]


@lru_cache(maxsize=8192)
def text_width(text: str) -> float:
    """Drawn width of a tick label; cached because study titles recur."""
    font = FontProperties(family=FONT, size=SIZE)
    return max(TextToPath().get_text_width_height_descent(text, font, False)[0] / 72, 0)


def set_margins(
    figure: Figure, left: float, right: float, top: float, bottom: float
) -> None:
    """Fixed margins in inches, for the charts that grow with the data.

    Only the labels that set a margin are measured (and cached across renders);
    the constrained layout would measure every label once more.
    """
    width, height = figure.get_size_inches()
    sides = (left / width, bottom / height, 1 - right / width, 1 - top / height)
    figure.subplots_adjust(*sides)


def figure_heading(figure: Figure, lines: list[str]) -> None:
    """A title from the figure's left edge: narrow axes would clip their own."""
    width, height = figure.get_size_inches()
    x, y = 0.1 / width, 1 - 0.1 / height
    figure.suptitle("\n".join(lines), x=x, y=y, ha="left", va="top")


def titled_axes(figure: Figure, title: str, xlabel: str, ylabel: str) -> Axes:
    ax = figure.add_subplot()
    ax.set_title(textwrap.fill(title, 70))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def empty_chart(
    title: str,
    xlabel: str,
    ylabel: str,
    headers: list[str],
    *,
    _: Words = same,
) -> Chart:
    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, _(NO_DATA), transform=ax.transAxes, ha="center", size=12)

    table = Table(_("%(title)s (no data yet)") % {"title": title}, headers, [])
    alt = _("%(title)s: no data yet.") % {"title": title}
    return render_chart(title, alt, table, draw, (6, 3))


# --- formatting -----------------------------------------------------------------------


def fmt_number(value: float) -> str:
    rounded = round(float(value), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:.2f}".rstrip("0").rstrip(".")


def fmt_percent(value: float) -> str:
    return f"{float(value):.1f}%"


def shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def category_ticks(ax: Axes, ticks: list[str], horizontal: bool) -> None:
    positions = range(len(ticks))
    if horizontal:
        ax.set_yticks(positions, ticks)
        ax.invert_yaxis()  # first category on top, as it reads
    else:
        ax.set_xticks(positions, ticks, rotation=30 if len(ticks) > 6 else 0)
