"""Two-factor sign-in for local accounts: set-up, the login's code step, the gate.

An account with a confirmed authenticator app is logged in only once its code
(or a recovery code) is right: after the password the session holds just the
account that is waiting for its code, so a password alone opens nothing. The
gate catches sessions opened some other way (the admin's own login page) and
people who must use two-factor but have not set it up yet.
"""

from __future__ import annotations

import base64
import time
from typing import Any, NamedTuple

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    authenticate,
    get_user_model,
    login,
    logout,
)
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.deprecation import MiddlewareMixin
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..forms_two_factor import CodeForm, SignInCodeForm, SwitchOffForm, normalise_code
from ..models import Membership

# The account whose password was right and whose code is still to come.
PENDING = "two_factor_pending"
# This session's account had no authenticator app when last looked at; looked
# at again after CHECK_EVERY seconds, so an app set up in another browser
# soon applies here too, at one query every few minutes rather than each page.
CHECKED = "two_factor_checked"
CHECK_EVERY = 300
# Recovery codes just made, shown on the next page and never again.
NEW_CODES = "two_factor_new_codes"
PENDING_FOR = 600
RECOVERY_CODES = 10
WRONG_CODE = gettext_lazy(
    "That code is not right. Check the time on your phone and try again."
)
# What the gate never stops: leaving, the code step itself, the form's
# re-login (which asks for the code on its own) and the health checks.
ALWAYS_OPEN = {"logout", "two-factor-verify", "relogin", "healthz", "livez"}
# And what someone who must set up two-factor may still open.
SETUP_PAGES = ALWAYS_OPEN | {"two-factor-setup", "two-factor-recovery", "two-factor"}


# --- Who uses and who must use two-factor ------------------------------------------


def app_device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


def uses_two_factor(user: Any) -> bool:
    # Institutional accounts have no password here: their second factor is
    # the institution's business.
    return bool(user.has_usable_password()) and (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    )


def is_required(user: Any) -> bool:
    required = set(settings.TWO_FACTOR_REQUIRED_FOR)
    if not required or not user.has_usable_password():
        return False
    if "staff" in required and (user.is_staff or user.is_superuser):
        return True
    return "leads" in required and (
        Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists()
    )


class Verdict(NamedTuple):
    device: Device | None
    problem: str = ""
    throttled: bool = False


def check_code(user: Any, raw: str, *, recovery: bool = True) -> Verdict:
    """The device that accepts this code, or why none does.

    django-otp throttles each device: after the n-th wrong code in a row the
    next is refused unseen for a while that doubles each time.
    """
    code = normalise_code(raw)
    device: Device | None
    if code.isdigit() and len(code) == 6:
        device = app_device(user)
    elif recovery and code:
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    else:
        return Verdict(None, _("Enter the 6-digit code from your authenticator app."))
    if device is None:
        return Verdict(None, str(WRONG_CODE))
    with transaction.atomic():
        device = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, info = device.verify_is_allowed()
        if not allowed:
            return Verdict(None, _throttled(info or {}), throttled=True)
        if device.verify_token(code):
            return Verdict(device)
    return Verdict(None, str(WRONG_CODE))


def _throttled(info: dict[str, Any]) -> str:
    until = info.get("locked_until")
    if until is None:
        return _("Too many wrong codes. Wait a little, then try again.")
    return _("Too many wrong codes in a row. Wait until %(time)s, then try again.") % {
        "time": f"{timezone.localtime(until):%H:%M:%S}"
    }


def _mark_checked(request: HttpRequest, user: Any) -> None:
    request.session[CHECKED] = {"user": user.pk, "at": int(time.time())}


def _sign_in(
    request: HttpRequest, user: Any, device: Device | None, backend: str | None = None
) -> None:
    login(request, user, backend=backend)
    signed_in(request, user, device)


def second_factor(
    request: HttpRequest, user: Any
) -> tuple[JsonResponse | None, Device | None]:
    """For the form's re-login after a right password: the code, if one is due.

    A refusal to answer when the account has an authenticator app and the
    code is missing or wrong; the dialog then shows its code field and sends
    the password again with the code. Otherwise the device that accepted it.
    """
    if not uses_two_factor(user):
        return None, None
    if not normalise_code(request.POST.get("code", "")):
        message = _("Enter the code from your authenticator app.")
        return JsonResponse({"needs_code": True, "error": message}, status=401), None
    verdict = check_code(user, request.POST["code"])
    if verdict.device is None:
        status = 429 if verdict.throttled else 401
        refusal = {"needs_code": True, "error": verdict.problem}
        return JsonResponse(refusal, status=status), None
    return None, verdict.device


