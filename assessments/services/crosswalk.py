"""The crosswalk between instruments: checking it against the loaded versions,
and loading the bundled file (idempotent, like definitions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ..instruments.crosswalk import (
    Crosswalk as CrosswalkDocument,
)
from ..instruments.crosswalk import (
    CrosswalkError,
    check_against,
    parse_crosswalk,
)
from ..models import Crosswalk, InstrumentVersion
from ..models.crosswalk import document_hash


@dataclass
class CrosswalkOutcome:
    version: str
    action: str  # created | unchanged | updated | kept-edited | error
    messages: list[str] = field(default_factory=list)


def loaded_items(keys: tuple[str, ...]) -> dict[str, set[str]]:
    """Item codes of the loaded instrument versions among `keys`, by key."""
    # A catalogue holds a few dozen versions: read them all, match by key.
    versions = InstrumentVersion.objects.select_related("instrument")
    return {
        v.key: {item.code for item in v.as_definition().items}
        for v in versions
        if v.key in keys
    }


def crosswalk_problems(
    crosswalk: CrosswalkDocument, *, require_all: bool = True
) -> list[str]:
    """What in the crosswalk is not in the loaded versions, in words."""
    return check_against(
        crosswalk, loaded_items(crosswalk.keys), require_all=require_all
    )


def checked_crosswalk(doc: Any, *, require_all: bool = True) -> CrosswalkDocument:
    """The parsed crosswalk; CrosswalkError listing every problem otherwise."""
    crosswalk = parse_crosswalk(doc)
    problems = crosswalk_problems(crosswalk, require_all=require_all)
    if problems:
        raise CrosswalkError(problems)
    return crosswalk


@transaction.atomic
def load_crosswalk(doc: dict[str, Any]) -> CrosswalkOutcome:
    """Put a crosswalk document into the database (idempotent).

    Versions not loaded here are not checked (a partial load); items of the
    loaded ones must exist. A crosswalk edited in the admin is kept.
    """
    version = str(doc.get("version") or "")
    try:
        crosswalk = checked_crosswalk(doc, require_all=False)
    except CrosswalkError as exc:
        return CrosswalkOutcome(version, "error", exc.problems)
    digest = document_hash(doc)
    row = Crosswalk.objects.select_for_update().filter(version=version).first()
    fields = {"status": crosswalk.status, "note": crosswalk.note, "document": doc}
    if row is None:
        Crosswalk.objects.create(version=version, loaded_hash=digest, **fields)
        return CrosswalkOutcome(version, "created")
    if row.loaded_hash == digest:
        return CrosswalkOutcome(version, "unchanged")
    if row.is_edited:
        return CrosswalkOutcome(
            version, "kept-edited", ["edited in the admin; the file was not applied"]
        )
    for name, value in fields.items():
        setattr(row, name, value)
    row.loaded_hash = digest
    row.save()
    return CrosswalkOutcome(version, "updated")
