"""Signing in through an institution with SAML 2.0 (SURFconext, eduGAIN).

djangosaml2 and pysaml2 speak the protocol: they send the AuthnRequest, check
the IdP's signature, the audience, the validity window and that the response
answers a request this browser made. What is left here is who the person is:
the account is found only through ``services.identity.sign_in`` by the IdP's
entity ID and a stable identifier (the persistent NameID, or the attribute
named by SAML_ID_ATTRIBUTE), never by e-mail.
"""

from __future__ import annotations

import calendar
import copy
import functools
import logging
import time
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _
from djangosaml2 import views as saml_views
from djangosaml2.backends import Saml2Backend
from saml2 import saml
from saml2.attribute_converter import ac_factory
from saml2.config import SPConfig
from saml2.response import SignatureError, UnsolicitedResponse
from saml2.time_util import str_to_time
from saml2.validate import ResponseLifetimeExceed, ToEarly

from ..services.identity import Asserted, SignInRefused, sign_in

logger = logging.getLogger(__name__)

# The session key naming the protocol that signed the person in; logout asks
# the IdP to end its session too only for SAML sign-ins.
SIGNED_IN_WITH = "signed_in_with"
# Where the backend leaves its reason for refusing, for the failure page
# (Django's authenticate() swallows the exception a backend raises).
_REFUSAL = "_saml_refusal"
# Metadata is fetched (or parsed) once an hour, not on every SAML request:
# federation metadata can be large and its host slow.
_CONFIG_TTL = 3600.0
_loaded: dict[str, tuple[float, SPConfig]] = {}


def _setting(name: str) -> Any:
    # Set only while SAML is on (rqs.settings.saml_settings), so not declared.
    return getattr(settings, name)


def load_config(request: HttpRequest | None = None) -> SPConfig:
    """SAML_CONFIG_LOADER: djangosaml2's own loader, cached for _CONFIG_TTL."""
    key = repr(_setting("SAML_CONFIG"))
    hit = _loaded.get(key)
    if hit is not None and time.monotonic() - hit[0] < _CONFIG_TTL:
        return hit[1]
    conf = SPConfig()
    conf.load(copy.deepcopy(_setting("SAML_CONFIG")))
    _loaded.clear()
    _loaded[key] = (time.monotonic(), conf)
    return conf


