"""Quotes in an answer's history, in words: which were added and which removed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _


def quote_text(quote: dict[str, Any], limit: int = 120) -> str:
    exact = " ".join(str(quote.get("exact", "")).split())
    if len(exact) > limit:
        exact = f"{exact[: limit - 1]}…"
    return _("“%(quote)s” (p. %(page)s)") % {
        "quote": exact,
        "page": quote.get("page", "?"),
    }


def quote_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> Iterable[str]:
    before = {q.get("id"): q for q in old or []}
    after = {q.get("id"): q for q in new or []}
    for key, quote in after.items():
        if key not in before:
            yield _("Quote added: %(quote)s") % {"quote": quote_text(quote)}
    for key, quote in before.items():
        if key not in after:
            yield _("Quote removed: %(quote)s") % {"quote": quote_text(quote)}


def quote_details(quotes: list[dict[str, Any]]) -> list[str]:
    return [_("Quote: %(quote)s") % {"quote": quote_text(q)} for q in quotes or []]
