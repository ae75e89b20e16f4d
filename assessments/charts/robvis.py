"""Risk of bias as robvis draws it: the QUADAS-2 traffic-light plot (a row
per study, a coloured symbol per domain) and the summary plot (per domain,
the share of studies at each level).

The same plots serve any judgement instrument with low / high / unclear per
domain (PROBAST+AI): the caller's title, and the summary's `aspect`, name
what is judged ("Quality concerns" for PROBAST+AI development).
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.ticker import PercentFormatter

from .base import (
    FONT,
    Chart,
    Table,
    Words,
    category_ticks,
    empty_chart,
    figure_heading,
    fmt_percent,
    gettext_noop,
    render_chart,
    same,
    set_margins,
    shorten,
    text_width,
    titled_axes,
)

MAX_STUDIES = 60  # more traffic-light rows make an unreadable page
# The overall column's key in judgements and counts; drawn as `_(OVERALL)`.
OVERALL = gettext_noop("Overall")
RISK_OF_BIAS = gettext_noop("Risk-of-bias")

# Risk-of-bias levels as robvis draws them: colour and symbol, never colour alone.
LEVELS: dict[str, tuple[str, str, str]] = {
    "low": ("#009E73", "+", gettext_noop("Low")),
    "some": ("#F0E442", "\u2212", gettext_noop("Some concerns")),
    "high": ("#D55E00", "\u00d7", gettext_noop("High")),
    "none": ("#BBBBBB", "?", gettext_noop("No information")),
}
# Judgements as the instruments spell them, drawn in the reader's words; any
# other spelling is drawn as the data has it.
JUDGEMENTS = frozenset(
    [
        *(name for _colour, _symbol, name in LEVELS.values()),
        gettext_noop("Unclear"),
        gettext_noop("Moderate"),
        gettext_noop("Serious"),
        gettext_noop("Critical"),
    ]
)
# "3 low, 1 high": how many studies at each level, per level.
TALLY = {
    "low": gettext_noop("%(n)s low"),
    "some": gettext_noop("%(n)s some concerns"),
    "high": gettext_noop("%(n)s high"),
    "none": gettext_noop("%(n)s no information"),
}
_ALIASES = {"low": "low"} | dict.fromkeys(("high", "serious", "critical"), "high")
_ALIASES |= dict.fromkeys(("some concerns", "unclear", "moderate"), "some")


def _level(value: str | None) -> str:
    if not value:
        return "none"
    return _ALIASES.get(str(value).strip().lower().replace("_", " "), "none")


def _display(value: str | None, _: Words = same) -> str:
    if not value:
        return _(LEVELS["none"][2])
    text = str(value).strip().replace("_", " ").capitalize()
    return _(text) if text in JUDGEMENTS else text


def _column(domain: str, _: Words) -> str:
    """A domain as drawn: the overall column in the reader's words."""
    return _(OVERALL) if domain == OVERALL else domain


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
        colour, symbol, _name = LEVELS[level]
        circle = Line2D([], [], ls="", marker="o", ms=size, mfc=colour, mec="#333")
        mark = Line2D([], [], ls="", marker=_glyph(symbol), ms=size * 0.5, c="k")
        handles.append((circle, mark))
        labels.append(f"{symbol} {name}")
    ax.legend(
        handles, labels, handler_map={tuple: HandlerTuple()}, frameon=False, **kwargs
    )


def _names(values: Iterable[str | None], _: Words) -> dict[str, str]:
    """Legend names per level in level order, as the data spells them."""
    seen: dict[str, set[str]] = {}
    for value in values:
        seen.setdefault(_level(value), set()).add(_display(value, _))
    return {lv: " / ".join(sorted(seen[lv])) for lv in LEVELS if lv in seen}


def _columns(domains: list[str], _: Words) -> tuple[list[str], list[str]]:
    """Column heads, and a key to them when names are too long to stand on top."""
    if all(len(d) <= 10 for d in domains):
        return [_column(d, _) for d in domains], []
    heads = [OVERALL if d == OVERALL else f"D{i}" for i, d in enumerate(domains, 1)]
    pairs = zip(heads, domains, strict=True)
    key = [f"{h}: {d}" for h, d in pairs if h != d]
    return [_column(h, _) for h in heads], key


