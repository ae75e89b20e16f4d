"""Top-level pages: the user's projects, their worklist, their e-mail choices,
the instrument catalogue."""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import access, selectors
from ..forms import NotificationForm
from ..models import InstrumentVersion, NotificationPreferences
from ..selectors import worklist


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
def landing(request: HttpRequest) -> HttpResponse:
    """Where a log-in leads: a reviewer's open work first, else their projects.

    `/` stays the project list (bookmarks, the brand link); only the moment
    after logging in is about picking up work.
    """
    if worklist.open_count(request.user):
        return redirect(reverse("queue") + "?status=open")
    return redirect("home")


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in dict(worklist.STATUS_CHOICES) else ""
    sort = worklist.clean_sort(request.GET.get("sort", ""))
    rows = worklist.worklist(request.user, status=status, sort=sort)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    shown = worklist.rows_for_display(selectors.with_question_counts(page.object_list))
    totals = selectors.queue_totals(request.user)
    params = {k: v for k, v in (("status", status), ("sort", sort)) if v}
    return render(
        request,
        "assessments/queue.html",
        {
            "rows": shown,
            "page": page,
            "params": params,
            "status": status,
            "sort": sort,
            "statuses": worklist.STATUS_CHOICES,
            "columns": _sort_links(sort, status),
            **totals,
        },
    )


def _sort_links(sort: str, status: str) -> list[dict[str, str]]:
    """Each sortable column's heading: its link and its aria-sort state."""
    columns = []
    for key, label in worklist.SORT_CHOICES:
        if not key:
            continue
        ascending = sort == key
        query = {"sort": f"-{key}" if ascending else key}
        if status:
            query["status"] = status
        columns.append(
            {
                "key": key,
                "label": str(label),
                "href": "?" + urlencode(query),
                "aria": "ascending"
                if ascending
                else "descending"
                if sort == f"-{key}"
                else "none",
            }
        )
    return columns


@require_http_methods(["GET", "POST"])
def account_notifications(request: HttpRequest) -> HttpResponse:
    """Which notification e-mails the user receives."""
    preferences = NotificationPreferences.of(request.user)
    form = NotificationForm(request.POST or None, instance=preferences)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your e-mail choices are saved."))
        return redirect("account-notifications")
    return render(
        request,
        "assessments/account_notifications.html",
        {"form": form, "email": getattr(request.user, "email", "")},
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
        messages.info(request, _("Nothing else is waiting for you."))
        return redirect("queue")
    return redirect("assessment-form", uuid=following.uuid)


def versions_for(user: object) -> object:
    versions = InstrumentVersion.objects.select_related("instrument")
    if not getattr(user, "is_staff", False):
        versions = versions.exclude(status=InstrumentVersion.Status.DRAFT)
    return versions


@require_GET
def instrument_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "assessments/instrumentversion_list.html",
        {"versions": versions_for(request.user)},
    )


@require_GET
def instrument_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Read-only preview: sections, items, options with points or weights."""
    found = [v for v in versions_for(request.user) if v.key == key]  # type: ignore[attr-defined]
    if not found:
        raise Http404("No such instrument version")
    version = found[0]
    return render(
        request,
        "assessments/instrumentversion_detail.html",
        {"version": version, "definition": version.as_definition()},
    )
