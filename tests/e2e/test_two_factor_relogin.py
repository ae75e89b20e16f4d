"""Two-factor in the browser: the form's re-login asks for the code and loses
nothing unsent; the two-factor pages pass axe (ROUTES in test_accessibility)."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from .axe.audit import Audit, serve_axe
from .conftest import Assignment, PageErrors, login
from .test_accessibility import ROUTES

pytestmark = pytest.mark.browser

SAVED = "All changes saved"


def app_code(key: bytes, user: Any) -> str:
    """What the app shows now, or the next step once this one was used."""
    step = int(time.time()) // 30
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        step = max(step, device.last_t + 1)
    return f"{hotp(key, step, 6):06d}"


def switch_on(page: Any, user: Any, audit: Audit | None = None) -> bytes:
    """Set up the app from the page, as a person does; the key it shows."""
    page.goto("/accounts/two-factor/set-up/")
    expect(page.locator(".two-factor-qr svg")).to_be_visible()
    if audit is not None:
        audit.check(page, "two-factor set-up")
    secret = "".join(page.locator("#two-factor-secret").inner_text().split())
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(app_code(key, user))
    page.get_by_role("button", name="Switch on two-factor sign-in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    return key


def test_relogin_asks_for_the_code_and_sends_what_was_unsent(
    assignment: Assignment, page: Any, page_errors: PageErrors, settings: Any
) -> None:
    # A right code straight after a wrong one (people are slower than 1 s).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    reviewer = assignment.reviewer
    key = switch_on(page, reviewer)
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)

    Session.objects.all().delete()
    page.locator("#opt-2-yes").click()
    dialog = page.locator("#relogin")
    expect(dialog).to_be_visible()
    code = page.locator("#relogin-code")
    expect(code).to_be_hidden()
    page.locator("#relogin-password").fill("pw")
    dialog.get_by_role("button", name="Log in and save").click()
    expect(code).to_be_visible()
    expect(code).to_be_focused()
    expect(page.locator("#relogin-error")).to_contain_text("authenticator app")
    assert not assignment.assessment.answers.filter(item_code="2").exists()

    code.fill("000000")
    dialog.get_by_role("button", name="Log in and save").click()
    expect(page.locator("#relogin-error")).to_contain_text("not right")
    expect(dialog).to_be_visible()

    code.fill(app_code(key, reviewer))
    dialog.get_by_role("button", name="Log in and save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    saved = assignment.assessment.answers.get(item_code="2")
    assert saved.choices == ["yes"]
    # The new session goes on saving.
    page.locator("#opt-3-yes").click()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert assignment.assessment.answers.get(item_code="3").choices == ["yes"]
    # The 401s are the expired session and the dialog's first two answers.
    assert not page_errors.uncaught, page_errors.uncaught


def test_the_two_factor_pages_pass_axe(
    assignment: Assignment, context: Any, live_server: Any
) -> None:
    audit = Audit(role="two-factor")
    serve_axe(context, live_server.url)
    page = context.new_page()
    reviewer = assignment.reviewer
    login(page, reviewer.username)
    key = switch_on(page, reviewer, audit)
    audit.check(page, "recovery codes, shown once")
    page.get_by_role("link", name="I have kept them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    audit.check(page, "two-factor sign-in is on")
    audit.visit(page, "/accounts/two-factor/switch-off/", "switch off two-factor")

    page.get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(reviewer.username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/code/$"))
    audit.check(page, "the code after the password")
    page.get_by_label("Code or recovery code").fill(app_code(key, reviewer))
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    audit.assert_clean(ROUTES)
