"""TRIPOD+AI and TRIPOD+AI for Abstracts: structure, study-type scope, pages."""

from __future__ import annotations

import csv
import io
import shutil
import string
import subprocess
from decimal import Decimal
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    score,
    validate_definition,
)
from assessments.instruments.spreadsheet import template_header
from assessments.models import InstrumentVersion
from assessments.renderers.reports import render_report
from assessments.selectors.reports import ReportRequest
from assessments.services import assignment, catalogue
from assessments.services.exports import export_wide
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

MAIN, ABSTRACTS = "tripod-ai-1.0", "tripod-ai-abstracts-1.0"
STUDY_TYPES = ("development", "evaluation", "both")

# Sub-item -> D (development only), E (evaluation only) or DE (both), as in
# ../shared/reference/instruments-next.md section 2, grouped by its sections.
TAGS: dict[str, dict[str, str]] = {
    "title": {"1": "DE"},
    "abstract": {"2": "DE"},
    "introduction": {"3a": "DE", "3b": "DE", "3c": "DE", "4": "DE"},
    "methods": {
        **{"5a": "DE", "5b": "DE", "6a": "DE", "6b": "DE", "6c": "DE", "7": "DE"},
        **{"8a": "DE", "8b": "DE", "8c": "DE", "9a": "D", "9b": "DE", "9c": "DE"},
        **{"10": "DE", "11": "DE", "12a": "D", "12b": "D", "12c": "D", "12d": "DE"},
        **{"12e": "DE", "12f": "E", "12g": "E", "13": "DE", "14": "DE", "15": "D"},
        **{"16": "DE", "17": "DE"},
    },
    "open-science": {f"18{x}": "DE" for x in "abcdef"},
    "ppi": {"19": "DE"},
    "results": {
        **{"20a": "DE", "20b": "DE", "20c": "E", "21": "DE", "22": "D"},
        **{"23a": "DE", "23b": "DE", "24": "E"},
    },
    "discussion": {"25": "DE", "26": "DE", "27a": "D", "27b": "D", "27c": "DE"},
}
ALL_TAGS = {code: tag for section in TAGS.values() for code, tag in section.items()}
# Main items per section, as numbers: Title 1; ... Discussion 25-27.
SECTION_ITEMS = {
    "title": (1, 1),
    "abstract": (2, 2),
    "introduction": (3, 4),
    "methods": (5, 17),
    "open-science": (18, 18),
    "ppi": (19, 19),
    "results": (20, 24),
    "discussion": (25, 27),
}
ABSTRACT_TAGS = {str(n): "D" if n in (7, 10) else "DE" for n in range(1, 14)}
# Which tags a study type keeps; the others are N/A.
KEEPS = {
    "development": {"D", "DE"},
    "evaluation": {"E", "DE"},
    "both": {"D", "E", "DE"},
}


@cache
def raw(key: str) -> dict[str, Any]:
    return load_definition_file(bundled_definitions_dir() / f"{key}.yaml")


@cache
def bundled(key: str) -> Definition:
    return parse_definition(raw(key))


def answers_for(
    definition: Definition, study_type: str | None, choice: str = "yes"
) -> dict[str, tuple[str, ...]]:
    """`choice` for every item (N/A ones too: the engine must ignore them)."""
    answers: dict[str, tuple[str, ...]] = {i.code: (choice,) for i in definition.items}
    if study_type is not None:
        answers["study_type"] = (study_type,)
    return answers


def out_of_scope(tags: dict[str, str], study_type: str) -> set[str]:
    return {code for code, tag in tags.items() if tag not in KEEPS[study_type]}


# --- structure -------------------------------------------------------------------


@pytest.mark.parametrize("key", [MAIN, ABSTRACTS])
def test_definition_validates_and_is_a_draft_to_check(key: str) -> None:
    assert validate_definition(raw(key)) == []
    definition = bundled(key)
    assert definition.key == key and definition.kind == "checklist"
    assert (definition.status, definition.needs_check) == ("draft", True)
    assert all(i.option_codes == ("yes", "no", "na") for i in definition.items)


@pytest.mark.django_db
def test_load_instruments_loads_both_as_drafts() -> None:
    out = StringIO()
    for key in (MAIN, ABSTRACTS):
        path = bundled_definitions_dir() / f"{key}.yaml"
        call_command("load_instruments", str(path), stdout=out)
    assert f"{MAIN}: created" in out.getvalue()
    assert f"{ABSTRACTS}: created" in out.getvalue()
    for key, count in ((MAIN, 52), (ABSTRACTS, 13)):
        version = InstrumentVersion.objects.by_key(key)
        assert version.status == "draft"
        stored = version.as_definition()
        # derived_from is provenance only; the rows do not keep it (as for CLEAR-S).
        assert stored.scoring_fingerprint() == bundled(key).scoring_fingerprint()
        assert stored.wording_fingerprint() == bundled(key).wording_fingerprint()
        assert version.items.count() == count


