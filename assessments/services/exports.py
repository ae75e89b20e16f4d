"""Exports: read what the user may see, render the file, record it in the history."""

from __future__ import annotations

from typing import Any

from ..models import AuditEvent, InstrumentVersion, Project
from ..renderers import exports as render
from ..renderers.exports import ExportFile
from ..selectors.exports import ExportError, export_data

__all__ = ["ExportError", "ExportFile", "export", "export_json", "export_long"]


def export(
    user: Any,
    project: Project,
    version: InstrumentVersion,
    form: str,
    fmt: str = "csv",
    *,
    european: bool = False,
) -> ExportFile:
    """One export file for the user's view; every export is audited."""
    if form != "json":
        render.check_format(fmt)
    data = export_data(user, project, version)
    file = render.export(data, form, fmt, european=european)
    fmt = "json" if form == "json" else fmt
    detail = {
        "form": form,
        "format": fmt,
        "instrument": version.key,
        "rows": file.rows,
        "european": european and fmt == "csv",
    }
    AuditEvent.objects.record(
        project.pk, user, "export", f"{version.key} {form} {fmt}", detail
    )
    return file


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
