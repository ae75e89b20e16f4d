"""Regression tests for the blinding findings of the attack review (issue 10).

Each test is named after what a user would notice; the numbers in the comments
are the findings they close.
"""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import Client

from assessments.models import Answer, Assessment, InstrumentVersion, Membership
from assessments.selectors.reports import ReportRequest, study_context
from assessments.services import answering, assignment, consensus, projects
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fill_and_submit(assessment: Assessment, answers: dict[str, list[str]]) -> None:
    user = assessment.reviewer
    for code, choices in answers.items():
        answer = Answer.objects.filter(assessment=assessment, item_code=code).first()
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=answering.AnswerInput(
                code, choices, evidence=f"EVIDENCE-{user}-{code}", comment="c"
            ),
            seen_revision=answer.revision if answer else 0,
        )
    answering.submit_assessment(assessment=assessment, user=user)


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2, r3 = (UserFactory(username=n) for n in ("r1", "r2", "r3"))
    project = make_project(
        lead=lead, reviewers=[r1, r2, r3], keys=("rqs-1.0", "metrics-1.0"), slug="p"
    )
    observer = UserFactory(username="watcher")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    study = StudyFactory(project=project, title="Lung CT radiomics signature")
    rqs = InstrumentVersion.objects.by_key("rqs-1.0")
    metrics = InstrumentVersion.objects.by_key("metrics-1.0")
    a1, a2 = (
        assignment.assign_reviewer(study=study, version=rqs, reviewer=r, user=lead)
        for r in (r1, r2)
    )
    return {
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "r3": r3,
        "observer": observer,
        "project": project,
        "study": study,
        "rqs": rqs,
        "metrics": metrics,
        "a1": a1,
        "a2": a2,
    }


def second_lead(world: dict[str, Any]) -> Any:
    lead = UserFactory(username="lead2")
    projects.set_membership(
        project=world["project"],
        member=lead,
        role=Membership.Role.LEAD,
        user=world["lead"],
    )
    return lead


def study_report(world: dict[str, Any], user: Any) -> dict[str, Any]:
    """The content of the study's RQS report as made for the user."""
    return study_context(
        ReportRequest(
            kind="study",
            project=world["project"],
            version=world["rqs"],
            user=user,
            study=world["study"],
        )
    )


def finalised(world: dict[str, Any]) -> Assessment:
    """Both reviewers submit with one disagreement, the lead settles it."""
    fill_and_submit(world["a1"], RQS_13)
    fill_and_submit(world["a2"], {**RQS_13, "2": ["no"]})
    target = consensus.start_consensus(
        study=world["study"], version=world["rqs"], user=world["lead"]
    )
    consensus.resolve_item(
        consensus=target,
        item_code="2",
        choices=["yes"],
        rationale="CONSENSUS-RATIONALE",
        user=world["lead"],
    )
    consensus.finalise_consensus(consensus=target, user=world["lead"])
    Answer.objects.filter(assessment=target).update(evidence="CONSENSUS-EVIDENCE")
    target.refresh_from_db()
    return target


def reads_of(client: Client, world: dict[str, Any], final: Assessment) -> str:
    """What a person can read of the study across pages, JSON and exports."""
    slug, study = world["project"].slug, world["study"]
    paths = [
        f"/a/{final.uuid}/",
        f"/a/{final.uuid}.json",
        f"/a/{world['a1'].uuid}.json",
        f"/p/{slug}/s/{study.uuid}/",
        f"/p/{slug}/dashboard/?version={world['rqs'].pk}",
        f"/p/{slug}/agreement.json?version=rqs-1.0",
        f"/p/{slug}/export/download?version={world['rqs'].pk}&form=wide&format=csv",
        f"/p/{slug}/export/download?version={world['rqs'].pk}&form=long&format=csv",
        f"/p/{slug}/export/download?version={world['rqs'].pk}&form=json&format=json",
    ]
    bodies = []
    for path in paths:
        response = client.get(path)
        assert response.status_code < 500, path
        if response.status_code == 200:
            bodies.append(b"".join(response).decode("utf-8", "replace"))
    return "\n".join(bodies)


# --- 1: a reviewer assigned after the consensus is final ---------------------------


