"""Evidence hints: every bundled item has them; they are wording, never scoring.

Hints steer only the "Where the paper may say this" finder. They change the
wording fingerprint (a new wording revision), never the scoring fingerprint,
so adding them to an instrument already in use keeps every stored score.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from assessments.admin.forms import HINT_MAX_CHARS, HINT_MIN_CHARS, MAX_HINTS
from assessments.instruments import iter_bundled, parse_definition, score
from assessments.instruments.validation import SCHEMA_PATH
from assessments.models import Assessment, InstrumentVersion, Item
from assessments.services import catalogue
from assessments.services.score_imports import create_submitted
from tests.factories import (
    UserFactory,
    load_instrument,
    make_project,
)

BUNDLED = {f"{d['code']}-{d['version']}": d for d in iter_bundled()}
PUBLISHED = sorted(k for k, d in BUNDLED.items() if d["status"] == "published")

# Scoring fingerprints of the bundled files from before any hint was added:
# hints must leave every one of them as it was.
SCORING = {
    "clear-1.0": "aa10b387ff1ad45e56080d17c1bc94441f8c22820a8f44d38e930ab571f5a6f4",
    "clear-s-1.0": "1fed47471fb8eadc03d1d3f78aee719a02220b95099bc51f15c20ac7d8134288",
    "metrics-1.0": "f5836913f9ba822c762319a66e50bdaac2ded00a6466efa2e0d0802dcd172147",
    "quadas-2-1.0": "8ff14150eb0ced495d54b1dccd09efa9bd06ebe52909d2762299007225a1b061",
    "rqs-1.0": "8c401fd10b6277060875abc31e7da0788f40d65945a62ba58c4e62fd64302876",
    "rqs-2.0": "18666369b132ad3b788aed74926393d40b9016cca15ba0a7bd1c45381de91cf8",
}


def doc_of(key: str) -> dict[str, Any]:
    return copy.deepcopy(BUNDLED[key])


def item_docs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in doc["sections"] for item in section["items"]]


def without_hints(doc: dict[str, Any]) -> dict[str, Any]:
    """The file as it was shipped before the hints: revision 1, no hints."""
    old = copy.deepcopy(doc)
    for item in item_docs(old):
        item.pop("evidence_hints", None)
    old["revision"] = 1
    return old


# --- the bundled files ---------------------------------------------------------


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_every_item_has_at_least_four_hints(key: str) -> None:
    definition = parse_definition(doc_of(key))
    thin = {i.code: len(i.evidence_hints) for i in definition.items}
    assert {code: n for code, n in thin.items() if n < 4} == {}
    for item in definition.items:
        folded = [h.casefold() for h in item.evidence_hints]
        assert len(folded) == len(set(folded)), f"item {item.code} repeats a hint"
        assert all(h == h.strip() and h for h in item.evidence_hints)


# The files shipped before the hints; later ones came with theirs.
@pytest.mark.parametrize("key", sorted(SCORING))
def test_hints_left_the_scoring_fingerprint_as_it_was(key: str) -> None:
    doc = doc_of(key)
    assert doc["revision"] >= 2  # the hints came with a wording revision
    assert parse_definition(doc).scoring_fingerprint() == SCORING[key]
    assert parse_definition(without_hints(doc)).scoring_fingerprint() == SCORING[key]


def test_hints_are_wording_never_scoring() -> None:
    doc = doc_of("metrics-1.0")
    before = parse_definition(doc)
    item_docs(doc)[0]["evidence_hints"] = ["TRIPOD", "CLAIM checklist"]
    item_docs(doc)[1].pop("evidence_hints")
    after = parse_definition(doc)
    assert after.scoring_fingerprint() == before.scoring_fingerprint()
    assert after.wording_fingerprint() != before.wording_fingerprint()
    assert before.scoring_differences(after) == []


# --- loading into the database -------------------------------------------------


# Published files that shipped before the hints; later ones came with theirs.
@pytest.mark.parametrize("key", [k for k in PUBLISHED if k in SCORING])
@pytest.mark.django_db
def test_the_hints_revision_applies_cleanly_to_a_version_already_loaded(
    key: str,
) -> None:
    doc = doc_of(key)
    assert catalogue.load_definition(without_hints(doc)).action == "created"
    version = InstrumentVersion.objects.by_key(key)
    scoring_hash = version.scoring_hash
    outcome = catalogue.load_definition(doc)
    assert outcome.action == "reworded", outcome.messages
    version = InstrumentVersion.objects.by_key(key)
    assert version.revision == doc["revision"]
    assert version.status == "published"
    assert version.scoring_hash == scoring_hash == SCORING[key]
    definition = version.as_definition()
    assert definition.scoring_fingerprint() == scoring_hash
    expected = {i.code: i.evidence_hints for i in parse_definition(doc).items}
    assert {i.code: i.evidence_hints for i in definition.items} == expected
    rows = dict(version.items.values_list("code", "evidence_hints"))
    assert {code: tuple(hints) for code, hints in rows.items()} == expected


@pytest.mark.django_db
def test_the_hints_revision_keeps_the_scores_of_a_project_in_use() -> None:
    catalogue.load_definition(without_hints(doc_of("rqs-1.0")))
    reviewer = UserFactory(username="reviewer")
    project = make_project(
        lead=UserFactory(username="lead"), reviewers=[reviewer], n_studies=1
    )
    version = project.instruments.get()
    answers: dict[str, list[str]] = {
        item.code: [] for item in version.as_definition().items
    }
    answers |= {"1": ["documented"], "5": ["either"], "12": ["one_other"]}
    create_submitted(project.studies.get(), version, reviewer, answers)
    assert catalogue.load_definition(doc_of("rqs-1.0")).action == "reworded"
    version = project.instruments.get()
    assert version.revision == 2 and version.scoring_hash == SCORING["rqs-1.0"]
    assessment = Assessment.objects.get()
    assert assessment.total == 7  # 1 + 3 + 3, as scored before the hints
    rescored = score(version.as_definition(), answers)
    assert rescored.total == assessment.total


@pytest.mark.django_db
def test_changed_hints_without_a_raised_revision_are_refused() -> None:
    version = load_instrument("metrics-1.0")
    doc = doc_of("metrics-1.0")
    item_docs(doc)[0]["evidence_hints"] = ["something else entirely", "other"]
    outcome = catalogue.load_definition(doc)
    assert outcome.action == "unchanged"
    assert outcome.messages == [
        "metrics-1.0: wording differs but the revision was not raised."
    ]
    version.refresh_from_db()
    assert version.revision == doc["revision"]
    first = version.as_definition().items[0]
    assert "something else entirely" not in first.evidence_hints
    assert "something else entirely" not in version.items.get(code="1").evidence_hints


@pytest.mark.django_db
def test_a_draft_reloads_with_its_hints() -> None:
    doc = doc_of("rqs-2.0")
    assert catalogue.load_definition(without_hints(doc)).action == "created"
    assert catalogue.load_definition(doc).action == "replaced"
    version = InstrumentVersion.objects.by_key("rqs-2.0")
    assert version.status == "draft" and version.revision == doc["revision"]
    assert version.items.get(code="8").evidence_hints[:3] == [
        "harmonization",
        "harmonisation",
        "ComBat",
    ]


@pytest.mark.parametrize("key", sorted(BUNDLED))
@pytest.mark.django_db
def test_loaded_item_rows_carry_the_hints(key: str) -> None:
    version = load_instrument(key)
    expected = {
        i.code: list(i.evidence_hints) for i in parse_definition(doc_of(key)).items
    }
    rows = dict(
        Item.objects.filter(version=version).values_list("code", "evidence_hints")
    )
    assert rows == expected


@pytest.mark.django_db
def test_a_drafts_definition_returns_the_hints_of_its_rows() -> None:
    published = load_instrument("rqs-1.0")
    draft = catalogue.new_draft_from(version=published, new_version="1.1")
    assert draft.as_definition().item("3").evidence_hints == (
        published.as_definition().item("3").evidence_hints
    )
    Item.objects.filter(version=draft, code="3").update(
        evidence_hints=["phantom", "CCR phantom", "scanner vendors", "test object"]
    )
    draft = InstrumentVersion.objects.get(pk=draft.pk)
    assert draft.as_definition().item("3").evidence_hints == (
        "phantom",
        "CCR phantom",
        "scanner vendors",
        "test object",
    )
    document = catalogue.document_from_rows(draft)
    item = next(i for i in item_docs(document) if i["code"] == "3")
    assert item["evidence_hints"][1] == "CCR phantom"
    # Hints alone do not make the copy a different instrument to score with.
    assert draft.as_definition().scoring_fingerprint() == published.scoring_hash


def test_the_admin_form_allows_what_the_schema_allows() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    hints = schema["$defs"]["evidence_hints"]
    for entry in ("item", "condition"):
        assert schema["$defs"][entry]["properties"]["evidence_hints"] == {
            "$ref": "#/$defs/evidence_hints"
        }
    assert hints["maxItems"] == MAX_HINTS
    assert hints["items"]["minLength"] == HINT_MIN_CHARS
    assert hints["items"]["maxLength"] == HINT_MAX_CHARS
