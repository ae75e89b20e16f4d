"""Quotes from the paper where answers are shown: consensus, reports, exports.

Quotes are part of the answer: shown wherever it is, hidden (blinding)
wherever it is. They are written straight into Answer.quotes here, in the
shape autosave stores them; the consensus adopts them through autosave.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import uuid
from html import unescape
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from assessments.models import (
    Answer,
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Membership,
    Paper,
    PaperText,
)
from assessments.renderers.reports import render_report
from assessments.selectors.reports import ReportRequest, study_context
from assessments.services import answering, assignment, consensus, projects
from assessments.services.exports import export
from tests.conftest import require
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

ALICE = {**RQS_13, "2": ["no"]}
BOB = {**RQS_13, "2": ["yes"]}
PAGES = [
    "Radiomics of lung nodules. Introduction to the cohort.",
    "Images were acquired on two scanners with a fixed protocol of 1 mm slices.",
    "The model was validated on an external cohort from another hospital.",
]
ALICE_SAYS = "acquired on two scanners with a fixed protocol"
BOB_SAYS = "validated on an external cohort"
FORGED = "a sentence the paper never says"


def quote(paper: Paper, page: int, exact: str, by: str, **extra: Any) -> dict:
    """A quote as autosave stores it (selectors, verdict, who and when)."""
    text = PAGES[page - 1]
    start = text.find(exact)
    found = start >= 0
    return {
        "id": uuid.uuid4().hex,
        "paper": str(paper.uuid),
        "sha256": paper.sha256,
        "page": page,
        "exact": exact,
        "prefix": text[max(start - 20, 0) : start] if found else "",
        "suffix": text[start + len(exact) : start + len(exact) + 20] if found else "",
        "start": start if found else None,
        "end": start + len(exact) if found else None,
        "verified": found,
        "by": by,
        "at": "2025-03-01T10:00:00+00:00",
        **extra,
    }


def answer(assessment: Assessment, user: Any, answers: dict[str, list[str]]) -> None:
    for code, choices in answers.items():
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=answering.AnswerInput(code, choices),
            seen_revision=0,
        )


def put_quotes(assessment: Assessment, item: str, quotes: list[dict]) -> None:
    Answer.objects.filter(assessment=assessment, item_code=item).update(quotes=quotes)


@pytest.fixture
def world(db: None, papers_dir: Any) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="p")
    observer = UserFactory(username="olga")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    study: Any = StudyFactory(project=project, title="Radiomics of tumour Alpha")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    paper = Paper(
        study=study,
        original_name="alpha.pdf",
        sha256="ab" * 32,
        size=1000,
        page_count=len(PAGES),
        text_state=Paper.TextState.DONE,
    )
    paper.file.save("alpha.pdf", ContentFile(b"%PDF-1.4 stand-in"), save=True)
    PaperText.objects.create(paper=paper, pages=PAGES)
    mine: dict[str, Assessment] = {}
    for who, answers in ((alice, ALICE), (bob, BOB)):
        mine[str(who.username)] = assignment.assign_reviewer(
            study=study, version=version, reviewer=who, user=lead
        )
        answer(mine[str(who.username)], who, answers)
    alice_quote = quote(paper, 2, ALICE_SAYS, "alice")
    forged = quote(paper, 3, FORGED, "alice")
    bob_quote = quote(paper, 3, BOB_SAYS, "bob")
    put_quotes(mine["alice"], "2", [alice_quote, forged])
    put_quotes(mine["bob"], "2", [bob_quote])
    return {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "observer": observer,
        "project": project,
        "study": study,
        "version": version,
        "paper": paper,
        "mine": mine,
        "alice_quote": alice_quote,
        "bob_quote": bob_quote,
    }


def submit(world: dict[str, Any], *names: str) -> None:
    for name in names:
        answering.submit_assessment(assessment=world["mine"][name], user=world[name])


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def consensus_url(world: dict[str, Any], name: str = "consensus-view") -> str:
    study, version = world["study"], world["version"]
    return reverse(name, args=[world["project"].slug, study.uuid, version.key])


def start(world: dict[str, Any]) -> Assessment:
    return consensus.start_consensus(
        study=world["study"], version=world["version"], user=world["lead"]
    )


def consensus_answer(target: Assessment, item: str = "2") -> Answer | None:
    return Answer.objects.filter(assessment=target, item_code=item).first()


def adopt(
    world: dict[str, Any],
    user: Any,
    target: Assessment,
    *,
    source: str = "alice",
    which: str = "alice_quote",
    revision: int | None = None,
) -> Any:
    held = consensus_answer(target)
    seen = revision if revision is not None else (held.revision if held else 0)
    client = user if isinstance(user, Client) else client_for(user)
    return client.post(
        consensus_url(world, "consensus-adopt-quote"),
        {
            "item": "2",
            "source": str(world["mine"][source].uuid),
            "quote": world[which]["id"],
            "revision": str(seen),
        },
    )


def flat(html: str) -> str:
    return " ".join(html.split())


def words(html: str) -> str:
    """The page's text as a reader sees it: tags dropped, spaces collapsed."""
    return flat(unescape(re.sub(r"<[^>]+>", " ", html)))


