"""The crosswalk between instruments: the bundled file, its admin, the form
panel (the reviewer's own mapped answers only) and the dashboard comparison."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments import access
from assessments.instruments import iter_bundled, parse_definition
from assessments.instruments.crosswalk import (
    CrosswalkError,
    bundled_crosswalk_files,
    check_against,
    load_crosswalk_file,
    parse_crosswalk,
)
from assessments.models import Answer, Assessment, Crosswalk, InstrumentVersion
from assessments.selectors.crosswalk import concept_comparison, mapped_answers
from assessments.services import answering, assignment
from assessments.services.crosswalk import load_crosswalk
from tests.factories import (
    RQS_13,
    StudyFactory,
    UserFactory,
    load_instrument,
    make_project,
)

KEYS = ("rqs-1.0", "rqs-2.0", "metrics-1.0", "clear-1.0", "claim-2024", "tripod-ai-1.0")


def bundled_doc() -> dict[str, Any]:
    return load_crosswalk_file(bundled_crosswalk_files()[0])


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def save(assessment: Assessment, code: str, choices: list[str], **notes: str) -> None:
    answer = Answer.objects.filter(assessment=assessment, item_code=code).first()
    answering.save_answer(
        assessment=assessment,
        user=assessment.reviewer,
        data=answering.AnswerInput(code, choices, **notes),
        seen_revision=answer.revision if answer else 0,
    )


def fill_and_submit(
    assessment: Assessment, answers: dict[str, list[str]], mark: str = ""
) -> None:
    for code, choices in answers.items():
        save(assessment, code, choices, evidence=f"{mark}-{code}" if mark else "")
    answering.submit_assessment(assessment=assessment, user=assessment.reviewer)


def clear_answers(**changes: list[str]) -> dict[str, list[str]]:
    return {str(n): changes.get(str(n), ["yes"]) for n in range(1, 59)}


METRICS_ALL = {
    **{f"C{n}": ["yes"] for n in range(1, 6)},
    **{str(n): ["yes"] for n in range(1, 31)},
}


# --- the file --------------------------------------------------------------------


def test_the_bundled_crosswalk_names_only_items_of_the_bundled_definitions() -> None:
    crosswalk = parse_crosswalk(bundled_doc())
    assert set(crosswalk.keys) == set(KEYS)
    assert "own judgement" in crosswalk.note or "judgement" in crosswalk.note
    items = {}
    for doc in iter_bundled():
        definition = parse_definition(doc)
        items[definition.key] = {item.code for item in definition.items}
    missing = [key for key in KEYS if key not in items]
    # CLAIM 2024 and TRIPOD+AI are being written alongside: checked once there.
    assert set(missing) <= {"claim-2024", "tripod-ai-1.0"}
    assert check_against(crosswalk, items, require_all=False) == []
    if not missing:
        assert check_against(crosswalk, items) == []


def test_the_definition_loaders_never_read_the_crosswalk_folder() -> None:
    keys = [parse_definition(doc).key for doc in iter_bundled()]
    assert all(not key.startswith("crosswalk") for key in keys)
    assert bundled_crosswalk_files()[0].parent.name == "crosswalk"


def test_parse_lists_every_problem_in_words() -> None:
    doc = {
        "version": "",
        "status": "live",
        "concepts": [
            {"code": "x", "label": "X", "items": {"clear-1.0": ["1"]}},
            {"code": "x", "label": "", "items": {"clear-1.0": ["1", "1"]}},
        ],
    }
    with pytest.raises(CrosswalkError) as caught:
        parse_crosswalk(doc)
    text = " | ".join(caught.value.problems)
    for words in (
        "version: missing",
        "status",
        "concept x: a concept needs at least two items",
        "concept x: label missing",
        "an item is listed twice",
        "concept x: listed twice",
    ):
        assert words in text


def test_check_names_concept_instrument_and_item() -> None:
    doc = bundled_doc()
    doc["concepts"][0]["items"]["clear-1.0"] = ["16", "99"]
    doc["concepts"][0]["items"]["clear-9.9"] = ["1"]
    crosswalk = parse_crosswalk(doc)
    problems = check_against(crosswalk, {"clear-1.0": {"16"}}, require_all=True)
    assert "concept imaging-protocol: clear-1.0 has no item 99" in problems
    assert "concept imaging-protocol: instrument clear-9.9 is not loaded" in problems


# --- storage and the admin ----------------------------------------------------------


@pytest.mark.django_db
def test_load_instruments_loads_the_crosswalk_once() -> None:
    call_command("load_instruments", stdout=StringIO())
    row = Crosswalk.objects.get()
    assert Crosswalk.objects.current() == row
    assert row.as_crosswalk() is not None
    out = StringIO()
    call_command("load_instruments", stdout=out)
    assert "Crosswalk 1.0 unchanged" in out.getvalue()
    assert Crosswalk.objects.count() == 1


@pytest.fixture
def admin_client(db: None) -> Client:
    for key in ("rqs-1.0", "rqs-2.0", "metrics-1.0", "clear-1.0"):
        load_instrument(key)
    user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    return client_for(user)


def yaml_text(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def _small_doc(version: str = "2.0") -> dict[str, Any]:
    return {
        "version": version,
        "status": "draft",
        "note": "Our own judgement.",
        "concepts": [
            {
                "code": "imaging-protocol",
                "label": "Imaging protocol",
                "items": {"metrics-1.0": ["6"], "clear-1.0": ["16"]},
            }
        ],
    }


def test_the_admin_refuses_an_unknown_item_with_a_clear_message(
    admin_client: Client,
) -> None:
    doc = _small_doc()
    doc["concepts"][0]["items"]["clear-1.0"] = ["16", "77"]
    url = reverse("admin:assessments_crosswalk_add")
    response = admin_client.post(url, {"document_text": yaml_text(doc)})
    assert response.status_code == 200
    assert (
        "concept imaging-protocol: clear-1.0 has no item 77"
        in response.content.decode()
    )
    assert not Crosswalk.objects.exists()


def test_the_admin_saves_a_valid_draft_and_publishes_it(admin_client: Client) -> None:
    url = reverse("admin:assessments_crosswalk_add")
    response = admin_client.post(url, {"document_text": yaml_text(_small_doc())})
    assert response.status_code == 302
    row = Crosswalk.objects.get()
    assert (row.version, row.status) == ("2.0", "draft")
    assert Crosswalk.objects.current() is None
    changelist = reverse("admin:assessments_crosswalk_changelist")
    admin_client.post(changelist, {"action": "publish", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == "published" and Crosswalk.objects.current() == row
    # Published: read-only, like a published definition.
    change = reverse("admin:assessments_crosswalk_change", args=[row.pk])
    before = row.document
    admin_client.post(change, {"document_text": "version: '2.0'\n"})
    row.refresh_from_db()
    assert row.document == before
    shown = admin_client.get(change)
    assert shown.status_code == 200 and "imaging-protocol" in shown.content.decode()
    # A new crosswalk starts from the one in use.
    start = admin_client.get(reverse("admin:assessments_crosswalk_add"))
    assert "imaging-protocol" in start.content.decode()


# --- the form panel ----------------------------------------------------------------


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(
        lead=lead, reviewers=[r1, r2], keys=("clear-1.0", "metrics-1.0"), slug="p"
    )
    assert load_crosswalk(bundled_doc()).action == "created"
    study = StudyFactory(project=project)
    clear = InstrumentVersion.objects.by_key("clear-1.0")
    metrics = InstrumentVersion.objects.by_key("metrics-1.0")
    made = {}
    for who, version in ((r1, clear), (r1, metrics), (r2, clear), (r2, metrics)):
        made[(who.username, version.key)] = assignment.assign_reviewer(
            study=study, version=version, reviewer=who, user=lead
        )
    return {"lead": lead, "r1": r1, "r2": r2, "study": study, **made}


def form(user: Any, assessment: Assessment) -> str:
    response = client_for(user).get(reverse("assessment-form", args=[assessment.uuid]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_form_shows_the_reviewers_own_mapped_answer_and_evidence(
    world: dict[str, Any],
) -> None:
    own_clear = world[("r1", "clear-1.0")]
    save(own_clear, "16", ["yes"], page="4", evidence="Scanner and slice thickness")
    page = form(world["r1"], world[("r1", "metrics-1.0")])
    assert "Your CLEAR 1.0 16 (Imaging protocol) answer: Yes — quoted p. 4" in page
    assert "Scanner and slice thickness" in page
    assert 'href="#item-6"' in page
    # And beside the item itself, where the reviewer answers it.
    assert 'data-testid="crosswalk-hint-6"' in page
    assert "you answered CLEAR 1.0 16 Yes, quoted p. 4" in page


def test_another_reviewers_answer_is_never_shown(world: dict[str, Any]) -> None:
    save(world[("r2", "clear-1.0")], "16", ["no"], evidence="R2-SECRET", page="9")
    page = form(world["r1"], world[("r1", "metrics-1.0")])
    assert "R2-SECRET" not in page and 'data-testid="crosswalk"' not in page
    # Nor once all is submitted and r1 may see r2's work: the panel is r1's own.
    fill_and_submit(world[("r2", "clear-1.0")], clear_answers(), mark="R2-SECRET")
    fill_and_submit(world[("r2", "metrics-1.0")], METRICS_ALL, mark="R2-SECRET")
    fill_and_submit(world[("r1", "clear-1.0")], clear_answers(), mark="R1-CLEAR")
    fill_and_submit(world[("r1", "metrics-1.0")], METRICS_ALL, mark="R1-OWN")
    assert access.can_see_assessment(world["r1"], world[("r2", "clear-1.0")])
    page = form(world["r1"], world[("r1", "metrics-1.0")])
    assert "Your CLEAR 1.0 16 (Imaging protocol) answer: Yes" in page
    assert "R1-CLEAR-16" in page and "R2-SECRET" not in page
    # A lead reading r1's form sees no panel: it is for r1 alone.
    lead_page = form(world["lead"], world[("r1", "metrics-1.0")])
    assert 'data-testid="crosswalk"' not in lead_page
    assert mapped_answers(world["lead"], world[("r1", "metrics-1.0")]) == {}


def test_nothing_is_copied_into_the_current_assessment(world: dict[str, Any]) -> None:
    save(world[("r1", "clear-1.0")], "16", ["yes"], page="4", evidence="E")
    current = world[("r1", "metrics-1.0")]
    form(world["r1"], current)
    assert not Answer.objects.filter(assessment=current).exists()
    current.refresh_from_db()
    assert current.revision == 0


def test_the_panel_costs_the_same_queries_for_one_or_many_mapped_items(
    world: dict[str, Any],
) -> None:
    own_clear, current = world[("r1", "clear-1.0")], world[("r1", "metrics-1.0")]
    url = reverse("assessment-form", args=[current.uuid])
    client = client_for(world["r1"])
    save(own_clear, "16", ["yes"], page="4")
    client.get(url)  # warm the per-process caches (parsed definitions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for code in ("19", "20", "21", "15", "33", "39", "40", "42", "53", "55", "57"):
        save(own_clear, code, ["no"], page="2", evidence=f"on {code}")
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert page.count('data-testid="crosswalk-') > 8
    assert len(many) == len(few)


# --- the dashboard comparison --------------------------------------------------------


@pytest.fixture
def compared(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2, r3 = (UserFactory(username=n) for n in ("r1", "r2", "r3"))
    project = make_project(
        lead=lead, reviewers=[r1, r2, r3], keys=("rqs-1.0", "clear-1.0"), slug="p"
    )
    load_crosswalk(bundled_doc())
    study = StudyFactory(project=project)
    rqs = InstrumentVersion.objects.by_key("rqs-1.0")
    clear = InstrumentVersion.objects.by_key("clear-1.0")
    plans = {
        (r1, rqs): RQS_13,
        (r2, rqs): {**RQS_13, "2": ["no"]},
        (r1, clear): clear_answers(**{"16": ["no"]}),
        (r2, clear): clear_answers(**{"31": ["na"]}),
    }
    made = {
        plan: assignment.assign_reviewer(
            study=study, version=plan[1], reviewer=plan[0], user=lead
        )
        for plan in plans
    }
    for plan, answers in plans.items():
        fill_and_submit(made[plan], answers)
    return {"project": project, "lead": lead, "r3": r3}


def cells(comparison: Any) -> dict[str, list[Any]]:
    return {
        row.label: [None if c is None else (c.adhering, c.answered) for c in row.cells]
        for row in comparison.rows
    }


def test_the_comparison_counts_adherence_per_concept_and_instrument(
    compared: dict[str, Any],
) -> None:
    comparison = concept_comparison(compared["lead"], compared["project"])
    assert comparison.columns == ["RQS 1.0", "CLEAR 1.0"]
    found = cells(comparison)
    # RQS 1: "documented" earns a point for both; CLEAR 16: r1 no, r2 yes.
    assert found["Imaging protocol"] == [(2, 2), (1, 2)]
    # RQS 2-4: r1 meets 2 only, r2 none; CLEAR 31: r1 yes, r2 not applicable.
    assert found["Feature reproducibility"] == [(1, 6), (1, 1)]
    assert "Segmentation" not in found  # no RQS 1.0 item: nothing to compare
    page = client_for(compared["lead"]).get(
        reverse("project-dashboard", args=["p"]) + "?version=rqs-1.0"
    )
    text = page.content.decode()
    assert "Related items across instruments" in text
    assert "16.7% <span" in text and "(1 of 6)" in text


def test_the_comparison_respects_blinding(compared: dict[str, Any]) -> None:
    # r3 reviews nothing here: without a consensus they see no result.
    comparison = concept_comparison(compared["r3"], compared["project"])
    assert all(
        cell is None or cell.answered == 0
        for row in comparison.rows
        for cell in row.cells
    )


@pytest.mark.django_db
def test_no_comparison_with_a_single_mapped_instrument() -> None:
    lead = UserFactory(username="lead")
    project = make_project(lead=lead, reviewers=[], keys=("rqs-1.0",), slug="p")
    load_crosswalk(bundled_doc())
    assert concept_comparison(lead, project) is None
    page = client_for(lead).get(reverse("project-dashboard", args=["p"]))
    assert "Related items across instruments" not in page.content.decode()
