"""Files in object storage (STORAGE_URL): papers, reports and uploads awaiting
confirmation go to an S3 bucket, so any web or worker process serves a file
another one wrote.

The bucket is moto's server mode on loopback (``ThreadedMotoServer``): a real
S3 API over HTTP that boto3, a Celery worker and two `runserver` processes all
talk to, not an in-process mock. Tests with a worker or other web processes
need PostgreSQL and Redis (their test database must be visible to them).
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from celery import current_app
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from moto.server import ThreadedMotoServer

from assessments.models import InstrumentVersion, Paper, Report, Study
from assessments.services import imports
from assessments.services.score_imports import create_submitted
from assessments.tasks import extract_paper_task
from rqs.storage import SIGNED_URL_SECONDS, object_storages
from tests.conftest import (
    WorkerProcess,
    launch_worker,
    require,
    uses_postgres,
    uses_redis,
)
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project
from tests.paperpdf import make_pdf

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
# moto accepts any key; boto3 needs one to sign with.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rqs-test", "AWS_SECRET_ACCESS_KEY": "rqs-secret"}
# What each web process is given explicitly, never inherited from this one.
OWN_SETTINGS = (
    "STORAGE_URL",
    "MEDIA_ROOT",
    "PAPERS_ROOT",
    "RQS_DATA_DIR",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)
STUDY_CSV = (
    b"title,doi,journal,data_url,code_url\nRadiomics of the spleen,,Radiology,,\n"
)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def storage_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket of this test's own, as STORAGE_URL names it."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"rqs-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return f"s3://{bucket}/site?endpoint_url={s3_endpoint}&region={REGION}"


@pytest.fixture
def on_s3(storage_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process's storages on the bucket, as with STORAGE_URL set.

    override_settings resets Django's storage handler (default_storage, the
    reports' and uploads' storage); Paper's field resolved its storage when
    the model was built, so that one is swapped.
    """
    configured = {**settings.STORAGES, **object_storages(storage_url)}
    with override_settings(STORAGES=configured):
        field = Paper._meta.get_field("file")
        monkeypatch.setattr(field, "storage", storages["papers"])
        yield storage_url


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def bucket_keys(storage_url: str) -> dict[str, bytes]:
    """Every object in the bucket with its bytes, read straight through the S3 API."""
    parts = urlsplit(storage_url)
    client = s3_client(parse_qs(parts.query)["endpoint_url"][0])
    listing = client.list_objects_v2(Bucket=parts.netloc).get("Contents", [])
    return {
        row["Key"]: client.get_object(Bucket=parts.netloc, Key=row["Key"])[
            "Body"
        ].read()
        for row in listing
    }


