"""The paper beside the form, in Chromium: highlight to quote, verified, shown.

A reviewer uploads a PDF made here (tests/paperpdf.py) on the study page,
opens the form, selects a sentence in PDF.js's text layer, attaches it to an
item, reloads and finds it verified; "Show in paper" highlights it; the other
reviewer sees nothing of it while blind; after unblinding the consensus view
shows both reviewers' quotes and the study report prints them with their page.
No CSP violation anywhere. Also: the Paper | Form switch on a narrow screen,
the resizer, search, and the evidence finder's passages and switch.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from assessments.models import (
    Answer,
    Assessment,
    Membership,
    Paper,
    ReadingPreferences,
)
from assessments.renderers.reports import render_report
from assessments.selectors.reports import ReportRequest
from assessments.services import answering, projects
from assessments.services import assignment as assigning
from assessments.services import papers as paper_service
from assessments.services.quotes import QuoteInput
from tests.conftest import require
from tests.factories import RQS_13, UserFactory, load_instrument
from tests.paperpdf import SECTIONS, make_pdf, make_scanned_pdf

from .conftest import Assignment, PageErrors, login

pytestmark = pytest.mark.browser

SAVED = "All changes saved"
# What the reviewer selects: the first sentence of the Validation section.
SENTENCE = (
    "The model was validated on an independent external cohort from a second hospital."
)
CSP_WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", e =>
  window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""

# Selects `text` in the text layer of page `page`, matching it without
# whitespace (PDF.js breaks lines where the layout did), as a mouse would.
SELECT_JS = """([pageNum, text]) => {
  const layer = document.querySelector(`.pdf-page[data-page="${pageNum}"] .textLayer`);
  const nodes = [];
  const walker = document.createTreeWalker(layer, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) nodes.push(walker.currentNode);
  let key = "";
  const map = [];
  nodes.forEach((node, n) => {
    for (let i = 0; i < node.data.length; i++) {
      if (!/\\s/.test(node.data[i])) { key += node.data[i]; map.push([n, i]); }
    }
  });
  const wanted = text.replace(/\\s+/g, "");
  const at = key.indexOf(wanted);
  if (at === -1) return false;
  const [n0, i0] = map[at];
  const [n1, i1] = map[at + wanted.length - 1];
  const range = document.createRange();
  range.setStart(nodes[n0], i0);
  range.setEnd(nodes[n1], i1 + 1);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return true;
}"""

# Whether a highlight box overlaps the text layer spans holding `text`.
HIGHLIGHT_JS = """([pageNum, word]) => {
  const page = document.querySelector(`.pdf-page[data-page="${pageNum}"]`);
  const box = el => el.getBoundingClientRect();
  const marks = Array.from(page.querySelectorAll(".paper-highlight")).map(box);
  const spans = Array.from(page.querySelectorAll(".textLayer span"))
    .filter(s => s.textContent.includes(word)).map(box);
  const meets = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return {marks: marks.length, spans: spans.length,
          hit: marks.some(m => spans.some(s => meets(m, s)))};
}"""


@pytest.fixture(autouse=True)
def _papers_in_tmp(papers_dir: Path) -> Path:
    return papers_dir


def paper_pdf() -> bytes:
    """Three pages; the Validation section is on page 2."""
    pages = [
        "\n\n".join(dict(SECTIONS)[name] for name in ("Introduction", "Patients")),
        "\n\n".join(
            dict(SECTIONS)[name] for name in ("Validation", "Statistical analysis")
        ),
        "\n\n".join(dict(SECTIONS)[name] for name in ("Results", "Discussion")),
    ]
    return make_pdf(pages, title="A radiomics model", doi="10.1234/paper.2024.7")


def csp_page(context: Any, page_errors: PageErrors) -> Any:
    context.add_init_script(CSP_WATCH)
    return page_errors.watch(context.new_page())


def no_csp_violations(page: Any) -> None:
    assert page.evaluate("() => window.__csp") == []


def upload_on_study_page(page: Any, assignment: Assignment) -> Paper:
    """Upload through the study page's form, then wait for the text."""
    page.goto(
        reverse("study-detail", args=[assignment.project.slug, assignment.study.uuid])
    )
    page.locator("#paper-file-input").set_input_files(
        files=[
            {"name": "paper.pdf", "mimeType": "application/pdf", "buffer": paper_pdf()}
        ]
    )
    page.locator("#paper").get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#paper")).to_contain_text("paper.pdf")
    paper = Paper.objects.get(study=assignment.study, current=True)
    return wait_for_text(paper)


