"""Every figure of the dashboards and reports, rendered as SVG on the server.

Pure: imports nothing of ours and no Django, so the web page, the PDF worker
and the tests draw the very same figures. Figures are explicit matplotlib
``Figure`` objects printed by the SVG canvas (no pyplot, hence no global figure
registry). rcParams are process-global, so a lock serialises rendering and the
house settings are applied inside it with ``rc_context``.

Each chart comes with a title, axis labels, alt text and a data table: a figure
alone is unreadable to a screen reader and imprecise to everyone else.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import logging
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from statistics import median
from typing import Any, Literal
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.textpath import TextPath, TextToPath
from matplotlib.ticker import MaxNLocator, PercentFormatter

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
NO_DATA = "No data yet"
MAX_STUDIES = 60  # more traffic-light rows make an unreadable page
OVERALL = "Overall"
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

# Risk-of-bias levels as robvis draws them: colour and symbol, never colour alone.
LEVELS: dict[str, tuple[str, str, str]] = {
    "low": ("#009E73", "+", "Low"),
    "some": ("#F0E442", "\u2212", "Some concerns"),
    "high": ("#D55E00", "\u00d7", "High"),
    "none": ("#BBBBBB", "?", "No information"),
}
_ALIASES = {"low": "low"} | dict.fromkeys(("high", "serious", "critical"), "high")
_ALIASES |= dict.fromkeys(("some concerns", "unclear", "moderate"), "some")


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


def _render(
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
def _inches(text: str) -> float:
    """Drawn width of a tick label; cached because study titles recur."""
    font = FontProperties(family=FONT, size=SIZE)
    return max(TextToPath().get_text_width_height_descent(text, font, False)[0] / 72, 0)


def _margins(
    figure: Figure, left: float, right: float, top: float, bottom: float
) -> None:
    """Fixed margins in inches, for the charts that grow with the data.

    Only the labels that set a margin are measured (and cached across renders);
    the constrained layout would measure every label once more.
    """
    width, height = figure.get_size_inches()
    sides = (left / width, bottom / height, 1 - right / width, 1 - top / height)
    figure.subplots_adjust(*sides)


def _heading(figure: Figure, lines: list[str]) -> None:
    """A title from the figure's left edge: narrow axes would clip their own."""
    width, height = figure.get_size_inches()
    x, y = 0.1 / width, 1 - 0.1 / height
    figure.suptitle("\n".join(lines), x=x, y=y, ha="left", va="top")


def _axes(figure: Figure, title: str, xlabel: str, ylabel: str) -> Axes:
    ax = figure.add_subplot()
    ax.set_title(textwrap.fill(title, 70))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def _empty_chart(title: str, xlabel: str, ylabel: str, headers: list[str]) -> Chart:
    def draw(figure: Figure) -> None:
        ax = _axes(figure, title, xlabel, ylabel)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", size=12)

    table = Table(f"{title} ({NO_DATA.lower()})", headers, [])
    return _render(title, f"{title}: {NO_DATA.lower()}.", table, draw, (6, 3))


# --- formatting -----------------------------------------------------------------------


def _num(value: float) -> str:
    rounded = round(float(value), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:.2f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    return f"{float(value):.1f}%"


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def _extremes(labels: Sequence[str], values: Sequence[float], fmt: Any) -> str:
    high = max(range(len(values)), key=lambda i: values[i])
    low = min(range(len(values)), key=lambda i: values[i])
    return (
        f"highest {labels[high]} ({fmt(values[high])}), "
        f"lowest {labels[low]} ({fmt(values[low])})"
    )


def _categories(ax: Axes, ticks: list[str], horizontal: bool) -> None:
    positions = range(len(ticks))
    if horizontal:
        ax.set_yticks(positions, ticks)
        ax.invert_yaxis()  # first category on top, as it reads
    else:
        ax.set_xticks(positions, ticks, rotation=30 if len(ticks) > 6 else 0)


def _percent_axis(ax: Axes, values: Sequence[float], horizontal: bool) -> None:
    # Raw RQS percentages can be negative; leave room for the value labels.
    low, high = min(0.0, *values), max(100.0, *values)
    pad = 0.12 * (high - low)
    (ax.set_xlim if horizontal else ax.set_ylim)(low - pad if low else 0, high + pad)
    (ax.xaxis if horizontal else ax.yaxis).set_major_formatter(PercentFormatter(100))


# --- bars and distributions -----------------------------------------------------------


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
    percent: bool = False,
) -> Chart:
    """One bar per label; `percent` values are 0-100. x/ylabel name the drawn axes."""
    labels, numbers = [str(x) for x in labels], [float(v) for v in values]
    if len(labels) != len(numbers):
        raise ValueError("bar_chart needs one value per label")
    headers = [ylabel, xlabel] if horizontal else [xlabel, ylabel]
    if not labels:
        return _empty_chart(title, xlabel, ylabel, headers)
    fmt = _pct if percent else _num
    rows = [[x, fmt(v)] for x, v in zip(labels, numbers, strict=True)]
    alt = f"Bar chart, {title}: {len(labels)} bars; " + _extremes(labels, numbers, fmt)

    def draw(figure: Figure) -> None:
        ax = _axes(figure, title, xlabel, ylabel)
        bar = ax.barh if horizontal else ax.bar
        bars = bar(range(len(numbers)), numbers, color=OKABE_ITO[0])
        _categories(ax, [_short(x, 32) for x in labels], horizontal)
        ax.bar_label(bars, labels=[r[1] for r in rows], padding=2, fontsize=8)
        if percent:
            _percent_axis(ax, numbers, horizontal)

    n = len(labels)
    size = (7.0, min(2 + 0.3 * n, 20)) if horizontal else (min(4 + 0.5 * n, 12), 4.0)
    return _render(title, alt, Table(title, headers, rows), draw, size)


