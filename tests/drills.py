"""Helpers for the fault drills: a private Redis, Celery pointed at it, a worker.

The drills stop and restart Redis, so they never use the machine's shared
server: each gets its own `redis-server` on a free port, started and ended by
the test, and Celery is pointed at it only for the duration of the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import redis

from tests.conftest import WorkerProcess, launch_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A throw-away redis-server on one port; stop() and start() keep the port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)


@contextmanager
def celery_on(url: str, queue: str) -> Iterator[Any]:
    """Point the web side of Celery (publishing and results) at `url`.

    Celery's settings read CELERY_BROKER_URL from the environment before the
    app's own configuration, so both are switched. The cached connection and
    producer pools and the result backend are set aside (not closed: they
    belong to the shared broker other tests use) and put back afterwards; the
    private ones are closed.
    """
    from rqs.celery import app

    conf = app.conf
    saved_conf = {
        key: conf.get(key)
        for key in (
            "broker_url",
            "broker_read_url",
            "broker_write_url",
            "result_backend",
            "task_default_queue",
            "task_always_eager",
        )
    }
    saved_env = {
        key: os.environ.get(key)
        for key in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
    }
    amqp = app.amqp
    saved_pools = (app._pool, amqp._producer_pool)
    saved_backend = (app._backend_cache, getattr(app._local, "backend", None))

    def reset() -> None:
        app._pool = None
        amqp._producer_pool = None
        app._backend_cache = None
        with suppress(AttributeError):
            del app._local.backend

    os.environ["CELERY_BROKER_URL"] = url
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    conf.update(
        broker_url=url,
        broker_read_url=url,
        broker_write_url=url,
        # As deployed: the results live on the same Redis as the queue.
        result_backend=url,
        task_default_queue=queue,
        task_always_eager=False,
    )
    reset()
    try:
        yield app
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        reset()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        conf.update(saved_conf)
        app._pool, amqp._producer_pool = saved_pools
        app._backend_cache = saved_backend[0]
        if saved_backend[1] is not None:
            app._local.backend = saved_backend[1]


def start_worker(
    *, broker_url: str, queue: str, database_url: str, log: Path
) -> WorkerProcess:
    """A `celery worker` on the private broker, working on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": queue,
        "CONN_MAX_AGE": "0",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    return launch_worker(env, queue, log, ["-P", "solo"])


def stop_worker(worker: WorkerProcess) -> None:
    worker.proc.terminate()
    try:
        worker.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.proc.kill()
        worker.proc.wait()