# --- consensus --------------------------------------------------------------------


def test_the_consensus_page_shows_no_quote_before_everyone_submitted(
    world: dict[str, Any],
) -> None:
    submit(world, "alice")
    response = client_for(world["lead"]).get(consensus_url(world))
    assert response.status_code == 403
    page = response.content.decode()
    for said in (ALICE_SAYS, BOB_SAYS, FORGED):
        assert said not in page
    assert "data-show-quote" not in page


def test_the_consensus_page_shows_both_reviewers_quotes_with_show_in_paper(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    response = client_for(world["lead"]).get(consensus_url(world))
    assert response.status_code == 200
    page = flat(response.content.decode())
    text = words(page)
    assert f"“{ALICE_SAYS}” p. 2" in text
    assert f"“{BOB_SAYS}” p. 3" in text
    assert f"“{FORGED}” p. 3" in text
    assert "Verified in the paper" in text and "Not found in the paper" in text
    shows = re.findall(r'data-show-quote="([^"]+)"', page)
    assert len(shows) == 3
    decoded = [json.loads(s.replace("&quot;", '"')) for s in shows]
    assert {"page": 2, "exact": ALICE_SAYS} | {
        "prefix": world["alice_quote"]["prefix"]
    } in [{k: d[k] for k in ("page", "exact", "prefix")} for d in decoded]
    # The paper opens on the page itself, streamed through the access-checked view.
    file_url = reverse("paper-file", args=[world["paper"].uuid])
    assert f'data-url="{file_url}"' in page
    # No consensus yet: nothing to adopt into.
    assert "Adopt this quote" not in page
    start(world)
    page = flat(client_for(world["lead"]).get(consensus_url(world)).content.decode())
    assert page.count("Adopt this quote") == 3


def test_adopting_copies_the_quote_once_through_autosave(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    target = start(world)
    before = consensus_answer(target)
    history = Answer.history.count()  # type: ignore[attr-defined]
    response = adopt(world, world["lead"], target)
    assert response.status_code == 302
    after = consensus_answer(target)
    assert after is not None
    assert len(after.quotes) == 1
    copied, original = after.quotes[0], world["alice_quote"]
    for key in ("id", "paper", "sha256", "page", "exact", "prefix", "suffix"):
        assert copied[key] == original[key], key
    assert (copied["start"], copied["end"]) == (original["start"], original["end"])
    assert copied["verified"] is True
    assert copied["by"] == "alice" and copied["at"] == original["at"]
    assert copied["adopted_by"] == "lead" and copied["adopted_at"]
    # A change of the answer like any other: revision bumped, in the history.
    assert after.revision > (before.revision if before else 0)
    assert Answer.history.count() == history + 1  # type: ignore[attr-defined]
    latest = Answer.history.filter(id=after.pk).first()  # type: ignore[attr-defined]
    assert latest.quotes == after.quotes
    assert AuditEvent.objects.filter(action="consensus-adopt-quote").count() == 1
    # The consensus shows it on its item, and the reviewer's quote as adopted.
    page = flat(client_for(world["lead"]).get(consensus_url(world)).content.decode())
    assert "Quoted by alice, adopted by lead" in page
    assert page.count("Adopt this quote") == 2

    lead = client_for(world["lead"])
    again = adopt(world, lead, target)
    assert again.status_code == 302
    assert len(consensus_answer(target).quotes) == 1  # type: ignore[union-attr]
    shown = words(lead.get(again["Location"]).content.decode())
    assert "Item 2: the consensus already has this quote." in shown


def test_a_stale_adoption_is_refused_and_changes_nothing(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    target = start(world)
    consensus.resolve_item(
        consensus=target,
        item_code="2",
        choices=["yes"],
        rationale="the methods say so",
        user=world["lead"],
    )
    held = consensus_answer(target)
    assert held is not None and held.revision > 0
    response = adopt(world, world["lead"], target, revision=held.revision - 1)
    assert response.status_code == 409
    assert "was changed by someone else" in flat(response.content.decode())
    held.refresh_from_db()
    assert held.quotes == []


def test_the_quote_adopted_comes_from_the_item_of_a_reviewer_of_the_study(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    target = start(world)
    # Bob's quote named as Alice's: not among her quotes, refused.
    lead = client_for(world["lead"])
    response = adopt(world, lead, target, source="alice", which="bob_quote")
    assert response.status_code == 302
    held = consensus_answer(target)
    assert held is None or held.quotes == []
    shown = words(lead.get(response["Location"]).content.decode())
    assert "that quote is not one of the reviewers' quotes" in shown


@pytest.mark.parametrize(
    "who,status", [("alice", 403), ("observer", 403), ("outsider", 404)]
)
def test_only_who_may_decide_the_consensus_adopts(
    world: dict[str, Any], who: str, status: int
) -> None:
    submit(world, "alice", "bob")
    target = start(world)
    user = world.get(who) or UserFactory(username=who)
    assert adopt(world, user, target).status_code == status
    held = consensus_answer(target)
    assert held is None or held.quotes == []


def test_a_final_consensus_takes_no_quote(world: dict[str, Any]) -> None:
    submit(world, "alice", "bob")
    target = start(world)
    consensus.resolve_item(
        consensus=target,
        item_code="2",
        choices=["yes"],
        rationale="the methods say so",
        user=world["lead"],
    )
    consensus.finalise_consensus(consensus=target, user=world["lead"])
    page = flat(client_for(world["lead"]).get(consensus_url(world)).content.decode())
    assert "Adopt this quote" not in page
    adopt(world, world["lead"], target)
    assert consensus_answer(target).quotes == []  # type: ignore[union-attr]


# --- reports ----------------------------------------------------------------------


def _pdf_text(pdf: bytes, folder: Path) -> str:
    tool = shutil.which("pdftotext")
    require(tool is not None, "pdftotext (poppler-utils) needed")
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [str(tool), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(out.stdout.split())


def test_the_study_report_prints_quotes_with_page_and_verdict(
    world: dict[str, Any], tmp_path: Path
) -> None:
    submit(world, "alice", "bob")
    req = ReportRequest(
        kind="study",
        project=world["project"],
        version=world["version"],
        user=world["lead"],
        study=world["study"],
    )
    text = _pdf_text(render_report(req), tmp_path)
    assert f"“{ALICE_SAYS}” p. 2 (verified in the paper)" in text
    assert f"“{BOB_SAYS}” p. 3 (verified in the paper)" in text
    assert f"“{FORGED}” p. 3 (not found in the paper)" in text


def test_blinded_reports_leave_out_the_co_reviewers_quotes(
    world: dict[str, Any],
) -> None:
    submit(world, "alice")
    req = ReportRequest(
        kind="study",
        project=world["project"],
        version=world["version"],
        user=world["bob"],
        study=world["study"],
    )
    context = study_context(req)
    said = [
        q.exact for row in context["grid"] for c in row["cells"] for q in c["quotes"]
    ]
    assert said == [BOB_SAYS]


# --- exports ----------------------------------------------------------------------


def _csv(file: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(file.content.decode("utf-8-sig"))))


def test_the_quotes_export_has_a_row_per_quote_with_its_selectors(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    rows = _csv(export(world["lead"], world["project"], world["version"], "quotes"))
    assert len(rows) == 3
    by_text = {r["exact"]: r for r in rows}
    mine, theirs = by_text[ALICE_SAYS], by_text[BOB_SAYS]
    original = world["alice_quote"]
    assert mine["reviewer"] == "alice" and theirs["reviewer"] == "bob"
    assert mine["instrument"] == "rqs-1.0" and mine["item"] == "2"
    assert mine["item_label"]
    assert mine["page"] == "2" and mine["prefix"] == original["prefix"]
    assert mine["suffix"] == original["suffix"]
    assert (mine["start"], mine["end"]) == (
        str(original["start"]),
        str(original["end"]),
    )
    assert mine["verified"] == "TRUE" and by_text[FORGED]["verified"] == "FALSE"
    assert by_text[FORGED]["start"] == ""
    assert mine["quoted_by"] == "alice"
    assert mine["quoted_at"] == "2025-03-01T10:00:00+00:00"
    assert mine["paper_sha256"] == "ab" * 32
    assert mine["paper_uuid"] == str(world["paper"].uuid)
    assert mine["quote_id"] == original["id"]


def test_quote_text_is_neutralised_in_csv_and_plain_text_in_xlsx(
    world: dict[str, Any],
) -> None:
    formula = '=HYPERLINK("http://x","y")'
    put_quotes(world["mine"]["alice"], "3", [quote(world["paper"], 1, formula, "a")])
    rows = _csv(export(world["alice"], world["project"], world["version"], "quotes"))
    assert [r["exact"] for r in rows if r["item"] == "3"] == ["'" + formula]
    book = openpyxl.load_workbook(
        io.BytesIO(
            export(
                world["alice"], world["project"], world["version"], "long", "xlsx"
            ).content
        )
    )
    assert book.sheetnames == ["Answers", "Quotes", "Codebook", "About"]
    sheet = book["Quotes"]
    head = [c.value for c in sheet[1]]
    cells = [dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2)]
    texts = {row["Quoted text"].value: row for row in cells}
    assert set(texts) == {ALICE_SAYS, FORGED, formula}
    assert texts[formula]["Quoted text"].data_type == "s"
    assert texts[ALICE_SAYS]["Verified"].value is True
    assert texts[ALICE_SAYS]["Page"].value == 2
    codebook = {r[2].value for r in book["Codebook"].iter_rows(min_row=2)}
    for header in ("Quoted text", "Text before", "Start", "Verified", "Paper SHA-256"):
        assert header in codebook


def test_the_json_export_carries_each_answers_quotes_in_full(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    doc = json.loads(
        export(world["lead"], world["project"], world["version"], "json").content
    )
    alice = next(a for a in doc["assessments"] if a["reviewer"] == "alice")
    item = next(a for a in alice["answers"] if a["item"] == "2")
    stored = {q["id"]: q for q in item["quotes"]}
    original = world["alice_quote"]
    full = stored[original["id"]]
    for key, value in original.items():
        assert full[key] == value, key
    assert full["selector"] == [
        {
            "type": "TextQuoteSelector",
            "exact": original["exact"],
            "prefix": original["prefix"],
            "suffix": original["suffix"],
        },
        {
            "type": "TextPositionSelector",
            "start": original["start"],
            "end": original["end"],
        },
    ]


def test_blinded_exports_leave_out_the_co_reviewers_quotes(
    world: dict[str, Any],
) -> None:
    submit(world, "alice")
    args = (world["bob"], world["project"], world["version"])
    for form, fmt in (("json", "json"), ("quotes", "csv"), ("quotes", "xlsx")):
        content = export(*args, form, fmt).content
        if fmt == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(content))
            content = "\n".join(
                str(c.value) for r in book["Quotes"].iter_rows() for c in r
            ).encode()
        text = content.decode("utf-8-sig")
        assert BOB_SAYS in text, form
        assert ALICE_SAYS not in text and FORGED not in text, form
    long = openpyxl.load_workbook(io.BytesIO(export(*args, "long", "xlsx").content))
    said = [c.value for r in long["Quotes"].iter_rows() for c in r]
    assert BOB_SAYS in said and ALICE_SAYS not in said


def test_the_download_view_serves_the_json_with_quotes(
    world: dict[str, Any],
) -> None:
    submit(world, "alice", "bob")
    url = reverse("project-export-download", args=[world["project"].slug])
    response = client_for(world["lead"]).get(
        url, {"version": world["version"].key, "form": "json"}
    )
    assert response.status_code == 200
    assert ALICE_SAYS in response.content.decode()
