"""E-mail notifications: who gets what, switching them off, a mail server down."""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client

from assessments.models import Assessment, InstrumentVersion, Membership, Report
from assessments.services import answering, assignment, projects, reports
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

ALICE = {**RQS_13, "2": ["no"], "16": []}
BOB = {**ALICE, "2": ["yes"], "12": ["one_other"]}


class BrokenBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    settings.SITE_URL = "https://rqs.example.org"
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    judge = UserFactory(username="judge")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="p")
    projects.set_membership(
        project=project,
        member=judge,
        role=Membership.Role.REVIEWER,
        user=lead,
        adjudicator=True,
    )
    study = StudyFactory(project=project, title="CT radiomics of lung nodules")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "judge": judge,
        "project": project,
        "study": study,
        "version": version,
    }


def assign(world: dict[str, Any], reviewer: Any) -> Assessment:
    return assignment.assign_reviewer(
        study=world["study"],
        version=world["version"],
        reviewer=reviewer,
        user=world["lead"],
    )


def submit(assessment: Assessment, answers: dict[str, list[str]]) -> None:
    for code, choices in answers.items():
        answering.save_answer(
            assessment=assessment,
            user=assessment.reviewer,
            data=answering.AnswerInput(code, choices),
            seen_revision=0,
        )
    answering.submit_assessment(assessment=assessment, user=assessment.reviewer)


def test_an_assigned_reviewer_gets_a_mail_naming_the_study_and_linking_it(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assessment = assign(world, world["alice"])
    [sent] = mail.outbox
    assert sent.to == ["alice@example.org"]
    assert "CT radiomics of lung nodules" in sent.subject
    assert "P" in sent.subject  # the project's name
    assert "RQS 1.0" in sent.body and "rqs-1.0" not in sent.body
    assert f"https://rqs.example.org/a/{assessment.uuid}/" in sent.body
    assert "https://rqs.example.org/account/notifications/" in sent.body


def test_a_bulk_assignment_sends_one_mail_per_reviewer(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    StudyFactory.create_batch(3, project=world["project"])
    with django_capture_on_commit_callbacks(execute=True):
        made = assignment.auto_assign(
            project=world["project"],
            version=world["version"],
            per_study=2,
            user=world["lead"],
        )
    assert made == 8
    load = {
        f"{name}@example.org": Assessment.objects.filter(
            reviewer__username=name
        ).count()
        for name in ("alice", "bob", "judge")
    }
    assert sorted(m.to[0] for m in mail.outbox) == sorted(load)  # one each
    for sent in mail.outbox:
        assert f"{load[sent.to[0]]} new reviews" in sent.subject


def test_nothing_is_sent_before_the_work_is_committed(world: dict[str, Any]) -> None:
    with mock.patch("django.db.transaction.on_commit") as on_commit:
        assign(world, world["alice"])
    assert on_commit.called and mail.outbox == []


def test_a_switched_off_kind_is_not_sent(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = as_user(world["alice"])
    page = client.get("/account/notifications/").content.decode()
    assert "A study is assigned to me" in page and "alice@example.org" in page
    response = client.post(
        "/account/notifications/",
        {"reopened": "on", "consensus_needed": "on", "report_ready": "on"},
        follow=True,
    )
    assert "Your e-mail choices are saved." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assessment = assign(world, world["alice"])
    assert mail.outbox == []
    submit(assessment, RQS_13)
    with django_capture_on_commit_callbacks(execute=True):
        answering.reopen_assessment(
            assessment=assessment, user=world["lead"], reason="Item 12 was misread"
        )
    [sent] = mail.outbox  # reopened is still on
    assert "Reopened" in sent.subject and "Item 12 was misread" in sent.body


def test_the_user_menu_links_the_notification_settings(world: dict[str, Any]) -> None:
    page = as_user(world["alice"]).get("/").content.decode()
    assert 'href="/account/notifications/"' in page


def test_a_mail_server_down_does_not_break_the_assignment(
    world: dict[str, Any],
    settings: Any,
    caplog: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.EMAIL_BACKEND = "tests.test_notifications.BrokenBackend"
    caplog.set_level(logging.ERROR)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(world["lead"]).post(
            f"/p/p/s/{world['study'].uuid}/assign/",
            {"version": "rqs-1.0", "reviewer": str(world["alice"].pk)},
        )
    assert response.status_code == 302
    assert Assessment.objects.filter(reviewer=world["alice"]).exists()
    assert "could not be sent" in caplog.text and "alice" in caplog.text


def test_consensus_needed_goes_to_leads_and_adjudicators_when_the_last_disagrees(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    a, b = assign(world, world["alice"]), assign(world, world["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        submit(a, ALICE)
    assert mail.outbox == []  # bob has not submitted yet
    with django_capture_on_commit_callbacks(execute=True):
        submit(b, BOB)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "judge@example.org",
        "lead@example.org",
    ]
    sent = mail.outbox[0]
    assert "Consensus needed" in sent.subject
    assert "2 items" in sent.body
    assert f"/p/p/s/{world['study'].uuid}/consensus/rqs-1.0/" in sent.body


def test_no_consensus_mail_when_the_reviewers_agree(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    a, b = assign(world, world["alice"]), assign(world, world["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        submit(a, ALICE)
        submit(b, ALICE)
    assert mail.outbox == []


def test_the_requester_hears_that_a_report_is_ready(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    report = Report.objects.create(
        project=world["project"],
        version=world["version"],
        kind=Report.Kind.PROJECT,
        requested_by=world["lead"],
    )
    with (
        mock.patch.object(reports, "render_report", lambda req, progress: b"%PDF-1"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reports.run_report(report.pk) == "done"
    [sent] = mail.outbox
    assert sent.to == ["lead@example.org"]
    assert "project report is ready" in sent.subject.lower()
    assert f"https://rqs.example.org/p/p/reports/{report.uuid}/" in sent.body