def test_assigning_a_reviewer_after_the_consensus_is_final_is_refused(
    world: dict[str, Any],
) -> None:
    finalised(world)
    with pytest.raises(ValidationError, match="reopen the consensus and discard it"):
        assignment.assign_reviewer(
            study=world["study"],
            version=world["rqs"],
            reviewer=world["r3"],
            user=world["lead"],
        )


def test_a_reviewer_added_after_the_consensus_sees_nothing_of_the_study(
    world: dict[str, Any],
) -> None:
    final = finalised(world)
    # Data from before the refusal existed: a third reviewer added anyway.
    late = Assessment.objects.create(
        study=world["study"], version=world["rqs"], reviewer=world["r3"]
    )
    text = reads_of(client_for(world["r3"]), world, final)
    for marker in ("EVIDENCE-r1", "EVIDENCE-r2", "CONSENSUS-EVIDENCE", "CONSENSUS"):
        assert marker not in text
    assert client_for(world["r3"]).get(f"/a/{final.uuid}/").status_code == 403
    context = study_report(world, world["r3"])
    assert context["consensus"] is None
    assert [a.reviewer for a in context["reviewers"]] == [world["r3"]]  # own only
    assert client_for(world["r3"]).get(f"/a/{late.uuid}/").status_code == 200


def test_a_pending_review_in_another_instrument_hides_the_final_consensus(
    world: dict[str, Any],
) -> None:
    final = finalised(world)
    assignment.assign_reviewer(
        study=world["study"],
        version=world["metrics"],
        reviewer=world["r3"],
        user=world["lead"],
        reason="r3 saw only the RQS result",
    )
    text = reads_of(client_for(world["r3"]), world, final)
    assert "CONSENSUS-EVIDENCE" not in text and "EVIDENCE-r1" not in text


# --- 2: the study report to observers and reviewers not on the study ---------------


@pytest.mark.parametrize("who", ["observer", "r3"])
def test_study_report_does_not_show_reviewers_answers_on_disputed_items(
    world: dict[str, Any], who: str
) -> None:
    finalised(world)
    context = study_report(world, world[who])
    html = render_to_string("reports/study.html", context)
    assert context["consensus"] is not None  # the final result is theirs to see
    assert not context["show_sources"] and context["reviewers"] == []
    assert "r1: " not in html and "r2: " not in html
    assert "EVIDENCE-r1" not in html and "EVIDENCE-r2" not in html
    lead_context = study_report(world, world["lead"])
    assert "r1: Yes" in render_to_string("reports/study.html", lead_context)


# --- 3: blinding is per study, not per instrument ----------------------------------


def test_an_open_rqs_review_hides_a_coreviewers_metrics_evidence(
    world: dict[str, Any],
) -> None:
    own = assignment.assign_reviewer(
        study=world["study"],
        version=world["rqs"],
        reviewer=world["lead"],
        user=world["lead"],
        reason="third reader",
    )
    other = assignment.assign_reviewer(
        study=world["study"],
        version=world["metrics"],
        reviewer=world["r1"],
        user=world["lead"],
    )
    answering.save_answer(
        assessment=other,
        user=world["r1"],
        data=answering.AnswerInput("C1", ["yes"], evidence="METRICS-QUOTE"),
        seen_revision=0,
    )
    lead = client_for(world["lead"])
    assert lead.get(f"/a/{other.uuid}.json").status_code == 403
    assert lead.get(f"/a/{own.uuid}/").status_code == 200


# --- leads, adjudicators and the stored dashboard ----------------------------------


def test_an_adjudicator_sees_answers_only_after_everyone_submitted(
    world: dict[str, Any],
) -> None:
    judge = UserFactory(username="judge")
    projects.set_membership(
        project=world["project"],
        member=judge,
        role=Membership.Role.OBSERVER,
        user=world["lead"],
    )
    Membership.objects.filter(user=judge).update(adjudicator=True)
    fill_and_submit(world["a1"], RQS_13)
    client = client_for(judge)
    assert client.get(f"/a/{world['a1'].uuid}.json").status_code == 403
    consensus_url = f"/p/p/s/{world['study'].uuid}/consensus/{world['rqs'].pk}/"
    assert client.get(consensus_url).status_code == 403
    fill_and_submit(world["a2"], RQS_13)
    assert client.get(f"/a/{world['a1'].uuid}.json").status_code == 200
    assert client.get(consensus_url).status_code == 200


