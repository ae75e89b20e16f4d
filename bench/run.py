"""`make bench`: seed a synthetic project and measure each figure beside a baseline.

Needs DATABASE_URL (PostgreSQL). Prints a table, then one JSON line with every
figure. It measures; it never fails because a number is slow.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import evidence
from bench.common import (
    BENCH_PREFIX,
    Session,
    ensure_bench_database,
    free_port,
    make_users,
    percentile,
    print_figures,
    require_database,
    setup_django,
    start_gunicorn,
)
from bench.viewer import TARGET_S as VIEWER_TARGET_S
from bench.viewer import measure_viewer

N_STUDIES = int(os.environ.get("BENCH_STUDIES", "10000"))
CLIENTS = 4
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


# --- seeding ------------------------------------------------------------------------


def seed() -> dict[str, Any]:
    from bench.seed import seed_project

    started = time.perf_counter()
    reviewers = make_users(f"{BENCH_PREFIX}-reviewer", 12)
    lead = make_users(f"{BENCH_PREFIX}-lead", 1)[0]
    main = seed_project(
        slug=f"{BENCH_PREFIX}", n_studies=N_STUDIES, reviewers=reviewers, lead=lead
    )
    p100 = seed_project(
        slug=f"{BENCH_PREFIX}-100", n_studies=100, reviewers=reviewers, lead=lead
    )
    p1000 = seed_project(
        slug=f"{BENCH_PREFIX}-1000", n_studies=1000, reviewers=reviewers, lead=lead
    )
    return {
        "seed_s": round(time.perf_counter() - started, 1),
        "main": main,
        "p100": p100,
        "p1000": p1000,
        "lead": lead,
        "reviewers": reviewers,
    }


# --- autosave over HTTP -------------------------------------------------------------


def _client(args: tuple[int, str, str, list[int], str, float, Any]) -> None:
    port, username, assessment, answer_pks, kind, seconds, queue = args
    session = Session(port)
    session.login(username)
    rng = random.Random(username)
    _, body = session.request("GET", f"/a/{assessment}.json")
    seen = {code: a["revision"] for code, a in json.loads(body)["answers"].items()}
    latencies: list[float] = []
    errors = 0
    queue.put(("ready", username))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if kind == "autosave":
            item = rng.choice(["2", "3", "4", "6", "7", "8"])
            data = {
                "item": item,
                "choices": rng.choice(["yes", "no"]),
                "seen": seen.get(item, 0),
                "evidence": f"quote {rng.random()}",
                "page": "4",
            }
            path = f"/a/{assessment}/answer"
        else:
            data = {"pk": rng.choice(answer_pks), "comment": f"c {rng.random()}"}
            path = "/bench/baseline"
        started = time.perf_counter()
        status, body = session.request("POST", path, data, fetch=True)
        latencies.append((time.perf_counter() - started) * 1000)
        if kind == "autosave" and status in (200, 409):
            payload = json.loads(body)
            seen[item] = payload.get("revision") or payload.get("current", {}).get(
                "revision", 0
            )
        elif status != 200:
            errors += 1
    queue.put(("done", latencies, errors))


def http_round(
    port: int,
    kind: str,
    targets: list[tuple[str, str, list[int]]],
    seconds: float = SECONDS,
) -> dict:
    manager = multiprocessing.Manager()
    queue = manager.Queue()
    args = [
        (port, user, uuid, pks, kind, seconds, queue) for user, uuid, pks in targets
    ]
    with multiprocessing.Pool(len(args)) as pool:
        result = pool.map_async(_client, args)
        latencies: list[float] = []
        errors = 0
        finished = 0
        while finished < len(args):
            if result.ready() and queue.empty():
                result.get()  # a client died: raise its error here
                break
            try:
                message = queue.get(timeout=1)
            except Exception:  # queue.Empty through the manager proxy
                continue
            if message[0] == "done":
                latencies += message[1]
                errors += message[2]
                finished += 1
        result.get()
    return {"latencies": latencies, "seconds": seconds, "errors": errors}


# The web server as deployed (deploy/kubernetes: 2 workers x 4 threads), and the
# sync workers the earlier figures were taken with, for comparison.
SERVERS = (("", 2, 4), ("sync_", 2, 1))
# Autosave and baseline alternate in slices, so a change in the machine's speed
# during the step (a shared VM) falls on both sides of the ratio alike.
SLICES = 4


def measure_autosave(world: dict[str, Any]) -> dict[str, Any]:
    from assessments.models import Answer, Assessment

    targets = []
    for reviewer in world["reviewers"][:CLIENTS]:
        assessment = (
            Assessment.objects.filter(reviewer=reviewer, study__project=world["main"])
            .exclude(status="submitted")
            .first()
        )
        pks = list(
            Answer.objects.filter(assessment__reviewer=reviewer).values_list(
                "pk", flat=True
            )[:50]
        )
        targets.append((reviewer.username, str(assessment.uuid), pks))
    figures: dict[str, Any] = {}
    for prefix, workers, threads in SERVERS:
        port = free_port()
        server = start_gunicorn(port, workers=workers, threads=threads)
        try:
            http_round(port, "autosave", targets)  # warm-up: caches, connections
            rounds: dict[str, list[dict[str, Any]]] = {"autosave": [], "baseline": []}
            for _ in range(SLICES):
                for kind, done in rounds.items():
                    done.append(http_round(port, kind, targets, SECONDS / SLICES))
        finally:
            server.terminate()
            server.wait(timeout=30)
        autosave, baseline = (merged(done) for done in rounds.values())
        figures |= {
            f"autosave_{prefix}p50_ms": round(autosave["p50"], 1),
            f"autosave_{prefix}p95_ms": round(autosave["p95"], 1),
            f"autosave_{prefix}rps": round(autosave["rps"], 1),
            f"autosave_{prefix}errors": autosave["errors"],
            f"baseline_{prefix}p50_ms": round(baseline["p50"], 1),
            f"baseline_{prefix}p95_ms": round(baseline["p95"], 1),
            f"baseline_{prefix}rps": round(baseline["rps"], 1),
            f"autosave_{prefix}ratio": round(autosave["rps"] / baseline["rps"], 2),
        }
    return figures


def merged(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [ms for r in rounds for ms in r["latencies"]]
    seconds = sum(r["seconds"] for r in rounds)
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "rps": len(latencies) / seconds,
        "errors": sum(r["errors"] for r in rounds),
    }


# --- pages in process ---------------------------------------------------------------


def timed_get(client: Any, url: str, repeat: int = 5) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), len(queries)


PLAIN_SQL = """
WITH fin AS (
  SELECT s.id, s.year, AVG(a.total) AS total, AVG(a.maximum) AS maximum
  FROM assessments_study s JOIN assessments_assessment a ON a.study_id = s.id
  WHERE s.project_id = %(p)s AND a.kind = 'reviewer' AND a.status = 'submitted'
  GROUP BY s.id, s.year)
