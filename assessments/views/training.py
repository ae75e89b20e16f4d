"""The reviewer's training: My training (studies to start, own figures) and the
feedback on one submitted training study.

The reference is shown only where `access.may_see_reference` allows it: to the
trainee once they submit, and to leads who are not training on the study. A
hidden check never leads here for its reviewer.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from .. import access, selectors
from ..access import Action
from ..models import Assessment, Study
from ..selectors import training as training_selectors
from ..selectors.audit import person, version_name
from ..selectors.calibration import calibration_rows
from ..selectors.numbers import local_number
from ..services import calibration
from ..words import in_words
from .formview import decimal_words, points_text

# Said for every assessment whose reference the user may not see: a live one
# and a hidden check get the same words, so neither gives the other away.
NOT_YET = gettext_lazy("Feedback appears once you submit this training study.")
MINUS = "\u2212"


# --- numbers in words --------------------------------------------------------------


def percent_text(fraction: float | None) -> str:
    """0.875 -> "88%"."""
    return "" if fraction is None else f"{local_number(fraction * 100, 0)}%"


def coefficient_text(value: float | None) -> str:
    return "" if value is None else local_number(value, 2).replace("-", MINUS)


def signed_text(value: float | None, unit: str | None) -> str:
    """-3.0 -> "-3 points" (a minus sign), 4.2 -> "+4.2 percentage points"."""
    if value is None or unit is None:
        return ""
    number = local_number(round(abs(value), 1), trim=True)
    sign = "" if number == "0" else (MINUS if value < 0 else "+")
    return f"{sign}{number} {unit}"


def points_words(value: Any) -> str:
    """Points as the form prints them ("+2", "0"), from a Decimal or JSON."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return (points_text(number) or "0").replace("-", MINUS)


# --- My training ---------------------------------------------------------------------


def figures_view(row: dict[str, Any]) -> dict[str, Any]:
    """One row of calibration_rows as My figures prints it."""
    # Reasons, gaps and the unit come from the agreement package as Phrases.
    row = in_words(row, _)
    reasons = row["reasons"]
    icc = row["intra_rater_icc"]
    intra = row["intra_rater_kappa"]
    none_yet = _("none yet")
    return {
        **row,
        "agreement_text": percent_text(row["percent_agreement"])
        or reasons.get("percent_agreement", none_yet),
        "ac1_text": coefficient_text(row["ac1"]) or reasons.get("ac1", none_yet),
        "difference_text": signed_text(row["mean_total_difference"], row["unit"])
        or reasons.get("total_difference", none_yet),
        "kappa_text": coefficient_text(row["kappa"]["median"])
        or row["kappa"]["reason"]
        or none_yet,
        "intra_kappa_text": coefficient_text(intra["median"])
        or intra["reason"]
        or none_yet,
        "icc_text": _icc_text(icc),
    }


def _icc_text(icc: dict[str, Any]) -> str:
    if icc.get("value") is None:
        return str(icc.get("reason") or _("none yet"))
    text = coefficient_text(icc["value"])
    ci = icc.get("ci")
    if ci:
        text = _("%(value)s (95%% CI %(low)s to %(high)s)") % {
            "value": text,
            "low": coefficient_text(ci[0]),
            "high": coefficient_text(ci[1]),
        }
    return text


@require_safe
def training_home(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.REVIEW)
    mine = list(training_selectors.my_training(project, request.user))
    rows = calibration_rows(project, [request.user.pk])
    versions = selectors.project_versions(project)
    context = {
        "project": project,
        "available": [
            {**offer, "version_name": version_name(offer["version"])}
            for offer in training_selectors.available_training(project, request.user)
        ],
        "in_progress": [a for a in mine if a.first_submitted_at is None],
        "submitted": [a for a in mine if a.first_submitted_at is not None],
        "figures": [figures_view(r) for r in rows],
        "drill_versions": [{"key": v.key, "name": version_name(v)} for v in versions],
    }
    return render(request, "assessments/training_home.html", context)


@require_POST
def training_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a training study with a reference, then open its form."""
    project = access.get_project(request.user, slug, Action.REVIEW)
    try:
        study_uuid = uuid.UUID(request.POST.get("study", ""))
    except ValueError:
        raise Http404(_("No such study")) from None
    study = Study.objects.filter(project=project, uuid=study_uuid).first()
    version = selectors.project_version(project, request.POST.get("version"))
    if study is None or version is None:
        raise Http404(_("No such training study"))
    try:
        assessment = calibration.start_training(
            study=study, version=version, user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("training-home", slug=project.slug)
    return redirect("assessment-form", uuid=assessment.uuid)


# --- feedback ------------------------------------------------------------------------


def _assessment(user: Any, uuid: uuid.UUID) -> Assessment:
    """The assessment, 404 for non-members of its project."""
    assessment = (
        Assessment.objects.select_related(
            "study__project", "version__instrument", "reviewer"
        )
        .filter(uuid=uuid)
        .first()
    )
    if assessment is None or not access.allows(
        user, assessment.study.project, Action.VIEW
    ):
        raise Http404(_("No such assessment"))
    return assessment


def _rows(shown: training_selectors.Feedback) -> list[dict[str, Any]]:
    kappa = shown.kappa.get("items") or {}
    return [
        {
            "row": row,
            "my_points": points_words(row.my_points),
            "reference_points": points_words(row.reference_points),
            "kappa": coefficient_text(kappa.get(row.code)),
        }
        for row in shown.rows
    ]


def _summary(shown: training_selectors.Feedback) -> dict[str, Any]:
    # Reasons and the unit come from the agreement package as Phrases.
    agreement = shown.agreement
    kappa = in_words(shown.kappa, _)
    unit = in_words(shown.unit, _)
    return {
        "agreed": agreement.agreed,
        "items": agreement.items,
        "percent": percent_text(agreement.percent),
        "ac1": coefficient_text(agreement.ac1)
        or in_words(agreement.reasons.get("ac1", _("not available")), _),
        "my_total": decimal_words(shown.my_total) if shown.my_total is not None else "",
        "reference_total": (
            decimal_words(shown.reference_total)
            if shown.reference_total is not None
            else ""
        ),
        "difference": signed_text(shown.difference, unit),
        "unit": unit,
        "kappa_median": coefficient_text(kappa.get("median")),
        "kappa_reason": kappa.get("reason") or "",
        "has_kappa": bool(kappa.get("items")),
    }


@require_safe
def training_feedback(request: HttpRequest, uuid: uuid.UUID) -> HttpResponse:
    assessment = _assessment(request.user, uuid)
    project = assessment.study.project
    context: dict[str, Any] = {
        "assessment": assessment,
        "study": assessment.study,
        "project": project,
        "version_name": version_name(assessment.version),
        "is_own": assessment.reviewer_id == request.user.pk,
        "whose": (
            _("your answers")
            if assessment.reviewer_id == request.user.pk
            else _("the consensus")
            if assessment.is_consensus
            else _("answers of %(name)s") % {"name": person(assessment.reviewer)}
        ),
    }
    # The answers beside the reference are the assessment's own: blinding
    # applies to them as to the form (a lead with a pending review of the study).
    if not (
        access.may_see_reference(request.user, assessment)
        and access.can_see_assessment(request.user, assessment)
    ):
        context["refused"] = NOT_YET
        return render(
            request, "assessments/training_feedback.html", context, status=403
        )
    shown = training_selectors.feedback(assessment)
    if shown is not None:
        context.update(
            {
                "feedback": shown,
                "summary": _summary(shown),
                "rows": _rows(shown),
            }
        )
    return render(request, "assessments/training_feedback.html", context)
