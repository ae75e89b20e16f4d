"""Read endpoints: projects, instrument versions, studies, assessments with
their answers, consensus, agreement and dashboard figures, and reports."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from rqs.storage import pdf_download

from .. import access, selectors
from ..models import Assessment, InstrumentVersion, Paper, Project, Report, Study
from ..selectors import agreement as agreement_figures
from ..selectors import dashboard
from ..selectors.studies import STATE_NAMES
from ..selectors.wording import chosen_split
from . import serializers as out
from .base import ApiView, audit, project_for, version_for
from .pagination import Cursor


class Projects(ApiView):
    @extend_schema(responses=out.ProjectSummary(many=True), summary="Your projects")
    def get(self, request: Request) -> Response:
        projects = out.ProjectSummary.prefetch(access.visible_projects(request.user))
        data = out.ProjectSummary(projects, many=True, context={"request": request})
        return Response(data.data)


class ProjectDetail(ApiView):
    @extend_schema(responses=out.ProjectSummary, summary="One project")
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug)
        data = out.ProjectSummary(project, context={"request": request})
        return Response(data.data)


# --- filters ---------------------------------------------------------------------


def _param(name: str, description: str, **kw: Any) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.QUERY, description=description, **kw
    )


UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    OpenApiParameter.QUERY,
    description="Only what changed at or after this moment (ISO 8601, such as "
    "2026-12-01T00:00:00Z; a date alone means its midnight, UTC).",
)
VERSION = _param("version", "An instrument version key of the project: rqs-1.0.")
SINCE_MESSAGE = "updated_since must be a date and time such as 2026-12-01T00:00:00Z."


def updated_since(request: Request) -> datetime | None:
    raw = request.query_params.get("updated_since", "").strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw)
        day = None if moment else parse_date(raw)
    except ValueError:
        raise ValidationError(SINCE_MESSAGE) from None
    if moment is None and day is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise ValidationError(SINCE_MESSAGE)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def chosen(request: Request, name: str, allowed: Mapping[str, Any]) -> str | None:
    """One of the allowed codes, or a 400 that names them with their labels."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if raw not in allowed:
        named = ", ".join(f"{code} ({label})" for code, label in allowed.items())
        raise ValidationError(f"{name} must be one of: {named}; not '{raw}'.")
    return raw


def version_param(
    request: Request, project: Project, *, default: bool = False
) -> InstrumentVersion | None:
    """The `version` query parameter: one of the project's keys, or a 400."""
    versions = selectors.project_versions(project)
    raw = request.query_params.get("version", "").strip()
    if not raw:
        return versions[0] if default and versions else None
    found = next((v for v in versions if v.key == raw), None)
    if found is None:
        keys = ", ".join(v.key for v in versions) or "none"
        raise ValidationError(
            f"This project does not use the instrument version '{raw}'; "
            f"its versions are: {keys}."
        )
    return found


