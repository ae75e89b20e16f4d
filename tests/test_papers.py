"""Papers on the server: upload, private streaming, extraction, finder cache.

PDFs are made in the tests (tests/paperpdf.py); papers are stored in a folder
of each test's own, except with a real worker, which must read the folder
its own settings name (PAPERS_ROOT, the same environment as this process).
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.views.static import serve

from assessments import queue
from assessments.models import (
    AuditEvent,
    Paper,
    PaperFinding,
    PaperText,
    ProjectInstrument,
    ReadingPreferences,
)
from assessments.papers import finder
from assessments.services import assignment
from assessments.services import papers as paper_service
from assessments.services.sweeps import run_sweeps
from assessments.tasks import extract_paper_task
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project
from tests.paperpdf import make_pdf, make_scanned_pdf

PAGES = [
    "Radiomics of lung nodules on CT.\n\nImages were acquired on two scanners "
    "with a slice thickness of 1.25 mm and a soft-tissue reconstruction kernel.",
    "Features were extracted with PyRadiomics version 3.0.1. The model was "
    "validated on an independent external cohort from a second hospital.",
]


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf(PAGES, title="Lung nodules", doi="10.1234/lung.2024.7")


@pytest.fixture(scope="module")
def other_pdf() -> bytes:
    return make_pdf(["A corrected version of the paper.", "Second page."])


@pytest.fixture
def world(db: None, papers_dir: Path) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    reviewer, co_reviewer, unassigned = (
        UserFactory(username=n) for n in ("reviewer", "co_reviewer", "unassigned")
    )
    project = make_project(
        lead=lead, reviewers=[reviewer, co_reviewer, unassigned], slug="p"
    )
    study = StudyFactory(project=project, doi="10.1234/lung.2024.7")
    version = load_instrument("rqs-1.0")
    for person in (reviewer, co_reviewer):
        assignment.assign_reviewer(
            study=study, version=version, reviewer=person, user=lead
        )
    outsider = UserFactory(username="outsider")
    make_project(lead=outsider, reviewers=[], slug="q")
    return {
        "project": project,
        "study": study,
        "version": version,
        "lead": lead,
        "reviewer": reviewer,
        "co_reviewer": co_reviewer,
        "unassigned": unassigned,
        "outsider": outsider,
    }


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(
    w: dict[str, Any],
    who: str,
    data: bytes,
    name: str = "paper.pdf",
    client: Client | None = None,
) -> Any:
    url = f"/p/{w['study'].project.slug}/studies/{w['study'].uuid}/paper/"
    file = SimpleUploadedFile(name, data, content_type="application/pdf")
    return (client or client_for(w[who])).post(url, {"file": file})


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


# --- upload -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["lead", "reviewer"])
def test_lead_and_assigned_reviewer_upload(
    world: dict[str, Any], pdf: bytes, papers_dir: Path, who: str
) -> None:
    response = upload(world, who, pdf, "Lung nodules (final).pdf")
    assert response.status_code == 302
    paper = Paper.objects.get()
    assert paper.current and paper.uploaded_by == world[who]
    assert paper.sha256 == hashlib.sha256(pdf).hexdigest()
    assert paper.size == len(pdf) and paper.original_name == "Lung nodules (final).pdf"
    assert paper.text_state == Paper.TextState.QUEUED
    with paper.file.open("rb") as handle:
        assert handle.read() == pdf
    assert Path(paper.file.path).is_relative_to(papers_dir)
    assert AuditEvent.objects.filter(action="paper-uploaded").count() == 1


@pytest.mark.parametrize("who,status", [("unassigned", 403), ("outsider", 404)])
def test_others_may_not_upload(
    world: dict[str, Any], pdf: bytes, papers_dir: Path, who: str, status: int
) -> None:
    assert upload(world, who, pdf).status_code == status
    assert not Paper.objects.exists() and stored_files(papers_dir) == []


@pytest.mark.parametrize(
    "data,words",
    [
        (b"GIF89a not a paper at all", "not a PDF"),
        (b"%PDF-1.7\n1 0 obj garbage without any structure", "cannot be read"),
        (b"", "The file is empty"),
    ],
)
def test_a_file_that_is_not_a_readable_pdf_is_refused(
    world: dict[str, Any], papers_dir: Path, data: bytes, words: str
) -> None:
    client = client_for(world["lead"])
    response = upload(world, "lead", data, "paper.pdf", client)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert words in page
    assert not Paper.objects.exists() and stored_files(papers_dir) == []
    assert not AuditEvent.objects.filter(action__startswith="paper").exists()


@override_settings(PAPER_MAX_BYTES=1000)
def test_a_paper_over_the_limit_gets_413_naming_it(
    world: dict[str, Any], pdf: bytes, papers_dir: Path
) -> None:
    response = upload(world, "lead", pdf)  # the body passes, the file does not
    assert response.status_code == 413
    assert "1,000 bytes" in response.content.decode()
    # A body above the limit is not even read.
    huge = pdf + b"%" + b"x" * 200_000
    response = upload(world, "lead", huge)
    assert response.status_code == 413 and "1,000 bytes" in response.content.decode()
    assert not Paper.objects.exists() and stored_files(papers_dir) == []


@override_settings(UPLOAD_MAX_BYTES=1000)
def test_papers_are_not_held_to_the_import_limit(
    world: dict[str, Any], pdf: bytes
) -> None:
    large = pdf + b"\n%" + b"x" * 150_000  # bytes after %%EOF: still the same PDF
    assert upload(world, "lead", large).status_code == 302
    assert Paper.objects.get().size == len(large)


def test_replacing_keeps_the_old_paper_and_it_still_streams(
    world: dict[str, Any], pdf: bytes, other_pdf: bytes
) -> None:
    upload(world, "lead", pdf, "first.pdf")
    first = Paper.objects.get()
    upload(world, "reviewer", other_pdf, "second.pdf")
    first.refresh_from_db()
    second = Paper.objects.get(current=True)
    assert not first.current and first.replaced_at is not None
    assert second.original_name == "second.pdf"
    assert Path(first.file.path).exists()
    response = client_for(world["co_reviewer"]).get(f"/papers/{first.uuid}/file")
    assert response.status_code == 200 and body(response) == pdf
    assert AuditEvent.objects.filter(action="paper-replaced").count() == 1
    page = (
        client_for(world["lead"]).get(f"/p/p/s/{world['study'].uuid}/").content.decode()
    )
    assert "Earlier versions" in page and "first.pdf" in page


def test_the_same_file_again_is_already_attached(
    world: dict[str, Any], pdf: bytes, other_pdf: bytes, papers_dir: Path
) -> None:
    upload(world, "lead", pdf)
    client = client_for(world["lead"])
    response = upload(world, "lead", pdf, "copy.pdf", client)
    page = client.get(response["Location"]).content.decode()
    assert "already attached" in page
    assert Paper.objects.count() == 1 and len(stored_files(papers_dir)) == 1
    # An earlier version uploaded again becomes current again: no copy is kept.
    upload(world, "lead", other_pdf)
    upload(world, "lead", pdf)
    assert Paper.objects.count() == 2 and len(stored_files(papers_dir)) == 2
    assert Paper.objects.get(current=True).sha256 == hashlib.sha256(pdf).hexdigest()


def test_a_failed_save_leaves_no_row_and_no_file(
    world: dict[str, Any], pdf: bytes, papers_dir: Path, monkeypatch: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(paper_service, "_record", broken)
    with pytest.raises(RuntimeError):
        paper_service.upload_paper(
            study=world["study"],
            user=world["lead"],
            uploaded_file=ContentFile(pdf, name="p.pdf"),
            filename="p.pdf",
        )
    assert not Paper.objects.exists() and stored_files(papers_dir) == []


# --- streaming ----------------------------------------------------------------------


def test_the_paper_streams_to_a_blinded_co_reviewer(
    world: dict[str, Any], pdf: bytes
) -> None:
    upload(world, "reviewer", pdf, 'Lung "nodules" é.pdf')
    paper = Paper.objects.get()
    client = client_for(world["co_reviewer"])  # nothing submitted: blinded
    response = client.get(f"/papers/{paper.uuid}/file")
    assert response.status_code == 200 and body(response) == pdf
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert (
        disposition.startswith("inline; filename=") and '"nodules"' not in disposition
    )
    assert "filename*=UTF-8''" in disposition
    assert response["Cache-Control"].startswith("private")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["ETag"] == f'"{paper.sha256}"'
    assert client.head(f"/papers/{paper.uuid}/file").status_code == 200
    again = client.get(
        f"/papers/{paper.uuid}/file", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_byte_ranges_for_the_viewer(world: dict[str, Any], pdf: bytes) -> None:
    upload(world, "lead", pdf)
    paper = Paper.objects.get()
    client, url, size = (
        client_for(world["co_reviewer"]),
        f"/papers/{paper.uuid}/file",
        len(pdf),
    )
    part = client.get(url, HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and body(part) == pdf[:10]
    assert (
        part["Content-Range"] == f"bytes 0-9/{size}" and part["Content-Length"] == "10"
    )
    tail = client.get(url, HTTP_RANGE="bytes=-6")
    assert tail.status_code == 206 and body(tail) == pdf[-6:]
    rest = client.get(url, HTTP_RANGE=f"bytes={size - 3}-")
    assert body(rest) == pdf[-3:]
    assert client.get(url, HTTP_RANGE=f"bytes={size}-").status_code == 416
    # A range of an older copy (If-Range no longer matches): the whole file.
    whole = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert whole.status_code == 200 and body(whole) == pdf
    assert whole["Accept-Ranges"] == "bytes"
    several = client.get(url, HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200 and body(several) == pdf


@pytest.mark.parametrize("who,status", [("outsider", 404), ("unassigned", 200)])
def test_members_only_read_the_paper(
    world: dict[str, Any], pdf: bytes, who: str, status: int
) -> None:
    upload(world, "lead", pdf)
    paper = Paper.objects.get()
    assert (
        client_for(world[who]).get(f"/papers/{paper.uuid}/file").status_code == status
    )
    anonymous = Client().get(f"/papers/{paper.uuid}/file")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def _served_roots(patterns: list[Any]) -> list[Path]:
    roots = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            roots += _served_roots(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.callback is serve:
            roots.append(Path(entry.default_args.get("document_root", "")).resolve())
    return roots


def test_papers_are_never_under_a_public_url(
    world: dict[str, Any], pdf: bytes, papers_dir: Path
) -> None:
    upload(world, "lead", pdf)
    paper = Paper.objects.get()
    path = Path(paper.file.path).resolve()
    for public in (settings.MEDIA_ROOT, settings.STATIC_ROOT):
        assert not path.is_relative_to(Path(public).resolve())
    default = Path(settings.PAPERS_ROOT).resolve()
    assert not default.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not default.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    for root in _served_roots(get_resolver().url_patterns):
        assert not default.is_relative_to(root) and not path.is_relative_to(root)
    with pytest.raises(NotImplementedError):
        paper.file.url  # noqa: B018 (the storage has no URL at all)
    client = client_for(world["lead"])
    for guess in (f"/media/{paper.file.name}", f"/static/{paper.file.name}"):
        assert client.get(guess).status_code == 404


# --- extraction -----------------------------------------------------------------------


def attach(w: dict[str, Any], data: bytes) -> Paper:
    return paper_service.upload_paper(
        study=w["study"],
        user=w["lead"],
        uploaded_file=ContentFile(data, name="p.pdf"),
        filename="p.pdf",
    )


def test_extraction_done_with_pages_passages_and_findings(
    world: dict[str, Any], pdf: bytes
) -> None:
    paper = attach(world, pdf)
    assert paper_service.run_extraction(paper.pk) == "done"
    paper.refresh_from_db()
    assert paper.text_state == Paper.TextState.DONE and paper.page_count == 2
    assert paper.extracted_at is not None and paper.text_error == ""
    text = PaperText.objects.get(paper=paper)
    assert len(text.pages) == 2 and "PyRadiomics" in text.pages[1]
    assert text.passages and {"page", "start", "end", "text"} <= set(text.passages[0])
    finding = PaperFinding.objects.get(paper=paper, version=world["version"])
    definition = world["version"].as_definition()
    assert finding.hints == finder.hints_fingerprint(definition)
    assert {i.code for i in definition.items} <= set(finding.items)
    # Idempotent: a re-run replaces what the first stored.
    assert paper_service.run_extraction(paper.pk) == "done"
    assert PaperFinding.objects.filter(paper=paper).count() == 1
    # A redelivered or swept job finds the work done and leaves it.
    paper.refresh_from_db()
    assert extract_paper_task.run(paper.pk) == "done"
    assert Paper.objects.get(pk=paper.pk).extracted_at == paper.extracted_at
    page = client_for(world["lead"]).get(f"/p/p/s/{world['study'].uuid}/")
    assert "Text extracted from 2 pages" in page.content.decode()


def test_a_scanned_paper_has_no_text_layer(world: dict[str, Any]) -> None:
    paper = attach(world, make_scanned_pdf(2))
    assert paper_service.run_extraction(paper.pk) == "no_text"
    paper.refresh_from_db()
    assert paper.text_state == Paper.TextState.NO_TEXT and paper.page_count == 2
    assert not PaperFinding.objects.filter(paper=paper).exists()
    assert paper_service.findings_for(paper, world["version"]) == {}
    page = client_for(world["reviewer"]).get(f"/p/p/s/{world['study'].uuid}/")
    assert "No text layer: scanned PDF" in page.content.decode()


def test_a_corrupt_stored_file_fails_with_a_reason(world: dict[str, Any]) -> None:
    paper = Paper(study=world["study"], sha256="1" * 64, size=20)
    paper.file.save("broken.pdf", ContentFile(b"%PDF-1.4\nnot really"), save=True)
    assert paper_service.run_extraction(paper.pk) == "failed"
    paper.refresh_from_db()
    assert paper.text_state == Paper.TextState.FAILED
    assert paper.text_error.startswith("The PDF cannot be read:")
    page = client_for(world["lead"]).get(f"/p/p/s/{world['study'].uuid}/")
    assert "Text extraction failed: The PDF cannot be read" in page.content.decode()
    paper.file.storage.delete(paper.file.name)
    assert paper_service.run_extraction(paper.pk) == "failed"
    paper.refresh_from_db()
    assert "missing" in paper.text_error or "could not be found" in paper.text_error


@pytest.fixture
def eager() -> Any:
    old = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = old


def test_upload_queues_extraction_on_commit(
    world: dict[str, Any],
    pdf: bytes,
    eager: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(world, "lead", pdf)
    paper = Paper.objects.get()
    assert paper.text_state == Paper.TextState.DONE and paper.extraction_ms >= 0


def test_a_broker_outage_leaves_the_paper_queued_for_the_sweep(
    world: dict[str, Any],
    pdf: bytes,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    task = current_app.tasks[queue.EXTRACT_PAPER]

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(task, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(world, "lead", pdf)
    assert response.status_code == 302
    paper = Paper.objects.get()
    assert paper.text_state == Paper.TextState.QUEUED
    asked: list[int] = []
    monkeypatch.setattr(task, "apply_async", lambda args: asked.append(args[0]))
    assert run_sweeps()["sweep_queued_papers"] == 0  # too recent to be lost
    Paper.objects.filter(pk=paper.pk).update(
        uploaded_at=paper.uploaded_at - paper_service.QUEUED_GRACE * 2
    )
    assert run_sweeps()["sweep_queued_papers"] == 1 and asked == [paper.pk]


def test_an_extraction_that_died_is_asked_again_and_a_pdf_that_kills_it_fails(
    world: dict[str, Any], pdf: bytes, monkeypatch: Any
) -> None:
    paper = attach(world, pdf)
    task = current_app.tasks[queue.EXTRACT_PAPER]
    asked: list[int] = []
    monkeypatch.setattr(task, "apply_async", lambda args: asked.append(args[0]))
    started = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    Paper.objects.filter(pk=paper.pk).update(
        text_state=Paper.TextState.RUNNING, extraction_started_at=started
    )
    assert run_sweeps()["sweep_queued_papers"] == 0  # within the time limit
    Paper.objects.filter(pk=paper.pk).update(
        extraction_started_at=started - timedelta(minutes=5)
    )
    assert run_sweeps()["sweep_queued_papers"] == 1 and asked == [paper.pk]
    # Three starts that never finished (the worker died each time): no fourth.
    Paper.objects.filter(pk=paper.pk).update(extraction_attempts=3)
    assert paper_service.run_extraction(paper.pk) == "failed"
    paper.refresh_from_db()
    assert "stopped 3 times" in paper.text_error
    page = client_for(world["lead"]).get(f"/p/p/s/{world['study'].uuid}/")
    assert "try another copy of the paper" in page.content.decode()


def test_findings_are_cached_per_version_and_recomputed_when_stale(
    world: dict[str, Any], pdf: bytes, monkeypatch: Any
) -> None:
    paper = attach(world, pdf)
    paper_service.run_extraction(paper.pk)
    version = world["version"]
    cached = PaperFinding.objects.get(paper=paper, version=version)
    PaperFinding.objects.filter(pk=cached.pk).update(items={"1": ["cached"]})
    assert paper_service.findings_for(paper, version) == {"1": ["cached"]}
    # A wording or hints revision changes the fingerprint: computed again.
    monkeypatch.setattr(finder, "hints_fingerprint", lambda definition: "f" * 64)
    fresh = paper_service.findings_for(paper, version)
    assert fresh["1"] != ["cached"]
    assert set(fresh["1"][0]) == {"page", "start", "end", "text", "score"}
    assert PaperFinding.objects.get(pk=cached.pk).hints == "f" * 64
    # A version added to the project after extraction is computed when asked.
    metrics = load_instrument("metrics-1.0")
    ProjectInstrument.objects.create(project=world["project"], version=metrics)
    assert paper_service.findings_for(paper, metrics)
    assert PaperFinding.objects.filter(paper=paper, version=metrics).exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_extracts_the_uploaded_paper(
    celery_worker: Any, pdf: bytes
) -> None:
    # No papers_dir: the worker reads PAPERS_ROOT from the same environment.
    lead = UserFactory(username="lead")
    project = make_project(lead=lead, reviewers=[], slug="p")
    study = StudyFactory(project=project)
    response = client_for(lead).post(
        f"/p/p/studies/{study.uuid}/paper/",
        {"file": SimpleUploadedFile("w.pdf", pdf, content_type="application/pdf")},
    )
    assert response.status_code == 302
    paper = Paper.objects.get()
    try:
        deadline = time.monotonic() + 120
        while paper.text_state in ("queued", "running"):
            assert time.monotonic() < deadline, celery_worker.output()[-2000:]
            time.sleep(0.2)
            paper.refresh_from_db()
        assert paper.text_state == "done", paper.text_error
        assert paper.page_count == 2
    finally:
        paper.file.storage.delete(paper.file.name)


# --- the study page and reading preferences -----------------------------------------


def test_the_study_page_card(world: dict[str, Any], pdf: bytes) -> None:
    url = f"/p/p/s/{world['study'].uuid}/"
    page = client_for(world["lead"]).get(url).content.decode()
    assert "No paper yet" in page and 'name="file"' in page and "up to 100 MB" in page
    upload(world, "lead", pdf, "nodules.pdf")
    paper = Paper.objects.get()
    page = client_for(world["lead"]).get(url).content.decode()
    assert "nodules.pdf" in page and paper.sha256[:12] in page
    assert f"/papers/{paper.uuid}/file" in page and "Text extraction queued" in page
    assert "Replace" in page
    seen = client_for(world["unassigned"]).get(url).content.decode()
    assert f"/papers/{paper.uuid}/file" in seen and 'name="file"' not in seen


def test_reading_preferences(world: dict[str, Any]) -> None:
    client = client_for(world["reviewer"])
    response = client.post(
        "/account/reading/", {"evidence_finder": "0"}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"evidence_finder": False}
    assert not ReadingPreferences.of(world["reviewer"]).evidence_finder
    back = f"/p/p/s/{world['study'].uuid}/"
    response = client.post("/account/reading/", {"evidence_finder": "1", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert ReadingPreferences.of(world["reviewer"]).evidence_finder
    response = client.post(
        "/account/reading/", {"evidence_finder": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    response = client.post(
        "/account/reading/", {"evidence_finder": "yes"}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == 400
