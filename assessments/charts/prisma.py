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

from .base import Chart, Table, render_chart

ASSESSED = "Reports assessed for eligibility"
EXCLUDED = "Reports excluded"
INCLUDED = "Studies included in review"
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
            key = " ".join(reason.split()) or "No reason given"
            grouped[key] = grouped.get(key, 0) + 1
    reasons = sorted(grouped.items(), key=lambda r: (-r[1], r[0].lower()))
    return PrismaCounts(len(studies), tuple(reasons))


def prisma_rows(counts: PrismaCounts) -> list[list[str]]:
    """The boxes as rows: box, reason, studies."""
    return [
        [ASSESSED, "", str(counts.assessed)],
        [EXCLUDED, "", str(counts.excluded)],
        *[[EXCLUDED, reason, str(n)] for reason, n in counts.reasons],
        [INCLUDED, "", str(counts.included)],
    ]


def prisma_chart(title: str, counts: PrismaCounts) -> Chart:
    reasons = "; ".join(f"{r} ({n})" for r, n in counts.reasons) or "none"
    alt = (
        f"PRISMA 2020 flow diagram, {title}: {ASSESSED.lower()} n = {counts.assessed}; "
        f"{EXCLUDED.lower()} n = {counts.excluded} (reasons: {reasons}); "
        f"{INCLUDED.lower()} n = {counts.included}."
    )
    table = Table(title, ["Box", "Reason", "Studies"], prisma_rows(counts))
    side = [f"{EXCLUDED} (n = {counts.excluded})"]
    side += [
        textwrap.fill(f"{r} (n = {n})", 36, initial_indent="• ", subsequent_indent="  ")
        for r, n in counts.reasons
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
            f"{ASSESSED}\n(n = {counts.assessed})",
            ha="center",
            va="center",
            bbox=BOX,
        )
        ax.text(6.0, 7.4, "\n".join(side), ha="left", va="center", bbox=BOX)
        ax.text(
            2.5,
            2.0,
            f"{INCLUDED}\n(n = {counts.included})",
            ha="center",
            va="center",
            bbox=BOX,
        )
        arrow = {"arrowstyle": "-|>", "color": "black"}
        ax.annotate("", xy=(2.5, 2.8), xytext=(2.5, 6.6), arrowprops=arrow)
        ax.annotate("", xy=(5.8, 7.4), xytext=(4.3, 7.4), arrowprops=arrow)

    height = 4.0 + 0.25 * sum(s.count("\n") + 1 for s in side[1:])
    return render_chart(title, alt, table, draw, (8.0, min(height, 12.0)), layout=None)
