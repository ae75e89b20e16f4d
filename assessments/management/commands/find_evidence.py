"""Where a paper may say what each item asks: the evidence finder on one PDF."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from assessments.instruments import Definition, iter_bundled, parse_definition
from assessments.models import InstrumentVersion
from assessments.papers.extract import UnreadablePDF, extract
from assessments.papers.finder import Candidate, find, searched_entries
from assessments.papers.passages import passages

SHOWN_CHARACTERS = 110


class Command(BaseCommand):
    help = (
        "List, for each item of an instrument, the passages of FILE.pdf most "
        "likely to address it (best first). It points at text; it never answers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--instrument",
            required=True,
            help="an instrument version such as metrics-1.0, or a bare code",
        )
        parser.add_argument("--pdf", required=True, type=Path, help="the paper")
        parser.add_argument("--item", help="only this item (its code as published)")
        parser.add_argument(
            "--top", type=int, default=5, help="passages per item (default 5)"
        )
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["top"] < 1:
            raise CommandError("--top must be 1 or more.")
        definition = definition_for(options["instrument"])
        code = options["item"]
        codes = [entry.code for entry in searched_entries(definition)]
        if code is not None and code not in codes:
            raise CommandError(
                f"{definition.key} has no item {code!r}; its items are "
                + ", ".join(codes)
                + "."
            )
        try:
            extraction = extract(options["pdf"])
        except UnreadablePDF as exc:
            raise CommandError(f"{options['pdf']}: {exc}") from None
        if not extraction.has_text:
            self.stderr.write(
                f"{options['pdf']}: no text layer (a scanned PDF?): nothing to search."
            )
        found = find(
            definition,
            passages(extraction.pages),
            top=options["top"],
            item_code=code,
        )
        if code is None:
            # Every item, as published; a condition only when asked by its code.
            items = {item.code for item in definition.items}
            found = {k: v for k, v in found.items() if k in items}
        if options["json"]:
            self.stdout.write(json.dumps(as_json(definition.key, found)))
        else:
            self.stdout.write(table(definition, found))


def definition_for(key: str) -> Definition:
    """The loaded version of that key, else the bundled file of that key."""
    try:
        return InstrumentVersion.objects.by_key(key).as_definition()
    except (InstrumentVersion.DoesNotExist, DatabaseError):
        pass
    bundled = bundled_definitions()
    matching = [d for d in bundled if key in (d.key, d.code)]
    if matching:
        return matching[-1]
    raise CommandError(
        f"No instrument version {key!r}. Known: " + ", ".join(known_keys(bundled)) + "."
    )


def bundled_definitions() -> list[Definition]:
    # Sorted by file name, so a bare code ends on its latest version.
    return [parse_definition(doc) for doc in iter_bundled()]


def known_keys(bundled: list[Definition]) -> list[str]:
    keys = {d.key for d in bundled}
    with contextlib.suppress(DatabaseError):
        keys |= {v.key for v in InstrumentVersion.objects.select_related("instrument")}
    return sorted(keys)


def as_json(key: str, found: dict[str, list[Candidate]]) -> dict[str, Any]:
    return {
        "instrument": key,
        "items": {
            str(code): [
                {"page": c.page, "text": c.text, "score": round(c.score, 4)}
                for c in candidates
            ]
            for code, candidates in found.items()
        },
    }


def table(definition: Definition, found: dict[str, list[Candidate]]) -> str:
    lines = []
    for code, candidates in found.items():
        entry = definition.entry(code)
        label = entry.label if entry is not None else ""
        lines.append(f"Item {code}: {label}")
        if not candidates:
            lines.append("    (no passage found)")
        for rank, c in enumerate(candidates, start=1):
            text = c.text
            if len(text) > SHOWN_CHARACTERS:
                text = text[: SHOWN_CHARACTERS - 1].rstrip() + "\u2026"
            lines.append(f"  {rank}. page {c.page:<3} score {c.score:6.2f}  {text}")
        lines.append("")
    return "\n".join(lines)