def traffic_light(
    title: str,
    studies: list[str],
    domains: list[str],
    judgements: dict[tuple[str, str], str | None],
    *,
    overall: bool = True,
    _: Words = same,
) -> Chart:
    """robvis traffic-light plot: a row per study, a coloured symbol per domain.

    The overall column takes `judgements[(study, "Overall")]` when given and
    the worst domain judgement otherwise. The table lists every study; the
    figure the first MAX_STUDIES.
    """
    columns, cells = _traffic_cells(studies, domains, judgements, overall)
    names = [_column(d, _) for d in columns]
    headers = [_("Study"), *names]
    if not studies or columns in ([], [OVERALL]):
        return empty_chart(title, _("Domain"), _("Study"), headers, _=_)
    rows = [[s, *(_display(cells[(s, d)], _) for d in columns)] for s in studies]
    table = Table(_("%(title)s: every study") % {"title": title}, headers, rows)
    shown = studies[:MAX_STUDIES]
    if len(studies) > MAX_STUDIES:
        title = _("%(title)s (first %(shown)s of %(n)s studies)") % {
            "title": title,
            "shown": MAX_STUDIES,
            "n": len(studies),
        }
    last = [cells[(s, columns[-1])] for s in studies]
    alt = _(
        "Traffic-light plot, %(title)s; studies: %(studies)s; columns: %(n)s "
        "(%(columns)s); %(last)s: %(tally)s."
    ) % {
        "title": title,
        "studies": len(studies),
        "n": len(columns),
        "columns": ", ".join(names),
        "last": names[-1],
        "tally": _tally(last, _),
    }
    if len(shown) < len(studies):
        more = _("The figure shows the first %(n)s studies, the table all.")
        alt += " " + more % {"n": len(shown)}
    draw, size = _traffic_figure(title, shown, columns, cells, _)
    return render_chart(title, alt, table, draw, size, layout=None)


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
    _: Words,
) -> tuple[Callable[[Figure], None], tuple[float, float]]:
    """The drawing and its size: the figure grows by a fixed height per study."""
    ticks = [shorten(s, 45) for s in studies]
    names = _names((cells[(s, d)] for s in studies for d in columns), _)
    heads, key = _columns(columns, _)
    left = 0.5 + max(map(text_width, ticks))
    width = max(
        left + 0.7 + max(map(text_width, names.values())) + 0.5 * len(columns), 4
    )
    right = width - left - 0.5 * len(columns)
    # Titles and keys wrap to the figure: its narrow axes would clip them.
    lines = textwrap.wrap(title, int(width / 0.1))
    key = [line for entry in key for line in textwrap.wrap(entry, int(width / 0.07))]
    top, bottom = 0.55 + 0.2 * len(lines), 0.2 + 0.15 * len(key)
    height = top + bottom + 0.28 * len(studies)

    def draw(figure: Figure) -> None:
        set_margins(figure, left, right, top, bottom)
        ax = titled_axes(figure, "", _("Domain"), _("Study"))
        ax.xaxis.set_label_position("top")
        figure_heading(figure, lines)
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
        colour, symbol, _name = LEVELS[level]
        ax.scatter(xs, ys, s=220, c=colour, edgecolors="#333333", linewidths=0.5)
        ax.scatter(xs, ys, s=60, marker=_glyph(symbol), c="black", linewidths=0)
    ax.xaxis.tick_top()
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(len(studies) - 0.5, -0.5)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def _tally(values: list[str | None], _: Words) -> str:
    counts = dict.fromkeys(LEVELS, 0)
    for value in values:
        counts[_level(value)] += 1
    return ", ".join(_(TALLY[lv]) % {"n": n} for lv, n in counts.items() if n)


def rob_summary(
    title: str,
    domains: list[str],
    counts: dict[str, dict[str, int]],
    *,
    overall: bool = True,
    aspect: str | None = None,
    _: Words = same,
) -> Chart:
    """robvis summary plot: per domain, the share of studies at each level.

    `counts[domain][judgement]` is a number of studies; the overall row comes
    from `counts["Overall"]` when `overall` is set. `aspect`: what is judged,
    in the reader's words ("Risk-of-bias" when not given).
    """
    aspect = _(RISK_OF_BIAS) if aspect is None else aspect
    rows_of = [d for d in domains if d != OVERALL]
    rows_of += [OVERALL] if overall and OVERALL in counts else []
    totals = {d: dict.fromkeys(LEVELS, 0) for d in rows_of}
    for domain in rows_of:
        for key, n in counts.get(domain, {}).items():
            totals[domain][_level(key)] += int(n)
    raw = [key for d in rows_of for key, n in counts.get(d, {}).items() if n]
    names = _names(raw, _)
    headers = [_("Domain"), *names.values(), _("Studies")]
    xlabel, ylabel = _("Studies (%)"), _("Domain")
    if not names:
        return empty_chart(title, xlabel, ylabel, headers, _=_)
    shown = [_column(d, _) for d in rows_of]
    rows = [
        _summary_row(name, totals[d], list(names))
        for name, d in zip(shown, rows_of, strict=True)
    ]
    alt = _(
        "%(aspect)s summary, %(title)s: share of studies at each level; "
        "domains: %(n)s (%(domains)s)."
    ) % {
        "aspect": aspect,
        "title": title,
        "n": len(rows_of),
        "domains": ", ".join(shown),
    }

    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        _draw_summary(ax, shown, rows_of, totals, list(names))
        where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2)}
        _legend(ax, names, 9, ncols=len(names), **where)

    size = (8.0, 2.2 + 0.45 * len(rows_of))
    return render_chart(title, alt, Table(title, headers, rows), draw, size)


def _summary_row(domain: str, totals: dict[str, int], levels: list[str]) -> list[str]:
    n = sum(totals.values())
    shares = [
        f"{totals[lv]} ({fmt_percent(100 * totals[lv] / max(n, 1))})" for lv in levels
    ]
    return [domain, *shares, str(n)]


def _draw_summary(
    ax: Axes,
    shown: list[str],
    domains: list[str],
    totals: dict[str, dict[str, int]],
    levels: list[str],
) -> None:
    """`shown`: the domains' names as drawn, `domains` their keys in `totals`."""
    left = np.zeros(len(domains))
    sizes = np.array([max(sum(totals[d].values()), 1) for d in domains], dtype=float)
    for level in levels:
        colour, symbol, _name = LEVELS[level]
        share = np.array([totals[d][level] for d in domains]) * 100 / sizes
        bars = ax.barh(
            range(len(domains)), share, left=left, color=colour, edgecolor="white"
        )
        marks = [f"{symbol} {v:.0f}%" if v >= 9 else "" for v in share]
        ax.bar_label(bars, labels=marks, label_type="center", fontsize=8)
        left = left + share
    category_ticks(ax, [textwrap.fill(d, 28) for d in shown], horizontal=True)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
