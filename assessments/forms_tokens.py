"""The form that makes a personal access token (Account, API tokens)."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import access
from .models import Project

READ, WRITE = "read", "write"


def _days(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


DAYS = [(n, lazy(_days, str)(n)) for n in (7, 30, 90, 365)]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. 'R analysis on my laptop'."),
        error_messages={"required": _("Give the token a name.")},
    )
    projects = forms.ModelMultipleChoiceField(
        label=_("Projects"),
        queryset=Project.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The token reaches these projects and no other."),
        error_messages={"required": _("Tick at least one project.")},
    )
    access = forms.ChoiceField(
        label=_("Access"),
        choices=[(READ, _("Read only")), (WRITE, _("Read and write"))],
        initial=READ,
        widget=forms.RadioSelect,
        help_text=_("A read-only token cannot change anything."),
    )
    # A fresh key per form shown: a reload that posts the form again makes
    # no second token (the view remembers the keys it used).
    once = forms.CharField(widget=forms.HiddenInput, required=False)
    days = forms.TypedChoiceField(
        choices=DAYS,
        coerce=int,
        initial=30,
        label=_("Expires after"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"once": secrets.token_urlsafe(16)})
        super().__init__(*args, **kwargs)
        field = self.fields["projects"]
        field.queryset = access.visible_projects(user).order_by("name")  # type: ignore[attr-defined]

    @property
    def write(self) -> bool:
        return self.cleaned_data.get("access") == WRITE
