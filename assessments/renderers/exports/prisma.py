"""PRISMA 2020 appraisal-stage counts as CSV and as an SVG box diagram."""

from __future__ import annotations

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _

from ...charts.prisma import PrismaCounts, prisma_chart, prisma_rows
from ...models import Project
from . import neutralise


def prisma_csv(project: Project, counts: PrismaCounts) -> tuple[str, bytes, int]:
    """(filename, bytes, rows): box, reason, studies."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["box", "reason", "studies"])
    rows = prisma_rows(counts, _=_)
    writer.writerows(
        [neutralise(box), neutralise(reason), n] for box, reason, n in rows
    )
    # The byte-order mark makes Excel read UTF-8, as in the other CSV exports.
    content = ("\ufeff" + out.getvalue()).encode("utf-8")
    return _filename(project, "csv"), content, len(rows)


def prisma_svg(project: Project, counts: PrismaCounts) -> tuple[str, bytes, int]:
    title = _("Appraisal stage: %(project)s") % {"project": project.name}
    chart = prisma_chart(title, counts, _=_)
    return _filename(project, "svg"), chart.svg.encode("utf-8"), counts.assessed


def _filename(project: Project, ext: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d")
    return f"{project.slug}-prisma-{stamp}.{ext}"
