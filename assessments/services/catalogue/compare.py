"""Two definitions side by side, in words: what scores differently, then what reads so.

Rows name items by their number and options by their label, and show values as
a person would write them (2, not Decimal('2.000'); "Yes", not 'yes'). Their
words are Phrases (English as text): a page shows `Difference.translated`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ...instruments import Clause, Condition, Definition, Item, Option
from ...words import Gettext, in_words
from ...words import say as _

SCORING = "scoring"
WORDING = "wording"
MISSING = _("(none)")

KIND_WORDS = {
    "points": _("Points"),
    "weighted": _("Weighted"),
    "checklist": _("Checklist"),
    "judgement": _("Judgement"),
}
TYPE_WORDS = {
    "single": _("Single choice"),
    "multi": _("Multiple choice (points add up)"),
    "yesno": _("Yes / no"),
    "ynna": _("Yes / no / not applicable"),
    "signalling": _("Yes / no / unclear"),
    "judgement": _("Low / high / unclear"),
}
META_WORDS = {
    "name": _("Name"),
    "short_name": _("Short name"),
    "citation": _("Citation"),
    "doi": "DOI",
    "licence": _("Licence"),
    "note": _("Note"),
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

    def translated(self, gettext: Gettext) -> Difference:
        """The row in the reader's language (the definitions' own texts as they are)."""
        return replace(
            self,
            what=in_words(self.what, gettext),
            left=in_words(self.left, gettext),
            right=in_words(self.right, gettext),
        )


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
        return _("yes") if value else _("no")
    if value is None or value == "":
        return MISSING
    return str(value)


def _either(parts: Sequence[str]) -> str:
    """ "A or B or C", each joining word translatable."""
    said = parts[0]
    for part in parts[1:]:
        said = _("%(first)s or %(second)s", first=said, second=part)
    return said


def _all_of(parts: Sequence[str]) -> str:
    """ "A and B and C", each joining word translatable."""
    said = parts[0]
    for part in parts[1:]:
        said = _("%(first)s and %(second)s", first=said, second=part)
    return said


def clauses(values: tuple[Clause, ...], entries: Definition) -> str:
    if not values:
        return _("always")
    parts = []
    for clause in values:
        entry = entries.entry(clause.condition)
        labels = [_option_label(entry, code) for code in clause.values]
        parts.append(
            # Translators: when an item applies: "C2 is Yes or No".
            _(
                "%(condition)s is %(options)s",
                condition=clause.condition,
                options=_either(labels),
            )
        )
    return _all_of(parts)


def _option_label(entry: Item | Condition | None, code: str) -> str:
    option = entry.option(code) if entry is not None else None
    if option is not None:
        return option.label
    return _("not applicable") if code == "na" else code


def _row(kind: str, what: str, left: str, right: str) -> Iterator[Difference]:
    if left != right:
        yield Difference(kind, what, left or MISSING, right or MISSING)


def scoring_rows(left: Definition, right: Definition) -> Iterator[Difference]:
    yield from _row(
        SCORING,
        _("Scoring kind"),
        KIND_WORDS.get(left.kind, left.kind),
        KIND_WORDS.get(right.kind, right.kind),
    )
    yield from _param_rows(left, right)
    yield from _presence_rows(
        _("Condition removed"),
        _("Condition added"),
        left.conditions,
        right.conditions,
    )
    for code, a, b in _common(left.conditions, right.conditions):
        what = _("Condition %(code)s", code=code)
        yield from _row(
            SCORING,
            _("%(what)s: applies when", what=what),
            clauses(a.applies_when, left),
            clauses(b.applies_when, right),
        )
        yield from _option_scoring_rows(what, a.options, b.options)
    yield from _presence_rows(
        _("Section removed"), _("Section added"), left.sections, right.sections
    )
    yield from _presence_rows(
        _("Item removed"), _("Item added"), left.items, right.items
    )
    for code, a, b in _common(left.items, right.items):
        yield from _item_scoring_rows(_("Item %(code)s", code=code), a, b, left, right)
    yield from _order_rows(_("Sections: order"), left.sections, right.sections)
    yield from _order_rows(_("Items: order"), left.items, right.items)


def _param_rows(left: Definition, right: Definition) -> Iterator[Difference]:
    keys = sorted(set(left.params) | set(right.params))
    for key in (k for k in keys if not k.endswith("note")):
        a, b = left.params.get(key), right.params.get(key)
        if key == "domains":
            a = [(d["code"], d["items"]) for d in a or []]
            b = [(d["code"], d["items"]) for d in b or []]
        if a != b:
            # The rule's name is the definition file's own key ("overall items").
            name = key.replace("_", " ")
            yield Difference(
                SCORING, _("Scoring rule: %(name)s", name=name), words(a), words(b)
            )


def _item_scoring_rows(
    what: str, a: Item, b: Item, left: Definition, right: Definition
) -> Iterator[Difference]:
    yield from _row(SCORING, _("%(what)s: section", what=what), a.section, b.section)
    yield from _row(
        SCORING,
        _("%(what)s: answer type", what=what),
        TYPE_WORDS[a.type],
        TYPE_WORDS[b.type],
    )
    yield from _row(
        SCORING,
        _("%(what)s: weight", what=what),
        number(a.weight),
        number(b.weight),
    )
    yield from _row(
        SCORING,
        _("%(what)s: applies when", what=what),
        clauses(a.applies_when, left),
        clauses(b.applies_when, right),
    )
    yield from _row(
        SCORING,
        _("%(what)s: essential", what=what),
        words(a.essential),
        words(b.essential),
    )
    yield from _row(
        SCORING, _("%(what)s: stage", what=what), words(a.stage), words(b.stage)
    )
    yield from _row(
        SCORING, _("%(what)s: tracks", what=what), words(a.tracks), words(b.tracks)
    )
    yield from _row(
        SCORING,
        _("%(what)s: judgement", what=what),
        words(a.judgement),
        words(b.judgement),
    )
    yield from _option_scoring_rows(what, a.options, b.options)


def _option_scoring_rows(
    what: str, left: tuple[Option, ...], right: tuple[Option, ...]
) -> Iterator[Difference]:
    yield from _presence_rows(
        _("%(what)s: option removed", what=what),
        _("%(what)s: option added", what=what),
        left,
        right,
        label=True,
    )
    for _code, a, b in _common(left, right):
        name = _("%(what)s, option “%(option)s”", what=what, option=a.label)
        yield from _row(
            SCORING,
            _("%(what)s: points", what=name),
            number(a.points),
            number(b.points),
        )
        yield from _row(
            SCORING,
            _("%(what)s: counts only with", what=name),
            _labels_of(a.requires, left),
            _labels_of(b.requires, right),
        )
    yield from _order_rows(_("%(what)s: options: order", what=what), left, right)


def _labels_of(codes: tuple[str, ...], options: tuple[Option, ...]) -> str:
    labels = {o.code: o.label for o in options}
    return ", ".join(f"“{labels.get(c, c)}”" for c in codes) or MISSING


def _text(entry: Any) -> str:
    return str(getattr(entry, "label", "")) or str(entry.code)


def _presence_rows(
    removed: str,
    added: str,
    left: Iterable[Any],
    right: Iterable[Any],
    *,
    label: bool = False,
) -> Iterator[Difference]:
    before = {e.code: e for e in left}
    after = {e.code: e for e in right}
    for code, entry in before.items():
        if code not in after:
            name = f"“{_text(entry)}”" if label else f"{code}. {_text(entry)}"
            yield Difference(SCORING, removed, name, MISSING)
    for code, entry in after.items():
        if code not in before:
            name = f"“{_text(entry)}”" if label else f"{code}. {_text(entry)}"
            yield Difference(SCORING, added, MISSING, name)


def _common(
    left: Iterable[Any], right: Iterable[Any]
) -> Iterator[tuple[str, Any, Any]]:
    after = {e.code: e for e in right}
    for entry in left:
        if entry.code in after:
            yield entry.code, entry, after[entry.code]


def _order_rows(
    what: str, left: Iterable[Any], right: Iterable[Any]
) -> Iterator[Difference]:
    a, b = [e.code for e in left], [e.code for e in right]
    common_a = [c for c in a if c in b]
    common_b = [c for c in b if c in a]
    if common_a != common_b:
        order = {e.code: _text(e) for e in left}
        yield Difference(
            SCORING,
            what,
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
        # A note's title is the definition file's own key ("Band note").
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
                WORDING,
                _("Domain %(code)s", code=domain.code),
                domain.label,
                labels[domain.code],
            )
    for code, a, b in _common(left.sections, right.sections):
        what = _("Section %(code)s", code=code)
        yield from _row(WORDING, _("%(what)s: heading", what=what), a.label, b.label)
        yield from _row(WORDING, _("%(what)s: help", what=what), a.help, b.help)
        yield from _row(WORDING, _("%(what)s: group", what=what), a.group, b.group)
    for code, a, b in _common(left.conditions, right.conditions):
        yield from _entry_wording_rows(_("Condition %(code)s", code=code), a, b)
    for code, a, b in _common(left.items, right.items):
        yield from _entry_wording_rows(_("Item %(code)s", code=code), a, b)


def _entry_wording_rows(
    what: str, a: Item | Condition, b: Item | Condition
) -> Iterator[Difference]:
    yield from _row(WORDING, _("%(what)s: wording", what=what), a.label, b.label)
    yield from _row(WORDING, _("%(what)s: help", what=what), a.help, b.help)
    yield from _row(
        WORDING,
        _("%(what)s: search hints", what=what),
        "; ".join(getattr(a, "evidence_hints", ())),
        "; ".join(getattr(b, "evidence_hints", ())),
    )
    for position, (_code, x, y) in enumerate(_common(a.options, b.options), 1):
        option = _("%(what)s, option %(position)s", what=what, position=position)
        yield from _row(WORDING, option, x.label, y.label)
        yield from _row(WORDING, _("%(what)s: help", what=option), x.help, y.help)
