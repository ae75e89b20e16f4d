"""Study pages: list and bulk actions, add, import, detail, edit, exclude,
conflicts, assignment."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import access, selectors
from ..access import Action
from ..forms import BulkStudyForm, ImportForm, ReasonForm, ScoreImportForm, StudyForm
from ..models import Assessment, InstrumentVersion, Project
from ..selectors import papers as paper_selectors
from ..selectors.studies import (
    HIDDEN_STATE,
    STATE_NAMES,
    STUDY_STATES,
    TRAINING_CHOICES,
)
from ..selectors.worklist import instrument_label
from ..services import assignment, calibration, imports, score_imports, studies
from ..services import papers as paper_service
from . import references, uploads

PAGE_SIZE = 50


def _pk(value: str | None) -> int:
    """A posted primary key, or 0 (matches nothing) for anything else."""
    return int(value) if value and value.isdecimal() and len(value) < 19 else 0


@require_GET
def study_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    params = {k: request.GET.get(k, "").strip() for k in request.GET}
    versions = selectors.project_versions(project)
    wanted = params.get("version", "")
    version = next((v for v in versions if v.key == wanted), None) or (
        versions[0] if versions else None
    )
    rows = selectors.study_list(project, params, version=version, user=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    can_manage = access.allows(request.user, project, Action.MANAGE)
    return render(
        request,
        "assessments/study_list.html",
        {
            "project": project,
            "page": page,
            "params": params,
            "version": version,
            "versions": [(v, instrument_label(v)) for v in versions],
            "states": STUDY_STATES,
            "state_names": STATE_NAMES,
            "hidden_state": HIDDEN_STATE,
            "columns": _sort_columns(params),
            "can_manage": can_manage,
            "sees_training": access.sees_training_studies(request.user, project),
            "training_choices": TRAINING_CHOICES,
            "bulk_form": BulkStudyForm(project=project) if can_manage else None,
            "bulk_reviewers": list(
                BulkStudyForm.reviewers_of(project).values_list("pk", "username")
            )
            if can_manage
            else [],
        },
    )


def _sort_columns(params: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (again: reversed), aria-sort."""
    sort = params.get("sort", "")
    keep = {k: v for k, v in params.items() if k not in {"sort", "page"} and v}
    out = {}
    for key in ("title", "year", "state", "submitted"):
        ascending = sort == key or (key == "title" and not sort)
        query = {**keep, "sort": f"-{key}" if ascending else key}
        out[key] = {
            "href": "?" + urlencode(query),
            "aria": "ascending"
            if ascending
            else ("descending" if sort == f"-{key}" else "none"),
        }
    return out


@require_POST
def study_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """Assign, exclude or include the ticked studies: all of them, or none."""
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = BulkStudyForm(request.POST, project=project)
    back = redirect("study-list", slug=slug)
    back["Location"] += _back_query(request.POST.get("back", ""))
    if not form.is_valid():
        messages.error(
            request,
            _("Nothing was changed. %(problems)s") % {"problems": form.problems()},
        )
        return back
    d = form.cleaned_data
    chosen = list(project.studies.filter(uuid__in=d["studies"]).order_by("title"))
    try:
        done = _apply_bulk(request, project, chosen, d)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return back


def _back_query(value: str) -> str:
    """The list's own filters and sort, so the lead returns to the same view."""
    kept = QueryDict(value.lstrip("?")[:2000], mutable=True)
    kept.pop("page", None)
    encoded = kept.urlencode()
    return "?" + encoded if encoded else ""


def _apply_bulk(
    request: HttpRequest, project: Project, chosen: list[Any], d: dict[str, Any]
) -> str:
    n = len(chosen)
    if d["action"] == "exclude":
        assignment.exclude_studies(
            studies=chosen, reason=d["reason"], user=request.user
        )
        return ngettext("%(n)s study excluded.", "%(n)s studies excluded.", n) % {
            "n": n
        }
    if d["action"] == "include":
        assignment.include_studies(studies=chosen, user=request.user)
        return ngettext(
            "%(n)s study included again.", "%(n)s studies included again.", n
        ) % {"n": n}
    made = assignment.assign_studies(
        project=project,
        studies=chosen,
        version=d["version"],
        per_study=d["per_study"],
        reviewer=d["reviewer"],
        user=request.user,
    )
    if d["reviewer"] is not None and made:
        _warn_uncertified(request, project, d["version"], d["reviewer"])
    if not made:
        return ngettext(
            "Nothing to assign: the %(n)s study already have their reviewers.",
            "Nothing to assign: the %(n)s studies already have their reviewers.",
            n,
        ) % {"n": n}
    # Two counts in one sentence: the studies go in as a phrase of their own.
    studies_words = ngettext("%(n)s study", "%(n)s studies", n) % {"n": n}
    return ngettext(
        "%(made)s assignment made over %(studies)s (%(instrument)s).",
        "%(made)s assignments made over %(studies)s (%(instrument)s).",
        made,
    ) % {
        "made": made,
        "studies": studies_words,
        "instrument": instrument_label(d["version"]),
    }