class InstitutionSaml2Backend(Saml2Backend):
    """Finds the account by (IdP entity ID, stable identifier) only."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        session_info: dict[str, Any] | None = None,
        attribute_mapping: dict[str, Any] | None = None,
        create_unknown_user: bool = True,
        assertion_info: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None or session_info is None or "ava" not in session_info:
            return None  # not a SAML sign-in: the other backends decide
        try:
            _accept_once(assertion_info or {})
            return sign_in(_asserted(session_info))
        except SignInRefused as refusal:
            setattr(request, _REFUSAL, str(refusal))
            return None


def _asserted(session_info: dict[str, Any]) -> Asserted:
    ava: dict[str, list[Any]] = session_info.get("ava") or {}
    id_attribute = _setting("SAML_ID_ATTRIBUTE")
    if id_attribute:
        subject = _value(ava, [id_attribute])
        if not subject:
            raise SignInRefused(
                _(
                    "Your institution did not send the identifier this platform "
                    "recognises you by. Ask the platform's administrator."
                )
            )
    else:
        name_id = session_info.get("name_id")
        if name_id is None or name_id.format != saml.NAMEID_FORMAT_PERSISTENT:
            # A transient NameID changes with every sign-in: matching on it
            # would make a new account each time.
            raise SignInRefused(
                _(
                    "Your institution sent only a one-time identifier, so this "
                    "platform cannot recognise you from one sign-in to the next. "
                    "Ask the platform's administrator to set up an identifying "
                    "attribute."
                )
            )
        subject = (name_id.text or "").strip()
    email = _value(ava, _setting("SAML_EMAIL_ATTRIBUTES"))
    return Asserted(
        protocol="saml",
        issuer=session_info.get("issuer") or "",
        subject=subject,
        email=email,
        first_name=_value(ava, _setting("SAML_FIRST_NAME_ATTRIBUTES")),
        last_name=_value(ava, _setting("SAML_LAST_NAME_ATTRIBUTES")),
        username_hint=_value(ava, ["urn:oid:0.9.2342.19200300.100.1.1", "uid"])
        or email.split("@")[0],
    )


def _value(ava: dict[str, list[Any]], names: list[str]) -> str:
    """The first value of the first of these attributes the IdP sent.

    pysaml2 renames attributes it knows (urn:oid:2.5.4.42 becomes givenName)
    and lower-cases the rest, so each name is tried in every spelling.
    """
    by_name = {key.lower(): values for key, values in ava.items()}
    for name in names:
        for spelling in _spellings(name):
            for value in by_name.get(spelling, []):
                text = value if isinstance(value, str) else str(value)
                if text.strip():
                    return text.strip()
    return ""


@functools.cache
def _spellings(name: str) -> tuple[str, ...]:
    found = [name.lower(), name.rsplit(":", 1)[-1].lower()]
    for converter in ac_factory():
        attribute = saml.Attribute(name=name, name_format=converter.name_format)
        if friendly := converter.from_format(attribute):
            found.append(friendly.lower())
    return tuple(dict.fromkeys(found))


def _accept_once(assertion_info: dict[str, Any]) -> None:
    """Refuse an assertion ID seen before, until the assertion expires.

    The single-use request ID in the session already stops a replay in the
    same browser; this also stops one through another session.
    """
    assertion_id = assertion_info.get("assertion_id")
    if not assertion_id:
        return
    timeout = 600
    if not_after := assertion_info.get("not_on_or_after"):
        expires = calendar.timegm(str_to_time(not_after))
        timeout = max(60, int(expires - time.time()))
    if not cache.add(f"saml-assertion:{assertion_id}", 1, timeout):
        raise SignInRefused(
            _("This sign-in was already used. Please sign in again from this page.")
        )


def acs_failed(
    request: HttpRequest,
    exception: Exception | None = None,
    status: int = 403,
    **kwargs: Any,
) -> HttpResponse:
    """SAML_ACS_FAILURE_RESPONSE_FUNCTION: back to the login page, said plainly."""
    messages.error(request, _failure_message(request, exception))
    return redirect(settings.LOGIN_URL)


def _failure_message(request: HttpRequest, exception: Exception | None) -> str:
    refusal = getattr(request, _REFUSAL, "")
    if refusal:
        return str(refusal)
    if isinstance(exception, ResponseLifetimeExceed | ToEarly):
        return _(
            "The sign-in from your institution had expired or was not yet "
            "valid. Please try again; if it keeps happening, the clocks may "
            "disagree: tell the platform's administrator."
        )
    if isinstance(exception, UnsolicitedResponse):
        return _(
            "This sign-in was not started from this browser, or was already "
            "used. Please start again from this page."
        )
    if isinstance(exception, SignatureError):
        return _(
            "The answer from your institution could not be verified, so you "
            "were not signed in. Please try again."
        )
    if isinstance(exception, PermissionDenied):
        return _("Your institution's sign-in did not give access to this platform.")
    return _("Signing in through your institution did not work. Please try again.")


class _Login(saml_views.LoginView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().get(request, *args, **kwargs)  # type: ignore[no-any-return]
        except Exception:
            # Unreachable or broken IdP metadata: a plain message, not a 500.
            logger.exception("SAML sign-in could not start")
            messages.error(
                request,
                _(
                    "Signing in through your institution is not available right "
                    "now. Please try again later."
                ),
            )
            return redirect(settings.LOGIN_URL)


class _Acs(saml_views.AssertionConsumerServiceView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().post(request, *args, **kwargs)  # type: ignore[no-any-return]
        except Exception as exc:
            # Metadata that cannot be loaded, a broken message: never a 500.
            logger.exception("SAML response could not be processed")
            return acs_failed(request, exc)

    def custom_validation(self, response: Any) -> None:
        # Only the assertion may be signed: the account is looked up by the
        # Response's issuer, so it must be the one that signed the assertion
        # (else one IdP of a federation could speak for another).
        assertion_issuer = (response.assertion.issuer.text or "").strip()
        if assertion_issuer != response.issuer():
            raise PermissionDenied("The response and its assertion disagree.")

    def customize_session(self, user: Any, session_info: dict[str, Any]) -> None:
        self.request.session[SIGNED_IN_WITH] = "saml"


class SingleLogout(MiddlewareMixin):
    """Logging out of a SAML sign-in also ends the session at the IdP.

    The site's logout form posts to the route named "logout" (CSRF checked
    before this runs, as this middleware comes last); for a SAML sign-in it goes
    on to djangosaml2's logout view, which ends the local session and sends
    the person to the IdP's single logout service, or only ends the local
    session when the IdP offers none.
    """

    def process_view(
        self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if (
            request.method == "POST"
            and request.resolver_match is not None
            and request.resolver_match.url_name == "logout"
            and request.user.is_authenticated
            and request.session.get(SIGNED_IN_WITH) == "saml"
        ):
            return _LogoutInit.as_view()(request)  # type: ignore[no-any-return]
        return None


class _LogoutInit(saml_views.LogoutInitView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().get(request, *args, **kwargs)  # type: ignore[no-any-return]
        except Exception:
            # No SAML state in this browser, an IdP that cannot be reached:
            # the local session still ends.
            logger.exception("SAML single logout failed")
            auth.logout(request)
            return redirect(settings.LOGOUT_REDIRECT_URL)

    # The site's logout form posts (with its CSRF token).
    post = get

    def handle_unsupported_slo_exception(
        self, request: HttpRequest, exception: Exception, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        # The IdP offers no single logout: the local session has ended.
        return redirect(settings.LOGOUT_REDIRECT_URL)


def saml_signin(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the login page's link to the institution."""
    return {
        "saml_signin": {
            "label": _setting("SAML_BUTTON_LABEL"),
            "url": reverse("saml2_login"),
        }
    }


# djangosaml2.urls with our login, ACS and logout views, all reachable
# anonymously but logout: the LoginRequired middleware would otherwise send the
# IdP's POST to the login page. rqs/urls.py includes this module at /saml2/
# only when SAML is on.
urlpatterns: list[URLPattern] = [
    path("login/", login_not_required(_Login.as_view()), name="saml2_login"),
    path("acs/", login_not_required(_Acs.as_view()), name="saml2_acs"),
    path("logout/", _LogoutInit.as_view(), name="saml2_logout"),
    path("ls/", login_not_required(saml_views.LogoutView.as_view()), name="saml2_ls"),
    path(
        "ls/post/",
        login_not_required(saml_views.LogoutView.as_view()),
        name="saml2_ls_post",
    ),
    path(
        "metadata/",
        login_not_required(saml_views.MetadataView.as_view()),
        name="saml2_metadata",
    ),
]
