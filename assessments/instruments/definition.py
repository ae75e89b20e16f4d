"""Instrument definitions as frozen data: the types, and parsing a document into them.

`parse_definition` validates a plain document (see `validation`) and freezes it;
reading files is `files`, fingerprints are `fingerprints`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from . import fingerprints
from .files import MAX_DEFINITION_BYTES, read_definition_text, with_standard_options
from .validation import validate_definition
from .vocabulary import NA, DefinitionError, to_decimal

# Also offered here: NA and DefinitionError (defined in `vocabulary`, so that
# `files` and `validation` need not import the types), and MAX_DEFINITION_BYTES
# and read_definition_text, which assessments/admin.py still imports from here.
__all__ = [
    "MAX_DEFINITION_BYTES",
    "NA",
    "Band",
    "Clause",
    "Condition",
    "Definition",
    "DefinitionError",
    "Domain",
    "Item",
    "Level",
    "Option",
    "Scope",
    "Section",
    "parse_definition",
    "read_definition_text",
]

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    help: str = ""
    points: Decimal | None = None
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clause:
    """Holds when the condition's answer is in `values` (`na`: it does not apply)."""

    condition: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    code: str
    label: str
    help: str
    options: tuple[Option, ...]
    applies_when: tuple[Clause, ...] = ()
    evidence_hints: tuple[str, ...] = ()

    is_multi = False

    @property
    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    help: str
    type: str
    section: str
    options: tuple[Option, ...]
    applies_when: tuple[Clause, ...] = ()
    weight: Decimal | None = None
    essential: bool = True
    stage: int | None = None
    tracks: tuple[str, ...] = ()
    judgement: str | None = None
    # Phrases and synonyms the evidence finder searches for (our own words).
    evidence_hints: tuple[str, ...] = ()
    # (scale, level) pairs from params/levels, e.g. (("research", "+"), ...).
    levels: tuple[tuple[str, str], ...] = ()

    @property
    def is_multi(self) -> bool:
        return self.type == "multi"

    @property
    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def max_points(self) -> Decimal:
        """Best attainable points: all positive boxes (multi) or the best option."""
        points = [o.points or Decimal(0) for o in self.options]
        if self.is_multi:
            return sum((p for p in points if p > 0), Decimal(0))
        return max(points, default=Decimal(0))


@dataclass(frozen=True)
class Section:
    code: str
    label: str
    help: str
    items: tuple[Item, ...]
    group: str = ""


@dataclass(frozen=True)
class Domain:
    code: str
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Level:
    """One level on one scale (deployable tool, ++) and the items at it."""

    scale: str
    value: str
    label: str
    items: tuple[str, ...]

    @property
    def code(self) -> str:
        return f"{self.scale}:{self.value}"


@dataclass(frozen=True)
class Band:
    min: Decimal
    max: Decimal
    label: str
    inclusive_max: bool = False

    def contains(self, value: Decimal) -> bool:
        return self.min <= value < self.max or (
            self.inclusive_max and value == self.max
        )


@dataclass(frozen=True)
class Scope:
    """Readiness-level scoping: items above the chosen stage or off-track are N/A."""

    stage_condition: str
    track_condition: str
    all_tracks: str = "both"


@dataclass(frozen=True)
class Definition:
    key: str
    code: str
    version: str
    status: str
    revision: int
    name: str
    short_name: str
    citation: str
    doi: str
    licence: str
    kind: str
    needs_check: bool
    note: str
    params: Mapping[str, Any] = field(hash=False)
    conditions: tuple[Condition, ...]
    sections: tuple[Section, ...]
    domains: tuple[Domain, ...] = ()
    bands: tuple[Band, ...] = ()
    levels: tuple[Level, ...] = ()
    scope: Scope | None = None
    derived_from: str = ""
    # A copy changed after it was published from another version, in words
    # ("RQS 1.0"), and that version's key for a link; neither scores.
    modified_from: str = ""
    modified_from_key: str = ""

    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _index(self) -> dict[str, Item | Condition]:
        entries: list[Item | Condition] = [*self.conditions, *self.items]
        return {entry.code: entry for entry in entries}

    def entry(self, code: str) -> Item | Condition | None:
        """The item or condition with this code (codes are unique across both)."""
        return self._index.get(code)

    def item(self, code: str) -> Item:
        entry = self._index.get(code)
        if not isinstance(entry, Item):
            raise KeyError(f"{self.key} has no item {code!r}")
        return entry

    def condition(self, code: str) -> Condition:
        entry = self._index.get(code)
        if not isinstance(entry, Condition):
            raise KeyError(f"{self.key} has no condition {code!r}")
        return entry

    def band_for(self, value: Decimal) -> str | None:
        return next((b.label for b in self.bands if b.contains(value)), None)

    def scoring_fingerprint(self) -> str:
        return fingerprints.scoring_fingerprint(self)

    def wording_fingerprint(self) -> str:
        return fingerprints.wording_fingerprint(self)

    def scoring_differences(self, other: Definition) -> list[str]:
        """What changes in scoring when going from this definition to `other`."""
        return fingerprints.scoring_differences(self, other)


