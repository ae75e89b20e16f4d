"""`make load`: 50 simulated reviewers autosave for 60 s; then check nothing was lost.

Starts gunicorn (plain HTTP) and a Celery worker on loopback against the
PostgreSQL database in DATABASE_URL and the Redis in CELERY_BROKER_URL, logs
every reviewer in before the clock starts, and compares the database with
what each client was told was saved. Exits non-zero on any error or any lost
or altered answer. Bounded: it stops by itself.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BENCH_PREFIX,
    Session,
    ensure_bench_database,
    free_port,
    make_users,
    percentile,
    require_database,
    setup_django,
    start_gunicorn,
    start_worker,
)
from bench.seed import CHOICES

USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
PROCESSES = 5
STALE_SHARE = 0.05  # saves sent from an "older tab", which must be refused


def seed() -> dict[str, list[str]]:
    from bench.seed import seed_project

    reviewers = make_users(f"{BENCH_PREFIX}-load-", USERS)
    lead = make_users(f"{BENCH_PREFIX}-load-lead", 1)[0]
    project = seed_project(
        slug=f"{BENCH_PREFIX}-load",
        n_studies=USERS * 4,
        reviewers=reviewers,
        lead=lead,
        per_study=1,
        open_only=True,
    )
    from assessments.models import Assessment

    own: dict[str, list[str]] = {}
    for uuid, username in Assessment.objects.filter(study__project=project).values_list(
        "uuid", "reviewer__username"
    ):
        own.setdefault(username, []).append(str(uuid))
    return own


class Reviewer:
    def __init__(self, port: int, username: str, assessments: list[str]) -> None:
        self.session = Session(port)
        self.username = username
        self.assessments = assessments
        self.rng = random.Random(username)
        self.seen: dict[tuple[str, str], int] = {}
        self.confirmed: dict[tuple[str, str], dict[str, Any]] = {}
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stale_refused = 0
        self.requests = 0

    def prepare(self) -> None:
        self.session.login(self.username)
        for uuid in self.assessments:
            _, body = self.session.request("GET", f"/a/{uuid}.json")
            for code, answer in json.loads(body)["answers"].items():
                self.seen[(uuid, code)] = answer["revision"]

    def step(self) -> None:
        uuid = self.rng.choice(self.assessments)
        if self.rng.random() < 0.1:
            self._timed("GET", f"/a/{uuid}/", None)
            return
        code = self.rng.choice(list(CHOICES))
        choices = self.rng.choice(CHOICES[code])
        key = (uuid, code)
        stale = self.rng.random() < STALE_SHARE and self.seen.get(key, 0) > 0
        data = {
            "item": code,
            "choices": choices,
            "answered": "1",
            "seen": self.seen.get(key, 0) - (1 if stale else 0),
            "evidence": f"{self.username} {time.monotonic_ns()}",
            "page": "7",
        }
        status, body = self._timed("POST", f"/a/{uuid}/answer", data, fetch=True)
        if status == 200:
            self.seen[key] = json.loads(body)["revision"]
            self.confirmed[key] = {"choices": choices, "evidence": data["evidence"]}
        elif status == 409 and stale:
            self.stale_refused += 1
        else:
            self.errors.append(f"{status} on {code} (stale={stale}): {body[:120]!r}")

    def _timed(
        self, method: str, path: str, data: Any, fetch: bool = False
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, body = self.session.request(method, path, data, fetch=fetch)
        except Exception as exc:  # a dropped connection is an error to report
            self.errors.append(f"{method} {path}: {exc}")
            return 0, b""
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.requests += 1
        if method == "GET" and status != 200:
            self.errors.append(f"GET {path}: {status}")
        return status, body


def run_process(args: tuple[int, list[tuple[str, list[str]]], float, Any]) -> dict:
    port, users, start_at, barrier_queue = args
    reviewers = [Reviewer(port, name, uuids) for name, uuids in users]
    for reviewer in reviewers:
        reviewer.prepare()
    barrier_queue.put("ready")
    while time.time() < start_at:
        time.sleep(0.01)
    deadline = time.monotonic() + SECONDS

    def loop(reviewer: Reviewer) -> None:
        while time.monotonic() < deadline:
            reviewer.step()

    threads = [threading.Thread(target=loop, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": [x for r in reviewers for x in r.latencies],
        "errors": [e for r in reviewers for e in r.errors],
        "stale_refused": sum(r.stale_refused for r in reviewers),
        "requests": sum(r.requests for r in reviewers),
        "confirmed": [
            [uuid, code, value]
            for r in reviewers
            for (uuid, code), value in r.confirmed.items()
        ],
    }


def verify(confirmed: list[list[Any]]) -> list[str]:
    """Every answer a client was told was saved is in the database, unaltered."""
    from assessments.models import Answer

    stored = {
        (str(uuid), code): (choices, evidence)
        for uuid, code, choices, evidence in Answer.objects.filter(
            assessment__study__project__slug=f"{BENCH_PREFIX}-load"
        ).values_list("assessment__uuid", "item_code", "choices", "evidence")
    }
    problems = []
    for uuid, code, value in confirmed:
        got = stored.get((uuid, code))
        if got != (value["choices"], value["evidence"]):
            problems.append(f"{uuid} item {code}: told {value}, stored {got}")
    return problems


def main() -> None:
    require_database()
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit(
            "CELERY_BROKER_URL must name the Redis to use (redis://127.0.0.1:6379/0)."
        )
    setup_django()
    ensure_bench_database()
    own = seed()
    port = free_port()
    server, worker = start_gunicorn(port, workers=2), start_worker()
    try:
        users = sorted(own.items())
        chunks = [users[i::PROCESSES] for i in range(PROCESSES)]
        manager = multiprocessing.Manager()
        ready = manager.Queue()
        print(f"Logging in {len(users)} reviewers ...", flush=True)
        results = _run(port, chunks, ready)
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=30)
        worker.wait(timeout=30)
    summarise(results)


def _run(port: int, chunks: list[Any], ready: Any) -> list[dict]:
    # Logging in takes a while (password hashing); the clock starts after it.
    login_budget = 10 + len(chunks) * 6
    start_at = time.time() + login_budget
    with multiprocessing.Pool(len(chunks)) as pool:
        async_result = pool.map_async(
            run_process, [(port, chunk, start_at, ready) for chunk in chunks]
        )
        for _ in chunks:
            ready.get(timeout=login_budget + 60)
        print(f"All logged in; {SECONDS:.0f} s of autosaving ...", flush=True)
        return async_result.get(timeout=login_budget + SECONDS + 300)


def summarise(results: list[dict]) -> None:
    latencies = [x for r in results for x in r["latencies"]]
    errors = [e for r in results for e in r["errors"]]
    confirmed = [c for r in results for c in r["confirmed"]]
    problems = verify(confirmed)
    summary = {
        "users": USERS,
        "seconds": SECONDS,
        "requests": sum(r["requests"] for r in results),
        "rps": round(sum(r["requests"] for r in results) / SECONDS, 1),
        "errors": len(errors),
        "stale_saves_refused": sum(r["stale_refused"] for r in results),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "answers_checked": len(confirmed),
        "lost_or_altered": len(problems),
    }
    for line in errors[:10] + problems[:10]:
        print(line)
    for name, value in summary.items():
        print(f"{name:22} {value}")
    print(json.dumps(summary))
    sys.exit(1 if errors or problems else 0)


if __name__ == "__main__":
    main()
