"""Result types shared by the engines, and the answer checks every engine runs first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from .answers import entry_choice_problems
from .definition import NA, Clause, Condition, Definition, Item, Scope

Answers = Mapping[str, Sequence[str]]

ANSWERED = "answered"
MISSING = "missing"
NOT_APPLICABLE = "na"
INVALID = "invalid"
STATES = (ANSWERED, MISSING, NOT_APPLICABLE, INVALID)


def round_half_up(value: Decimal, places: int = 1) -> Decimal:
    """Round as people do on paper (64.75 -> 64.8), not banker's rounding."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_down(value: Decimal, places: int = 1) -> Decimal:
    """Cut to `places` decimals, toward zero (59.95 -> 59.9)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def shown_percent(definition: Definition, exact: Decimal, places: int = 1) -> Decimal:
    """A percentage as people see it, to `places` decimals.

    Rounded half up (RQS's convention, and to the nearest tenth as the
    official METRICS calculator's `toFixed(1)` shows it), except where that
    would carry the figure into a band above the exact score's own: METRICS
    bands the exact score (Kocak et al., Insights Imaging 2024;15:8: 60 <= good
    < 80), so 59.95 is "moderate" and is shown 59.9, not 60.0; 79.99 is
    "good", shown 79.9. Without bands this is `round_half_up`.
    """
    rounded = round_half_up(exact, places)
    if definition.band_for(rounded) == definition.band_for(exact):
        return rounded
    return round_down(exact, places)


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class ItemResult:
    code: str
    state: str
    points: Decimal | None = None
    value: tuple[str, ...] = ()
    adheres: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "state": self.state,
            "points": decimal_text(self.points),
            "value": list(self.value),
            "adheres": self.adheres,
        }


@dataclass(frozen=True)
class Subtotal:
    code: str
    label: str
    total: Decimal | None
    maximum: Decimal | None
    percent: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "total": decimal_text(self.total),
            "maximum": decimal_text(self.maximum),
            "percent": decimal_text(self.percent),
        }


@dataclass(frozen=True)
class Problem:
    """An answer the instrument's rules refuse.

    `message` uses option codes (as a spreadsheet cell holds them, and as the
    cached result keeps it); `text` names the item and its options by label,
    for the people who read it on the form and in submit errors.
    """

    item: str
    value: tuple[str, ...]
    allowed: tuple[str, ...]
    message: str
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "value": list(self.value),
            "allowed": list(self.allowed),
            "message": self.message,
        }


@dataclass(frozen=True)
class Override:
    """A reviewer's overall judgement that differs from the one the domains give.

    `reason` is the reviewer's written reason (the item's comment) once it is
    known; judgement instruments refuse an override without one.
    """

    aspect: str
    item: str
    derived: str
    chosen: str
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "aspect": self.aspect,
            "item": self.item,
            "derived": self.derived,
            "chosen": self.chosen,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Result:
    kind: str
    items: dict[str, ItemResult]
    conditions: dict[str, ItemResult]
    na: frozenset[str]
    missing: tuple[str, ...]
    problems: tuple[Problem, ...]
    subtotals: tuple[Subtotal, ...] = ()
    total: Decimal | None = None
    maximum: Decimal | None = None
    percent: Decimal | None = None
    percent_display: Decimal | None = None
    band: str | None = None
    judgements: dict[str, str | None] = field(default_factory=dict)
    floor_percent: bool = False
    overrides: tuple[Override, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems

    def is_na(self, code: str) -> bool:
        """Whether item or condition `code` is N/A here; False for unknown codes.

        N/A: ruled out by a condition or the readiness scope, waiting on a
        condition not yet answered, or answered with the item's own "Not
        applicable" option. `na` holds the same for items only.
        """
        entry = self.items.get(code) or self.conditions.get(code)
        return entry is not None and entry.state == NOT_APPLICABLE

    @property
    def na_codes(self) -> frozenset[str]:
        """Every item and condition for which `is_na` holds."""
        return self.na | {
            c for c, r in self.conditions.items() if r.state == NOT_APPLICABLE
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings) for caching alongside an assessment."""
        return {
            "kind": self.kind,
            "items": {code: r.as_dict() for code, r in self.items.items()},
            "conditions": {code: r.as_dict() for code, r in self.conditions.items()},
            "na": [code for code in self.items if code in self.na],
            "missing": list(self.missing),
            "problems": [p.as_dict() for p in self.problems],
            "subtotals": [s.as_dict() for s in self.subtotals],
            "total": decimal_text(self.total),
            "maximum": decimal_text(self.maximum),
            "percent": decimal_text(self.percent),
            "percent_display": decimal_text(self.percent_display),
            "band": self.band,
            "judgements": dict(self.judgements),
            "floor_percent": self.floor_percent,
            "complete": self.complete,
            # Only where an instrument has them, so older cached forms stay alike.
            **(
                {"overrides": [o.as_dict() for o in self.overrides]}
                if self.overrides
                else {}
            ),
        }


