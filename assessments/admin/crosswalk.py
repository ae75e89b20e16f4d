"""The crosswalk admin: a draft is edited as YAML, checked on save against the
loaded instrument versions; published and retired ones are read-only."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..instruments.crosswalk import CrosswalkError, read_crosswalk_text
from ..models import Crosswalk
from ..services.crosswalk import checked_crosswalk
from ..words import in_words


def as_yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=88)


class CrosswalkForm(forms.ModelForm):  # type: ignore[type-arg]
    document_text = forms.CharField(
        label=_("Crosswalk (YAML)"),
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100}),
        help_text=_(
            "Concepts with the items of each instrument version that address "
            "them; every item must exist in the loaded version."
        ),
    )

    class Meta:
        model = Crosswalk
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new crosswalk starts from the one in use: edit, give a new version.
        source = self.instance if self.instance.pk else Crosswalk.objects.current()
        if source is not None and not self.is_bound:
            self.initial["document_text"] = as_yaml(source.document)

    def clean_document_text(self) -> dict[str, Any]:
        try:
            doc = read_crosswalk_text(self.cleaned_data["document_text"])
            doc["status"] = self.instance.status if self.instance.pk else "draft"
            checked_crosswalk(doc)
        except CrosswalkError as exc:
            raise ValidationError(in_words(exc.problems, gettext)) from exc
        version = str(doc.get("version"))
        taken = Crosswalk.objects.filter(version=version).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                gettext(
                    "Version %(version)s exists already; give this crosswalk its own."
                )
                % {"version": version}
            )
        return doc

    def save(self, commit: bool = True) -> Crosswalk:
        doc = self.cleaned_data["document_text"]
        self.instance.version = str(doc["version"])
        self.instance.note = str(doc.get("note") or "")
        self.instance.document = doc
        return super().save(commit)  # type: ignore[no-any-return]


@admin.register(Crosswalk)
class CrosswalkAdmin(admin.ModelAdmin):
    form = CrosswalkForm
    list_display = ("__str__", "version", "status", "concept_count", "updated_at")
    list_filter = ("status",)
    readonly_fields = ("version", "status", "note", "created_at", "updated_at")
    actions = ["publish", "retire"]

    @admin.display(description=_("Concepts"))
    def concept_count(self, obj: Crosswalk) -> int:
        return len(obj.document.get("concepts") or [])

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status != Crosswalk.Status.DRAFT:
            return (*self.readonly_fields, "document_shown")
        return (*self.readonly_fields, "document_text")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status != Crosswalk.Status.DRAFT:
            return (*self.readonly_fields, "document_shown")
        return self.readonly_fields

    @admin.display(description=_("Crosswalk (YAML)"))
    def document_shown(self, obj: Crosswalk) -> str:
        return as_yaml(obj.document)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        editable = obj is None or obj.status == Crosswalk.Status.DRAFT
        return super().has_change_permission(request, obj) and editable

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        editable = obj is None or obj.status == Crosswalk.Status.DRAFT
        return super().has_delete_permission(request, obj) and editable

    @admin.action(description=_("Publish (checks first)"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Crosswalk]) -> None:
        for row in queryset.filter(status=Crosswalk.Status.DRAFT):
            doc = {**row.document, "status": Crosswalk.Status.PUBLISHED.value}
            try:
                checked_crosswalk(doc)
            except CrosswalkError as exc:
                for problem in in_words(exc.problems, gettext):
                    self.message_user(request, f"{row}: {problem}", messages.ERROR)
                continue
            row.status, row.document = Crosswalk.Status.PUBLISHED, doc
            row.save(update_fields=["status", "document", "updated_at"])
            self.message_user(
                request,
                gettext("Crosswalk %(version)s published.") % {"version": row.version},
            )

    @admin.action(description=_("Retire"), permissions=["change"])
    def retire(self, request: HttpRequest, queryset: QuerySet[Crosswalk]) -> None:
        for row in queryset.filter(status=Crosswalk.Status.PUBLISHED):
            row.status = Crosswalk.Status.RETIRED.value
            row.document = {**row.document, "status": row.status}
            row.save(update_fields=["status", "document", "updated_at"])
            self.message_user(
                request,
                gettext("Crosswalk %(version)s retired.") % {"version": row.version},
            )
