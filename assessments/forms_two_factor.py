"""Forms of two-factor sign-in: a code, and a password with a code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

CODE_HELP = _("The 6-digit code your authenticator app shows now.")
SIGN_IN_HELP = _(
    "The 6-digit code your authenticator app shows now. Without your phone, one "
    "of your recovery codes works once."
)


def normalise_code(raw: str) -> str:
    """What people type, without the spaces and dashes apps and lists show."""
    return "".join(raw.split()).replace("-", "").lower()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=CODE_HELP,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("Enter the code."))
        return code


class SignInCodeForm(CodeForm):
    """The login's second step: an app's code or one recovery code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].label = _("Code or recovery code")
        self.fields["code"].help_text = SIGN_IN_HELP
        self.fields["code"].widget.attrs["inputmode"] = "text"


class SwitchOffForm(CodeForm):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["password", "code"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)
