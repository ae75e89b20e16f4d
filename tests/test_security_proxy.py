"""Security review: login throttling behind reverse proxies, and lock-out answers.

django-axes locks a username per client address. Behind PROXY_COUNT proxies
the client is the PROXY_COUNT-th address from the right of X-Forwarded-For;
what the client itself put further left is ignored. A locked-out re-login from
the assessment form gets a JSON reason it can show.
"""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client, override_settings

PROXY = "10.0.0.2"  # the reverse proxy: every request arrives from it
ALICE = "192.168.10.21"  # two users on the hospital network
BOB = "192.168.10.22"
FAILURES = 5  # AXES_FAILURE_LIMIT


@pytest.fixture
def user(user_factory: Any) -> Any:
    return user_factory("carol")


def through_proxy(forwarded_for: str, remote: str = PROXY) -> Client:
    return Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded_for)


def log_in(
    client: Client,
    password: str = "pw",  # noqa: S107 - user_factory's password
    **headers: str,
) -> Any:
    return client.post(
        "/accounts/login/", {"username": "carol", "password": password}, **headers
    )


def fail_until_locked(client: Client) -> None:
    for _ in range(FAILURES):
        log_in(client, "wrong")
    assert log_in(client).status_code == 429


# --- finding 7: the client address behind proxies --------------------------------


@override_settings(PROXY_COUNT=1)
def test_two_clients_behind_one_proxy_are_locked_out_independently(user: Any) -> None:
    fail_until_locked(through_proxy(ALICE))
    assert log_in(through_proxy(BOB)).status_code == 302
    locked = AccessAttempt.objects.get()
    assert locked.ip_address == ALICE


@override_settings(PROXY_COUNT=1)
def test_a_client_forging_left_hand_addresses_cannot_escape_its_lockout(
    user: Any,
) -> None:
    # The proxy appends the address it saw to what the client sent.
    forged_addresses = ("1.2.3.4", "203.0.113.9", PROXY, BOB, "unknown")
    assert len(forged_addresses) == FAILURES
    for forged in forged_addresses:
        log_in(through_proxy(f"{forged}, {ALICE}"), "wrong")
    assert log_in(through_proxy(ALICE)).status_code == 429
    assert log_in(through_proxy(f"{BOB}, {ALICE}")).status_code == 429
    assert log_in(through_proxy(f"8.8.8.8, 9.9.9.9, {ALICE}")).status_code == 429
    assert log_in(through_proxy(BOB)).status_code == 302


@override_settings(PROXY_COUNT=2)
def test_with_two_proxies_the_client_is_the_second_address_from_the_right(
    user: Any,
) -> None:
    outer = "172.16.0.5"  # the outer proxy, as the inner one saw it
    fail_until_locked(through_proxy(f"6.6.6.6, {ALICE}, {outer}"))
    assert log_in(through_proxy(f"{ALICE}, {outer}")).status_code == 429
    assert log_in(through_proxy(f"{ALICE}, {BOB}, {outer}")).status_code == 302
    assert AccessAttempt.objects.get().ip_address == ALICE


def test_without_proxies_x_forwarded_for_is_ignored(user: Any) -> None:
    fail_until_locked(Client(REMOTE_ADDR=ALICE))
    assert log_in(through_proxy(BOB, remote=ALICE)).status_code == 429
    assert log_in(Client(REMOTE_ADDR=BOB)).status_code == 302


# --- finding 22: a lock-out answers the re-login dialog in JSON ---------------------


def relogin(client: Client, password: str) -> Any:
    return client.post(
        "/accounts/relogin",
        {"username": "carol", "password": password},
        HTTP_X_REQUESTED_WITH="fetch",
    )


def test_a_locked_out_relogin_gets_json_that_says_when_to_retry(user: Any) -> None:
    client = Client()
    for _ in range(FAILURES - 1):
        assert relogin(client, "wrong").status_code == 401
    # The failure that reaches the limit, then the right password too late.
    for password in ("wrong", "pw"):
        response = relogin(client, password)
        assert response.status_code == 429
        assert response["Content-Type"] == "application/json"
        message = response.json()["error"]
        assert "Too many failed log-in attempts" in message
        assert "Wait 15 minutes, until" in message


def test_a_locked_out_relogin_without_script_headers_still_gets_json(
    user: Any,
) -> None:
    client = Client()
    for _ in range(FAILURES):
        client.post("/accounts/relogin", {"username": "carol", "password": "wrong"})
    response = client.post("/accounts/relogin", {"username": "carol", "password": "pw"})
    assert response.status_code == 429 and "Wait 15 minutes" in response.json()["error"]


def test_a_locked_out_login_that_accepts_json_gets_json_and_a_browser_the_page(
    user: Any,
) -> None:
    client = Client()
    for _ in range(FAILURES):
        log_in(client, "wrong")
    as_json = log_in(client, HTTP_ACCEPT="application/json")
    assert as_json.status_code == 429 and "Wait 15 minutes" in as_json.json()["error"]
    page = log_in(client, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 429 and page["Content-Type"].startswith("text/html")
    assert "Too many failed log-in attempts" in page.content.decode()
