"""Drift: each reviewer's agreement with the reference, and their leniency, by
month, as line charts with the same numbers in a table beside them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .base import (
    OKABE_ITO,
    Chart,
    Table,
    Words,
    fmt_number,
    fmt_percent,
    gettext_noop,
    render_chart,
    same,
    shorten,
    titled_axes,
)

# A month with fewer complete studies says more about chance than about drift
# (the same rule as every per-reviewer figure); callers normally drop them
# already, the chart drops them again so it can never draw one.
MIN_STUDIES = 3
# Shape as well as colour tells the lines apart, in grey print too.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
XLABEL = gettext_noop("Month")


def _kept(
    series: Sequence[Mapping[str, Any]], field: str, minimum: int
) -> dict[str, dict[str, tuple[int, float]]]:
    """name -> month -> (studies, value), only months with enough studies."""
    lines: dict[str, dict[str, tuple[int, float]]] = {}
    for line in series:
        points = {
            str(p["month"]): (int(p["studies"]), float(p[field]))
            for p in line.get("periods", [])
            if int(p["studies"]) >= minimum and p.get(field) is not None
        }
        if points:
            lines[str(line["name"])] = points
    return lines


def line_chart(
    title: str,
    lines: Mapping[str, Mapping[str, tuple[int, float]]],
    *,
    ylabel: str,
    percent: bool = False,
    _: Words = same,
) -> Chart:
    """One line per name over the months any of them has (values 0-100 when
    `percent`); a month a line lacks is a gap, not a zero."""
    months = sorted({m for points in lines.values() for m in points})
    fmt = fmt_percent if percent else fmt_number
    rows = [
        [name, month, str(points[month][0]), fmt(points[month][1])]
        for name, points in lines.items()
        for month in sorted(points)
    ]
    xlabel = _(XLABEL)
    table = Table(title, [_("Reviewer"), xlabel, _("Studies"), ylabel], rows)
    latest = ", ".join(
        _("%(name)s %(value)s in %(month)s")
        % {"name": name, "value": fmt(points[max(points)][1]), "month": max(points)}
        for name, points in lines.items()
    )
    alt = _(
        "Line chart, %(title)s; reviewers: %(reviewers)s; months: %(months)s "
        "(%(first)s to %(last)s); latest: %(latest)s."
    ) % {
        "title": title,
        "reviewers": len(lines),
        "months": len(months),
        "first": months[0],
        "last": months[-1],
        "latest": latest,
    }

    def draw(figure: Figure) -> None:
        ax = titled_axes(figure, title, xlabel, ylabel)
        for i, (name, points) in enumerate(lines.items()):
            ys = [points[m][1] if m in points else float("nan") for m in months]
            ax.plot(
                range(len(months)),
                ys,
                marker=MARKERS[i % len(MARKERS)],
                color=OKABE_ITO[i % len(OKABE_ITO)],
                label=shorten(name, 30),
            )
        ax.set_xticks(range(len(months)), months, rotation=30 if len(months) > 6 else 0)
        ax.set_xlim(-0.5, len(months) - 0.5)
        if percent:
            ax.set_ylim(0, 105)
            ax.yaxis.set_major_formatter(PercentFormatter(100))
        else:
            # Zero is "scores like the reference": the line to read leniency from.
            ax.axhline(0, color="#555555", linewidth=0.8, linestyle="--")
        figure.legend(loc="outside right upper", frameon=False)

    size = (min(5.5 + 0.4 * len(months), 12), 3.8)
    return render_chart(title, alt, table, draw, size)


def drift_charts(
    name: str,
    series: Sequence[Mapping[str, Any]],
    unit: str | None,
    *,
    minimum: int = MIN_STUDIES,
    _: Words = same,
) -> list[Chart]:
    """Agreement and (with a total) leniency by month for one instrument version.

    ``series``: {"name", "periods": [{"month", "studies", "agreement" (a
    fraction), "leniency" (reviewer minus reference)}]} per reviewer. No chart
    at all when no month has ``minimum`` studies: the caller says so in words.
    """
    agreement = {
        who: {m: (n, v * 100) for m, (n, v) in points.items()}
        for who, points in _kept(series, "agreement", minimum).items()
    }
    charts = []
    if agreement:
        charts.append(
            line_chart(
                _("Item agreement by month, %(name)s") % {"name": name},
                agreement,
                ylabel=_("Item agreement (%)"),
                percent=True,
                _=_,
            )
        )
    leniency = _kept(series, "leniency", minimum) if unit else {}
    if leniency:
        charts.append(
            line_chart(
                _("Leniency by month, %(name)s") % {"name": name},
                leniency,
                ylabel=_("Mean difference in the total (%(unit)s)") % {"unit": unit},
                _=_,
            )
        )
    return charts
