"""Two definitions side by side, in words: what scores differently, then what reads so.

Rows name items by their number and options by their label, and show values as
a person would write them (2, not Decimal('2.000'); "Yes", not 'yes').
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...instruments import Clause, Condition, Definition, Item, Option

SCORING = "scoring"
WORDING = "wording"
MISSING = "(none)"

KIND_WORDS = {
    "points": "Points",
    "weighted": "Weighted",
    "checklist": "Checklist",
    "judgement": "Judgement",
}
TYPE_WORDS = {
    "single": "Single choice",
    "multi": "Multiple choice (points add up)",
    "yesno": "Yes / no",
    "ynna": "Yes / no / not applicable",
    "signalling": "Yes / no / unclear",
    "judgement": "Low / high / unclear",
}
META_WORDS = {
    "name": "Name",
    "short_name": "Short name",
    "citation": "Citation",
    "doi": "DOI",
    "licence": "Licence",
    "note": "Note",
}


@dataclass(frozen=True)
class Difference:
    """One row of a comparison: what, its value on the left and on the right."""

    kind: str  # SCORING or WORDING
    what: str
    left: str
    right: str

    @property
    def is_scoring(self) -> bool:
        return self.kind == SCORING


def differences(
    left: Definition, right: Definition, *, meta: bool = True
) -> list[Difference]:
    """Scoring rows first, then wording; `meta=False` leaves out name and citation."""
    rows = list(scoring_rows(left, right))
    if not rows and left.scoring_fingerprint() != right.scoring_fingerprint():
        # Anything the rows above do not spell out still shows, never hides.
        rows = [
            Difference(SCORING, text, "", "")
            for text in left.scoring_differences(right)
        ]
    return rows + list(wording_rows(left, right, meta=meta))


def number(value: Decimal | None) -> str:
    if value is None:
        return MISSING
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def words(value: Any) -> str:
    """A parameter's value as plain text: lists joined, mappings as `key: value`."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {words(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(words(v) for v in value) if value else MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return MISSING
    return str(value)


def clauses(values: tuple[Clause, ...], entries: Definition) -> str:
    if not values:
        return "always"
    parts = []
    for clause in values:
        entry = entries.entry(clause.condition)
        labels = [_option_label(entry, code) for code in clause.values]
        parts.append(f"{clause.condition} is {' or '.join(labels)}")
    return " and ".join(parts)


def _option_label(entry: Item | Condition | None, code: str) -> str:
    option = entry.option(code) if entry is not None else None
    if option is not None:
        return option.label
    return "not applicable" if code == "na" else code


def _row(kind: str, what: str, left: str, right: str) -> Iterator[Difference]:
    if left != right:
        yield Difference(kind, what, left or MISSING, right or MISSING)


def scoring_rows(left: Definition, right: Definition) -> Iterator[Difference]:
    yield from _row(
        SCORING,
        "Scoring kind",
        KIND_WORDS.get(left.kind, left.kind),
        KIND_WORDS.get(right.kind, right.kind),
    )
    yield from _param_rows(left, right)
    yield from _presence_rows("Condition", left.conditions, right.conditions)
    for code, a, b in _common(left.conditions, right.conditions):
        what = f"Condition {code}"
        yield from _row(
            SCORING,
            f"{what}: applies when",
            clauses(a.applies_when, left),
            clauses(b.applies_when, right),
        )
        yield from _option_scoring_rows(what, a.options, b.options)
    yield from _presence_rows("Section", left.sections, right.sections)
    yield from _presence_rows("Item", left.items, right.items)
    for code, a, b in _common(left.items, right.items):
        yield from _item_scoring_rows(f"Item {code}", a, b, left, right)
    yield from _order_rows("Sections", left.sections, right.sections)
    yield from _order_rows("Items", left.items, right.items)


def _param_rows(left: Definition, right: Definition) -> Iterator[Difference]:
    keys = sorted(set(left.params) | set(right.params))
    for key in (k for k in keys if not k.endswith("note")):
        a, b = left.params.get(key), right.params.get(key)
        if key == "domains":
            a = [(d["code"], d["items"]) for d in a or []]
            b = [(d["code"], d["items"]) for d in b or []]
        if a != b:
            name = key.replace("_", " ")
            yield Difference(SCORING, f"Scoring rule: {name}", words(a), words(b))


def _item_scoring_rows(
    what: str, a: Item, b: Item, left: Definition, right: Definition
) -> Iterator[Difference]:
    yield from _row(SCORING, f"{what}: section", a.section, b.section)
    yield from _row(
        SCORING, f"{what}: answer type", TYPE_WORDS[a.type], TYPE_WORDS[b.type]
    )
    yield from _row(SCORING, f"{what}: weight", number(a.weight), number(b.weight))
    yield from _row(
        SCORING,
        f"{what}: applies when",
        clauses(a.applies_when, left),
        clauses(b.applies_when, right),
    )
    yield from _row(
        SCORING, f"{what}: essential", words(a.essential), words(b.essential)
    )
    yield from _row(SCORING, f"{what}: stage", words(a.stage), words(b.stage))
    yield from _row(SCORING, f"{what}: tracks", words(a.tracks), words(b.tracks))
    yield from _row(
        SCORING, f"{what}: judgement", words(a.judgement), words(b.judgement)
    )
    yield from _option_scoring_rows(what, a.options, b.options)


