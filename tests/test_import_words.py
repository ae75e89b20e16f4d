"""The bibliography's and the spreadsheet scorer's sentences reach the import
pages in the reader's language, and stay English as text.

The floor (bibliography, instruments) says them as Phrases; services/imports.py
and services/score_imports.py translate them with in_words. The catalogues do
not hold these sentences yet, so the Dutch here comes from a stand-in gettext
patched where the services import it: the test shows that the page says what
the catalogue says, whatever that is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.translation import gettext

from assessments.bibliography import ImportFormatError, parse_studies
from assessments.instruments import (
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    parse_row_answers,
)
from assessments.models import Assessment, Study
from assessments.words import Phrase
from tests.factories import StudyFactory, UserFactory, make_project

DUTCH = {
    "%(label)s: %(message)s": "%(label)s: %(message)s",
    "line %(line)s": "regel %(line)s",
    "year: %(value)s is not a 4-digit year": (
        "year: %(value)s is geen jaartal van vier cijfers"
    ),
    "the file is UTF-16 or UTF-32 encoded; save it as UTF-8": (
        "het bestand is in UTF-16 of UTF-32 gecodeerd; sla het op als UTF-8"
    ),
    "item %(code)s": "item %(code)s",
    "%(name)s: empty; allowed: %(allowed)s": "%(name)s: leeg; toegestaan: %(allowed)s",
}


def dutch(template: str) -> str:
    """A catalogue holding DUTCH, and Django's own for everything else."""
    return DUTCH.get(template) or gettext(template)


@pytest.fixture
def world(db: None, settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="r1")
    project = make_project(lead=lead, reviewers=[reviewer], slug="p")
    StudyFactory(project=project, doi="10.5555/a")
    return {"lead": lead, "project": project, "version": project.instruments.get()}


def dutch_client(world: dict[str, Any]) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(world["lead"])
    return client


# --- the floor: Phrases that read as English -------------------------------------


def test_a_refused_record_is_said_as_a_phrase_that_reads_as_english() -> None:
    result = parse_studies("title,year\nFirst,2020\nSecond,20\n")
    [problem] = result.problems
    assert isinstance(problem.message, Phrase)
    assert problem.message.template == "year: %(value)s is not a 4-digit year"
    assert problem.message.values == {"value": "'20'"}
    assert str(problem) == "Second: year: '20' is not a 4-digit year"
    untitled = parse_studies("title,year\n,2020\n").problems[0]
    assert isinstance(untitled.label, Phrase)
    assert untitled.label.template == "line %(line)s"
    assert str(untitled) == "line 2: no title"


def test_an_unreadable_file_is_refused_with_a_phrase() -> None:
    with pytest.raises(ImportFormatError) as refused:
        parse_studies(b"\xff\xfet\x00i\x00")
    [message] = refused.value.args
    assert isinstance(message, Phrase)
    assert (
        str(refused.value) == "the file is UTF-16 or UTF-32 encoded; save it as UTF-8"
    )


def test_a_refused_cell_nests_its_phrases(world: dict[str, Any]) -> None:
    definition = world["version"].as_definition()
    _answers, errors, _warnings = parse_row_answers(definition, {"1": ""})
    first = errors[0]
    assert isinstance(first, Phrase)
    assert first.template == "%(name)s: empty; allowed: %(allowed)s"
    assert first.values["name"].template == "item %(code)s"
    assert first.startswith("item 1: empty; allowed: ")


def test_a_cell_needing_another_option_is_said_as_a_phrase() -> None:
    rqs = parse_definition(
        load_definition_file(bundled_definitions_dir() / "rqs-1.0.yaml")
    )
    _answers, errors, _warnings = parse_row_answers(rqs, {"9": "resampling"})
    [error] = [e for e in errors if e.startswith("item 9")]
    assert error == "item 9: 'resampling' counts only together with 'stat'"
    assert isinstance(error, Phrase)
    problem = error.values["problem"]
    assert problem.template == "'%(option)s' counts only together with '%(needed)s'"
    assert problem.values == {"option": "resampling", "needed": "stat"}


# --- the pages: what a Dutch reader sees -------------------------------------------


def test_study_import_page_shows_a_refused_record_in_dutch(
    world: dict[str, Any],
) -> None:
    data = b"title,year\nFirst study,2020\nSecond study,20\n"
    with mock.patch("assessments.services.imports._", dutch):
        response = dutch_client(world).post(
            "/p/p/studies/import/",
            {"file": SimpleUploadedFile("s.csv", data), "format": ""},
        )
    text = response.content.decode()
    assert response.status_code == 400
    assert "Second study: year: &#x27;20&#x27; is geen jaartal van vier cijfers" in text
    assert "is not a 4-digit year" not in text
    assert not Study.objects.filter(title="First study").exists()


def test_study_import_page_shows_an_unreadable_file_in_dutch(
    world: dict[str, Any],
) -> None:
    with mock.patch("assessments.services.imports._", dutch):
        response = dutch_client(world).post(
            "/p/p/studies/import/",
            {"file": SimpleUploadedFile("s.csv", b"\xff\xfet\x00"), "format": ""},
        )
    text = response.content.decode()
    assert "het bestand is in UTF-16 of UTF-32 gecodeerd; sla het op als UTF-8" in text
    assert "save it as UTF-8" not in text


def test_score_import_page_shows_a_refused_cell_in_dutch(
    world: dict[str, Any],
) -> None:
    header = "id,reviewer," + ",".join(str(i) for i in range(1, 17))
    sheet = f"{header}\n10.5555/a,r1,,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1\n"
    with mock.patch("assessments.services.score_imports._", dutch):
        response = dutch_client(world).post(
            "/p/p/scores/import/",
            {
                "version": world["version"].pk,
                "file": SimpleUploadedFile("s.csv", sheet.encode()),
            },
        )
    text = response.content.decode()
    assert response.status_code == 400
    assert "item 1: leeg; toegestaan: " in text
    assert "empty; allowed" not in text
    assert not Assessment.objects.exists()
