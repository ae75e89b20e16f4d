"""Output shapes: what the API returns, and what its OpenAPI document says.

Codes (status, kind, role) come with their labels beside them, so a script
can keep the code and a person can read the label.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .. import access
from ..models import InstrumentVersion, Project


class VersionSummary(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    instrument = serializers.CharField(source="instrument.name", read_only=True)

    class Meta:
        model = InstrumentVersion
        fields = [
            "key",
            "instrument",
            "name",
            "short_name",
            "version",
            "kind",
            "status",
            "revision",
            "citation",
            "doi",
            "needs_check",
            "published_at",
        ]


class VersionDetail(VersionSummary):
    """With the frozen definition: the items, options and points scored."""

    class Meta(VersionSummary.Meta):
        fields = [*VersionSummary.Meta.fields, "licence", "note", "definition"]


class ProjectSummary(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    instruments = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "description",
            "status",
            "blinding",
            "reviewers_per_study",
            "role",
            "instruments",
            "created_at",
        ]

    def get_role(self, project: Project) -> str | None:
        """Your role here: lead, reviewer or observer (staff see every project)."""
        member = access.membership(self.context["request"].user, project)
        return member.role if member else None

    def get_instruments(self, project: Project) -> list[str]:
        """The keys of the project's instrument versions, in the project's order."""
        return [v.key for v in project.instruments.all()]

    @staticmethod
    def prefetch(projects: Any) -> Any:
        return projects.prefetch_related("instruments__instrument").order_by("slug")