# --- parsing a document ----------------------------------------------------


_META_KEYS: tuple[str, ...] = ("code", "version", "status", "revision", "name")
_META_KEYS += ("short_name", "citation", "doi", "licence", "kind", "needs_check")


def parse_definition(doc: Mapping[str, Any]) -> Definition:
    """Validate and freeze a definition document; raises DefinitionError."""
    problems = validate_definition(doc)
    if problems:
        raise DefinitionError(problems)
    full = with_standard_options(doc)
    params = copy.deepcopy(full.get("params", {}))
    sections = tuple(_section(s, _item_levels(params)) for s in full["sections"])
    return Definition(
        key=f"{full['code']}-{full['version']}",
        **{k: full[k] for k in _META_KEYS},
        note=full.get("note", ""),
        params=params,
        conditions=tuple(_condition(c) for c in full.get("conditions", [])),
        sections=sections,
        domains=tuple(
            Domain(d["code"], d["label"], tuple(d["items"]))
            for d in params.get("domains", [])
        ),
        bands=tuple(_band(b) for b in params.get("bands", [])),
        levels=_levels(params, sections),
        scope=Scope(**params["scope"]) if "scope" in params else None,
        derived_from=full.get("derived_from", ""),
        modified_from=full.get("modified_from", ""),
        modified_from_key=full.get("modified_from_key", ""),
    )


def _option(raw: Document) -> Option:
    points = raw.get("points")
    return Option(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        points=None if points is None else to_decimal(points),
        requires=tuple(raw.get("requires", [])),
    )


def _clauses(raw: Document) -> tuple[Clause, ...]:
    return tuple(
        Clause(c["condition"], tuple(c["in"])) for c in raw.get("applies_when", [])
    )


def _condition(raw: Document) -> Condition:
    return Condition(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        options=tuple(_option(o) for o in raw["options"]),
        applies_when=_clauses(raw),
        evidence_hints=tuple(raw.get("evidence_hints", [])),
    )


def _item(raw: Document, section: str, levels: LevelMap) -> Item:
    weight = raw.get("weight")
    return Item(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        type=raw["type"],
        section=section,
        options=tuple(_option(o) for o in raw["options"]),
        applies_when=_clauses(raw),
        weight=None if weight is None else to_decimal(weight),
        essential=raw.get("essential", True),
        stage=raw.get("stage"),
        tracks=tuple(raw.get("tracks", [])),
        judgement=raw.get("judgement"),
        evidence_hints=tuple(raw.get("evidence_hints", [])),
        levels=levels.get(raw["code"], ()),
    )


def _section(raw: Document, levels: LevelMap) -> Section:
    return Section(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        items=tuple(_item(i, raw["code"], levels) for i in raw["items"]),
        group=raw.get("group", ""),
    )


LevelMap = Mapping[str, tuple[tuple[str, str], ...]]


def _item_levels(params: Mapping[str, Any]) -> LevelMap:
    """Each item's (scale, level) pairs, in the declared order of the scales."""
    if "levels" not in params:
        return {}
    scales = [s["code"] for s in params["levels"]["scales"]]
    return {
        code: tuple((s, own[s]) for s in scales if s in own)
        for code, own in params["levels"]["items"].items()
    }


def _levels(
    params: Mapping[str, Any], sections: tuple[Section, ...]
) -> tuple[Level, ...]:
    """Every (scale, level) pair in declared order, each with its items."""
    if "levels" not in params:
        return ()
    items = [item for section in sections for item in section.items]
    return tuple(
        Level(
            scale["code"],
            value["code"],
            f"{scale['label']}, {value['label']}",
            tuple(i.code for i in items if (scale["code"], value["code"]) in i.levels),
        )
        for scale in params["levels"]["scales"]
        for value in params["levels"]["values"]
    )


def _band(raw: Document) -> Band:
    return Band(
        to_decimal(raw["min"]),
        to_decimal(raw["max"]),
        raw["label"],
        bool(raw.get("inclusive_max", False)),
    )
