"""CLAIM 2024: the 44 items in 15 sections, reported / No / NA, adherence."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    score,
    validate_definition,
)
from assessments.models import InstrumentVersion
from assessments.services import assignment
from assessments.services.exports import export_wide
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

KEY = "claim-2024"
# Sections and their item numbers as in the reference (RSNA/CLAIM checklist.md).
SECTIONS = {
    "title-abstract": (1, 1),
    "abstract": (2, 2),
    "introduction": (3, 4),
    "methods-design": (5, 6),
    "methods-data": (7, 13),
    "methods-reference": (14, 18),
    "methods-partitions": (19, 20),
    "methods-testing": (21, 21),
    "methods-model": (22, 24),
    "methods-training": (25, 27),
    "methods-evaluation": (28, 34),
    "results-data": (35, 36),
    "results-performance": (37, 39),
    "discussion": (40, 41),
    "other": (42, 44),
}
REPORTED = "Reported (give page/line in the evidence)"
# A sample sheet: 13, 39 and 43 not reported; 27 and 34 not applicable.
NOT_REPORTED = {"13", "39", "43"}
NOT_APPLICABLE = {"27", "34"}


def path() -> Path:
    return bundled_definitions_dir() / f"{KEY}.yaml"


@cache
def claim() -> Definition:
    return parse_definition(load_definition_file(path()))


def sample() -> dict[str, list[str]]:
    answers = {i.code: ["yes"] for i in claim().items}
    answers |= {code: ["no"] for code in NOT_REPORTED}
    answers |= {code: ["na"] for code in NOT_APPLICABLE}
    return answers


def test_the_file_validates_and_is_published() -> None:
    doc = load_definition_file(path())
    assert validate_definition(doc) == []
    definition = claim()
    assert definition.key == KEY and definition.kind == "checklist"
    assert definition.status == "published" and not definition.needs_check
    assert definition.doi == "10.1148/ryai.240300"


@pytest.mark.django_db
def test_load_instruments_loads_it_as_published() -> None:
    out = StringIO()
    call_command("load_instruments", str(path()), stdout=out)
    assert f"{KEY}: created" in out.getvalue()
    version = InstrumentVersion.objects.by_key(KEY)
    assert version.status == "published"
    assert version.label == "CLAIM 2024"
    assert version.scoring_hash == claim().scoring_fingerprint()
    assert version.as_definition().items == claim().items


def test_44_items_in_the_reference_sections() -> None:
    definition = claim()
    assert len(definition.items) == 44 and len(definition.sections) == 15
    assert {s.code: [i.code for i in s.items] for s in definition.sections} == {
        code: [str(n) for n in range(a, b + 1)] for code, (a, b) in SECTIONS.items()
    }
    assert [i.code for i in definition.items] == [str(n) for n in range(1, 45)]
    assert all(i.essential for i in definition.items)


def test_each_item_is_reported_no_or_not_applicable() -> None:
    for item in claim().items:
        assert item.type == "ynna"
        assert item.option_codes == ("yes", "no", "na")
        labels = [o.label for o in item.options]
        assert labels == [REPORTED, "No", "Not applicable"], item.code
        assert "evidence" in item.option("yes").help  # type: ignore[union-attr]


def test_every_item_has_hints_and_labels_of_our_own() -> None:
    for item in claim().items:
        assert len(item.evidence_hints) >= 4, item.code
        assert len(item.label.split()) <= 12, item.code


def test_adherence_is_reported_over_applicable_items() -> None:
    result = score(claim(), sample())
    assert result.complete and result.problems == ()
    assert (result.total, result.maximum) == (Decimal(39), Decimal(42))
    assert result.percent == Decimal(39) * 100 / 42
    assert result.percent_display == Decimal("92.9")
    assert result.na == frozenset(NOT_APPLICABLE)


def test_adherence_per_section() -> None:
    result = score(claim(), sample())
    parts = {s.code: (s.label, s.total, s.maximum) for s in result.subtotals}
    assert parts["methods-data"] == ("Methods: data", 6, 7)
    assert parts["methods-training"] == ("Methods: training", 2, 2)
    assert parts["methods-evaluation"] == ("Methods: evaluation", 6, 6)
    assert parts["results-performance"] == ("Results: model performance", 2, 3)
    assert parts["other"] == ("Other information", 2, 3)
    assert parts["introduction"] == ("Introduction", 2, 2)
    sections = [s for s in result.subtotals if s.code in SECTIONS]
    assert [s.code for s in sections] == list(SECTIONS)
    assert sum(s.total for s in sections) == result.total  # type: ignore[misc]
    assert sum(s.maximum for s in sections) == result.maximum  # type: ignore[misc]


def test_unanswered_items_stay_in_the_denominator() -> None:
    result = score(claim(), {"1": ["yes"], "2": ["na"]})
    assert (result.total, result.maximum) == (Decimal(1), Decimal(43))
    assert len(result.missing) == 42


@pytest.mark.django_db
def test_the_score_command_scores_a_spreadsheet(tmp_path: Path, capsys: Any) -> None:
    load_instrument(KEY)
    answers = sample()
    codes = [i.code for i in claim().items]
    sheet = tmp_path / "claim.csv"
    sheet.write_text(
        "id," + ",".join(codes) + "\n"
        "paper-1," + ",".join(answers[c][0] for c in codes) + "\n"
    )
    call_command("score", str(sheet), instrument=KEY)
    out = capsys.readouterr().out.splitlines()
    assert out == ["id,total,max,percent,band", "paper-1,39,42,92.9,"]


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(lead=lead, reviewers=[reviewer], keys=(KEY,), slug="c")
    study = StudyFactory(project=project, title="Deep learning for lung nodules")
    version = InstrumentVersion.objects.by_key(KEY)
    return {
        "lead": lead,
        "reviewer": reviewer,
        "project": project,
        "study": study,
        "version": version,
    }


def test_the_form_page_shows_the_items_and_the_reported_option(
    world: dict[str, Any],
) -> None:
    assessment = assignment.assign_reviewer(
        study=world["study"],
        version=world["version"],
        reviewer=world["reviewer"],
        user=world["lead"],
    )
    client = Client()
    client.force_login(world["reviewer"])
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Image acquisition protocol and parameters" in page
    assert REPORTED in page and 'id="opt-44-na"' in page
    saved = client.post(
        f"/a/{assessment.uuid}/answer",
        {"item": "13", "choices": ["yes"], "seen": "0", "page": "p. 4, l. 12"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert saved.status_code == 200
    answer = assessment.answers.get(item_code="13")
    assert answer.choices == ["yes"] and answer.page == "p. 4, l. 12"
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "p. 4, l. 12" in page and "Methods: data" in page


def test_the_wide_export_has_one_column_per_item(world: dict[str, Any]) -> None:
    create_submitted(world["study"], world["version"], world["reviewer"], sample())
    file = export_wide(world["lead"], world["project"], world["version"], "csv")
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert [c for c in header if c in {str(n) for n in range(1, 45)}] == [
        str(n) for n in range(1, 45)
    ]
    assert (row["13"], row["34"], row["1"]) == ("no", "na", "yes")
    assert row["total"] == "39" and row["max"] == "42"
