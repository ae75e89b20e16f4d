"""Review projects, their members and their studies."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .instruments import InstrumentVersion


class Project(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("status", "Active")
        CLOSED = "closed", pgettext_lazy("status", "Closed")

    class Percent(models.TextChoices):
        RAW = "raw", _("Raw (may be negative)")
        FLOORED = "floored", _("Floored at 0")

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    instruments = models.ManyToManyField(  # type: ignore[var-annotated]
        InstrumentVersion, through="ProjectInstrument", related_name="projects"
    )
    reviewers_per_study = models.PositiveSmallIntegerField(default=2)
    blinding = models.BooleanField(default=True)
    percent_convention = models.CharField(
        max_length=8, choices=Percent.choices, default=Percent.RAW
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    # Bumped whenever an answer or status changes: dashboards and reports
    # compare it to tell a stored figure from a current one.
    data_revision = models.PositiveBigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewers_per_study__gte=1, reviewers_per_study__lte=10),
                name="reviewers_per_study_range",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def floor_percent(self) -> bool:
        return self.percent_convention == self.Percent.FLOORED


class ProjectInstrument(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    version = models.ForeignKey(InstrumentVersion, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"], name="unique_project_instrument"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(project)s uses %(version)s") % {
            "project": self.project,
            "version": self.version,
        }


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", pgettext_lazy("role", "Lead")
        REVIEWER = "reviewer", pgettext_lazy("role", "Reviewer")
        OBSERVER = "observer", pgettext_lazy("role", "Observer")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    adjudicator = models.BooleanField(
        default=False, help_text=_("May resolve disagreements in this project.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="unique_membership"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(user)s (%(role)s) in %(project)s") % {
            "user": self.user,
            "role": self.role,
            "project": self.project,
        }


# Links are rendered as links: web addresses only (never javascript: or data:).
WEB_ADDRESS = URLValidator(schemes=["http", "https"])


class Study(models.Model):
    class Track(models.TextChoices):
        HANDCRAFTED = "handcrafted", _("Handcrafted radiomics")
        DEEP_LEARNING = "deep_learning", _("Deep learning")
        BOTH = "both", _("Both")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="studies"
    )
    title = models.TextField()
    authors = models.TextField(blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    journal = models.CharField(max_length=300, blank=True)
    doi = models.CharField("DOI", max_length=200, blank=True)
    pmid = models.CharField("PMID", max_length=20, blank=True)
    abstract = models.TextField(blank=True)
    modality = models.CharField(max_length=100, blank=True)
    disease = models.CharField(_("disease / cancer site"), max_length=200, blank=True)
    clinical_task = models.CharField(max_length=200, blank=True)
    method_track = models.CharField(max_length=15, choices=Track.choices, blank=True)
    sample_size = models.PositiveIntegerField(null=True, blank=True)
    data_url = models.URLField(
        _("link to data"), max_length=500, blank=True, validators=[WEB_ADDRESS]
    )
    code_url = models.URLField(
        _("link to code"), max_length=500, blank=True, validators=[WEB_ADDRESS]
    )
    xnat_project = models.CharField(_("XNAT project"), max_length=200, blank=True)
    title_key = models.CharField(max_length=500, editable=False, db_index=True)
    excluded = models.BooleanField(default=False)
    exclusion_reason = models.TextField(blank=True)
    # Training studies calibrate reviewers against a reference: they never
    # appear in the review's dashboards, exports, agreement or reports.
    training = models.BooleanField(
        _("training study"),
        default=False,
        help_text=_("Used to train and check reviewers; kept out of the review."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["abstract"])

    class Meta:
        ordering = ["title"]
        verbose_name_plural = _("studies")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "doi"],
                condition=~Q(doi=""),
                name="unique_study_doi",
            ),
            models.UniqueConstraint(
                fields=["project", "pmid"],
                condition=~Q(pmid=""),
                name="unique_study_pmid",
            ),
            models.CheckConstraint(
                condition=Q(excluded=False) | ~Q(exclusion_reason=""),
                name="exclusion_needs_reason",
            ),
        ]
        indexes = [models.Index(fields=["project", "year"])]

    def __str__(self) -> str:
        return self.title[:80]

    @property
    def web_links(self) -> list[tuple[str, str]]:
        """(label, address) of the data and code links that are web addresses.

        Records stored before links were checked may hold other schemes.
        """
        links = [("data", self.data_url), ("code", self.code_url)]
        return [
            (label, url)
            for label, url in links
            if url.lower().startswith(("http://", "https://"))
        ]


class ConflictOfInterest(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conflicts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts"
    )
    reason = models.CharField(max_length=300, blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="unique_conflict")
        ]

    def __str__(self) -> str:
        return gettext("%(user)s declared a conflict on %(study)s") % {
            "user": self.user,
            "study": self.study,
        }


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def record(
        self,
        project_id: int | None,
        actor: Any,
        action: str,
        target: str,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Write one entry of a project's history (anonymous actors as none)."""
        return self.create(
            project_id=project_id,
            actor=actor if getattr(actor, "pk", None) else None,
            action=action,
            target=target[:300],
            detail=detail or {},
        )


class AuditEvent(models.Model):
    """Actions that change no single record: exports, downloads, reassignments."""

    project = models.ForeignKey(
        Project, null=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"
        )


class ReviewerCode(models.Model):
    """A reviewer's stable pseudonym in one project (R1, R2, ...), for exports
    shared with a paper; the key from code to person stays in the project."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="reviewer_codes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    code = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="one_code_per_reviewer"
            ),
            models.UniqueConstraint(fields=["project", "code"], name="unique_code"),
        ]

    def __str__(self) -> str:
        return gettext("%(code)s in %(project)s") % {
            "code": self.code,
            "project": self.project,
        }
