"""Reports and e-mails speak the language of the person they are written for.

A report is drawn in the language its requester reads the platform in, and
that language is part of what makes two requests the same report. An e-mail
is written in its recipient's language, whoever's action sent it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import translation

from assessments.models import (
    InstrumentVersion,
    LanguagePreference,
    Report,
)
from assessments.selectors.reports import ReportRequest
from assessments.services import assignment
from assessments.services import reports as report_service
from assessments.services.score_imports import create_submitted
from tests.conftest import require
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)


@pytest.fixture
def eager() -> Any:
    old = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = old


def pdf_text(data: bytes, tmp_path: Path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) needed")
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(out.stdout.split())


def build() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    for i in range(2):
        study = StudyFactory(project=project, title=f"Radiomics of tumour {i}")
        create_submitted(study, version, r1, RQS_13)
        create_submitted(study, version, r2, {**RQS_13, "7": ["yes"]})
    return {"lead": lead, "project": project, "version": version}


def choose(client: Client, language: str) -> None:
    response = client.post("/account/language", {"language": language, "next": "/"})
    assert response.status_code == 302


def request_and_read(client: Client, world: dict[str, Any], tmp_path: Path) -> Any:
    response = client.post(
        "/p/p/reports/request", {"kind": "project", "version": world["version"].pk}
    )
    assert response.status_code == 302
    report = Report.objects.get(uuid=response.url.rstrip("/").rsplit("/", 1)[-1])
    assert report.status == "done", report.error
    download = client.get(f"/p/p/reports/{report.uuid}/download")
    return report, pdf_text(b"".join(download.streaming_content), tmp_path)


def test_a_lead_reading_dutch_gets_a_dutch_report_and_english_is_another_report(
    eager: Any, tmp_path: Path
) -> None:
    world = build()
    client = Client()
    client.force_login(world["lead"])
    choose(client, "nl")
    dutch, text = request_and_read(client, world, tmp_path)
    assert "Samenvatting" in text and "Overeenstemming tussen beoordelaars" in text
    assert "Radiomics of tumour 0" in text  # the data stays as typed
    assert "Pagina 1 van" in text  # the page footer too
    assert "Summary" not in text and "Page 1 of" not in text
    # The instrument's own words and the figures' tables are Dutch too.
    # The instrument's own words and the figures' words are Dutch too.
    assert "Kwaliteit van het beeldvormingsprotocol" in text
    assert "% van de ideale score" in text
    assert "Kwaliteit en stabiliteit" in text  # a domain, shortened in the figure
    assert "Image protocol quality" not in text

    again, _ = request_and_read(client, world, tmp_path)
    assert again.pk == dutch.pk  # the same request in Dutch reuses the file

    choose(client, "en-gb")
    english, text = request_and_read(client, world, tmp_path)
    assert english.pk != dutch.pk
    assert "Summary" in text and "Inter-rater agreement" in text
    assert "Page 1 of" in text and "Samenvatting" not in text
    assert Report.objects.count() == 2


def test_english_reports_stored_before_translation_are_still_reused(eager: Any) -> None:
    world = build()
    req = ReportRequest(
        kind="project",
        project=world["project"],
        version=world["version"],
        user=world["lead"],
    )
    with translation.override("en-gb"):
        stored, created = report_service.request_report(req)
    assert created
    # What the fingerprint was before the language joined it.
    assert stored.fingerprint == report_service.fingerprint(req)
    client = Client()
    client.force_login(world["lead"])
    response = client.post(
        "/p/p/reports/request",
        {"kind": "project", "version": world["version"].pk},
        follow=True,
    )
    assert "Nothing changed since this report was made" in response.content.decode()
    assert Report.objects.count() == 1


def test_an_assigned_reviewer_reads_the_mail_in_their_own_language(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SITE_URL = "https://rqs.example.org"
    lead = UserFactory(username="lead")
    anna, bob = UserFactory(username="anna"), UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[anna, bob], slug="p")
    study = StudyFactory(project=project, title="CT radiomics of lung nodules")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    LanguagePreference.objects.create(user=anna, language="nl")
    with (
        translation.override("en-gb"),  # the lead who assigns reads English
        django_capture_on_commit_callbacks(execute=True),
    ):
        for reviewer in (anna, bob):
            assignment.assign_reviewer(
                study=study, version=version, reviewer=reviewer, user=lead
            )
    sent = {m.to[0]: m for m in mail.outbox}
    dutch, english = sent[anna.email], sent[bob.email]
    assert dutch.subject == "Nieuwe beoordeling in P: CT radiomics of lung nodules"
    assert "Beste anna," in dutch.body
    assert "Er is een studie aan u toegewezen om te beoordelen" in dutch.body
    assert "Uw werklijst toont alles wat op u wacht" in dutch.body
    assert "U ontvangt dit bericht vanwege uw rol" in dutch.body
    assert "Hello" not in dutch.body
    assert english.subject == "New review in P: CT radiomics of lung nodules"
    assert "Hello bob," in english.body
    assert "A study was assigned to you for review" in english.body