def _option_scoring_rows(
    what: str, left: tuple[Option, ...], right: tuple[Option, ...]
) -> Iterator[Difference]:
    yield from _presence_rows(f"{what}: option", left, right, label=True)
    for _code, a, b in _common(left, right):
        name = f"{what}, option “{a.label}”"
        yield from _row(SCORING, f"{name}: points", number(a.points), number(b.points))
        yield from _row(
            SCORING,
            f"{name}: counts only with",
            _labels_of(a.requires, left),
            _labels_of(b.requires, right),
        )
    yield from _order_rows(f"{what}: options", left, right)


def _labels_of(codes: tuple[str, ...], options: tuple[Option, ...]) -> str:
    labels = {o.code: o.label for o in options}
    return ", ".join(f"“{labels.get(c, c)}”" for c in codes) or MISSING


def _text(entry: Any) -> str:
    return str(getattr(entry, "label", "")) or str(entry.code)


def _presence_rows(
    noun: str, left: Iterable[Any], right: Iterable[Any], *, label: bool = False
) -> Iterator[Difference]:
    before = {e.code: e for e in left}
    after = {e.code: e for e in right}
    for code, entry in before.items():
        if code not in after:
            name = f"“{_text(entry)}”" if label else f"{code}. {_text(entry)}"
            yield Difference(SCORING, f"{noun} removed", name, MISSING)
    for code, entry in after.items():
        if code not in before:
            name = f"“{_text(entry)}”" if label else f"{code}. {_text(entry)}"
            yield Difference(SCORING, f"{noun} added", MISSING, name)


def _common(
    left: Iterable[Any], right: Iterable[Any]
) -> Iterator[tuple[str, Any, Any]]:
    after = {e.code: e for e in right}
    for entry in left:
        if entry.code in after:
            yield entry.code, entry, after[entry.code]


def _order_rows(
    noun: str, left: Iterable[Any], right: Iterable[Any]
) -> Iterator[Difference]:
    a, b = [e.code for e in left], [e.code for e in right]
    common_a = [c for c in a if c in b]
    common_b = [c for c in b if c in a]
    if common_a != common_b:
        order = {e.code: _text(e) for e in left}
        yield Difference(
            SCORING,
            f"{noun}: order",
            ", ".join(order[c] for c in common_a),
            ", ".join(order[c] for c in common_b),
        )


def wording_rows(
    left: Definition, right: Definition, *, meta: bool = True
) -> Iterator[Difference]:
    if meta:
        for name, title in META_WORDS.items():
            yield from _row(WORDING, title, getattr(left, name), getattr(right, name))
    notes = sorted(
        k for k in set(left.params) | set(right.params) if k.endswith("note")
    )
    for key in notes:
        yield from _row(
            WORDING,
            key.replace("_", " ").capitalize(),
            words(left.params.get(key)),
            words(right.params.get(key)),
        )
    labels = {d.code: d.label for d in right.domains}
    for domain in left.domains:
        if domain.code in labels:
            yield from _row(
                WORDING, f"Domain {domain.code}", domain.label, labels[domain.code]
            )
    for code, a, b in _common(left.sections, right.sections):
        yield from _row(WORDING, f"Section {code}: heading", a.label, b.label)
        yield from _row(WORDING, f"Section {code}: help", a.help, b.help)
        yield from _row(WORDING, f"Section {code}: group", a.group, b.group)
    for noun, a_entries, b_entries in (
        ("Condition", left.conditions, right.conditions),
        ("Item", left.items, right.items),
    ):
        for code, a, b in _common(a_entries, b_entries):
            yield from _entry_wording_rows(f"{noun} {code}", a, b)


def _entry_wording_rows(
    what: str, a: Item | Condition, b: Item | Condition
) -> Iterator[Difference]:
    yield from _row(WORDING, f"{what}: wording", a.label, b.label)
    yield from _row(WORDING, f"{what}: help", a.help, b.help)
    yield from _row(
        WORDING,
        f"{what}: search hints",
        "; ".join(getattr(a, "evidence_hints", ())),
        "; ".join(getattr(b, "evidence_hints", ())),
    )
    for position, (_code, x, y) in enumerate(_common(a.options, b.options), 1):
        yield from _row(WORDING, f"{what}, option {position}", x.label, y.label)
        yield from _row(WORDING, f"{what}, option {position}: help", x.help, y.help)