SELECT (SELECT COUNT(*) FROM fin), (SELECT AVG(total * 100.0 / maximum) FROM fin),
  (SELECT json_agg(x) FROM (SELECT FLOOR(total * 10.0 / maximum) b, COUNT(*) n
     FROM fin GROUP BY 1) x),
  (SELECT json_agg(y) FROM (SELECT year, AVG(total * 100.0 / maximum) m, COUNT(*)
     FROM fin GROUP BY year) y),
  (SELECT json_agg(z) FROM (SELECT item_code, SUM(CASE WHEN p > 0 THEN 1 ELSE 0 END)
     FROM (SELECT a.study_id, w.item_code, AVG(w.points) p
           FROM assessments_answer w JOIN assessments_assessment a
             ON a.id = w.assessment_id JOIN assessments_study s ON s.id = a.study_id
           WHERE s.project_id = %(p)s AND a.status = 'submitted' AND NOT w.na
           GROUP BY a.study_id, w.item_code) q GROUP BY item_code) z),
  (SELECT json_agg(v) FROM (SELECT a.status, COUNT(*) FROM assessments_assessment a
     JOIN assessments_study s ON s.id = a.study_id WHERE s.project_id = %(p)s
     GROUP BY a.status) v)
"""


def plain_sql_ms(project_id: int) -> float:
    from django.db import connection

    times = []
    for _ in range(3):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(PLAIN_SQL, {"p": project_id})
            cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def measure_pages(world: dict[str, Any]) -> dict[str, Any]:
    from django.test import Client

    from assessments.services.snapshots import refresh_project_dashboards

    project = world["main"]
    refresh_project_dashboards(project.pk)
    lead, reviewer = Client(), Client()
    lead.force_login(world["lead"])
    reviewer.force_login(world["reviewers"][0])
    slug = project.slug
    dashboard_ms, dashboard_queries = timed_get(lead, f"/p/{slug}/dashboard/")
    filtered_ms, filtered_queries = timed_get(
        lead, f"/p/{slug}/dashboard/?year=2020&modality=CT", repeat=3
    )
    study_ms, study_queries = timed_get(lead, f"/p/{slug}/studies/?page=20")
    queue_ms, queue_queries = timed_get(reviewer, "/queue/")
    sql_ms = plain_sql_ms(project.pk)
    return {
        "dashboard_ms": round(dashboard_ms, 1),
        "dashboard_queries": dashboard_queries,
        "dashboard_filtered_ms": round(filtered_ms, 1),
        "dashboard_filtered_queries": filtered_queries,
        "dashboard_plain_sql_ms": round(sql_ms, 1),
        "dashboard_ratio": round(dashboard_ms / sql_ms, 2),
        "dashboard_filtered_ratio": round(filtered_ms / sql_ms, 2),
        "study_list_ms": round(study_ms, 1),
        "study_list_queries": study_queries,
        "queue_ms": round(queue_ms, 1),
        "queue_queries": queue_queries,
    }


# --- PDFs, each in its own process --------------------------------------------------


RENDER = """
import os, sys, time, json
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rqs.settings")
import django; django.setup()
started = time.perf_counter()
kind = {kind!r}
if kind == "blank":
    from weasyprint import HTML
    HTML(string="<p></p>").write_pdf()