@require_http_methods(["GET", "POST"])
def study_add(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = studies.add_study(
                project=project, study=form.save(commit=False), user=request.user
            )
        except ValidationError as exc:
            duplicate = getattr(exc, "code", None) == "duplicate"
            form.add_error("title" if duplicate else None, exc)
        else:
            return redirect("study-detail", slug=slug, uuid=study.uuid)
    return render(
        request, "assessments/study_form.html", {"project": project, "form": form}
    )


@require_http_methods(["GET", "POST"])
def study_edit(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    study = access.get_study(request.user, project, uuid)
    form = StudyForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        study = studies.update_study(study=form.save(commit=False), user=request.user)
        return redirect("study-detail", slug=slug, uuid=study.uuid)
    return render(
        request,
        "assessments/study_form.html",
        {"project": project, "form": form, "study": study},
    )


def study_detail(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    project = access.get_project(request.user, slug)
    study = access.get_study(request.user, project, uuid)
    can_manage = access.allows(request.user, project, Action.MANAGE)
    reviewers = (
        get_user_model()
        .objects.filter(
            memberships__project=project, memberships__role__in=["lead", "reviewer"]
        )
        .order_by("username")
    )
    return render(
        request,
        "assessments/study_detail.html",
        {
            "project": project,
            "study": study,
            "can_manage": can_manage,
            "sees_training": access.sees_training_studies(request.user, project),
            "visible": selectors.study_assessments(request.user, study),
            "assignments": selectors.study_assignments(study, request.user),
            "versions": selectors.project_versions(project),
            "reviewers": reviewers if can_manage else [],
            "reason_form": ReasonForm(),
            "conflicts": study.conflicts.select_related("user"),
            **_paper_context(request, study),
            **references.study_context(request.user, project, study),
        },
    )


def _paper_context(request: HttpRequest, study: Any) -> dict[str, Any]:
    """The study page's Paper card: current paper, earlier ones, who may upload."""
    paper = paper_selectors.current_paper(study)
    return {
        "paper": paper,
        "paper_state": paper_selectors.text_state_words(paper) if paper else "",
        "earlier_papers": paper_selectors.earlier_papers(study),
        "may_upload_paper": access.may_upload_paper(request.user, study),
        "paper_limit": paper_service.size_words(int(settings.PAPER_MAX_BYTES)),
    }


@require_POST
def study_exclude(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    study = access.get_study(request.user, project, uuid)
    form = ReasonForm(request.POST)
    if form.is_valid():
        assignment.exclude_study(
            study=study, reason=form.cleaned_data["reason"], user=request.user
        )
        messages.success(request, _("Study excluded."))
    else:
        messages.error(request, _("Give a reason for excluding the study."))
    return redirect("study-detail", slug=slug, uuid=study.uuid)


@require_POST
def study_conflict(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    """A reviewer declares their own conflict; a lead may declare anyone's."""
    project = access.get_project(request.user, slug, Action.REVIEW)
    study = access.get_study(request.user, project, uuid)
    reviewer: Any = request.user
    if request.POST.get("user") and access.allows(request.user, project, Action.MANAGE):
        reviewer = (
            get_user_model()
            .objects.filter(pk=_pk(request.POST["user"]), memberships__project=project)
            .first()
        )
        if reviewer is None:
            raise Http404("No such member")
    assignment.declare_conflict(
        study=study,
        reviewer=reviewer,
        reason=request.POST.get("reason", "")[:300],
        user=request.user,
    )
    messages.success(
        request,
        _("Conflict of interest recorded for %(reviewer)s.") % {"reviewer": reviewer},
    )
    return redirect("study-detail", slug=slug, uuid=study.uuid)


@require_POST
def study_assign(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    study = access.get_study(request.user, project, uuid)
    version = selectors.project_version(project, request.POST.get("version"))
    reviewer = (
        get_user_model().objects.filter(pk=_pk(request.POST.get("reviewer"))).first()
    )
    if version is None or reviewer is None:
        messages.error(request, _("Choose an instrument version and a reviewer."))
        return redirect("study-detail", slug=slug, uuid=study.uuid)
    try:
        assignment.assign_reviewer(
            study=study,
            version=version,
            reviewer=reviewer,
            user=request.user,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        _warn_uncertified(request, project, version, reviewer)
    return redirect("study-detail", slug=slug, uuid=study.uuid)


def _warn_uncertified(
    request: HttpRequest, project: Project, version: InstrumentVersion, reviewer: Any
) -> None:
    warning = calibration.certification_warning(project, version, reviewer)
    if warning:
        messages.warning(request, warning)


@require_POST
def assessment_reassign(
    request: HttpRequest, slug: str, uuid: uuid.UUID
) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    assessment = Assessment.objects.filter(uuid=uuid, study__project=project).first()
    if assessment is None:
        raise Http404("No such assessment")
    to_user = (
        get_user_model().objects.filter(pk=_pk(request.POST.get("reviewer"))).first()
    )
    if to_user is None:
        messages.error(request, _("Choose the reviewer who takes over."))
    else:
        try:
            assignment.reassign_assessment(
                assessment=assessment, to_user=to_user, user=request.user
            )
            messages.success(
                request, _("Reassigned to %(reviewer)s.") % {"reviewer": to_user}
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    return redirect("study-detail", slug=slug, uuid=assessment.study.uuid)


# --- study import -------------------------------------------------------------------


@uploads.size_limited
@require_http_methods(["GET", "POST"])
def study_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload -> preview (nothing saved) -> confirm or cancel (all or nothing)."""
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and "token" in request.POST:
        return _confirm_import(request, project)
    report = None
    token = ""
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid() and uploads.oversized(form):
        status = 413
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        report = imports.preview_import(
            project=project, data=data, fmt=form.cleaned_data["format"] or None
        )
        if report.ok:
            status = 200
        if report.ok and report.new:
            token = imports.keep_preview(project, data)
    return render(
        request,
        "assessments/study_import.html",
        {
            "project": project,
            "form": form,
            "report": report,
            "token": token,
            "format": report.format if report else "",
            "upload_limit": uploads.limit_text(),
        },
        status=status,
    )


def _confirm_import(request: HttpRequest, project: Project) -> HttpResponse:
    token = request.POST.get("token", "")
    if not imports.is_preview_token(token):
        raise Http404("No such upload")
    if "cancel" in request.POST:
        imports.discard_preview(project, token)
        messages.info(request, _("Import cancelled; nothing was saved."))
        return redirect("study-import", slug=project.slug)
    report = imports.import_preview(
        project=project,
        token=token,
        fmt=request.POST.get("format") or None,
        user=request.user,
    )
    if report is None:
        messages.error(request, _("That upload has expired; please upload it again."))
        return redirect("study-import", slug=project.slug)
    if report.ok:
        n_duplicates = len(report.duplicates)
        duplicates = ngettext(
            "%(n)s duplicate skipped", "%(n)s duplicates skipped", n_duplicates
        ) % {"n": n_duplicates}
        messages.success(
            request,
            ngettext(
                "%(n)s study imported; %(duplicates)s.",
                "%(n)s studies imported; %(duplicates)s.",
                report.created,
            )
            % {"n": report.created, "duplicates": duplicates},
        )
        return redirect("study-list", slug=project.slug)
    messages.error(
        request,
        _("Nothing was imported: %(problems)s")
        % {"problems": "; ".join(report.problems[:5])},
    )
    return redirect("study-import", slug=project.slug)


@uploads.size_limited
@require_http_methods(["GET", "POST"])
def score_import(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = ScoreImportForm(request.POST or None, request.FILES or None, project=project)
    report = None
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid() and uploads.oversized(form):
        status = 413
    elif request.method == "POST" and form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.add_error("file", _("The file is not UTF-8 text."))
        else:
            version: InstrumentVersion = form.cleaned_data["version"]
            report = score_imports.import_scores(
                project=project, version=version, text=text, user=request.user
            )
            if not report.problems:
                messages.success(
                    request,
                    ngettext(
                        "%(n)s submitted assessment imported.",
                        "%(n)s submitted assessments imported.",
                        report.created,
                    )
                    % {"n": report.created},
                )
                return redirect("project-detail", slug=slug)
    return render(
        request,
        "assessments/score_import.html",
        {
            "project": project,
            "form": form,
            "report": report,
            "upload_limit": uploads.limit_text(),
        },
        status=status,
    )
