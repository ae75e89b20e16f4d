"""PRISMA 2020 boxes for the appraisal stage: assessed, excluded with reasons, included.

Pure: counts in, an accessible SVG (role, <title>, <desc>) and its data table
out. The wording follows the PRISMA 2020 flow diagram's last boxes (Page et
al., BMJ 2021;372:n71), the stage a quality appraisal is part of.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from ..words import Words, gettext_noop, same
from .base import Chart, Table, render_chart

# English source texts; translated where they are drawn (`_(ASSESSED)`).
ASSESSED = gettext_noop("Reports assessed for eligibility")
EXCLUDED = gettext_noop("Reports excluded")
INCLUDED = gettext_noop("Studies included in review")
# The reason of an exclusion without one: a key of the counts, in English.
NO_REASON = gettext_noop("No reason given")
BOX = {"boxstyle": "square,pad=0.6", "facecolor": "white", "edgecolor": "black"}


@dataclass(frozen=True)
class PrismaCounts:
    assessed: int
    reasons: tuple[tuple[str, int], ...]  # (reason, studies), most frequent first

    @property
    def excluded(self) -> int:
        return sum(n for _, n in self.reasons)

    @property
    def included(self) -> int:
        return self.assessed - self.excluded


def prisma_counts(studies: Sequence[tuple[bool, str]]) -> PrismaCounts:
    """From (excluded, reason) per study; reasons grouped by their trimmed text."""
    grouped: dict[str, int] = {}
    for excluded, reason in studies:
        if excluded:
            key = " ".join(reason.split()) or NO_REASON
            grouped[key] = grouped.get(key, 0) + 1
    reasons = sorted(grouped.items(), key=lambda r: (-r[1], r[0].lower()))
    return PrismaCounts(len(studies), tuple(reasons))


def _reasons(counts: PrismaCounts, _: Words) -> list[tuple[str, int]]:
    """The reasons as drawn: the one for "no reason" in the reader's words."""
    return [(_(NO_REASON) if r == NO_REASON else r, n) for r, n in counts.reasons]


def prisma_rows(counts: PrismaCounts, *, _: Words = same) -> list[list[str]]:
    """The boxes as rows: box, reason, studies."""
    return [
        [_(ASSESSED), "", str(counts.assessed)],
        [_(EXCLUDED), "", str(counts.excluded)],
        *[[_(EXCLUDED), reason, str(n)] for reason, n in _reasons(counts, _)],
        [_(INCLUDED), "", str(counts.included)],
    ]


def prisma_chart(title: str, counts: PrismaCounts, *, _: Words = same) -> Chart:
    reasons = _reasons(counts, _)
    numbers = {
        "title": title,
        "assessed": counts.assessed,
        "excluded": counts.excluded,
        "included": counts.included,
        "reasons": "; ".join(f"{r} ({n})" for r, n in reasons),
    }
    if reasons:
        alt = _(
            "PRISMA 2020 flow diagram, %(title)s: reports assessed for eligibility "
            "n = %(assessed)s; reports excluded n = %(excluded)s (reasons: "
            "%(reasons)s); studies included in review n = %(included)s."
        )
    else:
        alt = _(
            "PRISMA 2020 flow diagram, %(title)s: reports assessed for eligibility "
            "n = %(assessed)s; reports excluded n = %(excluded)s (reasons: none); "
            "studies included in review n = %(included)s."
        )
    alt %= numbers
    headers = [_("Box"), _("Reason"), _("Studies")]
    table = Table(title, headers, prisma_rows(counts, _=_))
    side = [f"{_(EXCLUDED)} (n = {counts.excluded})"]
    side += [
        textwrap.fill(f"{r} (n = {n})", 36, initial_indent="• ", subsequent_indent="  ")
        for r, n in reasons
    ]

    def draw(figure: Figure) -> None:
        ax = figure.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.text(0.3, 9.6, textwrap.fill(title, 80), fontweight="bold", va="top")
        ax.text(
            2.5,
            7.4,
            f"{_(ASSESSED)}\n(n = {counts.assessed})",
            ha="center",
            va="center",
            bbox=BOX,
        )
        ax.text(6.0, 7.4, "\n".join(side), ha="left", va="center", bbox=BOX)
        ax.text(
            2.5,
            2.0,
            f"{_(INCLUDED)}\n(n = {counts.included})",
            ha="center",
            va="center",
            bbox=BOX,
        )
        arrow = {"arrowstyle": "-|>", "color": "black"}
        ax.annotate("", xy=(2.5, 2.8), xytext=(2.5, 6.6), arrowprops=arrow)
        ax.annotate("", xy=(5.8, 7.4), xytext=(4.3, 7.4), arrowprops=arrow)

    height = 4.0 + 0.25 * sum(s.count("\n") + 1 for s in side[1:])
    return render_chart(title, alt, table, draw, (8.0, min(height, 12.0)), layout=None)
