"""Shared fixtures: services (PostgreSQL, Redis, a real Celery worker) and users.

Tests that need a service skip when it is not configured, and fail instead
when REQUIRE_SERVICES=1 (as in .ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parent.parent

# Never fail on a slow or busy machine: no per-example deadline anywhere; in CI
# the examples are derandomised so a run is reproducible.
hypothesis_settings.register_profile(
    "rqs", deadline=None, derandomize=os.environ.get("CI") == "true"
)
hypothesis_settings.load_profile("rqs")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _site_language_after_each_test() -> Iterator[None]:
    """A request in Dutch leaves Dutch active in the thread (LocaleMiddleware
    activates it); the next test starts in the site's language again."""
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


def require(condition: bool, what: str) -> None:
    """Skip, or fail under REQUIRE_SERVICES=1, when a service is missing."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {what}")
    pytest.skip(what)


def uses_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def uses_redis() -> bool:
    return settings.BROKER_KIND == "redis"


@pytest.fixture
def postgres() -> None:
    require(uses_postgres(), "this test needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def redis_broker() -> None:
    require(uses_redis(), "this test needs Redis (set CELERY_BROKER_URL)")


def _database_url(settings_dict: dict[str, object]) -> str:
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def worker_environment(settings_dict: dict[str, object]) -> dict[str, str]:
    """A worker process's environment: this process's, on the test database."""
    return {
        **os.environ,
        "DATABASE_URL": _database_url(settings_dict),
        "CONN_MAX_AGE": "0",
    }


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen[bytes], queue: str, log: Path):
        self.proc = proc
        self.queue = queue
        self.log = log

    def pool_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in out.stdout.split()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def launch_worker(
    env: dict[str, str],
    queue: str,
    log: Path,
    pool: list[str],
    *,
    queues: list[str] | None = None,
) -> WorkerProcess:
    """Start `celery worker` on `queue` and wait until it is ready.

    `queue` is the worker's default queue; it consumes `queues`, by default
    that queue and its reports queue (as `make run`'s worker consumes both).
    """
    from assessments.queue import reports_queue_for

    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    reports = reports_queue_for(queue)
    env = {**env, "CELERY_QUEUE": queue, "CELERY_REPORTS_QUEUE": reports}
    command = [
        celery,
        "-A",
        "rqs",
        "worker",
        *pool,
        "-Q",
        ",".join(queues or [queue, reports]),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "INFO",
    ]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    worker = WorkerProcess(proc, queue, log)
    deadline = time.monotonic() + 60
    while "ready." not in worker.output():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(
                "Celery worker did not start:\n" + worker.output()[-3000:]
            )
        time.sleep(0.1)
    return worker


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """A real `celery worker` process on Redis, working on the test database."""
    require(uses_redis(), "a real worker needs Redis (set CELERY_BROKER_URL)")
    require(uses_postgres(), "a real worker needs PostgreSQL (set DATABASE_URL)")
    from django.db import connection

    from rqs.celery import app

    # A private pair of queues, `test-…` and `test-…-reports`: the reports
    # queue is left to follow the default one (the drills switch it too).
    queue = f"test-{uuid.uuid4().hex[:8]}"
    app.conf.update(task_default_queue=queue, reports_queue="")
    env = worker_environment(connection.settings_dict)
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    try:
        # Prefork with one child: the fault drills kill that child mid-task.
        worker = launch_worker(env, queue, log, ["-P", "prefork", "-c", "1"])
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield worker
    worker.proc.terminate()
    try:
        worker.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.proc.kill()


@pytest.fixture
def user_factory(db: None):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    def make(username: str, **extra: object):  # type: ignore[no-untyped-def]
        return get_user_model().objects.create_user(
            username=username, password="pw", email=f"{username}@example.org", **extra
        )

    return make


@pytest.fixture
def papers_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Papers stored in the test's own folder.

    FileField resolves its callable storage once, when the model is defined,
    so overriding STORAGES does nothing: the field's storage itself is swapped.
    The live server of browser tests runs in this process and sees it too.
    """
    from assessments.models import Paper
    from rqs.storage import PrivateFileSystemStorage

    folder = tmp_path / "papers"
    field = Paper._meta.get_field("file")
    monkeypatch.setattr(field, "storage", PrivateFileSystemStorage(location=folder))
    return folder
