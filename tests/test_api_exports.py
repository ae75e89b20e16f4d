"""Exports through the API: the export page's files, blinded and audited alike."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.api.exports import EXPORTS
from assessments.models import ApiToken, AuditEvent, Project
from assessments.renderers import exports as exports_renderer
from assessments.services.exports import export
from tests.factories import UserFactory, make_project
from tests.test_exports_synthesis import DATA, build_world

URL = "/api/v1/projects/dta/exports/quadas-2-1.0/"


@pytest.fixture(autouse=True)
def one_export_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's file and the API's are compared byte for byte, and the JSON
    export carries its time to the second: both requests read one clock, so a
    second boundary between them cannot tell them apart."""
    moment = timezone.now()
    monkeypatch.setattr(
        exports_renderer, "timezone", SimpleNamespace(now=lambda: moment)
    )


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    return build_world()


def _client(user: Any, project: Any, write: bool = False) -> APIClient:
    token, raw = ApiToken.make(user=user, name="script", days=30, write=write)
    token.projects.add(project)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_robvis_through_the_api_is_the_expected_file(world: dict[str, Any]) -> None:
    client = _client(world["lead"], world["project"])
    # A script may ask for CSV by name; the file is the answer either way.
    response = client.get(URL + "robvis", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == (DATA / "quadas-robvis.csv").read_bytes()
    head, *_rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert head == ["Study", "D1", "D2", "D3", "D4", "Overall", "Weight"]
    applicability = client.get(URL + "robvis-applicability")
    expected = (DATA / "quadas-robvis-applicability.csv").read_bytes()
    assert applicability.content == expected


def test_every_export_is_the_export_pages_file(world: dict[str, Any]) -> None:
    client = _client(world["lead"], world["project"])
    args = (world["lead"], world["project"], world["version"])
    for name in EXPORTS:
        response = client.get(URL + name)
        assert response.status_code == 200, (name, response.content[:200])
        assert response.content == export(*args, name).content, name
    xlsx = client.get(URL + "wide", {"as": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    european = client.get(URL + "wide", {"european": "1"}).content.decode()
    assert ";" in european.splitlines()[0]


def test_exports_through_the_api_are_blinded_like_the_page(
    world: dict[str, Any],
) -> None:
    # Bob is not assigned to Alice's single-reviewer study: final results only.
    client = _client(world["bob"], world["project"])
    for name in ("long", "wide", "json", "redcap-data", "quotes"):
        response = client.get(URL + name)
        assert response.status_code == 200
        assert b"SECRET-ALICE" not in response.content, name
        args = (world["bob"], world["project"], world["version"], name)
        assert response.content == export(*args).content
    lead = _client(world["lead"], world["project"]).get(URL + "long")
    assert b"SECRET-ALICE" in lead.content


def test_exports_through_the_api_are_audited(world: dict[str, Any]) -> None:
    _client(world["lead"], world["project"]).get(URL + "prisma")
    event = AuditEvent.objects.get(action="export")
    assert event.actor == world["lead"] and event.detail["form"] == "prisma"


def test_pseudonymised_export_names_no_reviewer(world: dict[str, Any]) -> None:
    client = _client(world["lead"], world["project"])
    text = client.get(URL + "long", {"pseudonymise": "1"}).content.decode()
    assert "alice" not in text and "bob" not in text
    assert "R1" in text


def test_refusals_name_what_is_wrong(world: dict[str, Any]) -> None:
    client = _client(world["lead"], world["project"])
    missing = client.get(URL + "covidence")
    assert missing.status_code == 404
    assert "no export called 'covidence'" in missing.json()["detail"]
    assert "robvis" in missing.json()["detail"]
    wrong = client.get("/api/v1/projects/dta/exports/rqs-1.0/robvis")
    assert wrong.status_code == 404
    assert "does not use the instrument version 'rqs-1.0'" in wrong.json()["detail"]
    bad = client.get(URL + "wide", {"as": "pdf"})
    assert bad.status_code == 400 and "csv or xlsx" in bad.json()["as"]


def test_exports_are_404_outside_membership_and_token_scope(
    world: dict[str, Any],
) -> None:
    outsider = UserFactory(username="outsider")
    other = make_project(lead=outsider, reviewers=[], slug="other")
    assert _client(outsider, other).get(URL + "robvis").status_code == 404
    # The lead's token for another project does not reach this one.
    make_project(lead=world["lead"], reviewers=[], slug="mine")
    scoped = _client(world["lead"], Project.objects.get(slug="mine"))
    assert scoped.get(URL + "robvis").status_code == 404
    assert APIClient().get(URL + "robvis").status_code == 401
