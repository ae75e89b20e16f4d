"""The consensus page as a decision record: decisions beside answers, in words."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments.instruments import score
from assessments.models import Assessment, InstrumentVersion
from assessments.selectors.consensus import total_text
from assessments.services import answering, assignment, consensus
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project
from tests.test_consensus import ALICE, BOB, DISPUTED

pytestmark = pytest.mark.django_db

DECIDED = {"2": ["yes"], "12": ["one_other"], "16": ["code"]}


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or form values."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(response: Any) -> str:
    parser = _Text()
    parser.feed(response.content.decode())
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def submit(world: dict[str, Any], reviewer: Any, answers: dict[str, list[str]]) -> Any:
    assessment = assignment.assign_reviewer(
        study=world["study"],
        version=world["version"],
        reviewer=reviewer,
        user=world["lead"],
    )
    for code, choices in answers.items():
        data = answering.AnswerInput(
            code,
            choices,
            evidence=f"{reviewer.username} quote {code}",
            page=f"p{code}",
            comment=f"{reviewer.username} note {code}",
        )
        answering.save_answer(
            assessment=assessment, user=reviewer, data=data, seen_revision=0
        )
    answering.submit_assessment(assessment=assessment, user=reviewer)
    return assessment


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead", first_name="Lena", last_name="Lead")
    alice = UserFactory(username="alice", first_name="Alice", last_name="Ames")
    bob = UserFactory(username="bob")
    project = make_project(lead=lead, reviewers=[alice, bob], slug="rec")
    world = {
        "lead": lead,
        "alice": alice,
        "bob": bob,
        "project": project,
        "study": StudyFactory(project=project, title="Nodules on CT"),
        "version": InstrumentVersion.objects.by_key("rqs-1.0"),
    }
    world["a_alice"] = submit(world, alice, ALICE)
    world["a_bob"] = submit(world, bob, BOB)
    return world


def url(world: dict[str, Any], name: str) -> str:
    kwargs = {
        "slug": world["project"].slug,
        "uuid": world["study"].uuid,
        "version_key": world["version"].key,
    }
    return reverse(name, kwargs=kwargs)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def started(world: dict[str, Any]) -> Assessment:
    return consensus.start_consensus(
        study=world["study"], version=world["version"], user=world["lead"]
    )


def decide_all(world: dict[str, Any], target: Assessment) -> None:
    for code, choices in DECIDED.items():
        consensus.resolve_item(
            consensus=target,
            item_code=code,
            choices=choices,
            rationale=f"Reread the methods for item {code}",
            user=world["lead"],
        )


def label(world: dict[str, Any], item: str, option: str) -> str:
    found = world["version"].as_definition().item(item).option(option)
    assert found is not None
    return found.label


def cell(response: Any, world: dict[str, Any], item: str) -> str:
    """The text of one item's row."""
    html = response.content.decode()
    match = re.search(rf'<tr id="row-{item}".*?</tr>', html, re.S)
    assert match, f"no row for item {item}"
    parser = _Text()
    parser.feed(match.group(0))
    return re.sub(r"\s+", " ", " ".join(parser.parts))


# --- the record ----------------------------------------------------------------------


def test_each_decision_shows_beside_every_reviewers_answer_points_and_evidence(
    world: dict[str, Any],
) -> None:
    target = started(world)
    decide_all(world, target)
    page = as_user(world["lead"]).get(url(world, "consensus-view"))
    assert page.status_code == 200

    row = cell(page, world, "12")
    assert label(world, "12", "same_institute") in row  # Alice: 2 points
    assert label(world, "12", "one_other") in row  # Bob and the decision: 3
    assert "2 points" in row and "3 points" in row
    assert "alice quote 12" in row and "bob quote 12" in row
    assert "p. p12" in row and "alice note 12" in row
    assert "Reread the methods for item 12" in row
    assert "Decided by Lena Lead on" in row
    decided = re.search(r'data-testid="decided-12">([^<]*)<', page.content.decode())
    assert decided and decided.group(1) == label(world, "12", "one_other")
    assert "The reviewers agreed" in cell(page, world, "5")
    assert "Alice Ames" in text_of(page)  # reviewers by name


def test_totals_show_each_reviewer_and_the_consensus_in_points_of_the_maximum(
    world: dict[str, Any],
) -> None:
    target = started(world)
    decide_all(world, target)
    definition = world["version"].as_definition()
    texts = [
        total_text(definition, score(definition, answers))
        for answers in (ALICE, BOB, {**ALICE, **DECIDED})
    ]
    page = as_user(world["lead"]).get(url(world, "consensus-view"))
    totals = re.search(r'data-testid="totals">.*?</table>', page.content.decode(), re.S)
    assert totals
    for text in texts:
        assert text in totals.group(0)
    assert texts[0].startswith("11 of 36 points")


