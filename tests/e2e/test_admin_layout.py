"""The instrument admin in Chromium: a draft fits a laptop screen; the preview scores.

1366 x 768 is the most common laptop screen among the clinicians who edit
criteria; a change form that scrolls sideways hides the inline columns.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from assessments.services import catalogue
from tests.factories import UserFactory, load_instrument

from .conftest import PageErrors, login

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def admin_page(new_context: Any, page_errors: PageErrors, live_server: Any) -> Any:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page = page_errors.watch(new_context(viewport=LAPTOP).new_page())
    login(page, "root", next_url="/admin/")
    return page


@pytest.mark.parametrize("key", ["rqs-1.0", "metrics-1.0"])
def test_a_drafts_change_page_fits_1366_pixels(
    admin_page: Any, page_errors: PageErrors, key: str
) -> None:
    draft = catalogue.new_draft_from(version=load_instrument(key), new_version="1.1")
    admin_page.goto(f"/admin/assessments/instrumentversion/{draft.pk}/change/")
    expect(admin_page.get_by_role("link", name="Preview as a reviewer")).to_be_visible()
    width = admin_page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"]
    page_errors.assert_none()


def test_the_preview_rescores_scratch_choices(
    admin_page: Any, page_errors: PageErrors
) -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    admin_page.goto(f"/admin/assessments/instrumentversion/{draft.pk}/change/")
    admin_page.get_by_role("link", name="Preview as a reviewer").click()
    total = admin_page.get_by_test_id("total")
    expect(total).to_have_text("0")
    admin_page.locator("#opt-2-yes").check()
    expect(total).to_have_text("1")
    admin_page.locator("#opt-5-none").check()
    expect(total).to_have_text("-2")
    expect(admin_page.locator("#opt-5-none")).to_be_focused()
    assert not draft.assessments.exists()
    page_errors.assert_none()
