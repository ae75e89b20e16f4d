"""Where a draft came from, and whether it may still carry that original's name.

A copy made through "new draft" that scores or reads differently from the
published version it came from is a different instrument: it publishes under
a name of its own and carries ``modified_from`` ("RQS 1.0") in its frozen
definition, which every page, report and export shows beside its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from ...instruments import Definition, DefinitionError
from ...models import InstrumentVersion
from ...words import say as _
from .compare import Difference, differences

VERSION_WORD = re.compile(r"v?\d+(?:\.\d+)*")


def readable_definition(version: InstrumentVersion) -> Definition:
    """What a version scores with: frozen, or a draft's rows (`document_from_rows`).

    A draft whose rows do not make a valid definition yet is a ValidationError
    listing why (in Phrases), for the page to show instead of failing.
    """
    try:
        return version.as_definition()
    except DefinitionError as exc:
        raise ValidationError(
            [
                _(
                    "%(version)s is not complete yet: %(problem)s",
                    version=version_words(version),
                    problem=p,
                )
                for p in exc.problems
            ]
        ) from exc


def named(name: str, version: str) -> str:
    """ "RQS 1.0" from a name that may already carry its version number."""
    return name if version in name.split() else f"{name} {version}"


def version_words(version: InstrumentVersion) -> str:
    """A version as people name it: "RQS 1.0"."""
    return named(version.short_name or version.name, version.version)


@dataclass(frozen=True)
class Derivation:
    """How a version differs from the published one it was copied from."""

    original: InstrumentVersion | None
    changes: list[Difference] = field(default_factory=list)

    @property
    def modified(self) -> bool:
        return bool(self.changes)

    @property
    def original_words(self) -> str:
        if self.original is None:
            return ""
        frozen = self.original.as_definition()
        return named(frozen.short_name or frozen.name, frozen.version)

    def summary(self) -> str:
        """Where the copy differs, to follow "differs": "in scoring and wording".

        Counts are left to Compare: a Phrase has no plural forms.
        """
        scoring = any(c.is_scoring for c in self.changes)
        wording = any(not c.is_scoring for c in self.changes)
        if scoring and wording:
            return _("in scoring and wording")
        if scoring:
            return _("in scoring")
        return _("in wording") if wording else ""


def ancestors(version: InstrumentVersion) -> list[InstrumentVersion]:
    """The versions this one was copied from, nearest first (a loop stops)."""
    found: list[InstrumentVersion] = []
    seen = {version.pk}
    current = version.based_on
    while current is not None and current.pk not in seen:
        found.append(current)
        seen.add(current.pk)
        current = current.based_on
    return found


def derivation_of(version: InstrumentVersion) -> Derivation:
    """Compare a version's content (not its name or citation) with its original."""
    original = next((a for a in ancestors(version) if a.definition), None)
    if original is None:
        return Derivation(None)
    changes = differences(
        readable_definition(original), readable_definition(version), meta=False
    )
    return Derivation(original, changes)


def bare_name(text: str) -> str:
    """A name without its version numbers, for comparing: "RQS 1.1" is "rqs"."""
    words = [w for w in text.casefold().split() if not VERSION_WORD.fullmatch(w)]
    return " ".join(words)


def naming_problems(version: InstrumentVersion, derivation: Derivation) -> list[str]:
    """A modified copy may not go by its original's name, even with a new number."""
    if not derivation.modified or derivation.original is None:
        return []
    words = derivation.original_words
    taken = {
        bare_name(text)
        for ancestor in ancestors(version)
        for text in (ancestor.name, ancestor.short_name)
        if bare_name(text)
    }
    name, short = (bare_name(v) in taken for v in (version.name, version.short_name))
    if name and short:
        now = _(
            "Name (now “%(name)s”) and Short name (now “%(short_name)s”)",
            name=version.name,
            short_name=version.short_name,
        )
    elif name:
        now = _("Name (now “%(name)s”)", name=version.name)
    elif short:
        now = _("Short name (now “%(short_name)s”)", short_name=version.short_name)
    else:
        return []
    return [
        _(
            "This draft differs from %(original)s %(changes)s (see Compare), so it "
            "cannot be published under %(original)s's name: change %(fields)s to a "
            "name of its own, not only a new number. It will be shown as "
            "“modified from %(original)s”.",
            original=words,
            changes=derivation.summary(),
            fields=now,
        )
    ]


def source_citation(version: InstrumentVersion, derivation: Derivation) -> str:
    """A modified copy still citing its original cites it as its source.

    Definition files require a citation and DOI, and an adaptation seldom has
    its own; the original's reference stays, worded as the source ("Modified
    from RQS 1.0: Lambin P, ...") so that no page or report can present it as
    the copy's own. A citation the editor wrote themselves is kept as it is.
    """
    if not derivation.modified or derivation.original is None:
        return version.citation
    theirs = derivation.original.as_definition().citation.strip()
    if version.citation.strip() != theirs:
        return version.citation
    return f"Modified from {derivation.original_words}: {theirs}"


def modified_marker(derivation: Derivation) -> dict[str, str]:
    """The `modified_from` keys a published copy carries (inherited when unmodified)."""
    original = derivation.original
    if original is None:
        return {}
    if derivation.modified:
        return {
            "modified_from": derivation.original_words,
            "modified_from_key": original.key,
        }
    frozen = original.definition or {}
    return {
        key: frozen[key]
        for key in ("modified_from", "modified_from_key")
        if frozen.get(key)
    }
