"""Bars and distributions: bar charts, histograms, stacked bars, box plots
and per-item adherence."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence
from statistics import median
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .base import (
    OKABE_ITO,
    Chart,
    Table,
    Words,
    category_ticks,
    empty_chart,
    figure_heading,
    fmt_number,
    fmt_percent,
    render_chart,
    same,
    set_margins,
    shorten,
    text_width,
    titled_axes,
)

# --- alt text and axes ----------------------------------------------------------------


def _extremes(
    labels: Sequence[str], values: Sequence[float], fmt: Any
) -> dict[str, str]:
    """The placeholders high, high_value, low and low_value of an alt text."""
    high = max(range(len(values)), key=lambda i: values[i])
    low = min(range(len(values)), key=lambda i: values[i])
    return {
        "high": labels[high],
        "high_value": fmt(values[high]),
        "low": labels[low],
        "low_value": fmt(values[low]),
    }


def _count_axis(ax: Axes, values: Sequence[float], horizontal: bool) -> None:
    """Whole numbers (studies, items) get whole ticks: there is no half a study."""
    if all(float(v).is_integer() for v in values):
        axis = ax.xaxis if horizontal else ax.yaxis
        axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


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
    _: Words = same,
) -> Chart:
    """One bar per label; `percent` values are 0-100. x/ylabel name the drawn axes."""
    labels, numbers = [str(x) for x in labels], [float(v) for v in values]
    if len(labels) != len(numbers):
        raise ValueError("bar_chart needs one value per label")
    headers = [ylabel, xlabel] if horizontal else [xlabel, ylabel]
    if not labels:
        return empty_chart(title, xlabel, ylabel, headers, _=_)
    fmt = fmt_percent if percent else fmt_number
    rows = [[x, fmt(v)] for x, v in zip(labels, numbers, strict=True)]
    alt = _(
        "Bar chart, %(title)s; bars: %(n)s; highest %(high)s (%(high_value)s), "
        "lowest %(low)s (%(low_value)s)"
    ) % {"title": title, "n": len(labels), **_extremes(labels, numbers, fmt)}

    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        bar = ax.barh if horizontal else ax.bar
        bars = bar(range(len(numbers)), numbers, color=OKABE_ITO[0])
        category_ticks(ax, [shorten(x, 32) for x in labels], horizontal)
        ax.bar_label(bars, labels=[r[1] for r in rows], padding=2, fontsize=8)
        if percent:
            _percent_axis(ax, numbers, horizontal)
        else:
            _count_axis(ax, numbers, horizontal)

    n = len(labels)
    size = (7.0, min(2 + 0.3 * n, 20)) if horizontal else (min(4 + 0.5 * n, 12), 4.0)
    return render_chart(title, alt, Table(title, headers, rows), draw, size)


def histogram(
    title: str,
    values: Sequence[float],
    *,
    bins: int | Sequence[float],
    xlabel: str,
    ylabel: str,
    _: Words = same,
) -> Chart:
    """Counts of `values` in `bins` (a number of bins, or their edges)."""
    numbers = [float(v) for v in values]
    if not numbers:
        return empty_chart(title, xlabel, ylabel, [xlabel, ylabel], _=_)
    counts, edges = np.histogram(numbers, bins=bins)
    last = len(counts) - 1
    spans = [
        (_("%(low)s to %(high)s") if i == last else _("%(low)s to %(high)s (excl.)"))
        % {"low": fmt_number(lo), "high": fmt_number(hi)}
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    rows = [[span, str(int(c))] for span, c in zip(spans, counts, strict=True)]
    peak = int(np.argmax(counts))
    alt = _(
        "Histogram, %(title)s; values: %(n)s, from %(min)s to %(max)s, "
        "median %(median)s; most in %(span)s (%(count)s)."
    ) % {
        "title": title,
        "n": len(numbers),
        "min": fmt_number(min(numbers)),
        "max": fmt_number(max(numbers)),
        "median": fmt_number(median(numbers)),
        "span": spans[peak],
        "count": int(counts[peak]),
    }

    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        ax.stairs(counts, edges, fill=True, color=OKABE_ITO[0], edgecolor="white")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))

    return render_chart(
        title, alt, Table(title, [xlabel, ylabel], rows), draw, (6.5, 4)
    )


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: dict[str, list[float]],
    *,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
    _: Words = same,
) -> Chart:
    """Bars split into `series` segments, stacked in the dict's order."""
    labels = [str(x) for x in labels]
    if any(len(v) != len(labels) for v in series.values()):
        raise ValueError("stacked_bars needs one value per label in every series")
    headers = [ylabel if horizontal else xlabel, *series, _("Total")]
    if not labels or not series:
        return empty_chart(title, xlabel, ylabel, headers, _=_)
    totals = [sum(float(v[i]) for v in series.values()) for i in range(len(labels))]
    rows = [
        [label, *(fmt_number(v[i]) for v in series.values()), fmt_number(totals[i])]
        for i, label in enumerate(labels)
    ]
    alt = _(
        "Stacked bar chart, %(title)s; bars: %(n)s, split into %(series)s; "
        "highest %(high)s (%(high_value)s), lowest %(low)s (%(low_value)s)"
    ) % {
        "title": title,
        "n": len(labels),
        "series": ", ".join(series),
        **_extremes(labels, totals, fmt_number),
    }

    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        _stack(ax, labels, series, horizontal)
        figure.legend(loc="outside right upper", frameon=False)

    n = len(labels)
    size = (8.0, min(2 + 0.3 * n, 20)) if horizontal else (min(5 + 0.5 * n, 13), 4.0)
    return render_chart(title, alt, Table(title, headers, rows), draw, size)


