"""The assessment form, its autosave endpoint, submit, reopen and history."""

from __future__ import annotations

import csv
import uuid
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import access, selectors
from ..access import Action
from ..forms import ReasonForm
from ..instruments import Definition, Result
from ..instruments.memo import Identity
from ..instruments.result import as_submitted
from ..instruments.translations import Translation
from ..models import Answer, Assessment, AuditEvent
from ..renderers.exports import neutralise
from ..selectors.quote_history import quote_text
from ..selectors.wording import ENGLISH, Wording, wording_for
from ..services import answering, quotes
from .errors import lockout_json
from .formview import (
    build_form_context,
    points_text,
    problem_texts,
    score_view,
)
from .scorepanel import score_panel
from .two_factor import second_factor, signed_in

# Session key: the assessments whose last submit was refused as incomplete.
REFUSED_SUBMITS = "refused-submits"


def _session_expiry(request: HttpRequest) -> str:
    return timezone.localtime(request.session.get_expiry_date()).isoformat()


@require_GET
def assessment_form(request: HttpRequest, uuid: uuid.UUID) -> HttpResponse:
    assessment = access.get_own_assessment(request.user, uuid)
    editable = access.may_edit(request.user, assessment) and not assessment.is_locked
    answers = selectors.answers_by_item(assessment)
    result = answering.score_assessment(
        assessment, {k: a.choices for k, a in answers.items() if a.choices is not None}
    )
    # Items still to answer are marked only once a submit was refused.
    attempted = str(assessment.uuid) in request.session.get(REFUSED_SUBMITS, [])
    context = build_form_context(
        assessment,
        answers,
        result,
        editable=editable,
        attempted=attempted,
        user=request.user,
    )
    context.update(
        {
            "is_own": assessment.reviewer_id == request.user.pk,
            "can_reopen": access.allows(
                request.user, assessment.study.project, Action.MANAGE
            )
            and assessment.is_locked,
            "reason_form": ReasonForm(),
            "session_expires": _session_expiry(request),
        }
    )
    return render(request, "assessments/assessment_form.html", context)


def _input(request: HttpRequest) -> tuple[answering.AnswerInput, int]:
    post = request.POST
    choices: list[str] | None = post.getlist("choices")
    if not choices and post.get("answered") != "1":
        choices = None  # nothing chosen and not "none of these": unanswered
    try:
        seen = int(post.get("seen", ""))
    except ValueError:
        raise ValidationError(_("The save carries no valid revision.")) from None
    data = answering.AnswerInput(
        item_code=post.get("item", ""),
        choices=choices,
        evidence=post.get("evidence", ""),
        page=post.get("page", "").strip(),
        comment=post.get("comment", ""),
        quotes=(
            quotes.parse_quotes(post["quotes"], post.get("item", ""))
            if "quotes" in post
            else None
        ),
    )
    return data, seen


def _wording_used(request: HttpRequest) -> str:
    """The wording language the form says it showed ("en", "nl"); "" if none
    or not one of ours (an old page, a hand-made request)."""
    sent = request.POST.get("wording", "")
    known = {ENGLISH} | {code.split("-")[0] for code, _name in settings.LANGUAGES}
    return sent if sent in known else ""


@require_POST
def assessment_answer(request: HttpRequest, uuid: uuid.UUID) -> JsonResponse:
    """Autosave one item; JSON with the new revision and the re-rendered score."""
    try:
        data, seen = _input(request)
        wording = _wording_used(request)
        outcome = answering.save_own_answer(
            uuid=uuid, user=request.user, data=data, seen_revision=seen, wording=wording
        )
        if outcome is None:
            assessment = access.get_own_assessment(request.user, uuid)
            if not access.may_edit(request.user, assessment):
                raise PermissionDenied(_("You can only change your own assessment."))
            outcome = answering.save_answer(
                assessment=assessment,
                user=request.user,
                data=data,
                seen_revision=seen,
                wording=wording,
            )
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    except answering.LockedAssessment as exc:
        return JsonResponse({"error": str(exc)}, status=423)
    except answering.StaleSave as exc:
        return JsonResponse(
            _stale_json(request, exc.answer.assessment, exc), status=409
        )
    return JsonResponse(
        _saved_json(request, outcome.assessment, outcome.answer, outcome.result)
    )