def paginated(
    view: ApiView,
    request: Request,
    rows: QuerySet[Any],
    serializer: Any,
    **context: Any,
) -> tuple[Response, int]:
    """A page of rows with the `next` link, and how many rows it holds."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(rows, request, view=view) or []
    data = serializer(page, many=True, context={"request": request, **context}).data
    return paginator.get_paginated_response(data), len(page)


# --- instrument versions ---------------------------------------------------------


def _listed_versions() -> QuerySet[InstrumentVersion]:
    return InstrumentVersion.objects.exclude(
        status=InstrumentVersion.Status.DRAFT
    ).select_related("instrument")


class Versions(ApiView):
    @extend_schema(
        operation_id="instruments_list",
        responses=out.VersionSummary(many=True),
        summary="Published and retired instrument versions",
    )
    def get(self, request: Request) -> Response:
        rows = _listed_versions().order_by("instrument__code", "version")
        return Response(out.VersionSummary(rows, many=True).data)


class VersionDetail(ApiView):
    @extend_schema(
        operation_id="instruments_retrieve",
        responses=out.VersionDetail,
        summary="One instrument version with its frozen definition",
    )
    def get(self, request: Request, version: str) -> Response:
        found = next((v for v in _listed_versions() if v.key == version), None)
        if found is None:
            raise Http404(f"No published instrument version '{version}'.")
        return Response(out.VersionDetail(found).data)


# --- studies -----------------------------------------------------------------------


def _studies(request: Request, project: Project) -> QuerySet[Study]:
    """The study list's rows (training studies for leads only), every study
    included or excluded, with the state in the chosen version."""
    version = version_param(request, project, default=True)
    params = {"excluded": "all"}
    state = chosen(request, "state", STATE_NAMES)
    if state:
        params["state"] = state
    rows = selectors.study_list(project, params, version=version, user=request.user)
    edits = Study.history.filter(id=OuterRef("pk")).order_by("-history_date")
    rows = rows.annotate(
        has_paper=Exists(Paper.objects.filter(study=OuterRef("pk"), current=True)),
        updated_at=Coalesce(
            Subquery(edits.values("history_date")[:1]), F("created_at")
        ),
    )
    since = updated_since(request)
    return rows.filter(updated_at__gte=since) if since else rows


STUDY_STATE = _param(
    "state",
    "Only studies in this state: "
    + ", ".join(f"{code} ({label})" for code, label in STATE_NAMES.items())
    + ".",
    enum=list(STATE_NAMES),
)
STUDY_VERSION = _param(
    "version",
    "The instrument version whose state is shown (a key such as rqs-1.0); "
    "the project's first one when left out.",
)


class StudyList(ApiView):
    pagination_class = Cursor

    @extend_schema(
        operation_id="projects_studies_list",
        summary="The project's studies",
        parameters=[STUDY_STATE, STUDY_VERSION, UPDATED_SINCE],
        responses=out.StudySummary(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug)
        response, _ = paginated(
            self,
            request,
            _studies(request, project),
            out.StudySummary,
            sees_training=access.sees_training_studies(request.user, project),
        )
        return response


class StudyDetail(ApiView):
    @extend_schema(
        operation_id="projects_studies_retrieve",
        summary="One study, with the assessments you may see",
        parameters=[STUDY_VERSION],
        responses=out.StudyDetail,
    )
    def get(self, request: Request, slug: str, study: uuid.UUID) -> Response:
        project = project_for(request, slug)
        found = _studies(request, project).filter(uuid=study).first()
        if found is None:
            raise Http404("No such study")
        shown = (
            access.visible_assessments(request.user, project)
            .filter(study=found)
            .select_related("reviewer", "version__instrument")
            .order_by("version_id", "kind", "id")
        )
        data = out.StudyDetail(
            found,
            context={
                "request": request,
                "assessments": list(shown),
                "sees_training": access.sees_training_studies(request.user, project),
            },
        ).data
        return Response(data)


# --- assessments with their answers ----------------------------------------------

STATES = dict(Assessment.Status.choices)
KINDS = dict(Assessment.Kind.choices)
ASSESSMENT_FILTERS = [
    _param("state", "Only assessments with this status.", enum=list(STATES)),
    VERSION,
    _param("reviewer", "Only this reviewer's assessments (a username)."),
    _param("kind", "Only assessments of this kind.", enum=list(KINDS)),
    UPDATED_SINCE,
]


def _filtered(request: Request, project: Project, rows: Any) -> Any:
    state = chosen(request, "state", STATES)
    kind = chosen(request, "kind", KINDS)
    version = version_param(request, project)
    reviewer = request.query_params.get("reviewer", "").strip()
    since = updated_since(request)
    if state:
        rows = rows.filter(status=state)
    if kind:
        rows = rows.filter(kind=kind)
    if version:
        rows = rows.filter(version=version)
    if reviewer:
        rows = rows.filter(reviewer__username=reviewer)
    if since:
        rows = rows.filter(updated_at__gte=since)
    return rows


class Assessments(ApiView):
    pagination_class = Cursor

    @extend_schema(
        operation_id="projects_assessments_list",
        summary="The assessments you may see, with their answers",
        description="Blinded like the pages: a co-reviewer's work on a study "
        "you still review is not listed. Each read is in the audit log.",
        parameters=ASSESSMENT_FILTERS,
        responses=out.AssessmentFull(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug)
        rows = _filtered(
            request, project, access.visible_assessments(request.user, project)
        )
        response, n = paginated(
            self, request, out.AssessmentFull.prefetch(rows), out.AssessmentFull
        )
        if n:
            audit(
                request, project, "api-read-answers", str(project), {"assessments": n}
            )
        return response


class AssessmentDetail(ApiView):
    @extend_schema(
        operation_id="assessments_retrieve",
        summary="One assessment with its answers",
        responses=out.AssessmentFull,
    )
    def get(self, request: Request, assessment: uuid.UUID) -> Response:
        found = access.get_own_assessment(request.user, assessment)
        if not (
            found.reviewer_id == request.user.pk
            or access.can_see_assessment(request.user, found)
        ):
            raise PermissionDenied(
                "Blinded: visible once every reviewer has submitted."
            )
        row = out.AssessmentFull.prefetch(Assessment.objects.filter(pk=found.pk)).get()
        audit(request, found.study.project, "api-read-answers", str(found.study))
        return Response(out.AssessmentFull(row).data)


class Consensus(ApiView):
    pagination_class = Cursor

    @extend_schema(
        operation_id="projects_consensus_list",
        summary="Consensus assessments you may see, with answers and resolutions",
        parameters=[VERSION],
        responses=out.ConsensusFull(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug)
        rows = access.visible_assessments(request.user, project).filter(
            kind=Assessment.Kind.CONSENSUS
        )
        version = version_param(request, project)
        if version:
            rows = rows.filter(version=version)
        response, n = paginated(
            self, request, out.ConsensusFull.prefetch(rows), out.ConsensusFull
        )
        if n:
            audit(
                request, project, "api-read-answers", str(project), {"assessments": n}
            )
        return response


# --- figures -------------------------------------------------------------------------


class Agreement(ApiView):
    @extend_schema(
        operation_id="projects_agreement_retrieve",
        summary="Agreement figures for one instrument version",
        description="The agreement page's figures: aggregates only, without the "
        "studies you still review.",
        parameters=[
            _param(
                "language",
                "Only the studies whose reviewers all used this wording of the "
                "instrument: en, nl, de, or mixed (`wording_languages` lists them).",
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, slug: str, version: str) -> Response:
        project = project_for(request, slug)
        found = version_for(project, version)
        try:
            language = chosen_split(request.query_params.get("language", ""))
        except ValueError:
            raise ValidationError(
                "language must be a language code such as en, nl or de, or mixed."
            ) from None
        return Response(
            agreement_figures.project_agreement(project, found, request.user, language)
        )


class Dashboard(ApiView):
    @extend_schema(
        operation_id="projects_dashboard_retrieve",
        summary="Dashboard figures for one instrument version",
        responses=out.DashboardOut,
    )
    def get(self, request: Request, slug: str, version: str) -> Response:
        project = project_for(request, slug)
        found = version_for(project, version)
        # Always live and for this user: the stored snapshot shows every result.
        board = dashboard.compute(
            project, found, dashboard.Filters(), user=request.user
        )
        data = {
            "version": found.key,
            "computed_at": board.computed_at,
            "figures": board.figures,
        }
        return Response(out.DashboardOut(data).data)


# --- reports -------------------------------------------------------------------------


class ReportCursor(Cursor):
    ordering = "-created_at"


def _report(request: Request, slug: str, report: uuid.UUID) -> Report:
    """A report whose content the user may see now (as the report pages)."""
    project = project_for(request, slug)
    found = (
        Report.objects.select_related("project", "version__instrument")
        .filter(project=project, uuid=report)
        .first()
    )
    if found is None or not access.may_download(request.user, found):
        raise Http404("No such report")
    return found


class Reports(ApiView):
    pagination_class = ReportCursor

    @extend_schema(
        operation_id="projects_reports_list",
        summary="The reports you requested in this project",
        responses=out.ReportSummary(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request, slug)
        rows = Report.objects.filter(
            project=project, requested_by_id=request.user.pk
        ).select_related("project", "version__instrument")
        response, _ = paginated(self, request, rows, out.ReportSummary)
        return response


class ReportDetail(ApiView):
    @extend_schema(
        operation_id="projects_reports_retrieve",
        summary="One report's status",
        responses=out.ReportSummary,
    )
    def get(self, request: Request, slug: str, report: uuid.UUID) -> Response:
        found = _report(request, slug, report)
        return Response(out.ReportSummary(found, context={"request": request}).data)


class ReportFile(ApiView):
    @extend_schema(
        operation_id="projects_reports_file",
        summary="Download a report's PDF",
        description=(
            "The PDF's bytes. With `redirect=1` and object storage, a 302 to a "
            "signed link valid for 60 seconds instead (issued after the access "
            "check); with local storage the bytes all the same."
        ),
        parameters=[
            OpenApiParameter(
                "redirect",
                OpenApiTypes.BOOL,
                description="1: answer with a 60-second signed link if there is one",
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="Redirect to a 60-second signed link"),
        },
    )
    def get(self, request: Request, slug: str, report: uuid.UUID) -> HttpResponseBase:
        found = _report(request, slug, report)
        if found.status != Report.Status.DONE or not found.file:
            raise Http404("The report is not ready")
        audit(
            request, found.project, "download", found.kind, {"report": str(found.uuid)}
        )
        signed = request.query_params.get("redirect") in ("1", "true")
        return pdf_download(found.file, signed=signed)
