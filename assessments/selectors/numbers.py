"""Numbers as the reader's language writes them: 2.5 in English, 2,5 in Dutch.

Every number a person reads that is formatted in Python (not by a template's
floatformat) goes through here, so a Dutch report does not mix 2,5 from a
template with 2.5 from a selector. Files for software (CSV, JSON) keep points.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.formats import number_format


def local_number(value: Any, places: int | None = None, *, trim: bool = False) -> str:
    """`value` with `places` decimals, or with the digits it has ("36.0" stays
    36.0); `trim` drops trailing zeros (80.00 -> 80, 2.50 -> 2.5)."""
    if places is not None:
        # Rounded as Python's format rounds (number_format would cut digits off).
        return number_format(Decimal(f"{value:.{places}f}"))
    number = Decimal(str(value))
    if trim:
        number = number.normalize()
    # Decimals print without an exponent (1E+2 as 100).
    return number_format(number)
