"""The crosswalk between instruments, stored so that admins can edit it.

The document is the crosswalk file's format (see
``assessments/instruments/crosswalk.py``); the published one with the latest
creation is the one the form and the dashboard use.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy

from ..instruments.crosswalk import Crosswalk as CrosswalkDocument
from ..instruments.crosswalk import CrosswalkError, parse_crosswalk


def document_hash(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CrosswalkQuerySet(models.QuerySet["Crosswalk"]):
    def current(self) -> Crosswalk | None:
        """The crosswalk in use: the newest published one, if any."""
        return (
            self.filter(status=Crosswalk.Status.PUBLISHED)
            .order_by("-created_at", "-pk")
            .first()
        )


class Crosswalk(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "Draft")
        PUBLISHED = "published", pgettext_lazy("status", "Published")
        RETIRED = "retired", pgettext_lazy("status", "Retired")

    version = models.CharField(max_length=20, unique=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    note = models.TextField(blank=True)
    document = models.JSONField(default=dict)
    # Fingerprint of the document as last loaded from a file, to tell admin
    # edits apart (an edited crosswalk is kept when the file changes).
    loaded_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CrosswalkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "retired"]),
                name="crosswalk_status_known",
            )
        ]

    def __str__(self) -> str:
        return gettext("Crosswalk %(version)s (%(status)s)") % {
            "version": self.version,
            "status": self.get_status_display(),
        }

    @property
    def is_edited(self) -> bool:
        return bool(self.loaded_hash) and self.loaded_hash != document_hash(
            self.document
        )

    def as_crosswalk(self) -> CrosswalkDocument | None:
        """The parsed crosswalk; None when the stored document is unusable."""
        if "_parsed" not in self.__dict__:
            try:
                self.__dict__["_parsed"] = parse_crosswalk(self.document)
            except CrosswalkError:
                self.__dict__["_parsed"] = None
        parsed: CrosswalkDocument | None = self.__dict__["_parsed"]
        return parsed
