"""Instrument wording in another language: the translation, and applying it.

A translation replaces only words people read (names, section, item, option
and condition labels and help, domain labels, band names, judgement aspects).
It never reaches a scoring engine or a fingerprint: the form shows the
translated copy, while every score is computed from the English definition,
so a translation can be corrected at any time without changing a number.

A translation names the wording revision of the English it was made from
(`translates_revision`). When the English wording has moved on, the
translation is not used and the form shows the English, so nobody scores
against words that no longer say what the definition says.

Reading the files (their format), checking them and starting a new one is
`translation_files`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .definition import Condition, Definition, Item, Option, Section
from .vocabulary import STANDARD_OPTIONS, ProblemsError

_Entry = TypeVar("_Entry", Item, Condition)


class TranslationError(ProblemsError):
    """A translation file cannot be used; `problems` names each reason."""


@dataclass(frozen=True)
class Translation:
    instrument: str
    language: str
    revision: int
    translates_revision: int
    translator: str
    date: datetime.date
    validated: bool
    name: str = ""
    short_name: str = ""
    note: str = ""
    standard_options: Mapping[str, str] = field(default_factory=dict)
    domains: Mapping[str, str] = field(default_factory=dict)
    sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # code -> {"label", "help", "options": {code: {"label", "help"}}}
    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    bands: tuple[str, ...] = ()
    aspect_labels: Mapping[str, str] = field(default_factory=dict)
    # The base translation this one extends, whose extra codes are expected.
    derived_from: str = ""

    def fits(self, definition: Definition) -> bool:
        """Made for this definition's current English wording."""
        return (
            self.instrument == definition.key
            and self.translates_revision == definition.revision
        )

    def apply(self, definition: Definition) -> Definition:
        """`definition` with this translation's words; codes and numbers untouched.

        What the translation leaves out stays in English.
        """
        params = definition.params
        aspects = params.get("aspect_labels")
        if aspects and self.aspect_labels:
            # Words only: aspect names are outside the scoring fingerprint.
            params = {**params, "aspect_labels": {**aspects, **self.aspect_labels}}
        return dataclasses.replace(
            definition,
            params=params,
            name=self.name or definition.name,
            short_name=self.short_name or definition.short_name,
            note=self.note or definition.note,
            conditions=tuple(self._condition(c) for c in definition.conditions),
            sections=tuple(self._section(s) for s in definition.sections),
            domains=tuple(
                dataclasses.replace(d, label=self.domains.get(d.code) or d.label)
                for d in definition.domains
            ),
        )

    def band_label(self, definition: Definition, english: str) -> str:
        """A stored (English) band name in this language, or as stored."""
        for band, words in zip(definition.bands, self.bands, strict=False):
            if band.label == english and words:
                return words
        return english

    def aspect_label(self, code: str, english: str) -> str:
        return self.aspect_labels.get(code) or english

    def missing(self, definition: Definition) -> list[str]:
        """Every text of `definition` this translation leaves in English."""
        translated = self.apply(definition)
        gaps = [
            where
            for where, before, after in _texts(definition, translated)
            if before and after == before
        ]
        if definition.bands and len(self.bands) < len(definition.bands):
            gaps.append("bands")
        aspects = definition.params.get("aspect_labels") or {}
        gaps += [f"aspect {code}" for code in aspects if code not in self.aspect_labels]
        return gaps

    def _section(self, section: Section) -> Section:
        words = self.sections.get(section.code, {})
        return dataclasses.replace(
            section,
            label=words.get("label") or section.label,
            help=words.get("help") or section.help,
            items=tuple(self._entry(i) for i in section.items),
        )

    def _condition(self, condition: Condition) -> Condition:
        return self._entry(condition)

    def _entry(self, entry: _Entry) -> _Entry:
        words = self.entries.get(entry.code, {})
        options = words.get("options", {})
        return dataclasses.replace(
            entry,
            label=words.get("label") or entry.label,
            help=words.get("help") or entry.help,
            options=tuple(
                self._option(o, options.get(o.code, {})) for o in entry.options
            ),
        )

    def _option(self, option: Option, words: Mapping[str, str]) -> Option:
        standard = self.standard_options.get(option.code, "")
        if option.label != _standard_label(option.code):
            standard = ""
        return dataclasses.replace(
            option,
            label=words.get("label") or standard or option.label,
            help=words.get("help") or option.help,
        )


def _standard_label(code: str) -> str:
    return next(
        (
            label
            for options in STANDARD_OPTIONS.values()
            for c, label in options
            if c == code
        ),
        "",
    )


def _texts(before: Definition, after: Definition) -> Iterable[tuple[str, str, str]]:
    """(where, English, translated) for every text a translation covers."""
    # The instrument's name is a proper name: translators may keep it.
    for old_d, new_d in zip(before.domains, after.domains, strict=True):
        yield f"domain {old_d.code}", old_d.label, new_d.label
    for old_s, new_s in zip(before.sections, after.sections, strict=True):
        yield f"section {old_s.code} label", old_s.label, new_s.label
        yield f"section {old_s.code} help", old_s.help, new_s.help
    old_entries: list[Condition | Item] = [*before.conditions, *before.items]
    new_entries: list[Condition | Item] = [*after.conditions, *after.items]
    entries = zip(old_entries, new_entries, strict=True)
    for old, new in entries:
        yield f"item {old.code} label", old.label, new.label
        yield f"item {old.code} help", old.help, new.help
        for old_o, new_o in zip(old.options, new.options, strict=True):
            where = f"item {old.code} option {old_o.code}"
            yield f"{where} label", old_o.label, new_o.label
            yield f"{where} help", old_o.help, new_o.help
