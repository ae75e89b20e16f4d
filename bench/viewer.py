"""`make bench`: how soon the paper beside the form shows its first page.

A reviewer's form on a study with a 20-page paper (tests/paperpdf.py's
timing paper), served by gunicorn with production settings, opened in
Debian's headless Chromium. The figure is the time from the start of the
navigation to the first page's canvas painted with its text layer in place
(static/js/paper.js records it as data-first-page-ms), median of 5 loads with
the browser's cache warm, as for a reviewer going from paper to paper; the
first, cold load is printed too. Skipped, with the reason, without Chromium.
"""

from __future__ import annotations

import os
import shutil
import statistics
from typing import Any

from bench.common import PASSWORD, free_port, start_gunicorn

LOADS = 5
TIMEOUT_MS = 60_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
TARGET_S = 1.5


def attach_bench_paper(world: dict[str, Any]) -> str:
    """A 20-page paper on one of the first reviewer's open studies; its form URL."""
    from django.core.files.base import ContentFile

    from assessments.models import Assessment, Paper
    from assessments.services import papers
    from tests.paperpdf import twenty_page_paper

    reviewer = world["reviewers"][0]
    assessment = (
        Assessment.objects.filter(reviewer=reviewer, study__project=world["main"])
        .exclude(status="submitted")
        .order_by("pk")
        .first()
    )
    assert assessment is not None, "the bench project has no open assessment"
    paper = Paper.objects.filter(study=assessment.study, current=True).first()
    if paper is None:
        paper = papers.upload_paper(
            study=assessment.study,
            user=world["lead"],
            uploaded_file=ContentFile(twenty_page_paper(), name="bench-paper.pdf"),
            filename="bench-paper.pdf",
        )
    papers.run_extraction(paper.pk, force=False)
    return f"/a/{assessment.uuid}/"


def first_page_times(port: int, username: str, url: str) -> list[float]:
    """Seconds to the first page, for one cold load and then LOADS warm ones."""
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    times: list[float] = []
    with sync_playwright() as manager:
        browser = manager.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_context(
                base_url=base, viewport={"width": 1280, "height": 900}
            ).new_page()
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state()
            for _ in range(LOADS + 1):
                page.goto(url)
                viewer = page.locator("#paper-viewer[data-first-page=ready]")
                viewer.wait_for(state="attached", timeout=TIMEOUT_MS)
                times.append(
                    int(viewer.get_attribute("data-first-page-ms") or 0) / 1000
                )
        finally:
            browser.close()
    return times


def measure_viewer(world: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("chromium") is None:
        print("  viewer: skipped (Debian's chromium is not installed)")
        return {}
    url = attach_bench_paper(world)
    username = world["reviewers"][0].username
    port = free_port()
    server = start_gunicorn(port, workers=2)
    # Playwright's sync API marks this thread as running an event loop.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        times = first_page_times(port, username, url)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
    warm = statistics.median(times[1:])
    print(
        f"  viewer: first page of a 20-page paper in {warm:.2f} s (median of "
        f"{LOADS}, warm cache; target <= {TARGET_S} s), {times[0]:.2f} s cold"
    )
    return {
        "viewer_first_page_s": round(warm, 2),
        "viewer_first_page_cold_s": round(times[0], 2),
    }
