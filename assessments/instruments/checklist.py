"""Checklist engine (CLEAR, CLAIM, FUTURE-AI): adherence = Yes / applicable items.

Subtotals per section, over the essential items and, where the definition
declares levels (FUTURE-AI's ++ / + for research and deployable tools), per
level on each scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from .definition import Item
from .result import (
    ANSWERED,
    NOT_APPLICABLE,
    ItemResult,
    Result,
    Sheet,
    Subtotal,
    build_result,
    ratio_percent,
)

ESSENTIAL = "essential"


def score(sheet: Sheet, floor_percent: bool = False) -> Result:
    """Yes count over applicable items, per section and for essential items."""
    definition = sheet.definition
    items = {code: _with_mark(r) for code, r in sheet.items.items()}
    counted = definition.items
    if definition.params.get("essential_only"):
        counted = tuple(i for i in counted if i.essential)
    overall = _adherence("overall", "All items", counted, items)
    subtotals = [
        _adherence(s.code, s.label, s.items, items) for s in definition.sections
    ]
    essential = [i for i in definition.items if i.essential]
    subtotals.append(_adherence(ESSENTIAL, "Essential items", essential, items))
    subtotals += [
        _adherence(
            level.code,
            level.label,
            [definition.item(code) for code in level.items],
            items,
        )
        for level in definition.levels
    ]
    return build_result(
        sheet,
        items,
        floor_percent=floor_percent,
        subtotals=subtotals,
        total=overall.total,
        maximum=overall.maximum,
        percent=overall.percent,
    )


def _with_mark(result: ItemResult) -> ItemResult:
    if result.state != ANSWERED:
        return result
    yes = result.value == ("yes",)
    return replace(result, points=Decimal(1 if yes else 0), adheres=yes)


def _adherence(
    code: str, label: str, members: Sequence[Item], items: dict[str, ItemResult]
) -> Subtotal:
    # Unanswered items stay in the denominator: only an explicit n/a removes one.
    scoped = [i for i in members if items[i.code].state != NOT_APPLICABLE]
    total = Decimal(sum(1 for i in scoped if items[i.code].adheres))
    maximum = Decimal(len(scoped))
    return Subtotal(code, label, total, maximum, ratio_percent(total, maximum))