def as_submitted(result: Result, cached: Mapping[str, Any] | None) -> Result:
    """`result` showing the percentage and band its assessment was stored with.

    `cached` is the stored `Result.as_dict()`. A submitted assessment keeps the
    figures it was submitted with when it is shown again, even where a later
    fix of the engine would show them differently (59.95 was "60.0", "good"
    before bands came from the exact score): no score changes behind anyone's
    back. Scores, points and N/A are the engine's as before.
    """
    if not cached:
        return result
    changes: dict[str, Any] = {}
    if "percent_display" in cached:
        shown = cached["percent_display"]
        changes["percent_display"] = None if shown is None else Decimal(shown)
    if "band" in cached:
        changes["band"] = cached["band"] or None
    return replace(result, **changes)


def cached_na_codes(cached: Mapping[str, Any]) -> frozenset[str]:
    """`Result.na_codes` from the stored `Result.as_dict()` form."""
    conditions = cached.get("conditions", {})
    return frozenset(cached.get("na", [])) | {
        code for code, r in conditions.items() if r.get("state") == NOT_APPLICABLE
    }


# --- checking answers against a definition ------------------------------------


@dataclass(frozen=True)
class Sheet:
    """An answer set checked against its definition, before any points are added."""

    definition: Definition
    conditions: dict[str, ItemResult]
    items: dict[str, ItemResult]
    missing: tuple[str, ...]
    problems: tuple[Problem, ...]

    def in_scope(self, code: str) -> bool:
        return self.items[code].state != NOT_APPLICABLE

    def answered(self, code: str) -> tuple[str, ...] | None:
        result = self.items[code]
        return result.value if result.state == ANSWERED else None


def given(answers: Answers, code: str) -> tuple[str, ...] | None:
    """The chosen codes for `code`, None when the key is absent."""
    raw = answers.get(code)
    if raw is None:
        return None
    # A bare string would otherwise be read as one code per character.
    return (raw,) if isinstance(raw, str) else tuple(str(v) for v in raw)


def clauses_hold(
    clauses: Sequence[Clause], values: Mapping[str, str | None]
) -> bool | None:
    """True/False, or None while a condition it depends on is unanswered."""
    pending = False
    for clause in clauses:
        value = values.get(clause.condition)
        if value is None:
            pending = True
        elif value not in clause.values:
            return False
    return None if pending else True


def in_scope(
    scope: Scope | None, item: Item, values: Mapping[str, str | None]
) -> bool | None:
    if scope is None:
        return True
    stage = values.get(scope.stage_condition)
    track = values.get(scope.track_condition)
    if stage is None or track is None or not stage.isdigit():
        return None
    on_track = track == scope.all_tracks or track in item.tracks
    return on_track and item.stage is not None and item.stage <= int(stage)


def item_applies(
    definition: Definition, item: Item, values: Mapping[str, str | None]
) -> bool | None:
    states = (
        clauses_hold(item.applies_when, values),
        in_scope(definition.scope, item, values),
    )
    if False in states:
        return False
    return None if None in states else True


