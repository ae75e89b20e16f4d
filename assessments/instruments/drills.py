"""Micro-drills: example passages turned into "does this satisfy item N?" cards.

A drill file (JSON, in `definitions/drills/`) names its instrument version in
`about.instrument` and lists passages, each tagged with the item it
illustrates, its source DOI and licence. Every passage makes two drills: one
asking about its own item (the answer is yes) and one asking about another
item of the same section, or the neighbouring item (the answer is no), so a
reviewer cannot learn that the answer is always "yes".

The files sit in a subfolder so the definition loaders, which read only the
top of `definitions/`, never take them for instruments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .definition import Definition, Item
from .files import bundled_definitions_dir
from .vocabulary import ProblemsError

# A drill file holds a few hundred passages at most; beyond this it is a mistake.
MAX_DRILL_FILE_BYTES = 2_000_000
MAX_PASSAGE_CHARS = 5_000
REQUIRED = ("item", "text", "source_doi", "licence")


class DrillFileError(ProblemsError):
    """A drill file that cannot be used, in words for the person who wrote it."""


@dataclass(frozen=True)
class Passage:
    item: str
    text: str
    source_doi: str
    licence: str
    # Which item the "no" drill asks about, when the file's author chose it.
    other_item: str = ""


@dataclass(frozen=True)
class DrillFile:
    name: str  # the file's stem, the prefix of every drill key: "metrics-e3"
    instrument: str  # the version key the item codes belong to: "metrics-1.0"
    source: str  # where the passages were collected, for the attribution
    about: Mapping[str, Any]
    passages: tuple[Passage, ...]

    @property
    def instrument_code(self) -> str:
        return self.instrument.rsplit("-", 1)[0]


@dataclass(frozen=True)
class DrillRecord:
    key: str
    item_code: str
    passage: str
    satisfies: bool
    reason: str
    source_doi: str
    licence: str
    attribution: str
    position: int


def bundled_drills_dir() -> Path:
    return bundled_definitions_dir() / "drills"


def bundled_drill_files() -> list[Path]:
    folder = bundled_drills_dir()
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def read_drill_file(path: str | Path) -> DrillFile:
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_DRILL_FILE_BYTES:
        raise DrillFileError(
            [
                f"{path.name}: {size:,} bytes; drill files are limited to "
                f"{MAX_DRILL_FILE_BYTES:,} bytes"
            ]
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DrillFileError([f"{path.name}: not readable as JSON: {exc}"]) from exc
    try:
        return parse_drill_file(doc, name=path.stem)
    except DrillFileError as exc:
        raise DrillFileError([f"{path.name}: {p}" for p in exc.problems]) from exc


def parse_drill_file(doc: Any, *, name: str) -> DrillFile:
    """Check a drill document's shape; raises DrillFileError listing every problem."""
    if not isinstance(doc, dict):
        raise DrillFileError(["expected a JSON object with 'about' and 'passages'"])
    about = doc.get("about")
    instrument = about.get("instrument") if isinstance(about, dict) else None
    problems = []
    if not isinstance(instrument, str) or "-" not in instrument:
        problems.append("about.instrument: name the instrument version, e.g. rqs-1.0")
    raw = doc.get("passages")
    if not isinstance(raw, list) or not raw:
        problems.append("passages: expected a list of passages")
        raw = []
    passages = []
    for n, entry in enumerate(raw, start=1):
        found = _passage_problems(entry)
        problems += [f"passage {n}: {p}" for p in found]
        if not found:
            passages.append(
                Passage(
                    item=str(entry["item"]).strip(),
                    text=entry["text"].strip(),
                    source_doi=entry["source_doi"].strip(),
                    licence=entry["licence"].strip(),
                    other_item=str(entry.get("other_item", "")).strip(),
                )
            )
    if problems:
        raise DrillFileError(problems)
    assert isinstance(about, dict) and isinstance(instrument, str)
    source = str(about.get("source") or f"{name.upper()} examples")
    return DrillFile(name, instrument, source, dict(about), tuple(passages))


