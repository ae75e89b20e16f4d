"""Checklist engine: CLEAR and CLEAR-S adherence."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache

from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    score,
)

# Sections and item ranges exactly as in the reference.
CLEAR_SECTIONS = {
    "title": (1, 1),
    "abstract": (2, 2),
    "keywords": (3, 3),
    "introduction": (4, 6),
    "methods-design": (7, 12),
    "methods-data": (13, 18),
    "methods-segmentation": (19, 20),
    "methods-preprocessing": (21, 24),
    "methods-extraction": (25, 28),
    "methods-preparation": (29, 33),
    "methods-modelling": (34, 37),
    "methods-evaluation": (38, 43),
    "results": (44, 48),
    "discussion": (49, 52),
    "open-data": (53, 54),
    "open-code": (55, 56),
    "open-model": (57, 58),
}


@cache
def raw(key: str) -> dict[str, object]:
    return load_definition_file(bundled_definitions_dir() / f"{key}.yaml")


@cache
def bundled(key: str) -> Definition:
    return parse_definition(raw(key))


def all_yes(definition: Definition, **others: str) -> dict[str, tuple[str, ...]]:
    answers: dict[str, tuple[str, ...]] = {i.code: ("yes",) for i in definition.items}
    answers.update({k.removeprefix("i"): (v,) for k, v in others.items()})
    return answers


def test_clear_sections_and_items_match_the_reference() -> None:
    definition = bundled("clear-1.0")
    sections = {s.code: [i.code for i in s.items] for s in definition.sections}
    assert sections == {
        code: [str(n) for n in range(a, b + 1)]
        for code, (a, b) in CLEAR_SECTIONS.items()
    }
    assert all(i.type == "ynna" for i in definition.items)
    assert all(i.option_codes == ("yes", "no", "na") for i in definition.items)
    assert [i.code for i in definition.items if not i.essential] == ["53", "58"]


def test_adherence_is_yes_over_items_not_marked_na() -> None:
    result = score(
        bundled("clear-1.0"), all_yes(bundled("clear-1.0"), i10="no", i5="na")
    )
    assert result.complete
    assert (result.total, result.maximum) == (Decimal(56), Decimal(57))
    assert result.percent == Decimal(56) * 100 / 57
    assert result.percent_display == Decimal("98.2")
    assert result.na == frozenset({"5"})
    assert result.items["10"].adheres is False


def test_section_and_essential_subtotals() -> None:
    definition = bundled("clear-1.0")
    answers = all_yes(definition, i4="no", i6="na", i53="no", i58="na")
    result = score(definition, answers)
    intro = next(s for s in result.subtotals if s.code == "introduction")
    assert (intro.total, intro.maximum, intro.percent) == (
        Decimal(1),
        Decimal(2),
        Decimal(50),
    )
    essential = result.subtotals[-1]
    assert essential.code == "essential"
    assert (essential.total, essential.maximum) == (Decimal(54), Decimal(55))
    assert (result.total, result.maximum) == (Decimal(54), Decimal(56))


def test_unanswered_items_stay_in_the_denominator_and_are_missing() -> None:
    result = score(bundled("clear-1.0"), {"1": ("yes",), "2": ("na",)})
    assert (result.total, result.maximum) == (Decimal(1), Decimal(57))
    assert len(result.missing) == 56
    assert result.missing[0] == "3"


def test_essential_only_variant_counts_only_essential_items() -> None:
    doc = copy.deepcopy(raw("clear-1.0"))
    doc["params"] = {"essential_only": True}
    definition = parse_definition(doc)
    result = score(definition, all_yes(definition, i53="no"))
    assert (result.total, result.maximum) == (Decimal(56), Decimal(56))


def test_clear_s_has_exactly_items_7_to_43_and_53_to_58() -> None:
    definition = bundled("clear-s-1.0")
    expected = [str(n) for n in [*range(7, 44), *range(53, 59)]]
    assert [i.code for i in definition.items] == expected
    assert definition.key == "clear-s-1.0"
    assert definition.kind == "checklist"
    assert definition.sections[0].code == "methods-design"
    assert [i.code for i in definition.items if not i.essential] == ["53", "58"]


def test_clear_s_is_resolved_into_a_standalone_document() -> None:
    doc = raw("clear-s-1.0")
    assert "include_items" not in doc
    assert doc["derived_from"] == "clear-1.0"
    assert doc["citation"] == raw("clear-1.0")["citation"]


def test_clear_s_scores_its_43_items() -> None:
    definition = bundled("clear-s-1.0")
    result = score(definition, all_yes(definition, i58="no"))
    assert (result.total, result.maximum) == (Decimal(42), Decimal(43))
    assert result.subtotals[-1].maximum == 41
