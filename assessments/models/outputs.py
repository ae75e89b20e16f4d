"""What leads take away: stored dashboard figures and generated reports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .instruments import InstrumentVersion
from .projects import Project, Study


class DashboardSnapshot(models.Model):
    """The unfiltered dashboard of one project and instrument version, as computed."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.CASCADE, related_name="+"
    )
    data_revision = models.PositiveBigIntegerField()
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"], name="one_snapshot_per_dashboard"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(project)s / %(version)s at revision %(revision)s") % {
            "project": self.project,
            "version": self.version.key,
            "revision": self.data_revision,
        }


class Report(models.Model):
    class Kind(models.TextChoices):
        ASSESSMENT = "assessment", _("Assessment report")
        STUDY = "study", _("Study report")
        PROJECT = "project", _("Project report")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("status", "Queued")
        RUNNING = "running", pgettext_lazy("status", "Rendering")
        DONE = "done", pgettext_lazy("status", "Ready")
        FAILED = "failed", pgettext_lazy("status", "Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="reports"
    )
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    assessment = models.ForeignKey(
        "Assessment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    options = models.JSONField(default=dict, blank=True)
    # What the file was made from: data, the requester's view under blinding,
    # options and renderer version. The same fingerprint reuses the file.
    fingerprint = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "started_at"])]

    def __str__(self) -> str:
        return gettext("%(kind)s %(uuid)s (%(status)s)") % {
            "kind": self.get_kind_display(),
            "uuid": self.uuid,
            "status": self.status,
        }
