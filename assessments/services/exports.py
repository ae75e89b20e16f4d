"""Exports: read what the user may see, render the file, record it in the history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from ..charts.prisma import prisma_counts
from ..models import AuditEvent, InstrumentVersion, Project, Resolution
from ..renderers import exports as render
from ..renderers.exports import ExportFile, prisma, redcap
from ..selectors.exports import ExportData, ExportError, export_data
from ..selectors.review import review_studies
from .pseudonyms import reviewer_codes

__all__ = ["ExportError", "ExportFile", "export", "export_json", "export_long"]

# Files for other tools, each in the one format that tool reads.
SHARED_FORMS = {
    "redcap-dictionary": "csv",
    "redcap-data": "csv",
    "prisma": "csv",
    "prisma-svg": "svg",
}


def export(
    user: Any,
    project: Project,
    version: InstrumentVersion,
    form: str,
    fmt: str = "csv",
    *,
    european: bool = False,
    pseudonymise: bool = False,
) -> ExportFile:
    """One export file for the user's view; every export is audited."""
    synthesis = form in render.SYNTHESIS_FORMS
    if form != "json" and form not in SHARED_FORMS and not synthesis:
        render.check_format(fmt)
    data = export_data(user, project, version)
    if pseudonymise:
        data = render.pseudonymise(data, _codes_by_name(project, data))
    if form in SHARED_FORMS:
        file, fmt = _shared_file(project, data, form), SHARED_FORMS[form]
    else:
        rationales = _rationales(data) if form == "revman" else None
        file = render.export(data, form, fmt, european=european, rationales=rationales)
    fmt = "json" if form == "json" else "csv" if synthesis else fmt
    detail = {
        "form": form,
        "format": fmt,
        "instrument": version.key,
        "rows": file.rows,
        "european": european and fmt == "csv" and not synthesis,
    }
    if pseudonymise:
        detail["pseudonymised"] = True
    AuditEvent.objects.record(
        project.pk, user, "export", f"{version.key} {form} {fmt}", detail
    )
    return file


def _shared_file(project: Project, data: ExportData, form: str) -> ExportFile:
    """REDCap and PRISMA files: reviewers as pseudonyms, the review's studies only."""
    if form == "redcap-dictionary":
        name, content, rows = redcap.redcap_dictionary(data)
    elif form == "redcap-data":
        ids = [a.reviewer_id for a in data.assessments if not a.is_consensus]
        codes = reviewer_codes(project, ids)
        name, content, rows = redcap.redcap_data(data, codes)
    else:
        # Counts of studies, not answers: blinding hides nothing here.
        studies = review_studies(project).values_list("excluded", "exclusion_reason")
        counts = prisma_counts(list(studies))
        draw = prisma.prisma_svg if form == "prisma-svg" else prisma.prisma_csv
        name, content, rows = draw(project, counts)
    kind = "image/svg+xml" if form == "prisma-svg" else render.CONTENT_TYPES["csv"]
    return ExportFile(name, kind, content, rows)


def _codes_by_name(project: Project, data: ExportData) -> dict[str, str]:
    """User name -> the project's stable code, for everyone the file names."""
    people = {
        a.reviewer.get_username(): a.reviewer.pk
        for a in data.assessments
        if a.reviewer is not None and not a.is_consensus
    }
    quoted = render.quote_people(data) - people.keys()
    if quoted:
        users = get_user_model()._default_manager.filter(
            **{f"{get_user_model().USERNAME_FIELD}__in": quoted}
        )
        people |= {u.get_username(): u.pk for u in users}
    codes = reviewer_codes(project, people.values())
    return {name: codes[pk] for name, pk in people.items() if pk in codes}


def _rationales(data: ExportData) -> dict[tuple[int, str], str]:
    """Why each item of a visible consensus was settled (RevMan's support)."""
    consensus = [a.pk for a in data.assessments if a.is_consensus]
    rows = Resolution.objects.filter(consensus_id__in=consensus).values_list(
        "consensus_id", "item_code", "rationale"
    )
    return {(pk, code): text for pk, code, text in rows if text}


def export_wide(
    user: Any,
    project: Project,
    version: InstrumentVersion,
    fmt: str,
    *,
    european: bool = False,
) -> ExportFile:
    return export(user, project, version, "wide", fmt, european=european)


def export_long(
    user: Any,
    project: Project,
    version: InstrumentVersion,
    fmt: str,
    *,
    european: bool = False,
) -> ExportFile:
    return export(user, project, version, "long", fmt, european=european)


def export_json(user: Any, project: Project, version: InstrumentVersion) -> ExportFile:
    return export(user, project, version, "json", "json")
