"""The fixed words of the definition format, shared by every module below.

Kinds, item types, the standard option sets, the `na` code, exact numbers, and
the one error that reading, validating and parsing a definition all raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..words import gettext_noop

KINDS = ("points", "weighted", "checklist", "judgement")
NA = "na"

_YES, _NO = gettext_noop("Yes"), gettext_noop("No")
_UNCLEAR = gettext_noop("Unclear")
STANDARD_OPTIONS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "yesno": (("yes", _YES), ("no", _NO)),
    "ynna": (("yes", _YES), ("no", _NO), (NA, gettext_noop("Not applicable"))),
    "signalling": (("yes", _YES), ("no", _NO), ("unclear", _UNCLEAR)),
    "judgement": (
        ("low", gettext_noop("Low")),
        ("high", gettext_noop("High")),
        ("unclear", _UNCLEAR),
    ),
}
ITEM_TYPES: Mapping[str, frozenset[str]] = {
    "points": frozenset({"single", "multi", "yesno", "ynna"}),
    "weighted": frozenset({"yesno"}),
    "checklist": frozenset({"ynna", "yesno"}),
    # single: signalling questions with own options (PROBAST+AI's Y/PY/PN/N/NI).
    "judgement": frozenset({"signalling", "judgement", "single"}),
}


class ProblemsError(ValueError):
    """A document that cannot be used; `problems` lists every reason, in words."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class DefinitionError(ProblemsError):
    """A definition document failed validation; `problems` lists every reason."""


def to_decimal(value: Any) -> Decimal:
    """Exact Decimal from YAML/JSON numbers or numeric strings (floats via repr)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    return Decimal(str(value))
