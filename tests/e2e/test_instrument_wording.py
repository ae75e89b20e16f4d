"""A Dutch reviewer in the browser: the instrument in Dutch, the English one
switch away (remembered on the device), and the saves record the wording."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from assessments.models import Assessment

from .axe.audit import Audit, serve_axe
from .conftest import Assignment, PageErrors, login

pytestmark = pytest.mark.browser


def in_dutch(page: Any) -> None:
    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")


def test_the_english_wording_is_one_switch_away_and_stays_on(
    assignment: Assignment, context: Any, live_server: Any, page_errors: PageErrors
) -> None:
    audit = Audit(role="reviewer")
    serve_axe(context, live_server.url)
    page = page_errors.watch(context.new_page())
    login(page, assignment.reviewer.username)
    in_dutch(page)
    page.goto(assignment.form_url)

    legend = page.locator("#item-1 legend")
    expect(legend).to_contain_text("Kwaliteit van het beeldvormingsprotocol")
    english = legend.locator("[data-wording-en]")
    expect(english).to_be_hidden()

    switch = page.get_by_label("Toon ook de Engelse formulering")
    switch.check()
    expect(english).to_be_visible()
    expect(english).to_have_text("Image protocol quality")
    expect(english).to_have_attribute("lang", "en")
    audit.check(page, "a Dutch form with the English shown")

    # Remembered on this device: the next form opens with the English shown.
    page.reload()
    expect(page.get_by_label("Toon ook de Engelse formulering")).to_be_checked()
    expect(page.locator("#item-1 legend [data-wording-en]")).to_be_visible()

    page.locator("#opt-2-yes").click()
    answers = assignment.assessment.answers
    expect(page.locator("#save-status")).to_have_text("Alle wijzigingen opgeslagen")
    assert answers.get(item_code="2").choices == ["yes"]
    saved = Assessment.objects.get(pk=assignment.assessment.pk)
    assert saved.wording_language == "nl"

    switch = page.get_by_label("Toon ook de Engelse formulering")
    switch.uncheck()
    expect(page.locator("#item-1 legend [data-wording-en]")).to_be_hidden()
    audit.assert_clean({})
    page_errors.assert_none()
