"""/api/schema/, /api/docs/ and /api/v1/; `rqs/urls.py` includes them at /api/.

Path parameters are named for what they hold: `slug` (a project), `study` and
`assessment` (UUIDs), `version` (a key such as `rqs-1.0`), `item` (an item
code), `report` (a UUID) and `export` (an export's name).
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import exports, read, schema, write
from .base import ApiView


class Schema(ApiView, SpectacularAPIView):
    """The OpenAPI 3 document: YAML, or JSON with ?format=json."""


class Docs(ApiView, SpectacularSwaggerSplitView):
    """Swagger UI from our own static files (drf-spectacular-sidecar), its
    start-up script a separate file: the strict CSP runs no inline script."""


# Importing them registers the schema's descriptions of our authentication.
AUTHENTICATION_IN_SCHEMA = (schema.BearerToken, schema.Session)
v1 = "v1/"
urlpatterns = [
    path("schema/", Schema.as_view(), name="api-schema"),
    path("docs/", Docs.as_view(url_name="api-schema"), name="api-docs"),
    path(f"{v1}projects/", read.Projects.as_view(), name="api-projects"),
    path(
        f"{v1}projects/<slug:slug>/", read.ProjectDetail.as_view(), name="api-project"
    ),
    path(f"{v1}instruments/", read.Versions.as_view(), name="api-versions"),
    path(
        f"{v1}instruments/<str:version>/",
        read.VersionDetail.as_view(),
        name="api-version",
    ),
    path(
        f"{v1}projects/<slug:slug>/studies/",
        write.Studies.as_view(),
        name="api-studies",
    ),
    path(
        f"{v1}projects/<slug:slug>/studies/<uuid:study>/",
        read.StudyDetail.as_view(),
        name="api-study",
    ),
    path(
        f"{v1}projects/<slug:slug>/assessments/",
        read.Assessments.as_view(),
        name="api-assessments",
    ),
    path(
        f"{v1}projects/<slug:slug>/assignments/",
        write.Assignments.as_view(),
        name="api-assignments",
    ),
    path(
        f"{v1}projects/<slug:slug>/consensus/",
        read.Consensus.as_view(),
        name="api-consensus",
    ),
    path(
        f"{v1}projects/<slug:slug>/agreement/<str:version>/",
        read.Agreement.as_view(),
        name="api-agreement",
    ),
    path(
        f"{v1}projects/<slug:slug>/dashboard/<str:version>/",
        read.Dashboard.as_view(),
        name="api-dashboard",
    ),
    path(
        f"{v1}projects/<slug:slug>/reports/", read.Reports.as_view(), name="api-reports"
    ),
    path(
        f"{v1}projects/<slug:slug>/reports/<uuid:report>/",
        read.ReportDetail.as_view(),
        name="api-report",
    ),
    path(
        f"{v1}projects/<slug:slug>/reports/<uuid:report>/file",
        read.ReportFile.as_view(),
        name="api-report-file",
    ),
    path(
        f"{v1}projects/<slug:slug>/exports/<str:version>/<str:export>",
        exports.Export.as_view(),
        name="api-export",
    ),
    path(
        f"{v1}assessments/<uuid:assessment>/",
        read.AssessmentDetail.as_view(),
        name="api-assessment",
    ),
    path(
        f"{v1}assessments/<uuid:assessment>/answers/<str:item>",
        write.Answer.as_view(),
        name="api-answer",
    ),
    path(
        f"{v1}assessments/<uuid:assessment>/submit",
        write.Submit.as_view(),
        name="api-submit",
    ),
]