@dataclass
class _Collector:
    missing: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def check(
        self, entry: Item | Condition, value: tuple[str, ...] | None
    ) -> ItemResult:
        """State of an entry known to apply."""
        if value is None or (not value and not entry.is_multi):
            self.missing.append(entry.code)
            return ItemResult(entry.code, MISSING)
        found = entry_choice_problems(entry, value)
        if found:
            noun = "Item" if isinstance(entry, Item) else "Condition"
            message = f"{noun} {entry.code}: {found[0].detail}"
            self.problems.append(
                Problem(
                    entry.code, value, entry.option_codes, message, found[0].message
                )
            )
            return ItemResult(entry.code, INVALID, value=value)
        if value == (NA,):
            return ItemResult(entry.code, NOT_APPLICABLE, value=value)
        return ItemResult(entry.code, ANSWERED, value=value)


def condition_values(
    definition: Definition, answers: Answers, collector: _Collector | None = None
) -> tuple[dict[str, str | None], dict[str, ItemResult]]:
    """Each condition's effective answer: a code, `na` if it does not apply, or None."""
    collector = collector or _Collector()
    values: dict[str, str | None] = {}
    results: dict[str, ItemResult] = {}
    for cond in definition.conditions:
        applies = clauses_hold(cond.applies_when, values)
        value = given(answers, cond.code)
        if applies is not True:
            values[cond.code] = NA if applies is False else None
            results[cond.code] = ItemResult(
                cond.code, NOT_APPLICABLE, value=value or ()
            )
            continue
        results[cond.code] = collector.check(cond, value)
        state = results[cond.code].state
        values[cond.code] = value[0] if state == ANSWERED and value else None
    return values, results


def evaluate(definition: Definition, answers: Answers) -> Sheet:
    """Check every condition and item; engines add points on top of this."""
    collector = _Collector()
    values, conditions = condition_values(definition, answers, collector)
    items: dict[str, ItemResult] = {}
    for item in definition.items:
        value = given(answers, item.code)
        if item_applies(definition, item, values) is True:
            items[item.code] = collector.check(item, value)
        else:
            # Pending (condition unanswered) is shown as N/A; the condition is missing.
            items[item.code] = ItemResult(item.code, NOT_APPLICABLE, value=value or ())
    return Sheet(
        definition=definition,
        conditions=conditions,
        items=items,
        missing=tuple(collector.missing),
        problems=tuple(collector.problems),
    )


# --- assembling results ----------------------------------------------------------


def ratio_percent(total: Decimal, maximum: Decimal) -> Decimal | None:
    return None if maximum == 0 else total * 100 / maximum


def build_result(
    sheet: Sheet,
    items: dict[str, ItemResult],
    *,
    floor_percent: bool = False,
    subtotals: Sequence[Subtotal] = (),
    total: Decimal | None = None,
    maximum: Decimal | None = None,
    percent: Decimal | None = None,
    band: str | None = None,
    judgements: Mapping[str, str | None] | None = None,
) -> Result:
    display = None if percent is None else shown_percent(sheet.definition, percent)
    if display is not None and (display == 0 or (floor_percent and display < 0)):
        # Also turns a rounded "-0.0" into "0.0".
        display = Decimal("0.0")
    if band is None and percent is not None:
        # The band comes from the exact score, never from the rounded figure.
        floored = max(percent, Decimal(0)) if floor_percent else percent
        band = sheet.definition.band_for(floored)
    return Result(
        kind=sheet.definition.kind,
        items=items,
        conditions=sheet.conditions,
        na=frozenset(code for code, r in items.items() if r.state == NOT_APPLICABLE),
        missing=sheet.missing,
        problems=sheet.problems,
        subtotals=tuple(subtotals),
        total=total,
        maximum=maximum,
        percent=percent,
        percent_display=display,
        band=band,
        judgements=dict(judgements or {}),
        floor_percent=floor_percent,
    )


def points_subtotal(
    code: str, label: str, items: Sequence[Item], results: Mapping[str, ItemResult]
) -> Subtotal:
    """Earned and attainable points over the in-scope members of a group."""
    scoped = [i for i in items if results[i.code].state != NOT_APPLICABLE]
    total = sum((results[i.code].points or Decimal(0) for i in scoped), Decimal(0))
    maximum = sum((i.max_points() for i in scoped), Decimal(0))
    return Subtotal(code, label, total, maximum, ratio_percent(total, maximum))
