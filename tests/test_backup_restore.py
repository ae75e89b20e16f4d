"""Backup and restore drill: the README's commands, on PostgreSQL, without Docker.

A small world (a project, studies, a paper, a submitted assessment with
evidence, a quote and its history, a rendered report) is committed to a
database of its own, not the test's transaction, by `manage.py` processes
pointed at it. The README's "Backup and restore" commands, read from README.md
so the two cannot drift, back it up with `pg_dump` and `tar`, and restore it into
a fresh database and an empty file store. The restored copy must hold every row
the original held and serve the report and the paper with the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assessments.models import Answer, InstrumentVersion, Paper, Report
from assessments.selectors.reports import ReportRequest
from assessments.services import answering, assignment, papers
from assessments.services import reports as report_service
from assessments.services.quotes import QuoteInput
from assessments.services.score_imports import create_submitted
from tests.conftest import require, uses_postgres
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project
from tests.paperpdf import make_pdf

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SLUG = "backup"
QUOTE = "validated the signature in an external cohort of 212 patients"
PAGES = [
    f"Methods\n\nWe extracted 1,200 features and {QUOTE} from a second hospital.",
    "Results\n\nThe calibration slope was 0.94 in the validation cohort.",
]
MARK = "RESULT "


def readme_blocks() -> tuple[str, str]:
    """The backup and the restore commands, as README.md gives them."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Backup and restore\n", 1)[1].split("\n## ", 1)[0]
    backup, restore = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return backup, restore


# --- run inside `manage.py shell` against the drill's own database -----------------


def build_world() -> None:
    """The world to back up, committed as the app would commit it."""
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug=SLUG)
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=project, title="Lung CT radiomics signature")
    other = StudyFactory(project=project, title="Radiomics of liver lesions")
    pdf = SimpleUploadedFile("paper.pdf", make_pdf(PAGES), "application/pdf")
    paper = papers.upload_paper(
        study=study, user=lead, uploaded_file=pdf, filename="paper.pdf"
    )
    mine = assignment.assign_reviewer(
        study=study, version=version, reviewer=r1, user=lead
    )
    quote = QuoteInput(paper=str(paper.uuid), page=1, exact=QUOTE)
    for code, choices in RQS_13.items():
        data = answering.AnswerInput(
            item_code=code,
            choices=choices,
            evidence=f"Evidence for item {code}: see the methods.",
            page="1",
            comment="Checked twice." if code == "5" else "",
            quotes=(quote,) if code == "12" else None,
        )
        answering.save_answer(assessment=mine, user=r1, data=data, seen_revision=0)
    # A second save of one item: a history row more than the answer rows.
    revised = Answer.objects.get(assessment=mine, item_code="2")
    answering.save_answer(
        assessment=mine,
        user=r1,
        data=answering.AnswerInput(
            item_code="2", choices=["yes"], evidence="Revised: protocol on page 2."
        ),
        seen_revision=revised.revision,
    )
    answering.submit_assessment(assessment=mine, user=r1)
    create_submitted(study, version, r2, {**RQS_13, "7": ["yes"]})
    create_submitted(other, version, r2, RQS_13)
    report_service.request_report(
        ReportRequest(kind="project", project=project, version=version, user=lead)
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot() -> None:
    """Every row of the app (history tables included) and every stored file."""
    models = [get_user_model(), *apps.get_app_config("assessments").get_models()]
    rows = {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in models
    }
    files = {}
    for report in Report.objects.exclude(file=""):
        with report.file.open("rb") as handle:
            files[f"report {report.uuid}"] = _sha(handle.read())
    for paper in Paper.objects.all():
        with paper.file.open("rb") as handle:
            files[f"paper {paper.uuid}"] = _sha(handle.read())
    print(MARK + json.dumps({"rows": rows, "files": files}, default=str))


def _body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def serve() -> None:
    """What the restored app answers a lead: downloads, the answers' history."""
    client = Client()
    client.force_login(get_user_model().objects.get(username="lead"))
    served: dict[str, Any] = {"healthz": client.get("/healthz").status_code}
    for report in Report.objects.all():
        response = client.get(f"/p/{SLUG}/reports/{report.uuid}/download")
        served[f"report {report.uuid}"] = [response.status_code, _sha(_body(response))]
    for paper in Paper.objects.all():
        response = client.get(f"/papers/{paper.uuid}/file")
        served[f"paper {paper.uuid}"] = [response.status_code, _sha(_body(response))]
    (mine,) = {a.assessment for a in Answer.objects.all() if a.quotes}
    history = client.get(f"/a/{mine.uuid}/history/")
    served["history"] = [history.status_code, _body(history).decode()]
    print(MARK + json.dumps(served))


# --- the drill ---------------------------------------------------------------------


def server() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        "PGHOST": str(db.get("HOST") or "127.0.0.1"),
        "PGPORT": str(db.get("PORT") or 5432),
        "PGUSER": str(db.get("USER") or "postgres"),
        "PGPASSWORD": str(db.get("PASSWORD") or ""),
    }


