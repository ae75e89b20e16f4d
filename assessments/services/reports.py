"""Report requests: fingerprint, reuse, enqueue, run, and the stuck-job sweep."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import access, queue
from ..models import AuditEvent, InstrumentVersion, Project, Report
from ..renderers.reports import RENDERER_VERSION, render_report
from ..selectors.reports import ReportRequest
from ..selectors.wording import wording_for
from . import languages
from .notifications import notify_report_ready

logger = logging.getLogger(__name__)


class ReportQueueError(Exception):
    """The broker is unreachable: the request is recorded as failed, retry later."""


def _view_key(user: Any, project: Project, version: InstrumentVersion) -> str:
    """Who the content was made for: one key per distinct blinding view."""
    unrestricted = access.result_filter(user, project, version) is None
    return "full" if unrestricted else f"user:{user.pk}"


def _data_key(user: Any, req: ReportRequest) -> list[Any]:
    """The visible assessments the report is made from, with their revisions."""
    visible = access.visible_assessments(user, req.project).filter(version=req.version)
    if req.kind == "assessment" and req.assessment is not None:
        visible = visible.filter(pk=req.assessment.pk)
    elif req.kind == "study" and req.study is not None:
        visible = visible.filter(study=req.study)
    rows = visible.order_by("pk").values_list("pk", "revision", "status", "stale")
    return [req.project.data_revision, list(rows)]


def requested_language() -> str:
    """The language the requester reads the platform in right now."""
    return languages.supported(translation.get_language() or "") or (
        settings.LANGUAGE_CODE
    )


def fingerprint(req: ReportRequest, language: str | None = None) -> str:
    payload: dict[str, Any] = {
        "kind": req.kind,
        "project": req.project.pk,
        "version": req.version.pk,
        "study": req.study.pk if req.study else None,
        "assessment": req.assessment.pk if req.assessment else None,
        "appendix": req.appendix,
        "percent": req.project.percent_convention,
        "renderer": RENDERER_VERSION,
        "scoring": req.version.scoring_hash,
        "revision": req.version.revision,
        "view": _view_key(req.user, req.project, req.version),
        "data": _data_key(req.user, req),
    }
    # Only another language joins the payload, so the fingerprints of reports
    # stored before reports were translated stay the same and are reused.
    if language and language != settings.LANGUAGE_CODE:
        payload["language"] = language
        # The instrument's words in that language: a corrected translation
        # makes a new report, as a new English wording revision does.
        words = wording_for(req.version, language).translation
        if words is not None:
            payload["wording"] = [words.language, words.revision]
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def request_report(req: ReportRequest) -> tuple[Report, bool]:
    """Reuse a report made from the same data, view and language, or queue one."""
    language = requested_language()
    print_ = fingerprint(req, language)
    with transaction.atomic():
        reusable = Report.objects.filter(
            fingerprint=print_,
            project=req.project,
            status__in=[
                Report.Status.DONE,
                Report.Status.QUEUED,
                Report.Status.RUNNING,
            ],
        ).first()
        if reusable is not None:
            return reusable, False
        report = Report.objects.create(
            project=req.project,
            version=req.version,
            kind=req.kind,
            study=req.study,
            assessment=req.assessment,
            options={
                "appendix": req.appendix,
                # What the file may show, checked again at every download.
                "scope": access.report_scope(
                    req.user, req.project, req.version, req.study, req.assessment
                ),
                # Kept on the row, so a retry or a redelivered job renders
                # in the language it was asked for.
                "language": language,
            },
            fingerprint=print_,
            requested_by=req.user,
        )

        AuditEvent.objects.record(
            req.project.pk,
            req.user,
            "report-request",
            req.kind,
            {"report": str(report.uuid), "version": req.version.key},
        )
    enqueue(report)
    report.refresh_from_db()
    return report, True


def enqueue(report: Report) -> None:
    """Send the job to the worker; a dead broker fails fast with a clear message."""
    try:
        task_id = queue.render_report(report.pk)
    except queue.QueueUnavailable as exc:
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.FAILED,
            error=_(
                "The report service is unavailable (the task queue did not "
                "answer). Your data is safe; please try again in a few minutes."
            ),
            finished_at=timezone.now(),
        )
        raise ReportQueueError(
            _("The report service is unavailable; try again later.")
        ) from exc
    Report.objects.filter(pk=report.pk).update(task_id=task_id)


def retry_report(report: Report) -> Report:
    if report.status != Report.Status.FAILED:
        return report
    Report.objects.filter(pk=report.pk).update(
        status=Report.Status.QUEUED,
        error="",
        progress=0,
        started_at=None,
        finished_at=None,
    )
    report.refresh_from_db()
    enqueue(report)
    return report


def request_for(report: Report) -> ReportRequest:
    return ReportRequest(
        kind=report.kind,
        project=report.project,
        version=report.version,
        user=report.requested_by,
        study=report.study,
        assessment=report.assessment,
        appendix=bool(report.options.get("appendix")),
    )


def run_report(report_id: int) -> str:
    """Render one report (called by the task; safe to run again after a crash)."""
    report = Report.objects.select_related(
        "project", "version__instrument", "study", "assessment", "requested_by"
    ).get(pk=report_id)
    if report.status == Report.Status.DONE:
        return "done"
    Report.objects.filter(pk=report.pk).update(
        status=Report.Status.RUNNING,
        started_at=timezone.now(),
        progress=1,
        attempts=report.attempts + 1,
    )

    def progress(value: int) -> None:
        Report.objects.filter(pk=report.pk).update(progress=value)

    req = request_for(report)
    # The requester's view when the content is drawn, not when it was asked
    # for: downloads are checked against what the file really shows.
    scope = access.report_scope(
        req.user, req.project, req.version, req.study, req.assessment
    )
    language = languages.supported(str(report.options.get("language", "")))
    try:
        with translation.override(language or settings.LANGUAGE_CODE):
            pdf = render_report(req, progress)
    except Exception as exc:
        logger.exception("Report %s failed", report.pk)
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return "failed"
    name = f"{report.kind}-{report.project.slug}-{report.uuid}.pdf"
    report.file.save(name, ContentFile(pdf), save=False)
    Report.objects.filter(pk=report.pk).update(
        file=report.file.name,
        options={**report.options, "scope": scope},
        size=len(pdf),
        status=Report.Status.DONE,
        progress=100,
        finished_at=timezone.now(),
        error="",
    )
    notify_report_ready(report)
    return "done"


def sweep_stuck_reports() -> int:
    """Fail jobs still 'running' after the visibility timeout plus the time limit.

    Never earlier: until then the broker may still redeliver the job to
    another worker, which would finish it.
    """
    grace = settings.CELERY_VISIBILITY_TIMEOUT + settings.CELERY_TASK_TIME_LIMIT
    cutoff = timezone.now() - timedelta(seconds=grace)
    return Report.objects.filter(
        status=Report.Status.RUNNING, started_at__lt=cutoff
    ).update(
        status=Report.Status.FAILED,
        finished_at=timezone.now(),
        error=_("The worker stopped while rendering this report. Retry it."),
    )
