"""Sentences made below Django, translatable where they are shown.

The pure floor (instruments, agreement, charts, bibliography) cannot call
gettext, yet some of what it says reaches people: an import's refused line,
a coefficient's note. It says such a sentence as a `Phrase`: a str that reads
as the English (so logs, files, the command line and tests see the English),
and keeps its template and values, so the layer that shows it can say it in
the reader's language with `in_words(value, gettext)`.

Templates are written as `say("... %(n)s ...", n=3)` with `say` imported as
`_` (``from ...words import say as _``), so the translators' tools, which
look for ``_("...")``, extract them; values may be Phrases too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Gettext = Callable[[str], str]
# The floor's other words come through such a hook (the name `_` at the call,
# so the translators' tools find them): callers above pass Django's gettext
# for the reader's language; the default keeps the English source text.
Words = Gettext


def same(text: str) -> str:
    """The default hook: the English source text as it is."""
    return text


def gettext_noop(text: str) -> str:
    """Marks an English text for the translators' tools; it is translated
    where it is shown (through the `Words` hook)."""
    return text


class Phrase(str):
    """An English sentence that remembers how it was made."""

    template: str
    values: Mapping[str, Any]

    def __new__(cls, template: str, values: Mapping[str, Any] | None = None) -> Phrase:
        values = dict(values or {})
        phrase = super().__new__(cls, template % values if values else template)
        phrase.template = template
        phrase.values = values
        return phrase

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (a Celery result, a cache) with its template, not as bare text.
        return (Phrase, (self.template, self.values))

    def translated(self, gettext: Gettext) -> str:
        words = gettext(self.template)
        if not self.values:
            return words
        return words % {k: in_words(v, gettext) for k, v in self.values.items()}


class Figure(Phrase):
    """A number inside a sentence, written as English writes it ("0.85",
    "85%"): said with the reader's decimal sign where it is shown."""

    def __new__(cls, text: str) -> Figure:
        return super().__new__(cls, text)  # type: ignore[return-value]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Figure, (str(self),))

    def translated(self, gettext: Gettext) -> str:
        return str(self).replace(".", _decimal_sign())


def _point() -> str:
    return "."


_decimal_sign: Callable[[], str] = _point


def use_decimal_sign(sign: Callable[[], str]) -> None:
    """Where Figures get the reader's decimal sign (set once by the app: the
    active language's; the command line keeps the point)."""
    global _decimal_sign
    _decimal_sign = sign


def say(template: str, **values: Any) -> Phrase:
    """`template` with `values`, kept translatable (import it as `_`)."""
    return Phrase(template, values)


def in_words(value: Any, gettext: Gettext) -> Any:
    """`value` in the reader's language: Phrases translated, anything else
    (numbers, names, plain text) as it is; lists and dicts walked through."""
    if isinstance(value, Phrase):
        return value.translated(gettext)
    if isinstance(value, list | tuple):
        return type(value)(in_words(v, gettext) for v in value)
    if isinstance(value, dict):
        return {k: in_words(v, gettext) for k, v in value.items()}
    return value