def wait_for_text(paper: Paper) -> Paper:
    """Extraction runs in the task; where no worker takes it (a real broker
    in CI), run the task's body here, as the worker would."""
    paper.refresh_from_db()
    if paper.text_state != Paper.TextState.DONE:
        paper_service.run_extraction(paper.pk)
        paper.refresh_from_db()
    assert paper.text_state == Paper.TextState.DONE, paper.text_error
    return paper


def attach_by_service(assignment: Assignment) -> Paper:
    upload = SimpleUploadedFile("paper.pdf", paper_pdf(), "application/pdf")
    paper = paper_service.upload_paper(
        study=assignment.study,
        user=assignment.lead,
        uploaded_file=upload,
        filename="paper.pdf",
    )
    return wait_for_text(paper)


def open_form_with_paper(page: Any, assignment: Assignment) -> None:
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.locator('.pdf-page[data-page="1"] canvas')).to_be_attached()
    expect(page.locator("#paper-viewer")).to_have_attribute("data-first-page", "ready")


def select_in_paper(page: Any, page_number: int, text: str) -> None:
    target = page.locator(f'.pdf-page[data-page="{page_number}"]')
    target.scroll_into_view_if_needed()
    expect(target.locator(".textLayer span").first).to_be_attached()
    assert page.evaluate(SELECT_JS, [page_number, text]), "text not in the text layer"


def quote_of(assignment: Assignment, code: str) -> list[dict[str, Any]]:
    answer = Answer.objects.filter(
        assessment=assignment.assessment, item_code=code
    ).first()
    return list(answer.quotes) if answer else []


# --- highlight to quote ---------------------------------------------------------------


def test_select_a_sentence_attach_it_reload_and_show_it_in_the_paper(
    assignment: Assignment, context: Any, page_errors: PageErrors
) -> None:
    page = csp_page(context, page_errors)
    login(page, assignment.reviewer.username)
    paper = upload_on_study_page(page, assignment)
    open_form_with_paper(page, assignment)

    # The item last worked on is the one the quote goes to by default.
    page.locator("#opt-12-one_other").click()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    select_in_paper(page, 2, SENTENCE)
    toolbar = page.locator("#quote-toolbar")
    expect(toolbar).to_be_visible()
    expect(page.locator("#quote-item")).to_have_value("12")
    expect(page.locator("#quote-item option[value='12']")).to_have_text(
        "12 · Validation"
    )
    # "q" takes the keyboard to the box; the button adds the quote.
    page.keyboard.press("q")
    expect(page.locator("#quote-item")).to_be_focused()
    toolbar.get_by_role("button", name="Use as evidence").click()
    expect(toolbar).to_be_hidden()
    item = page.locator("#item-12")
    expect(item.locator(".quote")).to_have_count(1)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(item.locator(".quote-mark")).to_have_text("Verified in the paper")

    stored = quote_of(assignment, "12")
    assert len(stored) == 1
    quote = stored[0]
    assert " ".join(quote["exact"].split()) == SENTENCE
    assert quote["page"] == 2 and quote["verified"] is True
    assert quote["paper"] == str(paper.uuid) and quote["sha256"] == paper.sha256
    assert quote["by"] == assignment.reviewer.username
    assert isinstance(quote["start"], int) and quote["end"] > quote["start"]
    assert len(quote["prefix"]) <= 32 and len(quote["suffix"]) <= 32
    assert quote["suffix"].split()[0] == "Discrimination"

    # A second quote on the same item, picked in the box.
    second = "The radiomics model reached an area under the curve of 0.81"
    select_in_paper(page, 3, second)
    expect(toolbar).to_be_visible()
    page.locator("#quote-item").select_option("9")
    toolbar.get_by_role("button", name="Use as evidence").click()
    expect(page.locator("#item-9 .quote")).to_have_count(1)
    select_in_paper(page, 3, "124 in the external validation cohort")
    page.locator("#quote-item").select_option("12")
    toolbar.get_by_role("button", name="Use as evidence").click()
    expect(item.locator(".quote")).to_have_count(2)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert len(quote_of(assignment, "12")) == 2

    page.reload()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(item.locator(".quote")).to_have_count(2)
    first = item.locator(".quote").first
    expect(first).to_contain_text("p. 2")
    expect(first).to_contain_text("The model was validated on an independent")
    expect(first.locator(".quote-mark")).to_have_text("Verified in the paper")

    # "Show in paper" scrolls to page 2 and highlights the sentence.
    expect(page.locator("#paper-viewer")).to_have_attribute("data-first-page", "ready")
    first.get_by_role("button", name=re.compile("Show in paper")).click()
    expect(
        page.locator('.pdf-page[data-page="2"] .paper-highlight').first
    ).to_be_visible()
    expect(page.locator("#paper-viewer [data-role=status]")).to_contain_text(
        "Page 2: the quote is highlighted"
    )
    found = page.evaluate(HIGHLIGHT_JS, [2, "independent"])
    assert found["marks"] >= 1 and found["spans"] >= 1 and found["hit"], found
    # Nothing on the other pages is marked.
    assert page.locator('.pdf-page[data-page="1"] .paper-highlight').count() == 0

    # Remove, through the same autosave.
    item.locator(".quote").nth(1).get_by_role(
        "button", name=re.compile("Remove")
    ).click()
    expect(item.locator(".quote")).to_have_count(1)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert [q["page"] for q in quote_of(assignment, "12")] == [2]
    # The history holds the quote as part of the answer.
    history = Answer.history.filter(  # type: ignore[attr-defined]
        assessment_id=assignment.assessment.pk, item_code="12"
    )
    assert any(h.quotes for h in history)

    no_csp_violations(page)
    page_errors.assert_none()


