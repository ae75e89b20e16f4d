"""Conditions answered from the study's own record (`params.prefill`).

A definition may say that a condition is filled in from a field of the study
when an assessment is created: IBSI's imaging modality from the study's
modality. The study's free text ("ct", "PET/CT", "Computed tomography") is
matched to one option by its code or one of its aliases, ignoring case,
spacing and punctuation; text that matches no option, or more than one, leaves
the condition unanswered. Pure functions over plain data and the frozen
definition; the service that stores the answers sits above.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..words import say as _

if TYPE_CHECKING:  # types only: `validation` imports this module, below `definition`
    from .definition import Definition

_SEPARATORS = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Prefill:
    condition: str
    study_field: str
    # Normalised text -> option code.
    aliases: Mapping[str, str]

    @property
    def reason(self) -> str:
        """How the answer is attributed in the answer's history."""
        return f"pre-filled from the study's {self.study_field.replace('_', ' ')}"

    def option_for(self, text: str | None) -> str | None:
        """The option `text` names, or None."""
        return self.aliases.get(normalise(text or "")) or None


def normalise(text: str) -> str:
    """Case, spacing and punctuation folded away: 'PET/CT' and 'pet-ct' -> 'pet ct'."""
    return " ".join(_SEPARATORS.split(text.casefold())).strip()


def prefills(definition: Definition) -> tuple[Prefill, ...]:
    """The definition's pre-fill rules (none for most instruments)."""
    return tuple(
        Prefill(
            rule["condition"],
            rule["study_field"],
            dict(_alias_pairs(rule["aliases"])),
        )
        for rule in definition.params.get("prefill", [])
    )


def prefilled_answers(
    definition: Definition, study: Mapping[str, str | None]
) -> dict[str, list[str]]:
    """Condition answers taken from `study` (field -> text); unmatched are left out."""
    answers: dict[str, list[str]] = {}
    for rule in prefills(definition):
        option = rule.option_for(study.get(rule.study_field))
        if option is not None:
            answers[rule.condition] = [option]
    return answers


def _alias_pairs(aliases: Mapping[str, Sequence[str]]) -> Iterator[tuple[str, str]]:
    for option, texts in aliases.items():
        for text in (option, *texts):
            yield normalise(text), option


def prefill_problems(doc: Mapping[str, Any]) -> list[str]:
    """What is wrong with a document's `params.prefill` (after the schema check)."""
    conditions = {c["code"]: c for c in doc.get("conditions", [])}
    problems: list[str] = []
    seen: set[str] = set()
    for index, rule in enumerate(doc.get("params", {}).get("prefill", [])):
        where = f"params/prefill/{index}"
        condition = conditions.get(rule["condition"])
        if condition is None:
            problems.append(
                _(
                    "%(where)s: unknown condition '%(code)s'",
                    where=where,
                    code=rule["condition"],
                )
            )
            continue
        if rule["condition"] in seen:
            problems.append(
                _(
                    "%(where)s: condition '%(code)s' twice",
                    where=where,
                    code=rule["condition"],
                )
            )
        seen.add(rule["condition"])
        codes = {o["code"] for o in condition["options"]}
        problems += _alias_problems(where, rule["aliases"], codes)
    return problems


def _alias_problems(
    where: str, aliases: Mapping[str, Sequence[str]], codes: set[str]
) -> list[str]:
    problems: list[str] = [
        _("%(where)s: condition has no option '%(code)s'", where=where, code=code)
        for code in aliases
        if code not in codes
    ]
    owner: dict[str, str] = {}
    for text, option in _alias_pairs(aliases):
        if not text:
            problems.append(
                _(
                    "%(where)s: an alias of '%(option)s' has no letters or digits",
                    where=where,
                    option=option,
                )
            )
        elif owner.setdefault(text, option) != option:
            problems.append(
                _(
                    "%(where)s: '%(text)s' names both '%(first)s' and '%(second)s'",
                    where=where,
                    text=text,
                    first=owner[text],
                    second=option,
                )
            )
    return problems