def database_url() -> str:
    """The test database, for the other processes."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def world() -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=project, title="Radiomics of lung nodules")
    create_submitted(study, version, r1, RQS_13)
    create_submitted(study, version, r2, {**RQS_13, "7": ["yes"]})
    outsider = UserFactory(username="outsider")
    make_project(lead=outsider, reviewers=[], slug="q")
    return {
        "lead": lead,
        "outsider": outsider,
        "project": project,
        "version": version,
        "study": study,
    }


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload_paper(client: Client, study: Study, pdf: bytes) -> Any:
    file = SimpleUploadedFile("nodules.pdf", pdf, content_type="application/pdf")
    return client.post(f"/p/p/studies/{study.uuid}/paper/", {"file": file})


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def wait_until(check: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf(
        ["Radiomics of lung nodules on CT.", "Validated on an external cohort."],
        title="Lung nodules",
    )


# --- STORAGE_URL ----------------------------------------------------------------------


def test_storage_url_names_the_bucket_prefixes_and_private_objects() -> None:
    url = "s3://rqs-files/eu/site?endpoint_url=http://127.0.0.1:9000&region=eu-west-1"
    found = object_storages(url)
    default, papers = found["default"]["OPTIONS"], found["papers"]["OPTIONS"]
    assert found["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["bucket_name"] == papers["bucket_name"] == "rqs-files"
    assert default["location"] == "eu/site/media"
    assert papers["location"] == "eu/site/papers"
    assert default["endpoint_url"] == "http://127.0.0.1:9000"
    assert default["region_name"] == "eu-west-1"
    assert default["default_acl"] == papers["default_acl"] == "private"
    assert default["querystring_expire"] == 60
    assert "access_key" not in default  # boto3 finds them (AWS_ACCESS_KEY_ID ...)


def test_storage_url_may_carry_percent_encoded_credentials() -> None:
    found = object_storages("s3://AKIA1:se%2Fcret@rqs-files?acl=none")
    options = found["papers"]["OPTIONS"]
    assert (options["access_key"], options["secret_key"]) == ("AKIA1", "se/cret")
    assert options["default_acl"] is None and options["location"] == "papers"


@pytest.mark.parametrize(
    "url",
    [
        "http://rqs-files",
        "s3://",
        "s3://s3.example.org:443/rqs",
        "s3://rqs-files?endpoint=http://x",
        "s3://rqs-files?acl=public-read",
        "s3://key@rqs-files",
    ],
)
def test_a_storage_url_the_app_cannot_use_stops_it_at_start(url: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        object_storages(url)


# --- this process on the bucket (SQLite is enough) ---------------------------------


@pytest.mark.django_db
def test_an_uploaded_paper_lives_in_the_bucket_and_streams_through_the_app(
    on_s3: str, pdf: bytes
) -> None:
    w = world()
    lead = logged_in(w["lead"])
    assert upload_paper(lead, w["study"], pdf).status_code == 302
    paper = Paper.objects.get()
    stored = bucket_keys(on_s3)
    assert stored == {f"site/papers/{paper.file.name}": pdf}
    response = lead.get(f"/papers/{paper.uuid}/file")
    assert response.status_code == 200 and body(response) == pdf
    # PDF.js reads big papers in ranges: those come from the bucket too.
    part = lead.get(f"/papers/{paper.uuid}/file", HTTP_RANGE="bytes=0-4")
    assert part.status_code == 206 and body(part) == b"%PDF-"
    middle = lead.get(f"/papers/{paper.uuid}/file", HTTP_RANGE="bytes=100-1123")
    assert middle.status_code == 206 and body(middle) == pdf[100:1124]
    tail = lead.get(f"/papers/{paper.uuid}/file", HTTP_RANGE="bytes=-7")
    assert body(tail) == pdf[-7:]
    assert logged_in(w["outsider"]).get(f"/papers/{paper.uuid}/file").status_code == 404


@pytest.mark.django_db
def test_a_paper_missing_from_the_bucket_is_a_404_not_an_error(
    on_s3: str, pdf: bytes
) -> None:
    w = world()
    lead = logged_in(w["lead"])
    assert upload_paper(lead, w["study"], pdf).status_code == 302
    paper = Paper.objects.get()
    parts = urlsplit(on_s3)
    s3_client(parse_qs(parts.query)["endpoint_url"][0]).delete_object(
        Bucket=parts.netloc, Key=f"site/papers/{paper.file.name}"
    )
    assert lead.get(f"/papers/{paper.uuid}/file").status_code == 404
    extract_paper_task(paper.pk)
    paper.refresh_from_db()
    assert paper.text_error == "The stored file is missing."


@pytest.mark.django_db
def test_text_extraction_reads_the_paper_from_the_bucket(
    on_s3: str, pdf: bytes
) -> None:
    w = world()
    assert upload_paper(logged_in(w["lead"]), w["study"], pdf).status_code == 302
    paper = Paper.objects.get()
    extract_paper_task(paper.pk)
    paper.refresh_from_db()
    assert paper.text_state == "done", paper.text_error
    assert paper.page_count == 2


@pytest.mark.django_db
def test_an_import_preview_waits_in_the_bucket_until_confirmed(on_s3: str) -> None:
    w = world()
    lead = logged_in(w["lead"])
    upload = SimpleUploadedFile("s.csv", STUDY_CSV)
    preview = lead.post("/p/p/studies/import/", {"file": upload, "format": ""})
    token = preview.context["token"]
    key = f"site/media/imports/{w['project'].pk}/{token}"
    assert bucket_keys(on_s3) == {key: STUDY_CSV}
    confirm = lead.post("/p/p/studies/import/", {"token": token, "format": "csv"})
    assert confirm.status_code == 302
    assert Study.objects.filter(title="Radiomics of the spleen").exists()
    assert bucket_keys(on_s3) == {}


@pytest.mark.django_db
def test_the_sweep_deletes_stale_previews_from_the_bucket(
    on_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world()
    token = imports.keep_preview(w["project"], STUDY_CSV)
    assert imports.sweep_import_previews() == 0  # fresh: kept
    later = datetime.now(UTC) + imports.PREVIEW_MAX_AGE + imports.PREVIEW_MAX_AGE
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert imports.sweep_import_previews() == 1
    assert bucket_keys(on_s3) == {}
    assert (
        imports.import_preview(
            project=w["project"], token=token, fmt="csv", user=w["lead"]
        )
        is None
    )


def stored_report(w: dict[str, Any], data: bytes) -> Report:
    report = Report(
        project=w["project"],
        version=w["version"],
        kind="project",
        fingerprint=uuid.uuid4().hex,
        status=Report.Status.DONE,
        requested_by=w["lead"],
    )
    report.file.save("report-p.pdf", ContentFile(data), save=False)
    report.save()
    return report


def signed_link_checked(link: str, storage_url: str) -> None:
    """A link to the bucket's endpoint, signed, valid for at most 60 s from now."""
    endpoint = parse_qs(urlsplit(storage_url).query)["endpoint_url"][0]
    assert link.startswith(endpoint + "/")
    query = parse_qs(urlsplit(link).query)
    assert "X-Amz-Signature" in query
    assert int(query["X-Amz-Expires"][0]) <= SIGNED_URL_SECONDS == 60
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    age = datetime.now(UTC) - signed_at.replace(tzinfo=UTC)
    assert abs(age.total_seconds()) < 10