else:
    from assessments.models import Project, Membership, Assessment
    from assessments.renderers.reports import render_report
    from assessments.selectors.reports import ReportRequest
    project = Project.objects.get(slug={slug!r})
    lead = Membership.objects.filter(project=project, role="lead").first().user
    version = project.instruments.first()
    assessment = None
    if kind == "assessment":
        assessment = Assessment.objects.filter(study__project=project,
                                               status="submitted").first()
    render_report(ReportRequest(kind=kind, project=project, version=version,
                                user=lead, study=assessment.study if assessment
                                else None, assessment=assessment))
# ru_maxrss survives exec (it would report the parent's size): read VmHWM.
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM")) / 1024
print(json.dumps({{"s": time.perf_counter() - started, "rss_mb": peak}}))
"""


def render_in_process(kind: str, slug: str = "") -> dict[str, float]:
    code = RENDER.format(
        root=str(Path(__file__).resolve().parent.parent), kind=kind, slug=slug
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "LOG_LEVEL": "ERROR"},
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_pdfs(world: dict[str, Any]) -> dict[str, Any]:
    blank = render_in_process("blank")
    p100 = render_in_process("project", world["p100"].slug)
    p1000 = render_in_process("project", world["p1000"].slug)
    one = render_in_process("assessment", world["p100"].slug)
    return {
        "blank_pdf_s": round(blank["s"], 2),
        "blank_pdf_rss_mb": round(blank["rss_mb"]),
        "project_pdf_100_s": round(p100["s"], 2),
        "project_pdf_100_rss_mb": round(p100["rss_mb"]),
        "project_pdf_1000_s": round(p1000["s"], 2),
        "project_pdf_1000_rss_mb": round(p1000["rss_mb"]),
        "assessment_pdf_s": round(one["s"], 2),
        "assessment_pdf_rss_mb": round(one["rss_mb"]),
    }


# --- import -------------------------------------------------------------------------


def ris(n: int) -> bytes:
    records = []
    for i in range(n):
        records.append(
            "TY  - JOUR\n"
            f"TI  - Imported radiomics study {i} on CT texture of lung nodules\n"
            "AU  - Doe, Jane\nAU  - Roe, Richard\n"
            f"PY  - {2010 + i % 15}\nJO  - Journal of Imaging\n"
            f"DO  - 10.5555/bench.import.{i}\n"
            "AB  - A retrospective radiomics study with external validation.\n"
            "ER  - \n"
        )
    return "\n".join(records).encode()


def measure_import(world: dict[str, Any]) -> dict[str, Any]:
    from assessments.models import Project
    from assessments.services import projects
    from assessments.services.imports import import_studies

    Project.objects.filter(slug=f"{BENCH_PREFIX}-import").delete()
    project = projects.create_project(
        name="Bench import",
        slug=f"{BENCH_PREFIX}-import",
        versions=list(world["main"].instruments.all()),
        user=world["lead"],
    )
    data = ris(10000)
    started = time.perf_counter()
    report = import_studies(project=project, data=data, fmt=None, user=world["lead"])
    seconds = time.perf_counter() - started
    assert report.created == 10000, report.problems[:3]
    project.delete()
    return {"import_10k_s": round(seconds, 2)}


# --- main ---------------------------------------------------------------------------

TARGETS = [
    ("autosave_p95_ms", "<=", 50),
    ("autosave_ratio", ">=", 0.5),
    ("dashboard_ms", "<=", 150),
    ("dashboard_filtered_ms", "<=", 500),
    ("dashboard_queries", "<=", 20),
    ("project_pdf_1000_s", "<=", 30),
    ("project_pdf_1000_rss_mb", "<=", 1024),
    ("import_10k_s", "<=", 10),
    *evidence.TARGETS,
    ("viewer_first_page_s", "<=", VIEWER_TARGET_S),
]


def main() -> None:
    # The evidence finder needs no database: its figures print even without one.
    evidence_figures, details = evidence.measure()
    evidence.report(evidence_figures, details)
    require_database()
    setup_django()
    ensure_bench_database()
    print(f"Seeding {N_STUDIES} studies x 3 reviewers x RQS 1.0 ...", flush=True)
    world = seed()
    figures: dict[str, Any] = {"studies": N_STUDIES, "seed_s": world["seed_s"]}
    steps = (measure_autosave, measure_pages, measure_pdfs, measure_import)
    for step in (*steps, measure_viewer):
        print(f"Measuring {step.__name__.removeprefix('measure_')} ...", flush=True)
        figures.update(step(world))
    figures.update(evidence_figures)
    print_figures(figures, TARGETS)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
