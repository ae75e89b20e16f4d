"""Assessments of a study against one pinned instrument version, and their answers."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from .instruments import InstrumentVersion
from .projects import Study


class Assessment(models.Model):
    class Kind(models.TextChoices):
        REVIEWER = "reviewer", _("Reviewer")
        CONSENSUS = "consensus", _("Consensus")
        # Calibration kinds: never an assigned reviewer of the review, so never
        # in its blinding, consensus, agreement or figures.
        TRAINING = "training", _("Training")
        CHECK = "check", _("Hidden check")
        REREAD = "reread", _("Re-read")

    class Status(models.TextChoices):
        ASSIGNED = "assigned", pgettext_lazy("status", "Assigned")
        IN_PROGRESS = "in_progress", pgettext_lazy("status", "In progress")
        SUBMITTED = "submitted", pgettext_lazy("status", "Submitted")
        REOPENED = "reopened", pgettext_lazy("status", "Reopened")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="assessments"
    )
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.PROTECT, related_name="assessments"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REVIEWER)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.ASSIGNED
    )
    # Optimistic concurrency: every accepted change bumps it.
    revision = models.PositiveIntegerField(default=0)
    # Cached result of the scoring engine over the pinned version's definition.
    total = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    maximum = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    percent = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    complete = models.BooleanField(default=False)
    result = models.JSONField(default=dict, blank=True)
    # The first independent submission, kept for agreement statistics.
    independent_total = models.DecimalField(
        max_digits=9, decimal_places=4, null=True, blank=True
    )
    independent_percent = models.DecimalField(
        max_digits=9, decimal_places=4, null=True, blank=True
    )
    independent_band = models.CharField(max_length=40, blank=True)
    first_submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    revised_after_unblinding = models.BooleanField(default=False)
    # When this reviewer could first see others' work on the study in this
    # version: a later resubmission is a revision after unblinding.
    unblinded_at = models.DateTimeField(null=True, blank=True)
    # Set when someone who could already see others' answers on the study was
    # assigned to review it: their ratings are left out of agreement.
    not_independent_reason = models.TextField(blank=True)
    # Re-reads only: the reviewer's earlier assessment of the study being re-read.
    reread_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="rereads"
    )
    # Consensus only: a reviewer's assessment was reopened after it was made.
    stale = models.BooleanField(default=False)
    reopen_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The instrument wording the reviewer saved in: "en", a translation's
    # language ("nl"), "mixed" when saves used more than one; "" when not known
    # (saves through the API, and assessments from before translations).
    wording_language = models.CharField(max_length=10, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(
        excluded_fields=[
            "result",
            "revision",
            "updated_at",
            "total",
            "maximum",
            "percent",
            "band",
            "complete",
            "wording_language",
        ]
    )

    class Meta:
        ordering = ["study", "kind", "reviewer"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "version", "reviewer"],
                condition=Q(kind="reviewer"),
                name="one_assessment_per_reviewer",
            ),
            models.UniqueConstraint(
                fields=["study", "version"],
                condition=Q(kind="consensus"),
                name="one_consensus_per_study",
            ),
            models.UniqueConstraint(
                fields=["study", "version", "reviewer", "kind"],
                condition=Q(kind__in=["training", "check", "reread"]),
                name="one_calibration_assessment_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="consensus", reviewer__isnull=True)
                | (~Q(kind="consensus") & Q(reviewer__isnull=False)),
                name="reviewer_iff_reviewer_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="reread", reread_of__isnull=False)
                | (~Q(kind="reread") & Q(reread_of__isnull=True)),
                name="reread_names_its_original",
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "status"]),
            models.Index(fields=["version", "kind", "status"]),
        ]

    def __str__(self) -> str:
        who = self.reviewer or "consensus"
        return f"{self.study} / {self.version.key} / {who}"

    @property
    def is_locked(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def is_consensus(self) -> bool:
        return self.kind == self.Kind.CONSENSUS

    @property
    def is_calibration(self) -> bool:
        """Training, hidden check or re-read: feeds calibration, not the review."""
        return self.kind in CALIBRATION_KINDS


CALIBRATION_KINDS = (
    Assessment.Kind.TRAINING,
    Assessment.Kind.CHECK,
    Assessment.Kind.REREAD,
)


class Answer(models.Model):
    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="answers"
    )
    # Item or condition code, as numbered in the publication.
    item_code = models.CharField(max_length=40)
    # None: not answered (evidence may still be typed); []: answered, none ticked.
    choices = models.JSONField(null=True, blank=True)
    # The assessment's revision when this answer was last written: a save
    # based on an older one would overwrite a newer answer and is refused.
    revision = models.PositiveIntegerField(default=0)
    # Cached from the engine for aggregation in SQL (per-item adherence).
    points = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    adheres = models.BooleanField(null=True)
    na = models.BooleanField(default=False)
    evidence = models.TextField(blank=True)
    page = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    # Quotes from the study's paper, W3C Web Annotation selectors and all:
    # [{"id", "paper", "sha256", "page", "exact", "prefix", "suffix", "start",
    # "end", "verified", "by", "at"}]. Part of the answer, so blinded, saved,
    # revision-checked and kept in the history exactly like it.
    quotes = models.JSONField(default=list, blank=True)
    # First independent submission, for agreement on items.
    independent_choices = models.JSONField(null=True, blank=True)
    independent_points = models.DecimalField(
        max_digits=8, decimal_places=3, null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords(
        excluded_fields=[
            "points",
            "adheres",
            "na",
            "updated_at",
            "independent_choices",
            "independent_points",
        ]
    )

    class Meta:
        ordering = ["assessment", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "item_code"], name="one_answer_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_code}: {'+'.join(self.choices or [])}"


class Resolution(models.Model):
    """How one item of a consensus was settled, and from which answers."""

    consensus = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="resolutions"
    )
    item_code = models.CharField(max_length=40)
    agreed = models.BooleanField(default=False)
    sources = models.JSONField(default=dict, help_text=_("Reviewer -> choices."))
    choices = models.JSONField(default=list)
    rationale = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(auto_now=True)
    # Optimistic concurrency: two adjudicators deciding the same item at once.
    revision = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["consensus", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["consensus", "item_code"], name="one_resolution_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_code}: {'+'.join(self.choices)}"
