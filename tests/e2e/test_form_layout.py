"""The assessment form on tablets and phones, and with the keyboard alone.

On a narrow screen the running score, what is still missing and Submit stay in
view while the reviewer scrolls through the items; a reviewer who does not use
a mouse answers every item, attaches evidence and submits.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from assessments.models import Answer, Assessment

from .conftest import Assignment, login

pytestmark = pytest.mark.browser

SAVED = "All changes saved"


def box_in_viewport(page: Any, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, f"{selector} is not rendered"
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"], (selector, box, size)
    assert box["y"] + box["height"] <= size["height"], (selector, box, size)


@pytest.mark.parametrize(
    "width,height", [(768, 1024), (390, 844), (360, 740), (1280, 800)]
)
def test_score_and_submit_stay_in_view_from_top_to_last_item(
    assignment: Assignment, new_context: Any, width: int, height: int
) -> None:
    page = new_context(viewport={"width": width, "height": height}).new_page()
    login(page, assignment.reviewer.username)
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    watched = ("#score", "[data-testid=completeness]", "#submit-button")

    for selector in watched:
        box_in_viewport(page, selector)

    last = page.locator("#item-16")
    last.scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(last).to_be_in_viewport()
    for selector in watched:
        box_in_viewport(page, selector)
    # The bar does not cover the end of the form.
    bar = page.locator("#score-panel").bounding_box()
    end = last.bounding_box()
    assert bar is not None and end is not None
    if width < 992:
        assert end["y"] + end["height"] > bar["y"] + bar["height"]
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"sideways scroll at {width} px: {scroll_width}"


def active(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
             const el = document.activeElement;
             const item = el.closest("[data-item]");
             return {id: el.id, type: el.type || "", item: item && item.dataset.item,
                     toggle: el.classList.contains("evidence-toggle")};
           }"""
    )


def test_keyboard_alone_answers_every_item_adds_evidence_and_submits(
    assignment: Assignment, page: Any
) -> None:
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    codes = {
        el.get_attribute("data-item")
        for el in page.locator("#assessment [data-item]").all()
        if el.is_visible()
    }
    assert len(codes) == 16
    answered: set[str] = set()
    quoted = False
    quote = "Features reduced with LASSO (Methods, p. 4)."

    for _ in range(400):
        page.keyboard.press("Tab")
        now = active(page)
        code = now["item"]
        if code and now["type"] in ("radio", "checkbox") and code not in answered:
            page.keyboard.press("Space")
            answered.add(code)
        elif code == "5" and now["toggle"] and not quoted:
            page.keyboard.press("Enter")
            expect(page.locator("#ev-5")).to_be_focused()
            page.keyboard.type(quote)
            quoted = True
        if answered == codes and quoted:
            break
    assert answered == codes and quoted, (sorted(answered), quoted)
    expect(page.locator("[data-testid=completeness]")).to_have_text(
        "Complete: ready to submit"
    )

    # Submit sits before the items: Tab on (round the page) until it has focus.
    for _ in range(400):
        page.keyboard.press("Tab")
        if active(page)["id"] == "submit-button":
            break
    expect(page.locator("#submit-button")).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Submit this assessment?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("button", name="Keep editing")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(confirm.get_by_role("button", name="Submit and lock")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("[data-testid=status]")).to_have_text("Submitted")
    assignment.assessment.refresh_from_db()
    assert assignment.assessment.status == Assessment.Status.SUBMITTED
    saved = Answer.objects.get(assessment=assignment.assessment, item_code="5")
    assert saved.evidence == quote
    expect(page.locator("[data-testid=answer-5]")).to_contain_text(quote)
