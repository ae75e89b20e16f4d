"""The crosswalk: which items of different instruments address the same concept.

Our own judgement, kept as data beside the definitions (in their
`crosswalk/` subfolder, which the definition loaders never read). A crosswalk
names instrument versions by key (`clear-1.0`) and their items by code;
`check_against` tells which of those are not in the given definitions.
Nothing here scores: a crosswalk only points a reviewer at their own answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..words import say as _
from .files import (
    MAX_DEFINITION_BYTES,
    bundled_definitions_dir,
    in_file,
    read_definition_text,
)
from .vocabulary import DefinitionError, ProblemsError

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
STATUSES = ("draft", "published", "retired")


class CrosswalkError(ProblemsError):
    """A crosswalk that cannot be used; `problems` lists every reason, in words
    (Phrases: English as text, translatable where shown)."""


@dataclass(frozen=True)
class Concept:
    code: str
    label: str
    help: str
    # Instrument key -> item codes, in the file's order.
    items: tuple[tuple[str, tuple[str, ...]], ...]

    def codes_for(self, key: str) -> tuple[str, ...]:
        return dict(self.items).get(key, ())

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _codes in self.items)


@dataclass(frozen=True)
class Crosswalk:
    version: str
    status: str
    note: str
    concepts: tuple[Concept, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every instrument key the crosswalk names, first mention first."""
        seen: dict[str, None] = {}
        for concept in self.concepts:
            seen.update(dict.fromkeys(concept.keys))
        return tuple(seen)

    def concepts_of(self, key: str, code: str) -> tuple[Concept, ...]:
        """The concepts an item of an instrument version belongs to."""
        return tuple(c for c in self.concepts if code in c.codes_for(key))

    def concept(self, code: str) -> Concept | None:
        return next((c for c in self.concepts if c.code == code), None)


def bundled_crosswalk_files() -> list[Path]:
    folder = bundled_definitions_dir() / "crosswalk"
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def read_crosswalk_text(text: str) -> dict[str, Any]:
    """Untrusted YAML text into a plain document (bounded like definitions)."""
    try:
        return read_definition_text(text)
    except DefinitionError as exc:
        raise CrosswalkError(exc.problems) from exc


def load_crosswalk_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.stat().st_size > MAX_DEFINITION_BYTES:
        too_large = _("larger than %(limit)s", limit=f"{MAX_DEFINITION_BYTES:,}")
        raise CrosswalkError([in_file(path, too_large)])
    try:
        return read_crosswalk_text(path.read_text(encoding="utf-8"))
    except CrosswalkError as exc:
        raise CrosswalkError([in_file(path, p) for p in exc.problems]) from exc


def parse_crosswalk(doc: Any) -> Crosswalk:
    """Check a crosswalk document's shape; CrosswalkError lists every problem."""
    if not isinstance(doc, Mapping):
        raise CrosswalkError(
            [_("expected a mapping with version, status and concepts")]
        )
    problems: list[str] = []
    version = str(doc.get("version") or "").strip()
    if not version:
        problems.append(_("version: missing"))
    status = str(doc.get("status") or "")
    if status not in STATUSES:
        problems.append(
            _(
                "status: %(status)s is not one of %(statuses)s",
                status=repr(status),
                statuses=", ".join(STATUSES),
            )
        )
    raw = doc.get("concepts")
    if not isinstance(raw, list) or not raw:
        problems.append(_("concepts: expected a non-empty list"))
        raw = []
    concepts = []
    for index, entry in enumerate(raw):
        concept = _concept(entry, f"concepts/{index}", problems)
        if concept is not None:
            concepts.append(concept)
    codes = [c.code for c in concepts]
    problems += [
        _("concept %(code)s: listed twice", code=c)
        for c in sorted(set(codes))
        if codes.count(c) > 1
    ]
    if problems:
        raise CrosswalkError(problems)
    return Crosswalk(version, status, str(doc.get("note") or ""), tuple(concepts))


def _concept(entry: Any, where: str, problems: list[str]) -> Concept | None:
    if not isinstance(entry, Mapping):
        problems.append(
            _("%(where)s: expected a mapping with code, label and items", where=where)
        )
        return None
    code = str(entry.get("code") or "")
    name = _("concept %(code)s", code=code) if code else where
    if not CODE.match(code):
        problems.append(
            _(
                "%(concept)s: code must be lower-case letters, digits and '-'",
                concept=name,
            )
        )
    label = str(entry.get("label") or "").strip()
    if not label:
        problems.append(_("%(concept)s: label missing", concept=name))
    items = entry.get("items")
    if not isinstance(items, Mapping) or not items:
        problems.append(
            _("%(concept)s: items must map instrument keys to item codes", concept=name)
        )
        return None
    mapped = []
    for key, codes in items.items():
        if not isinstance(codes, list) or not codes:
            problems.append(
                _(
                    "%(concept)s: %(key)s: expected a non-empty list of item codes",
                    concept=name,
                    key=key,
                )
            )
            continue
        texts = tuple(str(c).strip() for c in codes)
        if len(set(texts)) != len(texts):
            problems.append(
                _(
                    "%(concept)s: %(key)s: an item is listed twice",
                    concept=name,
                    key=key,
                )
            )
        mapped.append((str(key), texts))
    if sum(len(codes) for _key, codes in mapped) < 2:
        problems.append(
            _(
                "%(concept)s: a concept needs at least two items to compare",
                concept=name,
            )
        )
    return Concept(code, label, str(entry.get("help") or "").strip(), tuple(mapped))


def check_against(
    crosswalk: Crosswalk,
    items: Mapping[str, Sequence[str] | set[str] | frozenset[str]],
    *,
    require_all: bool = True,
) -> list[str]:
    """Problems with the crosswalk against instrument versions' item codes.

    `items` maps a version key to its item codes. An item not in its version
    is a problem naming concept, instrument and item; so is a key with no
    version, unless `require_all` is off (a version not loaded here yet).
    """
    problems: list[str] = []
    for concept in crosswalk.concepts:
        for key, codes in concept.items:
            if key not in items:
                if require_all:
                    problems.append(
                        _(
                            "concept %(code)s: instrument %(key)s is not loaded",
                            code=concept.code,
                            key=key,
                        )
                    )
                continue
            known = set(items[key])
            problems += [
                _(
                    "concept %(concept)s: %(key)s has no item %(code)s",
                    concept=concept.code,
                    key=key,
                    code=code,
                )
                for code in codes
                if code not in known
            ]
    return problems
