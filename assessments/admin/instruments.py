"""The instrument admin: drafts edited as rows, published versions read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import Condition, InstrumentVersion, Item, Option, Section
from ..services import catalogue
from ..words import in_words
from .base import (
    DraftOnlyInline,
    DraftOnlyMixin,
    int_or_none,
    messages_of,
    object_id,
)
from .forms import ConditionForm, ItemForm, SectionChoiceField
from .pages import VersionPagesMixin


class SectionInline(DraftOnlyInline, admin.TabularInline):
    model = Section
    extra = 0
    fields = ("position", "code", "label", "help")


class ConditionInline(DraftOnlyInline, admin.TabularInline):
    model = Condition
    form = ConditionForm
    extra = 0
    fields = ("position", "code", "label", "options", "applies_when", "evidence_hints")


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
            version_id = int_or_none(object_id(request))
            kwargs["queryset"] = Section.objects.filter(version_id=version_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OptionInline(DraftOnlyInline, admin.TabularInline):
    model = Option
    extra = 0
    fields = ("position", "code", "label", "points", "requires")


@admin.register(InstrumentVersion)
class InstrumentVersionAdmin(
    VersionPagesMixin,
    DraftOnlyMixin,
    admin.ModelAdmin,
):
    list_display = (
        "__str__",
        "key",
        "status",
        "revision",
        "kind",
        "needs_check",
        "modified_from_display",
        "published_at",
    )
    list_filter = ("status", "kind", "instrument")
    list_select_related = ("instrument",)
    inlines = [SectionInline, ConditionInline, ItemInline]
    # Status changes only through the actions, which validate (a draft set to
    # "published" by hand would break the frozen-definition constraint).
    readonly_fields = (
        "status",
        "origin",
        "scoring_hash",
        "published_at",
        "retired_at",
    )
    actions = ["publish", "retire", "export"]
    change_list_template = "admin/assessments/instrumentversion/change_list.html"

    def get_urls(self) -> list[Any]:
        pages: list[tuple[str, Callable[..., HttpResponse], str]] = [
            ("import/", self.import_view, "import"),
            ("compare/", self.compare_view, "compare"),
            ("<int:pk>/new-draft/", self.new_draft_view, "newdraft"),
            ("<int:pk>/points/", self.points_view, "points"),
            ("<int:pk>/preview/", self.preview_view, "preview"),
        ]
        extra = [
            path(
                route,
                self.admin_site.admin_view(view),
                name=f"assessments_instrumentversion_{name}",
            )
            for route, view, name in pages
        ]
        return extra + super().get_urls()

    @admin.display(description=_("Key"))
    def key(self, obj: InstrumentVersion) -> str:
        return obj.key

    @admin.display(description=_("Modified from"))
    def modified_from_display(self, obj: InstrumentVersion) -> str:
        return obj.modified_from or "—"

    @admin.display(description=_("Made from"))
    def origin(self, obj: InstrumentVersion) -> str:
        """Where a version came from, and what that means for its name."""
        if obj.modified_from:
            return gettext(
                "Modified from %(original)s: shown so wherever it appears."
            ) % {"original": obj.modified_from}
        if obj.based_on_id is None:
            return "—"
        try:
            derivation = catalogue.derivation_of(obj)
        except ValidationError as exc:
            return " ".join(messages_of(exc))
        words = derivation.original_words or str(obj.based_on)
        if not obj.is_editable:
            return gettext("An unchanged copy of %(original)s.") % {"original": words}
        if derivation.modified:
            # Translators: changes is "in scoring", "in wording" or both.
            return gettext(
                "A copy of %(original)s that differs %(changes)s: it will be "
                "published as modified from %(original)s, under a name and "
                "citation of its own."
            ) % {"original": words, "changes": in_words(derivation.summary(), gettext)}
        return gettext(
            "A copy of %(original)s, unchanged so far: it may keep the name."
        ) % {"original": words}

    @admin.action(description=_("Publish (validates first)"), permissions=["change"])
    def publish(
        self, request: HttpRequest, queryset: QuerySet[InstrumentVersion]
    ) -> None:
        for version in queryset.select_related("instrument"):
            try:
                catalogue.publish_version(version=version)
            except ValidationError as exc:
                for message in messages_of(exc):
                    self.message_user(request, f"{version}: {message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("%(version)s published.")
                    % {"version": catalogue.version_words(version)},
                )

    @admin.action(description=_("Retire"), permissions=["change"])
    def retire(
        self, request: HttpRequest, queryset: QuerySet[InstrumentVersion]
    ) -> None:
        for version in queryset:
            try:
                catalogue.retire_version(version=version)
            except ValidationError as exc:
                self.message_user(request, "; ".join(messages_of(exc)), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("%(version)s retired.")
                    % {"version": catalogue.version_words(version)},
                )

    @admin.action(
        description=_("Export the definition file (YAML)"), permissions=["view"]
    )
    def export(
        self, request: HttpRequest, queryset: QuerySet[InstrumentVersion]
    ) -> HttpResponse:
        version = queryset.select_related("instrument").first()
        assert version is not None  # the admin runs actions on a selection only
        doc = version.definition or catalogue.document_from_rows(version)
        response = HttpResponse(
            yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
            content_type="application/yaml",
        )
        response["Content-Disposition"] = f'attachment; filename="{version.key}.yaml"'
        return response


@admin.register(Item)
class ItemAdmin(DraftOnlyMixin, admin.ModelAdmin):
    form = ItemForm
    list_display = ("code", "label", "version", "type")
    list_filter = ("version",)
    list_select_related = ("version",)
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
        found = object_id(request)
        if found is not None:
            item = self.get_object(request, unquote(found))
            return sections.filter(version_id=item.version_id if item else None)
        drafts = sections.filter(version__status=InstrumentVersion.Status.DRAFT)
        chosen = int_or_none(request.POST.get("version") or request.GET.get("version"))
        return drafts.filter(version_id=chosen) if chosen else drafts
