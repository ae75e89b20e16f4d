"""Micro-drills: one passage a screen, "does it satisfy item N?", then the answer.

Any member of the project may practise. Drills quote published papers, not
anyone's appraisal, so no blinding applies.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from .. import access, selectors
from ..models import Drill, InstrumentVersion, Project
from ..selectors import drills as drill_selectors
from ..selectors import worklist
from ..services import drills as drill_service

ANSWERS = {"yes": True, "no": False}


def _project_version(
    request: HttpRequest, slug: str, version_key: str
) -> tuple[Project, InstrumentVersion]:
    project = access.get_project(request.user, slug)
    version = selectors.project_version(project, version_key)
    if version is None or version.key != version_key:
        raise Http404(_("This project does not use that instrument version."))
    return project, version


def _next_url(project: Project, version: InstrumentVersion, **query: str) -> str:
    url = reverse("drill-next", args=[project.slug, version.key])
    wanted = {k: v for k, v in query.items() if v}
    return f"{url}?{urlencode(wanted)}" if wanted else url


@require_safe
def drill_list(request: HttpRequest, slug: str, version_key: str) -> HttpResponse:
    project, version = _project_version(request, slug, version_key)
    tallies = drill_selectors.item_tallies(version, request.user)
    context = {
        "project": project,
        "version": version,
        "label": worklist.instrument_label(version),
        "tallies": tallies,
        "right": sum(t.right for t in tallies),
        "total": sum(t.total for t in tallies),
        "next_url": _next_url(project, version),
    }
    return render(request, "assessments/drills.html", context)


@require_safe
def drill_next(request: HttpRequest, slug: str, version_key: str) -> HttpResponse:
    """Redirect to the drill to practise next (?item= for one item only)."""
    project, version = _project_version(request, slug, version_key)
    item_code = request.GET.get("item", "").strip() or None
    after = None
    wanted = request.GET.get("after", "")
    if wanted.isdigit() and len(wanted) < 18:
        after = drill_selectors.version_drill(version, int(wanted))
    drill = drill_selectors.next_drill(
        version, request.user, item_code=item_code, after=after
    )
    if drill is None:
        messages.info(request, _("There are no drills for this item yet."))
        return redirect("drill-list", slug=project.slug, version_key=version.key)
    url = reverse("drill-detail", args=[project.slug, version.key, drill.pk])
    return redirect(f"{url}?{urlencode({'item': item_code})}" if item_code else url)


@require_http_methods(["GET", "HEAD", "POST"])
def drill_detail(
    request: HttpRequest, slug: str, version_key: str, drill_id: int
) -> HttpResponse:
    """GET shows the drill (and, after answering, the answer); POST answers it."""
    project, version = _project_version(request, slug, version_key)
    drill = drill_selectors.version_drill(version, drill_id)
    if drill is None:
        raise Http404(_("No such drill for this instrument version."))
    focus = request.GET.get("item", "") or request.POST.get("item", "")
    here = reverse("drill-detail", args=[project.slug, version.key, drill.pk])
    if request.method == "POST":
        answer = ANSWERS.get(request.POST.get("answer", ""))
        if answer is None:
            messages.error(request, _("Choose Yes or No."))
            return redirect(f"{here}?{urlencode({'item': focus})}" if focus else here)
        attempt = drill_service.answer_drill(
            drill=drill, user=request.user, answer=answer
        )
        query = {"answered": str(attempt.pk), **({"item": focus} if focus else {})}
        return redirect(f"{here}?{urlencode(query)}")
    return render(
        request,
        "assessments/drill.html",
        _detail_context(request, project, version, drill, focus),
    )


def _detail_context(
    request: HttpRequest,
    project: Project,
    version: InstrumentVersion,
    drill: Drill,
    focus: str,
) -> dict[str, object]:
    answered = request.GET.get("answered", "")
    attempt = (
        drill_selectors.own_attempt(drill, request.user, int(answered))
        if answered.isdigit() and len(answered) < 18
        else None
    )
    return {
        "project": project,
        "version": version,
        "label": worklist.instrument_label(version),
        "drill": drill,
        "item": version.as_definition().item(drill.item_code),
        "attempt": attempt,
        "focus": focus,
        "next_url": _next_url(project, version, item=focus, after=str(drill.pk)),
        "list_url": reverse("drill-list", args=[project.slug, version.key]),
    }
