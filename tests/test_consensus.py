"""Consensus end to end through its views: disagreements, decisions, final result."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments import access
from assessments.instruments import score
from assessments.models import (
    Answer,
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Membership,
    Resolution,
)
from assessments.services import answering, assignment, consensus, projects
from tests.factories import (
    RQS_13,
    StudyFactory,
    UserFactory,
    load_instrument,
    make_project,
)

pytestmark = pytest.mark.django_db

ALICE = {**RQS_13, "2": ["no"], "16": []}  # 11 points
BOB = {**ALICE, "2": ["yes"], "12": ["one_other"], "16": ["code", "scans"]}
DISPUTED = ["2", "12", "16"]


def submit(world: dict[str, Any], reviewer: Any, answers: dict[str, list[str]]) -> Any:
    """Assign, answer through autosave (with evidence) and submit."""
    assessment = assignment.assign_reviewer(
        study=world["study"],
        version=world["version"],
        reviewer=reviewer,
        user=world["lead"],
    )
    for code, choices in answers.items():
        data = answering.AnswerInput(
            code, choices, evidence=f"{reviewer.username} quote {code}", page="3"
        )
        answering.save_answer(
            assessment=assessment, user=reviewer, data=data, seen_revision=0
        )
    answering.submit_assessment(assessment=assessment, user=reviewer)
    return assessment


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="p")
    observer, judge = UserFactory(username="olga"), UserFactory(username="judge")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    projects.set_membership(
        project=project,
        member=judge,
        role=Membership.Role.REVIEWER,
        user=lead,
        adjudicator=True,
    )
    study = StudyFactory(project=project)
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "observer": observer,
        "judge": judge,
        "project": project,
        "study": study,
        "version": version,
    }


@pytest.fixture
def submitted(world: dict[str, Any]) -> dict[str, Any]:
    world["a_alice"] = submit(world, world["alice"], ALICE)
    world["a_bob"] = submit(world, world["bob"], BOB)
    return world


def url(world: dict[str, Any], name: str) -> str:
    return reverse(
        name,
        kwargs={
            "slug": world["project"].slug,
            "uuid": world["study"].uuid,
            "version_key": world["version"].key,
        },
    )


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def the_consensus(world: dict[str, Any]) -> Assessment:
    return Assessment.objects.get(study=world["study"], kind="consensus")


def resolve(
    client: Client, world: dict[str, Any], item: str, follow: bool = False, **data: Any
) -> Any:
    link = url(world, "consensus-resolve")
    return client.post(link, {"item": item, **data}, follow=follow)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- the flow -----------------------------------------------------------------------


def test_consensus_flow_from_disagreements_to_the_studys_final_result(
    submitted: dict[str, Any],
) -> None:
    world, lead = submitted, as_user(submitted["lead"])

    page = lead.get(url(world, "consensus-view"))
    assert page.status_code == 200
    view = page.context["view"]
    assert [row.code for row in view.disputed] == DISPUTED
    assert b"alice quote 12" in page.content and b"bob quote 12" in page.content
    assert view.rows[1].sources == {"alice": ["no"], "bob": ["yes"]}
    assert b"<caption>" in page.content and b'scope="row"' in page.content

    assert lead.post(url(world, "consensus-start")).status_code == 302
    agreed = the_consensus(world)
    prefilled = dict(agreed.answers.values_list("item_code", "choices"))
    assert set(prefilled) == set(ALICE) - set(DISPUTED)
    assert all(prefilled[code] == ALICE[code] for code in prefilled)

    final = {**ALICE, "2": ["yes"], "12": ["one_other"], "16": ["code"]}
    for code in DISPUTED:
        response = resolve(
            lead, world, code, choices=final[code], rationale=f"Methods, item {code}"
        )
        assert response.status_code == 302
        assert response["Location"].endswith(f"#row-{code}")
    response = lead.post(url(world, "consensus-finalise"), follow=True)
    assert "The consensus is final" in " ".join(messages_of(response))

    result = the_consensus(world)
    expected = score(world["version"].as_definition(), final)
    assert result.status == Assessment.Status.SUBMITTED
    assert result.total == expected.total
    observer_sees = access.visible_assessments(world["observer"], world["project"])
    assert list(observer_sees) == [result]


def test_who_resolved_what_and_from_which_answers_is_kept(
    submitted: dict[str, Any],
) -> None:
    world, lead = submitted, as_user(submitted["lead"])
    lead.post(url(world, "consensus-start"))
    resolve(lead, world, "12", choices=["one_other"], rationale="Two centres")

    decided = Resolution.objects.get(consensus=the_consensus(world), item_code="12")
    assert decided.sources == {"alice": ["same_institute"], "bob": ["one_other"]}
    assert decided.choices == ["one_other"]
    assert decided.rationale == "Two centres"
    assert decided.resolved_by == world["lead"]
    assert decided.agreed is False
    agreed = Resolution.objects.get(consensus=the_consensus(world), item_code="5")
    assert agreed.agreed and agreed.sources == {"alice": ["either"], "bob": ["either"]}
    event = AuditEvent.objects.get(action="consensus-resolve")
    assert event.actor == world["lead"] and event.detail["item"] == "12"
    assert decided.history.count() >= 2  # the history keeps each change


def test_a_disputed_item_needs_a_rationale(submitted: dict[str, Any]) -> None:
    world, lead = submitted, as_user(submitted["lead"])
    lead.post(url(world, "consensus-start"))
    response = resolve(lead, world, "2", choices=["yes"], rationale="  ")
    assert response.status_code == 302
    page = lead.get(response["Location"])
    assert any("rationale" in m for m in messages_of(page))
    decided = Resolution.objects.get(consensus=the_consensus(world), item_code="2")
    assert decided.resolved_by is None and not decided.rationale
    assert not the_consensus(world).answers.filter(item_code="2").exists()


def test_finalising_with_undecided_items_is_refused(submitted: dict[str, Any]) -> None:
    world, lead = submitted, as_user(submitted["lead"])
    lead.post(url(world, "consensus-start"))
    resolve(lead, world, "2", choices=["yes"], rationale="Read the methods")
    response = lead.post(url(world, "consensus-finalise"), follow=True)
    text = " ".join(messages_of(response))
    assert "Item 12 is disputed" in text and "Item 16 is disputed" in text
    assert the_consensus(world).status == Assessment.Status.IN_PROGRESS


def test_an_item_changed_in_the_form_after_its_decision_must_be_decided_again(
    submitted: dict[str, Any],
) -> None:
    world, lead = submitted, as_user(submitted["lead"])
    lead.post(url(world, "consensus-start"))
    for code, choices in (("2", ["yes"]), ("12", ["one_other"]), ("16", ["code"])):
        resolve(lead, world, code, choices=choices, rationale="checked")
    answer = the_consensus(world).answers.get(item_code="5")
    answering.save_answer(
        assessment=the_consensus(world),
        user=world["lead"],
        data=answering.AnswerInput("5", ["none"]),
        seen_revision=answer.revision,
    )
    with pytest.raises(Exception, match="Item 5 was changed after it was settled"):
        consensus.finalise_consensus(consensus=the_consensus(world), user=world["lead"])


def test_starting_twice_keeps_one_consensus(submitted: dict[str, Any]) -> None:
    world, lead = submitted, as_user(submitted["lead"])
    lead.post(url(world, "consensus-start"))
    resolve(lead, world, "2", choices=["yes"], rationale="Read the methods")
    lead.post(url(world, "consensus-start"))
    assert Assessment.objects.filter(kind="consensus").count() == 1
    assert Resolution.objects.get(item_code="2").rationale == "Read the methods"


def test_a_single_choice_item_takes_exactly_one_decision(
    submitted: dict[str, Any],
) -> None:
    world = submitted
    target = consensus.start_consensus(
        study=world["study"], version=world["version"], user=world["lead"]
    )
    for choices in ([], ["no", "yes"]):
        with pytest.raises(Exception, match="choose one answer"):
            consensus.resolve_item(
                consensus=target,
                item_code="2",
                choices=choices,
                rationale="x",
                user=world["lead"],
            )
    with pytest.raises(Exception, match="not an item"):
        consensus.resolve_item(
            consensus=target, item_code="99", choices=["yes"], rationale="x", user=None
        )


def test_an_adjudicator_may_run_the_consensus(submitted: dict[str, Any]) -> None:
    world, judge = submitted, as_user(submitted["judge"])
    assert judge.get(url(world, "consensus-view")).status_code == 200
    judge.post(url(world, "consensus-start"))
    resolve(judge, world, "2", choices=["yes"], rationale="judge decides")
    decided = Resolution.objects.get(item_code="2")
    assert decided.resolved_by == world["judge"]


# --- staleness ---------------------------------------------------------------------


def finalised(world: dict[str, Any]) -> Assessment:
    target = consensus.start_consensus(
        study=world["study"], version=world["version"], user=world["lead"]
    )
    for code, choices in (("2", ["yes"]), ("12", ["one_other"]), ("16", ["code"])):
        consensus.resolve_item(
            consensus=target,
            item_code=code,
            choices=choices,
            rationale=f"decided {code}",
            user=world["lead"],
        )
    consensus.finalise_consensus(consensus=target, user=world["lead"])
    return the_consensus(world)


def test_reopening_a_reviewer_after_consensus_marks_it_stale(
    submitted: dict[str, Any],
) -> None:
    world = submitted
    finalised(world)
    reopen = reverse("assessment-reopen", kwargs={"uuid": world["a_alice"].uuid})
    as_user(world["lead"]).post(reopen, {"reason": "missed the validation cohort"})
    assert the_consensus(world).stale is True
    page = as_user(world["lead"]).get(url(world, "consensus-view"))
    assert b"Refresh from the reviewers" in page.content


def test_refreshing_keeps_decisions_whose_sources_did_not_change(
    submitted: dict[str, Any],
) -> None:
    world, lead = submitted, as_user(submitted["lead"])
    finalised(world)
    answering.reopen_assessment(
        assessment=world["a_alice"], user=world["lead"], reason="recheck"
    )
    answer = Answer.objects.get(assessment=world["a_alice"], item_code="6")
    answering.save_answer(
        assessment=world["a_alice"],
        user=world["alice"],
        data=answering.AnswerInput("6", ["no"]),
        seen_revision=answer.revision,
    )
    response = lead.post(url(world, "consensus-refresh"), follow=True)
    assert any("has not submitted" in m for m in messages_of(response))
    answering.submit_assessment(assessment=world["a_alice"], user=world["alice"])

    response = lead.post(url(world, "consensus-refresh"), follow=True)
    assert "Decide again: item 6" in " ".join(messages_of(response))
    target = the_consensus(world)
    assert not target.stale and target.status == Assessment.Status.REOPENED
    kept = Resolution.objects.get(consensus=target, item_code="12")
    assert kept.rationale == "decided 12" and kept.resolved_by == world["lead"]
    asked = Resolution.objects.get(consensus=target, item_code="6")
    assert not asked.agreed and not asked.rationale
    assert asked.sources == {"alice": ["no"], "bob": ["yes"]}
    with pytest.raises(Exception, match="Item 6 is disputed"):
        consensus.finalise_consensus(consensus=target, user=world["lead"])
    resolve(lead, world, "6", choices=["yes"], rationale="clinical model present")
    consensus.finalise_consensus(consensus=target, user=world["lead"])
    assert the_consensus(world).status == Assessment.Status.SUBMITTED


def test_a_stale_consensus_takes_no_decisions_until_refreshed(
    submitted: dict[str, Any],
) -> None:
    world = submitted
    target = consensus.start_consensus(
        study=world["study"], version=world["version"], user=world["lead"]
    )
    Assessment.objects.filter(pk=target.pk).update(stale=True)
    lead = as_user(world["lead"])
    response = resolve(lead, world, "2", choices=["yes"], rationale="x", follow=True)
    assert any("refresh it first" in m for m in messages_of(response))
    assert not the_consensus(world).answers.filter(item_code="2").exists()


# --- blinding and permissions --------------------------------------------------------


def test_disagreements_stay_blinded_until_every_reviewer_submitted(
    world: dict[str, Any],
) -> None:
    submit(world, world["alice"], ALICE)
    assignment.assign_reviewer(
        study=world["study"],
        version=world["version"],
        reviewer=world["bob"],
        user=world["lead"],
    )
    lead = as_user(world["lead"])
    page = lead.get(url(world, "consensus-view"))
    assert page.status_code == 403
    assert b"once every assigned reviewer has submitted" in page.content
    assert b"alice quote" not in page.content and b"same_institute" not in page.content
    assert lead.post(url(world, "consensus-start")).status_code == 403
    assert not Assessment.objects.filter(kind="consensus").exists()


def test_consensus_needs_every_reviewer_currently_submitted(
    submitted: dict[str, Any],
) -> None:
    world = submitted
    answering.reopen_assessment(
        assessment=world["a_bob"], user=world["lead"], reason="recheck"
    )
    response = as_user(world["lead"]).post(url(world, "consensus-start"), follow=True)
    assert any("bob has not submitted" in m for m in messages_of(response))
    assert not Assessment.objects.filter(kind="consensus").exists()


@pytest.mark.parametrize(
    "name",
    [
        "consensus-view",
        "consensus-start",
        "consensus-resolve",
        "consensus-finalise",
        "consensus-refresh",
    ],
)
def test_consensus_routes_refuse_observers_reviewers_and_outsiders(
    submitted: dict[str, Any], name: str
) -> None:
    world = submitted
    outsider = UserFactory(username="mallory")
    send = Client.get if name == "consensus-view" else Client.post
    assert send(as_user(world["observer"]), url(world, name)).status_code == 403
    assert send(as_user(world["alice"]), url(world, name)).status_code == 403
    assert send(as_user(outsider), url(world, name)).status_code == 404
    anonymous = send(Client(), url(world, name))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


def test_consensus_actions_take_only_post_and_the_view_only_get(
    submitted: dict[str, Any],
) -> None:
    lead = as_user(submitted["lead"])
    assert lead.get(url(submitted, "consensus-start")).status_code == 405
    assert lead.get(url(submitted, "consensus-finalise")).status_code == 405
    assert lead.post(url(submitted, "consensus-view")).status_code == 405


def test_an_instrument_the_project_does_not_use_is_not_found(
    submitted: dict[str, Any],
) -> None:
    world = submitted
    other = load_instrument("metrics-1.0")
    link = url({**world, "version": other}, "consensus-view")
    assert as_user(world["lead"]).get(link).status_code == 404


def test_resolving_before_starting_is_not_found(submitted: dict[str, Any]) -> None:
    response = resolve(
        as_user(submitted["lead"]), submitted, "2", choices=["yes"], rationale="x"
    )
    assert response.status_code == 404


def test_refreshing_a_consensus_that_is_not_stale_changes_nothing(
    submitted: dict[str, Any],
) -> None:
    world = submitted
    target = finalised(world)
    assert consensus.refresh_stale_consensus(consensus=target, user=None) == []
    assert the_consensus(world).status == Assessment.Status.SUBMITTED
