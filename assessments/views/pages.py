"""Top-level pages: the user's projects, their queue, the instrument catalogue."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import access
from ..models import InstrumentVersion


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    projects = access.visible_projects(request.user).order_by("name")
    return render(request, "assessments/project_list.html", {"projects": projects})


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "assessments/queue.html", {"rows": []})


@require_GET
def instrument_list(request: HttpRequest) -> HttpResponse:
    versions = InstrumentVersion.objects.select_related("instrument").exclude(
        status=InstrumentVersion.Status.DRAFT
    )
    if request.user.is_staff:
        versions = InstrumentVersion.objects.select_related("instrument")
    return render(
        request, "assessments/instrumentversion_list.html", {"versions": versions}
    )
