"""Two-factor sign-in for local accounts, through the pages a person uses."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from assessments.models import InstrumentVersion
from assessments.services import assignment
from tests.factories import StudyFactory, UserFactory, make_project

SETUP = "/accounts/two-factor/set-up/"
CODE_STEP = "/accounts/two-factor/code/"


def app_code(key: bytes, device: TOTPDevice | None = None) -> str:
    """What an authenticator app shows now (or the next step, once used)."""
    step = int(time.time()) // 30
    if device is not None:
        device.refresh_from_db()
        step = max(step, device.last_t + 1)
    return f"{hotp(key, step, 6):06d}"


def log_in(
    client: Client,
    username: str,
    password: str = "pw",  # noqa: S107 - UserFactory's password
    **extra: str,
) -> Any:
    data = {"username": username, "password": password, **extra}
    return client.post("/accounts/login/", data)


def switch_on(client: Client) -> tuple[bytes, list[str]]:
    """Set up an app as a person does: read the key off the page, enter a code."""
    page = client.get(SETUP).content.decode()
    shown = re.search(r'id="two-factor-secret">(.*?)</p>', page, re.S)
    assert shown is not None
    secret = "".join(re.findall(r">([A-Z2-7]+)<", shown.group(1)))
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    response = client.post(SETUP, {"code": app_code(key)}, follow=True)
    assert "Two-factor sign-in is on." in response.content.decode()
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", response.content.decode())
    return key, codes


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    reviewer = UserFactory(username="rev")
    project = make_project(lead=lead, reviewers=[reviewer], slug="p")
    study = StudyFactory(project=project)
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    mine = assignment.assign_reviewer(
        study=study, version=version, reviewer=reviewer, user=lead
    )
    return {"lead": lead, "reviewer": reviewer, "assessment": mine}


@pytest.fixture
def no_wait(settings: Any) -> None:
    """A right code straight after a wrong one; people take longer than the
    1 s django-otp makes them wait after one mistake (throttling has its own test)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def enrolled(world: dict[str, Any]) -> dict[str, Any]:
    client = Client()
    client.force_login(world["reviewer"])
    key, codes = switch_on(client)
    return {**world, "key": key, "codes": codes}


def test_set_up_shows_a_qr_code_and_ten_recovery_codes_once(
    world: dict[str, Any],
) -> None:
    client = Client()
    client.force_login(world["reviewer"])
    page = client.get(SETUP).content.decode()
    assert "<svg" in page and "<script" not in page.split("<main", 1)[1]
    _key, codes = switch_on(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    again = client.get("/accounts/two-factor/recovery-codes/", follow=True)
    assert not any(code in again.content.decode() for code in codes)
    assert "10 unused recovery codes" in again.content.decode()


def test_a_wrong_code_does_not_switch_it_on(world: dict[str, Any]) -> None:
    client = Client()
    client.force_login(world["reviewer"])
    client.get(SETUP)
    response = client.post(SETUP, {"code": "000000"})
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=world["reviewer"], confirmed=True)
    assert log_in(Client(), "rev")["Location"] != CODE_STEP


def test_the_password_alone_does_not_log_in(
    enrolled: dict[str, Any], no_wait: None
) -> None:
    client = Client()
    response = log_in(client, "rev")
    assert response.status_code == 302 and response["Location"] == CODE_STEP
    home = client.get("/")
    assert home.status_code == 302 and "/accounts/login/" in home["Location"]
    assert "Enter your code" in client.get(CODE_STEP).content.decode()
    wrong = client.post(CODE_STEP, {"code": "123456"})
    assert "That code is not right" in wrong.content.decode()
    device = TOTPDevice.objects.get(user=enrolled["reviewer"])
    done = client.post(CODE_STEP, {"code": app_code(enrolled["key"], device)})
    assert done.status_code == 302
    assert client.get("/").status_code == 200


