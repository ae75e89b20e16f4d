"""Instrument catalogue services: load, edit, publish, retire, compare, preview.

A published version is immutable: its rows are never written again, and its
frozen ``definition`` is what every assessment made against it is scored with.
Editing a published version means a new draft copied from it; a copy whose
content differs publishes under a name of its own, marked "modified from".

What these services say (ValidationError messages, LoadOutcome messages,
Compare rows) is said in Phrases: English as text (so `load_instruments`
prints English), translated by the admin page that shows it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ...instruments import (
    Definition,
    Result,
    parse_definition,
    score,
    validate_definition,
    with_standard_options,
)
from ...models import Condition, Instrument, InstrumentVersion, Item, Option, Section
from ...models.instruments import VERSION_FIELDS
from ...words import say as _
from .compare import SCORING, WORDING, Difference, differences
from .derivation import (
    Derivation,
    derivation_of,
    modified_marker,
    naming_problems,
    readable_definition,
    source_citation,
    version_words,
)

__all__ = [
    "SCORING",
    "WORDING",
    "Derivation",
    "Difference",
    "LoadOutcome",
    "PublishedVersionError",
    "compare_versions",
    "create_rows",
    "derivation_of",
    "document_from_rows",
    "document_hash",
    "ensure_editable",
    "load_definition",
    "new_draft_from",
    "preview_score",
    "publish_version",
    "readable_definition",
    "retire_version",
    "set_points",
    "version_words",
]

WORDING_FIELDS = ("name", "short_name", "citation", "doi", "licence", "note")


class PublishedVersionError(ValidationError):
    """Raised for any attempt to change a published or retired version."""


def ensure_editable(version: InstrumentVersion) -> None:
    if version.is_editable:
        return
    if version.status == InstrumentVersion.Status.RETIRED:
        said = _(
            "%(version)s is retired and cannot be changed; make a new draft from "
            "it instead.",
            version=version_words(version),
        )
    else:
        said = _(
            "%(version)s is published and cannot be changed; make a new draft "
            "from it instead.",
            version=version_words(version),
        )
    raise PublishedVersionError(said)


def document_from_rows(version: InstrumentVersion) -> dict[str, Any]:
    """The definition document of a version, built from its (draft) rows."""
    return version.rows_document()


def document_hash(doc: dict[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _rows_hash(version: InstrumentVersion) -> str:
    doc = document_from_rows(version)
    doc.pop("status", None)
    return document_hash(doc)


def create_rows(version: InstrumentVersion, doc: dict[str, Any]) -> None:
    """Write a document's conditions, sections, items and options as rows."""
    for pos, cond in enumerate(doc.get("conditions", [])):
        Condition.objects.create(
            version=version,
            code=cond["code"],
            label=cond.get("label", ""),
            help=cond.get("help", ""),
            options=cond.get("options", []),
            applies_when=cond.get("applies_when", []),
            evidence_hints=list(cond.get("evidence_hints", [])),
            position=pos,
        )
    item_pos = 0
    for pos, sec in enumerate(doc.get("sections", [])):
        section = Section.objects.create(
            version=version,
            code=sec["code"],
            label=sec.get("label", ""),
            help=sec.get("help", ""),
            group=sec.get("group", ""),
            position=pos,
        )
        for raw in sec.get("items", []):
            _create_item(version, section, raw, item_pos)
            item_pos += 1


def _create_item(
    version: InstrumentVersion, section: Section, raw: dict[str, Any], pos: int
) -> None:
    weight = raw.get("weight")
    item = Item.objects.create(
        version=version,
        section=section,
        code=str(raw["code"]),
        label=raw.get("label", ""),
        help=raw.get("help", ""),
        type=raw["type"],
        weight=Decimal(str(weight)) if weight is not None else None,
        applies_when=raw.get("applies_when", []),
        essential=raw.get("essential", True),
        stage=raw.get("stage"),
        tracks=raw.get("tracks", []),
        judgement=raw.get("judgement", ""),
        evidence_hints=list(raw.get("evidence_hints", [])),
        position=pos,
    )
    Option.objects.bulk_create(
        Option(
            item=item,
            code=str(opt["code"]),
            label=opt.get("label", ""),
            help=opt.get("help", ""),
            points=Decimal(str(opt["points"])) if "points" in opt else None,
            requires=opt.get("requires", []),
            position=opos,
        )
        for opos, opt in enumerate(raw.get("options", []))
    )