def signed_in(request: HttpRequest, user: Any, device: Device | None) -> None:
    """After login(): mark the session verified by the device, or checked."""
    if device is not None:
        otp_login(request, device)
    else:
        _mark_checked(request, user)


# --- The gate ----------------------------------------------------------------------


class TwoFactorGate(MiddlewareMixin):
    """Keep a session without its second factor on the two-factor pages."""

    def process_view(
        self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user: Any = request.user
        if not user.is_authenticated or not user.has_usable_password():
            return None
        # Not "any view open to anonymous users": the API's views are, and
        # take the browser's session too.
        match = request.resolver_match
        name = match.url_name if match is not None else None
        if name in ALWAYS_OPEN:
            return None
        if request.session.get(DEVICE_ID_SESSION_KEY) and user.is_verified():
            return None
        checked = request.session.get(CHECKED) or {}
        fresh = checked.get("user") == user.pk and (
            time.time() - checked.get("at", 0) < CHECK_EVERY
        )
        if not fresh:
            if app_device(user) is not None:
                return self._to_code_step(request, user)
            _mark_checked(request, user)
        if not is_required(user):
            return None
        if name in SETUP_PAGES:
            return None
        message = _("Set up two-factor sign-in first: it is required for your account.")
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse({"error": message}, status=403)
        messages.info(request, message)
        return redirect("two-factor-setup")

    def _to_code_step(self, request: HttpRequest, user: Any) -> HttpResponse:
        # Logged in by password alone (the admin's login page): trade the
        # session for one waiting for the code.
        pending = _pending(user, request.session.get(BACKEND_SESSION_KEY), "")
        if request.method == "GET":
            pending["next"] = request.get_full_path()
        logout(request)
        request.session[PENDING] = pending
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse(
                {"error": _("session expired"), "login": True}, status=401
            )
        return redirect("two-factor-verify")


# --- The login's second step -------------------------------------------------------


def _pending(user: Any, backend: str | None, next_url: str) -> dict[str, Any]:
    return {
        "user": user.pk,
        "backend": backend or "django.contrib.auth.backends.ModelBackend",
        "next": next_url,
        "at": int(time.time()),
    }


class TwoStepLoginView(LoginView):
    """Django's login page; with an authenticator app the code comes next."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not uses_two_factor(user):
            response = super().form_valid(form)
            _mark_checked(self.request, user)
            return response
        self.request.session.cycle_key()
        self.request.session[PENDING] = _pending(
            user, getattr(user, "backend", None), self.get_success_url()
        )
        return redirect("two-factor-verify")


login_view = method_decorator(never_cache, name="dispatch")(TwoStepLoginView).as_view()


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The code after the password."""
    pending: dict[str, Any] = request.session.get(PENDING) or {}
    user = None
    if pending and time.time() - pending.get("at", 0) < PENDING_FOR:
        user = (
            get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
        )
    if user is None:
        request.session.pop(PENDING, None)
        landing = resolve_url(settings.LOGIN_REDIRECT_URL)
        if request.user.is_authenticated:
            return redirect(landing)
        if request.method == "POST":
            messages.info(request, _("That took too long: log in again."))
        return redirect_to_login(landing)
    form = SignInCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, problem = check_code(user, form.cleaned_data["code"])[:2]
        if device is not None:
            del request.session[PENDING]
            _sign_in(request, user, device, pending["backend"])
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(request, _codes_left(left))
            return redirect(pending["next"] or resolve_url(settings.LOGIN_REDIRECT_URL))
        form.add_error("code", problem)
    return render(request, "two_factor/verify.html", {"form": form})


def _codes_left(left: int) -> str:
    if left == 0:
        return _(
            "You used your last recovery code. Make new ones under your name, "
            "Two-factor sign-in."
        )
    return ngettext(
        "Recovery code used: %(left)d left. Each one works only once.",
        "Recovery code used: %(left)d left. Each one works only once.",
        left,
    ) % {"left": left}


# --- Account > Two-factor sign-in --------------------------------------------------


def _local_only(request: HttpRequest) -> HttpResponse | None:
    user: Any = request.user
    if user.has_usable_password():
        return None
    return render(request, "two_factor/institutional.html")


@never_cache
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """Whether two-factor is on, and what one can do about it."""
    if (refusal := _local_only(request)) is not None:
        return refusal
    return render(
        request, "two_factor/home.html", _home_context(request.user, CodeForm())
    )


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Link an authenticator app: scan (or type) the secret, confirm with a code."""
    if (refusal := _local_only(request)) is not None:
        return refusal
    user: Any = request.user
    if app_device(user) is not None:
        messages.info(request, _("Two-factor sign-in is already on."))
        return redirect("two-factor")
    # Reloading the page keeps the secret an app may already hold.
    device = app_device(user, confirmed=False) or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed, problem = _confirm(user, device, form.cleaned_data["code"])
        if confirmed is not None:
            request.session[NEW_CODES] = _new_recovery_codes(user)
            otp_login(request, confirmed)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("two-factor-recovery")
        form.add_error("code", problem)
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": _qr_svg(device.config_url),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return render(request, "two_factor/setup.html", context)


def _confirm(user: Any, device: TOTPDevice, code: str) -> tuple[TOTPDevice | None, str]:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, info = device.verify_is_allowed()
        if not allowed:
            return None, _throttled(info or {})
        if not (code.isdigit() and len(code) == 6):
            return None, _("Enter the 6-digit code your app shows for this account.")
        if not device.verify_token(code):
            return None, str(WRONG_CODE)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return device, ""


def _qr_svg(uri: str) -> str:
    # Drawn here as inline SVG: the page may load no script and nothing from
    # elsewhere, and the secret never leaves the server in an image request.
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(
        scale=5,
        border=4,
        dark="#000",
        light="#fff",
        title=_("QR code of the secret"),
    )
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308


@transaction.atomic
def _new_recovery_codes(user: Any) -> list[str]:
    static, _created = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": "Recovery codes", "confirmed": True}
    )
    static.token_set.all().delete()
    static.throttle_reset(commit=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


@never_cache
@require_http_methods(["GET", "POST"])
def recovery(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once; new ones replace them (with a code)."""
    if (refusal := _local_only(request)) is not None:
        return refusal
    user: Any = request.user
    if app_device(user) is None:
        return redirect("two-factor")
    if request.method == "GET":
        codes = request.session.pop(NEW_CODES, None)
        if codes is None:
            return redirect("two-factor")
        return render(request, "two_factor/recovery.html", {"codes": codes})
    form = CodeForm(request.POST)
    if form.is_valid():
        device, problem = check_code(user, form.cleaned_data["code"], recovery=False)[
            :2
        ]
        if device is not None:
            request.session[NEW_CODES] = _new_recovery_codes(user)
            messages.success(
                request, _("New recovery codes made; the old ones no longer work.")
            )
            return redirect("two-factor-recovery")
        form.add_error("code", problem)
    return render(request, "two_factor/home.html", _home_context(user, form))


def _home_context(user: Any, form: CodeForm) -> dict[str, Any]:
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return {
        "device": app_device(user),
        "codes_left": static.token_set.count() if static else 0,
        "required": is_required(user),
        "code_form": form,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def switch_off(request: HttpRequest) -> HttpResponse:
    """Switch two-factor off: password and code, unless it is required."""
    if (refusal := _local_only(request)) is not None:
        return refusal
    user: Any = request.user
    if app_device(user) is None:
        return redirect("two-factor")
    required = is_required(user)
    form = SwitchOffForm(request.POST or None)
    if request.method == "POST" and not required and form.is_valid():
        # Through authenticate() so django-axes counts wrong passwords here too.
        right = authenticate(
            request,
            username=user.get_username(),
            password=form.cleaned_data["password"],
        )
        if getattr(request, "axes_locked_out", False) or right is None:
            form.add_error("password", _("That password is not right."))
        else:
            verdict = check_code(user, form.cleaned_data["code"])
            if verdict.device is None:
                form.add_error("code", verdict.problem)
            else:
                TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()
                request.session.pop(DEVICE_ID_SESSION_KEY, None)
                _mark_checked(request, user)
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("two-factor")
    status = 403 if required and request.method == "POST" else 200
    return render(
        request,
        "two_factor/switch_off.html",
        {"form": form, "required": required},
        status=status,
    )
