"""Query counts of everyday pages stay flat as projects grow (10 -> 1,000 studies)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from assessments.models import Assessment, InstrumentVersion, Report, Study
from assessments.selectors.reports import appendix
from assessments.services import answering, assignment
from tests.factories import UserFactory, make_project


def grow(project: Any, n: int, reviewers: list[Any]) -> None:
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    have = Study.objects.filter(project=project).count()
    Study.objects.bulk_create(
        Study(project=project, title=f"Study {i}", title_key=f"study {i}", year=2020)
        for i in range(have, n)
    )
    assignment.auto_assign(
        project=project, version=version, per_study=2, user=project.created_by
    )


@pytest.fixture
def big(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=f"r{i}") for i in range(3)]
    project = make_project(lead=lead, reviewers=reviewers, slug="p")
    return {"project": project, "lead": lead, "reviewers": reviewers}


def counted(
    client: Client, url: str, django_assert_max_num_queries: Any, limit: int
) -> None:
    with django_assert_max_num_queries(limit):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("n", [10, 1000])
def test_everyday_pages_do_not_grow_with_the_project(
    big: dict[str, Any], n: int, django_assert_max_num_queries: Any
) -> None:
    grow(big["project"], n, big["reviewers"])
    reviewer = Client()
    reviewer.force_login(big["reviewers"][0])
    lead = Client()
    lead.force_login(big["lead"])
    assessment = Assessment.objects.filter(reviewer=big["reviewers"][0]).first()
    for code, choice in (("2", "yes"), ("3", "yes"), ("5", "either")):
        answering.save_answer(
            assessment=assessment,
            user=big["reviewers"][0],
            seen_revision=0,
            data=answering.AnswerInput(item_code=code, choices=[choice]),
        )
    limits = {
        "/queue/": 12,
        "/p/p/studies/": 12,
        f"/a/{assessment.uuid}/": 14,
        "/p/p/": 12,
        "/": 10,
    }
    for url, limit in limits.items():
        counted(reviewer, url, django_assert_max_num_queries, limit)
    counted(lead, "/p/p/studies/?page=3", django_assert_max_num_queries, 12)
    counted(lead, "/p/p/assign/", django_assert_max_num_queries, 12)


@pytest.mark.parametrize("n", [1, 100])
def test_the_report_list_costs_the_same_for_1_or_100_reports(
    big: dict[str, Any], n: int, django_assert_num_queries: Any
) -> None:
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    Report.objects.bulk_create(
        Report(project=big["project"], version=version, requested_by=big["lead"])
        for _ in range(n)
    )
    lead = Client()
    lead.force_login(big["lead"])
    lead.get("/p/p/reports/")  # session and membership caches warm
    # session, user, project, membership, versions, reports (one query for all)
    with django_assert_num_queries(6):
        assert lead.get("/p/p/reports/").status_code == 200


@pytest.mark.parametrize("n", [1, 100])
def test_the_report_appendix_reads_the_answers_in_one_query(
    big: dict[str, Any], n: int, django_assert_num_queries: Any
) -> None:
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    grow(big["project"], n, big["reviewers"])
    Assessment.objects.bulk_create(
        Assessment(study=s, version=version, kind="consensus", status="submitted")
        for s in Study.objects.filter(project=big["project"])
    )
    big["lead"].refresh_from_db()
    lead = big["lead"]
    # the lead's membership, the finals with their answers (one query for all)
    with django_assert_num_queries(3):
        rows = appendix(big["project"], version, lead)
    assert len(rows) == n


def test_an_autosave_costs_the_same_few_statements_in_any_project(
    big: dict[str, Any], django_assert_num_queries: Any
) -> None:
    grow(big["project"], 50, big["reviewers"])
    reviewer = Client(HTTP_X_REQUESTED_WITH="fetch")
    reviewer.force_login(big["reviewers"][0])
    assessment = Assessment.objects.filter(reviewer=big["reviewers"][0]).first()
    url = f"/a/{assessment.uuid}/answer"
    first = reviewer.post(url, {"item": "2", "choices": "yes", "seen": "0"})
    assert first.status_code == 200
    seen = first.json()["revision"]
    # session, user, savepoint, the access check with the row lock, the
    # answers, the answer's update and its history row, the score, release
    with django_assert_num_queries(9):
        again = reviewer.post(
            url, {"item": "2", "choices": "no", "seen": str(seen), "evidence": "p. 4"}
        )
    assert again.status_code == 200
    assert again.json()["saved"] is True
    assert again.json()["revision"] == seen + 1
