"""Error pages that keep the layout but never leak details.

Also django-axes' two hooks: whose address a failed log-in counts against
(``AXES_CLIENT_IP_CALLABLE``) and what a locked-out request gets back
(``AXES_LOCKOUT_CALLABLE``).
"""

from __future__ import annotations

import ipaddress

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)


# --- login throttling (django-axes) ------------------------------------------------


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client, as the PROXY_COUNT trusted proxies saw it.

    Each proxy appends the address it was connected from to X-Forwarded-For,
    so the PROXY_COUNT-th entry from the right is the client as our outermost
    proxy saw it; anything further left was sent by the client and may be
    forged. Without proxies the header is the client's own and is ignored.
    That is the whole rule, so django-ipware (a further dependency with its
    own proxy-count conventions and preference for public addresses) is not
    needed.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = int(getattr(settings, "PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    if count <= 0 or not chain:
        return remote
    # A shorter chain came through fewer proxies; its left end is then the
    # address the first of them saw.
    candidate = chain[-min(count, len(chain))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_message(request: HttpRequest) -> str:
    cool_off = get_cool_off(request)
    if not cool_off:
        return _(
            "Too many failed log-in attempts for this username. Ask an "
            "administrator to unlock it."
        )
    minutes = max(1, round(cool_off.total_seconds() / 60))
    until = timezone.localtime(timezone.now() + cool_off)
    return ngettext(
        "Too many failed log-in attempts for this username. Wait "
        "%(minutes)d minute, until %(until)s, then try again; each attempt "
        "before then starts the wait again.",
        "Too many failed log-in attempts for this username. Wait "
        "%(minutes)d minutes, until %(until)s, then try again; each attempt "
        "before then starts the wait again.",
        minutes,
    ) % {"minutes": minutes, "until": f"{until:%H:%M}"}


def _lockout_status() -> int:
    # django-axes adds its defaults to the settings only when it loads.
    return int(getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429))


def lockout_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": lockout_message(request)}, status=_lockout_status())


def _wants_json(request: HttpRequest) -> bool:
    # The re-login dialog of the assessment form reads the answer as JSON.
    if request.path == reverse("relogin"):
        return True
    if request.headers.get("X-Requested-With") in ("XMLHttpRequest", "fetch"):
        return True
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred == "application/json"


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, object] | None = None,
) -> HttpResponse:
    """What a locked-out log-in gets: JSON for scripts, the page for people.

    django-axes calls this instead of answering with its own page, which the
    assessment form's script could not read.
    """
    if _wants_json(request):
        return lockout_json(request)
    return render(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        {"message": lockout_message(request)},
        status=_lockout_status(),
    )
