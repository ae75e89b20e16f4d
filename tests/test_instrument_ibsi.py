"""IBSI 1 reporting guidelines: 104 rows in 15 sections, modality-tied rows,
and the modality condition pre-filled from the study."""

from __future__ import annotations

import copy
import csv
import io
from datetime import timedelta
from decimal import Decimal
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    iter_bundled,
    load_definition_file,
    parse_definition,
    score,
    template_header,
    validate_definition,
)
from assessments.instruments.prefill import prefilled_answers, prefills
from assessments.models import Answer, Assessment, InstrumentVersion
from assessments.renderers import reports
from assessments.selectors.history import assessment_history
from assessments.selectors.reports import ReportRequest
from assessments.services import answering, assignment, calibration, rereads
from assessments.services.exports import export_wide
from assessments.services.prefilling import prefill_conditions
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

KEY = "ibsi-1-reporting-1.0"
# The reference's sections: rows, and the item numbers they span.
SECTIONS = {
    "patient": (15, "1", "5"),
    "acquisition": (26, "6", "27"),
    "reconstruction": (15, "28", "36"),
    "registration": (1, "37", "37"),
    "conversion": (3, "38", "40"),
    "post_processing": (7, "41", "47"),
    "segmentation": (5, "48a", "49"),
    "image_interpolation": (6, "50a", "52"),
    "roi_interpolation": (2, "53", "54"),
    "resegmentation": (1, "55", "55"),
    "discretisation": (3, "56a", "56c"),
    "transformation": (1, "57", "57"),
    "biomarkers": (4, "58", "61"),
    "texture": (10, "62", "71"),
    "modelling": (5, "72", "76"),
}
# The reference's modality tags, row by row.
TAGGED = {
    "PET or SPECT": {"3a", "3b", "3c", "3d", "3e"},
    "CT": {"14", "15", "31a", "31b", "31c", "52"},
    "PET": {"16", "32a", "32b", "32c", "33", "34a", "34b", "38", "43"},
    "MRI": {"17", "18a", "18b", "18c", *map(str, range(19, 28))}
    | {"35a", "35b", "36", "39", "44", "45"},
}
ALL_TAGS = set(TAGGED)
# Which tagged rows apply for each answer to the modality condition.
APPLIES = {
    "ct": {"CT"},
    "pet": {"PET or SPECT", "PET"},
    "spect": {"PET or SPECT"},
    "mri": {"MRI"},
    "pet_ct": {"PET or SPECT", "PET", "CT"},
    "pet_mri": {"PET or SPECT", "PET", "MRI"},
    "spect_ct": {"PET or SPECT", "CT"},
    "several": ALL_TAGS,
    "other": set(),
}
UNTAGGED = 104 - sum(len(rows) for rows in TAGGED.values())


def path() -> Path:
    return bundled_definitions_dir() / f"{KEY}.yaml"


@cache
def ibsi() -> Definition:
    return parse_definition(load_definition_file(path()))


def rows_for(modality: str) -> set[str]:
    return {code for tag in APPLIES[modality] for code in TAGGED[tag]}


def all_yes(modality: str) -> dict[str, list[str]]:
    return {"modality": [modality]} | {i.code: ["yes"] for i in ibsi().items}


# --- the file ---------------------------------------------------------------------


def test_the_file_validates_and_is_published() -> None:
    doc = load_definition_file(path())
    assert validate_definition(doc) == []
    definition = ibsi()
    assert definition.key == KEY and definition.kind == "checklist"
    assert definition.status == "published" and not definition.needs_check
    assert definition.doi == "10.1148/radiol.2020191145"


@pytest.mark.django_db
def test_load_instruments_loads_it_published() -> None:
    out = StringIO()
    call_command("load_instruments", str(path()), stdout=out)
    assert f"{KEY}: created" in out.getvalue()
    version = InstrumentVersion.objects.by_key(KEY)
    assert version.status == "published"
    fingerprint = version.as_definition().scoring_fingerprint()
    assert fingerprint == ibsi().scoring_fingerprint()
    assert version.as_definition().items == ibsi().items


def test_76_items_104_rows_in_the_reference_sections() -> None:
    definition = ibsi()
    codes = [i.code for i in definition.items]
    assert len(codes) == 104 == len(set(codes))
    assert len({code.rstrip("abcde") for code in codes}) == 76
    assert [int(c.rstrip("abcde")) for c in codes] == sorted(
        int(c.rstrip("abcde")) for c in codes
    )
    assert {s.code for s in definition.sections} == set(SECTIONS)
    found = {
        s.code: (len(s.items), s.items[0].code, s.items[-1].code)
        for s in definition.sections
    }
    assert found == SECTIONS
    assert [s.code for s in definition.sections] == list(SECTIONS)


def test_each_row_is_yes_no_or_not_applicable_with_our_own_short_label() -> None:
    for item in ibsi().items:
        assert item.type == "ynna" and item.option_codes == ("yes", "no", "na")
        assert len(item.label.split()) <= 12, item.code
        assert len(item.evidence_hints) >= 4, item.code


