"""Weighted engine (METRICS): share of applicable weight answered Yes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from .definition import Item, Section
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

HUNDRED = Decimal(100)


def score(sheet: Sheet, floor_percent: bool = False) -> Result:
    """100 x Yes weight / applicable weight; the total is that score, out of 100."""
    definition = sheet.definition
    items = {
        code: _with_weight(definition.item(code), r) for code, r in sheet.items.items()
    }
    earned, possible = _weights(definition.items, items)
    percent = ratio_percent(earned, possible)
    return build_result(
        sheet,
        items,
        floor_percent=floor_percent,
        subtotals=tuple(_subtotal(s, items, possible) for s in definition.sections),
        total=percent,
        maximum=HUNDRED,
        percent=percent,
    )


def _with_weight(item: Item, result: ItemResult) -> ItemResult:
    if result.state != ANSWERED:
        return result
    yes = result.value == ("yes",)
    weight = item.weight or Decimal(0)
    return replace(result, points=weight if yes else Decimal(0), adheres=yes)


def _weights(
    members: tuple[Item, ...], items: dict[str, ItemResult]
) -> tuple[Decimal, Decimal]:
    """(weight answered Yes, weight of all applicable items) over `members`."""
    scoped = [i for i in members if items[i.code].state != NOT_APPLICABLE]
    earned = sum((items[i.code].points or Decimal(0) for i in scoped), Decimal(0))
    possible = sum((i.weight or Decimal(0) for i in scoped), Decimal(0))
    return earned, possible


def _subtotal(
    section: Section, items: dict[str, ItemResult], possible: Decimal
) -> Subtotal:
    # Section totals are shares of the overall 100 so that they add up to the score.
    earned, section_possible = _weights(section.items, items)
    total = ratio_percent(earned, possible)
    maximum = ratio_percent(section_possible, possible)
    percent = ratio_percent(earned, section_possible)
    return Subtotal(section.code, section.label, total, maximum, percent)
