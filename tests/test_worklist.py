"""The reviewer's worklist, the landing after log-in, and the disagreements list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments.models import Assessment, InstrumentVersion, Membership, Study
from assessments.services import answering, assignment, projects
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

ALICE = {**RQS_13, "2": ["no"], "16": []}
BOB = {**ALICE, "2": ["yes"], "12": ["one_other"], "16": ["code", "scans"]}


def answer(assessment: Assessment, answers: dict[str, list[str]]) -> None:
    for code, choices in answers.items():
        answering.save_answer(
            assessment=assessment,
            user=assessment.reviewer,
            data=answering.AnswerInput(code, choices),
            seen_revision=0,
        )


def submit(assessment: Assessment, answers: dict[str, list[str]]) -> None:
    answer(assessment, answers)
    answering.submit_assessment(assessment=assessment, user=assessment.reviewer)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def work() -> dict[str, Any]:
    """One reviewer with an assessment in every status (titles A..D)."""
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="rita")
    project = make_project(lead=lead, reviewers=[reviewer], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    rows = {}
    for title in ("A submitted", "B assigned", "C in progress", "D reopened"):
        study = StudyFactory(project=project, title=title)
        rows[title.split()[0]] = assignment.assign_reviewer(
            study=study, version=version, reviewer=reviewer, user=lead
        )
    submit(rows["A"], RQS_13)
    answer(rows["C"], {"2": ["yes"]})
    submit(rows["D"], RQS_13)
    answering.reopen_assessment(assessment=rows["D"], user=lead, reason="typo")
    return {"lead": lead, "reviewer": reviewer, "project": project, **rows}


def titles(response: Any) -> list[str]:
    return re.findall(r"<tr><td>([A-D] [a-z ]+)</td>", response.content.decode())


def test_worklist_puts_started_work_first_then_new_then_done(
    work: dict[str, Any],
) -> None:
    response = as_user(work["reviewer"]).get("/queue/")
    assert titles(response) == [
        "C in progress",
        "D reopened",
        "B assigned",
        "A submitted",
    ]


def test_worklist_filters_by_status(work: dict[str, Any]) -> None:
    client = as_user(work["reviewer"])
    assert titles(client.get("/queue/?status=open")) == [
        "C in progress",
        "D reopened",
        "B assigned",
    ]
    assert titles(client.get("/queue/?status=submitted")) == ["A submitted"]
    # An unknown status shows everything rather than failing.
    assert len(titles(client.get("/queue/?status=bogus"))) == 4


def test_worklist_sorts_by_the_chosen_column_both_ways(work: dict[str, Any]) -> None:
    client = as_user(work["reviewer"])
    assert titles(client.get("/queue/?sort=study")) == [
        "A submitted",
        "B assigned",
        "C in progress",
        "D reopened",
    ]
    assert titles(client.get("/queue/?sort=-study"))[0] == "D reopened"
    by_score = titles(client.get("/queue/?sort=-score"))
    # Full marks first; an assessment not started has no score and comes last.
    assert by_score[-1] == "B assigned"
    assert set(by_score[:2]) == {"A submitted", "D reopened"}


def test_each_row_has_its_button_score_status_and_instrument_by_name(
    work: dict[str, Any],
) -> None:
    page = as_user(work["reviewer"]).get("/queue/").content.decode()
    for key, button in (("A", "View"), ("B", "Start"), ("C", "Continue")):
        url = reverse("assessment-form", args=[work[key].uuid])
        assert re.search(rf'href="{url}"[^>]*>{button}</a>', page), key
    assert "13 / 36 points" in page  # the submitted RQS answers are worth 13
    assert "In progress" in page and "Reopened" in page
    shown = re.sub(r"<[^>]+>", " ", page)  # what a reader sees, not attributes
    assert "RQS 1.0" in shown
    assert "rqs-1.0" not in shown and "in_progress" not in shown


def test_worklist_query_count_is_flat(
    django_assert_max_num_queries: Any,
) -> None:
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="rita")
    project = make_project(lead=lead, reviewers=[reviewer], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    client = as_user(reviewer)
    # The session's first page also checks for a two-factor device (then every
    # five minutes): a query per session, not per page or per study.
    client.get("/queue/")
    for n in (3, 40):
        have = project.studies.count()
        for i in range(have, n):
            study = StudyFactory(project=project, title=f"Study {i:03}")
            assignment.assign_reviewer(
                study=study, version=version, reviewer=reviewer, user=lead
            )
        for sort in ("", "score", "-project"):
            with django_assert_max_num_queries(9):
                response = client.get(f"/queue/?status=open&sort={sort}")
            assert response.status_code == 200


def test_log_in_lands_a_reviewer_with_open_work_on_the_worklist(
    work: dict[str, Any],
) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "rita", "password": "pw"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/queue/?status=open"
    assert "My worklist" in response.content.decode()


def test_log_in_lands_someone_without_open_work_on_the_projects(
    work: dict[str, Any],
) -> None:
    response = Client().post(
        "/accounts/login/", {"username": "lead", "password": "pw"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    # And / is still the project list for everyone.
    assert "Your projects" in as_user(work["reviewer"]).get("/").content.decode()


# --- disagreements to resolve -------------------------------------------------------


@pytest.fixture
def dispute() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    judge, olga = UserFactory(username="judge"), UserFactory(username="olga")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="p")
    projects.set_membership(
        project=project,
        member=judge,
        role=Membership.Role.REVIEWER,
        user=lead,
        adjudicator=True,
    )
    projects.set_membership(
        project=project, member=olga, role=Membership.Role.OBSERVER, user=lead
    )
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    studies: dict[str, Study] = {}
    for name in ("Disputed study", "Agreed study", "Waiting study"):
        study = StudyFactory(project=project, title=name)
        studies[name.split()[0]] = study
        a, b = (
            assignment.assign_reviewer(
                study=study, version=version, reviewer=r, user=lead
            )
            for r in (alice, bob)
        )
        submit(a, ALICE)
        if name != "Waiting study":
            submit(b, BOB if name == "Disputed study" else ALICE)
    return {
        "lead": lead,
        "alice": alice,
        "judge": judge,
        "olga": olga,
        "project": project,
        "version": version,
        **studies,
    }


def test_disagreements_list_counts_disputed_items_and_links_the_consensus(
    dispute: dict[str, Any],
) -> None:
    page = as_user(dispute["lead"]).get("/p/p/disagreements/").content.decode()
    assert "Disputed study" in page
    assert "Agreed study" not in page and "Waiting study" not in page
    assert "1 study to settle, 3 disputed items in all." in page
    url = reverse("consensus-view", args=["p", dispute["Disputed"].uuid, "rqs-1.0"])
    assert f'href="{url}"' in page
    # The project page links it with its count.
    home = as_user(dispute["lead"]).get("/p/p/").content.decode()
    assert "Disagreements to resolve (1)" in home


def test_disagreements_list_is_for_members_who_decide(
    dispute: dict[str, Any],
) -> None:
    assert as_user(UserFactory()).get("/p/p/disagreements/").status_code == 404
    assert as_user(dispute["alice"]).get("/p/p/disagreements/").status_code == 403
    assert as_user(dispute["olga"]).get("/p/p/disagreements/").status_code == 403
    assert Client().get("/p/p/disagreements/").status_code == 302
    judged = as_user(dispute["judge"]).get("/p/p/disagreements/")
    assert judged.status_code == 200 and "Disputed study" in judged.content.decode()
    # A reviewer who does not decide sees no link to it.
    home = as_user(dispute["alice"]).get("/p/p/").content.decode()
    assert "Disagreements to resolve" not in home


def test_an_adjudicator_with_own_pending_review_does_not_see_that_study(
    dispute: dict[str, Any],
) -> None:
    assignment.assign_reviewer(
        study=dispute["Disputed"],
        version=dispute["version"],
        reviewer=dispute["judge"],
        user=dispute["lead"],
        reason="third opinion",
    )
    page = as_user(dispute["judge"]).get("/p/p/disagreements/").content.decode()
    assert "Disputed study" not in page
    assert "Nothing to resolve" in page


def test_a_final_consensus_takes_the_study_off_the_list(
    dispute: dict[str, Any],
) -> None:
    Assessment.objects.create(
        study=dispute["Disputed"],
        version=dispute["version"],
        kind=Assessment.Kind.CONSENSUS,
        status=Assessment.Status.SUBMITTED,
    )
    page = as_user(dispute["lead"]).get("/p/p/disagreements/").content.decode()
    assert "Disputed study" not in page