def test_the_stored_dashboard_is_not_served_to_a_lead_with_a_pending_review(
    world: dict[str, Any],
) -> None:
    other = StudyFactory(project=world["project"], title="Another study")
    for reviewer in (world["r1"], world["r2"]):
        assessment = assignment.assign_reviewer(
            study=other, version=world["rqs"], reviewer=reviewer, user=world["lead"]
        )
        fill_and_submit(assessment, RQS_13)
    url = f"/p/p/dashboard/?version={world['rqs'].pk}"
    lead = client_for(world["lead"])
    assert lead.get(url).context["stored"] is True
    assignment.assign_reviewer(
        study=world["study"],
        version=world["rqs"],
        reviewer=world["lead"],
        user=world["lead"],
        reason="third reader",
    )
    response = lead.get(url)
    assert response.context["stored"] is False
    shown = {row["study"].pk for row in response.context["rows"] if row["result"]}
    assert world["study"].pk not in shown and other.pk in shown


# --- 12: revised after unblinding --------------------------------------------------


def test_a_resubmission_after_unblinding_is_marked_revised_even_if_reopened_before(
    world: dict[str, Any],
) -> None:
    fill_and_submit(world["a1"], RQS_13)
    answering.reopen_assessment(
        assessment=world["a1"], user=world["lead"], reason="typo"
    )
    fill_and_submit(world["a2"], RQS_13)  # now r1 could look at r2's answers
    world["a1"].refresh_from_db()
    assert world["a1"].unblinded_at is not None
    answering.submit_assessment(assessment=world["a1"], user=world["r1"])
    world["a1"].refresh_from_db()
    assert world["a1"].revised_after_unblinding


def test_a_resubmission_before_unblinding_is_not_marked_revised(
    world: dict[str, Any],
) -> None:
    fill_and_submit(world["a1"], RQS_13)
    answering.reopen_assessment(
        assessment=world["a1"], user=world["lead"], reason="typo"
    )
    answering.submit_assessment(assessment=world["a1"], user=world["r1"])
    world["a1"].refresh_from_db()
    assert not world["a1"].revised_after_unblinding


# --- assignment and independence ---------------------------------------------------


def test_assigning_after_the_consensus_started_says_to_discard_it_first(
    world: dict[str, Any],
) -> None:
    fill_and_submit(world["a1"], RQS_13)
    fill_and_submit(world["a2"], {**RQS_13, "2": ["no"]})
    target = consensus.start_consensus(
        study=world["study"], version=world["rqs"], user=world["lead"]
    )
    response = client_for(world["lead"]).post(
        f"/p/p/s/{world['study'].uuid}/assign/",
        {"version": world["rqs"].pk, "reviewer": world["r3"].pk},
        follow=True,
    )
    assert "discard the consensus first" in response.content.decode()
    assert not Assessment.objects.filter(reviewer=world["r3"]).exists()
    discard = client_for(world["lead"]).post(
        f"/p/p/s/{world['study'].uuid}/consensus/{world['rqs'].pk}/discard"
    )
    assert discard.status_code == 302
    assert not Assessment.objects.filter(pk=target.pk).exists()
    assignment.assign_reviewer(
        study=world["study"],
        version=world["rqs"],
        reviewer=world["r3"],
        user=world["lead"],
    )


def test_a_lead_assigned_after_seeing_answers_needs_a_reason_and_is_not_independent(
    world: dict[str, Any],
) -> None:
    fill_and_submit(world["a1"], RQS_13)
    with pytest.raises(ValidationError, match="Give a reason"):
        assignment.assign_reviewer(
            study=world["study"],
            version=world["rqs"],
            reviewer=world["lead"],
            user=world["lead"],
        )
    own = assignment.assign_reviewer(
        study=world["study"],
        version=world["rqs"],
        reviewer=world["lead"],
        user=world["lead"],
        reason="tie-breaker",
    )
    assert own.not_independent_reason == "tie-breaker"
    assert (
        world["project"].audit_events.filter(action="assign-not-independent").exists()
    )
    fill_and_submit(world["a2"], RQS_13)
    fill_and_submit(own, RQS_13)
    data = client_for(world["lead"]).get("/p/p/agreement.json").json()
    assert "lead" not in data["raters"] and data["n_studies"] == 1