def histogram(
    title: str,
    values: Sequence[float],
    *,
    bins: int | Sequence[float],
    xlabel: str,
    ylabel: str,
) -> Chart:
    """Counts of `values` in `bins` (a number of bins, or their edges)."""
    numbers = [float(v) for v in values]
    if not numbers:
        return _empty_chart(title, xlabel, ylabel, [xlabel, ylabel])
    counts, edges = np.histogram(numbers, bins=bins)
    last = len(counts) - 1
    spans = [
        f"{_num(lo)} to {_num(hi)}" + ("" if i == last else " (excl.)")
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    rows = [[span, str(int(c))] for span, c in zip(spans, counts, strict=True)]
    peak = int(np.argmax(counts))
    alt = (
        f"Histogram, {title}: {len(numbers)} values from {_num(min(numbers))} to "
        f"{_num(max(numbers))}, median {_num(median(numbers))}; "
        f"most in {spans[peak]} ({int(counts[peak])})."
    )

    def draw(figure: Figure) -> None:
        ax = _axes(figure, title, xlabel, ylabel)
        ax.stairs(counts, edges, fill=True, color=OKABE_ITO[0], edgecolor="white")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))

    return _render(title, alt, Table(title, [xlabel, ylabel], rows), draw, (6.5, 4))


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: dict[str, list[float]],
    *,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
) -> Chart:
    """Bars split into `series` segments, stacked in the dict's order."""
    labels = [str(x) for x in labels]
    if any(len(v) != len(labels) for v in series.values()):
        raise ValueError("stacked_bars needs one value per label in every series")
    headers = [ylabel if horizontal else xlabel, *series, "Total"]
    if not labels or not series:
        return _empty_chart(title, xlabel, ylabel, headers)
    totals = [sum(float(v[i]) for v in series.values()) for i in range(len(labels))]
    rows = [
        [label, *(_num(v[i]) for v in series.values()), _num(totals[i])]
        for i, label in enumerate(labels)
    ]
    alt = (
        f"Stacked bar chart, {title}: {len(labels)} bars split into "
        f"{', '.join(series)}; " + _extremes(labels, totals, _num)
    )

    def draw(figure: Figure) -> None:
        ax = _axes(figure, title, xlabel, ylabel)
        _stack(ax, labels, series, horizontal)
        figure.legend(loc="outside right upper", frameon=False)

    n = len(labels)
    size = (8.0, min(2 + 0.3 * n, 20)) if horizontal else (min(5 + 0.5 * n, 13), 4.0)
    return _render(title, alt, Table(title, headers, rows), draw, size)


def _stack(
    ax: Axes, labels: list[str], series: dict[str, list[float]], horizontal: bool
) -> None:
    base = np.zeros(len(labels))
    for i, (name, raw) in enumerate(series.items()):
        values = np.array([float(v) for v in raw])
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        style: dict[str, Any] = {"color": colour, "label": _short(name, 30)}
        if horizontal:
            ax.barh(range(len(labels)), values, left=base, **style)
        else:
            ax.bar(range(len(labels)), values, bottom=base, **style)
        base = base + values
    _categories(ax, [_short(x, 28) for x in labels], horizontal)


