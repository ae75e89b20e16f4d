"""Upload size limit for the import pages, checked before the body is read."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from ..forms import ImportForm, ScoreImportForm
from ..selectors.numbers import local_number

# UPLOAD_MAX_BYTES limits the file; the body also carries the multipart framing
# and the other fields, a few hundred bytes.
_FORM_ALLOWANCE = 64 * 1024


def _body_limit() -> int:
    return int(settings.UPLOAD_MAX_BYTES) + _FORM_ALLOWANCE


# Papers (full texts with figures) have their own, larger limit; only the
# paper upload address may send such a body.
PAPER_URL_NAME = "study-paper"


def paper_body_limit() -> int:
    return int(settings.PAPER_MAX_BYTES) + _FORM_ALLOWANCE


def _limit_for(request: HttpRequest | None) -> int:
    if request is None:
        return _body_limit()
    try:
        name = resolve(request.path_info).url_name
    except Resolver404:
        return _body_limit()
    return paper_body_limit() if name == PAPER_URL_NAME else _body_limit()


class UploadLimitHandler(FileUploadHandler):
    """Skips reading a multipart body too large for UPLOAD_MAX_BYTES.

    Middleware reads request.POST before any view runs, so only an upload
    handler (FILE_UPLOAD_HANDLERS) sees the size before the body is read. The
    form then arrives empty and the import views answer 413 (size_limited).
    """

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, Any]] | None:
        if content_length > _limit_for(self.request):
            return QueryDict(), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_text(limit: int | None = None) -> str:
    limit = settings.UPLOAD_MAX_BYTES if limit is None else limit
    if limit < 2**20:
        return _("%(size)s bytes") % {"size": f"{limit:,}"}
    return _("%(size)s MB") % {"size": local_number(round(limit / 2**20, 1), trim=True)}


def too_large_text() -> str:
    return _(
        "The file is larger than the upload limit of %(limit)s. "
        "Split it into smaller files and import them one after the other."
    ) % {"limit": limit_text()}


def _declared_size(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def size_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 413 to an oversized upload, before the form (or CSRF) reads it.

    The CSRF check moves inside: an oversized body arrives without its token,
    and would otherwise get a CSRF failure instead of the reason.
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _declared_size(request) > _body_limit():
            return render(
                request,
                "assessments/import_too_large.html",
                {"message": too_large_text(), "back": request.path},
                status=413,
            )
        return protected(request, *args, **kwargs)

    return wrapper


def oversized(form: ImportForm | ScoreImportForm) -> bool:
    """Also check the file itself, whatever the request declared."""
    if form.cleaned_data["file"].size <= settings.UPLOAD_MAX_BYTES:
        return False
    form.add_error("file", too_large_text())
    return True


def paper_too_large_text() -> str:
    return _(
        "The paper is larger than the limit of %(limit)s for papers. Compress the "
        "PDF (for example with lower-resolution figures) and upload it again."
    ) % {"limit": limit_text(settings.PAPER_MAX_BYTES)}


def paper_size_limited(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """size_limited for the paper upload, against PAPER_MAX_BYTES."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _declared_size(request) > paper_body_limit():
            return render(
                request,
                "assessments/import_too_large.html",
                {
                    "message": paper_too_large_text(),
                    "back": reverse("study-detail", kwargs=kwargs),
                    "back_label": _("Back to the study"),
                },
                status=413,
            )
        return protected(request, *args, **kwargs)

    return wrapper