def admin(sql: str) -> None:
    pg = server()
    conn = psycopg2.connect(
        host=pg["PGHOST"],
        port=pg["PGPORT"],
        user=pg["PGUSER"],
        password=pg["PGPASSWORD"],
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def app_env(name: str, store: Path) -> dict[str, str]:
    """A fresh environment naming one database and one file store, local files."""
    pg = server()
    auth = pg["PGUSER"] + (":" + pg["PGPASSWORD"] if pg["PGPASSWORD"] else "")
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(store)),
        "LANG": "C.UTF-8",
        **pg,
        "DB": name,
        "DATABASE_URL": f"postgres://{auth}@{pg['PGHOST']}:{pg['PGPORT']}/{name}",
        "MEDIA_ROOT": str(store / "media"),
        "PAPERS_ROOT": str(store / "papers"),
        "RQS_DATA_DIR": str(store / "data"),
        "BACKUP": str(store.parent / "backup"),
        # Development settings, reports rendered in-process, no broker or cache.
        "DEBUG": "1",
        "HTTPS_ONLY": "0",
        "ALLOWED_HOSTS": "testserver",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "CONN_MAX_AGE": "0",
    }


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args[:4]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def manage(env: dict[str, str], *args: str) -> str:
    return run([sys.executable, "manage.py", *args], env)


def in_app(env: dict[str, str], function: str) -> Any:
    """Call one of the functions above in the app, as `manage.py shell` runs it."""
    code = f"import tests.test_backup_restore as drill; drill.{function}()"
    out = manage(env, "shell", "-c", code)
    lines = [ln[len(MARK) :] for ln in out.splitlines() if ln.startswith(MARK)]
    return json.loads(lines[0]) if lines else None


def shell(block: str, env: dict[str, str]) -> str:
    return run(["bash", "-euo", "pipefail", "-c", block], env)


@pytest.fixture
def databases() -> Any:
    require(uses_postgres(), "the backup drill needs PostgreSQL (set DATABASE_URL)")
    if settings.DATABASE_POOLING == "transaction":
        pytest.skip("backups go to PostgreSQL itself, not through PgBouncer")
    suffix = uuid.uuid4().hex[:8]
    names = (f"rqs_backup_src_{suffix}", f"rqs_backup_new_{suffix}")
    admin(f"CREATE DATABASE {names[0]}")
    yield names
    for name in names:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_readme_backup_restores_every_answer_history_row_quote_and_report(
    databases: tuple[str, str], tmp_path: Path
) -> None:
    require(
        (ROOT / ".venv" / "bin" / "python").exists(),
        "the README's commands run the project's .venv",
    )
    backup_commands, restore_commands = readme_blocks()
    original = app_env(databases[0], tmp_path / "original")
    manage(original, "migrate", "--noinput", "-v", "0")
    in_app(original, "build_world")
    before = in_app(original, "snapshot")
    rows = before["rows"]
    assert len(rows["assessments.Answer"]) == 3 * len(RQS_13)
    quotes = [q for a in rows["assessments.Answer"] for q in a["quotes"] or []]
    assert [(q["exact"], q["verified"]) for q in quotes] == [(QUOTE, True)]
    assert len(rows["assessments.HistoricalAnswer"]) > len(RQS_13)
    assert [r["status"] for r in rows["assessments.Report"]] == ["done"]
    assert len(before["files"]) == 2  # the report and the paper

    Path(original["BACKUP"]).mkdir()
    shell(backup_commands, original)
    # Nothing of the original is left to read from: its store is gone.
    shutil.rmtree(tmp_path / "original")

    restored = app_env(databases[1], tmp_path / "restored")
    out = shell(restore_commands, restored)
    assert "No migrations to apply." in out
    after = in_app(restored, "snapshot")
    for label, held in before["rows"].items():
        assert after["rows"][label] == held, f"{label} differs after the restore"
    assert after["files"] == before["files"]

    served = in_app(restored, "serve")
    assert served.pop("healthz") == 200
    status, history = served.pop("history")
    assert status == 200
    assert "Revised: protocol on page 2." in history and QUOTE in history
    assert served == {name: [200, sha] for name, sha in before["files"].items()}
