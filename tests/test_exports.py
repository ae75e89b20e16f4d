"""Exports: wide, long and JSON contents, CSV/XLSX cells, blinding, audit, queries."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

from assessments.instruments import score
from assessments.models import (
    Answer,
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Membership,
    Project,
    Study,
)
from assessments.renderers import exports
from assessments.services import answering, assignment, projects
from assessments.services.exports import (
    ExportError,
    export,
    export_json,
    export_long,
    export_wide,
)
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

# This module doubles as the URLconf of its view tests, so they run whether or
# not assessments/urls.py includes the export routes yet.
urlpatterns = [
    path("", include("assessments.urls_exports")),
    path("", include("rqs.urls")),
]
with_urls = pytest.mark.urls(__name__)

ALICE = {"1": ["documented"], "2": ["yes"], "5": ["none"], "12": ["none"]}
FORMULAS = {
    "1": '=HYPERLINK("http://x","y")',
    "2": "+1+1",
    "5": "-2+3",
    "12": "@SUM(A1)",
}
RQS_ITEMS = [str(n) for n in range(1, 17)]
FULL_RQS = {code: ["no"] for code in ("2", "3", "4", "6", "7", "8", "13", "14", "15")}
FULL_RQS |= {"1": [], "5": ["either"], "9": [], "10": [], "11": ["yes"], "16": []}
FULL_RQS |= {"12": ["three_plus"]}


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
        Answer(
            assessment=consensus,
            item_code=code,
            choices=choices,
            points=result.items[code].points,
        )
        for code, choices in answers.items()
    )
    return consensus


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="exp")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    one = StudyFactory(
        project=project, title="Alpha study", doi="10.1/a", pmid="111", year=2021
    )
    two = StudyFactory(project=project, title="Beta study", year=2023, modality="MRI")
    gone = StudyFactory(
        project=project,
        title="Excluded study",
        excluded=True,
        exclusion_reason="not radiomics",
    )
    create_submitted(one, version, alice, ALICE)
    create_submitted(one, version, bob, {"2": ["no"], "11": ["yes"]})
    create_submitted(gone, version, alice, ALICE)
    _consensus(one, version, {"2": ["yes"], "11": ["yes"]})
    for code, text in FORMULAS.items():
        Answer.objects.filter(
            assessment__study=one, assessment__reviewer=alice, item_code=code
        ).update(evidence=text, page="p. 4", comment="ok")
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "project": project,
        "version": version,
        "studies": (one, two),
    }


def _rows(file: exports.ExportFile, delimiter: str = ",") -> list[list[str]]:
    text = file.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def _by(rows: list[list[str]], **where: str) -> list[dict[str, str]]:
    head = rows[0]
    found = [dict(zip(head, row, strict=True)) for row in rows[1:]]
    return [r for r in found if all(r[k] == v for k, v in where.items())]


# --- wide -----------------------------------------------------------------------------


def test_wide_csv_has_a_row_per_study_and_reviewer_with_points_per_item(
    world: dict[str, Any],
) -> None:
    file = export_wide(world["lead"], world["project"], world["version"], "csv")
    rows = _rows(file)
    assert rows[0] == [
        *exports.WIDE_HEAD,
        *RQS_ITEMS,
        "total",
        "max",
        "percent",
        "band",
    ]
    assert [(r[1], r[7]) for r in rows[1:]] == [
        ("Alpha study", "alice"),
        ("Alpha study", "bob"),
        ("Alpha study", "consensus"),
    ]
    alice = _by(rows, reviewer="alice")[0]
    one = world["studies"][0]
    assert alice["study_uuid"] == str(one.uuid)
    assert (alice["doi"], alice["pmid"], alice["year"]) == ("10.1/a", "111", "2021")
    assert (alice["modality"], alice["disease"]) == ("CT", "lung cancer")
    assert (alice["kind"], alice["status"]) == ("reviewer", "submitted")
    assert alice["submitted_at"].endswith("+00:00")
    assert alice["revised_after_unblinding"] == "FALSE"
    expected = {"1": "1", "2": "1", "3": "", "5": "-3", "12": "-5", "16": ""}
    assert {code: alice[code] for code in expected} == expected
    assert (alice["total"], alice["max"], alice["percent"], alice["band"]) == (
        "-6",
        "36",
        "-16.7",
        "",
    )
    consensus = _by(rows, reviewer="consensus")[0]
    assert (consensus["kind"], consensus["2"], consensus["11"]) == (
        "consensus",
        "1",
        "7",
    )
    assert consensus["total"] == "8"
    assert file.filename.startswith("exp-rqs-1.0-wide-")
    assert file.filename.endswith(".csv")
    assert file.content_type == "text/csv; charset=utf-8"


def test_wide_leaves_out_excluded_studies(world: dict[str, Any]) -> None:
    rows = _rows(export_wide(world["lead"], world["project"], world["version"], "csv"))
    assert "Excluded study" not in {r[1] for r in rows}


def test_wide_shows_chosen_codes_and_na_for_other_instruments(db: None) -> None:
    lead, alice = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(lead=lead, reviewers=[alice], keys=("clear-1.0",))
    version = load_instrument("clear-1.0")
    study = StudyFactory(project=project)
    create_submitted(study, version, alice, {"1": ["yes"], "2": ["na"], "3": ["no"]})
    row = _by(_rows(export_wide(lead, project, version, "csv")), reviewer="alice")[0]
    assert (row["1"], row["2"], row["3"], row["4"]) == ("yes", "na", "no", "")


def test_wide_has_overall_judgements_for_judgement_instruments(db: None) -> None:
    lead, alice = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(lead=lead, reviewers=[alice], keys=("quadas-2-1.0",))
    version = load_instrument("quadas-2-1.0")
    study = StudyFactory(project=project)
    answers = {f"D{n}.rob": ["low"] for n in range(1, 5)} | {"D2.rob": ["high"]}
    create_submitted(study, version, alice, answers | {"1.1": ["yes"]})
    rows = _rows(export_wide(lead, project, version, "csv"))
    assert rows[0][-2:] == ["overall_risk_of_bias", "overall_applicability"]
    assert "total" not in rows[0]
    row = _by(rows, reviewer="alice")[0]
    assert (row["1.1"], row["D1.rob"], row["D2.rob"]) == ("yes", "low", "high")
    assert (row["overall_risk_of_bias"], row["overall_applicability"]) == ("high", "")


def test_european_csv_uses_semicolons_and_decimal_commas(world: dict[str, Any]) -> None:
    file = export_wide(
        world["lead"], world["project"], world["version"], "csv", european=True
    )
    rows = _rows(file, delimiter=";")
    assert len(rows[0]) == len(exports.WIDE_HEAD) + 16 + 4
    assert _by(rows, reviewer="alice")[0]["percent"] == "-16,7"
    assert exports._csv_cell(3.5, european=True) == "3,5"
    assert exports._csv_cell(3.5, european=False) == "3.5"


# --- long -----------------------------------------------------------------------------


def test_long_csv_has_a_row_per_answer_with_evidence(world: dict[str, Any]) -> None:
    rows = _rows(export_long(world["lead"], world["project"], world["version"], "csv"))
    assert rows[0] == exports.LONG_HEAD
    alice = _by(rows, reviewer="alice")
    assert [r["item"] for r in alice] == ["1", "2", "5", "12"]
    first = alice[0]
    assert first["study_uuid"] == str(world["studies"][0].uuid)
    assert (first["title"], first["kind"]) == ("Alpha study", "reviewer")
    assert first["item_label"] == world["version"].as_definition().item("1").label
    assert (first["choices"], first["points"], first["na"]) == (
        "documented",
        "1",
        "FALSE",
    )
    assert (first["page"], first["comment"]) == ("p. 4", "ok")
    assert first["updated_at"].endswith("+00:00")
    assert [r["item"] for r in _by(rows, reviewer="consensus")] == ["2", "11"]
    assert len(rows) == 1 + 4 + 2 + 2


# --- formulas -------------------------------------------------------------------------


def test_formulas_typed_as_evidence_are_inert_in_csv(world: dict[str, Any]) -> None:
    rows = _rows(export_long(world["lead"], world["project"], world["version"], "csv"))
    evidence = {r["item"]: r["evidence"] for r in _by(rows, reviewer="alice")}
    assert evidence == {code: "'" + text for code, text in FORMULAS.items()}
    assert _by(rows, reviewer="alice", item="5")[0]["points"] == "-3"
    wide = _rows(export_wide(world["lead"], world["project"], world["version"], "csv"))
    assert _by(wide, reviewer="alice")[0]["total"] == "-6"


def test_formulas_are_inert_and_numbers_stay_numbers_in_xlsx(
    world: dict[str, Any],
) -> None:
    args = (world["lead"], world["project"], world["version"], "xlsx")
    long = openpyxl.load_workbook(io.BytesIO(export_long(*args).content))
    sheet = long["Answers"]
    head = [c.value for c in sheet[1]]
    cells = [dict(zip(head, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    alice = {r["Item"].value: r for r in cells if r["Reviewer"].value == "alice"}
    for code, text in FORMULAS.items():
        # Explicit text cells: never run, and shown exactly as typed.
        assert alice[code]["Evidence"].value == text
        assert alice[code]["Evidence"].data_type == "s"
    assert (alice["5"]["Points"].value, alice["5"]["Points"].data_type) == (-3, "n")
    assert alice["5"]["Not applicable"].value is False
    wide = openpyxl.load_workbook(io.BytesIO(export_wide(*args).content))
    head = [c.value for c in wide["Scores"][1]]
    row = dict(zip(head, [c for c in wide["Scores"][2]], strict=True))
    assert row["Reviewer"].value == "alice"
    assert (row["Total (points)"].value, row["Total (points)"].data_type) == (-6, "n")
    assert row["Percentage of maximum"].value == pytest.approx(-16.7)
    assert row["Year"].value == 2021
    item3 = next(h for h in head if h.startswith("Item 3:") and h.endswith("points"))
    assert row[item3].value is None
    about = {r[0].value: r[1].value for r in wide["About"].iter_rows(min_row=2)}
    assert about["Instrument"] == world["version"].short_name
    assert about["Percentages"] == "Raw (may be negative)"


def test_neutralise_only_touches_text_that_would_run() -> None:
    for text in ("=1", "+1", "-1", "@x", "\tx", "\rx"):
        assert exports.neutralise(text) == "'" + text
    assert exports.neutralise("plain text") == "plain text"
    assert exports._csv_cell(-3, european=False) == "-3"
    assert exports.workbook.clean_text("bad\x00char") == "badchar"


# --- JSON -----------------------------------------------------------------------------


def test_json_has_instrument_metadata_settings_and_answers(
    world: dict[str, Any],
) -> None:
    file = export_json(world["lead"], world["project"], world["version"])
    assert file.content_type == "application/json"
    doc = json.loads(file.content)
    version = world["version"]
    assert doc["instrument"]["key"] == "rqs-1.0"
    assert doc["instrument"]["name"] == version.name
    assert doc["instrument"]["citation"] == version.citation
    assert doc["instrument"]["doi"] == version.doi
    assert doc["instrument"]["licence"] == version.licence
    assert doc["instrument"]["kind"] == "points"
    assert doc["instrument"]["scoring_hash"] == version.scoring_hash
    assert doc["instrument"]["version"] == "1.0"
    assert doc["project"]["percent_convention"] == "raw"
    assert [e["code"] for e in doc["codebook"]] == RQS_ITEMS
    assert doc["codebook"][4]["options"][0] == {
        "code": "none",
        "label": version.as_definition().item("5").options[0].label,
        "points": -3,
    }
    alice = next(a for a in doc["assessments"] if a["reviewer"] == "alice")
    assert alice["study"]["title"] == "Alpha study"
    assert (alice["total"], alice["maximum"], alice["percent_display"]) == (
        -6,
        36,
        -16.7,
    )
    first = alice["answers"][0]
    assert first["item"] == "1"
    assert first["choices"] == ["documented"]
    assert first["points"] == 1
    assert first["evidence"] == FORMULAS["1"]  # JSON is data, not a spreadsheet
    assert len(doc["assessments"]) == 3


# --- blinding -------------------------------------------------------------------------


@pytest.fixture
def blinded(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="blind")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=project, title="Blinded study")
    create_submitted(study, version, alice, ALICE)
    mine = assignment.assign_reviewer(
        study=study, version=version, reviewer=bob, user=lead
    )
    for n, (code, choices) in enumerate(FULL_RQS.items()):
        data = answering.AnswerInput(code, choices, evidence=f"SECRET-B {code}")
        mine.refresh_from_db()
        answering.save_answer(assessment=mine, user=bob, data=data, seen_revision=n)
    return {
        "alice": alice,
        "bob": bob,
        "project": project,
        "version": version,
        "b": mine,
    }


def _all_forms(user: Any, project: Project, version: InstrumentVersion) -> str:
    files = [
        export_wide(user, project, version, "csv"),
        export_long(user, project, version, "csv"),
        export_json(user, project, version),
    ]
    return "\n".join(f.content.decode("utf-8") for f in files)


def test_a_reviewer_exports_no_co_reviewer_answers_before_all_submitted(
    blinded: dict[str, Any],
) -> None:
    text = _all_forms(blinded["alice"], blinded["project"], blinded["version"])
    assert "SECRET-B" not in text
    assert "bob" not in text
    assert "Blinded study" in text  # alice's own row is there
    assert text.count("alice") >= 3
    # nor a row or score of bob
    wide = _rows(
        export_wide(blinded["alice"], blinded["project"], blinded["version"], "csv")
    )
    assert [r[7] for r in wide[1:]] == ["alice"]


def test_co_reviewer_answers_are_exported_once_everyone_submitted(
    blinded: dict[str, Any],
) -> None:
    answering.submit_assessment(assessment=blinded["b"], user=blinded["bob"])
    text = _all_forms(blinded["alice"], blinded["project"], blinded["version"])
    assert "SECRET-B 11" in text
    wide = _rows(
        export_wide(blinded["alice"], blinded["project"], blinded["version"], "csv")
    )
    assert [r[7] for r in wide[1:]] == ["alice", "bob"]
    assert _by(wide, reviewer="bob")[0]["total"] == "15"


def test_an_observer_exports_final_consensus_only(world: dict[str, Any]) -> None:
    observer = UserFactory(username="watcher")
    projects.set_membership(
        project=world["project"],
        member=observer,
        role=Membership.Role.OBSERVER,
        user=world["lead"],
    )
    text = _all_forms(observer, world["project"], world["version"])
    assert "alice" not in text
    assert "HYPERLINK" not in text
    wide = _rows(export_wide(observer, world["project"], world["version"], "csv"))
    assert [r[7] for r in wide[1:]] == ["consensus"]


# --- audit, errors, queries -----------------------------------------------------------


def test_every_export_is_in_the_audit_log(world: dict[str, Any]) -> None:
    export_wide(world["alice"], world["project"], world["version"], "xlsx")
    export_json(world["alice"], world["project"], world["version"])
    events = list(AuditEvent.objects.filter(action="export").order_by("id"))
    assert [e.actor for e in events] == [world["alice"], world["alice"]]
    assert events[0].project == world["project"]
    assert events[0].detail == {
        "form": "wide",
        "format": "xlsx",
        "instrument": "rqs-1.0",
        "rows": 3,
        "european": False,
    }
    assert events[1].detail["form"] == "json"


def test_bad_parameters_raise_export_error(world: dict[str, Any]) -> None:
    args = (world["lead"], world["project"], world["version"])
    with pytest.raises(ExportError, match="format"):
        export_wide(*args, "ods")
    with pytest.raises(ExportError, match="form"):
        export(*args, "diagonal")
    other = load_instrument("clear-1.0")
    with pytest.raises(ExportError, match="not an instrument"):
        export_wide(world["lead"], world["project"], other, "csv")
    assert not AuditEvent.objects.filter(action="export").exists()


def _grow(
    project: Project, version: InstrumentVersion, reviewers: list, n: int
) -> None:
    for study in StudyFactory.create_batch(n, project=project):
        for reviewer in reviewers:
            create_submitted(study, version, reviewer, ALICE)


def test_wide_export_query_count_is_flat_from_10_to_100_studies(
    db: None, django_assert_max_num_queries: Any
) -> None:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username="r1"), UserFactory(username="r2")]
    project = make_project(lead=lead, reviewers=reviewers, slug="big")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    _grow(project, version, reviewers, 10)
    with CaptureQueriesContext(connection) as small:
        export_wide(reviewers[0], project, version, "xlsx")
    _grow(project, version, reviewers, 90)
    with django_assert_max_num_queries(len(small.captured_queries)):
        file = export_wide(reviewers[0], project, version, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(file.content))
    assert book["Scores"].max_row == 1 + 200


# --- views ----------------------------------------------------------------------------


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@with_urls
def test_export_page_offers_the_project_versions(world: dict[str, Any]) -> None:
    response = _client(world["alice"]).get("/p/exp/export/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "rqs-1.0" in body
    assert 'action="/p/exp/export/download"' in body
    assert "<script>" not in body and "style=" not in body


@with_urls
def test_download_returns_the_file_as_an_attachment(world: dict[str, Any]) -> None:
    version = world["version"].pk
    response = _client(world["alice"]).get(
        f"/p/exp/export/download?version={version}&form=wide&format=csv&european=1"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="exp-rqs')
    assert response["Cache-Control"] == "private, no-store"
    assert _rows(exports.ExportFile("", "", response.content), ";")[1][7] == "alice"
    json_response = _client(world["alice"]).get(
        f"/p/exp/export/download?version={version}&form=json"
    )
    assert json.loads(json_response.content)["instrument"]["key"] == "rqs-1.0"


@with_urls
@pytest.mark.parametrize(
    "query,message",
    [
        ("form=wide", "Instrument version"),
        ("version=999999&form=wide", "Select a valid choice"),
        ("version={v}&form=diagonal", "Select a valid choice"),
        ("version={v}&form=wide&format=ods", "Select a valid choice"),
        ("version=abc&form=long", "Select a valid choice"),
    ],
)
def test_bad_download_parameters_get_400_with_a_message(
    world: dict[str, Any], query: str, message: str
) -> None:
    url = "/p/exp/export/download?" + query.format(v=world["version"].pk)
    response = _client(world["alice"]).get(url)
    assert response.status_code == 400
    assert message in response.content.decode()


@with_urls
def test_non_members_get_404_and_anonymous_users_the_login(
    world: dict[str, Any],
) -> None:
    url = f"/p/exp/export/download?version={world['version'].pk}&form=wide"
    outsider = _client(UserFactory(username="outsider"))
    assert outsider.get(url).status_code == 404
    assert outsider.get("/p/exp/export/").status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    assert not AuditEvent.objects.filter(action="export").exists()


@with_urls
def test_export_routes_refuse_post(world: dict[str, Any]) -> None:
    client = _client(world["lead"])
    assert client.post("/p/exp/export/").status_code == 405
    assert client.post("/p/exp/export/download").status_code == 405
