"""Signing in through an institution's OpenID Connect provider (Entra ID, Keycloak).

mozilla-django-oidc runs the authorisation code flow (state, nonce, PKCE with
S256); this module finds the account only through the identity service, by
the issuer and the `sub` of the verified ID token, never by e-mail. Endpoints
come from the issuer's discovery document unless a setting names them.
Every failure ends on the login page with a sentence, never an error page.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from ..models import ExternalIdentity
from ..services.identity import Asserted, SignInRefused, sign_in

LOGGER = logging.getLogger(__name__)

# A day: endpoints of a provider change rarely; keys are fetched on each login.
DISCOVERY_TTL = 24 * 3600
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}

# Our setting for each endpoint, the discovery document's name for it.
_OVERRIDES = {
    "authorization_endpoint": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "OIDC_OP_TOKEN_ENDPOINT",
    "jwks_uri": "OIDC_OP_JWKS_ENDPOINT",
    "userinfo_endpoint": "OIDC_OP_USER_ENDPOINT",
    "end_session_endpoint": "OIDC_OP_END_SESSION_ENDPOINT",
}


class SignInFailed(Exception):
    """The sign-in did not complete; the message is shown to the person."""


_UNVERIFIED = gettext_lazy("the answer from your institution could not be verified.")


def _same_issuer(a: str, b: str) -> bool:
    # Providers differ on a trailing slash in what people copy from them;
    # the rest must be identical.
    return bool(a) and a.rstrip("/") == b.rstrip("/")


def _discovered() -> dict[str, Any]:
    issuer = settings.OIDC_ISSUER
    cached = _discovery.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        LOGGER.warning("OIDC discovery at %s failed: %s", url, exc)
        raise SignInFailed(_("the identity provider could not be reached.")) from exc
    if not isinstance(document, dict) or not _same_issuer(
        str(document.get("issuer", "")), issuer
    ):
        LOGGER.warning("OIDC discovery at %s names another issuer", url)
        raise SignInFailed(_("the identity provider's settings do not match ours."))
    _discovery[issuer] = (time.monotonic(), document)
    return document


def endpoint(name: str, *, required: bool = True) -> str:
    """The provider's endpoint `name` (discovery's key), a setting first."""
    value = str(getattr(settings, _OVERRIDES[name], "") or "")
    if not value:
        value = str(_discovered().get(name) or "")
    if required and not value:
        raise SignInFailed(_("the identity provider does not offer what we need."))
    return value


def _back_to_login(request: HttpRequest, reason: str) -> HttpResponse:
    messages.error(
        request,
        _("Your institution's sign-in did not complete: %(reason)s")
        % {"reason": reason},
    )
    return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))


def login_page(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the login page's institutional sign-in button."""
    if not settings.OIDC_ENABLED:
        return {}
    return {"oidc_sign_in": {"label": settings.OIDC_BUTTON_LABEL}}


