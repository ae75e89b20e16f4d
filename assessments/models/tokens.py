"""Personal access tokens for the REST API.

The database keeps a SHA-256 digest of each token, never the token: it is
shown once, when made. Tokens are 256 random bits, so a fast digest is as good
as a slow password hash here and costs nothing per request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .projects import Project

PREFIX = "rqs_"
MAX_DAYS = 366


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def by_raw(self, raw: str) -> ApiToken | None:
        if not raw.startswith(PREFIX):
            return None
        return self.live().select_related("user").filter(key_hash=digest(raw)).first()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, to tell tokens apart on the page; not enough to use.
    hint = models.CharField(max_length=12, editable=False)
    projects = models.ManyToManyField(Project, related_name="+")
    write = models.BooleanField(
        _("Read and write"),
        default=False,
        help_text=_("Without it the token only reads."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}...)"

    @classmethod
    def make(
        cls, *, user: Any, name: str, days: int, write: bool
    ) -> tuple[ApiToken, str]:
        """A new token and its one-time raw value; the caller adds projects."""
        raw = PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            key_hash=digest(raw),
            hint=raw[: len(PREFIX) + 6],
            write=write,
            expires_at=timezone.now() + timedelta(days=days),
        )
        return token, raw

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
