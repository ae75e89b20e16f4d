"""The API's pages in a real Chromium: a token made on Account, API tokens
works at once from a script, and the API documentation runs under the CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory, make_project

from .conftest import PageErrors, login

pytestmark = pytest.mark.browser


def test_a_lead_makes_a_token_and_a_script_uses_it(
    live_server: Any, context: Any, page_errors: PageErrors
) -> None:
    lead = UserFactory(username="lead")
    make_project(lead=lead, reviewers=[], slug="lung")
    page = page_errors.watch(context.new_page())
    login(page, "lead")

    page.get_by_role("button", name="lead").click()  # the account menu
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    page.get_by_label("Name").fill("R on my laptop")
    page.get_by_label("Lung").check()
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Make the token").click()

    field = page.get_by_label("Token", exact=True)
    expect(field).to_be_visible()
    raw = field.input_value()
    assert raw.startswith("rqs_")
    expect(page.get_by_text("Copy it now: it is not shown again.")).to_be_visible()
    row = page.get_by_role("row", name="R on my laptop")
    expect(row).to_contain_text("Read only")
    expect(row).to_contain_text("Lung")

    # A script, with nothing but the token.
    script = context.request
    answer = script.get(
        f"{live_server.url}/api/v1/projects/",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status == 200
    assert [p["slug"] for p in answer.json()] == ["lung"]
    refused = script.post(
        f"{live_server.url}/api/v1/projects/lung/studies/",
        headers={"Authorization": f"Bearer {raw}"},
        data={"title": "A study"},
    )
    assert refused.status == 403

    # Reloading sends the form again: no second token, and no token shown.
    page.reload()
    expect(page.get_by_text("no second one was made")).to_be_visible()
    expect(page.get_by_label("Token", exact=True)).to_have_count(0)
    expect(page.get_by_role("row", name="R on my laptop")).to_have_count(1)
    page.goto("/account/tokens/")
    assert raw not in page.content()
    page.get_by_role("button", name="Revoke the token R on my laptop").click()
    expect(page.get_by_role("row", name="R on my laptop")).to_contain_text("Revoked")
    gone = script.get(
        f"{live_server.url}/api/v1/projects/",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert gone.status == 401
    page_errors.assert_none()


def test_the_api_documentation_runs_under_the_strict_csp(
    live_server: Any, context: Any, page_errors: PageErrors
) -> None:
    UserFactory(username="reader")
    page = page_errors.watch(context.new_page())
    login(page, "reader")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("RQS platform API")
    expect(page.get_by_text("/api/v1/projects/{slug}/assessments/")).to_be_visible()
    page_errors.assert_none()
