"""The admin as the people who maintain the instruments use it.

Every admin page answers (never a 500) for a superuser and a view-only staff
user; a modified copy of a published instrument cannot pass for the original;
points are edited on one page; Compare reads side by side; the reviewer's
preview scores scratch choices without storing anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, reverse

from assessments.admin.forms import ConditionForm
from assessments.models import Answer, Assessment, InstrumentVersion, Option
from assessments.services import assignment, catalogue
from tests.factories import UserFactory, load_instrument, make_project
from tests.test_security_admin import (
    client_for,
    custom_urls,
    snapshot,
    superuser_client,
    url_args,
    view_only_staff,
)

ADMIN = "/admin/assessments/instrumentversion/"


def admin_world() -> None:
    """A published, a draft and a retired version, and a project using one."""
    published = load_instrument("rqs-1.0")
    catalogue.new_draft_from(version=published, new_version="1.1")
    catalogue.retire_version(version=load_instrument("metrics-1.0"))
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="reviewer")
    project = make_project(lead=lead, reviewers=[reviewer], n_studies=1, slug="p")
    assignment.assign_reviewer(
        study=project.studies.get(), version=published, reviewer=reviewer, user=lead
    )


def admin_urls() -> Iterator[str]:
    """Changelist, add, and each object's change, history, delete and own pages."""
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{prefix}_changelist")
        yield reverse(f"{prefix}_add")
        everything = list(model._default_manager.order_by("pk"))
        # Spread over all rows: the items of the draft and the retired version too.
        objects = everything[:: max(1, len(everything) // 5)]
        for obj in objects:
            for page in ("change", "history", "delete"):
                yield reverse(f"{prefix}_{page}", args=[obj.pk])
        patterns: list[URLPattern] = custom_urls(model_admin)
        for pattern in patterns:
            for obj in objects if pattern.pattern.converters else objects[:1]:
                yield reverse(f"admin:{pattern.name}", args=url_args(pattern, obj))


@pytest.mark.parametrize("who", ["superuser", "view-only staff"])
@pytest.mark.django_db
def test_every_admin_page_answers_without_a_server_error(who: str) -> None:
    admin_world()
    client = superuser_client() if who == "superuser" else client_for(view_only_staff())
    client.raise_request_exception = False
    answers = {url: client.get(url).status_code for url in admin_urls()}
    assert len(answers) > 40
    failures = {url: code for url, code in answers.items() if code >= 500}
    assert failures == {}
    assert set(answers.values()) <= {200, 302, 403}


# --- a modified copy cannot pass for the original -------------------------------


def publish_through_admin(client: Client, version: InstrumentVersion) -> str:
    """The publish action as a person uses it; the messages shown afterwards."""
    response = client.post(
        ADMIN, {"action": "publish", "_selected_action": [version.pk]}, follow=True
    )
    return " ".join(str(m) for m in response.context["messages"])


def modified_copy() -> InstrumentVersion:
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    Option.objects.filter(item__version=draft, item__code="5", code="none").update(
        points=-2
    )
    return draft


@pytest.mark.django_db
def test_a_modified_copy_cannot_publish_under_the_original_name() -> None:
    draft = modified_copy()
    shown = publish_through_admin(superuser_client(), draft)
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert "cannot be published under RQS 1.0's name" in shown
    assert "Name (now “Radiomics Quality Score”)" in shown
    assert "Short name (now “RQS 1.0”)" in shown


@pytest.mark.django_db
def test_a_modified_copy_cannot_pass_by_the_original_name_with_a_new_number() -> None:
    draft = modified_copy()
    InstrumentVersion.objects.filter(pk=draft.pk).update(
        name="Radiomics quality score 1.1", short_name="RQS 1.1"
    )
    draft.refresh_from_db()
    shown = publish_through_admin(superuser_client(), draft)
    assert "not only a new number" in shown
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
def test_a_modified_copy_with_its_own_name_publishes_marked_modified() -> None:
    draft = modified_copy()
    InstrumentVersion.objects.filter(pk=draft.pk).update(
        name="Radiomics Quality Score, Leiden adaptation",
        short_name="RQS-Leiden",
    )
    draft.refresh_from_db()
    shown = publish_through_admin(superuser_client(), draft)
    draft.refresh_from_db()
    assert draft.status == "published", shown
    # The original's reference stays, worded as the source, never as its own.
    original = load_instrument("rqs-1.0")
    assert draft.citation == f"Modified from RQS 1.0: {original.citation}"
    assert draft.definition["citation"] == draft.citation
    assert draft.definition["modified_from"] == "RQS 1.0"
    definition = draft.as_definition()
    assert definition.modified_from == "RQS 1.0"
    assert definition.modified_from_key == "rqs-1.0"
    page = superuser_client().get(f"{ADMIN}{draft.pk}/change/").content.decode()
    assert "Modified from RQS 1.0" in page
    listing = superuser_client().get(ADMIN).content.decode()
    assert "RQS-Leiden 1.1" in listing and "RQS 1.0" in listing


@pytest.mark.django_db
def test_an_unmodified_copy_publishes_under_the_same_name() -> None:
    original = load_instrument("rqs-1.0")
    draft = catalogue.new_draft_from(version=original, new_version="1.2")
    catalogue.publish_version(version=draft)
    draft.refresh_from_db()
    assert draft.status == "published" and draft.name == original.name
    assert draft.as_definition().modified_from == ""
    assert draft.scoring_hash == original.scoring_hash


@pytest.mark.django_db
def test_a_reworded_copy_counts_as_modified() -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    draft.items.filter(code="2").update(label="Protocol quality, reworded")
    derivation = catalogue.derivation_of(draft)
    assert derivation.modified and derivation.summary() == "in wording"


@pytest.mark.django_db
def test_publishing_keeps_the_fingerprints_of_bundled_versions() -> None:
    version = load_instrument("rqs-1.0")
    assert version.as_definition().modified_from == ""
    assert version.scoring_hash == version.as_definition().scoring_fingerprint()


# --- Compare: side by side, scoring first, in words -----------------------------


@pytest.mark.django_db
def test_compare_is_side_by_side_with_scoring_rows_first() -> None:
    original = InstrumentVersion.objects.get(pk=load_instrument("rqs-1.0").pk)
    draft = modified_copy()
    draft.items.filter(code="2").update(label="Protocol quality, reworded")
    page = superuser_client().get(
        f"{ADMIN}compare/", {"left": original.pk, "right": draft.pk}
    )
    html = page.content.decode()
    rows = re.findall(r'<tr class="diff-(scoring|wording)">(.*?)</tr>', html, re.S)
    kinds = [kind for kind, _ in rows]
    assert kinds == sorted(kinds)  # "scoring" sorts before "wording"
    assert kinds[0] == "scoring" and "wording" in kinds
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for _, row in rows]
    assert [
        "<strong>Scoring</strong>",
        "Item 5, option “Neither reduction nor adjustment”: points",
        "-3",
        "-2",
    ] in (cells)
    assert "Protocol quality, reworded" in html
    assert "Decimal(" not in html and "&#x27;" not in html and "-&gt;" not in html
    header = re.search(r"<thead>(.*?)</thead>", html, re.S)
    assert header and "RQS 1.0 (Published)" in header.group(1)


@pytest.mark.django_db
def test_compare_of_an_unfinished_draft_explains_instead_of_failing() -> None:
    original = load_instrument("rqs-1.0")
    draft = catalogue.new_draft_from(version=original, new_version="1.1")
    Option.objects.filter(item__version=draft, item__code="1").update(requires=["x"])
    client = superuser_client()
    client.raise_request_exception = False
    page = client.get(f"{ADMIN}compare/", {"left": original.pk, "right": draft.pk})
    assert page.status_code == 200
    assert "is not complete yet" in page.content.decode()


# --- Points: one page for every option ------------------------------------------


@pytest.mark.django_db
def test_every_points_value_of_a_draft_is_edited_on_one_page() -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    client = superuser_client()
    url = f"{ADMIN}{draft.pk}/points/"
    page = client.get(url)
    html = page.content.decode()
    options = Option.objects.filter(item__version=draft)
    assert html.count('class="points-input"') == options.count()
    data = {
        f"points-{o.pk}": "" if o.points is None else str(o.points) for o in options
    }
    none = options.get(item__code="5", code="none")
    data[f"points-{none.pk}"] = "-2"
    client.post(url, data)
    none.refresh_from_db()
    assert none.points == -2
    assert "item 5" in " ".join(
        catalogue.version_words(draft) + d.what.lower()
        for d in catalogue.compare_versions(load_instrument("rqs-1.0"), draft)
    )


@pytest.mark.django_db
def test_points_of_a_published_version_are_read_only() -> None:
    published = load_instrument("rqs-1.0")
    client = superuser_client()
    url = f"{ADMIN}{published.pk}/points/"
    assert b'type="submit"' not in client.get(url).content.split(b"<main")[-1]
    option = Option.objects.filter(item__version=published).first()
    assert option is not None
    assert client.post(url, {f"points-{option.pk}": "99"}).status_code == 403
    option.refresh_from_db()
    assert option.points != 99


# --- Preview as a reviewer --------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_shows_the_drafts_items_and_scores_without_storing() -> None:
    draft = modified_copy()
    draft.items.filter(code="2").update(label="Protocol quality, reworded")
    client = superuser_client()
    url = f"{ADMIN}{draft.pk}/preview/"
    page = client.get(url).content.decode()
    assert "Protocol quality, reworded" in page
    assert 'id="opt-5-none"' in page and 'id="score"' in page
    assert "admin_preview.js" in page
    before = snapshot()
    scored = client.post(
        url, {"choice-5": ["none"], "choice-2": ["yes"]}, HTTP_X_PREVIEW="1"
    )
    html = scored.content.decode()
    total = re.search(r'data-testid="total">([^<]*)<', html)
    assert total and total.group(1) == "-1"  # -2 (the draft's points) + 1
    assert "<html" not in html  # the panel and items only
    assert snapshot() == before
    assert not Assessment.objects.exists() and not Answer.objects.exists()


@pytest.mark.django_db
def test_the_preview_is_for_staff_who_may_view_instruments() -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    url = f"{ADMIN}{draft.pk}/preview/"
    assert client_for(view_only_staff()).get(url).status_code == 200
    reviewer = client_for(UserFactory(username="someone"))
    assert "/admin/login/" in reviewer.get(url)["Location"]
    bare_staff = client_for(UserFactory(username="bare", is_staff=True))
    assert bare_staff.get(url).status_code == 403
    assert bare_staff.post(url, {"choice-5": ["none"]}).status_code == 403
    assert (
        client_for(view_only_staff("v2")).get(f"{ADMIN}999999/preview/").status_code
        == 404
    )


@pytest.mark.django_db
def test_the_instrument_pages_say_what_a_copy_was_modified_from() -> None:
    draft = modified_copy()
    InstrumentVersion.objects.filter(pk=draft.pk).update(
        name="Leiden radiomics score", short_name="LRS"
    )
    catalogue.publish_version(version=InstrumentVersion.objects.get(pk=draft.pk))
    client = client_for(UserFactory(username="clinician"))
    listing = client.get("/instruments/").content.decode()
    assert "Leiden radiomics score <span" in listing
    assert "(modified from RQS 1.0)" in listing
    page = client.get("/instruments/rqs-1.1/").content.decode()
    assert re.search(r'Modified from <a href="/instruments/rqs-1.0/">RQS 1.0</a>', page)


@pytest.mark.parametrize("key", ["rqs-1.0", "metrics-1.0"])
@pytest.mark.django_db
def test_points_and_preview_pages_take_a_fixed_number_of_queries(
    key: str, django_assert_max_num_queries: Any
) -> None:
    draft = catalogue.new_draft_from(version=load_instrument(key), new_version="1.1")
    client = superuser_client()
    client.get(ADMIN)  # the session and permissions are loaded once
    for page in ("points", "preview"):
        with django_assert_max_num_queries(16):
            assert client.get(f"{ADMIN}{draft.pk}/{page}/").status_code == 200


# --- Search hints: one per line, never a score ----------------------------------


def item_post(item: Any, hints: str) -> dict[str, Any]:
    """The item's own values as its change form posts them, with new hints."""
    return {
        "section": item.section_id,
        "code": item.code,
        "label": item.label,
        "help": item.help,
        "type": item.type,
        "applies_when": "[]",
        "tracks": "[]",
        "essential": "on",
        "position": item.position,
        "evidence_hints": hints,
        "options-TOTAL_FORMS": "0",
        "options-INITIAL_FORMS": "0",
    }


@pytest.mark.django_db
def test_an_items_search_hints_are_edited_one_per_line() -> None:
    published = load_instrument("rqs-1.0")
    draft = catalogue.new_draft_from(version=published, new_version="1.1")
    item = draft.items.get(code="14")
    url = f"/admin/assessments/item/{item.pk}/change/"
    client = superuser_client()
    html = client.get(url).content.decode()
    assert "Search hints for the evidence finder (one per line)" in html
    assert "finder beside the form and never change a score" in html
    shown = re.search(
        r'<textarea name="evidence_hints"[^>]*>(.*?)</textarea>', html, re.S
    )
    assert shown and shown.group(1).strip().splitlines() == item.evidence_hints
    typed = "decision curve analysis\r\n\r\n  net   benefit \r\nDCA\r\ndca\r\nuse"
    assert client.post(url, item_post(item, typed)).status_code == 302
    item.refresh_from_db()
    hints = ["decision curve analysis", "net benefit", "DCA", "use"]
    assert item.evidence_hints == hints
    draft = InstrumentVersion.objects.get(pk=draft.pk)
    assert draft.as_definition().item("14").evidence_hints == tuple(hints)
    assert draft.as_definition().scoring_fingerprint() == published.scoring_hash
    # A list pasted from an exported definition reads as the same hints.
    pasted = '["decision curve analysis", "net benefit", "DCA", "use"]'
    assert client.post(url, item_post(item, pasted)).status_code == 302
    item.refresh_from_db()
    assert item.evidence_hints == hints
    assert f"{hints[0]}\n{hints[1]}" in client.get(url).content.decode()


@pytest.mark.django_db
def test_unusable_search_hints_are_refused_naming_the_line() -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("rqs-1.0"), new_version="1.1"
    )
    item = draft.items.get(code="14")
    before = list(item.evidence_hints)
    url = f"/admin/assessments/item/{item.pk}/change/"
    client = superuser_client()
    page = client.post(url, item_post(item, "net benefit\nx\n" + "y" * 201))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Line “x” is too short: a hint needs at least 2 characters." in html
    assert "is 201 characters long; a hint may have at most 200." in html
    many = "\n".join(f"hint {n}" for n in range(41))
    html = client.post(url, item_post(item, many)).content.decode()
    assert "There are 41 hints; an item may have at most 40." in html
    item.refresh_from_db()
    assert item.evidence_hints == before