def test_a_forged_quote_shows_as_not_found(assignment: Assignment, page: Any) -> None:
    paper = attach_by_service(assignment)
    save_quote(
        assignment, paper, "12", "All patients gave written consent on a blue form."
    )
    open_form_with_paper(page, assignment)
    quote = page.locator("#item-12 .quote")
    expect(quote.locator(".quote-mark")).to_have_text("Not found in the paper")
    quote.get_by_role("button", name=re.compile("Show in paper")).click()
    expect(page.locator("#paper-viewer [data-role=status]")).to_contain_text(
        "not found on page 2"
    )


def add_quote(page: Any, page_number: int, text: str, code: str) -> None:
    select_in_paper(page, page_number, text)
    toolbar = page.locator("#quote-toolbar")
    expect(toolbar).to_be_visible()
    page.locator("#quote-item").select_option(code)
    toolbar.get_by_role("button", name="Use as evidence").click()


def test_a_quote_made_offline_survives_a_crash_and_a_stale_one_is_refused(
    assignment: Assignment, context: Any, page: Any
) -> None:
    attach_by_service(assignment)
    open_form_with_paper(page, assignment)
    page.route("**/answer", lambda route: route.abort("internetdisconnected"))
    add_quote(page, 2, SENTENCE, "12")
    expect(page.locator("#item-12 .quote-mark")).to_have_text("Not saved yet")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    page.close(run_before_unload=False)
    assert quote_of(assignment, "12") == []

    again = context.new_page()
    open_form_with_paper(again, assignment)
    expect(again.locator("#item-12 .quote-mark")).to_have_text("Verified in the paper")
    assert [q["page"] for q in quote_of(assignment, "12")] == [2]

    # Another tab changes item 12; this one, not knowing, adds a quote to it.
    stale = context.new_page()
    open_form_with_paper(stale, assignment)
    again.locator("#opt-12-one_other").click()
    expect(again.locator("#save-status")).to_have_text(SAVED)
    add_quote(stale, 3, "124 in the external validation cohort", "12")
    state = stale.locator("#item-12 [data-role=state]")
    expect(state).to_contain_text("was changed elsewhere")
    expect(state).to_contain_text("quote: “124 in the external validation cohort”")
    # The newer answer is what the stale tab shows now, and what is stored.
    expect(stale.locator("#opt-12-one_other")).to_be_checked()
    expect(stale.locator("#item-12 .quote")).to_have_count(1)
    assert [q["page"] for q in quote_of(assignment, "12")] == [2]


def test_a_submitted_form_shows_its_quotes_without_remove(
    assignment: Assignment, page: Any
) -> None:
    paper = attach_by_service(assignment)
    submit_with_quote(assignment.assessment, paper, SENTENCE, 2)
    page.goto(assignment.form_url)
    quote = page.locator("#item-12 .quote")
    expect(quote).to_contain_text("p. 2")
    expect(quote.locator(".quote-mark")).to_have_text("Verified in the paper")
    expect(quote.get_by_role("button", name=re.compile("Remove"))).to_have_count(0)
    assert page.locator("#quote-toolbar").count() == 0
    expect(page.locator("#paper-viewer")).to_have_attribute("data-first-page", "ready")
    quote.get_by_role("button", name=re.compile("Show in paper")).click()
    expect(
        page.locator('.pdf-page[data-page="2"] .paper-highlight').first
    ).to_be_visible()


