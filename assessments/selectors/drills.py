"""Reads for the micro-drills: a version's drills, what to practise next, tallies.

Drills belong to an instrument, not a version, so each read keeps only drills
about items that exist in the version at hand.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from ..instruments import Item
from ..models import Drill, DrillAttempt, InstrumentVersion


@dataclass(frozen=True)
class ItemTally:
    item: Item
    drills: int
    right: int  # the user's right answers over all their attempts
    total: int  # the user's attempts


def _item_order(version: InstrumentVersion) -> dict[str, int]:
    return {item.code: n for n, item in enumerate(version.as_definition().items)}


def version_drills(version: InstrumentVersion) -> QuerySet[Drill]:
    """The drills about this version's items (in file order)."""
    return Drill.objects.filter(
        instrument_id=version.instrument_id,
        item_code__in=list(_item_order(version)),
    )


def has_drills(version: InstrumentVersion) -> bool:
    return version_drills(version).exists()


def versions_with_drills(versions: list[InstrumentVersion]) -> set[int]:
    """Primary keys of the versions that have at least one drill."""
    return {v.pk for v in versions if has_drills(v)}


def version_drill(version: InstrumentVersion, drill_id: int) -> Drill | None:
    if not 0 < drill_id < 2**63:  # beyond any id, and beyond what SQL takes
        return None
    return version_drills(version).filter(pk=drill_id).first()


def own_attempt(drill: Drill, user: Any, attempt_id: int) -> DrillAttempt | None:
    """The user's own attempt at this drill, to show its outcome; never another's."""
    return DrillAttempt.objects.filter(pk=attempt_id, drill=drill, user=user).first()


def next_drill(
    version: InstrumentVersion,
    user: Any,
    *,
    item_code: str | None = None,
    after: Drill | None = None,
) -> Drill | None:
    """One of the drills the user has tried least often, optionally for one item.

    Picked at random among those, rather than in file order, because each
    passage's "yes" and "no" drills sit side by side in the file; the drill
    just answered, and its passage, come last unless nothing else is left.
    """
    drills = version_drills(version)
    if item_code:
        drills = drills.filter(item_code=item_code)
    rows = list(drills.annotate(tries=Count("attempts", filter=Q(attempts__user=user))))
    if not rows:
        return None
    fresh = [d for d in rows if after is None or d.passage != after.passage]
    pool = fresh or rows
    fewest = min(d.tries for d in pool)  # type: ignore[attr-defined]
    candidates = [d for d in pool if d.tries == fewest]  # type: ignore[attr-defined]
    done = sum(d.tries for d in rows)  # type: ignore[attr-defined]
    return random.Random(f"{user.pk}:{done}").choice(candidates)


def item_tallies(version: InstrumentVersion, user: Any) -> list[ItemTally]:
    """Per item with drills: how many drills, and the user's right/total."""
    counts = dict(
        version_drills(version)
        .order_by()
        .values_list("item_code")
        .annotate(n=Count("id"))
        .values_list("item_code", "n")
    )
    attempts = (
        DrillAttempt.objects.filter(drill__in=version_drills(version), user=user)
        .order_by()
        .values("drill__item_code")
        .annotate(total=Count("id"), right=Count("id", filter=Q(correct=True)))
    )
    by_item = {a["drill__item_code"]: a for a in attempts}
    definition = version.as_definition()
    return [
        ItemTally(
            item=item,
            drills=counts[item.code],
            right=by_item.get(item.code, {}).get("right", 0),
            total=by_item.get(item.code, {}).get("total", 0),
        )
        for item in definition.items
        if item.code in counts
    ]
