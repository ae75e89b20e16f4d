"""Exports through the API: the same files as the export page, answered
synchronously, blinded and audited by the same service."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from ..services import exports
from .base import ApiView, project_for, version_for

# The export's name in the path -> what the file is, for the schema and errors.
EXPORTS = {
    "robvis": "robvis: risk of bias per domain, for traffic-light plots (QUADAS-2)",
    "robvis-applicability": "robvis: applicability concerns per domain (QUADAS-2)",
    "revman": "RevMan Web: judgements with their support, for import (QUADAS-2)",
    "redcap-dictionary": "REDCap data dictionary: the instrument as a REDCap form",
    "redcap-data": "REDCap data: a row per assessment, to import into that form",
    "prisma": "PRISMA 2020 counts (CSV): studies assessed, excluded, included",
    "prisma-svg": "PRISMA 2020 diagram (SVG) of the same counts",
    "wide": "Wide: a row per study and reviewer, a column per item, totals",
    "long": "Long: a row per answer, with evidence, page and comment",
    "quotes": "Quotes: a row per quote from a paper, with its page and selectors",
    "json": "JSON: with the instrument version's metadata and a codebook",
}
FILE_TYPES = ("csv", "xlsx")
TRUE = ("1", "true", "on", "yes")


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in TRUE


class Export(ApiView):
    """GET /api/v1/projects/{slug}/exports/{version}/{export}"""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is a file, whatever the client accepts; and the path's
        # `export` must not be read as DRF's format suffix.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download an export file",
        description="Every export of the export page, by name: "
        + "; ".join(f"`{k}`: {v}" for k, v in EXPORTS.items())
        + ". Blinded like the pages and recorded in the project's history.",
        operation_id="projects_exports_retrieve",
        parameters=[
            OpenApiParameter("export", str, OpenApiParameter.PATH, enum=list(EXPORTS)),
            OpenApiParameter(
                "version",
                str,
                OpenApiParameter.PATH,
                description="The instrument version's key, such as rqs-1.0.",
            ),
            OpenApiParameter(
                "as",
                str,
                enum=list(FILE_TYPES),
                description="File type of the wide, long and quotes exports "
                "(csv by default); the others have one type each.",
            ),
            OpenApiParameter(
                "european",
                bool,
                description="CSV with semicolons and decimal commas.",
            ),
            OpenApiParameter(
                "pseudonymise",
                bool,
                description="Reviewers as stable codes (R1, R2, ...) of the project.",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "image/svg+xml"): OpenApiTypes.STR,
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request, slug: str, version: str, export: str) -> Any:
        project = project_for(request, slug)
        chosen = version_for(project, version)
        if export not in EXPORTS:
            raise Http404(
                f"There is no export called '{export}'. The exports are: "
                + ", ".join(EXPORTS)
                + "."
            )
        file_type = request.query_params.get("as", "csv")
        if file_type not in FILE_TYPES:
            raise ValidationError(
                {"as": f"'{file_type}' is not a file type: use csv or xlsx."}
            )
        try:
            file = exports.export(
                request.user,
                project,
                chosen,
                export,
                file_type,
                european=_flag(request, "european"),
                pseudonymise=_flag(request, "pseudonymise"),
            )
        except exports.ExportError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        response = HttpResponse(file.content, content_type=file.content_type)
        disposition = content_disposition_header(True, file.filename)
        response["Content-Disposition"] = disposition or "attachment"
        # Blinded data: no shared cache may keep it.
        response["Cache-Control"] = "private, no-store"
        return response
