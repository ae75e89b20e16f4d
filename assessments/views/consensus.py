"""Consensus pages (disagreements, resolving, finalising) and project agreement."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from .. import access, selectors
from ..access import Action
from ..models import (
    Assessment,
    InstrumentVersion,
    Paper,
    Project,
    Resolution,
    Study,
)
from ..selectors import agreement as agreement_figures
from ..selectors import consensus as consensus_reads
from ..selectors import papers as paper_reads
from ..selectors.wording import chosen_split
from ..services import answering, consensus

# The query parameter of the "disputed items only" filter.
DISPUTED = "disputed"

BLINDED = gettext_lazy(
    "Blinded: the reviewers' answers to this study can be compared once every "
    "assigned reviewer has submitted, and once you have submitted your own "
    "reviews of it."
)


def _target(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> tuple[Project, Study, InstrumentVersion]:
    """Project (404 non-member, 403 without adjudication), study and version."""
    project = access.get_project(request.user, slug, Action.ADJUDICATE)
    study = access.get_study(request.user, project, uuid)
    found = selectors.project_version(project, version_key)
    if found is None:
        raise Http404(_("This project does not use that instrument."))
    return project, study, found


def _unblinded(user: Any, study: Study, version: InstrumentVersion) -> None:
    if not access.may_compare(user, study, version):
        raise PermissionDenied(BLINDED)


def _consensus_of(user: Any, study: Study, version: InstrumentVersion) -> Assessment:
    _unblinded(user, study, version)
    found = Assessment.objects.filter(
        study=study, version=version, kind=Assessment.Kind.CONSENSUS
    ).first()
    if found is None:
        raise Http404(_("No consensus has been started for this study."))
    return found


def _back(
    slug: str,
    uuid: uuid.UUID,
    version_key: str,
    anchor: str = "",
    disputed_only: bool = False,
) -> HttpResponse:
    response = redirect("consensus-view", slug=slug, uuid=uuid, version_key=version_key)
    if disputed_only:
        # Back to the filtered list the decision was taken from.
        response["Location"] += f"?{DISPUTED}=1"
    if anchor:
        response["Location"] += f"#row-{anchor}"
    return response


def _report(request: HttpRequest, exc: Exception) -> None:
    texts = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
    for text in texts:
        messages.error(request, text)


@require_GET
def consensus_view(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    project, study, version = _target(request, slug, uuid, version_key)
    context: dict[str, Any] = {"project": project, "study": study, "version": version}
    if not access.may_compare(request.user, study, version):
        # Said on the page, not by the generic 403, so the lead knows to wait.
        context["blinded"] = BLINDED
        return render(request, "assessments/consensus_detail.html", context, status=403)
    return _detail(request, project, study, version)


def _detail(
    request: HttpRequest,
    project: Project,
    study: Study,
    version: InstrumentVersion,
    status: int = 200,
) -> HttpResponse:
    """The disagreements page, for someone access.may_compare let in."""
    paper = paper_reads.readable_paper(study)
    context = {
        "project": project,
        "study": study,
        "version": version,
        "view": consensus_reads.disagreements(study, version),
        "can_manage": access.allows(request.user, project, Action.MANAGE),
        "disputed_only": request.GET.get(DISPUTED) == "1",
        # The paper opens on this page beside the quotes ("Show in paper").
        "paper": paper,
        "paper_key": str(paper.uuid) if paper else "",
        "paper_file_url": reverse("paper-file", args=[paper.uuid]) if paper else "",
        "paper_has_text": bool(paper and paper.text_state == Paper.TextState.DONE),
    }
    return render(request, "assessments/consensus_detail.html", context, status=status)


@require_POST
def consensus_start(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    study, version = _target(request, slug, uuid, version_key)[1:]
    _unblinded(request.user, study, version)
    try:
        consensus.start_consensus(study=study, version=version, user=request.user)
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(
            request, _("Consensus started; the agreed items are filled in.")
        )
    return _back(slug, uuid, version.key)


@require_POST
def consensus_resolve(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    project, study, version = _target(request, slug, uuid, version_key)
    target = _consensus_of(request.user, study, version)
    item = request.POST.get("item", "")
    choices = request.POST.getlist("choices")
    raw = request.POST.get("revision", "")
    try:
        consensus.resolve_item(
            consensus=target,
            item_code=item,
            choices=None if request.POST.get("unanswered") == "1" else choices,
            rationale=request.POST.get("rationale", ""),
            user=request.user,
            revision=int(raw) if raw.isdecimal() else None,
        )
    except consensus.StaleResolution as exc:
        return _conflict(request, project, study, version, exc.resolution)
    except (ValidationError, answering.LockedAssessment) as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Item %(code)s resolved.") % {"code": item})
    filtered = request.POST.get(DISPUTED) == "1"
    return _back(slug, uuid, version.key, anchor=item, disputed_only=filtered)


def _conflict(
    request: HttpRequest,
    project: Project,
    study: Study,
    version: InstrumentVersion,
    newer: Resolution,
) -> HttpResponse:
    """409: someone decided the item meanwhile; show their decision, keep nothing."""
    who = newer.resolved_by or _("another adjudicator")
    messages.error(
        request,
        _(
            "Item %(code)s was decided by %(who)s while you were looking at "
            "it; your decision was not saved. Their decision is shown below: decide "
            "again if you disagree."
        )
        % {"code": newer.item_code, "who": who},
    )
    return _detail(request, project, study, version, status=409)


@require_POST
def consensus_adopt_quote(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    """Copy a reviewer's quote into the consensus's answer to the same item."""
    project, study, version = _target(request, slug, uuid, version_key)
    target = _consensus_of(request.user, study, version)
    item = request.POST.get("item", "")
    raw = request.POST.get("revision", "")
    filtered = request.POST.get(DISPUTED) == "1"
    if not raw.isdecimal():
        messages.error(
            request,
            _(
                "The page did not say which version of the consensus answer it "
                "showed; reload it and adopt the quote again."
            ),
        )
        return _back(slug, uuid, version.key, anchor=item, disputed_only=filtered)
    try:
        consensus.adopt_quote(
            consensus=target,
            item_code=item,
            source=request.POST.get("source", ""),
            quote_id=request.POST.get("quote", ""),
            user=request.user,
            revision=int(raw),
        )
    except answering.StaleSave:
        messages.error(
            request,
            _(
                "Item %(code)s of the consensus was changed by someone else while "
                "you were looking at it, so the quote was not adopted. The item as "
                "it is now is shown below: adopt the quote again if it is still "
                "needed."
            )
            % {"code": item},
        )
        return _detail(request, project, study, version, status=409)
    except (ValidationError, answering.LockedAssessment) as exc:
        _report(request, exc)
    else:
        messages.success(
            request,
            _("Quote adopted into the consensus on item %(code)s.") % {"code": item},
        )
    return _back(slug, uuid, version.key, anchor=item, disputed_only=filtered)


@require_POST
def consensus_discard(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    study, version = _target(request, slug, uuid, version_key)[1:]
    target = _consensus_of(request.user, study, version)
    try:
        consensus.discard_consensus(consensus=target, user=request.user)
    except ValidationError as exc:
        _report(request, exc)
        return _back(slug, uuid, version.key)
    messages.success(
        request, _("Consensus discarded; the reviewers' answers are kept.")
    )
    return redirect("study-detail", slug=slug, uuid=uuid)


@require_POST
def consensus_finalise(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    study, version = _target(request, slug, uuid, version_key)[1:]
    target = _consensus_of(request.user, study, version)
    try:
        consensus.finalise_consensus(consensus=target, user=request.user)
    except (ValidationError, answering.LockedAssessment) as exc:
        _report(request, exc)
    else:
        messages.success(
            request, _("The consensus is final: it is the study's result.")
        )
    return _back(slug, uuid, version.key)


@require_POST
def consensus_refresh(
    request: HttpRequest, slug: str, uuid: uuid.UUID, version_key: str
) -> HttpResponse:
    study, version = _target(request, slug, uuid, version_key)[1:]
    target = _consensus_of(request.user, study, version)
    try:
        again = consensus.refresh_stale_consensus(consensus=target, user=request.user)
    except ValidationError as exc:
        _report(request, exc)
    else:
        text = _("Refreshed from the reviewers' answers.")
        if again:
            asked = _("Decide again: item %(codes)s.") % {"codes": ", ".join(again)}
            text = f"{text} {asked}"
        messages.success(request, text)
    return _back(slug, uuid, version.key)


def _chosen_version(
    request: HttpRequest, versions: list[InstrumentVersion]
) -> InstrumentVersion:
    wanted = request.GET.get("version")
    chosen = next((v for v in versions if v.key == wanted), None)
    if chosen is None and (wanted or not versions):
        raise Http404(_("This project does not use that instrument."))
    return chosen or versions[0]


@require_GET
def project_agreement(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.VIEW)
    versions = selectors.project_versions(project)
    version = _chosen_version(request, versions)
    data = agreement_figures.project_agreement(
        project, version, request.user, _wording_language(request)
    )
    scores = [(_("Total score"), data["totals"]), (_("Percentage"), data["percents"])]
    context = {
        "project": project,
        "version": version,
        "versions": versions,
        "data": data,
        "scores": scores if data["totals"] else [],
    }
    return render(request, "assessments/project_agreement.html", context)


@require_GET
def project_agreement_json(request: HttpRequest, slug: str) -> JsonResponse:
    """The agreement figures as JSON: aggregates only, never anyone's answers."""
    project = access.get_project(request.user, slug, Action.VIEW)
    version = _chosen_version(request, selectors.project_versions(project))
    return JsonResponse(
        agreement_figures.project_agreement(
            project, version, request.user, _wording_language(request)
        )
    )


def _wording_language(request: HttpRequest) -> str:
    """`?language=nl`: agreement over the studies rated in that wording only."""
    try:
        return chosen_split(request.GET.get("language", ""))
    except ValueError:
        raise Http404(_("There is no such language.")) from None
