"""The study list: sorting, filtering by state, and the leads' bulk actions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from assessments.models import Assessment, AuditEvent, InstrumentVersion, Study
from assessments.services import assignment
from tests.factories import StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2, r3 = (UserFactory(username=f"r{i}") for i in (1, 2, 3))
    project = make_project(lead=lead, reviewers=[r1, r2, r3], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    studies = {
        name: StudyFactory(project=project, title=f"{name} study", year=year)
        for name, year in (("Alpha", 2021), ("Beta", 2019), ("Gamma", 2023))
    }
    assignment.assign_reviewer(
        study=studies["Beta"], version=version, reviewer=r1, user=lead
    )
    return {
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "project": project,
        "version": version,
        **studies,
    }


def titles(response: Any) -> list[str]:
    return re.findall(r">(Alpha|Beta|Gamma) study</a>", response.content.decode())


def test_study_list_sorts_by_title_year_and_state(world: dict[str, Any]) -> None:
    client = as_user(world["lead"])
    assert titles(client.get("/p/p/studies/")) == ["Alpha", "Beta", "Gamma"]
    assert titles(client.get("/p/p/studies/?sort=-title")) == ["Gamma", "Beta", "Alpha"]
    assert titles(client.get("/p/p/studies/?sort=year")) == ["Beta", "Alpha", "Gamma"]
    # Not assigned comes before assigned.
    assert titles(client.get("/p/p/studies/?sort=-state"))[0] == "Beta"


def test_study_list_filters_by_state_shown_by_its_label(
    world: dict[str, Any],
) -> None:
    client = as_user(world["lead"])
    assert titles(client.get("/p/p/studies/?state=assigned")) == ["Beta"]
    assert titles(client.get("/p/p/studies/?state=unassigned")) == ["Alpha", "Gamma"]
    page = client.get("/p/p/studies/").content.decode()
    shown = re.sub(r"<[^>]+>", " ", page)
    assert "Not assigned" in shown and "In consensus" in shown
    assert "in_progress" not in shown and "unassigned" not in shown


def test_a_reviewer_sees_no_state_of_a_study_they_still_review(
    world: dict[str, Any],
) -> None:
    page = as_user(world["r1"]).get("/p/p/studies/").content.decode()
    assert "Your review is open" in page
    assert titles(as_user(world["r1"]).get("/p/p/studies/?state=assigned")) == []
    # Nor can they act on studies in bulk.
    assert 'name="studies"' not in page


def bulk(client: Client, *studies: Study, **data: Any) -> Any:
    return client.post(
        "/p/p/studies/bulk",
        {"studies": [str(s.uuid) for s in studies], **data},
        follow=True,
    )


def test_bulk_assign_balances_reviewers_over_the_ticked_studies(
    world: dict[str, Any],
) -> None:
    response = bulk(
        as_user(world["lead"]),
        world["Alpha"],
        world["Gamma"],
        action="assign",
        per_study="2",
    )
    assert "4 assignments made over 2 studies (RQS 1.0)." in response.content.decode()
    for name in ("Alpha", "Gamma"):
        assert Assessment.objects.filter(study=world[name]).count() == 2
    event = AuditEvent.objects.get(action="bulk-assign")
    assert event.actor == world["lead"]
    assert event.detail["assessments"] == 4
    audit = as_user(world["lead"]).get("/p/p/audit/").content.decode()
    assert "assigned reviewers to chosen studies for RQS 1.0" in audit


def test_bulk_assign_to_a_named_reviewer(world: dict[str, Any]) -> None:
    bulk(
        as_user(world["lead"]),
        world["Alpha"],
        world["Gamma"],
        action="assign",
        reviewer=str(world["r2"].pk),
    )
    assert set(
        Assessment.objects.filter(reviewer=world["r2"]).values_list(
            "study__title", flat=True
        )
    ) == {"Alpha study", "Gamma study"}


def test_bulk_assign_is_all_or_nothing(world: dict[str, Any]) -> None:
    # r1 already reviews Beta: assigning r1 to Alpha and Beta changes nothing.
    response = bulk(
        as_user(world["lead"]),
        world["Alpha"],
        world["Beta"],
        action="assign",
        reviewer=str(world["r1"].pk),
    )
    text = response.content.decode()
    assert "Nothing was changed." in text
    assert "Beta study" in text and "already assigned" in text
    assert not Assessment.objects.filter(study=world["Alpha"]).exists()
    assert not AuditEvent.objects.filter(action="bulk-assign").exists()


def test_bulk_exclude_and_include_are_audited_per_study(
    world: dict[str, Any],
) -> None:
    client = as_user(world["lead"])
    response = bulk(
        client, world["Alpha"], world["Gamma"], action="exclude", reason="not AI"
    )
    assert "2 studies excluded." in response.content.decode()
    assert set(Study.objects.filter(excluded=True).values_list("title", flat=True)) == {
        "Alpha study",
        "Gamma study",
    }
    assert AuditEvent.objects.filter(action="exclude").count() == 2
    assert titles(client.get("/p/p/studies/?state=excluded")) == ["Alpha", "Gamma"]
    bulk(client, world["Alpha"], action="include")
    assert not Study.objects.get(pk=world["Alpha"].pk).excluded
    assert AuditEvent.objects.filter(action="include").count() == 1
    audit = client.get("/p/p/audit/").content.decode()
    assert "included &#x27;Alpha study&#x27; in the review again" in audit


def test_bulk_exclude_needs_a_reason_and_skips_nothing_silently(
    world: dict[str, Any],
) -> None:
    client = as_user(world["lead"])
    text = bulk(client, world["Alpha"], action="exclude").content.decode()
    assert "Give a reason for excluding the studies." in text
    world["Gamma"].excluded, world["Gamma"].exclusion_reason = True, "dup"
    world["Gamma"].save()
    text = bulk(
        client, world["Alpha"], world["Gamma"], action="exclude", reason="x"
    ).content.decode()
    assert "Nothing was changed." in text and "already excluded" in text
    assert not Study.objects.get(pk=world["Alpha"].pk).excluded


def test_bulk_actions_are_for_leads_only(world: dict[str, Any]) -> None:
    response = as_user(world["r1"]).post(
        "/p/p/studies/bulk",
        {"studies": [str(world["Alpha"].uuid)], "action": "exclude", "reason": "x"},
    )
    assert response.status_code == 403
    outsider = as_user(UserFactory()).post(
        "/p/p/studies/bulk", {"studies": [str(world["Alpha"].uuid)]}
    )
    assert outsider.status_code == 404
    assert as_user(world["lead"]).get("/p/p/studies/bulk").status_code == 405
    assert not Study.objects.filter(excluded=True).exists()


def test_bulk_without_ticked_studies_says_so(world: dict[str, Any]) -> None:
    text = bulk(as_user(world["lead"]), action="include").content.decode()
    assert "Tick at least one study first." in text


def test_study_list_query_count_is_flat(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    client = as_user(world["lead"])
    for n in (3, 60):
        have = world["project"].studies.count()
        StudyFactory.create_batch(n - have, project=world["project"])
        for query in ("", "?sort=state", "?state=unassigned&sort=-submitted"):
            with django_assert_max_num_queries(12):
                assert client.get(f"/p/p/studies/{query}").status_code == 200
