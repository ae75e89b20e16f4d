"""Who is calling: personal access tokens (or the browser's session), their
scope and their rate.

Nothing here may import rest_framework.views: DRF's settings import this
module while rest_framework.views is still loading."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from .. import access
from ..models import ApiToken

# A token's last use is written at most this often (seconds), not per request.
TOUCH_EVERY = 300


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: a live token limits the request to its
    projects (access.token_projects) and, without write, to reading."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header should be 'Bearer' and the token, "
                "separated by one space."
            )
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not readable.") from exc
        token = ApiToken.objects.by_raw(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                "This token is not valid: it may have expired or been revoked."
            )
        now = timezone.now()
        if token.last_used_at is None or (
            (now - token.last_used_at).total_seconds() > TOUCH_EVERY
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        user = token.user
        scope = frozenset(token.projects.values_list("pk", flat=True))
        setattr(user, "token_projects", scope)  # noqa: B010  (read by access)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's login, with Django's CSRF check on every change."""


class TokenScope(permissions.BasePermission):
    """Logged in, and a read-only token only reads (403 otherwise)."""

    message = "This token is read-only: make a read-write token to change data."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated(
                "Log in, or send a personal access token as 'Authorization: "
                "Bearer <token>'."
            )
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return access.token_permits(token, request.method or "GET")


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Per token (per user for the browser's session)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
