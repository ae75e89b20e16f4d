"""The project audit log and an assessment's history read as sentences."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments.models import Assessment, AuditEvent, InstrumentVersion, Membership
from assessments.services import answering, assignment, consensus, projects
from tests.factories import StudyFactory, UserFactory, make_project
from tests.test_consensus import ALICE, BOB
from tests.test_consensus_record import text_of

pytestmark = pytest.mark.django_db

DICT_REPR = ("{'", "': ", "['")


def submit(world: dict[str, Any], study: Any, reviewer: Any, answers: Any) -> Any:
    assessment = assignment.assign_reviewer(
        study=study, version=world["version"], reviewer=reviewer, user=world["lead"]
    )
    for code, choices in answers.items():
        answering.save_answer(
            assessment=assessment,
            user=reviewer,
            data=answering.AnswerInput(code, choices, evidence=f"quote {code}"),
            seen_revision=0,
        )
    answering.submit_assessment(assessment=assessment, user=reviewer)
    return assessment


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead", first_name="Anna", last_name="Lind")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(
        lead=lead, reviewers=[alice, bob], keys=("rqs-1.0", "metrics-1.0"), slug="aud"
    )
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "project": project,
        "version": InstrumentVersion.objects.by_key("rqs-1.0"),
    }


def decided_study(world: dict[str, Any], title: str) -> Any:
    """A study both reviewers submitted, with a consensus on item 12 decided."""
    study = StudyFactory(project=world["project"], title=title)
    submit(world, study, world["alice"], ALICE)
    submit(world, study, world["bob"], BOB)
    target = consensus.start_consensus(
        study=study, version=world["version"], user=world["lead"]
    )
    consensus.resolve_item(
        consensus=target,
        item_code="12",
        choices=["one_other"],
        rationale="Two centres",
        user=world["lead"],
    )
    return study


def audit(client: Client, world: dict[str, Any]) -> Any:
    return client.get(reverse("project-audit", kwargs={"slug": "aud"}))


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_audit_log_reads_as_sentences_with_names_titles_and_labels(
    world: dict[str, Any],
) -> None:
    study = decided_study(world, "Nodules on CT")
    assignment.exclude_study(study=study, reason="Not radiomics", user=world["lead"])
    projects.set_membership(
        project=world["project"],
        member=UserFactory(username="carol"),
        role=Membership.Role.OBSERVER,
        user=world["lead"],
    )
    page = audit(as_user(world["lead"]), world)
    assert page.status_code == 200
    text = text_of(page)
    assert "Anna Lind started the consensus on 'Nodules on CT' (RQS 1.0)" in text
    assert "Anna Lind decided item 12 of the consensus on 'Nodules on CT'" in text
    assert "Decided: Validation on data from one other institute" in text
    assert "alice had: Validation on data from the same institute" in text
    assert "Anna Lind excluded 'Nodules on CT' from the review" in text
    assert "Reason: Not radiomics" in text
    assert "made carol a member of the project: Observer" in text
    for code in ("consensus-start", "same_institute", "rqs-1.0", "member-set"):
        assert code not in text
    assert not any(mark in text for mark in DICT_REPR)


def test_a_lead_still_reviewing_the_study_does_not_see_the_decisions_answers(
    world: dict[str, Any],
) -> None:
    study = decided_study(world, "Nodules on CT")
    assignment.assign_reviewer(
        study=study,
        version=InstrumentVersion.objects.by_key("metrics-1.0"),
        reviewer=world["lead"],
        user=world["lead"],
        reason="the lead reviews the METRICS part",
    )
    other_lead = UserFactory(username="otto")
    projects.set_membership(
        project=world["project"],
        member=other_lead,
        role=Membership.Role.LEAD,
        user=world["lead"],
    )
    blinded = text_of(audit(as_user(world["lead"]), world))
    assert "decided item 12 of the consensus on 'Nodules on CT'" in blinded
    assert "Details hidden" in blinded
    assert "Validation on data" not in blinded and "alice had" not in blinded
    seeing = text_of(audit(as_user(other_lead), world))
    assert "alice had: Validation on data from the same institute" in seeing


def test_the_audit_log_runs_the_same_queries_for_few_and_many_events(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    lead = as_user(world["lead"])
    decided_study(world, "First study")
    audit(lead, world)  # warm the session
    with django_assert_max_num_queries(14) as few:
        assert audit(lead, world).status_code == 200
    for n in range(4):
        decided_study(world, f"Study {n}")
    events = AuditEvent.objects.filter(project=world["project"]).count()
    assert events >= 10
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert audit(lead, world).status_code == 200


def history(client: Client, assessment: Assessment) -> Any:
    return client.get(reverse("assessment-history", kwargs={"uuid": assessment.uuid}))


def test_the_history_names_options_by_label_and_changes_as_old_to_new(
    world: dict[str, Any],
) -> None:
    study = StudyFactory(project=world["project"], title="Nodules on CT")
    mine = submit(world, study, world["alice"], ALICE)
    submit(world, study, world["bob"], BOB)
    lead = as_user(world["lead"])
    reopen = reverse("assessment-reopen", kwargs={"uuid": mine.uuid})
    assert lead.post(reopen, {"reason": "recheck"}).status_code == 302
    answer = mine.answers.get(item_code="12")
    answering.save_answer(
        assessment=mine,
        user=world["alice"],
        data=answering.AnswerInput("12", ["one_other"], evidence="quote 12", page="4"),
        seen_revision=answer.revision,
    )
    page = history(lead, mine)
    assert page.status_code == 200
    text = text_of(page)
    assert "alice's assessment of 'Nodules on CT' with RQS 1.0" in text
    assert "alice answered item 12 (Validation): Validation on data from the same" in (
        text
    )
    assert "alice changed the answer to item 12 (Validation)" in text
    assert (
        "Answer: Validation on data from the same institute -> "
        "Validation on data from one other institute"
    ) in text
    assert "Page: (empty) -> 4" in text
    assert "Anna Lind changed the status to Reopened" in text
    assert "Status: Submitted -> Reopened" in text and "Reason: recheck" in text
    for code in ("same_institute", "one_other", "in_progress", "rqs-1.0"):
        assert code not in text
    assert not any(mark in text for mark in DICT_REPR)


def test_the_history_runs_the_same_queries_for_few_and_many_changes(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    study = StudyFactory(project=world["project"])
    mine = assignment.assign_reviewer(
        study=study, version=world["version"], reviewer=world["alice"], user=None
    )
    lead = as_user(world["lead"])
    answering.save_answer(
        assessment=mine,
        user=world["alice"],
        data=answering.AnswerInput("1", ["documented"]),
        seen_revision=0,
    )
    history(lead, mine)
    with django_assert_max_num_queries(20) as few:
        assert history(lead, mine).status_code == 200
    for code, choices in ALICE.items():
        current = mine.answers.filter(item_code=code).first()
        answering.save_answer(
            assessment=Assessment.objects.get(pk=mine.pk),
            user=world["alice"],
            data=answering.AnswerInput(code, choices, comment=f"note {code}"),
            seen_revision=current.revision if current else 0,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert history(lead, mine).status_code == 200