# --- blinding -------------------------------------------------------------------------


def test_the_co_reviewer_sees_nothing_of_the_quote_while_blind(
    assignment: Assignment, new_context: Any, page_errors: PageErrors
) -> None:
    paper = attach_by_service(assignment)
    theirs = second_reviewer(assignment)
    save_quote(assignment, paper, "12", SENTENCE)

    context = new_context()
    page = csp_page(context, page_errors)
    login(page, "reviewer2")
    page.goto(f"/a/{theirs.uuid}/")
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.locator("#paper-viewer")).to_have_attribute("data-first-page", "ready")
    # The paper is there (it is nobody's work), the other reviewer's quote is not.
    # (The finder may list the same passage: that is the paper, not her work.)
    expect(page.locator(".quote")).to_have_count(0)
    quote_id = quote_of(assignment, "12")[0]["id"]
    assert quote_id not in page.content()
    mine = page.request.get(f"/a/{theirs.uuid}.json")
    assert mine.ok and "independent external" not in mine.text()
    assert all(not a.get("quotes") for a in mine.json()["answers"].values())
    foreign = page.request.get(f"/a/{assignment.assessment.uuid}.json")
    assert foreign.status in (403, 404)
    assert "independent external" not in foreign.text()
    no_csp_violations(page)
    page_errors.assert_none()


def second_reviewer(assignment: Assignment) -> Assessment:
    """reviewer2, assigned to the same study: the co-reviewer."""
    other = UserFactory(username="reviewer2")
    projects.set_membership(
        project=assignment.project,
        member=other,
        role=Membership.Role.REVIEWER,
        user=assignment.lead,
    )
    return assigning.assign_reviewer(
        study=assignment.study,
        version=load_instrument("rqs-1.0"),
        reviewer=other,
        user=assignment.lead,
    )


def submit_with_quote(
    assessment: Assessment, paper: Paper, text: str, page: int
) -> None:
    """Every item answered, item 12 with a quote, then submitted."""
    for code, choices in RQS_13.items():
        quotes = (
            (QuoteInput(paper=str(paper.uuid), page=page, exact=text),)
            if code == "12"
            else None
        )
        answering.save_answer(
            assessment=assessment,
            user=assessment.reviewer,
            data=answering.AnswerInput(item_code=code, choices=choices, quotes=quotes),
            seen_revision=0,
        )
    answering.submit_assessment(assessment=assessment, user=assessment.reviewer)


