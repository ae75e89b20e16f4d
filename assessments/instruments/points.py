"""Points engine (RQS 1.0 and 2.0): item points add up to a raw total."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from .definition import Definition
from .result import (
    ANSWERED,
    NOT_APPLICABLE,
    ItemResult,
    Result,
    Sheet,
    Subtotal,
    build_result,
    points_subtotal,
    ratio_percent,
)


def score(sheet: Sheet, floor_percent: bool = False) -> Result:
    """Total, maximum over in-scope items, raw percent (negative allowed)."""
    definition = sheet.definition
    items = {code: _with_points(definition, r) for code, r in sheet.items.items()}
    scoped = [i for i in definition.items if items[i.code].state != NOT_APPLICABLE]
    total = sum((items[i.code].points or Decimal(0) for i in scoped), Decimal(0))
    maximum = sum((i.max_points() for i in scoped), Decimal(0))
    return build_result(
        sheet,
        items,
        floor_percent=floor_percent,
        subtotals=_subtotals(definition, items),
        total=total,
        maximum=maximum,
        percent=ratio_percent(total, maximum),
    )


def _with_points(definition: Definition, result: ItemResult) -> ItemResult:
    if result.state != ANSWERED:
        return result
    item = definition.item(result.code)
    chosen = (item.option(code) for code in result.value)
    points = sum((o.points or Decimal(0) for o in chosen if o), Decimal(0))
    # Review "basic adherence": at least one point earned (5 and 12: the good option).
    return replace(result, points=points, adheres=points > 0)


def _subtotals(
    definition: Definition, items: dict[str, ItemResult]
) -> tuple[Subtotal, ...]:
    if definition.domains:
        return tuple(
            points_subtotal(
                d.code, d.label, [definition.item(c) for c in d.items], items
            )
            for d in definition.domains
        )
    return tuple(
        points_subtotal(s.code, s.label, s.items, items) for s in definition.sections
    )
