"""The language a person reads the platform in.

A signed-in person's choice is stored with their account and copied into the
session at login (``remember_at_login``, connected in apps.py), where the
``UserLanguage`` middleware finds it without a query. Anonymous pages follow
the language cookie the chooser also sets, then the browser's Accept-Language.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation

from ..models import LanguagePreference

SESSION_KEY = "language"


def supported(code: str) -> str | None:
    """The configured language `code` names, or None."""
    codes = {c for c, _ in settings.LANGUAGES}
    return code if code in codes else None


def choose(user: Any, session: Any, code: str) -> str:
    """Keep `code` for this person (and this session); the code kept."""
    chosen = supported(code)
    if chosen is None:
        names = ", ".join(name for _, name in settings.LANGUAGES)
        raise ValueError(f"Choose one of: {names}.")
    if session is not None:
        session[SESSION_KEY] = chosen
    if getattr(user, "is_authenticated", False):
        LanguagePreference.objects.update_or_create(
            user=user, defaults={"language": chosen}
        )
    translation.activate(chosen)
    return chosen


def remember_at_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: the person's stored choice becomes the session's."""
    stored = (
        LanguagePreference.objects.filter(user=user)
        .values_list("language", flat=True)
        .first()
    )
    if stored and supported(stored) and request is not None:
        request.session[SESSION_KEY] = stored


def of_user(user: Any) -> str:
    """The language to write to this person in (e-mails, reports made for
    them): their choice, else the site's default."""
    pk = getattr(user, "pk", None)
    stored = (
        LanguagePreference.objects.filter(user_id=pk)
        .values_list("language", flat=True)
        .first()
        if pk is not None
        else None
    )
    return supported(stored or "") or settings.LANGUAGE_CODE