def _stale_json(
    request: HttpRequest, assessment: Assessment, exc: answering.StaleSave
) -> dict[str, Any]:
    """The refusal, with the score and lists as they stand now (another tab
    may have changed other items too), so the stale page shows them current."""
    assessment.refresh_from_db()
    result = answering.score_assessment(assessment, answering.answers_of(assessment))
    return {
        **_saved_json(request, assessment, exc.answer, result),
        "saved": False,
        "error": str(exc),
        "current": _answer_json(exc.answer),
    }


def _answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "choices": answer.choices,
        "evidence": answer.evidence,
        "page": answer.page,
        "comment": answer.comment,
        "quotes": answer.quotes,
        "revision": answer.revision,
    }


def _saved_json(
    request: HttpRequest, assessment: Assessment, answer: Answer, result: Result
) -> dict[str, Any]:
    wording = wording_for(assessment.version)
    if assessment.is_locked:
        # Shown with the percentage and band it was submitted with.
        shown = _score_json(as_submitted(result, assessment.result), wording)
    else:
        shown = _remembered_score_json(
            Identity(result),
            Identity(wording.definition),
            Identity(wording.english),
            Identity(wording.translation),
            get_language(),
        )
    return {
        "saved": True,
        "item": answer.item_code,
        "revision": answer.revision,
        "quotes": answer.quotes,
        **shown,
        "status": assessment.get_status_display(),
        "session_expires": _session_expiry(request),
    }


def _score_json(result: Result, wording: Wording) -> dict[str, Any]:
    return {
        "score_html": score_panel(score_view(wording.definition, result, wording)),
        # Conditions that no longer apply (METRICS C2 once C1 is no) hide too.
        "na": sorted(result.na_codes),
        "missing": list(result.missing),
        "problems": problem_texts(result, wording.definition),
        "points": {code: points_text(r.points) for code, r in result.items.items()},
        "complete": result.complete,
    }


# One entry per reviewer at work in this process, give or take.
@lru_cache(maxsize=256)
def _remembered_score_json(
    result: Identity[Result],
    definition: Identity[Definition],
    english: Identity[Definition],
    translation: Identity[Translation | None],
    language: str,
) -> dict[str, Any]:
    """The same result in the same words and language is the same panel: the
    scores are remembered (instruments.engine), so an autosave that changed
    only evidence text reuses the panel of the save before it."""
    wording = Wording(definition.value, english.value, translation.value)
    return _score_json(result.value, wording)


@require_POST
def assessment_submit(request: HttpRequest, uuid: uuid.UUID) -> HttpResponse:
    assessment = access.get_own_assessment(request.user, uuid)
    if not access.may_edit(request.user, assessment):
        raise PermissionDenied(_("You can only submit your own assessment."))
    try:
        answering.submit_assessment(assessment=assessment, user=request.user)
    except ValidationError:
        # The form then lists what is missing, each line a link to its item.
        _remember_refused_submit(request, assessment, refused=True)
    except answering.LockedAssessment as exc:
        messages.info(request, str(exc))
    else:
        _remember_refused_submit(request, assessment, refused=False)
        if assessment.kind == Assessment.Kind.TRAINING:
            messages.success(request, _("Submitted. Here is how you compare."))
            return redirect("training-feedback", uuid=assessment.uuid)
        messages.success(request, _("Submitted. The assessment is now locked."))
    return redirect("assessment-form", uuid=assessment.uuid)


def _remember_refused_submit(
    request: HttpRequest, assessment: Assessment, *, refused: bool
) -> None:
    # Kept in the session, not the URL: a refused submit redirects to the
    # form's own address, and the marks last until the submit goes through.
    kept = [
        u for u in request.session.get(REFUSED_SUBMITS, []) if u != str(assessment.uuid)
    ]
    if refused:
        kept = [*kept[-49:], str(assessment.uuid)]
    request.session[REFUSED_SUBMITS] = kept


