"""REDCap dictionary and data, PRISMA counts: against hand-written expected rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path, reverse

from assessments.instruments import (
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
)
from assessments.instruments.redcap import HEADER, data_dictionary
from assessments.models import AuditEvent, InstrumentVersion
from assessments.services.exports import export
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, make_project

urlpatterns = [
    path("", include("assessments.urls_exports")),
    path("", include("rqs.urls")),
]

RQS_HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,'
    "Text Validation Type OR Show Slider Number,Text Validation Min,"
    "Text Validation Max,Identifier?,Branching Logic (Show field only if...),"
    "Required Field?,Custom Alignment,Question Number (surveys only),"
    "Matrix Group Name,Matrix Ranking?,Field Annotation"
)


def _definition(key: str) -> Any:
    return parse_definition(
        load_definition_file(bundled_definitions_dir() / f"{key}.yaml")
    )


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_rqs_dictionary_has_redcaps_header_and_fields() -> None:
    dictionary = data_dictionary(_definition("rqs-1.0"))
    out = io.StringIO()
    csv.writer(out).writerow(HEADER)
    assert out.getvalue().strip() == RQS_HEADER
    rows = {r[0]: r for r in dictionary.rows()}
    assert list(rows)[:6] == [
        "record_id",
        "study_id",
        "study_title",
        "study_doi",
        "reviewer",
        "rqs_1",
    ]
    one = rows["rqs_1"]
    assert one[1:6] == [
        "rqs_1_0",
        "Radiomics Quality Score items",
        "checkbox",
        "1. Image protocol quality",
        "1, Acquisition protocol described in enough detail to repeat"
        " | 2, A public or standard protocol was used",
    ]
    assert one[17] == (
        "Platform item 1. Codes: 1 = documented, 2 = public_protocol."
        " Points: 1 = 1, 2 = 1."
    )
    assert rows["rqs_5"][3:6] == [
        "radio",
        "5. Feature reduction or multiple-testing adjustment",
        rows["rqs_5"][5],
    ]
    assert rows["rqs_5"][5].startswith("1, ") and " | 2, " in rows["rqs_5"][5]
    total = rows["rqs_total"]
    assert total[3] == "calc"
    assert total[5].startswith("[rqs_1(1)] + [rqs_1(2)] + if([rqs_2] = '2', 1, 0)")
    assert "if([rqs_5] = '1', -3, if([rqs_5] = '2', 3, 0))" in total[5]
    assert rows["platform_total"][7] == "number"
    assert dictionary.columns()[5:8] == ["rqs_1___1", "rqs_1___2", "rqs_2"]
    assert dictionary.columns()[-1] == "rqs_1_0_complete"
    assert "rqs_total" not in dictionary.columns()


def test_metrics_items_gated_by_a_condition_get_branching_logic() -> None:
    rows = {r[0]: r for r in data_dictionary(_definition("metrics-1.0")).rows()}
    assert rows["metrics_c1"][3] == "radio"
    assert rows["metrics_c1"][5] == "1, Yes | 2, No"
    assert rows["metrics_c2"][11] == "[metrics_c1] = '1'"
    assert rows["metrics_8"][11] == "[metrics_c1] = '1'"
    assert rows["metrics_9"][11] == "[metrics_c1] = '1' and [metrics_c2] = '1'"
    assert rows["metrics_1"][11] == ""
    # The exact score; metrics_total shows it to one decimal, as the platform
    # does (tests/test_metrics_band_ties.py evaluates both).
    calc = rows["metrics_exact"][5]
    assert calc.startswith("100 * (if([metrics_1] = '1', 0.0368, 0)")
    assert "[metrics_exact]" in rows["metrics_total"][5]
    assert "if([metrics_c1] = '1' and [metrics_c2] = '1', 0.0225, 0)" in calc


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="rc")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    one = StudyFactory(project=project, title="Alpha study", doi="10.1/a")
    StudyFactory(project=project, title="Beta study")
    StudyFactory(
        project=project, title="Gone", excluded=True, exclusion_reason="Duplicate"
    )
    StudyFactory(
        project=project, title="Gone too", excluded=True, exclusion_reason=" Duplicate "
    )
    StudyFactory(project=project, title="Off", excluded=True, exclusion_reason="No AI")
    practice = StudyFactory(
        project=project,
        title="Practice",
        training=True,
        excluded=True,
        exclusion_reason="Training only",
    )
    create_submitted(one, version, alice, {"1": ["public_protocol"], "5": ["none"]})
    create_submitted(one, version, bob, {"2": ["yes"], "12": ["three_plus"]})
    create_submitted(practice, version, alice, {"2": ["yes"]})
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "project": project,
        "version": version,
    }


def test_redcap_data_uses_the_dictionarys_codes_and_pseudonyms(
    world: dict[str, Any],
) -> None:
    file = export(world["lead"], world["project"], world["version"], "redcap-data")
    rows = _rows(file.content)
    head, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    dictionary = data_dictionary(world["version"].as_definition())
    assert head == dictionary.columns()
    assert len(body) == 2  # the training study's assessment never appears
    by = {r["reviewer"]: r for r in body}
    assert set(by) == {"R1", "R2"}
    alice = by["R1"] if by["R1"]["rqs_5"] else by["R2"]
    assert alice["rqs_1___1"] == "0" and alice["rqs_1___2"] == "1"
    assert alice["rqs_5"] == "1"  # "none", the first option
    assert alice["rqs_2"] == ""
    assert alice["platform_total"] == "-2"
    assert alice["study_title"] == "Alpha study"
    assert alice["rqs_1_0_complete"] == "2"
    bob = by["R2"] if alice is by["R1"] else by["R1"]
    assert bob["rqs_2"] == "2" and bob["rqs_12"] == "6"
    assert "alice" not in file.content.decode() and "bob" not in file.content.decode()
    assert AuditEvent.objects.filter(detail__form="redcap-data").exists()


def test_prisma_counts_group_reasons_and_leave_out_training_studies(
    world: dict[str, Any],
) -> None:
    file = export(world["lead"], world["project"], world["version"], "prisma")
    assert _rows(file.content) == [
        ["box", "reason", "studies"],
        ["Reports assessed for eligibility", "", "5"],
        ["Reports excluded", "", "3"],
        ["Reports excluded", "Duplicate", "2"],
        ["Reports excluded", "No AI", "1"],
        ["Studies included in review", "", "2"],
    ]
    assert "Training only" not in file.content.decode()


@pytest.mark.urls(__name__)
def test_prisma_svg_download_has_title_desc_and_the_numbers(
    world: dict[str, Any],
) -> None:
    client = Client()
    client.force_login(world["lead"])
    response = client.get(
        reverse("project-export-download", args=[world["project"].slug]),
        {"version": "rqs-1.0", "form": "prisma-svg"},
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert "<title" in svg and "<desc>" in svg and 'role="img"' in svg
    for text in ("n = 5", "n = 3", "Duplicate (n = 2)", "n = 2"):
        assert text in svg
    assert "Training only" not in svg


@pytest.mark.urls(__name__)
def test_redcap_dictionary_download(world: dict[str, Any]) -> None:
    client = Client()
    client.force_login(world["alice"])
    response = client.get(
        reverse("project-export-download", args=[world["project"].slug]),
        {"version": "rqs-1.0", "form": "redcap-dictionary"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith(RQS_HEADER + "\r\n")
    assert "attachment" in response["Content-Disposition"]
