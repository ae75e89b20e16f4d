"""Micro-drills: seeding the bundled drill files, recording a reviewer's answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from ..instruments.drills import (
    DrillRecord,
    build_drills,
    bundled_drill_files,
    read_drill_file,
)
from ..models import Drill, DrillAttempt, InstrumentVersion

FIELDS = (
    "item_code",
    "passage",
    "satisfies",
    "reason",
    "source_doi",
    "licence",
    "attribution",
    "position",
)


@dataclass(frozen=True)
class SeedCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    # Files whose instrument version is not loaded here, by name.
    skipped: tuple[str, ...] = ()

    def __add__(self, other: SeedCounts) -> SeedCounts:
        return SeedCounts(
            self.added + other.added,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.removed + other.removed,
            self.skipped + other.skipped,
        )


def seed_drills(*, files: Sequence[Path] | None = None) -> SeedCounts:
    """Add or update the drills of every drill file whose version is loaded.

    Idempotent: drills are matched by their stable key, so seeding again
    updates wording in place and keeps everyone's attempts. Raises
    DrillFileError for a file that cannot be used.
    """
    total = SeedCounts()
    for path in bundled_drill_files() if files is None else files:
        drill_file = read_drill_file(path)
        try:
            version = InstrumentVersion.objects.by_key(drill_file.instrument)
        except InstrumentVersion.DoesNotExist:
            total += SeedCounts(skipped=(drill_file.name,))
            continue
        records = build_drills(drill_file, version.as_definition())
        total += _upsert(version, drill_file.name, records)
    return total


@transaction.atomic
def _upsert(
    version: InstrumentVersion, prefix: str, records: list[DrillRecord]
) -> SeedCounts:
    existing = {d.key: d for d in Drill.objects.filter(key__startswith=f"{prefix}:")}
    added: list[Drill] = []
    changed: list[Drill] = []
    for record in records:
        values: dict[str, Any] = {f: getattr(record, f) for f in FIELDS}
        drill = existing.pop(record.key, None)
        if drill is None:
            added.append(
                Drill(instrument_id=version.instrument_id, key=record.key, **values)
            )
        elif drill.instrument_id != version.instrument_id or any(
            getattr(drill, f) != v for f, v in values.items()
        ):
            drill.instrument_id = version.instrument_id
            for f, v in values.items():
                setattr(drill, f, v)
            changed.append(drill)
    Drill.objects.bulk_create(added)
    Drill.objects.bulk_update(changed, ["instrument", *FIELDS])
    # A passage dropped from its file is no longer vouched for: its drills go.
    removed = len(existing)
    if existing:
        Drill.objects.filter(pk__in=[d.pk for d in existing.values()]).delete()
    unchanged = len(records) - len(added) - len(changed)
    return SeedCounts(len(added), len(changed), unchanged, removed)


def answer_drill(*, drill: Drill, user: Any, answer: bool) -> DrillAttempt:
    """Record the user's yes/no and whether it was right."""
    return DrillAttempt.objects.create(
        drill=drill, user=user, answer=answer, correct=answer == drill.satisfies
    )
