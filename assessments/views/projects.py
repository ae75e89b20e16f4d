"""Project pages: create, overview, settings, members, assignment, audit,
disagreements to resolve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from .. import access, selectors
from ..access import Action
from ..forms import (
    AutoAssignForm,
    MemberForm,
    MembershipChangeForm,
    NewAccountForm,
    ProjectForm,
)
from ..models import (
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Membership,
    Project,
)
from ..selectors import calibration, disagreements, drills, worklist
from ..services import assignment, projects


@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("assessments.add_project"):
        raise PermissionDenied("Ask an administrator to let you create projects.")
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        versions = list(data.pop("versions"))
        try:
            project = projects.create_project(
                versions=versions, user=request.user, **data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("project-detail", slug=project.slug)
    return render(
        request,
        "assessments/project_form.html",
        {"form": form, "time_zone": time_zone_words()},
    )


def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    versions = selectors.project_versions(project)
    progress = selectors.project_progress(project)
    counts = worklist.project_counts(project)
    member = access.membership(request.user, project)
    adjudicates = access.allows(request.user, project, Action.ADJUDICATE)
    manages = access.allows(request.user, project, Action.MANAGE)
    context = {
        "project": project,
        "versions": [
            (v, worklist.instrument_label(v), progress.get(v.pk, {})) for v in versions
        ],
        "n_studies": counts["studies"],
        "drill_versions": drills.versions_with_drills(versions),
        "can_manage": manages,
        "certificates": [
            (c, worklist.instrument_label(c.version))
            for c in (calibration.certificates(project) if manages else [])
        ],
        "can_review": access.allows(request.user, project, Action.REVIEW),
        "members": project.memberships.select_related("user"),
        "next_steps": worklist.next_steps(request.user, project, member, counts),
        "reviewers": selectors.reviewer_progress(request.user, project),
        "sees_everyone": access.sees_everyones_progress(request.user, project),
        "adjudicates": adjudicates,
        "n_disagreements": disagreements.disagreement_count(request.user, project)
        if adjudicates
        else 0,
    }
    return render(request, "assessments/project_detail.html", context)


@require_GET
def project_disagreements(request: HttpRequest, slug: str) -> HttpResponse:
    """Studies whose reviewers all submitted and disagree, for those who decide."""
    project = access.get_project(request.user, slug, Action.ADJUDICATE)
    rows = disagreements.project_disagreements(request.user, project)
    return render(
        request,
        "assessments/project_disagreements.html",
        {
            "project": project,
            "rows": [(row, worklist.instrument_label(row.version)) for row in rows],
            "n_items": sum(row.n_disputed for row in rows),
        },
    )


def time_zone_words() -> str:
    """The server's time zone as a person reads it: "Amsterdam time (UTC+01:00)"."""
    name = settings.TIME_ZONE
    now = timezone.localtime(timezone.now(), ZoneInfo(name))
    offset = now.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    if name.upper() in {"UTC", "GMT", "ETC/UTC"}:
        return _("UTC (Coordinated Universal Time)")
    place = name.rsplit("/", 1)[-1].replace("_", " ")
    return _("%(place)s time (%(name)s; now %(utc)s, %(abbreviation)s)") % {
        "place": place,
        "name": name,
        "utc": utc,
        "abbreviation": now.tzname(),
    }


def _used_versions(project: Project) -> list[str]:
    used = InstrumentVersion.objects.filter(
        assessments__study__project=project
    ).select_related("instrument")
    return sorted({worklist.instrument_label(v) for v in used.distinct()})


