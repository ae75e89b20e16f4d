"""Django admin: instrument criteria editable as drafts, read-only once published."""

from __future__ import annotations

from typing import Any

import yaml
from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from .instruments import DefinitionError
from .instruments.definition import MAX_DEFINITION_BYTES, read_definition_text
from .models import (
    Assessment,
    AuditEvent,
    Condition,
    InstrumentVersion,
    Item,
    Membership,
    Option,
    Project,
    Section,
    Study,
)
from .services import catalogue


class DraftOnlyMixin:
    """Rows of a published or retired version are shown, never changed."""

    def _editable(self, obj: Any) -> bool:
        version = getattr(obj, "version", None) or getattr(obj, "item", None)
        if isinstance(obj, InstrumentVersion):
            version = obj
        elif isinstance(obj, Option):
            version = obj.item.version
        return version is None or version.is_editable

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (  # type: ignore[misc]
            obj is None or self._editable(obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (  # type: ignore[misc]
            obj is None or self._editable(obj)
        )


class DraftOnlyInline(DraftOnlyMixin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not self._editable(obj):
            return False
        return super().has_add_permission(request, obj)  # type: ignore[misc]


class SectionInline(DraftOnlyInline, admin.TabularInline):
    model = Section
    extra = 0
    fields = ("position", "code", "label", "help")


class ConditionInline(DraftOnlyInline, admin.TabularInline):
    model = Condition
    extra = 0
    fields = ("position", "code", "label", "options", "applies_when")


class ItemInline(DraftOnlyInline, admin.TabularInline):
    model = Item
    extra = 0
    fields = (
        "position",
        "section",
        "code",
        "label",
        "type",
        "weight",
        "essential",
        "stage",
        "applies_when",
    )
    show_change_link = True

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "section":
            # On the version's own page: the object id is the version's.
            version_id = _int_or_none(_object_id(request))
            kwargs["queryset"] = Section.objects.filter(version_id=version_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OptionInline(DraftOnlyInline, admin.TabularInline):
    model = Option
    extra = 0
    fields = ("position", "code", "label", "points", "requires")


def _object_id(request: HttpRequest) -> str | None:
    match = request.resolver_match
    return match.kwargs.get("object_id") if match else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _require(*allowed: bool) -> None:
    """Custom admin views pass only `is_staff`; the model permission is ours."""
    if not all(allowed):
        raise PermissionDenied


class SectionChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Sections of several drafts look alike; name the version too."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.version.key}: {obj}"


class ImportDefinitionForm(forms.Form):
    file = forms.FileField(
        help_text=(
            f"A definition file (YAML or JSON), at most {MAX_DEFINITION_BYTES:,} "
            "bytes. YAML aliases are expanded; NaN and infinity are refused."
        )
    )

    def clean_file(self) -> dict[str, Any]:
        """The parsed document; every problem is reported on the field."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DEFINITION_BYTES:
            raise ValidationError(
                f"The file is {upload.size:,} bytes; definition files are limited "
                f"to {MAX_DEFINITION_BYTES:,} bytes."
            )
        try:
            text = upload.read(MAX_DEFINITION_BYTES + 1).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError("The file is not UTF-8 text.") from exc
        is_json = upload.name.lower().endswith(".json")
        try:
            return read_definition_text(text, json_format=is_json)
        except DefinitionError as exc:
            raise ValidationError(
                [f"Not a readable definition: {p}" for p in exc.problems]
            ) from exc


class CompareForm(forms.Form):
    left = forms.ModelChoiceField(InstrumentVersion.objects.all())
    right = forms.ModelChoiceField(InstrumentVersion.objects.all())


class NewDraftForm(forms.Form):
    new_version = forms.CharField(max_length=20, help_text="e.g. 1.1")


@admin.register(InstrumentVersion)
class InstrumentVersionAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "status",
        "revision",
        "kind",
        "needs_check",
        "published_at",
    )
    list_filter = ("status", "kind", "instrument")
    inlines = [SectionInline, ConditionInline, ItemInline]
    # Status changes only through the actions, which validate (a draft set to
    # "published" by hand would break the frozen-definition constraint).
    readonly_fields = (
        "status",
        "scoring_hash",
        "published_at",
        "retired_at",
        "based_on",
    )
    actions = ["publish", "retire", "export"]
    change_list_template = "admin/assessments/instrumentversion/change_list.html"

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="assessments_instrumentversion_import",
            ),
            path(
                "compare/",
                self.admin_site.admin_view(self.compare_view),
                name="assessments_instrumentversion_compare",
            ),
            path(
                "<int:pk>/new-draft/",
                self.admin_site.admin_view(self.new_draft_view),
                name="assessments_instrumentversion_newdraft",
            ),
        ]
        return extra + super().get_urls()

    @admin.action(description="Publish (validates first)", permissions=["change"])
    def publish(
        self, request: HttpRequest, queryset: QuerySet[InstrumentVersion]
    ) -> None:
        for version in queryset:
            try:
                catalogue.publish_version(version=version)
            except ValidationError as exc:
                for message in exc.messages:
                    self.message_user(
                        request, f"{version.key}: {message}", messages.ERROR
                    )
            else:
                self.message_user(request, f"{version.key} published.")

    @admin.action(description="Retire", permissions=["change"])
    def retire(
        self, request: HttpRequest, queryset: QuerySet[InstrumentVersion]
    ) -> None:
        for version in queryset:
            try:
                catalogue.retire_version(version=version)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    @admin.action(description="Export the definition file (YAML)", permissions=["view"])
    def export(
        self, request: HttpRequest, queryset: QuerySet[InstrumentVersion]
    ) -> HttpResponse:
        version = queryset.first()
        assert version is not None
        doc = version.definition or catalogue.document_from_rows(version)
        response = HttpResponse(
            yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
            content_type="application/yaml",
        )
        response["Content-Disposition"] = f'attachment; filename="{version.key}.yaml"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        # Loading creates versions and may replace drafts or reword published ones.
        _require(self.has_add_permission(request), self.has_change_permission(request))
        form = ImportDefinitionForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = catalogue.load_definition(form.cleaned_data["file"])
            except DefinitionError as exc:
                form.add_error("file", f"Not a readable definition: {exc}")
            except ValidationError as exc:  # e.g. a published file failing checks
                form.add_error("file", exc)
            else:
                level = messages.ERROR if outcome.action == "error" else messages.INFO
                self.message_user(request, f"{outcome.key}: {outcome.action}", level)
                for line in outcome.messages:
                    self.message_user(request, line, level)
                if outcome.action != "error":
                    return HttpResponseRedirect(
                        reverse("admin:assessments_instrumentversion_changelist")
                    )
        return render(
            request,
            "admin/assessments/instrument_form.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "title": "Import a definition file",
            },
        )

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        _require(self.has_view_permission(request))
        form = CompareForm(request.GET or None)
        lines: list[str] | None = None
        if form.is_valid():
            lines = catalogue.compare_versions(
                form.cleaned_data["left"], form.cleaned_data["right"]
            )
        return render(
            request,
            "admin/assessments/instrument_form.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "method": "get",
                "lines": lines,
                "title": "Compare two versions",
            },
        )

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require(self.has_add_permission(request))
        version = get_object_or_404(InstrumentVersion, pk=pk)
        form = NewDraftForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                draft = catalogue.new_draft_from(
                    version=version, new_version=form.cleaned_data["new_version"]
                )
            except ValidationError as exc:
                form.add_error("new_version", exc)
            else:
                return HttpResponseRedirect(
                    reverse(
                        "admin:assessments_instrumentversion_change", args=[draft.pk]
                    )
                )
        return render(
            request,
            "admin/assessments/instrument_form.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "title": f"New draft from {version.key}",
            },
        )


@admin.register(Item)
class ItemAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("code", "label", "version", "type")
    list_filter = ("version",)
    inlines = [OptionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Moving an item would leave its section in the version it came from.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "version") if obj is not None else fields

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        # New items only go into drafts.
        if db_field.name == "version":
            kwargs["queryset"] = InstrumentVersion.objects.filter(status="draft")
        if db_field.name == "section":
            kwargs["queryset"] = self._section_choices(request)
            kwargs["form_class"] = SectionChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _section_choices(self, request: HttpRequest) -> QuerySet[Section]:
        """The item's own version's sections; for a new item, the chosen draft's.

        The queryset is also what the posted section is validated against, so
        a section of another version is refused even when forged.
        """
        sections = Section.objects.select_related("version__instrument")
        object_id = _object_id(request)
        if object_id is not None:
            item = self.get_object(request, unquote(object_id))
            return sections.filter(version_id=item.version_id if item else None)
        drafts = sections.filter(version__status=InstrumentVersion.Status.DRAFT)
        chosen = _int_or_none(request.POST.get("version") or request.GET.get("version"))
        return drafts.filter(version_id=chosen) if chosen else drafts


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
            _require(self.has_change_history_permission(request, obj))
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

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(
        self, request: HttpRequest, queryset: QuerySet[AccessAttempt]
    ) -> None:
        request.axes_attempt_time = timezone.now()  # type: ignore[attr-defined]
        super().cleanup_expired_attempts(request, queryset)


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, AccessAttemptAdmin)
