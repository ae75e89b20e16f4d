"""The language chooser, and the catalogue of the scripts' words."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog

from ..services import languages


@login_not_required
@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface's language and return to the page it was chosen on.

    Signed in, the choice is kept with the account (every device, and the
    reports and e-mails made for the person); the cookie serves the pages
    before login."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    signed_in = request.user.is_authenticated
    try:
        chosen = languages.choose(
            request.user,
            request.session if signed_in else None,
            request.POST.get("language", ""),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(target)
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        chosen,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response


# The words the page scripts show ("Saving…"), in the page's language; the
# same for everyone, so cached a day per language.
javascript_catalog = login_not_required(
    cache_page(24 * 3600)(JavaScriptCatalog.as_view(packages=["assessments"]))
)
