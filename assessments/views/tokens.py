"""Account, API tokens: make, list and revoke personal access tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ..forms_tokens import TokenForm
from ..models import ApiToken
from ..services import tokens

USED_KEYS = "token_form_keys"


def _status(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "live" if token.is_live else "expired"


def _page(
    request: HttpRequest, form: TokenForm, raw: str = "", status: int = 200
) -> HttpResponse:
    owner: Any = request.user  # logged in: the site's middleware sees to it
    rows = [
        {
            "token": t,
            "status": _status(t),
            "projects": [p.name for p in t.projects.all()],
        }
        for t in ApiToken.objects.filter(user=owner).prefetch_related("projects")
    ]
    context: dict[str, Any] = {
        "form": form,
        "rows": rows,
        "raw": raw,
        "api_url": request.build_absolute_uri(reverse("api-projects")),
    }
    return render(request, "assessments/account_tokens.html", context, status=status)


# The page may show a token once: no cache, in the browser or on the way, keeps it.
@never_cache
@require_http_methods(["GET", "POST"])
def account_tokens(request: HttpRequest) -> HttpResponse:
    """The user's tokens, and a form for a new one shown once on this page."""
    if request.method != "POST":
        return _page(request, TokenForm(user=request.user))
    form = TokenForm(request.POST, user=request.user)
    used: list[str] = request.session.get(USED_KEYS, [])
    once = str(request.POST.get("once", ""))
    if once and once in used:
        messages.info(
            request,
            _(
                "That token was already made when the page was sent the first "
                "time; no second one was made, and its value is not shown again."
            ),
        )
        return _page(request, TokenForm(user=request.user))
    if form.is_valid():
        try:
            token, raw = tokens.create_token(
                user=request.user,
                name=form.cleaned_data["name"],
                projects=form.cleaned_data["projects"],
                write=form.write,
                days=form.cleaned_data["days"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if once:
                request.session[USED_KEYS] = [*used, once][-20:]
            messages.success(
                request, _("The token '%(name)s' is made.") % {"name": token.name}
            )
            # No redirect: the token exists only in this response.
            return _page(request, TokenForm(user=request.user), raw=raw)
    return _page(request, form, status=400)


@require_POST
def account_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's own tokens (anyone else's is not found)."""
    owner: Any = request.user
    token = get_object_or_404(ApiToken, pk=token_id, user=owner)
    tokens.revoke_token(token=token, user=request.user)
    messages.success(
        request,
        _("The token '%(name)s' is revoked: it no longer works.")
        % {"name": token.name},
    )
    return redirect("account-tokens")
