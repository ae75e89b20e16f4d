"""Instrument catalogue: versions are edited as rows while drafts, then frozen.

Publishing writes the rows into ``InstrumentVersion.definition`` (the document
format of ``assessments/instruments/schema.json``); the scoring engines only
ever read that frozen document, so an assessment pinned to a version keeps its
score whatever happens to the rows or to later versions.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..instruments import Definition, parse_definition

VERSION_FIELDS = ("name", "short_name", "citation", "doi", "licence", "kind", "note")


class Instrument(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class InstrumentVersionQuerySet(models.QuerySet["InstrumentVersion"]):
    def published(self) -> InstrumentVersionQuerySet:
        return self.filter(status=InstrumentVersion.Status.PUBLISHED)

    def by_key(self, key: str) -> InstrumentVersion:
        """`rqs-1.0` for that version, or a bare code for its latest published."""
        qs = self.select_related("instrument")
        for candidate in qs.filter(instrument__code__in=_key_prefixes(key)):
            if candidate.key == key:
                return candidate
        latest = qs.published().filter(instrument__code=key).order_by("-published_at")
        found = latest.first()
        if found is None:
            raise InstrumentVersion.DoesNotExist(f"No instrument version {key!r}")
        return found


def _key_prefixes(key: str) -> list[str]:
    parts = key.split("-")
    return ["-".join(parts[:i]) for i in range(1, len(parts))]


class InstrumentVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "Draft")
        PUBLISHED = "published", pgettext_lazy("status", "Published")
        RETIRED = "retired", pgettext_lazy("status", "Retired")

    class Kind(models.TextChoices):
        POINTS = "points", _("Points (RQS)")
        WEIGHTED = "weighted", _("Weighted (METRICS)")
        CHECKLIST = "checklist", _("Checklist (CLEAR)")
        JUDGEMENT = "judgement", _("Judgement (QUADAS-2)")

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.CharField(max_length=20)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    revision = models.PositiveIntegerField(
        default=1, help_text=_("Wording revision: labels and help texts only.")
    )
    name = models.CharField(max_length=200)
    short_name = models.CharField(max_length=60, blank=True)
    citation = models.TextField(blank=True)
    doi = models.CharField(max_length=200, blank=True)
    licence = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    needs_check = models.BooleanField(
        default=False,
        help_text=_("Provisional: to be checked against the primary paper."),
    )
    note = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    definition = models.JSONField(
        null=True, blank=True, editable=False, help_text=_("Frozen at publication.")
    )
    scoring_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Fingerprint of the rows as last loaded from a file, to tell admin edits apart.
    loaded_hash = models.CharField(max_length=64, blank=True, editable=False)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = InstrumentVersionQuerySet.as_manager()

    class Meta:
        ordering = ["instrument__code", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "version"], name="unique_instrument_version"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(definition__isnull=False),
                name="frozen_unless_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"

    @property
    def label(self) -> str:
        """Words people use ("RQS 1.0"), never the key: pages, PDFs, dropdowns."""
        name = self.short_name or self.name
        if self.version not in name.split():
            name = f"{name} {self.version}"
        return name

    @property
    def modified_from(self) -> str:
        """The version a published copy was changed from, in words; "" if none."""
        return str((self.definition or {}).get("modified_from", ""))

    @property
    def key(self) -> str:
        return f"{self.instrument.code}-{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    def as_definition(self) -> Definition:
        """The definition the engines score with: frozen, or a draft's current rows.

        Parsed once per process and version (and once per instance), so the
        hot autosave path never parses it again.
        """
        cached: Definition | None = self.__dict__.get("_definition")
        if cached is not None:
            return cached
        if "definition" not in self.__dict__ and self.scoring_hash:
            # Deferred by the autosave's locking query: a key in the cache was
            # put there from this version's frozen document, so no need to load it.
            hit = _PUBLISHED.get((self.pk, self.revision, self.scoring_hash))
            if hit is not None:
                self.__dict__["_definition"] = hit
                return hit
        if self.definition and self.scoring_hash:
            # A frozen version only changes by a wording revision: that is the key.
            key = (self.pk, self.revision, self.scoring_hash)
            if key not in _PUBLISHED:
                _PUBLISHED[key] = parse_definition(self.definition)
            parsed = _PUBLISHED[key]
        else:
            doc = self.definition if self.definition else self.rows_document()
            frozen = json.dumps(doc, sort_keys=True, default=str)
            digest = hashlib.sha256(frozen.encode()).hexdigest()
            parsed = _parsed_draft(self.pk, digest, frozen)
            return parsed  # drafts change under the admin: never kept on the instance
        self.__dict__["_definition"] = parsed
        return parsed

    def rows_document(self) -> dict[str, Any]:
        """The definition document of this version, built from its (draft) rows."""
        doc: dict[str, Any] = {
            "code": self.instrument.code,
            "version": self.version,
            "status": "published" if self.status != "draft" else "draft",
            "revision": self.revision,
            **{name: getattr(self, name) for name in VERSION_FIELDS},
            "needs_check": self.needs_check,
            "params": self.params or {},
            "conditions": [
                {
                    "code": c.code,
                    "label": c.label,
                    "help": c.help,
                    "options": c.options,
                    "applies_when": c.applies_when,
                    **(
                        {"evidence_hints": list(c.evidence_hints)}
                        if c.evidence_hints
                        else {}
                    ),
                }
                for c in self.conditions.all()
            ],
            "sections": [],
        }
        items = Item.objects.filter(version=self).prefetch_related("options")
        by_section: dict[int, list[Item]] = {}
        for item in items:
            by_section.setdefault(item.section_id, []).append(item)
        for section in self.sections.all():
            doc["sections"].append(
                {
                    "code": section.code,
                    "label": section.label,
                    "help": section.help,
                    **({"group": section.group} if section.group else {}),
                    "items": [i.document() for i in by_section.get(section.pk, [])],
                }
            )
        return doc


class Section(models.Model):
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.CASCADE, related_name="sections"
    )
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=300)
    help = models.TextField(blank=True)
    group = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Heading above sections, e.g. Methods."),
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "code"], name="unique_section_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.label}"


class Condition(models.Model):
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.CASCADE, related_name="conditions"
    )
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=300)
    help = models.TextField(blank=True)
    options = models.JSONField(
        default=list, help_text=_('List of {"code": ..., "label": ...}.')
    )
    applies_when = models.JSONField(default=list, blank=True)
    # Phrases the evidence finder searches for: wording, never scoring.
    evidence_hints = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "code"], name="unique_condition_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.label}"


class Item(models.Model):
    class Type(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTI = "multi", _("Multiple choice (points add up)")
        YESNO = "yesno", _("Yes / no")
        YNNA = "ynna", _("Yes / no / not applicable")
        SIGNALLING = "signalling", _("Yes / no / unclear")
        JUDGEMENT = "judgement", _("Low / high / unclear")

    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.CASCADE, related_name="items"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=300)
    help = models.TextField(blank=True)
    type = models.CharField(max_length=12, choices=Type.choices)
    weight = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    applies_when = models.JSONField(default=list, blank=True)
    essential = models.BooleanField(default=True)
    stage = models.PositiveSmallIntegerField(null=True, blank=True)
    tracks = models.JSONField(default=list, blank=True)
    judgement = models.CharField(max_length=20, blank=True)
    # Phrases the evidence finder searches for: wording, never scoring.
    evidence_hints = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="unique_item_code")
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.label}"

    def document(self) -> dict[str, Any]:
        """This item as it stands in a definition document."""
        doc: dict[str, Any] = {
            "code": self.code,
            "label": self.label,
            "help": self.help,
            "type": self.type,
            "applies_when": self.applies_when,
            "essential": self.essential,
            "options": [
                {
                    "code": o.code,
                    "label": o.label,
                    **({"help": o.help} if o.help else {}),
                    **(
                        {"points": plain_number(o.points)}
                        if o.points is not None
                        else {}
                    ),
                    "requires": o.requires,
                }
                for o in self.options.all()
            ],
        }
        if self.weight is not None:
            doc["weight"] = plain_number(self.weight)
        if self.stage is not None:
            doc["stage"] = self.stage
        if self.tracks:
            doc["tracks"] = self.tracks
        if self.judgement:
            doc["judgement"] = self.judgement
        if self.evidence_hints:
            doc["evidence_hints"] = list(self.evidence_hints)
        return doc


class Option(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="options")
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=300)
    help = models.TextField(blank=True)
    points = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    requires = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="unique_option_code")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.label}"


def plain_number(value: Decimal | None) -> str | int | None:
    """A decimal as a definition file writes it: 2, not 2.000; 0.0368 as text."""
    if value is None:
        return None
    normalised = value.normalize()
    if normalised == normalised.to_integral_value():
        return int(normalised)
    return format(normalised, "f")


_PUBLISHED: dict[tuple[int, int, str], Definition] = {}


@lru_cache(maxsize=64)
def _parsed_draft(pk: int, digest: str, frozen: str) -> Definition:
    return parse_definition(json.loads(frozen))
