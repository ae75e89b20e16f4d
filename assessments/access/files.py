"""Papers and stored reports: who may fetch a file (see the package)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _

from ..models import Assessment, InstrumentVersion, Paper, Project, Report, Study
from .policy import (
    REVIEWER,
    Action,
    AnyUser,
    allows,
    result_filter,
    visible_assessments,
)

# --- papers ----------------------------------------------------------------------


def get_paper(user: AnyUser, paper_uuid: Any) -> Paper:
    """A study's paper (current or replaced), 404 unless a member of its project.

    Blinding hides other people's work, not the paper everyone appraises.
    """
    paper = (
        Paper.objects.select_related("study__project").filter(uuid=paper_uuid).first()
    )
    if paper is None or not allows(user, paper.study.project, Action.VIEW):
        raise Http404(_("No such paper"))
    return paper


def may_upload_paper(user: AnyUser, study: Study) -> bool:
    """Leads and staff, or a reviewer assigned to the study."""
    project = study.project
    if allows(user, project, Action.MANAGE):
        return True
    if not allows(user, project, Action.REVIEW):
        return False
    # A hidden check must look like a live assignment, upload card and all.
    mine = Assessment.objects.filter(study=study, reviewer_id=user.pk)
    return mine.filter(kind__in=[REVIEWER, Assessment.Kind.CHECK]).exists()


# --- reports ---------------------------------------------------------------------


def report_scope(
    user: AnyUser,
    project: Project,
    version: InstrumentVersion,
    study: Study | None = None,
    assessment: Assessment | None = None,
) -> dict[str, Any]:
    """What a report made for this user may show, to check downloads against."""
    if assessment is not None:
        return {"assessments": [assessment.pk]}
    if study is not None:
        shown = visible_assessments(user, project).filter(study=study, version=version)
        return {"assessments": sorted(shown.values_list("pk", flat=True))}
    rule = result_filter(user, project, version)
    if rule is None:
        return {"studies": "all"}
    return {
        "studies": sorted(project.studies.filter(rule).values_list("pk", flat=True))
    }


def may_download(user: AnyUser, report: Report) -> bool:
    """Whoever may see, now, everything the stored file shows may download it.

    Checked at download time against the current role and blinding, so a
    demoted requester loses access and a second lead with the same view gains it.
    """
    project, version = report.project, report.version
    if not allows(user, project, Action.VIEW):
        return False
    scope = (report.options or {}).get("scope")
    if not scope:
        return report.requested_by_id == user.pk and allows(
            user, project, Action.MANAGE
        )
    if "assessments" in scope:
        wanted = set(scope["assessments"])
        shown = visible_assessments(user, project).filter(pk__in=wanted)
        return shown.count() == len(wanted)
    rule = result_filter(user, project, version)
    if rule is None:
        return True
    if scope["studies"] == "all":
        return False
    allowed = set(project.studies.filter(rule).values_list("pk", flat=True))
    return set(scope["studies"]) <= allowed
