"""Report rendering and dashboard refreshes on separate Celery queues (issue 16).

PDF work (report rendering, paper text extraction) goes to the `reports`
queue, everything else to the default `celery` queue, so a burst of PDFs never
delays a dashboard refresh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client

from assessments import queue
from assessments.models import DashboardSnapshot, Project, Report
from tests.conftest import (
    ROOT,
    WorkerProcess,
    launch_worker,
    require,
    uses_postgres,
    uses_redis,
    worker_environment,
)
from tests.test_reports import build, wait_for

# Prints where each task would be sent, in a fresh process with the given
# environment: the routing a deployed web process and worker get.
ROUTES = """
import json
import django
django.setup()
from rqs.celery import app
from assessments import queue
names = [queue.RENDER_REPORT, queue.EXTRACT_PAPER, queue.REFRESH_DASHBOARD,
         queue.SWEEP, queue.PING]
print(json.dumps({n: app.amqp.router.route({}, n, args=(1,))["queue"].name
                  for n in names}))
"""


def routes_with(**environ: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_QUEUE", "CELERY_REPORTS_QUEUE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="rqs.settings", DEBUG="1", **environ)
    out = subprocess.run(
        [sys.executable, "-c", ROUTES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    routes: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    return routes


def test_reports_and_paper_extraction_go_to_the_reports_queue_the_rest_to_celery() -> (
    None
):
    assert routes_with() == {
        queue.RENDER_REPORT: "reports",
        queue.EXTRACT_PAPER: "reports",
        queue.REFRESH_DASHBOARD: "celery",
        queue.SWEEP: "celery",
        queue.PING: "celery",
    }


def test_the_reports_queue_follows_a_renamed_default_queue_unless_set() -> None:
    renamed = routes_with(CELERY_QUEUE="rqs-staging")
    assert renamed[queue.RENDER_REPORT] == "rqs-staging-reports"
    assert renamed[queue.REFRESH_DASHBOARD] == "rqs-staging"
    named = routes_with(CELERY_REPORTS_QUEUE="pdfs")
    assert named[queue.EXTRACT_PAPER] == "pdfs"
    assert named[queue.SWEEP] == "celery"


def queued_tasks(client: redis.Redis, name: str) -> list[str]:
    """The task names of the messages waiting on a queue (a Redis list)."""
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange(name, 0, -1)]


@pytest.fixture
def private_queues() -> Iterator[tuple[str, str]]:
    """This test's own pair of queues on the shared Redis, as the default."""
    require(uses_redis(), "a real worker needs Redis (set CELERY_BROKER_URL)")
    require(uses_postgres(), "a real worker needs PostgreSQL (set DATABASE_URL)")
    from rqs.celery import app

    saved = {k: app.conf.get(k) for k in ("task_default_queue", "reports_queue")}
    default = f"test-{uuid.uuid4().hex[:8]}"
    app.conf.update(task_default_queue=default, reports_queue="")
    reports = queue.reports_queue_for(default)
    yield default, reports
    app.conf.update(saved)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(default, reports)


def start(default: str, queues: list[str], log: Path) -> WorkerProcess:
    from django.db import connection

    env = worker_environment(connection.settings_dict)
    pool = ["-P", "prefork", "-c", "1", "--prefetch-multiplier", "1"]
    return launch_worker(env, default, log, pool, queues=queues)


def stop(worker: WorkerProcess) -> None:
    worker.proc.terminate()
    try:
        worker.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.proc.kill()
        worker.proc.wait()


def dashboard_is_current(project: Project) -> bool:
    project.refresh_from_db()
    snapshot = DashboardSnapshot.objects.filter(project=project).first()
    return snapshot is not None and snapshot.data_revision == project.data_revision


@pytest.mark.django_db(transaction=True)
def test_a_queued_report_waits_for_a_reports_worker_while_dashboards_refresh(
    private_queues: tuple[str, str], tmp_path: Path
) -> None:
    default, reports = private_queues
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    dashboards = start(default, [default], tmp_path / "celery.log")
    workers = [dashboards]
    try:
        world = build()
        lead: Any = world["lead"]
        client = Client()
        client.force_login(lead)
        response = client.post(
            "/p/p/reports/request", {"kind": "project", "version": world["version"].pk}
        )
        assert response.status_code == 302
        report = Report.objects.get()
        assert queue.refresh_dashboard(world["project"].pk)

        # Only the default queue has a worker: the dashboard is brought up to
        # date while the PDF waits on its own queue, untouched.
        deadline = time.monotonic() + 60
        while not dashboard_is_current(world["project"]):
            assert time.monotonic() < deadline, dashboards.output()[-2000:]
            time.sleep(0.2)
        report.refresh_from_db()
        assert report.status == "queued"
        assert queued_tasks(broker, reports) == [queue.RENDER_REPORT]
        # Its start-up banner lists every task; "name[id] received" is a job.
        assert f"{queue.RENDER_REPORT}[" not in dashboards.output()

        # A reports worker takes it from there.
        workers.append(start(default, [reports], tmp_path / "reports.log"))
        report = wait_for(report)
        assert report.status == "done", report.error + workers[-1].output()[-2000:]
        assert client.get(f"/p/p/reports/{report.uuid}/download").status_code == 200
    finally:
        for worker in workers:
            stop(worker)
