"""The assessment form in a real headless Chromium (Debian's package, Playwright).

What a reviewer does between patients: click answers and see the server's
running score, type evidence, reload and find it all, submit; METRICS items
appearing and disappearing with the conditions; nothing lost when the session
expires, a save fails or the same form is open twice; keyboard, labels,
landmarks, tablet width, and no CSP or JS errors.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from assessments.models import Answer, Assessment

from .conftest import Assignment, PageErrors, login

pytestmark = pytest.mark.browser

SAVED = "All changes saved"
# The reviewer reads the options as the form labels them, never their codes.
ITEM9_PROBLEM = (
    "Item 9 (Discrimination statistics): 'Resampling (e.g. bootstrap, "
    "cross-validation) also applied' counts only together with 'Discrimination "
    "statistic reported with its significance'."
)

# METRICS weights, typed by hand from /work/shared/reference/instruments.md
# (not read from the definition, so the engine is checked against the paper).
METRICS_WEIGHTS = {
    "1": "0.0368", "2": "0.0735", "3": "0.0919", "4": "0.0438", "5": "0.0292",
    "6": "0.0438", "7": "0.0292", "8": "0.0337", "9": "0.0225", "10": "0.0112",
    "11": "0.0622", "12": "0.0311", "13": "0.0415", "14": "0.0200", "15": "0.0200",
    "16": "0.0300", "17": "0.0200", "18": "0.0599", "19": "0.0300", "20": "0.0352",
    "21": "0.0234", "22": "0.0176", "23": "0.0117", "24": "0.0293", "25": "0.0176",
    "26": "0.0375", "27": "0.0749", "28": "0.0075", "29": "0.0075", "30": "0.0075",
}  # fmt: skip


# --- helpers ---------------------------------------------------------------------


def open_form(page: Any, assignment: Assignment) -> None:
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)


def wait_saved(page: Any, assignment: Assignment) -> None:
    """Every change confirmed by the server: nothing pending, status says so.

    Checked together in the page, so a status that claims "saved" while a change
    still waits in localStorage does not pass.
    """
    try:
        page.wait_for_function(
            """key => localStorage.getItem(key) === null
                      && document.getElementById("save-status").textContent.trim()
                         === "All changes saved" """,
            arg=assignment.store_key,
        )
    except Exception:
        status = page.locator("#save-status").text_content()
        raise AssertionError(
            f"not saved: status {status!r}, pending {pending(page, assignment)}"
        ) from None


def total(page: Any) -> Any:
    return page.locator("[data-testid=total]")


def item(page: Any, code: str) -> Any:
    return page.locator(f"#item-{code}")


def notes(page: Any, code: str, field: str = "ev") -> Any:
    """Item `code`'s evidence ("ev"), page ("pg") or comment ("cm") field,
    opened with its "Add evidence" button if it is still folded away."""
    locator = page.locator(f"#{field}-{code}")
    if not locator.is_visible():
        page.get_by_role(
            "button", name=f"Add evidence for item {code}", exact=True
        ).click()
        expect(page.locator(f"#ev-{code}")).to_be_focused()
    return locator


def pending(page: Any, assignment: Assignment) -> dict[str, Any]:
    raw = page.evaluate("key => localStorage.getItem(key)", assignment.store_key)
    return json.loads(raw) if raw else {}


def answer(assignment: Assignment, code: str) -> Answer | None:
    return Answer.objects.filter(
        assessment=assignment.assessment, item_code=code
    ).first()


def percent_by_hand(yes: set[str], applicable: set[str]) -> Decimal:
    earned = sum((Decimal(METRICS_WEIGHTS[c]) for c in yes & applicable), Decimal(0))
    possible = sum((Decimal(METRICS_WEIGHTS[c]) for c in applicable), Decimal(0))
    return (earned * 100 / possible).quantize(Decimal("0.1"), ROUND_HALF_UP)


# --- 1. RQS 1.0: click, see the total, type, reload, submit -----------------------


EV5 = "“Features were reduced with LASSO (λ by 10-fold CV)”, p. 4 <b>x</b> & y"
EV12 = "\nValidated on an external cohort (Hospital B, n=112).\nSecond line  "
CM12 = "Check supplementary table S3."
PAGE12 = "7\u20138"  # an en dash, as PDFs print page ranges


def test_rqs_fill_reload_and_submit(
    assignment: Assignment, page: Any, page_errors: PageErrors
) -> None:
    page.goto("/queue/")
    page.get_by_role("link", name=assignment.study.title).click()
    expect(page).to_have_url(re.compile(re.escape(assignment.form_url) + "$"))
    expect(page.locator("[data-testid=status]")).to_have_text("Assigned")
    expect(total(page)).to_have_text("0")
    # Nothing is marked missing on a first visit.
    expect(page.locator(".item.is-missing")).to_have_count(0)

    # Each click is saved and the server's total comes back at once.
    for option, expected in [
        ("1-documented", "1"),
        ("1-public_protocol", "2"),
        ("5-either", "5"),
        ("12-none", "0"),
        ("12-one_other", "8"),
        ("16-code", "9"),
        ("16-scans", "10"),
    ]:
        page.locator(f"#opt-{option}").click()
        expect(total(page)).to_have_text(expected)
        # The header follows the real state, without a reload.
        expect(page.locator("[data-testid=status]")).to_have_text("In progress")
    expect(item(page, "12").locator("[data-role=points]")).to_have_text("+3 pts")

    # Resampling without the statistic on item 9 is invalid: said at once, no point.
    page.locator("#opt-9-resampling").click()
    expect(item(page, "9").locator("[data-role=problem]")).to_have_text(ITEM9_PROBLEM)
    wait_saved(page, assignment)
    expect(total(page)).to_have_text("10")

    # Evidence, page and comment, typed key by key and pasted.
    notes(page, "5").press_sequentially(EV5)
    notes(page, "5", "pg").fill("4")
    notes(page, "12").fill(EV12)
    notes(page, "12", "pg").fill(PAGE12)
    notes(page, "12", "cm").fill(CM12)
    wait_saved(page, assignment)
    saved12 = answer(assignment, "12")
    assert saved12 is not None
    assert (saved12.evidence, saved12.page, saved12.comment) == (EV12, PAGE12, CM12)

    page.reload()
    checked = {
        "1-documented", "1-public_protocol", "5-either", "12-one_other",
        "16-code", "16-scans", "9-resampling",
    }  # fmt: skip
    for option in page.locator(
        "#assessment input[type=radio], #assessment input[type=checkbox]"
    ).all():
        code = option.get_attribute("id").removeprefix("opt-")
        if code in checked:
            expect(option).to_be_checked()
        else:
            expect(option).not_to_be_checked()
    # Fields that hold text are open after a reload; the others stay folded.
    expect(page.locator("#ev-5")).to_be_visible()
    expect(page.locator("#ev-2")).to_be_hidden()
    expect(page.locator("#ev-5")).to_have_value(EV5)
    expect(page.locator("#pg-5")).to_have_value("4")
    expect(page.locator("#ev-12")).to_have_value(EV12)
    expect(page.locator("#pg-12")).to_have_value(PAGE12)
    expect(page.locator("#cm-12")).to_have_value(CM12)
    expect(total(page)).to_have_text("10")
    expect(item(page, "9").locator("[data-role=problem]")).to_have_text(ITEM9_PROBLEM)

    # The rest, clicked in a row without waiting: 2, 6, 8 (+1 each), 13 (+2), and
    # "None of these" on the multi item 10.
    for option in ["2-yes", "3-no", "4-no", "6-yes", "7-no", "8-yes", "10-none",
                   "11-no", "13-yes", "14-no", "15-no"]:  # fmt: skip
        page.locator(f"#opt-{option}").click()
    wait_saved(page, assignment)
    expect(total(page)).to_have_text("15")
    expect(page.locator("[data-testid=completeness]")).to_have_text("1 to correct")

    # Submit is refused while item 9 stands, says why, links to the item and
    # puts the keyboard there; no confirmation is asked for an incomplete form.
    page.get_by_role("button", name="Submit assessment").click()
    expect(page.locator("#submit-errors li")).to_have_text([ITEM9_PROBLEM])
    expect(page.locator("#opt-9-resampling")).to_be_focused()
    expect(page.locator("#submit-confirm")).to_be_hidden()
    expect(page.locator("[data-testid=status]")).to_have_text("In progress")
    assignment.assessment.refresh_from_db()
    assert assignment.assessment.status == Assessment.Status.IN_PROGRESS

    page.locator("#opt-9-stat").click()
    expect(total(page)).to_have_text("17")
    expect(item(page, "9").locator("[data-role=problem]")).to_have_text("")
    wait_saved(page, assignment)
    expect(page.locator("[data-testid=completeness]")).to_have_text(
        "Complete: ready to submit"
    )
    # The fixed line is gone from the list of what stops the submit.
    expect(page.locator("#submit-errors")).to_be_hidden()
    page.get_by_role("button", name="Submit assessment").click()
    confirm = page.get_by_role("dialog", name="Submit this assessment?")
    expect(confirm).to_contain_text("17 of 36 points (47.2%)")
    confirm.get_by_role("button", name="Submit and lock").click()

    expect(page.locator("[data-testid=status]")).to_have_text("Submitted")
    expect(page.get_by_text("Submitted. The assessment is now locked.")).to_be_visible()
    expect(page.locator("[data-testid=final]")).to_contain_text(
        "Final score 17 of 36 points (47.2%), submitted on"
    )
    expect(page.get_by_role("button", name="Submit assessment")).to_have_count(0)
    # Read-only: the answers as text, not greyed-out controls.
    expect(page.locator("#assessment input, #assessment textarea")).to_have_count(0)
    answer5 = page.locator("[data-testid=answer-5]")
    expect(answer5).to_contain_text("Answer")
    expect(answer5).to_contain_text("Reduction or adjustment applied")
    expect(answer5).to_contain_text(EV5)
    expect(page.locator("[data-testid=answer-12]")).to_contain_text(CM12)
    expect(page.locator("[data-testid=answer-10]")).to_contain_text("None of these")
    assignment.assessment.refresh_from_db()
    assert assignment.assessment.status == Assessment.Status.SUBMITTED
    assert assignment.assessment.total == 17
    item10 = answer(assignment, "10")
    assert item10 is not None and item10.choices == []
    page_errors.assert_none()


def test_change_made_while_the_same_item_is_saving_is_sent(
    assignment: Assignment, page: Any
) -> None:
    """Clicks and typing on an item whose save is still on the way are sent after
    it, once: nothing dropped, nothing sent twice."""
    open_form(page, assignment)
    held: list[Any] = []
    sent: list[str] = []

    def hold_first(route: Any) -> None:
        sent.append(route.request.post_data or "")
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/answer", hold_first)
    page.locator("#opt-16-code").click()
    for _ in range(200):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(10)
    assert held, "the first save did not start"
    page.locator("#opt-16-scans").click()
    notes(page, "16").fill("Code on GitHub, scans on TCIA.")
    held[0].continue_()
    wait_saved(page, assignment)
    expect(total(page)).to_have_text("2")
    saved = answer(assignment, "16")
    assert saved is not None and saved.choices == ["scans", "code"]
    assert saved.evidence == "Code on GitHub, scans on TCIA."

    # Leaving the field, or its typing pause running out, sends nothing more.
    page.locator("#ev-16").blur()
    page.wait_for_timeout(800)  # longer than the 600 ms typing pause
    wait_saved(page, assignment)
    assert len(sent) == 2, sent
    saved.refresh_from_db()
    assert saved.revision == 2


def test_unsent_text_survives_a_crash_and_is_sent_later(
    assignment: Assignment, context: Any, page: Any
) -> None:
    """Typed while the server is unreachable, the tab then closed without
    warning: the next visit restores the text from localStorage and sends it,
    and an item that had text but no answer stays unanswered."""
    open_form(page, assignment)
    page.route("**/answer", lambda route: route.abort("internetdisconnected"))
    notes(page, "16").fill("Code: github.com/example/radiomics")
    notes(page, "2").fill("Two readers segmented independently.")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    page.close(run_before_unload=False)
    assert answer(assignment, "16") is None

    again = context.new_page()
    again.goto(assignment.form_url)
    expect(again.locator("#ev-16")).to_have_value("Code: github.com/example/radiomics")
    expect(again.locator("#ev-2")).to_have_value("Two readers segmented independently.")
    wait_saved(again, assignment)
    saved16, saved2 = answer(assignment, "16"), answer(assignment, "2")
    assert saved16 is not None and saved2 is not None
    assert saved16.evidence == "Code: github.com/example/radiomics"
    assert saved2.evidence == "Two readers segmented independently."
    # Text alone is not an answer: not "None of these", still to answer.
    expect(again.locator("#opt-16-none")).not_to_be_checked()
    assert saved16.choices is None and saved2.choices is None
    expect(total(again)).to_have_text("0")


# --- 2. METRICS: conditions show and hide items; the engine's score ----------------


@pytest.mark.parametrize("assignment", ["metrics-1.0"], indirect=True)
def test_metrics_conditions_and_score(
    assignment: Assignment, page: Any, page_errors: PageErrors
) -> None:
    open_form(page, assignment)
    # Nothing segment-related before C1 is answered.
    for code in ("8", "9", "10"):
        expect(item(page, code)).to_be_hidden()
    expect(item(page, "1")).to_be_visible()

    page.locator("#opt-C1-yes").click()
    page.locator("#opt-C2-no").click()
    wait_saved(page, assignment)
    expect(item(page, "8")).to_be_visible()
    expect(item(page, "10")).to_be_visible()
    expect(item(page, "9")).to_be_hidden()

    page.locator("#opt-C2-yes").click()
    expect(item(page, "9")).to_be_visible()
    wait_saved(page, assignment)

    page.locator("#opt-C1-no").click()
    for code in ("8", "9", "10"):
        expect(item(page, code)).to_be_hidden()
    wait_saved(page, assignment)

    # The reference's worked example: conditions Y, N, Y, Y, N.
    for option in ["C1-yes", "C2-no", "C3-yes", "C4-yes", "C5-no"]:
        page.locator(f"#opt-{option}").click()
    wait_saved(page, assignment)
    applicable = set(METRICS_WEIGHTS) - {"9", "17"}
    for code in sorted(applicable, key=int):
        expect(item(page, code)).to_be_visible()
    for code in ("9", "17"):
        expect(item(page, code)).to_be_hidden()

    def check_score(yes: set[str], band: str) -> None:
        wait_saved(page, assignment)
        expected = percent_by_hand(yes, applicable)
        expect(page.locator("[data-testid=percent]")).to_have_text(f"{expected}%")
        # Shown to one decimal, also as the score out of 100.
        expect(total(page)).to_have_text(str(expected))
        expect(page.locator("[data-testid=band]")).to_have_text(band)
        assignment.assessment.refresh_from_db()
        engine = Decimal(assignment.assessment.percent).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )
        assert engine == expected

    yes = {"1", "2", "3"}
    for code in sorted(yes, key=int):
        page.locator(f"#opt-{code}-yes").click()
    check_score(yes, "low")  # 0.2022 / 0.9575 = 21.1
    assert percent_by_hand(yes, applicable) == Decimal("21.1")

    more = {"6", "8", "11", "12", "13", "15", "16", "18", "20", "21", "26"}
    for code in sorted(more, key=int):
        page.locator(f"#opt-{code}-yes").click()
    yes |= more
    check_score(yes, "good")  # the reference: 0.6205 / 0.9575 = 64.8, good
    assert percent_by_hand(yes, applicable) == Decimal("64.8")
    page_errors.assert_none()


@pytest.mark.parametrize("assignment", ["metrics-1.0"], indirect=True)
def test_metrics_condition_that_no_longer_applies_is_hidden(
    assignment: Assignment, page: Any
) -> None:
    open_form(page, assignment)
    expect(item(page, "C2")).to_be_hidden()  # C1 unanswered
    page.locator("#opt-C1-yes").click()
    expect(item(page, "C2")).to_be_visible()
    wait_saved(page, assignment)
    page.locator("#opt-C1-no").click()
    wait_saved(page, assignment)
    expect(item(page, "C2")).to_be_hidden(timeout=1000)


# --- 3. The session expires while the form is open ---------------------------------


@pytest.mark.parametrize("how", ["session-deleted", "cookie-expired"])
def test_session_expiry_loses_no_typed_word(
    assignment: Assignment, context: Any, page: Any, how: str
) -> None:
    from django.contrib.sessions.models import Session

    open_form(page, assignment)
    first = "Segmentation by two readers (Dice 0.87);"
    notes(page, "2").press_sequentially(first)
    wait_saved(page, assignment)
    assert answer(assignment, "2").evidence == first  # type: ignore[union-attr]

    if how == "session-deleted":
        # The server forgot the session (expiry sweep, logout elsewhere); the
        # browser still sends the cookie.
        Session.objects.all().delete()
    else:
        # The cookie expired in the browser; the CSRF cookie lives on.
        context.clear_cookies(name="sessionid")
        assert any(c["name"] == "csrftoken" for c in context.cookies())

    second = " differences resolved by consensus in 12 cases."
    page.locator("#ev-2").press_sequentially(second)
    dialog = page.locator("#relogin")
    expect(dialog).to_be_visible()
    expect(page.locator("#save-status")).to_contain_text("Session expired")
    expect(page.locator("#ev-2")).to_have_value(first + second)
    assert pending(page, assignment)["2"]["state"]["evidence"] == first + second
    assert answer(assignment, "2").evidence == first  # type: ignore[union-attr]

    # A wrong password keeps the dialog open with a message.
    page.locator("#relogin-password").fill("wrong")
    dialog.get_by_role("button", name="Log in and save").click()
    expect(page.locator("#relogin-error")).to_have_text("Wrong username or password.")
    expect(dialog).to_be_visible()

    expect(page.locator("#relogin-username")).to_have_value("reviewer1")
    page.locator("#relogin-password").fill("pw")
    dialog.get_by_role("button", name="Log in and save").click()
    expect(dialog).to_be_hidden()
    wait_saved(page, assignment)
    assert answer(assignment, "2").evidence == first + second  # type: ignore[union-attr]

    # The new session (and its rotated CSRF token) carries on saving.
    page.locator("#opt-2-yes").click()
    wait_saved(page, assignment)
    saved = answer(assignment, "2")
    assert saved is not None and saved.choices == ["yes"]
    assert saved.evidence == first + second


def test_a_locked_out_relogin_says_when_to_try_again(
    assignment: Assignment, page: Any
) -> None:
    from django.contrib.sessions.models import Session

    open_form(page, assignment)
    Session.objects.all().delete()
    notes(page, "2").press_sequentially("Two readers.")
    dialog = page.locator("#relogin")
    expect(dialog).to_be_visible()
    error = page.locator("#relogin-error")

    def try_password(password: str) -> None:
        # Emptied first, so each check waits for this attempt's answer.
        error.evaluate("box => { box.textContent = ''; }")
        page.locator("#relogin-password").fill(password)
        dialog.get_by_role("button", name="Log in and save").click()

    for attempt in range(1, 5):
        try_password(f"wrong-{attempt}")
        expect(error).to_have_text("Wrong username or password.")
    # The fifth failure locks the username; the right password comes too late.
    for password in ("wrong-5", "pw"):
        try_password(password)
        expect(error).to_contain_text("Too many failed log-in attempts")
        expect(error).to_contain_text("Wait 15 minutes, until")
    expect(dialog).to_be_visible()
    assert pending(page, assignment)["2"]["state"]["evidence"] == "Two readers."


# --- 4. The same assessment open in two tabs ---------------------------------------


def test_stale_tab_cannot_overwrite_a_newer_answer(
    assignment: Assignment, context: Any, page: Any
) -> None:
    stale = page
    open_form(stale, assignment)  # loaded first, then left alone
    fresh = context.new_page()
    open_form(fresh, assignment)

    fresh.locator("#opt-5-either").click()
    notes(fresh, "5").fill("Boruta feature selection (Methods, p. 5).")
    wait_saved(fresh, assignment)
    expect(total(fresh)).to_have_text("3")
    # Leaving the field sends nothing more: a second save of the same text would
    # bump the revision and refuse the other tab's next save for no reason.
    revision = answer(assignment, "5").revision  # type: ignore[union-attr]
    fresh.locator("#ev-5").blur()
    wait_saved(fresh, assignment)
    assert answer(assignment, "5").revision == revision  # type: ignore[union-attr]

    stale.locator("#opt-5-none").click()
    conflict = "was changed elsewhere"
    expect(item(stale, "5").locator("[data-role=state]")).to_contain_text(conflict)
    expect(stale.locator("#save-error")).to_be_visible()
    expect(stale.locator("#save-error")).to_contain_text(conflict)
    # The newer answer is shown in the stale tab, and kept in the database.
    expect(stale.locator("#opt-5-either")).to_be_checked()
    expect(stale.locator("#opt-5-none")).not_to_be_checked()
    expect(stale.locator("#ev-5")).to_have_value(
        "Boruta feature selection (Methods, p. 5)."
    )
    saved = answer(assignment, "5")
    assert saved is not None
    assert saved.choices == ["either"]
    assert saved.evidence == "Boruta feature selection (Methods, p. 5)."
    assert pending(stale, assignment) == {}

    # Having seen the newer answer, the reviewer may still change it on purpose.
    stale.locator("#opt-5-none").click()
    expect(total(stale)).to_have_text("-3")
    saved.refresh_from_db()
    assert saved.choices == ["none"]


# --- 5. A failed save is shown and retried -----------------------------------------


def test_failed_save_is_retried(assignment: Assignment, page: Any) -> None:
    open_form(page, assignment)
    failing = {"on": True, "aborted": 0}

    def flaky(route: Any) -> None:
        if failing["on"]:
            failing["aborted"] += 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/answer", flaky)
    page.locator("#opt-2-yes").click()
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    expect(item(page, "2").locator("[data-role=state]")).to_contain_text("retrying")
    assert pending(page, assignment)["2"]["state"]["choices"] == ["yes"]
    assert answer(assignment, "2") is None

    failing["on"] = False
    wait_saved(page, assignment)
    assert failing["aborted"] >= 1
    saved = answer(assignment, "2")
    assert saved is not None and saved.choices == ["yes"]
    expect(total(page)).to_have_text("1")


# --- 6. Accessibility smoke ---------------------------------------------------------


def focus_by_tab(page: Any, element_id: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_keyboard_labels_landmarks_and_tablet_width(
    assignment: Assignment, page: Any, new_context: Any
) -> None:
    open_form(page, assignment)

    # Keyboard alone: Tab to a checkbox and Space; Tab to a radio group, Space
    # and an arrow key; the total follows.
    focus_by_tab(page, "opt-1-documented")
    page.keyboard.press("Space")
    expect(page.locator("#opt-1-documented")).to_be_checked()
    expect(total(page)).to_have_text("1")
    focus_by_tab(page, "opt-2-no")
    page.keyboard.press("Space")
    expect(page.locator("#opt-2-no")).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#opt-2-yes")).to_be_checked()
    expect(page.locator("#opt-2-yes")).to_be_focused()
    expect(total(page)).to_have_text("2")
    # Tab reaches item 2's "?", then its "Add evidence"; Enter opens that and
    # moves into it.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_accessible_name("Explain item 2")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_accessible_name("Add evidence for item 2")
    page.keyboard.press("Enter")
    expect(page.locator("#ev-2")).to_be_focused()
    page.keyboard.type("Quoted from the methods.")
    expect(page.locator("#ev-2")).to_have_value("Quoted from the methods.")
    wait_saved(page, assignment)

    # Every field has an accessible name (label[for], aria-label or aria-labelledby).
    fields = page.locator("input:not([type=hidden]), textarea, select")
    assert fields.count() > 90
    for field in fields.all():
        if field.is_visible():
            expect(field).to_have_accessible_name(re.compile(r"\S"))
    unnamed = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                  "input:not([type=hidden]), textarea, select"))
             .filter(el => !(el.labels && el.labels.length
                             && Array.from(el.labels).some(l => l.textContent.trim()))
                           && !el.getAttribute("aria-label")
                           && !el.getAttribute("aria-labelledby"))
             .map(el => el.id || el.name)"""
    )
    assert unnamed == []
    for group in page.locator("[role=radiogroup], [role=group]").all():
        expect(group).to_have_accessible_name(re.compile(r"\S"))

    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)

    # Tablet width: no sideways scrolling.
    tablet = new_context(viewport={"width": 768, "height": 1024}).new_page()
    login(tablet, assignment.reviewer.username)
    open_form(tablet, assignment)
    width = tablet.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 768, f"horizontal scroll at 768 px: scrollWidth {width}"


