"""`make load`: 200 reviewers and 5 leads for 120 s on a scaled-out stack.

On loopback: two gunicorn servers (2 workers x 4 threads; each request goes
to either), a Celery worker per queue (reports: prefetch 1, one job at a
time), moto's S3 server as the object storage, the PostgreSQL in
DATABASE_URL and the Redis in CELERY_BROKER_URL (the shared cache on the next
database number). Everyone logs in before the clock starts. Reviewers
(LOAD_USERS) open a form, save an item every 3-7 s, sometimes type a passage
(3-5 saves 0.5-1 s apart) or open another assessment, and send ~5% of saves
from an "older tab" (must be refused, 409). Leads open the dashboard and the
agreement page and ask for a project report about every 30 s
(LOAD_REPORT_EVERY; 0 for none, to see the web's cost alone): the reports
page's form, the status fragment polled as the page does, the PDF through
its signed link. After LOAD_SECONDS the database is compared with what each
client was told was saved; exits non-zero on any error or lost or altered
answer. Targets are printed, not asserted.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BENCH_PREFIX,
    SpreadSession,
    ensure_bench_database,
    fetch_url,
    free_port,
    make_users,
    percentiles,
    print_figures,
    purge_queues,
    require_database,
    setup_django,
    stack_env,
    start_gunicorn,
    start_s3,
    start_worker,
    stop,
)
from bench.seed import CHOICES

USERS = int(os.environ.get("LOAD_USERS", "200"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "120"))
LEADS = 5
PER_STUDY = 2  # two reviewers per study, so the agreement page has pairs
PROCESSES = 4  # client processes; each runs its clients as (mostly sleeping) threads
STALE_SHARE = 0.05  # saves sent from an "older tab", which must be refused
TIMEOUT = 30  # seconds, every request
REPORT_EVERY = float(os.environ.get("LOAD_REPORT_EVERY", "30"))  # 0: no reports
SLUG = f"{BENCH_PREFIX}-load"
LOGS = Path(__file__).resolve().parent.parent / "var" / "load"  # servers' messages
# Endpoint kinds timed; s3_get is following the signed link to the bucket.
KINDS = ["autosave", "stale_save", "form", "dashboard", "agreement"]
KINDS += ["report_request", "report_status", "report_download", "s3_get"]
PASSAGE = (  # typed into the evidence box, a few words per save
    "The radiomic features were extracted with PyRadiomics from manually "
    "delineated volumes and their stability was tested on a test-retest "
    "subset of twenty patients scanned twice within fifteen minutes"
)


def seed() -> tuple[dict[str, list[str]], list[str]]:
    """The load project (reused when its layout matches), reviewers and leads."""
    from assessments.models import Assessment, Membership, Project, Report
    from bench.seed import seed_project

    reviewers = make_users(f"{BENCH_PREFIX}-load-", USERS)
    leads = make_users(f"{BENCH_PREFIX}-load-lead", LEADS)
    n_studies = USERS * 2
    existing = Project.objects.filter(slug=SLUG).first()
    if existing is not None and (
        Assessment.objects.filter(study__project=existing).count()
        != n_studies * PER_STUDY
    ):
        existing.delete()  # an earlier layout (one reviewer per study)
    project = seed_project(
        slug=SLUG,
        n_studies=n_studies,
        reviewers=reviewers,
        lead=leads[0],
        per_study=PER_STUDY,
        open_only=True,
    )
    for lead in leads[1:]:
        Membership.objects.get_or_create(
            project=project, user=lead, defaults={"role": "lead"}
        )
    # Reports of earlier runs point into an S3 server that is gone.
    Report.objects.filter(project=project).delete()
    own: dict[str, list[str]] = {}
    for uuid, username in Assessment.objects.filter(study__project=project).values_list(
        "uuid", "reviewer__username"
    ):
        own.setdefault(username, []).append(str(uuid))
    return own, [lead.username for lead in leads]


class Client:
    """One person at a browser: timed requests, errors, and a sense of time."""

    def __init__(self, ports: list[int], username: str) -> None:
        self.session = SpreadSession(ports, timeout=TIMEOUT, seed=username)
        self.username = username
        self.rng = random.Random(username)
        self.latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.errors: list[str] = []
        self.deadline = 0.0

    def timed(
        self,
        kind: str,
        method: str,
        path: str,
        data: Any = None,
        fetch: bool = False,
        headers: dict[str, str] | None = None,
        expect: int | None = 200,
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, body = self.session.request(method, path, data, fetch, headers)
        except Exception as exc:  # a timeout or dropped connection is an error
            self.errors.append(f"{kind} {method} {path}: {exc!r}")
            return 0, b""
        self.latencies[kind].append((time.perf_counter() - started) * 1000)
        if expect is not None and status != expect:
            self.errors.append(f"{kind} {method} {path}: {status} {body[:120]!r}")
        return status, body

    def pause(self, seconds: float) -> bool:
        """Sleep; False (after sleeping to the end) when the run ends first."""
        left = self.deadline - time.monotonic()
        time.sleep(max(0.0, min(seconds, left)))
        return seconds < left


class Reviewer(Client):
    def __init__(self, ports: list[int], username: str, assessments: list[str]):
        super().__init__(ports, username)
        self.assessments = assessments
        self.current = assessments[0]
        self.seen: dict[tuple[str, str], int] = {}
        self.confirmed: dict[tuple[str, str], dict[str, Any]] = {}
        self.stale_sent = self.stale_refused = 0

    def prepare(self) -> None:
        self.session.login(self.username)
        for uuid in self.assessments:
            _, body = self.session.request("GET", f"/a/{uuid}.json")
            for code, answer in json.loads(body)["answers"].items():
                self.seen[(uuid, code)] = answer["revision"]

    def run(self) -> None:
        if not self.pause(self.rng.uniform(0, 5)):  # not everyone starts at once
            return
        self.open(self.rng.choice(self.assessments))
        while self.pause(self.rng.uniform(3, 7)):
            roll = self.rng.random()
            if roll < 0.05:
                self.open(self.rng.choice(self.assessments))
            elif roll < 0.15:
                self.type_passage()
            else:
                code = self.rng.choice(list(CHOICES))
                evidence = f"{self.username} {time.monotonic_ns()}"
                stale = self.rng.random() < STALE_SHARE
                self.save(code, self.rng.choice(CHOICES[code]), evidence, stale)

    def open(self, uuid: str) -> None:
        self.current = uuid
        self.timed("form", "GET", f"/a/{uuid}/")

    def type_passage(self) -> None:
        """3-5 saves of one item 0.5-1 s apart, the evidence growing as typed."""
        code = self.rng.choice(list(CHOICES))
        choices = self.rng.choice(CHOICES[code])
        start = f"{self.username} {time.monotonic_ns()}:"
        for burst in range(self.rng.randint(3, 5)):
            if burst and not self.pause(self.rng.uniform(0.5, 1.0)):
                return
            words = PASSAGE.split()[: (burst + 1) * self.rng.randint(2, 4)]
            typed = " ".join(words)
            self.save(code, choices, f"{start} {typed}", stale=False)

    def save(self, code: str, choices: list[str], evidence: str, stale: bool) -> None:
        key = (self.current, code)
        stale = stale and self.seen.get(key, 0) > 0
        data = {
            "item": code,
            "choices": choices,
            "answered": "1",
            "seen": self.seen.get(key, 0) - (1 if stale else 0),
            "evidence": evidence,
            "page": "7",
        }
        self.stale_sent += stale
        kind = "stale_save" if stale else "autosave"
        path = f"/a/{self.current}/answer"
        status, body = self.timed(kind, "POST", path, data, fetch=True, expect=None)
        if status == 200:
            if stale:
                self.errors.append(f"stale save of {key} was accepted")
            self.seen[key] = json.loads(body)["revision"]
            self.confirmed[key] = {"choices": choices, "evidence": evidence}
        elif status == 409 and stale:
            self.stale_refused += 1
        elif status:
            self.errors.append(f"{status} on {code} (stale={stale}): {body[:120]!r}")


class Lead(Client):
    def __init__(self, ports: list[int], username: str) -> None:
        super().__init__(ports, username)
        self.version = self.token = ""
        self.requested = self.done = 0
        self.report_seconds: list[float] = []
        self.failed = 0

    def prepare(self) -> None:
        self.session.login(self.username)
        _, page = self.session.request("GET", f"/p/{SLUG}/reports/")
        version = re.search(rb'name="version"><option value="([^"]+)"', page)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not (version and token):
            raise RuntimeError("no report form on the reports page")
        self.version, self.token = version.group(1).decode(), token.group(1).decode()

    def run(self) -> None:
        now = time.monotonic()
        next_page = now + self.rng.uniform(0, 15)
        next_report = now + self.rng.uniform(0, REPORT_EVERY or float("inf"))
        while self.pause(min(next_page, next_report) - time.monotonic()):
            if time.monotonic() >= next_page:
                page = "dashboard" if self.rng.random() < 0.6 else "agreement"
                self.timed(page, "GET", f"/p/{SLUG}/{page}/")
                next_page = time.monotonic() + self.rng.uniform(10, 20)
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + self.rng.uniform(
                    REPORT_EVERY - 5, REPORT_EVERY + 5
                )
                self.report()

    def report(self) -> None:
        """Ask for the project report, watch it, download it when it is done."""
        form = {"csrfmiddlewaretoken": self.token, "kind": "project"}
        form |= {"version": self.version}
        started = time.monotonic()
        path = f"/p/{SLUG}/reports/request"
        status, _ = self.timed("report_request", "POST", path, form, expect=302)
        headers = self.session.last_headers
        if status != 302 or headers is None:
            return
        self.requested += 1
        status_path = urlsplit(headers.get("Location", "")).path
        while self.pause(1.5):  # the page's htmx trigger: every 1500 ms
            _, body = self.timed(
                "report_status", "GET", status_path, headers={"HX-Request": "true"}
            )
            if b"alert-danger" in body:
                self.errors.append(f"report {status_path} failed: {body[:200]!r}")
                self.failed += 1
                return
            if b'/download"' in body:
                self.report_seconds.append(time.monotonic() - started)
                self.download(status_path + "download")
                return

    def download(self, path: str) -> None:
        status, body = self.timed("report_download", "GET", path, expect=None)
        headers = self.session.last_headers
        if status == 302 and headers is not None:  # a signed link to the bucket
            started = time.perf_counter()
            try:
                status, body = fetch_url(headers.get("Location", ""), TIMEOUT)
            except Exception as exc:
                self.errors.append(f"s3_get of {path}: {exc!r}")
                return
            self.latencies["s3_get"].append((time.perf_counter() - started) * 1000)
        if status != 200 or not body.startswith(b"%PDF-"):
            self.errors.append(f"download {path}: {status} {body[:80]!r}")
        else:
            self.done += 1


def run_process(args: tuple[list[int], list[Any], list[str], Any, Any]) -> dict:
    ports, reviewer_rows, lead_names, ready, go = args
    reviewers = [Reviewer(ports, name, uuids) for name, uuids in reviewer_rows]
    leads = [Lead(ports, name) for name in lead_names]
    clients: list[Any] = [*reviewers, *leads]
    failed = ""
    try:
        for client in clients:
            client.prepare()
    except Exception as exc:
        failed = f"logging in: {exc!r}"
    ready.put(failed)
    go.wait()
    deadline = time.monotonic() + SECONDS
    for client in clients:
        client.deadline = 0.0 if failed else deadline
    threads = [threading.Thread(target=client.run) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": {k: [x for c in clients for x in c.latencies[k]] for k in KINDS},
        "errors": [failed] * bool(failed) + [e for c in clients for e in c.errors],
        "stale_sent": sum(r.stale_sent for r in reviewers),
        "stale_refused": sum(r.stale_refused for r in reviewers),
        "reports_requested": sum(lead.requested for lead in leads),
        "reports_done": sum(lead.done for lead in leads),
        "reports_pending": sum(
            lead.requested - lead.failed - len(lead.report_seconds) for lead in leads
        ),
        "report_seconds": [s for lead in leads for s in lead.report_seconds],
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
            assessment__study__project__slug=SLUG
        ).values_list("assessment__uuid", "item_code", "choices", "evidence")
    }
    problems = []
    for uuid, code, value in confirmed:
        got = stored.get((uuid, code))
        if got != (value["choices"], value["evidence"]):
            problems.append(f"{uuid} item {code}: told {value}, stored {got}")
    return problems


def start_stack(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """The servers and workers, appended to `procs` as they start; the web ports."""
    s3_port = free_port()
    bucket = f"rqs-load-{secrets.token_hex(4)}"
    env = stack_env(s3_port, bucket)
    procs.append(start_s3(s3_port, bucket, env, log=LOGS / "s3.log"))
    purge_queues(["celery", "reports"], env)
    for q in ("celery", "reports"):  # -c 1 --prefetch-multiplier 1 each
        log = LOGS / f"worker-{q}.log"
        procs.append(start_worker(q, prefetch=1, name=q, env=env, group=True, log=log))
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):  # gthread: 2 workers x 4 threads each
        kwargs: dict[str, Any] = {"env": env, "collect": i == 0, "group": True}
        procs.append(start_gunicorn(port, 2, 4, log=LOGS / f"web-{i}.log", **kwargs))
    return ports


def main() -> None:
    require_database()
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit(
            "CELERY_BROKER_URL must name the Redis to use (redis://127.0.0.1:6379/0)."
        )
    # Ctrl-C (even if a shell left SIGINT ignored) and SIGTERM stop the stack
    # through the finally below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    setup_django()
    ensure_bench_database()
    own, leads = seed()
    from django.db import connections

    connections.close_all()  # the client processes fork from this one
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports = start_stack(procs)
        users = sorted(own.items())
        chunks = [
            (ports, users[i::PROCESSES], leads[i::PROCESSES]) for i in range(PROCESSES)
        ]
        results = _run(chunks)
    finally:
        stop(procs[1:])  # web servers and workers, then the object storage
        stop(procs[:1])
    summarise(results)


def _run(chunks: list[tuple[list[int], list[Any], list[str]]]) -> list[dict]:
    """One client process per chunk; the clock starts once all have logged in."""
    context = multiprocessing.get_context("fork")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    children = [
        context.Process(target=client_process, args=((*chunk, ready, go), results))
        for chunk in chunks
    ]
    print(f"Logging in {USERS} reviewers and {LEADS} leads ...", flush=True)
    try:
        for child in children:
            child.start()
        failures = [wait_for(ready, children, 1800) for _ in children]
        go.set()
        if any(failures):
            print("Logging in failed:", *filter(None, failures), flush=True)
        else:
            print(f"All logged in; {SECONDS:.0f} s of load ...", flush=True)
        return [wait_for(results, children, SECONDS + 120) for _ in children]
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join(timeout=10)


def client_process(args: Any, results: Any) -> None:
    # Ctrl-C and SIGTERM are the parent's to handle: it ends the children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    results.put(run_process(args))


def wait_for(messages: Any, children: list[Any], seconds: float) -> Any:
    """The next message, or exit when a client process died or time ran out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return messages.get(timeout=1)
        except queue.Empty:
            if any(child.exitcode for child in children):
                sys.exit("A client process died; see the traceback above.")
    sys.exit("The client processes did not finish in time.")


