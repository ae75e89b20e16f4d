"""Top-level pages: the user's projects, their queue, the instrument catalogue."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import access, selectors
from ..models import InstrumentVersion


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    projects = (
        access.visible_projects(request.user)
        .annotate(
            n_studies=Count("studies", filter=Q(studies__excluded=False), distinct=True)
        )
        .order_by("name")
    )
    return render(
        request,
        "assessments/project_list.html",
        {
            "projects": projects,
            "can_create": request.user.has_perm("assessments.add_project"),
        },
    )


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.reviewer_queue(request.user), 50).get_page(
        request.GET.get("page")
    )
    rows = selectors.with_question_counts(page.object_list)
    totals = selectors.queue_totals(request.user)
    return render(
        request,
        "assessments/queue.html",
        {"rows": rows, "page": page, "params": {}, **totals},
    )


@require_GET
def queue_next(request: HttpRequest) -> HttpResponse:
    """The next open assessment of the user's worklist, or the worklist itself."""
    after = request.GET.get("after", "")
    try:
        after_uuid = uuid.UUID(after) if after else None
    except ValueError:
        after_uuid = None
    following = selectors.next_open_assessment(request.user, after=after_uuid)
    if following is None:
        messages.info(request, "Nothing else is waiting for you.")
        return redirect("queue")
    return redirect("assessment-form", uuid=following.uuid)


def _versions_for(user: object) -> object:
    versions = InstrumentVersion.objects.select_related("instrument")
    if not getattr(user, "is_staff", False):
        versions = versions.exclude(status=InstrumentVersion.Status.DRAFT)
    return versions


@require_GET
def instrument_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "assessments/instrumentversion_list.html",
        {"versions": _versions_for(request.user)},
    )


@require_GET
def instrument_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Read-only preview: sections, items, options with points or weights."""
    found = [v for v in _versions_for(request.user) if v.key == key]  # type: ignore[attr-defined]
    if not found:
        raise Http404("No such instrument version")
    version = found[0]
    return render(
        request,
        "assessments/instrumentversion_detail.html",
        {"version": version, "definition": version.as_definition()},
    )
