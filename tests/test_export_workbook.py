"""The XLSX export as a person opens it: frozen header, widths, dates, labels,
a codebook for every column, and evidence shown exactly as it was typed."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from assessments.models import Answer, InstrumentVersion
from assessments.services.exports import export_long, export_wide
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

ALICE = {"1": ["documented"], "2": ["yes"], "5": ["none"], "12": ["none"]}
FORMULAS = {"1": "=1+1", "2": "@SUM(A1)", "5": "+1+1", "12": "-2+3"}
CODES = ("in_progress", "same_institute", "documented", "submitted", "rqs-1.0")


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead, alice, bob = (UserFactory(username=n) for n in ("lead", "alice", "bob"))
    project = make_project(lead=lead, reviewers=[alice, bob], slug="book")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=project, title="Alpha study", year=2021)
    create_submitted(study, version, alice, ALICE)
    create_submitted(study, version, bob, {"2": ["no"], "11": ["yes"]})
    for code, text in FORMULAS.items():
        Answer.objects.filter(assessment__reviewer=alice, item_code=code).update(
            evidence=text
        )
    return {"lead": lead, "project": project, "version": version}


def _book(file: Any) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(file.content))


def _rows(sheet: Worksheet) -> list[dict[str, Any]]:
    head = [c.value for c in sheet[1]]
    return [dict(zip(head, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def _both(world: dict[str, Any]) -> list[tuple[openpyxl.Workbook, str]]:
    args = (world["lead"], world["project"], world["version"], "xlsx")
    return [
        (_book(export_wide(*args)), "Scores"),
        (_book(export_long(*args)), "Answers"),
    ]


def test_every_sheet_has_a_frozen_header_and_fitted_column_widths(
    world: dict[str, Any],
) -> None:
    for book, name in _both(world):
        assert book.sheetnames == [name, "Codebook", "About"]
        for sheet in book.worksheets:
            assert sheet.freeze_panes == "A2"
            widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
            assert all(8 <= w <= 60 for w in widths), (sheet.title, widths)
            assert all(c.font.b for c in sheet[1])
    scores = _both(world)[0][0]["Scores"]
    widths = {
        c.value: scores.column_dimensions[c.column_letter].width for c in scores[1]
    }
    assert widths["Study title"] < widths["Study ID"]  # fitted, not one width


def test_dates_are_excel_dates(world: dict[str, Any]) -> None:
    (wide, _), (long, _) = _both(world)
    submitted = _rows(wide["Scores"])[0]["Submitted at"]
    assert submitted.is_date and isinstance(submitted.value, dt.datetime)
    changed = _rows(long["Answers"])[0]["Last changed"]
    assert changed.is_date and isinstance(changed.value, dt.datetime)
    about = {r["Field"].value: r["Value"] for r in _rows(wide["About"])}
    assert about["Exported at"].is_date


def test_headers_and_values_are_labels_a_reviewer_reads(world: dict[str, Any]) -> None:
    (wide, _), (long, _) = _both(world)
    definition = world["version"].as_definition()
    item1 = definition.item("1")
    head = [c.value for c in wide["Scores"][1]]
    assert head[:4] == ["Study ID", "Study title", "DOI", "PMID"]
    assert f"Item 1: {item1.label} — answer" in head
    assert f"Item 1: {item1.label} — points" in head
    assert "Total (points)" in head and "Percentage of maximum" in head
    alice = next(r for r in _rows(wide["Scores"]) if r["Reviewer"].value == "alice")
    assert alice[f"Item 1: {item1.label} — answer"].value == item1.options[0].label
    assert alice[f"Item 1: {item1.label} — points"].value == 1
    assert (alice["Role"].value, alice["Status"].value) == ("Reviewer", "Submitted")
    answers = _rows(long["Answers"])
    assert answers[0]["Item wording"].value == item1.label
    assert answers[0]["Answer"].value == item1.options[0].label
    for book in (wide, long):
        shown = {
            c.value
            for sheet in (book.worksheets[0], book["About"])
            for row in sheet.iter_rows()
            for c in row
        }
        assert not shown & set(CODES), shown & set(CODES)


def test_the_codebook_covers_every_column_with_meaning_unit_and_codes(
    world: dict[str, Any],
) -> None:
    for book, name in _both(world):
        entries = _rows(book["Codebook"])
        for sheet in (book[name], book["About"]):
            listed = [
                e["Header"].value for e in entries if e["Sheet"].value == sheet.title
            ]
            assert listed == [c.value for c in sheet[1]]
        assert all(e["Meaning"].value for e in entries)
        assert all(e["Unit"].value for e in entries)
    entries = {e["Header"].value: e for e in _rows(_both(world)[0][0]["Codebook"])}
    item1 = world["version"].as_definition().item("1")
    codes = entries[f"Item 1: {item1.label} — answer"]["Codes and labels"].value
    assert f"documented = {item1.options[0].label}" in codes.splitlines()
    assert "in_progress = In progress" in entries["Status"]["Codes and labels"].value
    assert entries["Submitted at"]["Unit"].value.startswith("date and time")
    assert entries["Total (points)"]["Unit"].value == "points"
    assert entries["Total (points)"]["CSV column"].value == "total"


def test_formula_like_evidence_comes_back_as_the_exact_text(
    world: dict[str, Any],
) -> None:
    long = _both(world)[1][0]
    alice = {
        r["Item"].value: r["Evidence"]
        for r in _rows(long["Answers"])
        if r["Reviewer"].value == "alice"
    }
    for code, text in FORMULAS.items():
        assert alice[code].value == text  # no leading apostrophe
        assert alice[code].data_type == "s"


def test_judgement_instruments_show_overall_judgements_by_label(db: None) -> None:
    lead, alice = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(lead=lead, reviewers=[alice], keys=("quadas-2-1.0",))
    version = load_instrument("quadas-2-1.0")
    study = StudyFactory(project=project)
    answers = {f"D{n}.rob": ["low"] for n in range(1, 5)} | {"D2.rob": ["high"]}
    create_submitted(study, version, alice, answers)
    book = _book(export_wide(lead, project, version, "xlsx"))
    row = _rows(book["Scores"])[0]
    assert row["Overall risk of bias"].value == "High"
    assert "Total (points)" not in row
    entries = {e["Header"].value: e for e in _rows(book["Codebook"])}
    assert "high = High" in entries["Overall risk of bias"]["Codes and labels"].value