def pdf_text(pdf: bytes, folder: Path) -> str:
    tool = shutil.which("pdftotext")
    require(tool is not None, "pdftotext (poppler-utils) is not installed")
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [str(tool), str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(out.stdout.split())


def save_quote(
    assignment: Assignment, paper: Paper, code: str, text: str, page: int = 2
) -> None:
    """A quote saved as the form saves it (the server verifies it)."""
    answer = Answer.objects.filter(
        assessment=assignment.assessment, item_code=code
    ).first()
    answering.save_answer(
        assessment=assignment.assessment,
        user=assignment.reviewer,
        data=answering.AnswerInput(
            item_code=code,
            choices=answer.choices if answer else None,
            quotes=(QuoteInput(paper=str(paper.uuid), page=page, exact=text),),
        ),
        seen_revision=answer.revision if answer else 0,
    )


def form_with_paper(
    assignment: Assignment, context: Any, page_errors: PageErrors
) -> Any:
    """The reviewer's form, with the paper attached and its text extracted."""
    attach_by_service(assignment)
    page = csp_page(context, page_errors)
    login(page, assignment.reviewer.username)
    open_form_with_paper(page, assignment)
    return page


# --- the viewer's controls ------------------------------------------------------------


def test_search_zoom_pages_and_keyboard(
    assignment: Assignment, context: Any, page_errors: PageErrors
) -> None:
    page = form_with_paper(assignment, context, page_errors)
    viewer = page.locator("#paper-viewer")
    expect(viewer.locator("[data-role=page-count]")).to_have_text("3")

    search = page.get_by_role("searchbox", name="Search in the paper")
    search.fill("external")
    search.press("Enter")
    count = viewer.locator("[data-role=find-count]")
    expect(count).to_have_text(re.compile(r"^1 of \d+$"))
    total = int(count.inner_text().split(" of ")[1])
    assert total >= 3
    expect(viewer.locator(".paper-highlight.is-search").first).to_be_visible()
    search.press("Enter")
    expect(count).to_have_text(f"2 of {total}")
    search.press("Shift+Enter")
    expect(count).to_have_text(f"1 of {total}")
    search.fill("no such words anywhere")
    search.press("Enter")
    expect(count).to_have_text("No matches")

    zoom = viewer.locator("[data-role=zoom]")
    before = zoom.inner_text()
    viewer.get_by_role("button", name="Zoom in").click()
    expect(zoom).not_to_have_text(before)
    expect(viewer.get_by_role("button", name="Fit width")).to_have_attribute(
        "aria-pressed", "false"
    )
    viewer.get_by_role("button", name="Fit width").click()
    expect(zoom).to_have_text(before)

    number = viewer.get_by_label("Page number")
    number.fill("1")
    number.press("Enter")
    expect(number).to_have_value("1")
    viewer.get_by_role("button", name="Next page").click()
    expect(number).to_have_value("2")
    pages = viewer.locator("[data-role=pages]")
    pages.focus()
    page.keyboard.press("PageDown")
    expect(number).to_have_value("3")
    page.keyboard.press("PageUp")
    expect(number).to_have_value("2")
    viewer.get_by_role("button", name="Previous page").click()
    expect(number).to_have_value("1")

    # The resizer is a separator the keyboard moves; the width is remembered.
    resizer = page.get_by_role("separator", name="Width of the paper")
    resizer.focus()
    start = int(resizer.get_attribute("aria-valuenow") or "0")
    page.keyboard.press("ArrowRight")
    expect(resizer).to_have_attribute("aria-valuenow", str(start + 5))
    page.reload()
    expect(resizer).to_have_attribute("aria-valuenow", str(start + 5))
    no_csp_violations(page)
    page_errors.assert_none()


def test_narrow_screen_switches_between_paper_and_form(
    assignment: Assignment, new_context: Any, page_errors: PageErrors
) -> None:
    paper = attach_by_service(assignment)
    save_quote(assignment, paper, "12", SENTENCE)
    context = new_context(viewport={"width": 390, "height": 844})
    page = csp_page(context, page_errors)
    login(page, assignment.reviewer.username)
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    to_paper = page.get_by_role("button", name="Paper", exact=True)
    to_form = page.get_by_role("button", name="Form", exact=True)
    expect(to_form).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#paper-pane")).to_be_hidden()
    expect(page.locator("#item-1")).to_be_visible()

    to_paper.click()
    expect(to_paper).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#paper-pane")).to_be_visible()
    expect(page.locator("#item-1")).to_be_hidden()
    expect(page.locator('.pdf-page[data-page="1"] canvas')).to_be_attached()
    box = page.locator('.pdf-page[data-page="1"]').bounding_box()
    assert box is not None and box["width"] <= 390, box

    to_form.click()
    expect(page.locator("#item-12")).to_be_visible()
    # "Show in paper" from the form brings the paper into view.
    page.locator("#item-12 .quote").get_by_role(
        "button", name=re.compile("Show in paper")
    ).click()
    expect(page.locator("#paper-pane")).to_be_visible()
    expect(
        page.locator('.pdf-page[data-page="2"] .paper-highlight').first
    ).to_be_visible()
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= 390, scroll_width
    no_csp_violations(page)
    page_errors.assert_none()


# --- the evidence finder --------------------------------------------------------------


def test_finder_lists_passages_jumps_to_them_and_can_be_switched_off(
    assignment: Assignment, context: Any, page_errors: PageErrors
) -> None:
    page = form_with_paper(assignment, context, page_errors)
    finder = page.locator("#item-12 [data-finder]")
    expect(finder).to_contain_text("Where the paper may say this")
    passages = finder.locator("li")
    assert 1 <= passages.count() <= 5
    # It points at places to read; nothing is ticked or suggested.
    assert page.locator("#item-12 input:checked").count() == 0
    target = passages.first.get_by_role("button")
    number = int(re.search(r"\d+", target.inner_text()).group())  # type: ignore[union-attr]
    target.click()
    expect(
        page.locator(f'.pdf-page[data-page="{number}"] .paper-highlight').first
    ).to_be_visible()
    expect(page.locator("#paper-viewer [data-role=status]")).to_contain_text(
        f"Page {number}: the passage is highlighted"
    )

    switch = page.get_by_role("switch", name="Show where the paper may say this")
    expect(switch).to_be_checked()
    switch.uncheck()
    expect(page.locator("[data-finder]")).to_have_count(0)
    for _ in range(50):
        if not ReadingPreferences.of(assignment.reviewer).evidence_finder:
            break
        page.wait_for_timeout(100)
    assert not ReadingPreferences.of(assignment.reviewer).evidence_finder
    page.reload()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.locator("[data-finder]")).to_have_count(0)
    switch.check()
    expect(page.locator("#item-12 [data-finder]")).to_be_visible()
    no_csp_violations(page)
    page_errors.assert_none()


