"""Shared pieces of `make bench` and `make load`: guard, seeding, server, client."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH_PREFIX = "bench"
# Synthetic accounts in a benchmark database only.
PASSWORD = "bench-password"
STATIC_ROOT = ROOT / "var" / "bench-static"


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


def start_gunicorn(port: int, workers: int = 2) -> subprocess.Popen[bytes]:
    collect_static()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [
            gunicorn,
            "rqs.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("gunicorn did not start")


def start_worker() -> subprocess.Popen[bytes]:
    celery = str(Path(sys.executable).parent / "celery")
    return subprocess.Popen(
        [celery, "-A", "rqs", "worker", "-P", "prefork", "-c", "1", "-l", "WARNING"],
        cwd=ROOT,
        env=server_env(),
        stdout=subprocess.DEVNULL,
    )


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


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


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
