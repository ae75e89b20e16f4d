"""Checking a reviewer's choice for one item or condition against its definition.

One rule set for every way answers arrive: the form's autosave and consensus
decisions, spreadsheet cells, and the scoring engines. Each problem comes in two
wordings: `message` names the entry and its options by label (for people using
the form), `detail` uses option codes (what a spreadsheet cell holds, and the
wording of `Result.problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..words import Words, same
from .definition import Condition, Definition, Item
from .vocabulary import NA

# Why a choice is refused (ChoiceProblem.rule).
UNKNOWN_ENTRY = "unknown_entry"  # the code is neither an item nor a condition
UNKNOWN_OPTION = "unknown_option"  # a chosen code is not one of the entry's options
NOT_ONE = "not_one"  # a single-choice entry with no option or several options
REPEATED = "repeated"  # the same option chosen twice
REQUIRES = "requires"  # e.g. RQS 'resampling' counts only together with 'stat'
RULES = (UNKNOWN_ENTRY, UNKNOWN_OPTION, NOT_ONE, REPEATED, REQUIRES)


@dataclass(frozen=True)
class ChoiceProblem:
    code: str
    rule: str
    message: str
    detail: str

    @property
    def incomplete(self) -> bool:
        """Every box ticked is allowed, but one counts only with another not ticked.

        A form can hold such an answer while the reviewer is still ticking (it
        is saved, and scoring reports it until fixed); every other problem is
        input that no form of the instrument could send.
        """
        return self.rule == REQUIRES

    def __str__(self) -> str:
        return self.message


def choice_problems(
    definition: Definition,
    code: str,
    choices: Sequence[str] | None,
    *,
    _: Words = same,
) -> list[ChoiceProblem]:
    """Everything wrong with choosing `choices` for item or condition `code`.

    `None` is no answer at all (cleared, or left N/A) and is fine for any entry
    that exists; an empty list is "nothing ticked", which only a multi-choice
    item accepts. `_` words the messages (not the details) for the reader.
    """
    entry = definition.entry(code)
    if entry is None:
        name = definition.short_name
        if definition.version not in name:  # "RQS 1.0" already says it
            name = f"{name} {definition.version}"
        return [
            ChoiceProblem(
                code,
                UNKNOWN_ENTRY,
                _("'%(code)s' is not an item or condition of %(name)s.")
                % {"code": code, "name": name},
                f"'{code}' is not an item or condition",
            )
        ]
    return [] if choices is None else entry_choice_problems(entry, choices, _=_)


def entry_choice_problems(
    entry: Item | Condition, choices: Sequence[str], *, _: Words = same
) -> list[ChoiceProblem]:
    """`choice_problems` for an entry already at hand; the first is the main one."""
    value = (choices,) if isinstance(choices, str) else tuple(choices)
    is_item = isinstance(entry, Item)
    names = {"code": entry.code, "label": entry.label}
    where = (
        _("Item %(code)s (%(label)s)")
        if is_item
        else _("Condition %(code)s (%(label)s)")
    ) % names
    codes = entry.option_codes
    allowed = ", ".join(codes)

    def problem(rule: str, message: str, detail: str) -> ChoiceProblem:
        return ChoiceProblem(entry.code, rule, message, detail)

    def label(code: str) -> str:
        option = entry.option(code)
        return f"'{option.label if option else code}'"

    def unknown(v: str) -> str:
        words = {
            "where": where,
            # An unknown code has no label, except the standard "na".
            "value": f"'{_('Not applicable') if v == NA else v}'",
            "options": _listing([label(c) for c in codes], _("%(first)s and %(last)s")),
        }
        if is_item:
            text = _(
                "%(where)s: %(value)s is not an option of this item; "
                "the options are %(options)s."
            )
        else:
            text = _(
                "%(where)s: %(value)s is not an option of this condition; "
                "the options are %(options)s."
            )
        return text % words

    problems = [
        problem(UNKNOWN_OPTION, unknown(v), f"'{v}' not allowed; allowed: {allowed}")
        for v in dict.fromkeys(v for v in value if v not in codes)
    ]
    if not entry.is_multi and len(value) != 1:
        words = {
            "where": where,
            "n": len(value),
            "options": _listing([label(c) for c in codes], _("%(first)s or %(last)s")),
        }
        problems.append(
            problem(
                NOT_ONE,
                _("%(where)s: choose one answer (%(options)s).") % words
                if not value
                else _(
                    "%(where)s takes one answer, not %(n)s: "
                    "choose one answer (%(options)s)."
                )
                % words,
                f"choose one of {allowed}, not {len(value)}",
            )
        )
    problems += [
        problem(
            REPEATED,
            _("%(where)s: %(option)s is repeated.")
            % {"where": where, "option": label(v)},
            f"'{v}' chosen more than once",
        )
        for v in dict.fromkeys(v for i, v in enumerate(value) if v in value[:i])
    ]
    for code in dict.fromkeys(value):
        option = entry.option(code)
        problems += [
            problem(
                REQUIRES,
                _("%(where)s: %(option)s counts only together with %(needed)s.")
                % {"where": where, "option": label(code), "needed": label(needed)},
                f"'{code}' counts only together with '{needed}'",
            )
            for needed in (option.requires if option else ())
            if needed not in value
        ]
    return problems


def _listing(words: Sequence[str], pair: str) -> str:
    """'a', 'b' and 'c' (`pair` joins the last two: "%(first)s and %(last)s")."""
    if len(words) < 2:
        return "".join(words)
    return pair % {"first": ", ".join(words[:-1]), "last": words[-1]}
