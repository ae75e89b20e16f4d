"""PDF reports: real worker through Redis, a killed worker, safe rendering, reuse."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.test import Client

from assessments.models import InstrumentVersion, Report, Study
from assessments.renderers.reports import render_report
from assessments.selectors.reports import ReportRequest
from assessments.services import answering, assignment
from assessments.services import reports as report_service
from assessments.services.score_imports import create_submitted
from tests.conftest import require
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

BASE = RQS_13  # 13 points


def pdf_text(data: bytes, tmp_path: Path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) needed")
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(out.stdout.split())


def build(n_studies: int = 2, *, submit_both: bool = True) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    studies = [
        StudyFactory(project=project, title=f"Radiomics of tumour {i}")
        for i in range(n_studies)
    ]
    for study in studies:
        create_submitted(study, version, r1, BASE)
        if submit_both:
            create_submitted(study, version, r2, {**BASE, "7": ["yes"]})
        else:
            assignment.assign_reviewer(
                study=study, version=version, reviewer=r2, user=lead
            )
    return {
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "project": project,
        "version": version,
        "studies": studies,
    }


def wait_for(report: Report, *, timeout: float = 120, status: str = "done") -> Report:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.status == status or report.status == "failed":
            return report
        time.sleep(0.2)
    raise AssertionError(f"report still {report.status} after {timeout} s")


@pytest.fixture
def eager() -> Any:
    old = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = old


@pytest.mark.django_db(transaction=True)
def test_report_rendered_by_a_real_worker_through_redis(
    celery_worker: Any, tmp_path: Path
) -> None:
    world = build()
    client = Client()
    client.force_login(world["lead"])
    response = client.post(
        "/p/p/reports/request", {"kind": "project", "version": world["version"].pk}
    )
    assert response.status_code == 302
    report = wait_for(Report.objects.get())
    assert report.status == "done", report.error + celery_worker.output()[-2000:]
    download = client.get(f"/p/p/reports/{report.uuid}/download")
    text = pdf_text(b"".join(download.streaming_content), tmp_path)
    assert "Radiomics of tumour 0" in text and "Radiomics of tumour 1" in text
    assert "Radiomics Quality Score" in text and "13.5" in text  # mean of 13 and 14
    assert "download" in set(
        world["project"].audit_events.values_list("action", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_a_render_does_not_lose_the_report(
    celery_worker: Any,
) -> None:
    world = build(n_studies=1)
    version, project, lead = world["version"], world["project"], world["lead"]
    Study.objects.bulk_create(
        Study(
            project=project,
            title=f"Filler study {i} " + "x" * 60,
            title_key=f"filler {i}",
            year=2020,
        )
        for i in range(1500)
    )
    report, _ = report_service.request_report(
        ReportRequest(
            kind="project", project=project, version=version, user=lead, appendix=True
        )
    )
    deadline = time.monotonic() + 60
    while Report.objects.get(pk=report.pk).status != "running":
        assert time.monotonic() < deadline, "the worker never started the render"
        time.sleep(0.05)
    time.sleep(0.3)
    pids = celery_worker.pool_pids()
    assert pids, "no pool process to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    report = wait_for(report, timeout=180)
    assert report.status == "done", report.error
    assert report.attempts >= 2  # it was started again after the kill


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.django_db
def test_typed_html_and_image_urls_are_text_and_nothing_is_fetched(
    tmp_path: Path,
) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/tracker.png"
    world = build(n_studies=1)
    assessment = world["studies"][0].assessments.get(reviewer=world["r1"])
    answer = assessment.answers.get(item_code="5")
    answer.evidence = (
        f'<img src="{url}"> <b>bold</b> <link rel=stylesheet href="{url}">'
    )
    answer.save()
    pdf = render_report(
        ReportRequest(
            kind="assessment",
            project=world["project"],
            version=world["version"],
            user=world["r1"],
            study=assessment.study,
            assessment=assessment,
        )
    )
    server.shutdown()
    text = pdf_text(pdf, tmp_path)
    assert '<img src="http://127.0.0.1' in text and "tracker.png" in text
    assert "<b>bold</b>" in text
    assert _Counter.hits == []


@pytest.mark.django_db
def test_reports_are_reused_until_the_data_changes_and_never_across_views(
    eager: Any,
) -> None:
    world = build()
    lead, project, version = world["lead"], world["project"], world["version"]
    req = ReportRequest(kind="project", project=project, version=version, user=lead)
    first, created = report_service.request_report(req)
    assert created and first.status == "done" and first.file
    again, created = report_service.request_report(req)
    assert not created and again.pk == first.pk
    # A change to the data makes a new one.
    assessment = world["studies"][0].assessments.get(reviewer=world["r2"])
    answering.reopen_assessment(assessment=assessment, user=lead, reason="typo")
    project.refresh_from_db()
    changed, created = report_service.request_report(
        ReportRequest(kind="project", project=project, version=version, user=lead)
    )
    assert created and changed.pk != first.pk
    # A reviewer's view is a different report, even for the same data.
    mine, created = report_service.request_report(
        ReportRequest(
            kind="project", project=project, version=version, user=world["r1"]
        )
    )
    assert created and mine.fingerprint != changed.fingerprint


@pytest.mark.django_db
def test_reports_apply_blinding(eager: Any, tmp_path: Path) -> None:
    world = build(n_studies=1, submit_both=False)
    study = world["studies"][0]
    own = study.assessments.get(reviewer=world["r1"])
    own_answer = own.answers.get(item_code="2")
    own_answer.evidence = "my own quote"
    own_answer.save()
    other = study.assessments.get(reviewer=world["r2"])
    answering.save_answer(
        assessment=other,
        user=world["r2"],
        seen_revision=0,
        data=answering.AnswerInput(
            item_code="2", choices=["no"], evidence="secret colleague quote"
        ),
    )
    pdf = render_report(
        ReportRequest(
            kind="study",
            project=world["project"],
            version=world["version"],
            user=world["r1"],
            study=study,
        )
    )
    text = pdf_text(pdf, tmp_path)
    assert "my own quote" in text and "secret colleague quote" not in text
    assert "not shown" in text
    lead_pdf = render_report(
        ReportRequest(
            kind="study",
            project=world["project"],
            version=world["version"],
            user=world["lead"],
            study=study,
        )
    )
    lead_text = pdf_text(lead_pdf, tmp_path)
    assert "secret colleague quote" in lead_text, lead_text[:3000]
    # A report made for the lead is not downloadable by a reviewer.
    report, _ = report_service.request_report(
        ReportRequest(
            kind="study",
            project=world["project"],
            version=world["version"],
            user=world["lead"],
            study=study,
        )
    )
    client = Client()
    client.force_login(world["r1"])
    assert client.get(f"/p/p/reports/{report.uuid}/download").status_code == 404
    assert client.get(f"/p/p/reports/{report.uuid}/").status_code == 404


@pytest.mark.django_db
def test_a_failed_report_is_shown_with_a_retry(eager: Any, monkeypatch: Any) -> None:
    world = build(n_studies=1)
    client = Client()
    client.force_login(world["lead"])

    def boom(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_service, "render_report", boom)
    client.post(
        "/p/p/reports/request", {"kind": "project", "version": world["version"].pk}
    )
    report = Report.objects.get()
    assert report.status == "failed" and "disk full" in report.error
    page = client.get(f"/p/p/reports/{report.uuid}/").content.decode()
    assert "disk full" in page and "Retry" in page
    monkeypatch.undo()
    client.post(f"/p/p/reports/{report.uuid}/retry")
    report.refresh_from_db()
    assert report.status == "done"


@pytest.mark.django_db
def test_render_report_command_writes_a_pdf(tmp_path: Path) -> None:
    from django.core.management import call_command

    world = build(n_studies=1)
    out = tmp_path / "out.pdf"
    call_command(
        "render_report",
        project="p",
        out=str(out),
        kind="assessment",
        study=str(world["studies"][0].uuid),
        reviewer="r1",
    )
    assert "Radiomics of tumour 0" in pdf_text(out.read_bytes(), tmp_path)


@pytest.mark.django_db
def test_the_status_page_polls_with_htmx_until_the_report_is_done() -> None:
    world = build(n_studies=1)
    report = Report.objects.create(
        project=world["project"],
        version=world["version"],
        kind="project",
        requested_by=world["lead"],
        status="running",
        progress=40,
        options={"scope": {"studies": "all"}},
    )
    client = Client()
    client.force_login(world["lead"])
    url = f"/p/p/reports/{report.uuid}/"
    page = client.get(url).content.decode()
    assert 'hx-get="' + url + '"' in page and "<html" in page
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'value="40"' in fragment
    Report.objects.filter(pk=report.pk).update(status="done", progress=100)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in fragment and "Download the PDF" in fragment
