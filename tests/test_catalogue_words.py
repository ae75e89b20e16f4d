"""The catalogue's sentences reach the instrument admin in the reader's language,
and stay English as text (the command line, the files, the logs).

The floor (instruments: validation, files, fingerprints, crosswalk) and the
catalogue services say them as Phrases; the admin pages translate them with
in_words. The catalogues do not hold these sentences yet, so the Dutch here
comes from a stand-in gettext patched where the admin imports it: the test
shows that the page says what the catalogue says, whatever that is.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext

from assessments.instruments import (
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    validate_definition,
)
from assessments.models import InstrumentVersion, Option
from assessments.services import catalogue
from assessments.words import Phrase
from tests.factories import UserFactory, load_instrument

ADMIN = "/admin/assessments/instrumentversion/"

DUTCH = {
    # Compare rows
    "Item %(code)s": "Item %(code)s",
    "%(what)s, option “%(option)s”": "%(what)s, optie “%(option)s”",
    "%(what)s: points": "%(what)s: punten",
    # A definition file refused
    "%(where)s: not a finite number (NaN or infinity); use an ordinary number": (
        "%(where)s: geen eindig getal (NaN of oneindig); gebruik een gewoon getal"
    ),
    # A modified copy refused its original's name
    "This draft differs from %(original)s %(changes)s (see Compare), so it "
    "cannot be published under %(original)s's name: change %(fields)s to a "
    "name of its own, not only a new number. It will be shown as "
    "“modified from %(original)s”.": (
        "Dit concept verschilt van %(original)s %(changes)s (zie Vergelijken) "
        "en kan daarom niet onder de naam van %(original)s worden gepubliceerd: "
        "wijzig %(fields)s in een eigen naam, niet alleen een nieuw nummer. Het "
        "wordt getoond als “aangepast van %(original)s”."
    ),
    "in scoring": "qua scoring",
    "Name (now “%(name)s”) and Short name (now “%(short_name)s”)": (
        "Naam (nu “%(name)s”) en Korte naam (nu “%(short_name)s”)"
    ),
    # A crosswalk refused
    "concept %(concept)s: %(key)s has no item %(code)s": (
        "concept %(concept)s: %(key)s heeft geen item %(code)s"
    ),
}


def dutch(template: str) -> str:
    """A catalogue holding DUTCH, and Django's own for everything else."""
    return DUTCH.get(template) or gettext(template)


def superuser() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def modified_copy() -> InstrumentVersion:
    """RQS 1.1 drafted from 1.0, item 5's "none" worth -2 instead of -3."""
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    Option.objects.filter(item__version=draft, item__code="5", code="none").update(
        points=-2
    )
    return draft


# --- the floor and the services: Phrases that read as English ----------------------


def test_a_definition_problem_is_a_phrase_that_reads_as_english() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    doc["sections"][3]["items"][1]["applies_when"] = [
        {"condition": "C3", "in": ["maybe"]}
    ]
    [problem] = validate_definition(doc)
    assert isinstance(problem, Phrase)
    assert (
        problem.template == "%(where)s: condition %(code)s has no option '%(option)s'"
    )
    assert problem == "item 12 (sections/3/items/1): condition C3 has no option 'maybe'"
    where = problem.values["where"]
    assert isinstance(where, Phrase) and where.template == "item %(code)s (%(path)s)"
    assert problem.translated(dutch) == problem  # "item" is "item" in Dutch too


def test_a_scoring_difference_is_a_phrase_that_reads_as_english() -> None:
    path = bundled_definitions_dir() / "rqs-1.0.yaml"
    old = parse_definition(load_definition_file(path))
    doc = load_definition_file(path)
    next(i for i in doc["sections"][0]["items"] if i["code"] == "5")["options"][0][
        "points"
    ] = -2
    [difference] = old.scoring_differences(parse_definition(doc))
    assert isinstance(difference, Phrase)
    assert difference.template == (
        "%(what)s: option '%(code)s' %(key)s %(old)s -> %(new)s"
    )
    assert difference == "item 5: option 'none' points -3 -> -2"


@pytest.mark.django_db
def test_compare_rows_and_refusals_are_phrases() -> None:
    draft = modified_copy()
    rows = catalogue.compare_versions(load_instrument("rqs-1.0"), draft)
    [row] = [r for r in rows if r.is_scoring]
    assert row.what == "Item 5, option “Neither reduction nor adjustment”: points"
    assert isinstance(row.what, Phrase) and row.what.template == "%(what)s: points"
    assert (
        row.translated(dutch).what
        == "Item 5, optie “Neither reduction nor adjustment”: punten"
    )
    with pytest.raises(catalogue.PublishedVersionError) as refused:
        catalogue.ensure_editable(load_instrument("rqs-1.0"))
    [error] = refused.value.error_list
    assert isinstance(error.message, Phrase)
    assert str(error.message) == (
        "RQS 1.0 is published and cannot be changed; make a new draft from it instead."
    )


# --- the admin pages: the same sentences in the reader's language -------------------


@pytest.mark.django_db
def test_compare_shows_its_rows_in_the_readers_language() -> None:
    draft = modified_copy()
    left = load_instrument("rqs-1.0")
    with mock.patch("assessments.admin.pages.gettext", dutch):
        page = superuser().get(f"{ADMIN}compare/", {"left": left.pk, "right": draft.pk})
    html = page.content.decode()
    assert "Item 5, optie “Neither reduction nor adjustment”: punten" in html
    assert "option “Neither reduction nor adjustment”: points" not in html


@pytest.mark.django_db
def test_an_imported_file_is_refused_in_the_readers_language() -> None:
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    doc["params"]["bands"][0]["min"] = "BOUND"
    text = yaml.safe_dump(doc).replace("BOUND", ".nan").replace("'.nan'", ".nan")
    upload = SimpleUploadedFile("bands.yaml", text.encode())
    with mock.patch("assessments.admin.forms.gettext", dutch):
        page = superuser().post(f"{ADMIN}import/", {"file": upload})
    html = page.content.decode()
    assert "params/bands/0/min: geen eindig getal (NaN of oneindig)" in html
    assert "not a finite number" not in html
    assert not InstrumentVersion.objects.exists()


@pytest.mark.django_db
def test_publishing_is_refused_in_the_readers_language() -> None:
    draft = modified_copy()
    with mock.patch("assessments.admin.base.gettext", dutch):
        response = superuser().post(
            ADMIN, {"action": "publish", "_selected_action": [draft.pk]}, follow=True
        )
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "Dit concept verschilt van RQS 1.0 qua scoring (zie Vergelijken)" in shown
    assert "Naam (nu “Radiomics Quality Score”) en Korte naam (nu “RQS 1.0”)" in shown
    assert "cannot be published" not in shown
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
def test_a_crosswalk_is_refused_in_the_readers_language() -> None:
    for key in ("metrics-1.0", "clear-1.0"):
        load_instrument(key)
    doc: dict[str, Any] = {
        "version": "2.0",
        "status": "draft",
        "concepts": [
            {
                "code": "imaging-protocol",
                "label": "Imaging protocol",
                "items": {"metrics-1.0": ["6"], "clear-1.0": ["16", "77"]},
            }
        ],
    }
    url = reverse("admin:assessments_crosswalk_add")
    with mock.patch("assessments.admin.crosswalk.gettext", dutch):
        page = superuser().post(url, {"document_text": yaml.safe_dump(doc)})
    html = page.content.decode()
    assert "concept imaging-protocol: clear-1.0 heeft geen item 77" in html
    assert "has no item" not in html