def box_by_group(
    title: str, groups: dict[str, list[float]], *, xlabel: str, ylabel: str
) -> Chart:
    """A box plot per group with its points over it (small groups are common)."""
    headers = [xlabel, "n", "Median", "Q1", "Q3", "Min", "Max"]
    filled = {str(k): [float(v) for v in vals] for k, vals in groups.items() if vals}
    if not filled:
        return _empty_chart(title, xlabel, ylabel, headers)
    rows = [_box_row(str(k), [float(v) for v in vals]) for k, vals in groups.items()]
    medians = {k: median(v) for k, v in filled.items()}
    alt = f"Box plot, {title}: {len(filled)} groups; medians " + _extremes(
        list(medians), list(medians.values()), _num
    )

    def draw(figure: Figure) -> None:
        ax = _axes(figure, title, xlabel, ylabel)
        ax.boxplot(
            list(filled.values()),
            tick_labels=[f"{_short(k, 18)}\n(n={len(v)})" for k, v in filled.items()],
            patch_artist=True,
            showfliers=False,  # every point is drawn over the box anyway
            boxprops={"facecolor": OKABE_ITO[4], "alpha": 0.6},
            medianprops={"color": "black", "linewidth": 1.5},
        )
        rng = np.random.default_rng(0)  # fixed seed: same jitter, same SVG
        for i, vals in enumerate(filled.values(), start=1):
            jitter = rng.uniform(-0.12, 0.12, len(vals))
            ax.scatter(i + jitter, vals, s=10, color=OKABE_ITO[0], zorder=3)
        if len(filled) > 6:
            ax.tick_params(axis="x", labelrotation=30)

    size = (min(4 + 0.8 * len(filled), 13), 4.5)
    return _render(title, alt, Table(title, headers, rows), draw, size)


def _box_row(name: str, values: list[float]) -> list[str]:
    if not values:
        return [name, "0", "", "", "", "", ""]
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    stats = (q2, q1, q3, min(values), max(values))
    return [name, str(len(values)), *(_num(float(s)) for s in stats)]


def adherence_chart(
    title: str, items: Sequence[tuple[str, str, float | None]]
) -> Chart:
    """Share of studies adhering to each item (0-1), in the instrument's order."""
    xlabel, ylabel = "Studies adhering (%)", "Item"
    headers = ["Item", "Label", xlabel]
    if not items:
        return _empty_chart(title, xlabel, ylabel, headers)
    rows = [
        [code, label, "no data" if share is None else _pct(share * 100)]
        for code, label, share in items
    ]
    known = [(code, share * 100) for code, _, share in items if share is not None]
    alt = f"Per-item adherence, {title}: {len(items)} items"
    if known:
        alt += "; " + _extremes([c for c, _ in known], [v for _, v in known], _pct)
    ticks = [f"{code}. {_short(label, 45)}" for code, label, _ in items]
    lines = textwrap.wrap(title, 80)
    top = 0.3 + 0.2 * len(lines)
    height = top + 0.65 + 0.25 * len(items)

    def draw(figure: Figure) -> None:
        _margins(figure, 0.45 + max(map(_inches, ticks)), 0.25, top, 0.55)
        ax = _axes(figure, "", xlabel, ylabel)
        _heading(figure, lines)
        values = [0.0 if s is None else s * 100 for _, _, s in items]
        bars = ax.barh(range(len(items)), values, color=OKABE_ITO[0])
        _categories(ax, ticks, horizontal=True)
        ax.set_ylim(len(items) - 0.5, -0.5)  # no empty band above and below
        ax.bar_label(bars, labels=[r[2] for r in rows], padding=2, fontsize=8)
        ax.set_xlim(0, 112)
        ax.xaxis.set_major_formatter(PercentFormatter(100))

    table = Table(title, headers, rows)
    return _render(title, alt, table, draw, (8.0, height), layout=None)


# --- risk of bias (robvis) ------------------------------------------------------------


def _level(value: str | None) -> str:
    if not value:
        return "none"
    return _ALIASES.get(str(value).strip().lower().replace("_", " "), "none")


def _display(value: str | None) -> str:
    if not value:
        return LEVELS["none"][2]
    return str(value).strip().replace("_", " ").capitalize()


def _worst(values: Iterable[str | None]) -> str | None:
    """Overall judgement when none is given: any high is high, all low is low."""
    values = list(values)
    levels = [_level(v) for v in values]
    if "none" in levels or not levels:
        return None
    for wanted in ("high", "some"):
        if wanted in levels:
            return values[levels.index(wanted)]
    return values[0]


@cache
def _glyph(symbol: str) -> Path:
    """The symbol as a centred path marker: one <path> reused by every cell."""
    font = FontProperties(family=FONT, weight="bold")
    path = TextPath((0, 0), symbol, size=10, prop=font)
    low, high = path.vertices.min(axis=0), path.vertices.max(axis=0)
    return Path(path.vertices - (low + high) / 2, path.codes)


