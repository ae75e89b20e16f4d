"""Reports: request (reused by fingerprint), progress, download, retry."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rqs.storage import pdf_download

from .. import access, selectors
from ..models import Assessment, AuditEvent, Report
from ..selectors.reports import (
    ReportRequest,
    instrument_label,
    report_stage,
    report_stages,
)
from ..services import reports as report_service


def _own_report(request: HttpRequest, slug: str, uuid: uuid.UUID) -> Report:
    """A report whose content the user may see now (role and blinding today)."""
    project = access.get_project(request.user, slug)
    report = (
        Report.objects.select_related("project", "version")
        .filter(project=project, uuid=uuid)
        .first()
    )
    if report is None or not access.may_download(request.user, report):
        raise Http404("No such report")
    return report


@require_GET
def report_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    mine = Report.objects.filter(
        project=project, requested_by_id=request.user.pk
    ).select_related("version__instrument")[:50]
    return render(
        request,
        "assessments/report_list.html",
        {
            "project": project,
            "reports": mine,
            "versions": selectors.project_versions(project),
        },
    )


def _target(request: HttpRequest, project, kind: str, version):  # type: ignore[no-untyped-def]
    study = assessment = None
    if kind == "study":
        study = access.get_study(request.user, project, request.POST.get("study"))
    if kind == "assessment":
        assessment = access.get_own_assessment(
            request.user, request.POST.get("assessment")
        )
        if assessment.study.project_id != project.pk:
            raise Http404("No such assessment")
        study = assessment.study
    return study, assessment


@require_POST
def report_request(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    kind = request.POST.get("kind", "project")
    version = selectors.project_version(project, request.POST.get("version"))
    if kind not in Report.Kind.values or version is None:
        return HttpResponse(
            _("Choose a report kind and an instrument of the project."), status=400
        )
    try:
        study, assessment = _target(request, project, kind, version)
    except Exception as exc:  # bad UUIDs and foreign objects are simply not found
        if isinstance(exc, Http404 | PermissionError):
            raise
        raise Http404("No such study or assessment") from exc
    req = ReportRequest(
        kind=kind,
        project=project,
        version=version,
        user=request.user,
        study=study,
        assessment=assessment if isinstance(assessment, Assessment) else None,
        appendix=request.POST.get("appendix") == "1",
    )
    try:
        report, created = report_service.request_report(req)
    except report_service.ReportQueueError as exc:
        messages.error(request, str(exc))
        return redirect("project-reports", slug=slug)
    if not created:
        messages.info(
            request, _("Nothing changed since this report was made: here it is again.")
        )
    return redirect("report-status", slug=slug, uuid=report.uuid)


@require_GET
def report_status(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    report = _own_report(request, slug, uuid)
    stage = report_stage(report.status, report.progress)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "status": report.status,
                "progress": report.progress,
                "stage": stage,
                "error": report.error,
            }
        )
    # htmx polls for the status fragment alone while the worker renders.
    template = "assessments/report_status.html"
    if getattr(request, "htmx", False):
        template += "#report-state"
    context = {
        "project": report.project,
        "report": report,
        "stage": stage,
        "stages": report_stages(report.progress),
        "instrument": instrument_label(report.version.as_definition(), report.version),
    }
    return render(request, template, context)


@require_GET
def report_download(
    request: HttpRequest, slug: str, uuid: uuid.UUID
) -> HttpResponseBase:
    report = _own_report(request, slug, uuid)
    if report.status != Report.Status.DONE or not report.file:
        raise Http404("The report is not ready")
    AuditEvent.objects.record(
        report.project_id,
        request.user,
        "download",
        report.kind,
        {"report": str(report.uuid)},
    )
    # In object storage: a link valid 60 s, issued only now, after the check
    # (the browser follows it; no web thread is held while a PDF downloads).
    return pdf_download(report.file, signed=True)


@require_POST
def report_retry(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    report = _own_report(request, slug, uuid)
    try:
        report_service.retry_report(report)
    except report_service.ReportQueueError as exc:
        messages.error(request, str(exc))
    return redirect("report-status", slug=slug, uuid=report.uuid)