def main_number(code: str) -> int:
    """The item a sub-item belongs to: 12c -> 12."""
    return int(code.rstrip(string.ascii_lowercase))


def test_52_sub_items_of_27_items_in_the_eight_sections() -> None:
    definition = bundled(MAIN)
    sections = {s.code: [i.code for i in s.items] for s in definition.sections}
    assert sections == {code: list(tags) for code, tags in TAGS.items()}
    assert len(definition.items) == 52
    numbers = [main_number(i.code) for i in definition.items]
    assert sorted(set(numbers)) == list(range(1, 28))
    for section in definition.sections:
        first, last = SECTION_ITEMS[section.code]
        main = {main_number(i.code) for i in section.items}
        assert main == set(range(first, last + 1)), section.code
    counts = {s.code: len(s.items) for s in definition.sections}
    assert counts == {
        "title": 1,
        "abstract": 1,
        "introduction": 4,
        "methods": 26,
        "open-science": 6,
        "ppi": 1,
        "results": 8,
        "discussion": 5,
    }


def tag_of(definition: Definition, code: str) -> str:
    """D, E or DE, read from the item's applies_when on the study type."""
    clauses = definition.item(code).applies_when
    if not clauses:
        return "DE"
    (clause,) = clauses
    assert clause.condition == "study_type"
    tags = {("both", "development"): "D", ("both", "evaluation"): "E"}
    return tags[(min(clause.values), max(clause.values))]


def test_every_sub_item_carries_the_reference_tag() -> None:
    definition = bundled(MAIN)
    assert {i.code: tag_of(definition, i.code) for i in definition.items} == ALL_TAGS
    development = [c for c, t in ALL_TAGS.items() if t == "D"]
    evaluation = [c for c, t in ALL_TAGS.items() if t == "E"]
    assert development == ["9a", "12a", "12b", "12c", "15", "22", "27a", "27b"]
    assert evaluation == ["12f", "12g", "20c", "24"]


@pytest.mark.parametrize("key", [MAIN, ABSTRACTS])
def test_the_study_type_condition_speaks_in_words(key: str) -> None:
    (condition,) = bundled(key).conditions
    assert condition.code == "study_type"
    assert condition.option_codes == STUDY_TYPES
    labels = [o.label for o in condition.options]
    assert labels == [
        "Develops a new model",
        "Evaluates an existing model",
        "Develops a model and evaluates it",
    ]


def test_abstracts_are_13_items_with_7_and_10_for_development_only() -> None:
    definition = bundled(ABSTRACTS)
    assert [i.code for i in definition.items] == [str(n) for n in range(1, 14)]
    assert {i.code: tag_of(definition, i.code) for i in definition.items} == (
        ABSTRACT_TAGS
    )
    # A standalone file: derived_from is provenance, nothing was cut from MAIN.
    assert raw(ABSTRACTS)["derived_from"] == MAIN
    assert definition.doi == bundled(MAIN).doi


# --- scope: which sub-items count for each study type ----------------------------


@pytest.mark.parametrize("study_type", STUDY_TYPES)
def test_only_the_study_types_sub_items_count(study_type: str) -> None:
    definition = bundled(MAIN)
    expected_na = out_of_scope(ALL_TAGS, study_type)
    result = score(definition, answers_for(definition, study_type))
    assert result.complete
    assert result.na == frozenset(expected_na)
    applicable = 52 - len(expected_na)
    assert (result.total, result.maximum) == (applicable, applicable)
    assert result.percent == 100
    for code, tag in ALL_TAGS.items():
        assert result.items[code].adheres is (tag in KEEPS[study_type] or None)
    no = score(definition, answers_for(definition, study_type, "no"))
    assert (no.total, no.maximum, no.na) == (0, applicable, frozenset(expected_na))


@pytest.mark.parametrize(
    ("study_type", "maximum"), [("development", 48), ("evaluation", 44), ("both", 52)]
)
def test_section_denominators_leave_out_the_other_study_types_items(
    study_type: str, maximum: int
) -> None:
    definition = bundled(MAIN)
    answers = answers_for(definition, study_type) | {"1": ("no",), "18a": ("na",)}
    result = score(definition, answers)
    assert (result.total, result.maximum) == (maximum - 2, maximum - 1)
    by_section = {s.code: s for s in result.subtotals}
    for section, tags in TAGS.items():
        kept = [c for c, t in tags.items() if t in KEEPS[study_type]]
        kept = [c for c in kept if c != "18a"]  # the reviewer's own n/a
        yes = [c for c in kept if c != "1"]
        assert by_section[section].maximum == len(kept), section
        assert by_section[section].total == len(yes), section
    assert by_section["essential"].maximum == maximum - 1