def test_totals_speak_each_instruments_unit() -> None:
    metrics = load_instrument("metrics-1.0").as_definition()
    weighted = total_text(metrics, score(metrics, {}))
    assert weighted.endswith("%") or "%, " in weighted
    assert "points" not in weighted
    quadas = load_instrument("quadas-2-1.0").as_definition()
    codes = {i.code: ["low"] for i in quadas.items if i.judgement}
    judged = total_text(quadas, score(quadas, codes))
    low = next(i for i in quadas.items if i.judgement).option("low")
    assert low is not None
    assert judged == (
        f"Overall risk of bias: {low.label}; "
        f"Overall applicability concerns: {low.label}"
    )


def test_the_disputed_only_filter_keeps_the_page_otherwise_the_same(
    world: dict[str, Any],
) -> None:
    started(world)
    lead = as_user(world["lead"])
    everything = lead.get(url(world, "consensus-view"))
    disputed = lead.get(url(world, "consensus-view") + "?disputed=1")
    full, only = everything.content.decode(), disputed.content.decode()
    assert 'href="?disputed=1"' in full
    assert all(f'id="row-{code}"' in only for code in DISPUTED)
    assert 'id="row-5"' in full and 'id="row-5"' not in only
    assert "Show all 16 items" in text_of(disputed)
    assert 'data-testid="totals"' in only and "Start the consensus" not in only
    # A decision taken from the filtered list comes back to it.
    response = lead.post(
        url(world, "consensus-resolve"),
        {"item": "2", "choices": ["yes"], "rationale": "checked", "disputed": "1"},
    )
    assert response["Location"].endswith("?disputed=1#row-2")


def test_finalise_asks_for_confirmation_in_the_page_and_the_post_still_works(
    world: dict[str, Any],
) -> None:
    target = started(world)
    decide_all(world, target)
    lead = as_user(world["lead"])
    page = lead.get(url(world, "consensus-view")).content.decode()
    confirm = re.search(r'data-testid="finalise-confirm">.*?</details>', page, re.S)
    assert confirm, "Finalise opens a confirmation first"
    assert "<summary" in confirm.group(0) and "Yes, finalise" in confirm.group(0)
    assert url(world, "consensus-finalise") in confirm.group(0)
    assert page.count(url(world, "consensus-finalise")) == 1

    response = lead.post(url(world, "consensus-finalise"), follow=True)
    assert response.status_code == 200
    assert Assessment.objects.get(pk=target.pk).status == "submitted"


def test_a_finalised_consensus_reads_final_and_shows_every_decision_as_text(
    world: dict[str, Any],
) -> None:
    target = started(world)
    decide_all(world, target)
    consensus.finalise_consensus(consensus=target, user=world["lead"])
    page = as_user(world["lead"]).get(url(world, "consensus-view"))
    html, text = page.content.decode(), text_of(page)
    status = re.search(r'data-testid="consensus-status">([^<]*)<', html)
    assert status and status.group(1) == "Final"
    assert "final (final)" not in text.lower() and "Submitted" not in text
    # Read-only: no form among the items (the footer's language chooser aside).
    items = html.split('id="items-heading"')[1].split("<footer")[0]
    assert "<form" not in items
    assert "<textarea" not in html
    for code, choices in DECIDED.items():
        row = cell(page, world, code)
        assert label(world, code, choices[0]) in row
        assert f"Reread the methods for item {code}" in row
        assert "Decided by Lena Lead on" in row
    assert f'id="row-{len(ALICE)}"' in html  # every item, the agreed ones too


def test_no_option_or_status_codes_reach_the_reader(world: dict[str, Any]) -> None:
    target = started(world)
    decide_all(world, target)
    definition = world["version"].as_definition()
    codes = {
        o.code
        for entry in (*definition.items, *definition.conditions)
        for o in entry.options
        if o.code.lower() not in o.label.lower() and not o.code.isdigit()
    }
    assert "same_institute" in codes
    lead = as_user(world["lead"])
    editing = text_of(lead.get(url(world, "consensus-view")))
    consensus.finalise_consensus(consensus=target, user=world["lead"])
    final = lead.get(url(world, "consensus-view"))
    for text in (editing, text_of(final)):
        words = set(re.findall(r"[\w-]+", text))
        assert not codes & words, codes & words
        for code in ("in_progress", "rqs-1.0", "{'"):
            assert code not in text
        assert not re.search(r"\bNone\b(?! of these)", text)
    assert "same_institute" not in final.content.decode()


def test_the_consensus_page_runs_a_fixed_number_of_queries(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    target = started(world)
    decide_all(world, target)
    lead = as_user(world["lead"])
    lead.get(url(world, "consensus-view"))  # warm the session and caches
    with django_assert_max_num_queries(30):
        assert lead.get(url(world, "consensus-view")).status_code == 200
