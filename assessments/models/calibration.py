"""Calibration: gold references, thresholds, certificates, re-read settings and
per-item drills."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .assessments import Assessment
from .instruments import Instrument, InstrumentVersion
from .projects import Project, Study


class Reference(models.Model):
    """The answers a trainee is compared with, for one study and version.

    A copy of the source assessment taken when the lead marked it, so a later
    reopening of the source never changes feedback or a certificate already
    given. Marking another source keeps this one as no longer current.
    """

    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="references"
    )
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.PROTECT, related_name="references"
    )
    source = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, related_name="references_made"
    )
    # Who the reference is: "Consensus" or the expert's name, as shown to trainees.
    expert = models.CharField(max_length=200)
    # {item_code: {"choices", "points", "evidence", "page", "quotes"}}
    answers = models.JSONField(default=dict)
    rationales = models.JSONField(default=dict, blank=True)
    total = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    percent = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    result = models.JSONField(default=dict, blank=True)
    current = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "version", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "version"],
                condition=Q(current=True),
                name="one_current_reference",
            )
        ]

    def __str__(self) -> str:
        return gettext("Reference for %(study)s in %(version)s (%(expert)s)") % {
            "study": self.study,
            "version": self.version.key,
            "expert": self.expert,
        }


class CalibrationSettings(models.Model):
    """A project's calibration rules for one instrument version.

    Certification stays off until a lead switches it on; re-reads stay off
    while the fraction is 0.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="calibration_settings"
    )
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.PROTECT, related_name="+"
    )
    certification = models.BooleanField(
        _("require certification"),
        default=False,
        help_text=_("Automatic assignment skips reviewers who are not certified."),
    )
    min_training_studies = models.PositiveSmallIntegerField(
        _("training studies at least"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    min_item_agreement = models.DecimalField(
        _("item agreement with the reference at least (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("80"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    max_total_difference = models.DecimalField(
        _("mean difference in the total at most"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("3"),
        validators=[MinValueValidator(0)],
        help_text=_(
            "In the instrument's unit: points for RQS, percentage points "
            "for METRICS and checklists; compared with the mean absolute difference."
        ),
    )
    hidden_checks = models.BooleanField(
        _("allow hidden checks"),
        default=False,
        help_text=_(
            "A gold study may be assigned like a live one; its result goes "
            "into the reviewer's calibration, not the review."
        ),
    )
    reread_fraction = models.DecimalField(
        _("share of submitted studies re-read (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    reread_interval_days = models.PositiveSmallIntegerField(
        _("re-read after (days)"),
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    # What a lead sets (and what the audit log compares before and after).
    RULES = (
        "certification",
        "min_training_studies",
        "min_item_agreement",
        "max_total_difference",
        "hidden_checks",
        "reread_fraction",
        "reread_interval_days",
    )

    class Meta:
        verbose_name_plural = _("calibration settings")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"], name="one_calibration_setting"
            )
        ]

    def __str__(self) -> str:
        return gettext("Calibration of %(project)s in %(version)s") % {
            "project": self.project,
            "version": self.version.key,
        }


class Certification(models.Model):
    """A reviewer met the project's threshold for a version, on these figures."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="certifications"
    )
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.PROTECT, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    certified_at = models.DateTimeField()
    # The figures and the threshold they met, as they stood at certification.
    figures = models.JSONField(default=dict)
    threshold = models.JSONField(default=dict)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "version", "reviewer"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version", "reviewer"], name="one_certificate"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(reviewer)s certified for %(version)s in %(project)s") % {
            "reviewer": self.reviewer,
            "version": self.version.key,
            "project": self.project,
        }


class Drill(models.Model):
    """A short passage and the question "does this satisfy item N?".

    For any instrument; the seeded ones quote openly licensed papers, so each
    keeps its source and licence to show beside it.
    """

    instrument = models.ForeignKey(
        Instrument, on_delete=models.CASCADE, related_name="drills"
    )
    item_code = models.CharField(max_length=40)
    passage = models.TextField()
    satisfies = models.BooleanField()
    reason = models.TextField()
    source_doi = models.CharField(_("source DOI"), max_length=200, blank=True)
    licence = models.CharField(max_length=100, blank=True)
    attribution = models.CharField(max_length=300, blank=True)
    # A stable name for re-seeding without duplicates.
    key = models.CharField(max_length=80, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["instrument", "position", "id"]
        indexes = [models.Index(fields=["instrument", "item_code"])]

    def __str__(self) -> str:
        return gettext("%(instrument)s item %(item)s: %(passage)s") % {
            "instrument": self.instrument.code,
            "item": self.item_code,
            "passage": self.passage[:40],
        }


class DrillAttempt(models.Model):
    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    answer = models.BooleanField()
    correct = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "drill"])]

    def __str__(self) -> str:
        if self.correct:
            text = gettext("%(user)s on %(drill)s: right")
        else:
            text = gettext("%(user)s on %(drill)s: wrong")
        return text % {"user": self.user, "drill": self.drill_id}