def _delete_rows(version: InstrumentVersion) -> None:
    Item.objects.filter(version=version).delete()
    version.sections.all().delete()
    version.conditions.all().delete()


@transaction.atomic
def publish_version(*, version: InstrumentVersion) -> InstrumentVersion:
    """Validate a draft's rows, freeze them into the definition and lock it."""
    version = InstrumentVersion.objects.select_for_update().get(pk=version.pk)
    ensure_editable(version)
    doc = document_from_rows(version)
    doc["status"] = "published"
    problems = validate_definition(doc)
    # The comparison needs rows that parse; until then the problems above say why.
    derivation = Derivation(None) if problems else derivation_of(version)
    problems += naming_problems(version, derivation)
    if version.needs_check:
        problems.append(
            _(
                "This version is marked as needing a check against the primary "
                "publication; clear 'needs check' once it has been checked."
            )
        )
    if problems:
        raise ValidationError(problems)
    doc.update(modified_marker(derivation))
    doc["citation"] = version.citation = source_citation(version, derivation)
    definition = parse_definition(doc)
    version.definition = doc
    version.scoring_hash = definition.scoring_fingerprint()
    version.status = InstrumentVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save()
    return version


@transaction.atomic
def retire_version(*, version: InstrumentVersion) -> InstrumentVersion:
    """Hide a published version from new projects; existing scores stay."""
    if version.status != InstrumentVersion.Status.PUBLISHED:
        raise ValidationError(
            _(
                "Only a published version can be retired (%(version)s).",
                version=str(version),
            )
        )
    version.status = InstrumentVersion.Status.RETIRED
    version.retired_at = timezone.now()
    version.save(update_fields=["status", "retired_at"])
    return version


@transaction.atomic
def new_draft_from(
    *, version: InstrumentVersion, new_version: str
) -> InstrumentVersion:
    """Copy a version's content into a new draft, for editing."""
    if InstrumentVersion.objects.filter(
        instrument=version.instrument, version=new_version
    ).exists():
        raise ValidationError(
            _("%(key)s exists.", key=f"{version.instrument.code}-{new_version}")
        )
    doc = version.definition or document_from_rows(version)
    draft = InstrumentVersion.objects.create(
        instrument=version.instrument,
        version=new_version,
        status=InstrumentVersion.Status.DRAFT,
        revision=1,
        needs_check=version.needs_check,
        params=doc.get("params", {}),
        based_on=version,
        **{name: getattr(version, name) for name in VERSION_FIELDS},
    )
    create_rows(draft, doc)
    return draft


def compare_versions(a: InstrumentVersion, b: InstrumentVersion) -> list[Difference]:
    """Side-by-side differences between two versions: scoring first, then wording."""
    return differences(readable_definition(a), readable_definition(b))


@transaction.atomic
def set_points(
    *,
    version: InstrumentVersion,
    points: Mapping[int, Decimal | None],
    weights: Mapping[int, Decimal | None],
) -> int:
    """Write a draft's option points and item weights from one page; count changed."""
    version = InstrumentVersion.objects.select_for_update().get(pk=version.pk)
    ensure_editable(version)
    options = list(Option.objects.filter(item__version=version, pk__in=list(points)))
    changed_options = [o for o in options if o.points != points[o.pk]]
    for option in changed_options:
        option.points = points[option.pk]
    Option.objects.bulk_update(changed_options, ["points"])
    items = list(Item.objects.filter(version=version, pk__in=list(weights)))
    changed_items = [i for i in items if i.weight != weights[i.pk]]
    for item in changed_items:
        item.weight = weights[item.pk]
    Item.objects.bulk_update(changed_items, ["weight"])
    return len(changed_options) + len(changed_items)


def preview_score(
    *, version: InstrumentVersion, choices: Mapping[str, Sequence[str]]
) -> tuple[Definition, Result]:
    """Score scratch choices with the version's current rows; nothing is stored."""
    definition = readable_definition(version)
    known = {c.code for c in definition.conditions} | {i.code for i in definition.items}
    answers = {code: list(chosen) for code, chosen in choices.items() if code in known}
    return definition, score(definition, answers)


@dataclass
class LoadOutcome:
    key: str
    action: str  # created | unchanged | reworded | replaced | kept-edited | error
    messages: list[str] = field(default_factory=list)