def test_without_text_the_form_says_where_extraction_is(
    assignment: Assignment, page: Any
) -> None:
    paper_service.upload_paper(
        study=assignment.study,
        user=assignment.lead,
        uploaded_file=SimpleUploadedFile("scan.pdf", make_scanned_pdf(2)),
        filename="scan.pdf",
    )
    paper = Paper.objects.get(study=assignment.study, current=True)
    Paper.objects.filter(pk=paper.pk).update(text_state=Paper.TextState.QUEUED)
    page.goto(assignment.form_url)
    expect(page.locator("[data-testid=paper-text-state]")).to_have_text(
        "The paper's text is still being extracted."
    )
    expect(page.locator("[data-finder]")).to_have_count(0)
    paper_service.run_extraction(paper.pk)
    page.reload()
    expect(page.locator("[data-testid=paper-text-state]")).to_contain_text(
        "No text layer: scanned PDF"
    )
    expect(page.locator("[data-finder]")).to_have_count(0)
    # The free-text evidence stays for it.
    page.locator("#item-5").get_by_role("button", name=re.compile("evidence")).click()
    expect(page.locator("#ev-5")).to_be_visible()


def test_no_paper_no_viewer(assignment: Assignment, page: Any) -> None:
    page.goto(assignment.form_url)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert page.locator("#paper-viewer").count() == 0
    assert page.locator("[data-paper-layout]").count() == 0
    assert page.locator("[data-role=quotes]").count() == 0


# --- after unblinding: consensus and the report -----------------------------------


def test_consensus_shows_both_reviewers_quotes_and_the_report_prints_them(
    assignment: Assignment,
    context: Any,
    page_errors: PageErrors,
    tmp_path: Path,
) -> None:
    paper = attach_by_service(assignment)
    theirs = second_reviewer(assignment)
    submit_with_quote(assignment.assessment, paper, SENTENCE, 2)
    other_quote = "124 in the external validation cohort"
    submit_with_quote(theirs, paper, other_quote, 3)

    page = csp_page(context, page_errors)
    login(page, assignment.lead.username)
    page.goto(
        reverse(
            "consensus-view",
            kwargs={
                "slug": assignment.project.slug,
                "uuid": assignment.study.uuid,
                "version_key": "rqs-1.0",
            },
        )
    )
    first = page.locator("[data-testid=quotes-12-reviewer1]")
    second = page.locator("[data-testid=quotes-12-reviewer2]")
    expect(first).to_contain_text("The model was validated on an independent")
    expect(first).to_contain_text("p. 2")
    expect(second).to_contain_text(other_quote)
    expect(second).to_contain_text("p. 3")
    expect(page.locator("#paper-viewer")).to_have_attribute("data-first-page", "ready")
    second.get_by_role("button", name=re.compile("Show in paper")).click()
    expect(
        page.locator('.pdf-page[data-page="3"] .paper-highlight').first
    ).to_be_visible()
    found = page.evaluate(HIGHLIGHT_JS, [3, "124"])
    assert found["hit"], found
    no_csp_violations(page)
    page_errors.assert_none()

    report = render_report(
        ReportRequest(
            kind="study",
            project=assignment.project,
            version=load_instrument("rqs-1.0"),
            user=assignment.lead,
            study=assignment.study,
        )
    )
    text = pdf_text(report, tmp_path)
    assert SENTENCE in text or SENTENCE[:60] in text, text[:2000]
    assert "p. 2" in text and other_quote in text and "p. 3" in text