def _passage_problems(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return ["expected an object with item, text, source_doi and licence"]
    problems = [
        f"{field} is missing or empty"
        for field in REQUIRED
        if not isinstance(entry.get(field), str | int) or not str(entry[field]).strip()
    ]
    text = entry.get("text")
    if isinstance(text, str) and len(text) > MAX_PASSAGE_CHARS:
        problems.append(f"text is longer than {MAX_PASSAGE_CHARS:,} characters")
    return problems


def build_drills(drills: DrillFile, definition: Definition) -> list[DrillRecord]:
    """Two drills per passage, against the items of the named version."""
    if definition.key != drills.instrument:
        raise DrillFileError(
            [f"{drills.name}: written for {drills.instrument}, not {definition.key}"]
        )
    items = {item.code: item for item in definition.items}
    unknown = sorted({p.item for p in drills.passages} - items.keys())
    unknown += sorted(
        {p.other_item for p in drills.passages if p.other_item} - items.keys()
    )
    if unknown:
        raise DrillFileError(
            [f"{drills.name}: {definition.key} has no item {code}" for code in unknown]
        )
    same_text: dict[str, set[str]] = {}
    for p in drills.passages:
        same_text.setdefault(p.text, set()).add(p.item)
    records = []
    for n, passage in enumerate(drills.passages, start=1):
        own = items[passage.item]
        other = (
            items[passage.other_item]
            if passage.other_item
            else other_item(definition, own, passage.text, same_text[passage.text])
        )
        common = {
            "passage": passage.text,
            "source_doi": passage.source_doi,
            "licence": passage.licence,
            "attribution": attribution(passage, drills.source),
        }
        records.append(
            DrillRecord(
                key=f"{drills.name}:{n}:own",
                item_code=own.code,
                satisfies=True,
                reason=own_reason(own, drills.source),
                position=2 * n - 1,
                **common,
            )
        )
        if other is not None:
            records.append(
                DrillRecord(
                    key=f"{drills.name}:{n}:other",
                    item_code=other.code,
                    satisfies=False,
                    reason=other_reason(own, other),
                    position=2 * n,
                    **common,
                )
            )
    return records


def other_item(
    definition: Definition, own: Item, text: str, tagged: set[str]
) -> Item | None:
    """The item the "no" drill asks about: same section first, then neighbours.

    Neighbouring items often ask about related things, so among the candidates
    the one whose evidence phrases the passage does not contain is preferred:
    a passage that happens to report the other item too would make "no" wrong.
    """
    order = list(definition.items)
    section = next(s for s in definition.sections if own in s.items)
    in_section = list(section.items)
    at = in_section.index(own)
    candidates = in_section[at + 1 :] + in_section[:at]
    index = order.index(own)
    neighbours = [order[i] for i in (index + 1, index - 1) if 0 <= i < len(order)]
    candidates += [c for c in neighbours if c not in candidates]
    candidates = [c for c in candidates if c.code not in tagged]
    if not candidates:
        return None
    lowered = text.lower()
    return min(
        candidates,
        key=lambda c: sum(h.lower() in lowered for h in c.evidence_hints),
    )


def attribution(passage: Passage, source: str) -> str:
    return f"Passage from {passage.source_doi}, {passage.licence}, via the {source}"


def item_words(item: Item) -> str:
    return f"item {item.code} ({item.label})"


def own_reason(item: Item, source: str) -> str:
    return (
        f"Yes: this passage reports what {item_words(item)} asks for; the {source} "
        "give it as an example of adequate reporting."
    )


def other_reason(own: Item, other: Item) -> str:
    return (
        f"No: this passage illustrates {item_words(own)}, not "
        f"{item_words(other)}; it does not report what item {other.code} asks for."
    )