@pytest.mark.django_db
def test_search_hints_of_a_published_item_are_shown_not_edited() -> None:
    published = load_instrument("rqs-1.0")
    item = published.items.get(code="3")
    url = f"/admin/assessments/item/{item.pk}/change/"
    client = superuser_client()
    html = client.get(url).content.decode()
    assert '<textarea name="evidence_hints"' not in html
    assert "phantom" in html
    refused = client.post(url, item_post(item, "something else"))
    assert refused.status_code == 403
    item.refresh_from_db()
    assert "something else" not in item.evidence_hints


@pytest.mark.django_db
def test_a_conditions_search_hints_are_edited_one_per_line() -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("metrics-1.0"), new_version="1.1"
    )
    condition = draft.conditions.get(code="C1")
    page = superuser_client().get(f"{ADMIN}{draft.pk}/change/").content.decode()
    assert 'name="conditions-0-evidence_hints"' in page
    form = ConditionForm(
        {
            "position": condition.position,
            "code": "C1",
            "label": condition.label,
            "options": json.dumps(condition.options),
            "applies_when": "[]",
            "evidence_hints": "tumour contours\r\n\r\nnnU-Net\r\nnnu-net",
        },
        instance=condition,
    )
    assert form.is_valid(), form.errors
    form.save()
    draft = InstrumentVersion.objects.get(pk=draft.pk)
    assert draft.as_definition().condition("C1").evidence_hints == (
        "tumour contours",
        "nnU-Net",
    )
