"""Baseline endpoint for `make bench` (only routed when BENCH_ENDPOINTS=1).

It updates one row after the same session and CSRF checks as autosave, so the
benchmark can compare autosave with the cost of the stack itself.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from ..models import Answer


@require_POST
def baseline(request: HttpRequest) -> JsonResponse:
    updated = Answer.objects.filter(
        pk=int(request.POST.get("pk", "0") or 0),
        assessment__reviewer_id=request.user.pk,
    ).update(comment=request.POST.get("comment", "")[:200])
    return JsonResponse({"updated": updated})
