"""Login required everywhere; background saves get 401 JSON instead of a redirect."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import translation

from .services.languages import SESSION_KEY, supported


class LoginRequired(LoginRequiredMiddleware):
    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Any
    ) -> HttpResponse:
        if request.headers.get("X-Requested-With") == "fetch":
            # The form keeps the unsent change and asks the reviewer to log in
            # again without leaving the page.
            return JsonResponse({"error": "session expired", "login": True}, status=401)
        return super().handle_no_permission(request, view_func)


class SlidingSession:
    """Slide the session expiry at most once a minute, not on every request.

    SESSION_SAVE_EVERY_REQUEST would write the session row on every autosave;
    a working-day session loses nothing by sliding once a minute.
    """

    INTERVAL = 60

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            now = int(time.time())
            if now - int(session.get("_slid", 0)) >= self.INTERVAL:
                session["_slid"] = now  # marks the session modified: it is saved
        return self.get_response(request)


class RejectNulCharacters:
    """400 for a query string or form field containing NUL.

    PostgreSQL refuses NUL in text, so such input would otherwise end as a 500
    (or be stored by SQLite); no browser form sends it.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request.GET) or (
            request.method == "POST" and _has_nul(request.POST)
        ):
            message = "A field contains a NUL character, which is not allowed."
            if request.headers.get("X-Requested-With") == "fetch":
                return JsonResponse({"error": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


def _has_nul(data: Any) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in data.lists()
    )


class UserLanguage:
    """A signed-in person's chosen language (in their session since login)
    wins over the cookie and the browser's Accept-Language."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        chosen = session.get(SESSION_KEY) if session is not None else None
        if (
            chosen
            and chosen != getattr(request, "LANGUAGE_CODE", None)
            and supported(chosen)
        ):
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)