def _stack(
    ax: Axes, labels: list[str], series: dict[str, list[float]], horizontal: bool
) -> None:
    base = np.zeros(len(labels))
    for i, (name, raw) in enumerate(series.items()):
        values = np.array([float(v) for v in raw])
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        style: dict[str, Any] = {"color": colour, "label": shorten(name, 30)}
        if horizontal:
            ax.barh(range(len(labels)), values, left=base, **style)
        else:
            ax.bar(range(len(labels)), values, bottom=base, **style)
        base = base + values
    category_ticks(ax, [shorten(x, 28) for x in labels], horizontal)
    _count_axis(ax, [float(v) for raw in series.values() for v in raw], horizontal)


def box_by_group(
    title: str,
    groups: dict[str, list[float]],
    *,
    xlabel: str,
    ylabel: str,
    _: Words = same,
) -> Chart:
    """A box plot per group with its points over it (small groups are common)."""
    headers = [xlabel, "n", _("Median"), "Q1", "Q3", _("Min"), _("Max")]
    filled = {str(k): [float(v) for v in vals] for k, vals in groups.items() if vals}
    if not filled:
        return empty_chart(title, xlabel, ylabel, headers, _=_)
    rows = [_box_row(str(k), [float(v) for v in vals]) for k, vals in groups.items()]
    medians = {k: median(v) for k, v in filled.items()}
    alt = _(
        "Box plot, %(title)s; groups: %(n)s; medians highest %(high)s "
        "(%(high_value)s), lowest %(low)s (%(low_value)s)"
    ) % {
        "title": title,
        "n": len(filled),
        **_extremes(list(medians), list(medians.values()), fmt_number),
    }

    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        ax.boxplot(
            list(filled.values()),
            tick_labels=[f"{shorten(k, 18)}\n(n={len(v)})" for k, v in filled.items()],
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
    return render_chart(title, alt, Table(title, headers, rows), draw, size)


def _box_row(name: str, values: list[float]) -> list[str]:
    if not values:
        return [name, "0", "", "", "", "", ""]
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    stats = (q2, q1, q3, min(values), max(values))
    return [name, str(len(values)), *(fmt_number(float(s)) for s in stats)]


def adherence_chart(
    title: str,
    items: Sequence[tuple[str, str, float | None]],
    *,
    _: Words = same,
) -> Chart:
    """Share of studies adhering to each item (0-1), in the instrument's order."""
    xlabel, ylabel = _("Studies adhering (%)"), _("Item")
    headers = [_("Item"), _("Label"), xlabel]
    if not items:
        return empty_chart(title, xlabel, ylabel, headers, _=_)
    rows = [
        [code, label, _("no data") if share is None else fmt_percent(share * 100)]
        for code, label, share in items
    ]
    known = [(code, share * 100) for code, _label, share in items if share is not None]
    alt = _("Per-item adherence, %(title)s; items: %(n)s") % {
        "title": title,
        "n": len(items),
    }
    if known:
        alt = _(
            "Per-item adherence, %(title)s; items: %(n)s; highest %(high)s "
            "(%(high_value)s), lowest %(low)s (%(low_value)s)"
        ) % {
            "title": title,
            "n": len(items),
            **_extremes([c for c, _v in known], [v for _c, v in known], fmt_percent),
        }
    ticks = [f"{code}. {shorten(label, 45)}" for code, label, _share in items]
    lines = textwrap.wrap(title, 80)
    top = 0.3 + 0.2 * len(lines)
    height = top + 0.65 + 0.25 * len(items)

    def draw(figure: Figure) -> None:
        set_margins(figure, 0.45 + max(map(text_width, ticks)), 0.25, top, 0.55)
        ax = titled_axes(figure, "", xlabel, ylabel)
        figure_heading(figure, lines)
        values = [0.0 if s is None else s * 100 for _code, _label, s in items]
        bars = ax.barh(range(len(items)), values, color=OKABE_ITO[0])
        category_ticks(ax, ticks, horizontal=True)
        ax.set_ylim(len(items) - 0.5, -0.5)  # no empty band above and below
        ax.bar_label(bars, labels=[r[2] for r in rows], padding=2, fontsize=8)
        ax.set_xlim(0, 112)
        ax.xaxis.set_major_formatter(PercentFormatter(100))

    table = Table(title, headers, rows)
    return render_chart(title, alt, table, draw, (8.0, height), layout=None)
