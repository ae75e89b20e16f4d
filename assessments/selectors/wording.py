"""Which words of an instrument a reader sees: English, or a bundled translation.

Scores are always computed from the English definition; what this returns is
for showing only (forms, exports' labels, reports). A translation is used when
one exists for the reader's language and was made from the version's current
English wording revision; otherwise the English is shown.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from django.utils.translation import get_language

from ..instruments import Definition, Result
from ..instruments.memo import Identity
from ..instruments.translation_files import load_translation
from ..instruments.translations import Translation, TranslationError
from ..models import InstrumentVersion

log = logging.getLogger(__name__)

ENGLISH = "en"
# Stored on an assessment whose reviewer saved it in more than one wording.
MIXED = "mixed"


@dataclass(frozen=True)
class Wording:
    """The definition to show, the English it came from, and what translated it."""

    definition: Definition
    english: Definition
    translation: Translation | None

    @property
    def language(self) -> str:
        """`en`, or the translation's language code (`nl`, `de`)."""
        return self.translation.language if self.translation else ENGLISH

    @property
    def translated(self) -> bool:
        return self.translation is not None

    def result(self, result: Result) -> Result:
        """`result` with its band and subtotal names in the shown language (the
        engines name them from the English definition)."""
        if self.translation is None:
            return result
        shown = self.definition
        labels = {s.code: s.label for s in shown.sections}
        labels |= {d.code: d.label for d in shown.domains}
        return replace(
            result,
            band=self.band(result.band or "") or result.band,
            subtotals=tuple(
                replace(s, label=labels.get(s.code, s.label)) for s in result.subtotals
            ),
        )

    def band(self, english: str) -> str:
        """A stored band name ("good") in the shown language."""
        if self.translation is None or not english:
            return english
        return self.translation.band_label(self.english, english)


def language_code(language: str | None = None) -> str:
    """The active (or given) Django language as a translation file names it."""
    return (language or get_language() or ENGLISH).split("-")[0].lower()


def wording_for(version: InstrumentVersion, language: str | None = None) -> Wording:
    """The words of `version` for a reader of `language` (default: the active one)."""
    english = version.as_definition()
    code = language_code(language)
    if code == ENGLISH:
        return Wording(english, english, None)
    translation = bundled_translation(english.key, code)
    if translation is None or not translation.fits(english):
        return Wording(english, english, None)
    applied = _translated(Identity(translation), Identity(english))
    return Wording(applied, english, translation)


def shown_language(version: InstrumentVersion, language: str | None = None) -> str:
    """The language of the wording a reader of `language` is shown: what an
    assessment records as the wording its reviewer used."""
    return wording_for(version, language).language


@lru_cache(maxsize=256)
def bundled_translation(key: str, language: str) -> Translation | None:
    try:
        return load_translation(key, language)
    except TranslationError as exc:
        # A broken file must not stop anyone scoring: the English is shown.
        log.error("The %s wording of %s is not used: %s", language, key, exc)
        return None


# Definitions are cached per version by the model and translations per file,
# so this holds one entry per version and language.
@lru_cache(maxsize=512)
def _translated(
    translation: Identity[Translation], english: Identity[Definition]
) -> Definition:
    return translation.value.apply(english.value)


def chosen_split(value: str) -> str:
    """A requested agreement split (`nl`, `en`, `mixed`, or "" for all).

    Raises ValueError for anything else.
    """
    if value and not re.fullmatch(r"[a-z]{2,3}|" + MIXED, value):
        raise ValueError(value)
    return value


def merged_language(stored: str, used: str) -> str:
    """An assessment's wording language after a save made in `used`."""
    if not used or stored == used:
        return stored
    return used if not stored else MIXED
