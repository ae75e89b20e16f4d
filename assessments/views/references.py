"""Gold references: a lead marks one, explains it item by item, or withdraws it;
and every reviewer's calibration figures as JSON.

A reference copies someone's appraisal of a training study, so it is shown
only to leads and staff who may see that appraisal (`access.visible_assessments`
on its source): a lead still training on the study sees nothing of it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from .. import access
from ..access import Action
from ..models import Assessment, Project, Reference, Study
from ..selectors.audit import choices_text, person, version_name
from ..selectors.calibration import calibration_json, current_references
from ..services import calibration

SUBMITTED = Assessment.Status.SUBMITTED
HIDDEN = gettext_lazy("Hidden while you are training on this study.")


def _markable(assessment: Assessment) -> bool:
    """A submitted reviewer assessment or a finalised consensus (the service
    says why anything else is refused)."""
    if assessment.status != SUBMITTED:
        return False
    if assessment.kind == Assessment.Kind.CONSENSUS:
        return not assessment.stale
    return assessment.kind == Assessment.Kind.REVIEWER


def study_context(user: Any, project: Project, study: Study) -> dict[str, Any]:
    """The study page's reference buttons and current references, for leads."""
    if not study.training or not access.allows(user, project, Action.MANAGE):
        return {"references": None}
    visible = list(access.visible_assessments(user, project).filter(study=study))
    shown = {a.pk for a in visible}
    current = [
        r
        for r in current_references([study.pk]).values()
        if r.source_id in shown  # not while the lead trains on the study
    ]
    sources = {r.source_id for r in current}
    return {
        "references": {
            "current": sorted(current, key=lambda r: r.version_id),
            "sources": sources,
            "markable": {a.pk for a in visible if _markable(a)} - sources,
        }
    }


def _reference(request: HttpRequest, slug: str, reference_id: int) -> Reference:
    """The project's reference, for a lead who may see its source."""
    project = access.get_project(request.user, slug, Action.MANAGE)
    reference = (
        Reference.objects.select_related("study", "version__instrument", "created_by")
        .filter(study__project=project, pk=reference_id)
        .first()
    )
    if reference is None:
        raise Http404(_("No such reference"))
    if not access.may_see_study_reference(request.user, reference):
        raise PermissionDenied(HIDDEN)
    return reference


@require_POST
def reference_mark(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    """Make the posted assessment of the study its reference for that version."""
    project = access.get_project(request.user, slug, Action.MANAGE)
    study = access.get_study(request.user, project, uuid)
    wanted = _uuid(request.POST.get("assessment"))
    source = (
        access.visible_assessments(request.user, project)
        .filter(study=study, uuid=wanted)
        .select_related("reviewer", "version__instrument")
        .first()
        if wanted is not None
        else None
    )
    if source is None:
        raise Http404(_("No such assessment of this study"))
    try:
        reference = calibration.mark_reference(source=source, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("study-detail", slug=slug, uuid=study.uuid)
    named = {"instrument": version_name(source.version)}
    if source.is_consensus:
        text = (
            _(
                "The consensus answers are now the %(instrument)s reference for this "
                "study. Explain them item by item below."
            )
            % named
        )
    else:
        text = _(
            "%(name)s's answers are now the %(instrument)s reference for this "
            "study. Explain them item by item below."
        ) % {**named, "name": reference.expert}
    messages.success(request, text)
    return redirect("reference-detail", slug=slug, reference_id=reference.pk)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
def reference_detail(
    request: HttpRequest, slug: str, reference_id: int
) -> HttpResponse:
    """GET shows the frozen reference item by item; POST saves the rationales."""
    reference = _reference(request, slug, reference_id)
    definition = reference.version.as_definition()
    if request.method == "POST":
        if not reference.current:
            messages.error(request, _("This reference was replaced or withdrawn."))
            return redirect(request.path)
        rationales = {
            item.code: request.POST[f"rationale-{item.code}"][:5000]
            for item in definition.items
            if f"rationale-{item.code}" in request.POST
        }
        calibration.set_rationales(
            reference=reference, rationales=rationales, user=request.user
        )
        messages.success(request, _("Rationales saved."))
        return redirect(request.path)
    rows = []
    for item in definition.items:
        answer = reference.answers.get(item.code) or {}
        rows.append(
            {
                "code": item.code,
                "label": item.label,
                "answer": choices_text(item, answer.get("choices")),
                "points": answer.get("points"),
                "evidence": answer.get("evidence") or "",
                "page": answer.get("page") or "",
                "quotes": list(answer.get("quotes") or []),
                "rationale": (reference.rationales or {}).get(item.code, ""),
            }
        )
    context = {
        "project": reference.study.project,
        "reference": reference,
        "study": reference.study,
        "version_name": version_name(reference.version),
        "marked_by": person(reference.created_by),
        "rows": rows,
    }
    return render(request, "assessments/reference_detail.html", context)


@require_POST
def reference_withdraw(
    request: HttpRequest, slug: str, reference_id: int
) -> HttpResponse:
    reference = _reference(request, slug, reference_id)
    if reference.current:
        calibration.withdraw_reference(reference=reference, user=request.user)
        messages.success(
            request,
            _(
                "The study has no %(instrument)s reference any more; feedback "
                "already given stays in the history."
            )
            % {"instrument": version_name(reference.version)},
        )
    return redirect("study-detail", slug=slug, uuid=reference.study.uuid)


@require_safe
def project_calibration_json(request: HttpRequest, slug: str) -> JsonResponse:
    """One object per reviewer and version; a reviewer gets their own row only."""
    project = access.get_project(request.user, slug, Action.VIEW)
    rows = calibration_json(
        project,
        access.calibration_reviewers(request.user, project),
        checks=access.sees_training_studies(request.user, project),
    )
    return JsonResponse(rows, safe=False)