def summarise(results: list[dict]) -> None:
    latencies = {k: [x for r in results for x in r["latencies"][k]] for k in KINDS}
    errors = [e for r in results for e in r["errors"]]
    confirmed = [c for r in results for c in r["confirmed"]]
    problems = verify(confirmed)
    requests = sum(len(values) for values in latencies.values())
    per_kind = {kind: percentiles(values) for kind, values in latencies.items()}
    report_seconds = [s for r in results for s in r["report_seconds"]]
    summary: dict[str, Any] = {
        "users": USERS,
        "leads": LEADS,
        "seconds": SECONDS,
        "web_servers": 2,
        "requests": requests,
        "rps": round(requests / SECONDS, 1),
        "errors": len(errors),
        "stale_saves_sent": sum(r["stale_sent"] for r in results),
        "stale_saves_refused": sum(r["stale_refused"] for r in results),
        "answers_checked": len(confirmed),
        "lost_or_altered": len(problems),
        "reports_requested": sum(r["reports_requested"] for r in results),
        "reports_done": sum(r["reports_done"] for r in results),
        "reports_pending_at_end": sum(r["reports_pending"] for r in results),
        "reports_seconds_p50": percentiles(report_seconds)["p50"],
        **per_kind,
    }
    for line in errors[:10] + problems[:10]:
        print(line)
    print(f"Server, worker and S3 messages: {LOGS}/")
    print(f"\n{'endpoint (ms)':18} {'p50':>8} {'p95':>8} {'p99':>8} {'n':>7}")
    for kind, row in per_kind.items():
        cells = [str(row[q]) if row["n"] else "-" for q in ("p50", "p95", "p99")]
        print(f"{kind:18} {cells[0]:>8} {cells[1]:>8} {cells[2]:>8} {row['n']:>7}")
    flat = {k: v for k, v in summary.items() if k not in per_kind}
    flat["autosave_p95_ms"] = per_kind["autosave"]["p95"] or float("nan")
    print_figures(
        flat,
        [
            ("autosave_p95_ms", "<=", 150),
            ("errors", "<=", 0),
            ("lost_or_altered", "<=", 0),
        ],
    )
    print(json.dumps(summary))
    sys.exit(1 if errors or problems else 0)


if __name__ == "__main__":
    main()
