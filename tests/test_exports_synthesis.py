"""robvis and RevMan Web exports, and reviewers named by code in every export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path
from django.utils import timezone

from assessments.instruments import score
from assessments.models import (
    Answer,
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Resolution,
    Study,
)
from assessments.services import answering, assignment
from assessments.services.exports import ExportError, export
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

urlpatterns = [
    path("", include("assessments.urls_exports")),
    path("", include("rqs.urls")),
]
with_urls = pytest.mark.urls(__name__)

DATA = Path(__file__).parent / "data" / "exports"
RISK_WORDS = {"Low", "High", "Some concerns", "No information"}
APPLICABILITY_WORDS = {"Low", "High", "Unclear", "No information"}
SMITH = {"D1.rob": "low", "D2.rob": "high", "D3.rob": "low", "D4.rob": "low"}
SMITH |= {"D1.app": "low", "D2.app": "unclear", "D3.app": "low"}
ZHANG = {f"D{n}.rob": "unclear" for n in (2, 3, 4)} | {"D1.rob": "low"}
ZHANG |= {f"D{n}.app": "low" for n in (1, 2, 3)}


def _answers(judgements: dict[str, str]) -> dict[str, list[str]]:
    return {code: [value] for code, value in judgements.items()}


def _consensus(study: Study, version: InstrumentVersion, answers: dict) -> Assessment:
    result = score(version.as_definition(), answers)
    now = timezone.now()
    consensus = Assessment.objects.create(
        study=study,
        version=version,
        kind="consensus",
        status="submitted",
        submitted_at=now,
        first_submitted_at=now,
        **answering.cached_result_fields(result),
    )
    Answer.objects.bulk_create(
        Answer(assessment=consensus, item_code=code, choices=choices)
        for code, choices in answers.items()
    )
    return consensus


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    return build_world()


def build_world() -> dict[str, Any]:
    """Two QUADAS-2 studies with consensus (tests/test_api_exports.py too)."""
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(
        lead=lead, reviewers=[alice, bob], keys=("quadas-2-1.0",), slug="dta"
    )
    version = load_instrument("quadas-2-1.0")
    smith = StudyFactory(
        project=project, title="B study", authors="Smith, John; Doe, A", year=2020
    )
    zhang = StudyFactory(project=project, title="A study", authors="Zhang W", year=2019)
    alone = StudyFactory(project=project, title="Only one reviewer", authors="Solo K")
    practice = StudyFactory(
        project=project, title="Practice study", authors="Train T", training=True
    )
    for study, judgements in ((smith, SMITH), (zhang, ZHANG)):
        create_submitted(study, version, alice, _answers(judgements))
        create_submitted(study, version, bob, _answers(judgements))
        _consensus(study, version, _answers(judgements))
    _consensus(practice, version, _answers(SMITH))
    create_submitted(alone, version, alice, _answers(SMITH))
    Answer.objects.filter(
        assessment__study=alone, assessment__reviewer=alice, item_code="D1.rob"
    ).update(comment="SECRET-ALICE")
    final = Assessment.objects.get(study=smith, kind="consensus")
    Answer.objects.filter(assessment=final, item_code="D1.rob").update(
        comment="Consecutive series", evidence="Methods, para 2"
    )
    quote = {"id": "q1", "exact": "patients were enrolled consecutively", "page": 3}
    Answer.objects.create(
        assessment=final,
        item_code="1.1",
        choices=["yes"],
        quotes=[quote | {"by": "bob"}],
    )
    Resolution.objects.create(
        consensus=final, item_code="D1.rob", choices=["low"], rationale="All agreed"
    )
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "project": project,
        "version": version,
        "alone": alone,
    }


def _file(world: dict[str, Any], form: str, user: str = "lead", **kw: Any) -> bytes:
    args = (world[user], world["project"], world["version"], form)
    return export(*args, **kw).content


def _read(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_robvis_csv_is_the_expected_file(world: dict[str, Any]) -> None:
    assert _file(world, "robvis") == (DATA / "quadas-robvis.csv").read_bytes()
    expected = (DATA / "quadas-robvis-applicability.csv").read_bytes()
    assert _file(world, "robvis-applicability") == expected


def test_robvis_csv_follows_robvis_column_rules(world: dict[str, Any]) -> None:
    for form, domains, words in (
        ("robvis", ["D1", "D2", "D3", "D4"], RISK_WORDS),
        ("robvis-applicability", None, APPLICABILITY_WORDS),
    ):
        content = _file(world, form)
        assert not content.startswith(b"\xef\xbb\xbf")  # R would keep the mark
        head, *rows = list(csv.reader(io.StringIO(content.decode())))
        assert head[0] == "Study" and head[-2:] == ["Overall", "Weight"]
        if domains:
            assert head[1:-2] == domains
        assert {len(row) for row in rows} == {len(head)}
        for row in rows:
            assert row[0] and float(row[-1]) == 1
            assert set(row[1:-1]) <= words
        # robvis keeps the first letter of each word; each must be one it knows.
        letters = {"".join(w[0] for w in v.split()).lower()[0] for v in words}
        assert letters <= {"h", "s", "l", "n", "u"}


def test_only_final_consensus_of_review_studies_is_included(
    world: dict[str, Any],
) -> None:
    for form in ("robvis", "robvis-applicability", "revman"):
        text = _file(world, form).decode()
        assert "Solo" not in text and "Only one reviewer" not in text
        assert "Train" not in text and "Practice" not in text


def test_revman_csv_has_judgements_and_support(world: dict[str, Any]) -> None:
    rows = _read(_file(world, "revman"))
    assert [r["Study"] for r in rows] == ["Smith 2020", "Zhang 2019"]
    smith = rows[0]
    head = "Risk of bias: Patient selection"
    assert smith[f"{head} - Judgement"] == "Low risk"
    assert smith[f"{head} - Support for judgement"] == (
        "Rationale: All agreed Comment: Consecutive series Evidence: Methods, "
        "para 2 Quote (p. 3): “patients were enrolled consecutively”"
    )
    assert smith["Risk of bias: Index test - Judgement"] == "High risk"
    assert smith["Applicability: Index test - Judgement"] == "Unclear concern"
    assert list(smith)[:3] == [
        "Study",
        f"{head} - Judgement",
        f"{head} - Support for judgement",
    ]
    assert len(smith) == 1 + 2 * 7


def test_synthesis_forms_refuse_scored_instruments(db: None) -> None:
    lead = UserFactory(username="lead")
    project = make_project(lead=lead, reviewers=[])
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    for form in ("robvis", "revman"):
        with pytest.raises(ExportError, match="judgements such as QUADAS-2"):
            export(lead, project, version, form)


def test_pending_reviewer_gets_no_one_elses_judgement(world: dict[str, Any]) -> None:
    assignment.assign_reviewer(
        study=world["alone"],
        version=world["version"],
        reviewer=world["bob"],
        user=world["lead"],
    )
    for form in ("robvis", "robvis-applicability", "revman"):
        text = _file(world, form, user="bob").decode()
        assert "SECRET-ALICE" not in text and "Solo" not in text


def test_pseudonymised_wide_names_no_username(world: dict[str, Any]) -> None:
    for form in ("wide", "long", "quotes", "json"):
        text = _file(world, form, pseudonymise=True).decode("utf-8")
        for name in ("alice", "bob", "lead"):
            assert name not in text, (form, name)
        assert "R2" in text  # bob, also as the person who took the quote
        assert ("R1" in text) is (form != "quotes")
    event = AuditEvent.objects.filter(action="export").last()
    assert event is not None and event.detail["pseudonymised"] is True
    # Stable: the same reviewer keeps the same code in the next export.
    first = _read(_file(world, "wide", pseudonymise=True)[3:])
    again = _read(_file(world, "wide", pseudonymise=True)[3:])
    assert [r["reviewer"] for r in first] == [r["reviewer"] for r in again]


@with_urls
def test_export_page_shows_the_key_to_leads_only(world: dict[str, Any]) -> None:
    _file(world, "wide", pseudonymise=True)
    for user, shown in (("lead", True), ("alice", False)):
        client = Client()
        client.force_login(world[user])
        body = client.get("/p/dta/export/").content.decode()
        assert ("Key to the codes" in body) is shown
        assert "Name reviewers by code" in body and "robvis" in body


@with_urls
def test_download_of_robvis_through_the_page(world: dict[str, Any]) -> None:
    client = Client()
    client.force_login(world["lead"])
    url = "/p/dta/export/download?version=quadas-2-1.0&form=robvis&format=xlsx"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content == (DATA / "quadas-robvis.csv").read_bytes()
