"""The API's permission sweep: every path of the OpenAPI document, every kind
of user, with personal access tokens, as tests/test_permissions.py does for
the pages. The blinding sweep (tests/test_blinding_sweep.py) asks the same
read paths with its markers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from assessments.models import ApiToken, Assessment, Study
from tests.test_permissions import USERS, build_world
from tests.urlsweep import api_routes

# Who may use each route: any (logged-in user or token holder), member (of
# the project), seer (the assessment's reviewer, or leads and staff who may see
# it), own (the reviewer whose assessment it is), lead, requester (of the
# report: nobody requested the sweep's dummy report). A suffix names the
# method of a write route.
RULES: dict[str, str] = {
    "api-schema": "any",
    "api-docs": "any",
    "api-projects": "any",
    "api-project": "member",
    "api-versions": "any",
    "api-version": "any",
    "api-studies": "member",
    "api-study": "member",
    "api-assessments": "member",
    "api-assignments": "lead-post",
    "api-consensus": "member",
    "api-agreement": "member",
    "api-dashboard": "member",
    "api-reports": "member",
    "api-report": "requester",
    "api-report-file": "requester",
    "api-export": "member",
    "api-assessment": "seer",
    "api-answer": "own-put",
    "api-submit": "own-post",
}
# Writes on routes that also read.
WRITES = {"api-studies": "lead-post"}
MEMBERS = {"observer", "reviewer", "co_reviewer", "lead", "staff"}
PARAMS = {"slug", "study", "assessment", "version", "item", "report", "export"}


@pytest.fixture
def world(db: None, monkeypatch: Any, tmp_path: Any) -> dict[str, Any]:
    return build_world(monkeypatch, tmp_path)


def _allowed(rule: str, who: str) -> bool:
    kind = rule.split("-")[0]
    return {
        "any": True,
        "member": who in MEMBERS,
        "seer": who in {"reviewer", "lead", "staff"},
        "own": who == "reviewer",
        "lead": who in {"lead", "staff"},
        "requester": False,
    }[kind]


def _scoped(who: str) -> bool:
    """Routes under a project or an assessment: outsiders get 404 there."""
    return who in {"outsider", "other_reviewer"}


def _values(world: dict[str, Any]) -> dict[str, str]:
    return {
        "slug": world["project"].slug,
        "study": str(world["study"].uuid),
        "assessment": str(world["assessment"].uuid),
        "version": world["version"].key,
        "item": "1",
        "report": "00000000-0000-4000-8000-000000000000",
        "export": "long",
    }


def _path(route: Any, values: dict[str, str]) -> str:
    return route.path(values)


def _client(world: dict[str, Any], who: str, write: bool = False) -> APIClient:
    client = APIClient()
    if who == "anonymous":
        return client
    token, raw = ApiToken.make(user=world["users"][who], name=who, days=1, write=write)
    # Scoped to the sweep's project, members and outsiders alike: the scope
    # never grants what membership does not.
    token.projects.add(world["project"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _expected_read(rule: str, who: str) -> set[int]:
    if who == "anonymous":
        return {401}
    if rule.endswith(("-post", "-put")):
        return {405}  # a GET is refused before any permission is revealed
    if _allowed(rule, who):
        return {200}
    if _scoped(who) or rule == "requester":
        return {404}
    return {403}


def _expected_write(rule: str, who: str) -> set[int]:
    if who == "anonymous":
        return {401}
    if _allowed(rule, who):
        return {400}  # allowed, and the empty body is refused: nothing changes
    if _scoped(who):
        return {404}
    return {403}


def test_every_api_route_has_a_rule() -> None:
    names = {r.name for r in api_routes()}
    assert names == RULES.keys(), "add the new API routes to RULES"


@pytest.mark.parametrize("who", USERS)
def test_api_read_sweep(world: dict[str, Any], who: str) -> None:
    client = _client(world, who)
    failures = []
    for route in api_routes():
        response = client.get(_path(route, _values(world)))
        expected = _expected_read(RULES[route.name], who)
        if response.status_code not in expected:
            failures.append(f"{route.name}: {response.status_code} not in {expected}")
    assert not failures, "\n".join(failures)


def _writes() -> list[tuple[Any, str, str]]:
    out = []
    for route in api_routes():
        rule = WRITES.get(route.name, RULES[route.name])
        if rule.endswith(("-post", "-put")):
            out.append((route, rule, rule.rsplit("-", 1)[1]))
    return out


@pytest.mark.parametrize("who", USERS)
def test_api_write_sweep(world: dict[str, Any], who: str) -> None:
    before = (Study.objects.count(), Assessment.objects.count())
    read_only, read_write = _client(world, who), _client(world, who, write=True)
    failures = []
    for route, rule, method in _writes():
        url = _path(route, _values(world))
        response = getattr(read_only, method)(url, {}, format="json")
        expected = {401} if who == "anonymous" else {403}
        if response.status_code not in expected:
            failures.append(f"{route.name} read-only: {response.status_code}")
        response = getattr(read_write, method)(url, {}, format="json")
        expected = _expected_write(rule, who)
        if response.status_code not in expected:
            failures.append(
                f"{route.name} {method}: {response.status_code} not in {expected} "
                f"({response.content[:200]!r})"
            )
    assert not failures, "\n".join(failures)
    assert (Study.objects.count(), Assessment.objects.count()) == before


def test_read_only_token_is_refused_in_plain_words(world: dict[str, Any]) -> None:
    client = _client(world, "reviewer")
    url = f"/api/v1/assessments/{world['assessment'].uuid}/answers/1"
    response = client.put(url, {"choices": ["1"], "revision": 0}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]


# --- the OpenAPI document ------------------------------------------------------------


def _schema_path(route: Any) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.pattern)


def test_the_openapi_document_validates_and_covers_every_route(
    world: dict[str, Any],
) -> None:
    client = _client(world, "reviewer")
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = json.loads(response.content)
    validate(document)
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200
    assert yaml.safe_load(as_yaml.content)["paths"].keys() == document["paths"].keys()
    documented = set(document["paths"])
    routes = {
        _schema_path(r): r.name
        for r in api_routes()
        if r.name not in {"api-schema", "api-docs"}
    }
    assert documented == routes.keys()
    for path, operations in document["paths"].items():
        assert path.startswith("/api/v1/")
        for params in re.findall(r"{(\w+)}", path):
            assert params in PARAMS, f"{path}: parameter {params}"
        for operation in operations.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            assert operation.get("summary"), f"{path} has no summary"
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"] in ("study", "assessment"):
                    assert param["schema"].get("format") == "uuid", path


def test_the_schema_needs_a_login_or_a_token() -> None:
    assert APIClient().get("/api/schema/?format=json").status_code == 401
