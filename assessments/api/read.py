"""Read endpoints: projects, instrument versions, studies, assessments with
their answers, consensus, agreement and dashboard figures, and reports."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from .. import access
from . import serializers as out
from .base import ApiView, project_for


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


class Versions(ApiView):
    pass


class VersionDetail(ApiView):
    pass


class StudyList(ApiView):
    pass


class StudyDetail(ApiView):
    pass


class Assessments(ApiView):
    pass


class Consensus(ApiView):
    pass


class Agreement(ApiView):
    pass


class Dashboard(ApiView):
    pass


class Reports(ApiView):
    pass


class ReportDetail(ApiView):
    pass


class ReportFile(ApiView):
    pass


class AssessmentDetail(ApiView):
    pass