def test_the_login_keeps_where_the_person_was_going(enrolled: dict[str, Any]) -> None:
    client = Client()
    target = f"/a/{enrolled['assessment'].uuid}/"
    log_in(client, "rev", next=target)
    device = TOTPDevice.objects.get(user=enrolled["reviewer"])
    done = client.post(CODE_STEP, {"code": app_code(enrolled["key"], device)})
    assert done["Location"] == target


def test_a_recovery_code_works_once_only(enrolled: dict[str, Any]) -> None:
    code = enrolled["codes"][0]
    first = Client()
    log_in(first, "rev")
    response = first.post(CODE_STEP, {"code": code.upper()}, follow=True)
    assert "9 left" in response.content.decode()
    assert first.get("/").status_code == 200
    second = Client()
    log_in(second, "rev")
    again = second.post(CODE_STEP, {"code": code})
    assert "That code is not right" in again.content.decode()
    assert second.get("/").status_code == 302


def test_the_admin_login_page_cannot_skip_the_code(enrolled: dict[str, Any]) -> None:
    user = enrolled["reviewer"]
    user.is_staff = True
    user.save()
    client = Client()
    client.post("/admin/login/", {"username": "rev", "password": "pw"})
    response = client.get("/queue/")
    assert response.status_code == 302 and response["Location"] == CODE_STEP
    assert client.get("/").status_code == 302
    # The API takes the browser's session too: not this one.
    api = Client()
    api.post("/admin/login/", {"username": "rev", "password": "pw"})
    assert api.get(reverse("api-projects")).status_code == 302
    assert api.get(reverse("api-projects")).status_code in {401, 403}


def test_not_required_by_default(world: dict[str, Any]) -> None:
    client = Client()
    log_in(client, "lead")
    assert client.get("/p/p/").status_code == 200


