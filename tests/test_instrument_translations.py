"""The instruments in Dutch and German: what a reviewer reads changes, never a score.

Translations are files beside the definitions. The form shows the reader's
language with the English one switch away; the assessment records which
wording its reviewer used, so agreement can be split by it; exports keep the
codes and give labels in the reader's language.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from django.urls import reverse

from assessments.instruments import iter_bundled, parse_definition
from assessments.instruments.translation_files import (
    bundled_languages,
    check_translation,
    load_translation,
    parse_translation,
    translation_path,
    translation_skeleton,
)
from assessments.instruments.translations import TranslationError
from assessments.models import Assessment, InstrumentVersion
from assessments.selectors.wording import wording_for
from assessments.services import assignment
from tests.factories import (
    RQS_13,
    StudyFactory,
    UserFactory,
    load_instrument,
    make_project,
)
from tests.test_api_read import client_for

DEFINITIONS = {d.key: d for d in (parse_definition(doc) for doc in iter_bundled())}
SHIPPED = ("nl", "de")


@pytest.mark.parametrize("language", SHIPPED)
@pytest.mark.parametrize("key", sorted(DEFINITIONS))
def test_every_instrument_is_shipped_complete_in_dutch_and_german(
    key: str, language: str
) -> None:
    definition = DEFINITIONS[key]
    assert language in bundled_languages(key)
    translation = load_translation(key, language)
    assert translation is not None
    assert translation.fits(definition), "made from an older English wording"
    assert translation.translator and translation.date.year >= 2026
    translated = translation.apply(definition)
    # Words only: whatever a translation says, every number stays the same.
    assert translated.scoring_fingerprint() == definition.scoring_fingerprint()
    assert translated.wording_fingerprint() != definition.wording_fingerprint()
    # Left as the English only where the words really are the same ("RRL 3",
    # "Fairness", "Open science"): never a sentence.
    english = {
        where: text
        for where, text in _texts(definition)
        if where in translation.missing(definition)
    }
    assert all(len(text.split()) <= 3 for text in english.values()), english


def _texts(definition: Any) -> list[tuple[str, str]]:
    out = []
    for entry in [*definition.conditions, *definition.items]:
        out += [(f"item {entry.code} label", entry.label)]
        out += [(f"item {entry.code} help", entry.help)]
        for o in entry.options:
            out += [(f"item {entry.code} option {o.code} label", o.label)]
    for s in definition.sections:
        out += [
            (f"section {s.code} label", s.label),
            (f"section {s.code} help", s.help),
        ]
    out += [(f"domain {d.code}", d.label) for d in definition.domains]
    return out


def test_the_skeleton_for_a_new_language_is_a_complete_file_to_overwrite() -> None:
    definition = DEFINITIONS["metrics-1.0"]
    doc = yaml.safe_load(translation_skeleton(definition, "fr", "A. Traducteur"))
    translation = parse_translation(doc)
    assert translation.fits(definition)
    assert translation.validated is False
    # Nothing translated yet: every text is still the English.
    assert len(translation.missing(definition)) > 100
    assert set(doc["items"]) == {i.code for i in definition.items}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = yaml.safe_load(translation_path("rqs-1.0", "nl").read_text(encoding="utf-8"))
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"translator": ""}, "translator: say who translated it"),
        ({"date": "3 December"}, "date: '3 December' is not a date"),
        ({"validated": "maybe"}, "validated: expected true or false"),
        ({"translates_revision": 0}, "translates_revision: expected a whole number"),
        ({"language": "Dutch"}, "is not a language code"),
    ],
)
def test_a_broken_translation_file_is_refused_naming_what_is_wrong(
    changes: dict[str, Any], words: str
) -> None:
    with pytest.raises(TranslationError) as caught:
        parse_translation(_doc(**changes))
    assert any(words in problem for problem in caught.value.problems)


def test_codes_a_definition_does_not_have_are_named(tmp_path: Path) -> None:
    doc = _doc()
    doc["items"]["99"] = {"label": "Bestaat niet"}
    doc["items"]["1"]["options"]["nope"] = "Ook niet"
    problems = check_translation(parse_translation(doc), DEFINITIONS["rqs-1.0"])
    assert "items: no item or condition '99'" in problems
    assert "items: 1: no option 'nope'" in problems
    # Unreadable YAML names the file.
    (tmp_path / "rqs-1.0.nl.yaml").write_text("items: [unclosed", encoding="utf-8")
    with pytest.raises(TranslationError, match=r"rqs-1\.0\.nl\.yaml"):
        load_translation("rqs-1.0", "nl", tmp_path)


def test_a_translation_of_an_older_english_wording_is_not_shown(db: None) -> None:
    version = load_instrument("rqs-1.0")
    assert wording_for(version, "nl").language == "nl"
    translation = wording_for(version, "nl").translation
    assert translation is not None
    newer = dataclasses.replace(version.as_definition(), revision=3)
    assert not translation.fits(newer)
    assert wording_for(version, "en-gb").translation is None
    # A language with no file: the English.
    assert wording_for(version, "fr").language == "en"


# --- the form ---------------------------------------------------------------------


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    return {"lead": lead, "r1": r1, "r2": r2, "project": project, "version": version}


def speaking(user: Any, language: str) -> Client:
    client = Client()
    client.force_login(user)
    response = client.post("/account/language", {"language": language, "next": "/"})
    assert response.status_code == 302
    return client


def assigned(world: dict[str, Any], title: str) -> tuple[Assessment, Assessment]:
    study = StudyFactory(project=world["project"], title=title)
    return tuple(  # type: ignore[return-value]
        assignment.assign_reviewer(
            study=study, version=world["version"], reviewer=r, user=world["lead"]
        )
        for r in (world["r1"], world["r2"])
    )


def form_wording(page: str) -> str:
    found = re.search(r'<form id="assessment"[^>]*data-wording="([^"]*)"', page)
    assert found, "the form says which wording it shows"
    return found[1]


def fill(client: Client, assessment: Assessment, wording: str) -> dict[str, Any]:
    seen: dict[str, int] = {}
    data: dict[str, Any] = {}
    for item, choices in RQS_13.items():
        post = {"item": item, "choices": choices, "seen": str(seen.get(item, 0))}
        if choices == []:
            post["answered"] = "1"
        response = client.post(
            f"/a/{assessment.uuid}/answer",
            {**post, "wording": wording},
            HTTP_X_REQUESTED_WITH="fetch",
        )
        assert response.status_code == 200, response.content
        data = response.json()
    return data


def test_a_dutch_reviewer_reads_the_form_in_dutch_with_the_english_a_switch_away(
    world: dict[str, Any],
) -> None:
    mine, _ = assigned(world, "Lung CT")
    page = speaking(world["r1"], "nl").get(f"/a/{mine.uuid}/").content.decode()
    assert "Kwaliteit van het beeldvormingsprotocol" in page
    assert form_wording(page) == "nl"
    # The English it was made from, marked as English, hidden until asked for.
    assert re.search(
        r'<span [^>]*lang="en" data-wording-en hidden>Image protocol quality</span>',
        page,
    )
    assert 'id="wording-switch"' in page
    assert "Toon ook de Engelse formulering" in page
    # Said plainly: who translated it, and that it is not yet checked.
    note = re.search(r'data-testid="wording-note">(.*?)</p>', page, re.S)
    assert note and "nog niet gecontroleerd" in note[1]
    # Options: "Ja"/"Nee" for the standard ones, the items' own in Dutch.
    assert re.search(r'for="opt-2-yes">Ja\b', page)


def test_an_english_reader_sees_only_the_english(world: dict[str, Any]) -> None:
    mine, _ = assigned(world, "Lung CT")
    page = speaking(world["r1"], "en-gb").get(f"/a/{mine.uuid}/").content.decode()
    assert "Image protocol quality" in page
    assert form_wording(page) == "en"
    assert "data-wording-en" not in page and "wording-switch" not in page


def test_the_same_answers_score_the_same_in_every_language(
    world: dict[str, Any],
) -> None:
    one, two = assigned(world, "Lung CT")
    dutch = fill(speaking(world["r1"], "nl"), one, "nl")
    german = fill(speaking(world["r2"], "de"), two, "de")
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.total, one.maximum, one.percent) == (
        two.total,
        two.maximum,
        two.percent,
    )
    assert one.total == 13
    # The panel speaks the reader's language around the same numbers: the
    # decimal comma, and the domains' names.
    assert "36,1%" in dutch["score_html"] and "36,1%" in german["score_html"]
    assert "Kwaliteit en stabiliteit van het protocol" in dutch["score_html"]
    assert "Qualität und Stabilität des Protokolls" in german["score_html"]
    other, _ = assigned(world, "Liver MRI")
    english = fill(speaking(world["r1"], "en-gb"), other, "en")
    assert "36.1%" in english["score_html"]
    assert "Protocol quality and stability" in english["score_html"]
    assert (one.wording_language, two.wording_language) == ("nl", "de")


def test_an_assessment_saved_in_two_wordings_is_recorded_as_mixed(
    world: dict[str, Any],
) -> None:
    mine, _ = assigned(world, "Lung CT")
    client = speaking(world["r1"], "nl")
    fill(client, mine, "nl")
    mine.refresh_from_db()
    assert mine.wording_language == "nl"
    response = client.post(
        f"/a/{mine.uuid}/answer",
        {"item": "3", "choices": ["yes"], "seen": "3", "wording": "en"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 200, response.content
    mine.refresh_from_db()
    assert mine.wording_language == "mixed"
    # An unknown code from a hand-made request records nothing new.
    client.post(
        f"/a/{mine.uuid}/answer",
        {"item": "4", "choices": ["yes"], "seen": "4", "wording": "xx"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    mine.refresh_from_db()
    assert mine.wording_language == "mixed"


# --- agreement split by wording ---------------------------------------------------


def submit(client: Client, assessment: Assessment) -> None:
    response = client.post(f"/a/{assessment.uuid}/submit")
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == "submitted"


def test_agreement_can_be_split_by_the_wording_the_reviewers_used(
    world: dict[str, Any],
) -> None:
    languages = [("nl", "nl"), ("nl", "nl"), ("en-gb", "en-gb"), ("nl", "en-gb")]
    for n, pair in enumerate(languages):
        assessments = assigned(world, f"Study {n}")
        for reviewer, language, assessment in zip(
            (world["r1"], world["r2"]), pair, assessments, strict=True
        ):
            client = speaking(reviewer, language)
            fill(client, assessment, language.split("-")[0])
            submit(client, assessment)
    lead = speaking(world["lead"], "en-gb")
    url = reverse("project-agreement-json", args=["p"])

    everything = lead.get(url).json()
    assert everything["n_studies"] == 4
    assert {(w["code"], w["n_studies"]) for w in everything["wording_languages"]} == {
        ("en", 1),
        ("nl", 2),
        ("mixed", 1),
    }
    assert lead.get(url, {"language": "nl"}).json()["n_studies"] == 2
    assert lead.get(url, {"language": "en"}).json()["n_studies"] == 1
    assert lead.get(url, {"language": "mixed"}).json()["n_studies"] == 1
    assert lead.get(url, {"language": "../etc"}).status_code == 404

    # The same split through the API.
    api = client_for(world["lead"], world["project"])
    figures = api.get("/api/v1/projects/p/agreement/rqs-1.0/", {"language": "nl"})
    assert figures.status_code == 200 and figures.json()["n_studies"] == 2
    assert (
        api.get(
            "/api/v1/projects/p/agreement/rqs-1.0/", {"language": "Dutch"}
        ).status_code
        == 400
    )

    page = lead.get(reverse("project-agreement", args=["p"]), {"language": "nl"})
    text = page.content.decode()
    assert 'id="ag-language"' in text
    assert "Nederlands (2 studies)" in text
    assert 'data-testid="wording-language"' in text


# --- exports -----------------------------------------------------------------------


def test_exports_keep_the_codes_and_give_labels_in_the_readers_language(
    world: dict[str, Any],
) -> None:
    one, two = assigned(world, "Lung CT")
    for reviewer, assessment in ((world["r1"], one), (world["r2"], two)):
        client = speaking(reviewer, "nl")
        fill(client, assessment, "nl")
        submit(client, assessment)
    url = f"/p/p/export/download?version={world['version'].pk}&form=json"
    dutch = json.loads(speaking(world["lead"], "nl").get(url).content)
    english = json.loads(speaking(world["lead"], "en-gb").get(url).content)
    assert dutch["instrument"]["wording"]["language"] == "nl"
    assert dutch["instrument"]["wording"]["validated"] is False
    assert english["instrument"]["wording"] == {"language": "en"}
    # Same codes, same numbers; only the words differ.
    assert dutch["instrument"]["scoring_hash"] == english["instrument"]["scoring_hash"]
    assert [e["code"] for e in dutch["codebook"]] == [
        e["code"] for e in english["codebook"]
    ]
    labels = {e["code"]: e["label"] for e in dutch["codebook"]}
    assert labels["1"] == "Kwaliteit van het beeldvormingsprotocol"
    assert dutch["assessments"][0]["total"] == english["assessments"][0]["total"]


# --- the command translators use ---------------------------------------------------


def test_the_command_starts_a_new_language_and_checks_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management import CommandError, call_command

    from assessments.instruments import translation_files

    out = io.StringIO()
    call_command("instrument_translation", check=True, stdout=out)
    assert "rqs-1.0.nl.yaml: 0 problems" in out.getvalue()

    monkeypatch.setattr(translation_files, "translations_dir", lambda: tmp_path)
    call_command("instrument_translation", "rqs-1.0", "fr", translator="A. Traducteur")
    written = load_translation("rqs-1.0", "fr", tmp_path)
    assert written is not None and written.translator == "A. Traducteur"
    with pytest.raises(CommandError, match="exists already"):
        call_command("instrument_translation", "rqs-1.0", "fr", translator="B")
    # Still the English everywhere: the check says so, and passes (nothing wrong).
    out = io.StringIO()
    call_command("instrument_translation", check=True, stdout=out)
    assert re.search(
        r"rqs-1\.0\.fr\.yaml: 0 problems, \d{2,} texts still", out.getvalue()
    )


def test_the_dashboard_names_items_in_each_readers_words_and_never_mixes_them(
    world: dict[str, Any],
) -> None:
    one, two = assigned(world, "Lung CT")
    for reviewer, assessment in ((world["r1"], one), (world["r2"], two)):
        client = speaking(reviewer, "en-gb")
        fill(client, assessment, "en")
        submit(client, assessment)
    url = reverse("project-dashboard", args=["p"])
    # The Dutch lead opens it first: the stored dashboard is made then.
    dutch = speaking(world["lead"], "nl").get(url).content.decode()
    assert "Kwaliteit van het beeldvormingsprotocol" in dutch
    assert "Kwaliteit en stabiliteit van het protocol" in dutch
    english = speaking(world["lead"], "en-gb").get(url).content.decode()
    assert "Image protocol quality" in english
    assert "Kwaliteit" not in english and "Naleving" not in english
    dutch_again = speaking(world["lead"], "nl").get(url).content.decode()
    assert "Image protocol quality" not in dutch_again


def test_a_refused_answer_is_explained_in_the_readers_words(
    world: dict[str, Any],
) -> None:
    mine, _ = assigned(world, "Lung CT")
    client = speaking(world["r1"], "nl")
    response = client.post(
        f"/a/{mine.uuid}/answer",
        {"item": "9", "choices": ["resampling"], "seen": "0", "wording": "nl"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 200
    said = response.json()["problems"]["9"]
    assert said == (
        "Item 9 (Discriminatiestatistieken): 'Daarnaast resampling toegepast "
        "(bijv. bootstrap, kruisvalidatie)' telt alleen samen met "
        "'Discriminatiestatistiek met significantie gerapporteerd'."
    )
    page = client.get(f"/a/{mine.uuid}/").content.decode()
    assert "telt alleen samen met" in page
    # The stored result keeps the codes, whatever the reader's language.
    mine.refresh_from_db()
    assert "'resampling' counts only together with 'stat'" in str(mine.result)
