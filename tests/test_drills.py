"""Micro-drills per item: seeded from the METRICS-E3 passages, one per screen."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from assessments.instruments.drills import bundled_drill_files
from assessments.models import Drill, DrillAttempt, Membership
from assessments.services import projects
from assessments.services.drills import answer_drill, seed_drills
from tests.factories import UserFactory, load_instrument, make_project

METRICS = "metrics-1.0"
SHARED = (
    Path(__file__).resolve().parents[2] / "shared/evidence/metrics-e3-passages.json"
)


def bundled_passages() -> dict[str, Any]:
    (path,) = [p for p in bundled_drill_files() if p.stem == "metrics-e3"]
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead, reviewer, observer = (UserFactory(username=n) for n in ("lead", "rev", "obs"))
    project = make_project(
        lead=lead, reviewers=[reviewer], keys=("rqs-1.0", METRICS), slug="p"
    )
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    seed_drills()
    return {"project": project, "lead": lead, "reviewer": reviewer, "obs": observer}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, *args: Any) -> str:
    return reverse(name, args=["p", METRICS, *args])


def test_bundled_file_is_the_shared_passages_with_their_about_block() -> None:
    doc = bundled_passages()
    assert doc["about"]["instrument"] == METRICS
    assert "CC BY" in doc["about"]["what"]
    if SHARED.exists():  # the evidence folder sits beside the clone, not in it
        assert doc == json.loads(SHARED.read_text(encoding="utf-8"))


@pytest.mark.django_db
def test_seeding_makes_two_drills_per_passage_keeping_doi_and_licence() -> None:
    load_instrument(METRICS)
    counts = seed_drills()
    passages = bundled_passages()["passages"]
    assert counts.added == 2 * len(passages) and counts.updated == 0
    first = Drill.objects.get(key="metrics-e3:1:own")
    assert first.satisfies and first.item_code == passages[0]["item"]
    assert first.passage == passages[0]["text"]
    assert first.source_doi == passages[0]["source_doi"]
    assert first.licence == "CC BY"
    assert first.attribution == (
        f"Passage from {passages[0]['source_doi']}, CC BY, via the METRICS-E3 examples"
    )
    other = Drill.objects.get(key="metrics-e3:1:other")
    assert not other.satisfies and other.item_code != first.item_code
    assert other.source_doi == first.source_doi and other.licence == "CC BY"
    assert f"item {first.item_code}" in other.reason
    for n, passage in enumerate(passages, start=1):
        pair = Drill.objects.filter(key__startswith=f"metrics-e3:{n}:")
        assert {d.source_doi for d in pair} == {passage["source_doi"]}
        assert {d.licence for d in pair} == {passage["licence"]}


@pytest.mark.django_db
def test_seeding_again_updates_instead_of_duplicating() -> None:
    load_instrument(METRICS)
    seed_drills()
    before = Drill.objects.count()
    drill = Drill.objects.get(key="metrics-e3:3:own")
    Drill.objects.filter(pk=drill.pk).update(reason="An older wording.")
    counts = seed_drills()
    assert Drill.objects.count() == before
    assert (counts.added, counts.updated) == (0, 1)
    drill.refresh_from_db()
    assert drill.reason.startswith("Yes: ")


@pytest.mark.django_db
def test_no_drills_for_an_instrument_that_is_not_loaded() -> None:
    load_instrument("rqs-1.0")
    counts = seed_drills()
    assert counts.added == 0 and "metrics-e3" in counts.skipped
    assert not Drill.objects.exists()


@pytest.mark.django_db
def test_load_instruments_seeds_and_reports_the_drills() -> None:
    out = StringIO()
    call_command("load_instruments", stdout=out)
    n = 2 * len(bundled_passages()["passages"])
    assert f"Drills: {n} added, 0 updated" in out.getvalue()
    out = StringIO()
    call_command("load_instruments", stdout=out)
    assert "Drills: 0 added, 0 updated" in out.getvalue()
    assert Drill.objects.count() == n


@pytest.mark.django_db
def test_a_second_instruments_drill_file_is_accepted(tmp_path: Path) -> None:
    load_instrument("rqs-1.0")
    path = tmp_path / "rqs-examples.json"
    doc = {
        "about": {"instrument": "rqs-1.0", "source": "RQS worked examples"},
        "passages": [
            {
                "item": "1",
                "text": "Scans were acquired with a published protocol.",
                "source_doi": "10.1000/example",
                "licence": "CC BY 4.0",
            }
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    counts = seed_drills(files=[path])
    assert counts.added == 2
    own = Drill.objects.get(key="rqs-examples:1:own")
    assert own.instrument.code == "rqs" and own.item_code == "1"
    assert own.attribution == (
        "Passage from 10.1000/example, CC BY 4.0, via the RQS worked examples"
    )
    other = Drill.objects.get(key="rqs-examples:1:other")
    assert other.item_code != "1" and not other.satisfies


def test_project_page_links_to_the_drills_of_versions_that_have_them(
    world: dict[str, Any],
) -> None:
    page = client_for(world["reviewer"]).get(reverse("project-detail", args=["p"]))
    html = page.content.decode()
    assert url("drill-list") in html
    assert reverse("drill-list", args=["p", "rqs-1.0"]) not in html


def test_drill_page_shows_the_passage_question_and_attribution(
    world: dict[str, Any],
) -> None:
    drill = Drill.objects.get(key="metrics-e3:1:own")
    page = client_for(world["reviewer"]).get(url("drill-detail", drill.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Does this passage satisfy item 1, Follows a reporting guideline?" in html
    assert drill.passage in html
    assert drill.attribution in html
    assert f'href="https://doi.org/{drill.source_doi}"' in html
    assert "CC BY" in html
    assert drill.reason not in html  # not before answering


@pytest.mark.parametrize(("answer", "right"), [("yes", False), ("no", True)])
def test_answering_records_right_or_wrong_and_shows_the_reason(
    world: dict[str, Any], answer: str, right: bool
) -> None:
    drill = Drill.objects.get(key="metrics-e3:1:other")
    client = client_for(world["reviewer"])
    response = client.post(url("drill-detail", drill.pk), {"answer": answer})
    assert response.status_code == 302
    attempt = DrillAttempt.objects.get(user=world["reviewer"])
    assert attempt.correct is right and attempt.answer is (answer == "yes")
    html = client.get(response["Location"]).content.decode()
    assert ("Right" if right else "Not quite") in html
    assert drill.reason in html
    help_text = load_instrument(METRICS).as_definition().item(drill.item_code).help
    assert help_text in html
    assert "Next" in html
    tallies = client.get(url("drill-list")).content.decode()
    assert ("1 of 1 right" if right else "0 of 1 right") in tallies


def test_a_missing_answer_records_nothing(world: dict[str, Any]) -> None:
    drill = Drill.objects.get(key="metrics-e3:1:own")
    response = client_for(world["obs"]).post(url("drill-detail", drill.pk), {})
    assert response.status_code == 302
    assert not DrillAttempt.objects.exists()


def test_someone_elses_attempt_is_not_shown(world: dict[str, Any]) -> None:
    drill = Drill.objects.get(key="metrics-e3:1:own")
    attempt = answer_drill(drill=drill, user=world["lead"], answer=False)
    page = client_for(world["reviewer"]).get(
        url("drill-detail", drill.pk), {"answered": attempt.pk}
    )
    assert drill.reason not in page.content.decode()


def test_next_gives_an_untried_drill_of_the_chosen_item(world: dict[str, Any]) -> None:
    client = client_for(world["reviewer"])
    seen = set()
    for _ in range(3):
        response = client.get(url("drill-next"), {"item": "12"})
        assert response.status_code == 302
        drill_id = int(re.search(r"/(\d+)/", response["Location"])[1])
        drill = Drill.objects.get(pk=drill_id)
        assert drill.item_code == "12" and drill_id not in seen
        seen.add(drill_id)
        client.post(url("drill-detail", drill_id), {"answer": "yes"})


def test_non_members_get_404(world: dict[str, Any]) -> None:
    drill = Drill.objects.first()
    assert drill is not None
    client = client_for(UserFactory(username="outsider"))
    for path in (url("drill-list"), url("drill-next"), url("drill-detail", drill.pk)):
        assert client.get(path).status_code == 404
    assert (
        client.post(url("drill-detail", drill.pk), {"answer": "yes"}).status_code == 404
    )
    assert not DrillAttempt.objects.exists()


def test_a_version_the_project_does_not_use_is_404(world: dict[str, Any]) -> None:
    load_instrument("clear-1.0")
    client = client_for(world["reviewer"])
    assert client.get(reverse("drill-list", args=["p", "clear-1.0"])).status_code == 404
    drill = Drill.objects.first()
    assert drill is not None
    wrong = reverse("drill-detail", args=["p", "rqs-1.0", drill.pk])
    assert client.get(wrong).status_code == 404


def test_a_version_without_drills_says_so_plainly(world: dict[str, Any]) -> None:
    client = client_for(world["obs"])
    page = client.get(reverse("drill-list", args=["p", "rqs-1.0"]))
    assert page.status_code == 200
    assert "There are no practice drills for RQS 1.0 yet." in page.content.decode()
    response = client.get(reverse("drill-next", args=["p", "rqs-1.0"]), follow=True)
    assert "There are no drills for this item yet." in response.content.decode()


def test_drill_pages_refuse_other_methods(world: dict[str, Any]) -> None:
    client = client_for(world["reviewer"])
    assert client.post(url("drill-list")).status_code == 405
    assert client.post(url("drill-next")).status_code == 405