@pytest.mark.django_db
def test_a_report_download_redirects_to_a_short_signed_link_after_the_check(
    on_s3: str,
) -> None:
    w = world()
    data = b"%PDF-1.7 a report"
    report = stored_report(w, data)
    url = f"/p/p/reports/{report.uuid}/download"
    refused = logged_in(w["outsider"]).get(url)
    assert refused.status_code == 404 and "Location" not in refused
    assert b"X-Amz" not in refused.content
    response = logged_in(w["lead"]).get(url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    signed_link_checked(response["Location"], on_s3)
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert "attachment" in fetched.headers["Content-Disposition"]
    assert "report-p" in fetched.headers["Content-Disposition"]


@pytest.mark.django_db
def test_the_api_answers_a_report_with_its_bytes_unless_asked_to_redirect(
    on_s3: str,
) -> None:
    w = world()
    data = b"%PDF-1.7 a report"
    report = stored_report(w, data)
    url = f"/api/v1/projects/p/reports/{report.uuid}/file"
    lead = logged_in(w["lead"])
    response = lead.get(url)
    assert response.status_code == 200 and body(response) == data
    redirected = lead.get(url + "?redirect=1")
    assert redirected.status_code == 302
    signed_link_checked(redirected["Location"], on_s3)
    assert logged_in(w["outsider"]).get(url + "?redirect=1").status_code == 404


@pytest.mark.django_db
def test_with_local_storage_a_report_download_answers_200_with_the_file(
    settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    w = world()
    report = stored_report(w, b"%PDF-1.7 local")
    lead = logged_in(w["lead"])
    page = lead.get(f"/p/p/reports/{report.uuid}/download")
    assert page.status_code == 200 and body(page) == b"%PDF-1.7 local"
    api = lead.get(f"/api/v1/projects/p/reports/{report.uuid}/file?redirect=1")
    assert api.status_code == 200 and body(api) == b"%PDF-1.7 local"


# --- a real worker on the bucket -----------------------------------------------------


@pytest.fixture
def s3_worker(on_s3: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A `celery worker` with STORAGE_URL in its environment, on a private queue."""
    require(uses_redis(), "a real worker needs Redis (set CELERY_BROKER_URL)")
    require(uses_postgres(), "a real worker needs PostgreSQL (set DATABASE_URL)")
    queue = f"s3-{uuid.uuid4().hex[:8]}"
    conf = current_app.conf
    saved = {key: conf.get(key) for key in ("task_default_queue", "reports_queue")}
    conf.update(task_default_queue=queue, reports_queue="")
    env = {
        **os.environ,
        **CREDENTIALS,
        "STORAGE_URL": on_s3,
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "CONN_MAX_AGE": "0",
    }
    try:
        worker = launch_worker(env, queue, tmp_path / "worker.log", ["-P", "solo"])
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield worker
    finally:
        worker.proc.terminate()
        try:
            worker.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
        conf.update(saved)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_s3_path_end_to_end_with_a_real_worker(
    s3_worker: WorkerProcess, on_s3: str, pdf: bytes
) -> None:
    w = world()
    lead = logged_in(w["lead"])
    assert upload_paper(lead, w["study"], pdf).status_code == 302
    paper = Paper.objects.get()

    def extracted() -> bool:
        paper.refresh_from_db()
        return paper.text_state not in ("queued", "running")

    wait_until(extracted, "no extraction: " + s3_worker.output()[-2000:])
    assert paper.text_state == "done", paper.text_error  # read from the bucket
    requested = lead.post(
        "/p/p/reports/request", {"kind": "project", "version": w["version"].pk}
    )
    assert requested.status_code == 302
    report = Report.objects.get()

    def rendered() -> bool:
        report.refresh_from_db()
        return report.status in ("done", "failed")

    wait_until(rendered, "no report: " + s3_worker.output()[-2000:])
    assert report.status == "done", report.error
    stored = bucket_keys(on_s3)
    pdf_key = f"site/media/{report.file.name}"
    assert set(stored) == {f"site/papers/{paper.file.name}", pdf_key}
    url = f"/p/p/reports/{report.uuid}/download"
    assert logged_in(w["outsider"]).get(url).status_code == 404
    download = lead.get(url)
    assert download.status_code == 302
    signed_link_checked(download["Location"], on_s3)
    fetched = requests.get(download["Location"], timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == stored[pdf_key] and fetched.content[:5] == b"%PDF-"
    paper_download = lead.get(f"/papers/{paper.uuid}/file")
    assert paper_download.status_code == 200 and body(paper_download) == pdf


# --- two web processes serving each other's files ------------------------------------


class WebProcess:
    def __init__(self, env: dict[str, str], log: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "manage.py", "runserver", "--noreload"]
        command += ["--skip-checks", f"127.0.0.1:{port}"]
        self.log = log
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("runserver did not start:\n" + self.output())
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    """A free loopback port (released again just before the server binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def two_web_processes(extra: dict[str, str], tmp_path: Path) -> list[WebProcess]:
    require(uses_postgres(), "other web processes need PostgreSQL (set DATABASE_URL)")
    env = {key: value for key, value in os.environ.items() if key not in OWN_SETTINGS}
    env |= {
        "DATABASE_URL": database_url(),
        # The session cookie made here must be valid there.
        "SECRET_KEY": settings.SECRET_KEY,
        "HTTPS_ONLY": "0",
        "CONN_MAX_AGE": "0",
        # Extraction runs inside the web process (no broker to queue it on).
        "CELERY_TASK_ALWAYS_EAGER": "1",
        **extra,
    }
    servers: list[WebProcess] = []
    for name in ("a", "b"):
        # Each its own data folder unless told to share one: nothing is shared
        # but what is configured.
        data_dir = extra.get("RQS_DATA_DIR") or str(tmp_path / f"data-{name}")
        log = tmp_path / f"web-{name}.log"
        servers.append(WebProcess(env | {"RQS_DATA_DIR": data_dir}, log))
    return servers


def browser(user: Any, server: WebProcess) -> requests.Session:
    """A requests session logged in as `user` (a database session both share)."""
    session = requests.Session()
    cookie = logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value
    session.cookies.set(settings.SESSION_COOKIE_NAME, cookie)
    # Any page with a form sets the CSRF cookie.
    session.get(server.url + "/p/p/studies/import/", timeout=30)
    return session


def csrf(session: requests.Session) -> dict[str, str]:
    return {"csrfmiddlewaretoken": session.cookies["csrftoken"]}


def serve_each_others_files(
    servers: list[WebProcess], w: dict[str, Any], pdf: bytes
) -> None:
    a, b = servers
    session = browser(w["lead"], a)
    upload = session.post(
        f"{a.url}/p/p/studies/{w['study'].uuid}/paper/",
        data=csrf(session),
        files={"file": ("nodules.pdf", pdf, "application/pdf")},
        allow_redirects=False,
        timeout=60,
    )
    assert upload.status_code == 302, a.output()
    paper = Paper.objects.get()
    download = session.get(f"{b.url}/papers/{paper.uuid}/file", timeout=30)
    assert download.status_code == 200, b.output()
    assert download.content == pdf
    # An import previewed by one process, confirmed by the other.
    preview = session.post(
        f"{a.url}/p/p/studies/import/",
        data=csrf(session) | {"format": ""},
        files={"file": ("s.csv", io.BytesIO(STUDY_CSV))},
        timeout=30,
    )
    assert preview.status_code == 200, a.output()
    found = re.search(r'name="token" value="([0-9a-f]{32})"', preview.text)
    assert found, preview.text[-2000:]
    confirm = session.post(
        f"{b.url}/p/p/studies/import/",
        data=csrf(session) | {"token": found.group(1), "format": "csv"},
        allow_redirects=False,
        timeout=30,
    )
    assert confirm.status_code == 302, b.output()
    assert "/studies/" in confirm.headers["Location"]
    assert Study.objects.filter(title="Radiomics of the spleen").exists()
    outsider = browser(w["outsider"], b)
    refused = outsider.get(f"{b.url}/papers/{paper.uuid}/file", timeout=30)
    assert refused.status_code == 404


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_web_processes_serve_each_others_files_from_the_bucket(
    storage_url: str, tmp_path: Path, pdf: bytes
) -> None:
    w = world()
    servers = two_web_processes({**CREDENTIALS, "STORAGE_URL": storage_url}, tmp_path)
    try:
        serve_each_others_files(servers, w, pdf)
    finally:
        for server in servers:
            server.stop()
    assert not any((tmp_path / "data-a").rglob("*.pdf"))  # nothing on local disk
    keys = set(bucket_keys(storage_url))
    assert keys == {f"site/papers/{Paper.objects.get().file.name}"}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_web_processes_on_one_shared_folder_answer_200(
    tmp_path: Path, pdf: bytes
) -> None:
    w = world()
    shared = tmp_path / "shared"
    servers = two_web_processes({"RQS_DATA_DIR": str(shared)}, tmp_path)
    try:
        serve_each_others_files(servers, w, pdf)
    finally:
        for server in servers:
            server.stop()
    assert [p.read_bytes() for p in (shared / "papers").rglob("*.pdf")] == [pdf]
