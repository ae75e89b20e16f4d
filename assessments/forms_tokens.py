"""The form that makes a personal access token (Account, API tokens)."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms

from . import access
from .models import Project

READ, WRITE = "read", "write"
DAYS = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "365 days")]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What the token is for, e.g. 'R analysis on my laptop'.",
        error_messages={"required": "Give the token a name."},
    )
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The token reaches these projects and no other.",
        error_messages={"required": "Tick at least one project."},
    )
    access = forms.ChoiceField(
        choices=[(READ, "Read only"), (WRITE, "Read and write")],
        initial=READ,
        widget=forms.RadioSelect,
        help_text="A read-only token cannot change anything.",
    )
    # A fresh key per form shown: a reload that posts the form again makes
    # no second token (the view remembers the keys it used).
    once = forms.CharField(widget=forms.HiddenInput, required=False)
    days = forms.TypedChoiceField(
        choices=DAYS,
        coerce=int,
        initial=30,
        label="Expires after",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"once": secrets.token_urlsafe(16)})
        super().__init__(*args, **kwargs)
        field = self.fields["projects"]
        field.queryset = access.visible_projects(user).order_by("name")  # type: ignore[attr-defined]

    @property
    def write(self) -> bool:
        return self.cleaned_data.get("access") == WRITE
