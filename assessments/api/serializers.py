"""Output shapes: what the API returns, and what its OpenAPI document says.

Codes (status, kind, role) come with their labels beside them, so a script
can keep the code and a person can read the label.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import access
from ..models import Answer, InstrumentVersion, Project, Report, Resolution, Study
from ..selectors.reports import report_stage
from ..selectors.studies import STATE_NAMES


class VersionSummary(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    instrument = serializers.CharField(source="instrument.name", read_only=True)
    # A plain string: a second "status" enum would collide with the project's.
    status = serializers.CharField(
        read_only=True, help_text="published or retired (drafts are not listed)."
    )

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


# --- studies -------------------------------------------------------------------------


class StudySummary(serializers.ModelSerializer):
    """A study as the study list shows it; `state` is that of one instrument
    version, and null where the reader's own review of the study is open."""

    state = serializers.SerializerMethodField()
    state_label = serializers.SerializerMethodField()
    has_paper = serializers.BooleanField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Study
        fields = [
            "uuid",
            "title",
            "authors",
            "year",
            "journal",
            "doi",
            "pmid",
            "modality",
            "disease",
            "clinical_task",
            "method_track",
            "sample_size",
            "data_url",
            "code_url",
            "excluded",
            "exclusion_reason",
            "training",
            "state",
            "state_label",
            "has_paper",
            "created_at",
            "updated_at",
        ]

    def get_state(self, study: Study) -> str | None:
        """unassigned, assigned, in_progress, submitted, in_consensus, final or
        excluded; null while your own review of the study is open."""
        if getattr(study, "state_hidden", False):
            return None
        return getattr(study, "state", None)

    def get_state_label(self, study: Study) -> str | None:
        state = self.get_state(study)
        return STATE_NAMES.get(state, state) if state else None

    def to_representation(self, instance: Study) -> dict[str, Any]:
        data = super().to_representation(instance)
        # A hidden check must look like any other study: only leads learn
        # which studies are for training.
        if not self.context.get("sees_training"):
            data.pop("training", None)
        return data


class AssessmentBrief(serializers.Serializer):
    uuid = serializers.UUIDField()
    version = serializers.CharField(source="version.key")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    reviewer = serializers.CharField(
        source="reviewer.username", allow_null=True, default=None
    )
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    total = serializers.FloatField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    band = serializers.CharField()


class StudyDetail(StudySummary):
    assessments = serializers.SerializerMethodField()

    class Meta(StudySummary.Meta):
        fields = [*StudySummary.Meta.fields, "abstract", "xnat_project", "assessments"]

    @extend_schema_field(AssessmentBrief(many=True))
    def get_assessments(self, study: Study) -> Any:
        """The assessments of the study whose answers you may see."""
        rows = self.context.get("assessments", [])
        return AssessmentBrief(rows, many=True).data


# --- assessments and their answers -------------------------------------------------


class AnswerRow(serializers.Serializer):
    item = serializers.CharField(source="item_code", help_text="The item's code.")
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)
    evidence = serializers.CharField()
    page = serializers.CharField()
    comment = serializers.CharField()
    quotes = serializers.ListField(child=serializers.DictField())
    revision = serializers.IntegerField()
    points = serializers.FloatField(allow_null=True)
    updated_at = serializers.DateTimeField()


class Score(serializers.Serializer):
    total = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    band = serializers.CharField()
    complete = serializers.BooleanField()
    result = serializers.DictField(help_text="The scoring engine's full result.")


class Person(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")


class AssessmentFull(serializers.Serializer):
    """An assessment with its answers inline and its score."""

    uuid = serializers.UUIDField()
    study = serializers.UUIDField(source="study.uuid")
    version = serializers.CharField(source="version.key")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    reviewer = Person(allow_null=True, help_text="Null for a consensus.")
    revision = serializers.IntegerField()
    score = Score(source="*")
    answers = AnswerRow(many=True, source="answers.all")
    submitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    @staticmethod
    def prefetch(assessments: Any) -> Any:
        return assessments.select_related(
            "study", "reviewer", "version__instrument"
        ).prefetch_related(Prefetch("answers", queryset=Answer.objects.order_by("id")))


class ResolutionRow(serializers.Serializer):
    """How one item was settled. Which reviewer answered what is left out: the
    consensus page shows it only to those who may see every reviewer's work."""

    item = serializers.CharField(source="item_code")
    agreed = serializers.BooleanField(help_text="The reviewers agreed on the item.")
    choices = serializers.ListField(
        child=serializers.CharField(), help_text="The decided choices."
    )
    rationale = serializers.CharField()
    resolved_by = serializers.CharField(
        source="resolved_by.username", allow_null=True, default=None
    )
    resolved_at = serializers.DateTimeField()
    revision = serializers.IntegerField()


class ConsensusFull(AssessmentFull):
    resolutions = ResolutionRow(many=True, source="resolutions.all")

    @staticmethod
    def prefetch(assessments: Any) -> Any:
        return AssessmentFull.prefetch(assessments).prefetch_related(
            Prefetch(
                "resolutions",
                queryset=Resolution.objects.select_related("resolved_by").order_by(
                    "id"
                ),
            )
        )


# --- figures and reports -------------------------------------------------------------


class DashboardOut(serializers.Serializer):
    version = serializers.CharField()
    computed_at = serializers.DateTimeField()
    figures = serializers.DictField(
        help_text="Progress, scores, item adherence or judgements: only the "
        "studies whose results you may see."
    )


class ReportSummary(serializers.Serializer):
    uuid = serializers.UUIDField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    version = serializers.CharField(source="version.key")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    stage = serializers.SerializerMethodField()
    progress = serializers.IntegerField(help_text="Percent done.")
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download = serializers.SerializerMethodField()

    def get_stage(self, report: Report) -> str:
        """What the worker is doing, in words."""
        return report_stage(report.status, report.progress)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download(self, report: Report) -> str | None:
        """The PDF's address, once it is ready and you may download it."""
        if report.status != Report.Status.DONE or not report.file:
            return None
        if not access.may_download(self.context["request"].user, report):
            return None
        path = reverse(
            "api-report-file",
            kwargs={"slug": report.project.slug, "report": report.uuid},
        )
        return str(self.context["request"].build_absolute_uri(path))
