"""A study's paper: upload or replace it, stream it (private), reading choices."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from .. import access
from ..models import ReadingPreferences
from ..services import papers as paper_service
from . import uploads

UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
BYTE_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")
CHUNK = 64 * 1024


@uploads.paper_size_limited
@require_POST
def study_paper(request: HttpRequest, slug: str, uuid: uuid.UUID) -> HttpResponse:
    """Upload (or replace) the study's paper: leads and its assigned reviewers."""
    project = access.get_project(request.user, slug)
    study = access.get_study(request.user, project, uuid)
    if not access.may_upload_paper(request.user, study):
        raise PermissionDenied(
            _("Only the lead or a reviewer of this study may upload.")
        )
    upload = request.FILES.get("file")
    back = redirect("study-detail", slug=slug, uuid=study.uuid)
    if upload is None:
        messages.error(request, _("Choose the paper's PDF file to upload."))
        return back
    try:
        done = paper_service.attach_paper(
            study=study,
            user=request.user,
            uploaded_file=upload,
            filename=upload.name or "",
        )
    except ValidationError as exc:
        if exc.code == "too_large":
            return render(
                request,
                "assessments/import_too_large.html",
                {
                    "message": " ".join(exc.messages),
                    "back": back.url,
                    "back_label": _("Back to the study"),
                },
                status=413,
            )
        messages.error(request, " ".join(exc.messages))
        return back
    if done.already:
        messages.info(request, paper_service.ALREADY_ATTACHED)
    elif done.restored:
        messages.success(
            request, _("This earlier version of the paper is current again.")
        )
    elif done.replaced is not None:
        messages.success(
            request, _("Paper replaced; the earlier version is kept for its quotes.")
        )
    else:
        messages.success(request, _("Paper uploaded; its text is being extracted."))
    return back


def _inline_disposition(name: str) -> str:
    """inline with an ASCII fallback name and the real one (RFC 6266)."""
    stem = name.rsplit("/", 1)[-1] or "paper.pdf"
    if not stem.lower().endswith(".pdf"):
        stem += ".pdf"
    ascii_name = UNSAFE_NAME.sub("_", stem).strip(" .") or "paper.pdf"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(stem)}"


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range asked for, as (first, last) byte; None: send the whole file.

    (size, size) stands for a range that lies outside the file (416).
    """
    match = BYTE_RANGE.fullmatch(header.strip())
    if match is None or not any(match.groups()) or size == 0:
        return None
    first, last = match.groups()
    if not first:  # "bytes=-N": the last N bytes
        return (max(0, size - int(last)), size - 1) if int(last) else (size, size)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        return (size, size)
    return (start, end) if start <= end else None


def _chunks(handle: Any, start: int, length: int) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _stream(
    request: HttpRequest, handle: Any, size: int, etag: str
) -> HttpResponseBase:
    """The file, or the byte range PDF.js asks for (it reads big papers in parts)."""
    wanted = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range", "")
    span = _byte_range(wanted, size) if wanted and if_range in ("", etag) else None
    response: HttpResponseBase
    if span is None:
        response = FileResponse(handle, content_type="application/pdf")
    elif span == (size, size):
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    else:
        first, last = span
        length = last - first + 1
        response = StreamingHttpResponse(
            _chunks(handle, first, length), status=206, content_type="application/pdf"
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response


@require_safe
def paper_file(request: HttpRequest, paper: uuid.UUID) -> HttpResponseBase:
    """Stream a paper (current or replaced) to a member of the study's project."""
    found = access.get_paper(request.user, paper)
    etag = f'"{found.sha256}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        try:
            handle = found.file.open("rb")
            size = found.file.size
        except OSError as exc:
            # The row outlived its file (a restore without the papers folder).
            raise Http404(_("The paper's file is missing from the server.")) from exc
        response = _stream(request, handle, size, etag)
        response["Content-Disposition"] = _inline_disposition(found.original_name)
    response["ETag"] = etag
    # The paper may be copyrighted and is access-checked: no shared caches.
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _wants_json(request: HttpRequest) -> bool:
    if request.headers.get("X-Requested-With") in ("XMLHttpRequest", "fetch"):
        return True
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def reading_preferences(request: HttpRequest) -> HttpResponse:
    """Switch the evidence finder ("Where the paper may say this") on or off."""
    preferences = ReadingPreferences.of(request.user)
    value = request.POST.get("evidence_finder", "")
    if value not in ("0", "1"):
        if _wants_json(request):
            return JsonResponse(
                {"error": "evidence_finder must be 0 (off) or 1 (on)."}, status=400
            )
        messages.error(request, _("Choose whether to show the evidence finder."))
    else:
        preferences.evidence_finder = value == "1"
        preferences.save()
    if _wants_json(request):
        return JsonResponse({"evidence_finder": preferences.evidence_finder})
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(wanted if safe and wanted.startswith("/") else "home")