def test_without_a_study_type_only_the_shared_items_count_and_it_is_missing() -> None:
    # Items waiting on the unanswered condition are shown N/A and left out of the
    # denominator; the condition itself is missing, so the assessment cannot be
    # submitted until the study type is chosen.
    definition = bundled(MAIN)
    result = score(definition, answers_for(definition, None))
    assert not result.complete
    assert result.missing == ("study_type",)
    assert result.is_na("study_type") is False
    tagged = {code for code, tag in ALL_TAGS.items() if tag != "DE"}
    assert result.na == frozenset(tagged) and len(tagged) == 12
    assert (result.total, result.maximum) == (40, 40)


@pytest.mark.parametrize(
    ("study_type", "na"),
    [("development", set()), ("evaluation", {"7", "10"}), ("both", set())],
)
def test_abstracts_scope(study_type: str, na: set[str]) -> None:
    definition = bundled(ABSTRACTS)
    result = score(definition, answers_for(definition, study_type))
    assert result.complete and result.na == frozenset(na)
    assert (result.total, result.maximum) == (13 - len(na), 13 - len(na))
    pending = score(definition, answers_for(definition, None))
    assert pending.missing == ("study_type",)
    assert pending.na == frozenset({"7", "10"}) and pending.maximum == 11


@pytest.mark.django_db
def test_score_command_applies_the_study_type(tmp_path: Path, capsys: Any) -> None:
    load_instrument(MAIN)
    definition = bundled(MAIN)
    header = template_header(definition)
    assert header[:3] == ["id", "study_type", "1"]
    lines = [",".join(header)]
    for study_type in STUDY_TYPES:
        cells = [
            "" if ALL_TAGS[code] not in KEEPS[study_type] else "yes"
            for code in header[2:]
        ]
        cells[header.index("1") - 2] = "no"
        lines.append(",".join([study_type, study_type, *cells]))
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="draft"):
        call_command("score", str(path), instrument=MAIN)
    call_command("score", str(path), instrument=MAIN, allow_draft=True)
    assert capsys.readouterr().out.splitlines() == [
        "id,total,max,percent,band",
        "development,47,48,97.9,",
        "evaluation,43,44,97.7,",
        "both,51,52,98.1,",
    ]


# --- pages, reports, exports ---------------------------------------------------


def load_published_copy() -> InstrumentVersion:
    """Projects take published versions only: load the draft as if checked."""
    doc = {**raw(MAIN), "status": "published", "needs_check": False}
    outcome = catalogue.load_definition(doc)
    assert outcome.action != "error", outcome.messages
    return InstrumentVersion.objects.by_key(MAIN)


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    version = load_published_copy()
    lead, alice = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(lead=lead, reviewers=[alice], keys=(MAIN,), slug="tp")
    return {"version": version, "lead": lead, "alice": alice, "project": project}


def test_the_form_page_shows_the_study_type_and_items_by_label(
    world: dict[str, Any],
) -> None:
    study = StudyFactory(project=world["project"], title="Sepsis risk model")
    assessment = assignment.assign_reviewer(
        study=study,
        version=world["version"],
        reviewer=world["alice"],
        user=world["lead"],
    )
    client = Client()
    client.force_login(world["alice"])
    response = client.get(f"/a/{assessment.uuid}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "What does the study do with the prediction model?" in page
    assert "Evaluates an existing model" in page
    assert "Choice of candidate predictors" in page and "Updated model" in page


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) needed")
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(out.stdout.split())


def test_a_submitted_assessment_exports_and_reports(
    world: dict[str, Any], tmp_path: Path
) -> None:
    study = StudyFactory(project=world["project"], title="Sepsis risk model")
    definition = bundled(MAIN)
    answers = {k: list(v) for k, v in answers_for(definition, "evaluation").items()}
    create_submitted(study, world["version"], world["alice"], answers)
    file = export_wide(world["lead"], world["project"], world["version"], "csv")
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["study_type"], row["12f"]) == ("evaluation", "yes")
    assert (Decimal(row["total"]), Decimal(row["max"])) == (44, 44)
    assessment = study.assessments.get(reviewer=world["alice"])
    pdf = render_report(
        ReportRequest(
            kind="assessment",
            project=world["project"],
            version=world["version"],
            user=world["alice"],
            study=study,
            assessment=assessment,
        )
    )
    text = pdf_text(pdf, tmp_path)
    assert "Sepsis risk model" in text and "Choice of candidate predictors" in text
