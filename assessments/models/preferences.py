"""Per-person settings that belong to no project: which e-mails they receive."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

Prefs = TypeVar("Prefs", "NotificationPreferences", "ReadingPreferences")


def saved_or_default(model: type[Prefs], user: Any) -> Prefs:
    """A person's row of preferences, or unsaved defaults when there is none."""
    found = model.objects.filter(user_id=user.pk).first()
    return found or model(user_id=user.pk)


class NotificationPreferences(models.Model):
    """Which notification e-mails one person receives; no row means all of them."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("A study is assigned to me")
        REOPENED = "reopened", _("One of my assessments is reopened")
        CONSENSUS_NEEDED = (
            "consensus_needed",
            _("Reviewers disagree and a consensus is needed (leads, adjudicators)"),
        )
        REPORT_READY = "report_ready", _("A report I asked for is ready")

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
        verbose_name = _("notification preferences")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return gettext("E-mail notifications of %(user)s") % {"user": self.user}

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
        _("Show where the paper may address each item"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reading preferences")
        verbose_name_plural = _("reading preferences")

    def __str__(self) -> str:
        return gettext("Reading preferences of %(user)s") % {"user": self.user}

    @classmethod
    def of(cls, user: Any) -> ReadingPreferences:
        return saved_or_default(cls, user)


class LanguagePreference(models.Model):
    """The language one person chose for the interface and their reports.

    Kept with the account so the choice follows the person to every device;
    copied into the session at login, so no request reads it from here.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="language_preference",
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("language preference")

    def __str__(self) -> str:
        return f"{self.user}: {self.get_language_display()}"