def _legend(ax: Axes, names: dict[str, str], size: float, **kwargs: Any) -> None:
    """One entry per level present: the coloured circle, its symbol, its name."""
    handles, labels = [], []
    for level, name in names.items():
        colour, symbol, _ = LEVELS[level]
        circle = Line2D([], [], ls="", marker="o", ms=size, mfc=colour, mec="#333")
        mark = Line2D([], [], ls="", marker=_glyph(symbol), ms=size * 0.5, c="k")
        handles.append((circle, mark))
        labels.append(f"{symbol} {name}")
    ax.legend(
        handles, labels, handler_map={tuple: HandlerTuple()}, frameon=False, **kwargs
    )


def _names(values: Iterable[str | None]) -> dict[str, str]:
    """Legend names per level in level order, as the data spells them."""
    seen: dict[str, set[str]] = {}
    for value in values:
        seen.setdefault(_level(value), set()).add(_display(value))
    return {lv: " / ".join(sorted(seen[lv])) for lv in LEVELS if lv in seen}


def _columns(domains: list[str]) -> tuple[list[str], list[str]]:
    """Column heads, and a key to them when names are too long to stand on top."""
    if all(len(d) <= 10 for d in domains):
        return domains, []
    heads = [OVERALL if d == OVERALL else f"D{i}" for i, d in enumerate(domains, 1)]
    pairs = zip(heads, domains, strict=True)
    return heads, [f"{h}: {d}" for h, d in pairs if h != d]


def traffic_light(
    title: str,
    studies: list[str],
    domains: list[str],
    judgements: dict[tuple[str, str], str | None],
    *,
    overall: bool = True,
) -> Chart:
    """robvis traffic-light plot: a row per study, a coloured symbol per domain.

    The overall column takes `judgements[(study, "Overall")]` when given and
    the worst domain judgement otherwise. The table lists every study; the
    figure the first MAX_STUDIES.
    """
    columns, cells = _traffic_cells(studies, domains, judgements, overall)
    headers = ["Study", *columns]
    if not studies or columns in ([], [OVERALL]):
        return _empty_chart(title, "Domain", "Study", headers)
    rows = [[s, *(_display(cells[(s, d)]) for d in columns)] for s in studies]
    table = Table(f"{title}: every study", headers, rows)
    shown = studies[:MAX_STUDIES]
    if len(studies) > MAX_STUDIES:
        title = f"{title} (first {MAX_STUDIES} of {len(studies)} studies)"
    last = [cells[(s, columns[-1])] for s in studies]
    alt = (
        f"Traffic-light plot, {title}: {len(studies)} studies by {len(columns)} "
        f"columns ({', '.join(columns)}); {columns[-1]}: {_tally(last)}."
    )
    if len(shown) < len(studies):
        alt += f" The figure shows the first {len(shown)} studies, the table all."
    draw, size = _traffic_figure(title, shown, columns, cells)
    return _render(title, alt, table, draw, size, layout=None)


def _traffic_cells(
    studies: list[str],
    domains: list[str],
    judgements: dict[tuple[str, str], str | None],
    overall: bool,
) -> tuple[list[str], dict[tuple[str, str], str | None]]:
    domains = [d for d in domains if d != OVERALL]
    cells = {(s, d): judgements.get((s, d)) for s in studies for d in domains}
    for study in studies if overall else []:
        given = (study, OVERALL) in judgements
        worst = _worst(cells[(study, d)] for d in domains)
        cells[(study, OVERALL)] = judgements[(study, OVERALL)] if given else worst
    return domains + ([OVERALL] if overall else []), cells


