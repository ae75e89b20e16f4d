"""Admins of calibration: drills are content admins edit; references,
settings and certificates are records, read here and changed in the app."""

from __future__ import annotations

from django.contrib import admin

from ..models import CalibrationSettings, Certification, Drill, Reference
from .base import ReadOnlyMixin
from .records import HistoryAdmin


@admin.register(Drill)
class DrillAdmin(admin.ModelAdmin):
    list_display = ("instrument", "item_code", "satisfies", "source_doi", "licence")
    list_filter = ("instrument", "satisfies", "licence")
    search_fields = ("passage", "item_code", "source_doi")


class ReadOnlyHistoryAdmin(ReadOnlyMixin, HistoryAdmin):
    """Changed through the app's workflows, which audit them; shown here."""


@admin.register(Reference)
class ReferenceAdmin(ReadOnlyHistoryAdmin):
    list_display = ("study", "version", "expert", "current", "created_at")
    list_filter = ("current", "version")


@admin.register(CalibrationSettings)
class CalibrationSettingsAdmin(ReadOnlyHistoryAdmin):
    list_display = ("project", "version", "certification", "reread_fraction")


@admin.register(Certification)
class CertificationAdmin(ReadOnlyHistoryAdmin):
    list_display = ("project", "version", "reviewer", "certified_at")
    list_filter = ("project", "version")
