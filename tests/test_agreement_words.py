"""The agreement package's sentences are Phrases: English where software reads
them (the command line, CSV), said in the reader's language where people read
them (the agreement page and JSON, the calibration pages and JSON, reports).

The pages are read through the real Dutch catalogue; the floor's own check
uses a small stand-in dictionary.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as real_gettext

from assessments import agreement as ag
from assessments.agreement import calibration, reporting
from assessments.models import InstrumentVersion
from assessments.services.score_imports import create_submitted
from assessments.words import Phrase, in_words
from tests.calibration_world import make_world
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

TOO_FEW = (
    "Inter-rater agreement on %(instrument)s is not reported: too few "
    "studies (n = %(n)s) for a reliable estimate (at least %(icc)s "
    "studies are needed for the intraclass correlation of the total "
    "score and %(items)s for item-level kappas)."
)
DUTCH = {
    TOO_FEW: (
        "Interbeoordelaarsovereenstemming voor %(instrument)s wordt niet "
        "gerapporteerd: te weinig studies (n = %(n)s) voor een betrouwbare "
        "schatting (ten minste %(icc)s studies voor de intraclasscorrelatie van "
        "de totaalscore en %(items)s voor kappa's op itemniveau)."
    ),
    "too few studies (n = %(n)s) for a reliable estimate": (
        "te weinig studies (n = %(n)s) voor een betrouwbare schatting"
    ),
    "reviewer %(n)s": "beoordelaar %(n)s",
    "mean pairwise agreement": "gemiddelde paarsgewijze overeenstemming",
    "needs at least %(minimum)s studies (has %(n)s)": (
        "vereist ten minste %(minimum)s studies (heeft er %(n)s)"
    ),
    "No reviewer has completed calibration yet.": (
        "Nog geen beoordelaar heeft de kalibratie voltooid."
    ),
}


def dutch(message: str) -> str:
    """A Dutch catalogue for the templates above; the real one for the rest."""
    return DUTCH.get(message) or real_gettext(message)


def test_sentences_are_phrases_that_read_as_the_english() -> None:
    methods = reporting.reported_methods(
        n_reviewers=2,
        n_studies=3,
        instrument=reporting.instrument_name("Local RQS", "RQS 1.0"),
        design="fixed",
        total_icc=None,
    )
    assert isinstance(methods.text, Phrase) and methods.text.template == TOO_FEW
    assert methods.text.startswith(
        "Inter-rater agreement on Local RQS (modified from RQS 1.0) is not reported"
    )
    said = in_words(methods.text, dutch)
    assert said.startswith(
        "Interbeoordelaarsovereenstemming voor Local RQS (modified from RQS 1.0) "
    )
    assert "te weinig studies (n = 3)" in said
    # A coefficient's note, raised inside a helper, is still a Phrase.
    note = ag.icc([[1, 2], [None, 3]])["ICC2"].note
    assert isinstance(note, Phrase)
    assert note == "ICC needs every rater to rate every subject; ratings missing: 1"


@pytest.mark.django_db
def test_the_agreement_json_is_said_in_the_readers_language() -> None:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=name) for name in ("ann", "bob", "cy")]
    project = make_project(lead=lead, reviewers=reviewers, slug="words")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    # Rotating pairs: interchangeable reviewers, whose columns are slots.
    for i, study in enumerate(StudyFactory.create_batch(3, project=project)):
        pair = [(0, 1), (1, 2), (0, 2)][i]
        for k in pair:
            create_submitted(study, version, reviewers[k], RQS_13)
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(lead)
    url = reverse("project-agreement-json", args=[project.slug])
    data = client.get(url).json()
    assert data["design"] == "interchangeable"
    assert data["raters"] == ["beoordelaar 1", "beoordelaar 2"]
    assert data["methods_reliable"] is False
    assert data["methods_sentence"].startswith(
        "De interbeoordelaarsovereenstemming voor RQS"
    )
    assert "te weinig studies (n = 3)" in data["methods_sentence"]
    icc1 = next(c for c in data["totals"]["icc"] if c["key"] == "ICC1")
    assert icc1["caveat"] == "te weinig studies (n = 3) voor een betrouwbare schatting"
    labels = [c["label"] for c in data["coefficients"]["items"]]
    assert "gemiddelde paarsgewijze overeenstemming" in labels

    # In English the same figures say what they said before.
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(lead)
    said = english.get(url).json()
    assert said["raters"] == ["reviewer 1", "reviewer 2"]
    assert "too few studies (n = 3)" in said["methods_sentence"]


@pytest.mark.django_db
def test_calibration_json_and_the_lead_page_say_reasons_in_dutch() -> None:
    w = make_world(n_training=1, slug="woorden")
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(w.lead)
    rows = client.get(reverse("calibration-json", args=[w.project.slug])).json()
    mine = next(r for r in rows if r["reviewer"] == w.trainee.username)
    minimum = calibration.MIN_KAPPA_STUDIES
    assert mine["kappa"]["reason"] == (
        f"vereist ten minste {minimum} studies (beschikbaar: 0)"
    )
    page = client.get(reverse("calibration-overview", args=[w.project.slug]))
    assert "Nog geen beoordelaar heeft de kalibratie voltooid." in (
        page.content.decode()
    )


def test_numbers_in_a_sentence_take_the_readers_decimal_sign() -> None:
    from django.utils import translation

    value = reporting.format_value(-0.456)
    assert value == "\N{MINUS SIGN}0.46"  # the command line and files: a point
    sentence = reporting.format_range(0.12, 0.81)
    with translation.override("nl"):
        assert in_words(value, real_gettext) == "\N{MINUS SIGN}0,46"
        assert in_words(sentence, real_gettext) == "0,12\N{EN DASH}0,81"
    with translation.override("en-gb"):
        assert in_words(value, real_gettext) == "\N{MINUS SIGN}0.46"
