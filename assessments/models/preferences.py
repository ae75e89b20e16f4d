"""Per-person settings that belong to no project: which e-mails they receive."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db import models

Prefs = TypeVar("Prefs", "NotificationPreferences", "ReadingPreferences")


def saved_or_default(model: type[Prefs], user: Any) -> Prefs:
    """A person's row of preferences, or unsaved defaults when there is none."""
    found = model.objects.filter(user_id=user.pk).first()
    return found or model(user_id=user.pk)


class NotificationPreferences(models.Model):
    """Which notification e-mails one person receives; no row means all of them."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "A study is assigned to me"
        REOPENED = "reopened", "One of my assessments is reopened"
        CONSENSUS_NEEDED = (
            "consensus_needed",
            "Reviewers disagree and a consensus is needed (leads, adjudicators)",
        )
        REPORT_READY = "report_ready", "A report I asked for is ready"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    assigned = models.BooleanField(Kind.ASSIGNED.label, default=True)
    reopened = models.BooleanField(Kind.REOPENED.label, default=True)
    consensus_needed = models.BooleanField(Kind.CONSENSUS_NEEDED.label, default=True)
    report_ready = models.BooleanField(Kind.REPORT_READY.label, default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification preferences"
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"E-mail notifications of {self.user}"

    @classmethod
    def of(cls, user: Any) -> NotificationPreferences:
        """The user's preferences, unsaved defaults when they never changed them."""
        return saved_or_default(cls, user)

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))


class ReadingPreferences(models.Model):
    """How one person reads papers beside the form; no row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reading_preferences",
    )
    # "Where the paper may say this" under each item; some reviewers would
    # rather not be steered at all, so it can be switched off.
    evidence_finder = models.BooleanField(
        "Show where the paper may address each item", default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "reading preferences"
        verbose_name_plural = "reading preferences"

    def __str__(self) -> str:
        return f"Reading preferences of {self.user}"

    @classmethod
    def of(cls, user: Any) -> ReadingPreferences:
        return saved_or_default(cls, user)
