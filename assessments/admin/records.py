"""Admins of the workflow records: projects, members, studies, assessments, audit."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from ..models import Assessment, AuditEvent, Membership, Project, Study
from .base import require


class HistoryAdmin(SimpleHistoryAdmin):
    """simple_history's revert form saves for anyone who may view the history."""

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            require(self.has_change_history_permission(request, obj))
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Project)
class ProjectAdmin(HistoryAdmin):
    list_display = ("name", "slug", "status", "reviewers_per_study", "blinding")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Membership)
class MembershipAdmin(HistoryAdmin):
    list_display = ("project", "user", "role", "adjudicator")
    list_filter = ("project", "role")


@admin.register(Study)
class StudyAdmin(HistoryAdmin):
    list_display = ("title", "project", "year", "doi", "excluded")
    list_filter = ("project",)
    search_fields = ("title", "doi", "pmid")


@admin.register(Assessment)
class AssessmentAdmin(HistoryAdmin):
    list_display = ("study", "version", "kind", "reviewer", "status", "total")
    list_filter = ("status", "kind", "version")
    readonly_fields = [f.name for f in Assessment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target", "project")
    list_filter = ("action",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """django-axes declares its clean-up action without a permission.

    Its handler also reads the attempt time that only a login request carries,
    so the action would fail with a 500 from the admin.
    """

    actions = ["cleanup_expired_attempts"]

    @admin.action(description=_("Clean up expired attempts"), permissions=["delete"])
    def cleanup_expired_attempts(
        self, request: HttpRequest, queryset: QuerySet[AccessAttempt]
    ) -> None:
        request.axes_attempt_time = timezone.now()  # type: ignore[attr-defined]
        super().cleanup_expired_attempts(request, queryset)


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, AccessAttemptAdmin)
