"""FUTURE-AI: 30 recommendations under six principles and general ones, with a
research-tool and a deployable-tool level each; adherence per principle and level."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    iter_bundled,
    load_definition_file,
    parse_definition,
    score,
    validate_definition,
)
from assessments.models import InstrumentVersion
from tests.factories import UserFactory, load_instrument

KEY = "future-ai-1.0"
PRINCIPLES = {
    "fairness": ("Fairness", ["F1", "F2", "F3"]),
    "universality": ("Universality", ["Un1", "Un2", "Un3", "Un4"]),
    "traceability": ("Traceability", [f"T{n}" for n in range(1, 7)]),
    "usability": ("Usability", [f"Us{n}" for n in range(1, 6)]),
    "robustness": ("Robustness", ["R1", "R2", "R3"]),
    "explainability": ("Explainability", ["E1", "E2"]),
    "general": ("General recommendations", [f"G{n}" for n in range(1, 8)]),
}
# The reference's table (secondary, unverified against Table 2): research and
# deployable level of each recommendation.
LEVELS = {
    "F1": ("++", "++"), "F2": ("+", "+"), "F3": ("+", "++"),
    "Un1": ("++", "++"), "Un2": ("+", "+"), "Un3": ("++", "++"), "Un4": ("+", "++"),
    "T1": ("+", "++"), "T2": ("++", "++"), "T3": ("+", "++"), "T4": ("+", "++"),
    "T5": ("+", "++"), "T6": ("+", "++"),
    "Us1": ("++", "++"), "Us2": ("+", "++"), "Us3": ("+", "++"), "Us4": ("+", "++"),
    "Us5": ("+", "++"),
    "R1": ("++", "++"), "R2": ("++", "++"), "R3": ("++", "++"),
    "E1": ("++", "++"), "E2": ("+", "+"),
    "G1": ("++", "++"), "G2": ("++", "++"), "G3": ("++", "++"), "G4": ("++", "++"),
    "G5": ("+", "++"), "G6": ("+", "++"), "G7": ("+", "+"),
}  # fmt: skip
LEVEL_LABELS = {
    "research:++": "Research tool, highly recommended (++)",
    "research:+": "Research tool, recommended (+)",
    "deployable:++": "Deployable tool, highly recommended (++)",
    "deployable:+": "Deployable tool, recommended (+)",
}
# A sample sheet: four not met, Un2 not applicable, the rest met.
NOT_MET = {"F3", "G7", "T4", "R2"}


def path() -> Path:
    return bundled_definitions_dir() / f"{KEY}.yaml"


def raw() -> dict[str, Any]:
    return load_definition_file(path())


@cache
def future_ai() -> Definition:
    return parse_definition(raw())


def sample() -> dict[str, list[str]]:
    answers = {i.code: ["yes"] for i in future_ai().items}
    return answers | {code: ["no"] for code in NOT_MET} | {"Un2": ["na"]}


def subtotals(definition: Definition) -> dict[str, tuple[str, Any, Any]]:
    result = score(definition, sample())
    return {s.code: (s.label, s.total, s.maximum) for s in result.subtotals}


# --- the definition ------------------------------------------------------------


def test_the_file_validates_and_is_a_draft_to_check() -> None:
    assert validate_definition(raw()) == []
    definition = future_ai()
    assert definition.key == KEY and definition.kind == "checklist"
    assert definition.status == "draft" and definition.needs_check
    assert definition.doi == "10.1136/bmj-2024-081554"
    head = path().read_text(encoding="utf-8").split("\ncode:")[0]
    assert "Table 2" in head and "F2" in head and head.startswith("# FUTURE-AI")


def test_30_recommendations_under_the_principles_and_general() -> None:
    definition = future_ai()
    assert len(definition.items) == 30
    assert {
        s.code: (s.label, [i.code for i in s.items]) for s in definition.sections
    } == PRINCIPLES
    assert [len(s.items) for s in definition.sections] == [3, 4, 6, 5, 3, 2, 7]


def test_each_recommendation_has_both_levels_as_in_the_reference() -> None:
    definition = future_ai()
    assert {
        i.code: (dict(i.levels)["research"], dict(i.levels)["deployable"])
        for i in definition.items
    } == LEVELS
    by_code = {level.code: level for level in definition.levels}
    assert {code: level.label for code, level in by_code.items()} == LEVEL_LABELS
    assert by_code["deployable:+"].items == ("F2", "Un2", "E2", "G7")
    assert len(by_code["deployable:++"].items) == 26
    assert len(by_code["research:++"].items) == 13
    assert len(by_code["research:+"].items) == 17


def test_each_recommendation_is_yes_no_or_not_applicable() -> None:
    for item in future_ai().items:
        assert item.type == "ynna" and item.option_codes == ("yes", "no", "na")
        assert [o.label for o in item.options] == ["Yes", "No", "Not applicable"]
        assert len(item.evidence_hints) >= 4


# --- scoring -------------------------------------------------------------------


def test_adherence_overall() -> None:
    result = score(future_ai(), sample())
    assert result.complete and result.problems == ()
    assert (result.total, result.maximum) == (Decimal(25), Decimal(29))
    assert result.percent_display == Decimal("86.2")


def test_adherence_per_principle() -> None:
    parts = subtotals(future_ai())
    assert {code: parts[code] for code in PRINCIPLES} == {
        "fairness": ("Fairness", 2, 3),
        "universality": ("Universality", 3, 3),
        "traceability": ("Traceability", 5, 6),
        "usability": ("Usability", 5, 5),
        "robustness": ("Robustness", 2, 3),
        "explainability": ("Explainability", 2, 2),
        "general": ("General recommendations", 6, 7),
    }


def test_adherence_per_level_for_research_and_deployable_tools() -> None:
    parts = subtotals(future_ai())
    assert {code: parts[code] for code in LEVEL_LABELS} == {
        "research:++": (LEVEL_LABELS["research:++"], 12, 13),
        "research:+": (LEVEL_LABELS["research:+"], 13, 16),
        "deployable:++": (LEVEL_LABELS["deployable:++"], 23, 26),
        "deployable:+": (LEVEL_LABELS["deployable:+"], 2, 3),
    }
    level = next(
        s for s in score(future_ai(), sample()).subtotals if s.code == "research:+"
    )
    assert level.percent == Decimal(13) * 100 / 16


def test_instruments_without_levels_get_no_level_subtotals() -> None:
    for doc in iter_bundled():
        definition = parse_definition(doc)
        if "levels" not in definition.params:
            assert definition.levels == ()
            assert all(i.levels == () for i in definition.items)


# --- validation and fingerprints -------------------------------------------------


def with_levels(change: Any) -> list[str]:
    doc = copy.deepcopy(raw())
    change(doc)
    return validate_definition(doc)


def test_a_missing_or_undeclared_level_is_refused() -> None:
    items = lambda d: d["params"]["levels"]["items"]  # noqa: E731
    assert any(
        "item F1" in p and "no level on scale 'deployable'" in p
        for p in with_levels(lambda d: items(d)["F1"].pop("deployable"))
    )
    assert any(
        "level '+++' on scale 'research' is not declared" in p
        for p in with_levels(lambda d: items(d)["T1"].update(research="+++"))
    )
    assert with_levels(lambda d: items(d).update(X9={"research": "+"})) == [
        "params/levels/items: unknown item 'X9'"
    ]
    assert any(
        "unknown level scale 'clinic'" in p
        for p in with_levels(lambda d: items(d)["G1"].update(clinic="+"))
    )
    assert with_levels(lambda d: d.update(kind="points")) != []
    assert any(
        "levels" in p
        for p in with_levels(lambda d: d["params"]["levels"].pop("values"))
    )


def test_a_changed_level_changes_the_scoring_fingerprint() -> None:
    doc = copy.deepcopy(raw())
    doc["params"]["levels"]["items"]["F2"]["deployable"] = "++"
    changed = parse_definition(doc)
    assert changed.scoring_fingerprint() != future_ai().scoring_fingerprint()
    assert future_ai().scoring_differences(changed) == ["params.levels changed"]
    assert dict(changed.item("F2").levels)["deployable"] == "++"


# --- the database, the score command and the pages ------------------------------


@pytest.mark.django_db
def test_load_instruments_keeps_the_levels_of_the_draft() -> None:
    out = StringIO()
    call_command("load_instruments", str(path()), stdout=out)
    assert f"{KEY}: created" in out.getvalue()
    version = InstrumentVersion.objects.by_key(KEY)
    assert version.status == "draft" and version.needs_check
    stored = version.as_definition()  # a draft scores from its rows
    assert stored.levels == future_ai().levels
    assert stored.items == future_ai().items
    assert stored.scoring_fingerprint() == future_ai().scoring_fingerprint()
    assert subtotals(stored) == subtotals(future_ai())
    out = StringIO()
    call_command("load_instruments", str(path()), stdout=out)
    assert f"{KEY}: unchanged" in out.getvalue()


@pytest.mark.django_db
def test_the_score_command_needs_allow_draft(tmp_path: Path, capsys: Any) -> None:
    load_instrument(KEY)
    answers = sample()
    codes = [i.code for i in future_ai().items]
    sheet = tmp_path / "future.csv"
    sheet.write_text(
        "id," + ",".join(codes) + "\n"
        "tool-1," + ",".join(answers[c][0] for c in codes) + "\n"
    )
    with pytest.raises(CommandError, match="draft"):
        call_command("score", str(sheet), instrument=KEY)
    call_command("score", str(sheet), instrument=KEY, allow_draft=True)
    out = capsys.readouterr().out.splitlines()
    assert out == ["id,total,max,percent,band", "tool-1,25,29,86.2,"]


@pytest.mark.django_db
def test_the_reviewer_preview_shows_the_items_and_level_subtotals() -> None:
    draft = load_instrument(KEY)
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = f"/admin/assessments/instrumentversion/{draft.pk}/preview/"
    page = client.get(url).content.decode()
    assert "Identified risks mitigated" in page and 'id="opt-Us5-na"' in page
    assert 'id="score"' in page
    choices = {f"choice-{code}": value for code, value in sample().items()}
    html = client.post(url, choices, HTTP_X_PREVIEW="1").content.decode()
    total = re.search(r'data-testid="total">([^<]*)<', html)
    assert total and total.group(1) == "25"
    for label in LEVEL_LABELS.values():
        assert label in html
    assert "deployable:+" not in html  # labels, never codes
    detail = client.get(f"/instruments/{KEY}/").content.decode()
    assert "Risk management across the lifecycle" in detail
