"""The project dashboard: stored for the full view, live for filters and blinding."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from .. import access, selectors
from ..models import DashboardSnapshot, InstrumentVersion, Project
from ..renderers.figures import render_charts
from ..selectors import dashboard
from ..selectors.crosswalk import concept_comparison
from ..selectors.progress import progress_rows
from ..selectors.wording import wording_for
from ..services import snapshots


def _version(project: Project, request: HttpRequest) -> InstrumentVersion:
    wanted = request.GET.get("version", "")
    versions = selectors.project_versions(project)
    version = selectors.project_version(project, wanted) if wanted else None
    if version is None and (wanted or not versions):
        raise Http404("No such instrument in this project")
    return version or versions[0]


def _full_view(project: Project, version: InstrumentVersion) -> dict[str, Any]:
    """The unfiltered dashboard: stored, refreshed by the worker for large projects."""
    snapshot = DashboardSnapshot.objects.filter(
        project=project, version=version
    ).first()
    current = snapshot is not None and snapshot.data_revision == project.data_revision
    small = project.studies.count() <= dashboard.LIVE_LIMIT
    if snapshot is None or (small and not current):
        board = dashboard.compute(project, version, dashboard.Filters())
        snapshots.store(project, board, snapshots.stored_charts(board.figures))
        snapshot = DashboardSnapshot.objects.get(project=project, version=version)
        current = snapshot.data_revision == project.data_revision
    elif not current:
        snapshots.request_refresh(project)
    figures = snapshot.figures["figures"]
    wording = wording_for(version)
    charts = snapshot.figures["charts"]
    if wording.translated or translation.get_language() != settings.LANGUAGE_CODE:
        # Drawn again in the reader's words (cached per language and figures).
        figures = dashboard.in_wording(figures, wording)
        charts = render_charts(figures)
    return {
        "figures": figures,
        "charts": charts,
        "computed_at": snapshot.computed_at,
        "current": current,
        "stored": True,
    }


def _live_view(
    project: Project, version: InstrumentVersion, filters: dashboard.Filters, user: Any
) -> dict[str, Any]:
    board = dashboard.compute(project, version, filters, user=user)
    figures = dashboard.in_wording(board.figures, wording_for(version))
    return {
        "figures": figures,
        "charts": render_charts(figures),
        "computed_at": board.computed_at,
        "current": True,
        "stored": False,
    }


def _unrestricted(user: Any, project: Project, version: InstrumentVersion) -> bool:
    """The stored snapshot shows every result: only for those who may see them all."""
    return access.result_filter(user, project, version) is None


@require_GET
def project_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    version = _version(project, request)
    params = {k: request.GET.get(k, "") for k in request.GET}
    per_reviewer = access.sees_per_reviewer_figures(request.user, project)
    if not per_reviewer:
        params.pop("reviewer", None)  # one reviewer's figures are for leads
    filters = dashboard.Filters.from_params(params)
    if filters.active or not _unrestricted(request.user, project, version):
        view = _live_view(project, version, filters, request.user)
    else:
        view = _full_view(project, version)
    page, rows = dashboard.study_table(
        project, version, filters, request.user, request.GET.get("page")
    )
    return render(
        request,
        "assessments/project_dashboard.html",
        {
            "project": project,
            "version": version,
            "filters": filters,
            "page": page,
            "rows": rows,
            "versions": selectors.project_versions(project),
            "params": request.GET,
            "reviewers": get_user_model().objects.filter(
                memberships__project=project, memberships__role__in=["lead", "reviewer"]
            )
            if per_reviewer
            else [],
            "states": [(s, dashboard.STATE_LABELS[s]) for s in dashboard.STATES],
            "can_manage": access.allows(request.user, project, access.Action.MANAGE),
            "reviewer_rows": _reviewer_rows(request.user, project, version, view),
            "sees_everyone": access.sees_everyones_progress(request.user, project),
            "concept_comparison": concept_comparison(request.user, project),
            **view,
        },
    )


def _reviewer_rows(
    user: Any, project: Project, version: InstrumentVersion, view: dict[str, Any]
) -> list[dict[str, Any]]:
    """From the stored dashboard when it is current and the reader sees everyone."""
    stored = view["figures"].get("reviewer_progress")
    if (
        view["stored"]
        and view["current"]
        and stored is not None
        and access.sees_everyones_progress(user, project)
    ):
        return progress_rows(stored, user)
    return selectors.reviewer_progress(user, project, version)


@require_GET
def dashboard_status(request: HttpRequest, slug: str) -> JsonResponse:
    """Whether the stored dashboard is current (the page polls it while stale)."""
    project = access.get_project(request.user, slug)
    version = _version(project, request)
    snapshot = DashboardSnapshot.objects.filter(
        project=project, version=version
    ).first()
    return JsonResponse(
        {
            "current": bool(
                snapshot and snapshot.data_revision == project.data_revision
            ),
            "computed_at": snapshot.computed_at.isoformat() if snapshot else None,
        }
    )
