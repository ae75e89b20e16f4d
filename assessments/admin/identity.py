"""Institutional sign-ins, shown read-only: the provider decides who a person is."""

from __future__ import annotations

from django.contrib import admin

from ..models import ExternalIdentity
from .base import ReadOnlyMixin


# Read-only: rows are made by signing in, and an edited subject would hand
# the account to another person at the provider.
@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "protocol", "issuer", "subject", "last_login_at")
    list_filter = ("protocol", "issuer")
    search_fields = ("user__username", "user__email", "subject")
    list_select_related = ("user",)