@require_POST
def assessment_reopen(request: HttpRequest, uuid: uuid.UUID) -> HttpResponse:
    assessment = access.get_own_assessment(request.user, uuid)
    if not access.allows(request.user, assessment.study.project, Action.MANAGE):
        raise PermissionDenied(_("Only a lead can reopen an assessment."))
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Give a reason for reopening."))
        answering.reopen_assessment(
            assessment=assessment, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Reopened."))
    return redirect("assessment-form", uuid=assessment.uuid)


@require_GET
def assessment_history(request: HttpRequest, uuid: uuid.UUID) -> HttpResponse:
    assessment = access.get_own_assessment(request.user, uuid)
    if not access.allows(request.user, assessment.study.project, Action.MANAGE):
        raise PermissionDenied(_("The history is for leads."))
    if not access.can_see_assessment(request.user, assessment):
        raise PermissionDenied(_("Blinded until every reviewer has submitted."))
    if request.GET.get("format") == "csv":
        return _history_csv(request, assessment)
    changes = (
        Answer.history.filter(assessment_id=assessment.pk)
        .select_related("history_user")
        .order_by("-history_date")[:500]
    )
    statuses = assessment.history.select_related("history_user").order_by(
        "-history_date"
    )[:200]
    return render(
        request,
        "assessments/assessment_history.html",
        {
            "assessment": assessment,
            "changes": changes,
            "statuses": statuses,
            "history": selectors.assessment_history(assessment),
        },
    )


def _history_csv(request: HttpRequest, assessment: Assessment) -> HttpResponse:
    """Every saved change of the assessment's answers, oldest first, as CSV."""

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="history-{assessment.uuid}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [
            "when",
            "who",
            "change",
            "item",
            "choices",
            "evidence",
            "page",
            "comment",
            "quotes",
        ]
    )
    changes = (
        Answer.history.filter(assessment_id=assessment.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    for h in changes.iterator(chunk_size=2000):
        writer.writerow(
            [
                h.history_date.isoformat(),
                # Every text cell, user names included: a name may be a formula.
                neutralise(str(h.history_user or "system")),
                h.get_history_type_display(),
                neutralise(h.item_code),
                neutralise("+".join(h.choices or [])),
                neutralise(h.evidence),
                neutralise(h.page),
                neutralise(h.comment),
                neutralise(" | ".join(quote_text(q) for q in h.quotes or [])),
            ]
        )
    AuditEvent.objects.record(
        assessment.study.project_id,
        request.user,
        "export",
        f"history of {assessment.uuid}",
        {"form": "history"},
    )
    return response


@require_GET
def assessment_json(request: HttpRequest, uuid: uuid.UUID) -> JsonResponse:
    """The assessment's answers and score, for those allowed to see them."""
    assessment = access.get_own_assessment(request.user, uuid)
    if not (
        assessment.reviewer_id == request.user.pk
        or access.can_see_assessment(request.user, assessment)
    ):
        raise PermissionDenied
    answers = selectors.answers_by_item(assessment)
    return JsonResponse(
        {
            "uuid": str(assessment.uuid),
            "instrument": assessment.version.key,
            "status": assessment.status,
            "result": assessment.result,
            "answers": {code: _answer_json(a) for code, a in answers.items()},
        }
    )


@login_not_required
@require_POST
def relogin(request: HttpRequest) -> JsonResponse:
    """Log in again from an open form whose session expired (JSON, throttled)."""
    user = authenticate(
        request,
        username=request.POST.get("username", ""),
        password=request.POST.get("password", ""),
    )
    # django-axes refuses a locked-out username inside authenticate() and
    # only marks the request; the form's script needs the reason as JSON.
    if getattr(request, "axes_locked_out", False):
        return lockout_json(request)
    if user is None:
        return JsonResponse({"error": _("Wrong username or password.")}, status=401)
    # Two-factor: with an authenticator app the password alone restores
    # nothing; the answer asks for the code and the dialog sends both again.
    refusal, device = second_factor(request, user)
    if refusal is not None:
        return refusal
    login(request, user)
    signed_in(request, user, device)
    return JsonResponse(
        {
            "ok": True,
            "csrf": get_token(request),
            "session_expires": _session_expiry(request),
        }
    )