def test_the_modality_tied_rows_are_the_reference_tags() -> None:
    tied = {i.code for i in ibsi().items if i.applies_when}
    assert tied == set().union(*TAGGED.values())
    assert ibsi().condition("modality").option_codes == tuple(APPLIES)
    labels = [o.label for o in ibsi().condition("modality").options]
    assert "Computed tomography (CT)" in labels and "ct" not in labels


def test_no_other_bundled_definition_prefills_anything() -> None:
    others = [d for d in iter_bundled() if f"{d['code']}-{d['version']}" != KEY]
    assert others and all(prefills(parse_definition(d)) == () for d in others)


# --- scope: which rows apply for each modality ----------------------------------


@pytest.mark.parametrize("modality", list(APPLIES))
def test_exactly_the_modalitys_rows_apply(modality: str) -> None:
    result = score(ibsi(), all_yes(modality))
    applying = rows_for(modality)
    assert result.complete
    assert result.na == set().union(*TAGGED.values()) - applying
    assert result.maximum == result.total == Decimal(UNTAGGED + len(applying))
    assert result.percent == 100


def test_rows_of_another_modality_leave_the_denominator_however_answered() -> None:
    answers = all_yes("mri") | {code: ["no"] for code in TAGGED["CT"]}
    answers |= {"1": ["no"], "17": ["no"]}
    result = score(ibsi(), answers)
    assert (result.total, result.maximum) == (Decimal(UNTAGGED + 19 - 2), 84)
    parts = {s.code: (s.total, s.maximum) for s in result.subtotals}
    assert parts["acquisition"] == (Decimal(22), Decimal(23))
    assert parts["image_interpolation"] == (Decimal(5), Decimal(5))
    assert parts["patient"] == (Decimal(9), Decimal(10))


def test_rows_wait_for_the_modality_and_the_modality_is_missing() -> None:
    answers = all_yes("ct")
    del answers["modality"]
    result = score(ibsi(), answers)
    assert "modality" in result.missing and not result.complete
    assert result.na == set().union(*TAGGED.values())


@pytest.mark.django_db
def test_the_score_command_applies_the_modality(tmp_path: Path, capsys: Any) -> None:
    load_instrument(KEY)
    header = template_header(ibsi())
    sheet = tmp_path / "ibsi.csv"
    with sheet.open("w", newline="") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        for name, modality in (("ct", "ct"), ("mri", "mri"), ("other", "other")):
            row = {c: v[0] for c, v in all_yes(modality).items()}
            writer.writerow({"id": name, **row, "1": "no"})
    call_command("score", str(sheet), instrument=KEY)
    assert capsys.readouterr().out.splitlines() == [
        "id,total,max,percent,band",
        "ct,70,71,98.6,",
        "mri,83,84,98.8,",
        "other,64,65,98.5,",
    ]


# --- pre-filling the modality from the study ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ct", "ct"),
        ("MRI", "mri"),
        ("PET/CT", "pet_ct"),
        ("pet-ct", "pet_ct"),
        (" Computed  Tomography ", "ct"),
        ("PET/MR", "pet_mri"),
        ("", None),
        ("ultrasound", None),
    ],
)
def test_the_study_modality_maps_to_an_option(text: str, expected: str | None) -> None:
    answers = prefilled_answers(ibsi(), {"modality": text})
    assert answers == ({"modality": [expected]} if expected else {})


def _with_prefill(rule: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(load_definition_file(path()))
    doc["params"]["prefill"] = [rule]
    return doc


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"condition": "nope", "aliases": {}}, "unknown condition 'nope'"),
        ({"aliases": {"xray": ["X-ray"]}}, "has no option 'xray'"),
        ({"aliases": {"ct": ["PET"], "pet": []}}, "'pet' names both 'ct' and 'pet'"),
        ({"aliases": {"ct": ["--"]}}, "has no letters or digits"),
        ({"study_field": "title", "aliases": {}}, "study_field"),
    ],
)
def test_a_broken_prefill_is_refused(rule: dict[str, Any], problem: str) -> None:
    full = {"condition": "modality", "study_field": "modality"} | rule
    problems = validate_definition(_with_prefill(full))
    assert any(problem in p for p in problems), problems


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    version = load_instrument(KEY)
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="alice")
    other = UserFactory(username="bob")
    project = make_project(
        lead=lead, reviewers=[reviewer, other], keys=(KEY,), slug="ibsi"
    )
    return {
        "lead": lead,
        "reviewer": reviewer,
        "other": other,
        "project": project,
        "version": version,
    }


