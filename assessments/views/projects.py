"""Project pages: create, overview, settings, members, assignment, audit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import access, selectors
from ..access import Action
from ..forms import AutoAssignForm, MemberForm, NewAccountForm, ProjectForm
from ..models import Assessment, AuditEvent, Membership, Study
from ..services import workflow


@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("assessments.add_project"):
        raise PermissionDenied("Ask an administrator to let you create projects.")
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        versions = list(data.pop("versions"))
        try:
            project = workflow.create_project(
                versions=versions, user=request.user, **data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("project-detail", slug=project.slug)
    return render(request, "assessments/project_form.html", {"form": form})


def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug)
    versions = selectors.project_versions(project)
    progress = selectors.project_progress(project)
    context = {
        "project": project,
        "versions": [(v, progress.get(v.pk, {})) for v in versions],
        "n_studies": Study.objects.filter(project=project, excluded=False).count(),
        "can_manage": access.allows(request.user, project, Action.MANAGE),
        "members": project.memberships.select_related("user"),
    }
    return render(request, "assessments/project_detail.html", context)


@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = ProjectForm(
        request.POST or None,
        instance=project,
        initial={"versions": project.instruments.all()},
    )
    form.fields["versions"].disabled = project.studies.exists()
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Project settings saved.")
        return redirect("project-detail", slug=project.slug)
    return render(
        request, "assessments/project_form.html", {"form": form, "project": project}
    )


@require_http_methods(["GET", "POST"])
def project_members(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    add_form = MemberForm(request.POST if "add" in request.POST else None)
    new_form = NewAccountForm(request.POST if "create" in request.POST else None)
    if request.method == "POST":
        response = _handle_member_post(request, project, add_form, new_form)
        if response is not None:
            return response
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
    )


def _handle_member_post(request, project, add_form, new_form):  # type: ignore[no-untyped-def]
    try:
        if "add" in request.POST and add_form.is_valid():
            d = add_form.cleaned_data
            workflow.set_membership(
                project=project,
                member=d["username"],
                role=d["role"],
                adjudicator=d["adjudicator"],
                user=request.user,
            )
        elif "create" in request.POST and new_form.is_valid():
            d = new_form.cleaned_data
            member = get_user_model().objects.create_user(
                username=d["username"], email=d["email"]
            )
            workflow.set_membership(
                project=project, member=member, role=d["role"], user=request.user
            )
            messages.info(
                request,
                f"Account {member} created; they set a password "
                "with 'Forgotten your password?'.",
            )
        elif "change" in request.POST:
            member = project.memberships.get(pk=request.POST["membership"]).user
            role = request.POST.get("role") or None
            workflow.set_membership(
                project=project,
                member=member,
                role=role,
                adjudicator=request.POST.get("adjudicator") == "1",
                user=request.user,
            )
        else:
            return None
    except (ValidationError, Membership.DoesNotExist, ValueError) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        return None
    messages.success(request, "Members updated.")
    return redirect("project-members", slug=project.slug)


@require_http_methods(["GET", "POST"])
def project_assign(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.get_project(request.user, slug, Action.MANAGE)
    form = AutoAssignForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            n = workflow.auto_assign(
                project=project,
                version=form.cleaned_data["version"],
                per_study=form.cleaned_data["per_study"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{n} assignments made.")
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
    return render(
        request, "assessments/project_audit.html", {"project": project, "page": page}
    )
