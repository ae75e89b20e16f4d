"""A reviewer completes a training study in a real Chromium and reads the
feedback: My training, Start, every item answered, Submit, the comparison."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.calibration_world import RQS_10, make_world

from .conftest import PageErrors, login

pytestmark = pytest.mark.browser

SAVED = "All changes saved"


def answer_every_item(page: Any, answers: dict[str, list[str]]) -> None:
    """Click each answer as a reviewer would; an empty list is "None of these"."""
    for code, choices in answers.items():
        for choice in choices or ["none"]:
            page.locator(f"#opt-{code}-{choice}").click()
    page.wait_for_function(
        """() => document.getElementById("save-status").textContent.trim()
                 === "All changes saved" """
    )


def test_reviewer_completes_a_training_study_and_reads_the_feedback(
    live_server: Any, context: Any, page_errors: PageErrors
) -> None:
    w = make_world(n_training=1, slug="train")
    page = page_errors.watch(context.new_page())
    login(page, w.trainee.username)

    page.goto(f"/p/{w.project.slug}/training/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My training")
    page.get_by_role("button", name="Start Training 0 with RQS 1.0").click()
    expect(page).to_have_url(re.compile(r"/a/[0-9a-f-]{36}/$"))
    notice = page.locator("[data-testid=training-notice]")
    expect(notice).to_contain_text("Training study.")
    expect(notice).to_contain_text("do not count in the review")
    expect(page.get_by_text("Protocol on page 3.")).to_have_count(0)

    answer_every_item(page, RQS_10)
    expect(page.locator("[data-testid=total]")).to_have_text("10")
    page.locator("#submit-button").click()
    confirm = page.get_by_role("dialog", name="Submit this assessment?")
    confirm.get_by_role("button", name="Submit and lock").click()

    expect(page).to_have_url(re.compile(r"/a/[0-9a-f-]{36}/feedback$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback: Training 0")
    expect(page.locator("[data-testid=agreed]")).to_have_text("14 of 16 (88%)")
    expect(page.locator("[data-testid=difference]")).to_have_text("\u22123 points")
    expect(page.locator("[data-testid=expert]")).to_have_text("Eva Expert")
    item_two = page.locator("#item-2")
    expect(item_two).to_contain_text("Differs")
    expect(item_two.locator("[data-testid=rationale]")).to_have_text(
        "Protocol on page 3."
    )
    expect(page.locator("[data-testid=disagrees]")).to_have_count(2)

    page.get_by_role("link", name="My training").click()
    expect(page.get_by_role("link", name="Read feedback on Training 0")).to_be_visible()
    expect(page.locator("#figures")).to_contain_text("88%")
    page_errors.assert_none()