@transaction.atomic
def load_definition(doc: dict[str, Any]) -> LoadOutcome:
    """Put one definition document into the database (idempotent)."""
    doc = with_standard_options(doc)
    problems = validate_definition(doc)
    key = f"{doc.get('code')}-{doc.get('version')}"
    if problems:
        return LoadOutcome(key, "error", problems)
    instrument, _created = Instrument.objects.get_or_create(
        code=doc["code"], defaults={"name": doc["name"]}
    )
    version = (
        InstrumentVersion.objects.select_for_update()
        .filter(instrument=instrument, version=str(doc["version"]))
        .first()
    )
    if version is None:
        return _create_version(instrument, doc)
    if version.status == InstrumentVersion.Status.DRAFT:
        return _reload_draft(version, doc)
    return _reload_published(version, doc)


def _create_version(instrument: Instrument, doc: dict[str, Any]) -> LoadOutcome:
    version = InstrumentVersion.objects.create(
        instrument=instrument,
        version=str(doc["version"]),
        status=InstrumentVersion.Status.DRAFT,
        revision=doc.get("revision", 1),
        needs_check=doc.get("needs_check", False),
        params=doc.get("params", {}),
        **{name: doc.get(name, "") for name in VERSION_FIELDS},
    )
    create_rows(version, doc)
    version.loaded_hash = _rows_hash(version)
    version.save(update_fields=["loaded_hash"])
    if doc.get("status") == "published":
        publish_version(version=version)
    return LoadOutcome(version.key, "created")


def _reload_draft(version: InstrumentVersion, doc: dict[str, Any]) -> LoadOutcome:
    if version.loaded_hash and _rows_hash(version) != version.loaded_hash:
        return LoadOutcome(
            version.key,
            "kept-edited",
            [
                _(
                    "%(key)s is a draft edited in the database; left as it is.",
                    key=version.key,
                )
            ],
        )
    if _same_content(document_from_rows(version), doc):
        if doc.get("status") == "published":
            publish_version(version=version)
            return LoadOutcome(version.key, "published")
        return LoadOutcome(version.key, "unchanged")
    for name in VERSION_FIELDS:
        setattr(version, name, doc.get(name, ""))
    version.revision = doc.get("revision", 1)
    version.needs_check = doc.get("needs_check", False)
    version.params = doc.get("params", {})
    version.save()
    _delete_rows(version)
    create_rows(version, doc)
    version.loaded_hash = _rows_hash(version)
    version.save(update_fields=["loaded_hash"])
    if doc.get("status") == "published":
        publish_version(version=version)
    return LoadOutcome(version.key, "replaced")


def _same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Rows and a file mean the same (frozen dataclasses compare field by field)."""

    def strip(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "derived_from"} | {
            "status": "draft"
        }

    return parse_definition(strip(a)) == parse_definition(strip(b))


def _reload_published(version: InstrumentVersion, doc: dict[str, Any]) -> LoadOutcome:
    stored = version.as_definition()
    incoming = parse_definition(doc)
    differences = stored.scoring_differences(incoming)
    if differences:
        if version.status == InstrumentVersion.Status.RETIRED:
            said = _(
                "%(key)s is retired; the file differs in scoring (publish a new "
                "version instead):",
                key=version.key,
            )
        else:
            said = _(
                "%(key)s is published; the file differs in scoring (publish a new "
                "version instead):",
                key=version.key,
            )
        return LoadOutcome(version.key, "error", [said, *differences])
    if int(doc.get("revision", 1)) <= version.revision:
        if not _same_content(version.definition or {}, doc):
            return LoadOutcome(
                version.key,
                "unchanged",
                [
                    _(
                        "%(key)s: wording differs but the revision was not raised.",
                        key=version.key,
                    )
                ],
            )
        return LoadOutcome(version.key, "unchanged")
    _apply_wording(version, doc)
    return LoadOutcome(
        version.key,
        "reworded",
        [_("wording revision %(revision)s", revision=version.revision)],
    )


def _apply_wording(version: InstrumentVersion, doc: dict[str, Any]) -> None:
    """Labels and help texts only: the scoring content was checked identical."""
    frozen = dict(version.definition or {})
    for name in WORDING_FIELDS:
        setattr(version, name, doc.get(name, ""))
        frozen[name] = doc.get(name, "")
    frozen["revision"] = version.revision = int(doc["revision"])
    frozen["conditions"] = doc.get("conditions", [])
    frozen["sections"] = doc.get("sections", [])
    version.definition = frozen
    version.save()
    _delete_rows(version)
    create_rows(version, doc)