@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        try:
            added, removed = projects.update_project(
                project=project,
                versions=list(form.cleaned_data["versions"]),
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            # The form changed the project in memory; the page shows it as saved.
            project.refresh_from_db()
        else:
            messages.success(request, _saved_message(added, removed))
            return redirect("project-detail", slug=project.slug)
    return render(
        request,
        "assessments/project_form.html",
        {
            "form": form,
            "project": project,
            "used_versions": _used_versions(project),
            "time_zone": time_zone_words(),
        },
        status=400 if form.errors else 200,
    )


def _saved_message(
    added: Sequence[InstrumentVersion], removed: Sequence[InstrumentVersion]
) -> str:
    parts = [_("Project settings saved.")]
    if added:
        labels = ", ".join(map(projects.version_label, added))
        parts.append(_("Added: %(versions)s.") % {"versions": labels})
    if removed:
        labels = ", ".join(map(projects.version_label, removed))
        parts.append(_("Removed: %(versions)s.") % {"versions": labels})
    return " ".join(parts)


@require_http_methods(["GET", "POST"])
def project_members(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    add_form = MemberForm(request.POST if "add" in request.POST else None)
    new_form = NewAccountForm(request.POST if "create" in request.POST else None)
    status = 200
    if request.method == "POST":
        try:
            done = _handle_member_post(request, project, add_form, new_form)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            done = False
        if done:
            return redirect("project-members", slug=project.slug)
        # Refused: nothing was changed; the page says why.
        status = 400
    return render(
        request,
        "assessments/project_members.html",
        {
            "project": project,
            "add_form": add_form,
            "new_form": new_form,
            "members": project.memberships.select_related("user"),
            "roles": Membership.Role.choices,
        },
        status=status,
    )


def _handle_member_post(
    request: HttpRequest,
    project: Project,
    add_form: MemberForm,
    new_form: NewAccountForm,
) -> bool:
    """Apply one members-page form; False when a form shows what is wrong."""
    if "add" in request.POST:
        if not add_form.is_valid():
            return False
        d = add_form.cleaned_data
        projects.set_membership(
            project=project,
            member=d["username"],
            role=d["role"],
            adjudicator=d["adjudicator"],
            user=request.user,
        )
        messages.success(request, _("Members updated."))
    elif "create" in request.POST:
        if not new_form.is_valid():
            return False
        _create_account(request, project, new_form.cleaned_data)
    elif "change" in request.POST:
        _change_membership(request, project)
        messages.success(request, _("Members updated."))
    else:
        raise ValidationError(_("Nothing to do: use one of the buttons of this page."))
    return True


def _change_membership(request: HttpRequest, project: Project) -> None:
    form = MembershipChangeForm(request.POST, project=project)
    if not form.is_valid():
        raise ValidationError(form.problems())
    d = form.cleaned_data
    projects.set_membership(
        project=project,
        member=d["membership"].user,
        role=d["role"],
        adjudicator=d["adjudicator"],
        user=request.user,
    )


def _create_account(request: HttpRequest, project: Project, d: dict[str, Any]) -> None:
    member = projects.invite_new_account(
        project=project,
        username=d["username"],
        email=d["email"],
        role=d["role"],
        user=request.user,
        site=request.build_absolute_uri("/"),
    )
    role = projects.ROLE_LABELS[d["role"]].lower()
    messages.success(
        request,
        _(
            "Account %(member)s created and added as %(role)s. "
            "A link to choose a password was e-mailed to %(email)s."
        )
        % {"member": member, "role": role, "email": member.email},
    )


@require_http_methods(["GET", "POST"])
def project_assign(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = AutoAssignForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            n = assignment.auto_assign(
                project=project,
                version=form.cleaned_data["version"],
                per_study=form.cleaned_data["per_study"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                ngettext("%(n)s assignment made.", "%(n)s assignments made.", n)
                % {"n": n},
            )
            return redirect("project-assign", slug=project.slug)
    load = (
        Assessment.objects.filter(study__project=project, kind="reviewer")
        .values("reviewer__username", "status")
        .order_by("reviewer__username")
    )
    return render(
        request,
        "assessments/project_assign.html",
        {
            "project": project,
            "form": form,
            "load": _load_table(load),
        },
    )


def _load_table(rows):  # type: ignore[no-untyped-def]
    from django.db.models import Count

    table: dict[str, dict[str, int]] = {}
    for row in rows.annotate(n=Count("id")):
        table.setdefault(row["reviewer__username"], {})[row["status"]] = row["n"]
    return sorted(table.items())


def project_audit(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    events = AuditEvent.objects.filter(project=project).select_related("actor")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    # issue 12 (audit log in words): the selector turns codes into sentences.
    lines = selectors.audit_lines(request.user, project, list(page.object_list))
    context = {"project": project, "page": page, "lines": lines}
    return render(request, "assessments/project_audit.html", context)
