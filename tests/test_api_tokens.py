"""Personal access tokens: the page, the command, and what a token may do
(scope, read-only, expiry, revocation, hashing, throttling)."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.api.auth import TokenRateThrottle
from assessments.models import ApiToken, AuditEvent
from assessments.services import tokens
from tests.factories import UserFactory, make_project

pytestmark = pytest.mark.django_db

PAGE = "/account/tokens/"
PROJECTS = "/api/v1/projects/"
TOKEN = re.compile(r"rqs_[A-Za-z0-9_-]{40,}")


@pytest.fixture(autouse=True)
def fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def world() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    both = UserFactory(username="both")
    p = make_project(lead=lead, reviewers=[both], slug="p")
    q = make_project(lead=UserFactory(username="lead_q"), reviewers=[both], slug="q")
    make_project(lead=UserFactory(username="lead_r"), reviewers=[], slug="r")
    return {"lead": lead, "both": both, "p": p, "q": q}


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def make(user: Any, *projects: Any, write: bool = False, name: str = "t") -> Any:
    return tokens.create_token(
        user=user, name=name, projects=projects, write=write, days=30
    )


def slugs(response: Any) -> list[str]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return sorted(row["slug"] for row in rows)


# --- the page -------------------------------------------------------------------------


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_user_menu_links_the_token_page(world: dict[str, Any]) -> None:
    page = browser(world["both"]).get(reverse("home")).content.decode()
    assert f'href="{PAGE}"' in page and "API tokens" in page


def test_making_a_token_shows_it_once_with_a_curl_example(
    world: dict[str, Any],
) -> None:
    client = browser(world["both"])
    page = client.get(PAGE).content.decode()
    assert "/api/docs/" in page and "No tokens yet." in page
    # The user's projects are offered, and no other.
    r = world["p"].__class__.objects.get(slug="r")
    assert f'value="{world["p"].pk}"' in page and f'value="{world["q"].pk}"' in page
    assert f'value="{r.pk}"' not in page

    response = client.post(
        PAGE,
        {"name": "R on my laptop", "projects": [world["p"].pk], "access": "read"}
        | {"days": "30"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = response.content.decode()
    raw = TOKEN.search(shown).group(0)  # type: ignore[union-attr]
    assert "Copy it now: it is not shown again." in shown
    assert f'curl -H "Authorization: Bearer {raw}" http://testserver{PROJECTS}' in shown
    token = ApiToken.objects.get()
    assert (token.name, token.write, token.user) == (
        "R on my laptop",
        False,
        world["both"],
    )
    assert list(token.projects.all()) == [world["p"]]
    assert token.expires_at.date() == (timezone.now() + timedelta(days=30)).date()
    assert bearer(raw).get(PROJECTS).status_code == 200

    again = client.get(PAGE).content.decode()
    assert raw not in again and "Copy it now" not in again
    assert f"{token.hint}..." in again and "R on my laptop" in again
    assert "Read only" in again and "Live" in again
    used = timezone.localtime(ApiToken.objects.get().last_used_at).strftime("%Y-%m-%d")
    assert f"<td>{used} " in again


def test_the_list_shows_access_projects_and_status(world: dict[str, Any]) -> None:
    user = world["both"]
    make(user, world["p"], world["q"], write=True, name="both projects")
    old, _ = make(user, world["p"], name="gone stale")
    ApiToken.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    cut, _ = make(user, world["q"], name="cut off")
    tokens.revoke_token(token=cut, user=user)
    make(world["lead"], world["p"], name="the lead's own")
    page = browser(user).get(PAGE).content.decode()
    assert "the lead&#x27;s own" not in page and "the lead's own" not in page
    assert "Read and write" in page and "P, Q" in page
    assert "Expired" in page and "Revoked" in page and "Live" in page
    # Only the live token has a Revoke button.
    assert page.count(">Revoke</button>") == 1


def test_the_page_queries_stay_flat_with_more_tokens(world: dict[str, Any]) -> None:
    user, client = world["both"], browser(world["both"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        return len(ctx.captured_queries)

    make(user, world["p"])
    count()  # the first request of a session sets it up
    few = count()
    for i in range(6):
        make(user, world["p"], world["q"], name=f"t{i}")
    assert count() == few


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "access": "read", "days": "30"}, "Give the token a name."),
        ({"name": "x", "access": "read", "days": "30"}, "Tick at least one project."),
        ({"name": "x", "access": "read", "days": "1000"}, "Select a valid choice."),
    ],
)
def test_a_refused_form_says_what_is_wrong(
    world: dict[str, Any], data: dict[str, str], message: str
) -> None:
    response = browser(world["both"]).post(PAGE, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_project_the_user_cannot_open_is_not_offered(world: dict[str, Any]) -> None:
    r = world["p"].__class__.objects.get(slug="r")
    response = browser(world["both"]).post(
        PAGE, {"name": "x", "projects": [r.pk], "access": "write", "days": "7"}
    )
    assert response.status_code == 400
    assert f'value="{r.pk}"' not in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_stops_the_token_and_is_in_the_audit_log(
    world: dict[str, Any],
) -> None:
    lead = world["lead"]
    token, raw = make(lead, world["p"], name="nightly sync")
    client = browser(lead)
    assert (
        client.get(reverse("account-token-revoke", args=[token.pk])).status_code == 405
    )
    response = client.post(reverse("account-token-revoke", args=[token.pk]))
    assert response.status_code == 302 and response["Location"] == PAGE
    page = client.get(PAGE).content.decode()
    assert "The token &#x27;nightly sync&#x27; is revoked" in page
    assert "Revoked" in page
    token.refresh_from_db()
    assert token.revoked_at is not None
    denied = bearer(raw).get(PROJECTS)
    assert denied.status_code == 401
    assert "expired or been revoked" in denied.json()["detail"]

    actions = list(
        AuditEvent.objects.filter(project=world["p"]).values_list("action", flat=True)
    )
    assert "api-token-created" in actions and "api-token-revoked" in actions
    log = client.get(reverse("project-audit", args=["p"])).content.decode()
    assert "made the API token &#x27;nightly sync&#x27;" in log
    assert "revoked the API token &#x27;nightly sync&#x27;" in log


def test_someone_elses_token_cannot_be_revoked(world: dict[str, Any]) -> None:
    token, raw = make(world["lead"], world["p"])
    url = reverse("account-token-revoke", args=[token.pk])
    assert browser(world["both"]).post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    with pytest.raises(Exception, match="Only the person who made a token"):
        tokens.revoke_token(token=token, user=world["both"])
    assert bearer(raw).get(PROJECTS).status_code == 200


# --- the service's refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "days", "which", "message"),
    [
        ("  ", 30, "p", "Give the token a name"),
        ("x", 0, "p", "between 1 and 366 days"),
        ("x", 367, "p", "between 1 and 366 days"),
        ("x", 30, "", "Choose at least one project"),
        (
            "x",
            30,
            "r",
            "You cannot open these projects, so a token cannot reach them: R.",
        ),
    ],
)
def test_the_service_refuses_in_plain_words(
    world: dict[str, Any], name: str, days: int, which: str, message: str
) -> None:
    chosen = [world["p"].__class__.objects.get(slug=which)] if which else []
    with pytest.raises(ValidationError) as refused:
        tokens.create_token(
            user=world["both"], name=name, projects=chosen, write=False, days=days
        )
    assert message in " ".join(refused.value.messages)
    assert not ApiToken.objects.exists()


# --- the command ----------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_token_alone_and_it_works(
    world: dict[str, Any],
) -> None:
    printed = run("--user", "both", "--project", "p")
    raw = printed.removesuffix("\n")
    assert printed == raw + "\n" and TOKEN.fullmatch(raw)
    token = ApiToken.objects.get()
    assert (token.name, token.write) == ("manage.py api_token", False)
    assert token.expires_at.date() == (timezone.now() + timedelta(days=30)).date()
    response = bearer(raw).get(PROJECTS)
    assert response.status_code == 200 and slugs(response) == ["p"]


def test_without_write_the_token_only_reads(world: dict[str, Any]) -> None:
    raw = run("--user", "lead", "--project", "p").strip()
    client = bearer(raw)
    # The token's scope is checked before the method: 403 even where no PUT exists.
    for response in (
        client.put("/api/v1/projects/p/", {}, format="json"),
        client.post("/api/v1/projects/p/studies/", {}, format="json"),
    ):
        assert response.status_code == 403
        assert "read-only" in response.json()["detail"]


def test_with_write_the_token_may_change_data(world: dict[str, Any]) -> None:
    raw = run(
        "--user", "lead", "--project", "p", "--write", "--days", "7", "--name", "ci"
    ).strip()
    token = ApiToken.objects.get()
    assert (token.name, token.write) == ("ci", True)
    assert token.expires_at.date() == (timezone.now() + timedelta(days=7)).date()
    # Past the scope check: the route itself answers (no PUT on a project).
    assert bearer(raw).put("/api/v1/projects/p/", {}, format="json").status_code == 405


def test_the_command_takes_several_projects(world: dict[str, Any]) -> None:
    raw = run("--user", "both", "--project", "p", "--project", "q").strip()
    assert slugs(bearer(raw).get(PROJECTS)) == ["p", "q"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "nobody", "--project", "p"), "There is no user named 'nobody'"),
        (("--user", "both", "--project", "nope"), "no project with the slug 'nope'"),
        (("--user", "both", "--project", "r"), "You cannot open these projects"),
        (("--user", "both", "--project", "p", "--days", "0"), "between 1 and 366"),
    ],
)
def test_the_command_refuses_with_a_plain_message(
    world: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        run(*args)
    assert refused.value.returncode == 1
    assert not ApiToken.objects.exists()


# --- what a token may do --------------------------------------------------------------


def test_a_token_reaches_only_its_projects(world: dict[str, Any]) -> None:
    _, raw = make(world["both"], world["p"])
    client = bearer(raw)
    assert slugs(client.get(PROJECTS)) == ["p"]
    assert client.get("/api/v1/projects/p/").status_code == 200
    # A member of q, but the token was not made for it: as if q did not exist.
    assert client.get("/api/v1/projects/q/").status_code == 404
    session = APIClient()
    session.force_login(world["both"])
    assert slugs(session.get(PROJECTS)) == ["p", "q"]


def test_an_expired_token_is_refused(world: dict[str, Any]) -> None:
    token, raw = make(world["both"], world["p"])
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = bearer(raw).get(PROJECTS)
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "This token is not valid: it may have expired or been revoked."
    )


def test_a_token_of_an_inactive_user_is_refused(world: dict[str, Any]) -> None:
    _, raw = make(world["both"], world["p"])
    world["both"].is_active = False
    world["both"].save()
    assert bearer(raw).get(PROJECTS).status_code == 401


def test_an_unknown_or_malformed_token_is_refused(world: dict[str, Any]) -> None:
    assert bearer("rqs_" + "x" * 43).get(PROJECTS).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    response = client.get(PROJECTS)
    assert response.status_code == 401 and "one space" in response.json()["detail"]


def test_anonymous_is_told_how_to_authenticate(world: dict[str, Any]) -> None:
    response = APIClient().get(PROJECTS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in response.json()["detail"]


def test_the_database_never_holds_the_token(world: dict[str, Any]) -> None:
    printed = run("--user", "both", "--project", "p", "--write").strip()
    _, raw = make(world["both"], world["q"], name="page")
    bearer(raw).get(PROJECTS)
    for secret in (printed, raw):
        secret_body = secret.removeprefix("rqs_")
        for row in ApiToken.objects.values():
            assert not any(secret_body in str(v) for v in row.values())
        with connection.cursor() as cursor:
            for table in (ApiToken._meta.db_table, AuditEvent._meta.db_table):
                cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
                dump = repr(cursor.fetchall())
                assert secret_body not in dump
    # What is kept tells the tokens apart, and is too short to use.
    token = ApiToken.objects.get(name="page")
    assert raw.startswith(token.hint) and len(token.hint) < 16


def test_a_use_is_recorded(world: dict[str, Any]) -> None:
    token, raw = make(world["both"], world["p"])
    assert token.last_used_at is None
    assert bearer(raw).get(PROJECTS).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


def test_throttling_counts_per_token(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    _, raw = make(world["both"], world["p"], name="busy")
    _, other = make(world["both"], world["p"], name="quiet")
    busy = bearer(raw)
    assert [busy.get(PROJECTS).status_code for _ in range(3)] == [200, 200, 200]
    refused = busy.get(PROJECTS)
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(
        "Too many requests with this token: try again in "
    )
    assert int(refused["Retry-After"]) > 0
    assert bearer(other).get(PROJECTS).status_code == 200