def _assign(world: dict[str, Any], modality: str, who: str = "reviewer") -> Any:
    study = StudyFactory(project=world["project"], modality=modality)
    return assignment.assign_reviewer(
        study=study, version=world["version"], reviewer=world[who], user=world["lead"]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ct", "ct"), ("MRI", "mri"), ("PET/CT", "pet_ct"), ("", None)],
)
def test_a_new_assessment_has_the_studys_modality(
    world: dict[str, Any], text: str, expected: str | None
) -> None:
    assessment = _assign(world, text)
    found = Answer.objects.filter(assessment=assessment, item_code="modality")
    if expected is None:
        assert not found.exists()
        return
    answer = found.get()
    assert answer.choices == [expected] and answer.updated_by is None
    history = list(answer.history.all())
    assert [h.history_change_reason for h in history] == [
        "pre-filled from the study's modality"
    ]
    lines = [line.sentence for line in assessment_history(assessment).answers]
    assert lines == [
        "The system answered item modality (Which imaging modality does the "
        f"study use?): {ibsi().condition('modality').option(expected).label}"  # type: ignore[union-attr]
    ]
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.ASSIGNED
    cached = assessment.result["conditions"]["modality"]
    assert cached["state"] == "answered" and cached["value"] == [expected]
    assert set(assessment.result["na"]) == set().union(*TAGGED.values()) - rows_for(
        expected
    )


def test_a_re_read_is_pre_filled_like_the_first_reading(world: dict[str, Any]) -> None:
    first = _assign(world, "MRI")
    past = timezone.now() - timedelta(days=35)
    Assessment.objects.filter(pk=first.pk).update(
        status="submitted", submitted_at=past, first_submitted_at=past
    )
    calibration.save_settings(
        project=world["project"],
        version=world["version"],
        values={"reread_fraction": Decimal("100"), "reread_interval_days": 28},
        user=world["lead"],
    )
    assert rereads.assign_due_rereads(world["project"]) == 1
    again = Assessment.objects.get(kind="reread")
    assert again.answers.get(item_code="modality").choices == ["mri"]


def test_balanced_assignment_prefills_too(world: dict[str, Any]) -> None:
    for text in ("CT", "ultrasound"):
        StudyFactory(project=world["project"], modality=text)
    made = assignment.auto_assign(
        project=world["project"], version=world["version"], per_study=2, user=None
    )
    assert made == 4
    prefilled = Answer.objects.filter(item_code="modality")
    assert sorted(a.assessment.study.modality for a in prefilled) == ["CT", "CT"]
    assert {tuple(a.choices) for a in prefilled} == {("ct",)}


def test_the_reviewer_changes_it_on_the_form_and_it_is_never_overwritten(
    world: dict[str, Any],
) -> None:
    assessment = _assign(world, "CT")
    answer = assessment.answers.get(item_code="modality")
    client = Client()
    client.force_login(world["reviewer"])
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Which imaging modality does the study use?" in page
    assert 'id="opt-modality-ct" value="ct" checked>' in page
    assert 'id="opt-modality-mri" value="mri">' in page
    saved = client.post(
        f"/a/{assessment.uuid}/answer",
        {"item": "modality", "choices": ["mri"], "seen": str(answer.revision)},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert saved.status_code == 200
    answer.refresh_from_db()
    assert answer.choices == ["mri"] and answer.updated_by == world["reviewer"]
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert 'id="opt-modality-mri" value="mri" checked>' in page
    assert prefill_conditions(assessments=[assessment]) == 0
    _assign(world, "PET/CT", who="other")
    answer.refresh_from_db()
    assert answer.choices == ["mri"] and answer.history.count() == 2
    assessment.refresh_from_db()
    assert "14" in assessment.result["na"] and "17" not in assessment.result["na"]


def test_a_comment_typed_first_is_kept_and_not_answered_over(
    world: dict[str, Any],
) -> None:
    assessment = _assign(world, "")
    answering.save_answer(
        assessment=assessment,
        user=world["reviewer"],
        data=answering.AnswerInput(
            item_code="modality", choices=None, comment="hybrid scanner"
        ),
        seen_revision=0,
    )
    assessment.study.modality = "CT"
    assessment.study.save()
    assert prefill_conditions(assessments=[assessment]) == 0
    answer = assessment.answers.get(item_code="modality")
    assert answer.choices is None and answer.comment == "hybrid scanner"


def test_the_form_page_shows_the_rows(world: dict[str, Any]) -> None:
    assessment = _assign(world, "MRI")
    client = Client()
    client.force_login(world["reviewer"])
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Magnetic field strength (MRI)" in page and "Tube voltage (CT)" in page
    assert "Image biomarker computation: texture parameters" in page
    assert 'id="opt-76-na"' in page


def test_the_wide_export_and_the_report(
    world: dict[str, Any], monkeypatch: Any
) -> None:
    study = StudyFactory(project=world["project"], title="Radiomics of gliomas")
    answers = all_yes("mri") | {"1": ["no"]}
    create_submitted(study, world["version"], world["reviewer"], answers)
    file = export_wide(world["lead"], world["project"], world["version"], "csv")
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert [c for c in rows[0] if c in {"1", "48a", "76"}] == ["1", "48a", "76"]
    assert (row["1"], row["17"], row["total"], row["max"]) == ("no", "yes", "83", "84")
    monkeypatch.setattr(reports, "html_to_pdf", lambda html: html.encode())
    assessment = Assessment.objects.get(study=study)
    html = reports.render_report(
        ReportRequest(
            kind="assessment",
            project=world["project"],
            version=world["version"],
            user=world["lead"],
            study=study,
            assessment=assessment,
        )
    ).decode()
    assert "Magnetic resonance imaging (MRI)" in html
    assert "Radiomics of gliomas" in html and "Segmentation" in html
