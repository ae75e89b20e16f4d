"""Forms of the instrument admin's own pages and rows: import, compare, new
draft, points, and an item's search hints."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ..instruments import DefinitionError
from ..instruments.definition import MAX_DEFINITION_BYTES, read_definition_text
from ..models import Condition, InstrumentVersion, Item
from ..models.instruments import plain_number
from ..words import in_words


class SectionChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Sections of several drafts look alike; name the version too."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.version.key}: {obj}"


def _definition_help() -> str:
    return gettext(
        "A definition file (YAML or JSON), at most %(limit)s bytes. YAML aliases "
        "are expanded; NaN and infinity are refused."
    ) % {"limit": f"{MAX_DEFINITION_BYTES:,}"}


class ImportDefinitionForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=lazy(_definition_help, str)())

    def clean_file(self) -> dict[str, Any]:
        """The parsed document; every problem is reported on the field."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DEFINITION_BYTES:
            raise ValidationError(
                gettext(
                    "The file is %(size)s bytes; definition files are limited "
                    "to %(limit)s bytes."
                )
                % {"size": f"{upload.size:,}", "limit": f"{MAX_DEFINITION_BYTES:,}"}
            )
        try:
            text = upload.read(MAX_DEFINITION_BYTES + 1).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(gettext("The file is not UTF-8 text.")) from exc
        is_json = upload.name.lower().endswith(".json")
        try:
            return read_definition_text(text, json_format=is_json)
        except DefinitionError as exc:
            raise ValidationError([not_readable(p) for p in exc.problems]) from exc


def not_readable(problem: object) -> str:
    """A problem of a definition file (a Phrase, translated here), for the page."""
    return gettext("Not a readable definition: %(problem)s") % {
        "problem": in_words(problem, gettext)
    }


class VersionChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} · {obj.key}"


class CompareForm(forms.Form):
    left = VersionChoiceField(
        InstrumentVersion.objects.select_related("instrument"),
        label=pgettext_lazy("side", "Left"),
    )
    right = VersionChoiceField(
        InstrumentVersion.objects.select_related("instrument"),
        label=pgettext_lazy("side", "Right"),
    )


class NewDraftForm(forms.Form):
    new_version = forms.CharField(
        label=_("New version"), max_length=20, help_text=_("e.g. 1.1")
    )


POINTS = {"max_digits": 8, "decimal_places": 3, "required": False}
WEIGHT = {"max_digits": 9, "decimal_places": 6, "required": False}


class PointsForm(forms.Form):
    """Every option's points (and, for weighted instruments, every item's weight)."""

    def __init__(
        self, *args: Any, items: list[Item], weighted: bool, editable: bool, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.rows: list[dict[str, Any]] = []
        for item in items:
            weight = None
            if weighted:
                name = f"weight-{item.pk}"
                self.fields[name] = self._field(WEIGHT, item.weight, editable)
                self.fields[name].widget.attrs["aria-label"] = gettext(
                    "Weight of item %(code)s"
                ) % {"code": item.code}
                weight = self[name]
            options = []
            for option in item.options.all():
                name = f"points-{option.pk}"
                self.fields[name] = self._field(POINTS, option.points, editable)
                self.fields[name].widget.attrs["aria-label"] = gettext(
                    "Points for “%(option)s” (item %(code)s)"
                ) % {"option": option.label, "code": item.code}
                options.append((option, self[name]))
            self.rows.append({"item": item, "weight": weight, "options": options})

    @staticmethod
    def _field(spec: dict[str, Any], value: Decimal | None, editable: bool) -> Any:
        # 2, not 2.000: as the definition file and the form write it.
        shown = plain_number(value)
        field = forms.DecimalField(**spec, initial=shown, disabled=not editable)
        field.widget.attrs["class"] = "points-input"
        return field

    def values(self, prefix: str) -> dict[int, Decimal | None]:
        """The cleaned values of one kind of field, by row primary key."""
        return {
            int(name.removeprefix(f"{prefix}-")): value
            for name, value in self.cleaned_data.items()
            if name.startswith(f"{prefix}-")
        }


# As the definition schema allows (schema.json, item.evidence_hints): a hint
# the form accepts must never make the draft fail to publish.
HINT_MIN_CHARS, HINT_MAX_CHARS, MAX_HINTS = 2, 200, 40


def pasted_list(text: Any) -> list[Any] | None:
    """A JSON list pasted in (as an exported definition writes it), or None."""
    if not isinstance(text, str) or not text.lstrip().startswith("["):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, list) else None


class HintsField(forms.CharField):
    """An item's evidence hints as one phrase per line; the JSON list they make."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        lines = value if isinstance(value, list | tuple) else pasted_list(value)
        if lines is None:
            lines = str(value or "").splitlines()
        hints: list[str] = []
        seen: set[str] = set()
        for line in (" ".join(str(raw).split()) for raw in lines):
            # Blank lines and repeats add nothing to a search.
            if line and line.casefold() not in seen:
                seen.add(line.casefold())
                hints.append(line)
        return hints

    def validate(self, value: Any) -> None:
        short = gettext(
            "Line “%(hint)s” is too short: a hint needs at least %(min)d characters."
        )
        long = gettext(
            "Line “%(hint)s…” is %(length)d characters long; a hint may have at "
            "most %(max)d."
        )
        problems = [
            short % {"hint": hint, "min": HINT_MIN_CHARS}
            for hint in value
            if len(hint) < HINT_MIN_CHARS
        ]
        problems += [
            long % {"hint": hint[:40], "length": len(hint), "max": HINT_MAX_CHARS}
            for hint in value
            if len(hint) > HINT_MAX_CHARS
        ]
        if len(value) > MAX_HINTS:
            problems.append(
                gettext("There are %(count)d hints; an item may have at most %(max)d.")
                % {"count": len(value), "max": MAX_HINTS}
            )
        if problems:
            raise ValidationError(problems)


class ItemForm(forms.ModelForm):  # type: ignore[type-arg]
    evidence_hints = HintsField(
        required=False,
        label=_("Search hints for the evidence finder (one per line)"),
        help_text=_(
            "Words and phrases a paper would use when it reports what this item "
            "asks, with abbreviations and their expansions (e.g. “decision curve "
            "analysis”, “DCA”, “net benefit”). They only steer the “Where the "
            "paper may say this” finder beside the form and never change a score."
        ),
    )

    class Meta:
        model = Item
        fields = (
            "version",
            "section",
            "code",
            "label",
            "help",
            "type",
            "weight",
            "applies_when",
            "essential",
            "stage",
            "tracks",
            "judgement",
            "evidence_hints",
            "position",
        )


class ConditionForm(forms.ModelForm):  # type: ignore[type-arg]
    """A condition edited inline, its finder hints one per line like an item's."""

    evidence_hints = HintsField(
        required=False,
        label=_("Search hints (one per line)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 30}),
        help_text=_("Only steer “Where the paper may say this”; never a score."),
    )

    class Meta:
        model = Condition
        fields = (
            "position",
            "code",
            "label",
            "options",
            "applies_when",
            "evidence_hints",
        )