def test_required_for_leads_forces_set_up_first(
    world: dict[str, Any], settings: Any
) -> None:
    settings.TWO_FACTOR_REQUIRED_FOR = ["leads"]
    lead = Client()
    log_in(lead, "lead")
    response = lead.get("/p/p/")
    assert response.status_code == 302 and response["Location"] == SETUP
    assert lead.get(SETUP).status_code == 200
    saved = lead.post(
        f"/a/{world['assessment'].uuid}/answer",
        {"item": "2"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert saved.status_code == 403
    switch_on(lead)
    assert lead.get("/p/p/").status_code == 200
    # Reviewers who lead nothing are not asked.
    reviewer = Client()
    log_in(reviewer, "rev")
    assert reviewer.get("/queue/").status_code == 200


def test_required_cannot_be_switched_off(
    enrolled: dict[str, Any], settings: Any
) -> None:
    settings.TWO_FACTOR_REQUIRED_FOR = ["staff", "leads"]
    user = enrolled["reviewer"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    client.get(SETUP)  # the session is not verified: traded for the code step
    log_in(client, "rev")
    device = TOTPDevice.objects.get(user=user)
    client.post(CODE_STEP, {"code": app_code(enrolled["key"], device)})
    response = client.post(
        "/accounts/two-factor/switch-off/",
        {"password": "pw", "code": app_code(enrolled["key"], device)},
    )
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=user).exists()


def test_switching_off_needs_password_and_code(
    enrolled: dict[str, Any], no_wait: None
) -> None:
    client = Client()
    log_in(client, "rev")
    device = TOTPDevice.objects.get(user=enrolled["reviewer"])
    client.post(CODE_STEP, {"code": app_code(enrolled["key"], device)})
    url = "/accounts/two-factor/switch-off/"
    no_code = client.post(url, {"password": "pw", "code": "000000"})
    assert "That code is not right" in no_code.content.decode()
    wrong_password = client.post(
        url, {"password": "nope", "code": app_code(enrolled["key"], device)}
    )
    assert "That password is not right" in wrong_password.content.decode()
    assert TOTPDevice.objects.filter(user=enrolled["reviewer"]).exists()
    client.post(url, {"password": "pw", "code": app_code(enrolled["key"], device)})
    assert not TOTPDevice.objects.filter(user=enrolled["reviewer"]).exists()
    fresh = Client()
    assert log_in(fresh, "rev")["Location"] != CODE_STEP
    assert fresh.get("/queue/").status_code == 200


def test_new_recovery_codes_need_a_current_code(enrolled: dict[str, Any]) -> None:
    client = Client()
    log_in(client, "rev")
    device = TOTPDevice.objects.get(user=enrolled["reviewer"])
    client.post(CODE_STEP, {"code": app_code(enrolled["key"], device)})
    url = "/accounts/two-factor/recovery-codes/"
    refused = client.post(url, {"code": enrolled["codes"][1]})
    assert "6-digit code" in refused.content.decode()
    made = client.post(url, {"code": app_code(enrolled["key"], device)}, follow=True)
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", made.content.decode())
    assert len(codes) == 10 and not set(codes) & set(enrolled["codes"])
    other = Client()
    log_in(other, "rev")
    old = other.post(CODE_STEP, {"code": enrolled["codes"][1]})
    assert "That code is not right" in old.content.decode()


def relogin(client: Client, **data: str) -> Any:
    return client.post(
        "/accounts/relogin",
        {"username": "rev", "password": "pw", **data},
        HTTP_X_REQUESTED_WITH="fetch",
    )


def test_relogin_asks_for_the_code_and_then_restores_the_session(
    enrolled: dict[str, Any], no_wait: None
) -> None:
    client = Client()
    save_url = f"/a/{enrolled['assessment'].uuid}/answer"
    unsent = {"item": "2", "choices": ["yes"], "seen": "0"}
    assert (
        client.post(save_url, unsent, HTTP_X_REQUESTED_WITH="fetch").status_code == 401
    )
    asked = relogin(client)
    assert asked.status_code == 401 and asked.json()["needs_code"] is True
    assert (
        client.post(save_url, unsent, HTTP_X_REQUESTED_WITH="fetch").status_code == 401
    )
    wrong = relogin(client, code="000000")
    assert wrong.status_code == 401 and wrong.json()["needs_code"] is True
    assert "not right" in wrong.json()["error"]
    device = TOTPDevice.objects.get(user=enrolled["reviewer"])
    good = relogin(client, code=app_code(enrolled["key"], device))
    assert good.status_code == 200 and good.json()["csrf"]
    resent = client.post(save_url, unsent, HTTP_X_REQUESTED_WITH="fetch")
    assert resent.status_code == 200
    assert enrolled["assessment"].answers.get(item_code="2").choices == ["yes"]


def test_relogin_without_two_factor_is_unchanged(world: dict[str, Any]) -> None:
    response = relogin(Client())
    assert response.status_code == 200 and "needs_code" not in response.json()


def test_repeated_wrong_codes_are_throttled(
    enrolled: dict[str, Any], settings: Any
) -> None:
    # Long enough that no test machine outlasts the wait.
    settings.OTP_TOTP_THROTTLE_FACTOR = 600
    client = Client()
    log_in(client, "rev")
    for _ in range(3):
        client.post(CODE_STEP, {"code": "000000"})
    device = TOTPDevice.objects.get(user=enrolled["reviewer"])
    right = client.post(CODE_STEP, {"code": app_code(enrolled["key"], device)})
    assert "Too many wrong codes" in right.content.decode()
    assert client.get("/queue/").status_code == 302
    throttled = relogin(Client(), code=app_code(enrolled["key"], device))
    assert throttled.status_code == 429 and throttled.json()["needs_code"] is True


def test_wrong_passwords_are_still_locked_out_by_axes(
    enrolled: dict[str, Any], settings: Any
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "rev", password="nope")
    locked = log_in(client, "rev")
    assert locked.status_code == 429
    assert client.get(CODE_STEP)["Location"].startswith("/accounts/login/")