# --- 9 and 17: who may download a stored report ------------------------------------


@pytest.fixture
def eager() -> Any:
    old = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = old


def test_a_second_lead_downloads_the_report_another_lead_made(
    world: dict[str, Any], eager: Any
) -> None:
    from assessments.services import reports as report_service

    fill_and_submit(world["a1"], RQS_13)
    fill_and_submit(world["a2"], RQS_13)
    second = second_lead(world)
    data = {"kind": "project", "version": world["rqs"].pk}
    first = client_for(world["lead"]).post("/p/p/reports/request", data)
    again = client_for(second).post("/p/p/reports/request", data)
    assert again["Location"] == first["Location"]  # the same stored file
    report = report_service.Report.objects.get()
    download = client_for(second).get(f"/p/p/reports/{report.uuid}/download")
    assert download.status_code == 200
    assert (
        client_for(world["r1"]).get(f"/p/p/reports/{report.uuid}/download").status_code
        == 404
    )


def test_a_report_is_not_downloadable_after_its_requester_is_demoted(
    world: dict[str, Any], eager: Any
) -> None:
    from assessments.models import Report

    fill_and_submit(world["a1"], RQS_13)
    other = assignment.assign_reviewer(
        study=StudyFactory(project=world["project"]),
        version=world["rqs"],
        reviewer=world["r1"],
        user=world["lead"],
    )
    assert other.first_submitted_at is None
    second = second_lead(world)
    client = client_for(second)
    client.post(
        "/p/p/reports/request",
        {"kind": "study", "version": world["rqs"].pk, "study": world["study"].uuid},
    )
    report = Report.objects.get()
    assert client.get(f"/p/p/reports/{report.uuid}/download").status_code == 200
    projects.set_membership(
        project=world["project"],
        member=second,
        role=Membership.Role.OBSERVER,
        user=world["lead"],
    )
    client = client_for(second)  # a fresh request sees the new role
    assert client.get(f"/p/p/reports/{report.uuid}/download").status_code == 404


# --- 18: two adjudicators deciding the same item -----------------------------------


def test_a_second_decision_on_the_same_item_gets_409_and_shows_the_first(
    world: dict[str, Any],
) -> None:
    fill_and_submit(world["a1"], RQS_13)
    fill_and_submit(world["a2"], {**RQS_13, "2": ["no"]})
    consensus.start_consensus(
        study=world["study"], version=world["rqs"], user=world["lead"]
    )
    second = second_lead(world)
    url = f"/p/p/s/{world['study'].uuid}/consensus/{world['rqs'].pk}/resolve"
    page_revision = "0"  # both loaded the page before anyone decided
    first = client_for(world["lead"]).post(
        url,
        {
            "item": "2",
            "choices": ["yes"],
            "rationale": "FIRST",
            "revision": page_revision,
        },
    )
    assert first.status_code == 302
    late = client_for(second).post(
        url,
        {"item": "2", "choices": ["no"], "rationale": "SECOND", "revision": "0"},
    )
    assert late.status_code == 409
    body = late.content.decode()
    assert "was decided by lead" in body and "FIRST" in body
    target = Assessment.objects.get(kind="consensus")
    resolution = target.resolutions.get(item_code="2")
    assert resolution.rationale == "FIRST" and resolution.choices == ["yes"]


# --- 13: every CSV cell that reaches a spreadsheet ---------------------------------


def test_the_history_csv_neutralises_a_user_name_that_reads_as_a_formula(
    world: dict[str, Any],
) -> None:
    # Made before usernames were validated (the members page refuses it now).
    get_user_model().objects.filter(pk=world["r1"].pk).update(
        username='=HYPERLINK("http://x.example","click")'
    )
    world["r1"].refresh_from_db()
    fill_and_submit(world["a1"], RQS_13)
    # Saved through the form, the history names the reviewer (the service
    # called directly records no request user).
    Answer.history.update(history_user=world["r1"])
    response = client_for(world["lead"]).get(
        f"/a/{world['a1'].uuid}/history/?format=csv"
    )
    body = b"".join(response).decode("utf-8-sig")
    assert response.status_code == 200
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body
    assert ",=HYPERLINK" not in body