def _traffic_figure(
    title: str,
    studies: list[str],
    columns: list[str],
    cells: dict[tuple[str, str], str | None],
) -> tuple[Callable[[Figure], None], tuple[float, float]]:
    """The drawing and its size: the figure grows by a fixed height per study."""
    ticks = [_short(s, 45) for s in studies]
    names = _names(cells[(s, d)] for s in studies for d in columns)
    heads, key = _columns(columns)
    left = 0.5 + max(map(_inches, ticks))
    width = max(left + 0.7 + max(map(_inches, names.values())) + 0.5 * len(columns), 4)
    right = width - left - 0.5 * len(columns)
    # Titles and keys wrap to the figure: its narrow axes would clip them.
    lines = textwrap.wrap(title, int(width / 0.1))
    key = [line for entry in key for line in textwrap.wrap(entry, int(width / 0.07))]
    top, bottom = 0.55 + 0.2 * len(lines), 0.2 + 0.15 * len(key)
    height = top + bottom + 0.28 * len(studies)

    def draw(figure: Figure) -> None:
        _margins(figure, left, right, top, bottom)
        ax = _axes(figure, "", "Domain", "Study")
        ax.xaxis.set_label_position("top")
        _heading(figure, lines)
        figure.text(0.1 / width, 0.1 / height, "\n".join(key), size=8, va="bottom")
        _draw_cells(ax, studies, columns, cells)
        ax.set_xticks(range(len(columns)), heads)
        ax.set_yticks(range(len(studies)), ticks)
        _legend(ax, names, 11, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    return draw, (width, height)


def _draw_cells(
    ax: Axes,
    studies: list[str],
    columns: list[str],
    cells: dict[tuple[str, str], str | None],
) -> None:
    """One scatter per level, so the SVG defines each marker once."""
    points: dict[str, tuple[list[int], list[int]]] = {}
    for (row, study), (col, domain) in itertools.product(
        enumerate(studies), enumerate(columns)
    ):
        xs, ys = points.setdefault(_level(cells[(study, domain)]), ([], []))
        xs.append(col)
        ys.append(row)
    for level, (xs, ys) in points.items():
        colour, symbol, _ = LEVELS[level]
        ax.scatter(xs, ys, s=220, c=colour, edgecolors="#333333", linewidths=0.5)
        ax.scatter(xs, ys, s=60, marker=_glyph(symbol), c="black", linewidths=0)
    ax.xaxis.tick_top()
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(len(studies) - 0.5, -0.5)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def _tally(values: list[str | None]) -> str:
    counts = dict.fromkeys(LEVELS, 0)
    for value in values:
        counts[_level(value)] += 1
    return ", ".join(f"{n} {LEVELS[lv][2].lower()}" for lv, n in counts.items() if n)


def rob_summary(
    title: str,
    domains: list[str],
    counts: dict[str, dict[str, int]],
    *,
    overall: bool = True,
) -> Chart:
    """robvis summary plot: per domain, the share of studies at each level.

    `counts[domain][judgement]` is a number of studies; the overall row comes
    from `counts["Overall"]` when `overall` is set.
    """
    rows_of = [d for d in domains if d != OVERALL]
    rows_of += [OVERALL] if overall and OVERALL in counts else []
    totals = {d: dict.fromkeys(LEVELS, 0) for d in rows_of}
    for domain in rows_of:
        for key, n in counts.get(domain, {}).items():
            totals[domain][_level(key)] += int(n)
    raw = [key for d in rows_of for key, n in counts.get(d, {}).items() if n]
    names = _names(raw)
    headers = ["Domain", *names.values(), "Studies"]
    if not names:
        return _empty_chart(title, "Studies (%)", "Domain", headers)
    rows = [_summary_row(d, totals[d], list(names)) for d in rows_of]
    alt = (
        f"Risk-of-bias summary, {title}: share of studies at each level for "
        f"{len(rows_of)} domains ({', '.join(rows_of)})."
    )

    def draw(figure: Figure) -> None:
        ax = _axes(figure, title, "Studies (%)", "Domain")
        _draw_summary(ax, rows_of, totals, list(names))
        where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2)}
        _legend(ax, names, 9, ncols=len(names), **where)

    size = (8.0, 2.2 + 0.45 * len(rows_of))
    return _render(title, alt, Table(title, headers, rows), draw, size)


def _summary_row(domain: str, totals: dict[str, int], levels: list[str]) -> list[str]:
    n = sum(totals.values())
    shares = [f"{totals[lv]} ({_pct(100 * totals[lv] / max(n, 1))})" for lv in levels]
    return [domain, *shares, str(n)]


def _draw_summary(
    ax: Axes, domains: list[str], totals: dict[str, dict[str, int]], levels: list[str]
) -> None:
    left = np.zeros(len(domains))
    sizes = np.array([max(sum(totals[d].values()), 1) for d in domains], dtype=float)
    for level in levels:
        colour, symbol, _ = LEVELS[level]
        share = np.array([totals[d][level] for d in domains]) * 100 / sizes
        bars = ax.barh(
            range(len(domains)), share, left=left, color=colour, edgecolor="white"
        )
        marks = [f"{symbol} {v:.0f}%" if v >= 9 else "" for v in share]
        ax.bar_label(bars, labels=marks, label_type="center", fontsize=8)
        left = left + share
    _categories(ax, [textwrap.fill(d, 28) for d in domains], horizontal=True)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