@method_decorator(login_not_required, name="dispatch")
class Authenticate(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """Redirect to the provider; its address may come from discovery."""

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoint("authorization_endpoint")
        except SignInFailed as exc:
            return _back_to_login(request, str(exc))
        response: HttpResponse = super().get(request)
        return response


@method_decorator(login_not_required, name="dispatch")
class Callback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """The provider's redirect back; failures go to the login page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("error"):
            LOGGER.info("OIDC provider returned %s", request.GET.get("error"))
            # The state is spent: the same answer cannot be replayed later.
            request.session.get("oidc_states", {}).pop(request.GET.get("state"), None)
            request.session.modified = True
            return _back_to_login(
                request, _("your institution cancelled or refused it.")
            )
        if "code" not in request.GET or "state" not in request.GET:
            return _back_to_login(request, _("the answer was incomplete."))
        if request.GET["state"] not in request.session.get("oidc_states", {}):
            # An old tab, a replayed answer, or a request we never sent.
            return _back_to_login(
                request, _("it was started elsewhere or has expired. Please try again.")
            )
        try:
            response: HttpResponse = super().get(request)
        except SignInFailed as exc:
            return _back_to_login(request, str(exc))
        return response

    def login_failure(self) -> HttpResponse:
        return _back_to_login(self.request, _("the account could not be signed in."))


@method_decorator(login_not_required, name="dispatch")
class SignOut(OIDCLogoutView):  # type: ignore[misc]
    """The site's log-out (POST only) for every user; see provider_logout_url."""


def provider_logout_url(request: HttpRequest) -> str:
    """Where to go after the local session ends: the provider's end-session
    endpoint for a person who signed in there, the login page otherwise."""
    local = resolve_url(settings.LOGOUT_REDIRECT_URL or settings.LOGIN_URL)
    id_token = request.session.get("oidc_id_token")
    if not id_token:
        return local
    try:
        end_session = endpoint("end_session_endpoint", required=False)
    except SignInFailed:
        return local  # the provider is away: the local logout still happens
    if not end_session:
        return local
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(
                resolve_url(settings.LOGIN_URL)
            ),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{end_session}{'&' if '?' in end_session else '?'}{query}"


class InstitutionBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """The library's code flow; the account comes from the identity service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds backends on every request and every password login:
        # nothing here may reach the provider (the library's would).
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, *, nonce: str, code_verifier: str | None
    ) -> AbstractBaseUser | None:
        # Keyword-only nonce: Django skips this backend for password logins.
        # Failures raise (not None) so axes does not count them as password
        # guesses and the person is told why.
        self.OIDC_OP_TOKEN_ENDPOINT = endpoint("token_endpoint")
        self.OIDC_OP_JWKS_ENDPOINT = endpoint("jwks_uri")
        self.OIDC_OP_USER_ENDPOINT = endpoint("userinfo_endpoint", required=False)
        try:
            user: AbstractBaseUser | None = super().authenticate(
                request, nonce=nonce, code_verifier=code_verifier
            )
        except SignInRefused as exc:
            raise SignInFailed(str(exc)) from exc
        except requests.RequestException as exc:
            LOGGER.warning("OIDC provider refused or failed: %s", exc)
            raise SignInFailed(_("your institution's server refused it.")) from exc
        except (SuspiciousOperation, jwt.PyJWTError, KeyError, ValueError) as exc:
            LOGGER.warning("OIDC answer not accepted: %s", exc)
            raise SignInFailed(str(_UNVERIFIED)) from exc
        if user is None:
            raise SignInFailed(_("the account could not be signed in."))
        return user

    def get_payload_data(self, token: bytes | str, key: Any) -> dict[str, Any]:
        """The verified claims: signature (RS256 only), audience, expiry."""
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=self.OIDC_RP_CLIENT_ID,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            leeway=60,
        )
        audiences = payload["aud"] if isinstance(payload["aud"], list) else []
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token issued to another party")
        if not _same_issuer(str(payload["iss"]), settings.OIDC_ISSUER):
            raise SuspiciousOperation("ID token from another issuer")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # Nothing but `sub` is needed: no one is matched by e-mail.
        return bool(claims.get("sub"))

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if not self.OIDC_OP_USER_ENDPOINT:
            return {}
        info: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        return info

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> AbstractBaseUser:
        """`payload` is the verified ID token: who the person is comes from it;
        userinfo may only add names and e-mail for the same `sub`."""
        info = self.get_userinfo(access_token, id_token, payload)
        if info and info.get("sub") != payload["sub"]:
            LOGGER.warning("OIDC userinfo describes another subject")
            raise SignInFailed(str(_UNVERIFIED))
        claims = {**payload, **info, "iss": payload["iss"], "sub": payload["sub"]}
        if not self.verify_claims(claims):
            raise SignInFailed(str(_UNVERIFIED))
        return self._sign_in(claims)

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        # Django's, not the library's: a deactivated account's open session
        # ends on its next request.
        user: AbstractBaseUser | None = ModelBackend.get_user(self, user_id)
        return user

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        # The library would match by e-mail; the identity service decides.
        return self.UserModel.objects.none()

    def create_user(self, claims: dict[str, Any]) -> AbstractBaseUser:
        return self._sign_in(claims)

    def update_user(
        self, user: AbstractBaseUser, claims: dict[str, Any]
    ) -> AbstractBaseUser:
        return self._sign_in(claims)

    def _sign_in(self, claims: dict[str, Any]) -> AbstractBaseUser:
        return sign_in(
            Asserted(
                protocol=ExternalIdentity.Protocol.OIDC,
                issuer=str(claims["iss"]),
                subject=str(claims["sub"]),
                # An address the provider says it has not verified is not kept.
                email=""
                if claims.get("email_verified") is False
                else str(claims.get("email") or ""),
                first_name=str(claims.get("given_name") or ""),
                last_name=str(claims.get("family_name") or ""),
                username_hint=str(claims.get("preferred_username") or ""),
            )
        )
