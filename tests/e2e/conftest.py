"""Browser tests: Debian's Chromium driven by Playwright's sync API.

The browser is started once per session; every test gets a fresh context (its
own cookies and localStorage) pointed at pytest-django's live server, which
runs against the test database in a thread of this process. Tests skip when
Chromium is not installed and fail instead under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import require

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's waits; generous for a loaded 2-core CI machine, still short
# enough that a hang fails quickly.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    executable = shutil.which("chromium")
    require(
        executable is not None,
        "Debian's chromium is not installed (apt-get install -y chromium)",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        require(False, "the playwright package is not installed")
        raise
    # Playwright's sync API keeps an asyncio loop marked as running in this
    # thread, so Django would refuse ORM calls from the test (and from the
    # database fixtures) as "async context". Nothing here is really async.
    # Both last until the session ends, also for tests pytest runs after these.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        from playwright.sync_api import expect

        expect.set_options(timeout=TIMEOUT_MS)
        yield chromium
        chromium.close()
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Make browser contexts on the live server; all are closed after the test."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., Any]) -> Any:
    return new_context()


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions seen by a page (CSP reports too)."""

    console: list[str]
    uncaught: list[str]

    def watch(self, page: Any) -> Any:
        page.on(
            "console",
            lambda msg: (
                self.console.append(f"{msg.text} @ {msg.location}")
                if msg.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.uncaught.append(str(exc)))
        return page

    def assert_none(self) -> None:
        # Chromium asks for /favicon.ico on its own and the site has none: a 404
        # logged by the browser, not by the page. Everything else counts.
        console = [m for m in self.console if "/favicon.ico" not in m]
        assert not console, "console errors:\n" + "\n".join(console)
        assert not self.uncaught, "JS errors:\n" + "\n".join(self.uncaught)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors(console=[], uncaught=[])


def login(
    page: Any,
    username: str,
    password: str = "pw",  # noqa: S107 - UserFactory's password
    next_url: str = "",
) -> None:
    """Log in through the real login form, as a person would."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


@dataclass
class Assignment:
    """A project with one study and one reviewer assigned to it."""

    lead: Any
    reviewer: Any
    project: Any
    study: Any
    assessment: Any

    @property
    def form_url(self) -> str:
        return f"/a/{self.assessment.uuid}/"

    @property
    def store_key(self) -> str:
        return f"rqs-pending-{self.assessment.uuid}"


def make_assignment(key: str) -> Assignment:
    from assessments.services import assignment
    from tests.factories import UserFactory, load_instrument, make_project

    lead = UserFactory(username="lead")
    reviewer = UserFactory(username="reviewer1")
    project = make_project(lead=lead, reviewers=[reviewer], keys=(key,), n_studies=1)
    study = project.studies.get()
    assessment = assignment.assign_reviewer(
        study=study, version=load_instrument(key), reviewer=reviewer, user=lead
    )
    return Assignment(lead, reviewer, project, study, assessment)


@pytest.fixture
def assignment(request: pytest.FixtureRequest, live_server: Any) -> Assignment:
    """RQS 1.0 by default; `@pytest.mark.parametrize("assignment", ["metrics-1.0"],
    indirect=True)` for another instrument."""
    return make_assignment(getattr(request, "param", "rqs-1.0"))


@pytest.fixture
def page(assignment: Assignment, context: Any, page_errors: PageErrors) -> Any:
    """a page logged in (through the login form) as the assignment's reviewer.

    Console errors and uncaught exceptions are collected in `page_errors`.
    """
    page = page_errors.watch(context.new_page())
    login(page, assignment.reviewer.username)
    return page
