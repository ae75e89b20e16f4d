"""Read endpoints (a helper is building these)."""

from __future__ import annotations

from .base import ApiView


class Projects(ApiView):
    pass


class ProjectDetail(ApiView):
    pass


class Versions(ApiView):
    pass


class VersionDetail(ApiView):
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
