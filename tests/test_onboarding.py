"""Each role's home says what to do next; defaults; labels instead of codes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from assessments.models import InstrumentVersion, Membership
from assessments.services import answering, assignment, projects
from tests.factories import StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown(response: Any) -> str:
    """The page's text as a reader sees it (tags, attributes and option values gone)."""
    html = re.sub(
        r"<(script|select)\b.*?</\1>", " ", response.content.decode(), flags=re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def world() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    rita, rob = UserFactory(username="rita"), UserFactory(username="rob")
    olga = UserFactory(username="olga")
    project = make_project(lead=lead, reviewers=[rita, rob], slug="p")
    projects.set_membership(
        project=project, member=olga, role=Membership.Role.OBSERVER, user=lead
    )
    return {"lead": lead, "rita": rita, "rob": rob, "olga": olga, "project": project}


def test_a_lead_of_an_empty_project_is_told_to_import_studies(
    world: dict[str, Any],
) -> None:
    page = as_user(world["lead"]).get("/p/p/")
    assert "This project has no studies yet" in shown(page)
    html = page.content.decode()
    next_steps = html[html.index("What to do next") : html.index("</section>")]
    assert 'href="/p/p/studies/import/">Import studies</a>' in next_steps


def test_a_lead_with_studies_and_no_assignments_is_told_to_assign(
    world: dict[str, Any],
) -> None:
    StudyFactory.create_batch(3, project=world["project"])
    text = shown(as_user(world["lead"]).get("/p/p/"))
    assert "3 studies are waiting for reviewers" in text
    assert "Assign reviewers" in text
    assert "no studies yet" not in text


def test_a_reviewer_sees_their_open_count_and_the_worklist(
    world: dict[str, Any],
) -> None:
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    for study in StudyFactory.create_batch(2, project=world["project"]):
        assignment.assign_reviewer(
            study=study, version=version, reviewer=world["rita"], user=world["lead"]
        )
    page = as_user(world["rita"]).get("/p/p/")
    assert "You have 2 open reviews in this project." in shown(page)
    assert 'href="/queue/?status=open"' in page.content.decode()
    idle = shown(as_user(world["rob"]).get("/p/p/"))
    assert "Nothing is waiting for you in this project right now." in idle


def test_an_observer_is_pointed_to_the_dashboard(world: dict[str, Any]) -> None:
    text = shown(as_user(world["olga"]).get("/p/p/"))
    assert "As an observer you follow the review" in text
    assert "Open the dashboard" in text


def test_new_members_default_to_reviewer(world: dict[str, Any]) -> None:
    page = as_user(world["lead"]).get("/p/p/members/").content.decode()
    forms = page.split("Add an existing user", 1)[1]  # below the members table
    add, create = forms.split("Create an account", 1)
    for form in (add, create):
        assert re.findall(r'<option value="(\w+)" selected>', form) == ["reviewer"]


def test_settings_explain_the_instrument_lock_and_show_the_time_zone(
    world: dict[str, Any], settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Amsterdam"
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    assignment.assign_reviewer(
        study=StudyFactory(project=world["project"]),
        version=version,
        reviewer=world["rita"],
        user=world["lead"],
    )
    text = shown(as_user(world["lead"]).get("/p/p/edit/"))
    assert "Instruments lock once used." in text
    assert "no score ever changes behind a reviewer's" in text
    assert "In use here, and therefore locked: RQS 1.0." in text
    assert "Amsterdam time (Europe/Amsterdam; now UTC+0" in text


def test_dashboard_and_project_page_show_labels_not_codes(
    world: dict[str, Any],
) -> None:
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=world["project"], title="Started study")
    mine = assignment.assign_reviewer(
        study=study, version=version, reviewer=world["rita"], user=world["lead"]
    )
    answering.save_answer(
        assessment=mine,
        user=world["rita"],
        data=answering.AnswerInput("12", ["same_institute"]),
        seen_revision=0,
    )
    for url in ("/p/p/dashboard/", "/p/p/"):
        text = shown(as_user(world["lead"]).get(url))
        assert "In progress" in text, url
        for code in ("in_progress", "same_institute", "rqs-1.0", "in_consensus"):
            assert code not in text, (url, code)


def test_reviewers_see_only_their_own_progress_row(world: dict[str, Any]) -> None:
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    for study in StudyFactory.create_batch(2, project=world["project"]):
        for reviewer in (world["rita"], world["rob"]):
            assignment.assign_reviewer(
                study=study, version=version, reviewer=reviewer, user=world["lead"]
            )
    lead_page = shown(as_user(world["lead"]).get("/p/p/"))
    assert "Progress per reviewer" in lead_page
    assert "rita 2 2 0 0 0" in lead_page and "rob 2 2 0 0 0" in lead_page
    for url in ("/p/p/", "/p/p/dashboard/"):
        text = shown(as_user(world["rita"]).get(url))
        assert "rita (you) 2 2 0 0 0" in text, url
        assert "rob 2" not in text, url
    dashboard = shown(as_user(world["lead"]).get("/p/p/dashboard/"))
    assert "rob 2 2 0 0 0" in dashboard
