"""What every admin of ours shares: drafts are editable, published rows are not."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext

from ..models import InstrumentVersion, Option
from ..words import in_words


class ReadOnlyMixin:
    """Shown in the admin, changed only where the app records who and why."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


class LabelledInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        # The "Delete?" column heads checkboxes that carry no label of their own.
        if "DELETE" in form.fields:
            if index is None:
                label = gettext("Delete new row")
            else:
                label = gettext("Delete row %(number)d") % {"number": index + 1}
            form.fields["DELETE"].widget.attrs["aria-label"] = label


class DraftOnlyInline(DraftOnlyMixin):
    formset: Any = LabelledInlineFormSet

    def formfield_for_dbfield(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        # A tabular inline heads its columns but labels no input: a screen
        # reader would hear "edit text" 130 times on a draft's page.
        if field is not None:
            field.widget.attrs.setdefault(
                "aria-label", str(db_field.verbose_name).capitalize()
            )
        return field

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not self._editable(obj):
            return False
        return super().has_add_permission(request, obj)  # type: ignore[misc]


def object_id(request: HttpRequest) -> str | None:
    match = request.resolver_match
    return match.kwargs.get("object_id") if match else None


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def messages_of(exc: ValidationError) -> list[str]:
    """A ValidationError's messages in the reader's language.

    The catalogue refuses in Phrases, which `exc.messages` would turn back
    into plain English: each message is translated here instead.
    """
    if hasattr(exc, "error_dict"):
        return list(exc.messages)
    shown = []
    for error in exc.error_list:
        message = str(in_words(error.message, gettext))
        shown.append(message % error.params if error.params else message)
    return shown


def require(*allowed: bool) -> None:
    """Custom admin views pass only `is_staff`; the model permission is ours."""
    if not all(allowed):
        raise PermissionDenied
