"""The API's read endpoints (issue 15): the pages' roles and blinding, filters,
cursor pages, flat query counts and the audit trail of answer reads."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from assessments.models import ApiToken, AuditEvent, InstrumentVersion, Report
from assessments.selectors.reports import ReportRequest
from assessments.services import answering, assignment
from assessments.services import reports as report_service
from assessments.services.score_imports import create_submitted
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db
API = "/api/v1"


def client_for(user: Any, *projects: Any, write: bool = False) -> APIClient:
    token, raw = ApiToken.make(user=user, name="t", days=30, write=write)
    token.projects.add(*projects)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def answer(assessment: Any, code: str, choices: list[str], text: str) -> None:
    answering.save_answer(
        assessment=assessment,
        user=assessment.reviewer,
        data=answering.AnswerInput(code, choices, evidence=text),
        seen_revision=0,
    )


@pytest.fixture
def world() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=project, title="Lung CT radiomics")
    a1 = assignment.assign_reviewer(
        study=study, version=version, reviewer=r1, user=lead
    )
    a2 = assignment.assign_reviewer(
        study=study, version=version, reviewer=r2, user=lead
    )
    answer(a1, "1", ["documented"], "MARKER-R1")
    answer(a2, "1", ["documented"], "MARKER-R2")
    return {
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "project": project,
        "version": version,
        "study": study,
        "a1": a1,
        "a2": a2,
    }


def test_versions_list_and_frozen_definition(world: dict[str, Any]) -> None:
    client = client_for(world["lead"], world["project"])
    keys = [v["key"] for v in client.get(f"{API}/instruments/").json()]
    assert "rqs-1.0" in keys
    detail = client.get(f"{API}/instruments/rqs-1.0/").json()
    assert detail["key"] == "rqs-1.0" and detail["definition"]["sections"]
    assert client.get(f"{API}/instruments/nope-9/").status_code == 404


def test_lead_sees_every_assessment_with_answers_and_it_is_audited(
    world: dict[str, Any],
) -> None:
    client = client_for(world["lead"], world["project"])
    body = client.get(f"{API}/projects/p/assessments/").json()
    evidence = {
        a["reviewer"]["username"]: a["answers"][0]["evidence"] for a in body["results"]
    }
    assert evidence == {"r1": "MARKER-R1", "r2": "MARKER-R2"}
    event = AuditEvent.objects.get(action="api-read-answers")
    assert event.detail["assessments"] == 2 and event.detail["token"] == "t"


def test_blinded_reviewer_sees_only_their_own(world: dict[str, Any]) -> None:
    client = client_for(world["r1"], world["project"])
    response = client.get(f"{API}/projects/p/assessments/")
    assert "MARKER-R2" not in response.content.decode()
    assert [a["uuid"] for a in response.json()["results"]] == [str(world["a1"].uuid)]
    other = client.get(f"{API}/assessments/{world['a2'].uuid}/")
    assert other.status_code == 403 and "Blinded" in other.json()["detail"]
    own = client.get(f"{API}/assessments/{world['a1'].uuid}/")
    assert (
        own.status_code == 200 and own.json()["answers"][0]["evidence"] == "MARKER-R1"
    )
    assert client.get(f"{API}/projects/p/consensus/").json()["results"] == []
    study = client.get(f"{API}/projects/p/studies/{world['study'].uuid}/").json()
    assert [a["reviewer"] for a in study["assessments"]] == ["r1"]
    assert study["state"] is None and "training" not in study


def test_non_members_and_other_project_tokens_get_404(world: dict[str, Any]) -> None:
    stranger = client_for(UserFactory(username="x"))
    other = make_project(lead=world["lead"], reviewers=[], slug="q")
    scoped = client_for(world["lead"], other)
    for client in (stranger, scoped):
        for path in (
            "assessments/",
            "studies/",
            "consensus/",
            "reports/",
            "dashboard/rqs-1.0/",
            "agreement/rqs-1.0/",
        ):
            assert client.get(f"{API}/projects/p/{path}").status_code == 404, path
        assert client.get(f"{API}/assessments/{world['a1'].uuid}/").status_code == 404


def test_filters_and_bad_values(world: dict[str, Any]) -> None:
    client = client_for(world["lead"], world["project"])
    url = f"{API}/projects/p/assessments/"
    assert len(client.get(url, {"reviewer": "r2"}).json()["results"]) == 1
    assert len(client.get(url, {"state": "in_progress"}).json()["results"]) == 2
    assert client.get(url, {"state": "submitted"}).json()["results"] == []
    assert (
        len(
            client.get(url, {"version": "rqs-1.0", "kind": "reviewer"}).json()[
                "results"
            ]
        )
        == 2
    )
    assert (
        client.get(url, {"updated_since": "2999-01-01T00:00:00Z"}).json()["results"]
        == []
    )
    bad = client.get(url, {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "2026-12-01T00:00:00Z" in bad.json()["detail"]
    bad = client.get(url, {"state": "done"})
    assert bad.status_code == 400 and "in_progress" in bad.json()["detail"]
    assert client.get(url, {"version": "nope-1"}).status_code == 400
    studies = client.get(f"{API}/projects/p/studies/", {"state": "in_progress"})
    assert [s["title"] for s in studies.json()["results"]] == ["Lung CT radiomics"]
    assert client.get(f"{API}/projects/p/studies/", {"state": "x"}).status_code == 400


def test_pages_follow_next_and_queries_stay_flat(world: dict[str, Any]) -> None:
    client = client_for(world["lead"], world["project"])
    url = f"{API}/projects/p/assessments/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    client.get(url)  # the token's first use is written once
    few = queries()
    for i in range(10):
        study = StudyFactory(project=world["project"], title=f"Extra {i}")
        create_submitted(study, world["version"], world["r1"], RQS_13)
    assert queries() == few
    first = client.get(url, {"page_size": 5}).json()
    seen = [a["uuid"] for a in first["results"]]
    nxt = first["next"]
    while nxt:
        page = client.get(nxt).json()
        seen += [a["uuid"] for a in page["results"]]
        nxt = page["next"]
    assert len(seen) == len(set(seen)) == 12


def test_dashboard_and_agreement(world: dict[str, Any]) -> None:
    client = client_for(world["lead"], world["project"])
    board = client.get(f"{API}/projects/p/dashboard/rqs-1.0/").json()
    assert board["version"] == "rqs-1.0" and "progress" in board["figures"]
    assert client.get(f"{API}/projects/p/agreement/rqs-1.0/").status_code == 200
    assert client.get(f"{API}/projects/p/dashboard/nope-1/").status_code == 404


def test_report_file_downloads_for_the_requester(world: dict[str, Any]) -> None:
    old = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        report, _ = report_service.request_report(
            ReportRequest(
                kind="project",
                project=world["project"],
                version=world["version"],
                user=world["lead"],
            )
        )
    finally:
        current_app.conf.task_always_eager = old
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    client = client_for(world["lead"], world["project"])
    rows = client.get(f"{API}/projects/p/reports/").json()["results"]
    assert rows[0]["download"].endswith(f"/reports/{report.uuid}/file")
    pdf = client.get(rows[0]["download"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert "no-store" in pdf["Cache-Control"]
    assert AuditEvent.objects.filter(action="download").exists()
    r1 = client_for(world["r1"], world["project"])
    assert r1.get(f"{API}/projects/p/reports/{report.uuid}/file").status_code == 404
