"""Shared pieces of `make bench` and `make load`: guard, seeding, server, client."""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_PREFIX = "bench"
# Synthetic accounts in a benchmark database only.
PASSWORD = "bench-password"
STATIC_ROOT = ROOT / "var" / "bench-static"
PR_SET_PDEATHSIG = 1  # prctl(2)


def require_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "DATABASE_URL must name a PostgreSQL database for the benchmark "
            "(e.g. postgres://postgres@127.0.0.1:5432/rqs_bench)."
        )
    return url


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rqs.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(24))
    os.environ.setdefault("HTTPS_ONLY", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("STATIC_ROOT", str(STATIC_ROOT))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_bench_database() -> None:
    """Migrate, load instruments, and refuse a database holding real work."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from assessments.models import Project

    call_command("migrate", verbosity=0)
    foreign_projects = Project.objects.exclude(slug__startswith=BENCH_PREFIX)
    foreign_users = get_user_model().objects.exclude(username__startswith=BENCH_PREFIX)
    if foreign_projects.exists() or foreign_users.exists():
        sys.exit(
            "This database holds data that is not the benchmark's; refusing to "
            "touch it. Point DATABASE_URL at an empty database."
        )
    with open(os.devnull, "w") as quiet:
        call_command("load_instruments", verbosity=0, stdout=quiet)


def make_users(prefix: str, n: int) -> list[Any]:
    """Bench users sharing one password hash (hashing 50 passwords costs minutes)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    model = get_user_model()
    wanted = [f"{prefix}{i}" for i in range(n)]
    existing = set(
        model.objects.filter(username__in=wanted).values_list("username", flat=True)
    )
    hashed = make_password(PASSWORD)
    model.objects.bulk_create(
        model(username=name, password=hashed, email=f"{name}@example.org")
        for name in wanted
        if name not in existing
    )
    return list(model.objects.filter(username__in=wanted).order_by("pk"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BENCH_ENDPOINTS": "1",
        "LOG_LEVEL": "ERROR",
        "AXES_FAILURE_LIMIT": "1000",
        "STATIC_ROOT": str(STATIC_ROOT),
        **(extra or {}),
    }


def collect_static() -> None:
    """Production settings serve hashed static files, as in the container."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=server_env(),
        check=True,
    )


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM when the benchmark process dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _spawn(
    command: list[str], env: dict[str, str], group: bool, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A server or worker process, its messages in `log` when given; with
    `group`, in a process group of its own that `stop` ends whole (workers
    and all) and that dies with this process."""
    stderr = None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        stderr = log.open("wb")
    try:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=group,
            preexec_fn=_die_with_parent if group else None,
        )
    finally:
        if stderr is not None:
            stderr.close()


def wait_http(port: int, path: str, proc: subprocess.Popen[bytes], name: str) -> None:
    """Until 127.0.0.1:port answers `path` with 200, or exit saying `name` failed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit(f"{name} did not start")


def start_gunicorn(
    port: int,
    workers: int = 2,
    threads: int = 1,
    env: dict[str, str] | None = None,
    collect: bool = True,
    group: bool = False,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """gunicorn on loopback: sync workers, or gthread ones with `threads` > 1."""
    if collect:
        collect_static()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    worker_class = ["--worker-class", "sync"]
    if threads > 1:
        worker_class = ["--worker-class", "gthread", "--threads", str(threads)]
    proc = _spawn(
        [
            gunicorn,
            "rqs.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *worker_class,
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        server_env(env),
        group,
        log,
    )
    wait_http(port, "/healthz", proc, "gunicorn")
    return proc


def start_worker(
    queues: str = "",
    concurrency: int = 1,
    prefetch: int | None = None,
    name: str = "",
    env: dict[str, str] | None = None,
    group: bool = False,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """A Celery worker; `queues` as for -Q (empty: the default queue)."""
    celery = str(Path(sys.executable).parent / "celery")
    command = [celery, "-A", "rqs", "worker", "-P", "prefork", "-l", "WARNING"]
    command += ["-c", str(concurrency)]
    if queues:
        command += ["-Q", queues]
    if prefetch is not None:
        command += ["--prefetch-multiplier", str(prefetch)]
    if name:
        command += ["-n", f"{name}@%h"]
    return _spawn(command, server_env(env), group, log)


def start_s3(
    port: int, bucket: str, env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """moto's S3 server (a real S3 API, in memory) on 127.0.0.1:port, with
    `bucket` made in it using the credentials in `env`."""
    import boto3

    moto = str(Path(sys.executable).parent / "moto_server")
    command = [moto, "-H", "127.0.0.1", "-p", str(port)]
    proc = _spawn(command, dict(os.environ), True, log)
    wait_http(port, "/moto-api/", proc, "moto_server")
    boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": env["AWS_DEFAULT_REGION"]},
    )
    return proc


def purge_queues(queues: list[str], env: dict[str, str] | None = None) -> None:
    """Drop jobs an interrupted run left in the (benchmark's own) broker."""
    celery = str(Path(sys.executable).parent / "celery")
    subprocess.run(
        [celery, "-A", "rqs", "purge", "-f", "-Q", ",".join(queues)],
        cwd=ROOT,
        env=server_env(env),
        stdout=subprocess.DEVNULL,
        check=True,
    )


def stop(
    procs: list[subprocess.Popen[bytes]], grace: float = 15, group: bool = True
) -> None:
    """End each process and, with `group` (started so), its whole process group.

    SIGTERM first (gunicorn and Celery shut down cleanly), SIGKILL after
    `grace` seconds; the groups are killed at the end either way, so no web
    worker or pool child outlives the run.
    """

    def signal_all(sig: int) -> None:
        for proc in procs:
            try:
                if group:
                    os.killpg(proc.pid, sig)
                elif proc.poll() is None:
                    proc.send_signal(sig)
            except (ProcessLookupError, PermissionError):
                pass

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    signal_all(signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


class Session:
    """A logged-in browser-like client on one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {"Cookie": cookie, "Host": "127.0.0.1", **(extra or {})}

    def _keep(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def request(
        self, method: str, path: str, data: Any = None, fetch: bool = False
    ) -> tuple[int, bytes]:
        body = urlencode(data, doseq=True) if data is not None else None
        headers = self._headers(
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                "Referer": f"http://127.0.0.1:{self.port}/",
                **({"X-Requested-With": "fetch"} if fetch else {}),
            }
        )
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                content = response.read()
                self._keep(response)
                return response.status, content
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=60
                )
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def login(self, username: str, password: str = PASSWORD) -> None:
        status, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1).decode(),
            },
        )
        if status != 302:
            raise RuntimeError(f"login of {username} failed ({status})")


class SpreadSession(Session):
    """A browser-like client whose requests go to any of several web processes.

    Each request picks one of `ports` at random (so an answer saved through one
    process is often read back through another), over a keep-alive connection
    per port. A connection idle for longer than gunicorn keeps it (2 s) is
    replaced before use; a reused one the server closed meanwhile is retried
    once on a new one, as browsers do. Any other failure, a timeout included,
    is the caller's error to count.
    """

    IDLE_S = 1.5

    def __init__(self, ports: list[int], timeout: float = 30, seed: str = "") -> None:
        super().__init__(ports[0])
        self.ports, self.timeout = ports, timeout
        self.rng = random.Random(seed)
        self.conns: dict[int, tuple[http.client.HTTPConnection, float]] = {}
        self.last_headers: http.client.HTTPMessage | None = None

    def _conn(self, port: int) -> tuple[http.client.HTTPConnection, bool]:
        """The port's connection and whether it is being reused."""
        conn, used = self.conns.pop(port, (None, 0.0))
        if conn is not None and time.monotonic() - used <= self.IDLE_S:
            return conn, True
        if conn is not None:
            conn.close()
        fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
        return fresh, False

    def request(
        self,
        method: str,
        path: str,
        data: Any = None,
        fetch: bool = False,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        port = self.rng.choice(self.ports)
        body = urlencode(data, doseq=True) if data is not None else None
        sent = self._headers(
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                "Referer": f"http://127.0.0.1:{port}/",
                **({"X-Requested-With": "fetch"} if fetch else {}),
                **(headers or {}),
            }
        )
        while True:
            conn, reused = self._conn(port)
            try:
                conn.request(method, path, body=body, headers=sent)
                response = conn.getresponse()
                content = response.read()
                break
            except (ConnectionResetError, BrokenPipeError, http.client.BadStatusLine):
                # A kept-alive connection the server closed as we sent: sent
                # again on a new one, as browsers do (once: the next is new).
                conn.close()
                if not reused:
                    raise
            except BaseException:
                conn.close()
                raise
        self.conns[port] = (conn, time.monotonic())
        self._keep(response)
        self.last_headers = response.headers
        return response.status, content


def fetch_url(url: str, timeout: float = 30) -> tuple[int, bytes]:
    """GET an absolute http:// URL (a signed storage link) on a new connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and p99 to 0.1 and the count; None without values (JSON has no NaN)."""
    figures: dict[str, float | None] = {
        f"p{q}": round(percentile(values, q), 1) if values else None
        for q in (50, 95, 99)
    }
    return figures | {"n": len(values)}


def stack_env(s3_port: int, bucket: str) -> dict[str, str]:
    """What every server and worker shares: cache, object storage, credentials."""
    broker = urlsplit(os.environ["CELERY_BROKER_URL"])
    db = int(broker.path.strip("/") or 0)
    cache = broker._replace(path=f"/{db + 1 if db < 15 else db - 1}").geturl()
    endpoint = f"http://127.0.0.1:{s3_port}"
    return {
        "CACHE_URL": os.environ.get("CACHE_URL") or cache,
        "STORAGE_URL": f"s3://{bucket}/load?endpoint_url={endpoint}&region=eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench-access-key",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }


def print_figures(
    figures: dict[str, Any], targets: list[tuple[str, str, float]], width: int = 32
) -> None:
    """The figures as a table, each beside its target and whether it is met."""
    wanted = {name: (op, limit) for name, op, limit in targets}
    print(f"\n{'figure':{width}} {'value':>12}  target")
    print("-" * (width + 28))
    for name, value in figures.items():
        target = ""
        if name in wanted:
            op, limit = wanted[name]
            met = value <= limit if op == "<=" else value >= limit
            target = f"{op} {limit}  {'met' if met else 'NOT MET'}"
        print(f"{name:{width}} {value!s:>12}  {target}")
