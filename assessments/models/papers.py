"""Full texts of studies: the PDF, its extracted page text, and finder results.

Papers are private files: they live in their own storage (``STORAGES["papers"]``,
outside MEDIA_ROOT and every public URL) and reach a browser only through an
access-checked view. A replaced paper is kept, no longer current, because
quotes in answers point at it by its uuid and SHA-256.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .instruments import InstrumentVersion
from .projects import Study


def paper_storage() -> Storage:
    # A callable keeps the storage out of migrations; Django calls it once,
    # when the model class is built, so tests swap the field's storage instead.
    return storages["papers"]


class Paper(models.Model):
    class TextState(models.TextChoices):
        QUEUED = "queued", _("Text extraction queued")
        RUNNING = "running", _("Extracting text")
        DONE = "done", _("Text extracted")
        NO_TEXT = "no_text", _("No text layer: scanned PDF")
        FAILED = "failed", _("Text extraction failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="papers")
    file = models.FileField(storage=paper_storage, upload_to="%Y/%m/", max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    # One current paper per study; replaced ones stay for the quotes on them.
    current = models.BooleanField(default=True)
    page_count = models.PositiveIntegerField(default=0)
    text_state = models.CharField(
        max_length=8, choices=TextState.choices, default=TextState.QUEUED
    )
    text_error = models.TextField(blank=True)
    extracted_at = models.DateTimeField(null=True, blank=True)
    # A PDF that kills the worker is redelivered; counting the starts stops
    # the loop, and the start time tells the sweep a job died mid-way.
    extraction_started_at = models.DateTimeField(null=True, blank=True)
    extraction_attempts = models.PositiveSmallIntegerField(default=0)
    extraction_ms = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study"], condition=Q(current=True), name="one_current_paper"
            )
        ]

    def __str__(self) -> str:
        return gettext("Paper of %(study)s (%(digest)s)") % {
            "study": self.study,
            "digest": self.sha256[:12],
        }


class PaperText(models.Model):
    """The extracted text, kept apart so that listing papers never loads it."""

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="text")
    # pages[0] is page 1: the text as extracted, quotes' offsets index into it.
    pages = models.JSONField(default=list)
    # Finder windows: [{"page": n, "start": i, "end": j, "text": "..."}].
    passages = models.JSONField(default=list)

    def __str__(self) -> str:
        return gettext("Text of %(paper)s") % {"paper": self.paper}


class PaperFinding(models.Model):
    """The evidence finder's candidates for one paper and instrument version.

    ``hints`` is the fingerprint of the queries (item wording and evidence
    hints): a wording revision makes the cached candidates stale.
    """

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="findings")
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.CASCADE, related_name="+"
    )
    hints = models.CharField(max_length=64)
    # {item code: [{"page", "start", "end", "text", "score"}, ...]}, best first.
    items = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["paper", "version"], name="one_finding_per_paper_version"
            )
        ]

    def __str__(self) -> str:
        return gettext("Finder results for %(paper)s / %(version)s") % {
            "paper": self.paper,
            "version": self.version.key,
        }