# --- 7. No CSP violations and no JS errors -----------------------------------------


def test_no_csp_violations_or_js_errors(
    assignment: Assignment, context: Any, page_errors: PageErrors
) -> None:
    context.add_init_script(
        """window.__csp = [];
           document.addEventListener("securitypolicyviolation", e =>
             window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
    )
    page = page_errors.watch(context.new_page())
    login(page, assignment.reviewer.username)
    response = page.goto(assignment.form_url)
    assert response is not None and response.ok
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    expect(page.locator("#save-status")).to_have_text(SAVED)

    page.locator("#opt-1-documented").click()
    page.locator("#opt-9-resampling").click()
    notes(page, "1").fill("Protocol in the supplement.")
    wait_saved(page, assignment)
    page.locator("details summary").first.click()  # subtotals
    page.reload()
    expect(page.locator("#ev-1")).to_have_value("Protocol in the supplement.")
    page.evaluate("() => document.getElementById('relogin').showModal()")
    expect(page.locator("#relogin")).to_be_visible()

    assert page.evaluate("() => window.__csp") == []
    page_errors.assert_none()


# --- 8. Submitting: confirmation, refusal with links, the next assessment -----------


def fill_by_service(assignment: Assignment, answers: dict[str, list[str]]) -> None:
    """Answers saved as the form would save them, before the page is opened."""
    from assessments.services import answering

    for code, choices in answers.items():
        answering.save_answer(
            assessment=assignment.assessment,
            user=assignment.reviewer,
            data=answering.AnswerInput(item_code=code, choices=choices),
            seen_revision=0,
        )


def test_submit_asks_first_then_shows_the_final_score_and_the_next_assessment(
    assignment: Assignment, page: Any, page_errors: PageErrors
) -> None:
    from assessments.services import assignment as assigning
    from tests.factories import RQS_13, StudyFactory

    second = StudyFactory(project=assignment.project, title="The next study")
    following = assigning.assign_reviewer(
        study=second,
        version=assignment.assessment.version,
        reviewer=assignment.reviewer,
        user=assignment.lead,
    )
    fill_by_service(assignment, RQS_13)
    open_form(page, assignment)
    expect(page.locator("[data-testid=completeness]")).to_have_text(
        "Complete: ready to submit"
    )

    page.get_by_role("button", name="Submit assessment").click()
    confirm = page.get_by_role("dialog", name="Submit this assessment?")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("13 of 36 points (36.1%)")
    expect(confirm).to_contain_text("only a lead can reopen it")
    confirm.get_by_role("button", name="Keep editing").click()
    expect(confirm).to_be_hidden()
    assignment.assessment.refresh_from_db()
    assert assignment.assessment.status == Assessment.Status.IN_PROGRESS

    page.get_by_role("button", name="Submit assessment").click()
    confirm.get_by_role("button", name="Submit and lock").click()
    final = page.locator("[data-testid=final]")
    expect(final).to_contain_text("Final score 13 of 36 points (36.1%), submitted on")
    assignment.assessment.refresh_from_db()
    assert assignment.assessment.status == Assessment.Status.SUBMITTED
    page.get_by_role("link", name="Next assessment").click()
    expect(page).to_have_url(re.compile(rf"/a/{following.uuid}/$"))
    expect(page.locator("h1")).to_have_text("The next study")
    page_errors.assert_none()


def test_a_refused_submit_marks_and_links_what_is_missing(
    assignment: Assignment, page: Any
) -> None:
    from tests.factories import RQS_13

    fill_by_service(assignment, dict(list(RQS_13.items())[:10]))  # items 1-10
    open_form(page, assignment)
    expect(page.locator(".item.is-missing")).to_have_count(0)
    expect(page.locator("#submit-errors")).to_have_count(0)

    page.get_by_role("button", name="Submit assessment").click()
    errors = page.locator("#submit-errors li")
    expect(errors).to_have_count(6)
    expect(errors.first).to_have_text(
        "Item 11 (Prospective study registered in a trial database) is not answered."
    )
    expect(page.locator(".item.is-missing")).to_have_count(6)
    # Focus is on the first item to answer; each line links to its item.
    expect(page.locator("#item-11 input").first).to_be_focused()
    errors.filter(has_text="Item 14").get_by_role("link").click()
    expect(page.locator("#item-14 input").first).to_be_focused()
    page.keyboard.press("Space")
    expect(errors).to_have_count(5)
    expect(item(page, "14")).not_to_have_class(re.compile("is-missing"))
    # "Next unanswered item" goes on from the item last worked on.
    page.get_by_role("button", name="Next unanswered item").click()
    expect(page.locator("#item-15 input").first).to_be_focused()
    assignment.assessment.refresh_from_db()
    assert assignment.assessment.status == Assessment.Status.IN_PROGRESS


def test_after_a_two_tab_conflict_the_score_and_messages_are_current(
    assignment: Assignment, context: Any, page: Any
) -> None:
    stale = page
    open_form(stale, assignment)
    fresh = context.new_page()
    open_form(fresh, assignment)
    for option in ("2-yes", "5-either", "9-resampling"):
        fresh.locator(f"#opt-{option}").click()
    wait_saved(fresh, assignment)
    expect(total(fresh)).to_have_text("4")
    completeness = fresh.locator("[data-testid=completeness]").text_content()

    stale.locator("#opt-5-none").click()
    expect(stale.locator("#save-error")).to_contain_text("was changed elsewhere")
    # Items the other tab changed count in this tab's score and lists too.
    expect(total(stale)).to_have_text("4")
    expect(stale.locator("[data-testid=completeness]")).to_have_text(
        (completeness or "").strip()
    )
    expect(item(stale, "9").locator("[data-role=problem]")).to_have_text(ITEM9_PROBLEM)
    expect(item(stale, "5").locator("[data-role=points]")).to_have_text("+3 pts")

    # A later save of that item goes through: its error and the box clear.
    stale.locator("#opt-5-none").click()
    expect(item(stale, "5").locator("[data-role=state]")).to_have_text("Saved")
    expect(stale.locator("#save-error")).to_be_hidden()
    expect(total(stale)).to_have_text("-2")


def test_items_explain_themselves_and_score_changes_are_announced(
    assignment: Assignment, page: Any
) -> None:
    open_form(page, assignment)
    explain = page.get_by_role("button", name="Explain item 9")
    expect(explain).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#help-9")).to_be_hidden()
    explain.click()
    expect(explain).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#help-9")).to_contain_text("ticking resampling alone")
    expect(page.locator("#help-9 a")).to_have_attribute(
        "href", "https://doi.org/10.1038/nrclinonc.2017.141"
    )
    explain.click()
    expect(page.locator("#help-9")).to_be_hidden()

    # One live region, kept in place while the score panel is re-rendered.
    page.locator("#score-announce").evaluate("el => { el.dataset.kept = '1'; }")
    page.locator("#opt-1-documented").click()
    wait_saved(page, assignment)
    announce = page.locator("#score-announce")
    expect(announce).to_have_attribute("role", "status")
    expect(announce).to_have_attribute("data-kept", "1")
    expect(announce).to_have_text("Score: 1 of 36 points (2.8%); 15 still to answer")
