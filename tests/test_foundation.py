"""The platform's wiring: health checks, login everywhere, a real Celery worker."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, override_settings

from tests.urlsweep import app_routes

PUBLIC = {
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    "livez",
    # The login page's language chooser and the words of its scripts.
    "choose-language",
    "javascript-catalog",
}


@pytest.mark.django_db
def test_healthz_is_200_while_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"]["kind"] in {"redis", "embedded", "eager"}


@pytest.mark.django_db
def test_healthz_stays_200_when_the_broker_is_down(client: Client) -> None:
    with override_settings(
        BROKER_KIND="redis", CELERY_BROKER_URL="redis://127.0.0.1:1/0"
    ):
        assert client.get("/healthz").status_code == 200
        response = client.get("/healthz?broker=1")
    assert response.status_code == 503
    assert response.json()["broker"]["state"] == "unavailable"


@pytest.mark.django_db
def test_healthz_with_broker_reports_a_reachable_broker(
    client: Client, redis_broker: None
) -> None:
    response = client.get("/healthz?broker=1")
    assert response.status_code == 200
    assert response.json()["broker"] == {"kind": "redis", "state": "ok"}


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_https_redirect(client: Client) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz").status_code == 200
        assert client.get("/accounts/login/").status_code == 301


@pytest.mark.django_db
@pytest.mark.parametrize("route", app_routes(), ids=lambda r: r.name or r.pattern)
def test_anonymous_users_are_sent_to_login(client: Client, route) -> None:  # type: ignore[no-untyped-def]
    response = client.get(route.path())
    if route.name in PUBLIC or route.name.endswith(("login", "logout")):
        assert response.status_code in {200, 302, 405}
        if route.name in PUBLIC:
            assert "/accounts/login/" not in response.get("Location", "")
        return
    assert response.status_code == 302, route
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_anonymous_posts_are_sent_to_login_too(client: Client) -> None:
    response = client.post("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_page_and_home_page(client: Client, user_factory) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/accounts/login/").status_code == 200
    client.force_login(user_factory("ann"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"not a member of any review project" in response.content


@pytest.mark.django_db
def test_security_headers_and_csp_without_unsafe_inline(client: Client) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_login_is_throttled_per_username_and_ip(client: Client, user_factory) -> None:  # type: ignore[no-untyped-def]
    user_factory("bob")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "bob", "password": "pw"})
    assert locked.status_code == 429
    other = Client(REMOTE_ADDR="10.9.9.9")
    ok = other.post("/accounts/login/", {"username": "bob", "password": "pw"})
    assert ok.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_task_runs_on_a_real_worker_through_redis(
    celery_worker, user_factory
) -> None:  # type: ignore[no-untyped-def]
    from assessments.tasks import ping_task

    user_factory("carol")
    user_factory("dave")
    token = uuid.uuid4().hex
    result = ping_task.delay(token)
    assert result.get(timeout=60) == {"token": token, "users": 2}


@pytest.mark.django_db
def test_sessions_last_a_working_day_and_slide_with_activity(
    client: Client,
    user_factory,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    import time as real_time

    from django.conf import settings
    from django.contrib.sessions.models import Session

    from assessments import middleware

    assert settings.SESSION_COOKIE_AGE == 9 * 3600
    client.force_login(user_factory("erin"))
    client.get("/")
    key = client.session.session_key
    first = Session.objects.get(pk=key).expire_date
    client.get("/")  # within a minute: no write
    assert Session.objects.get(pk=key).expire_date == first
    later = real_time.time() + 120
    monkeypatch.setattr(middleware.time, "time", lambda: later)
    client.get("/")
    assert Session.objects.get(pk=key).expire_date > first
