"""Study design: whether the same reviewers rated every study, and which
agreement coefficients that design supports."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from ..words import say as _

Subject = TypeVar("Subject", bound=Hashable)
Rater = TypeVar("Rater", bound=Hashable)

Design = Literal["fixed", "interchangeable"]
DESIGN_CHOICES = ("auto", "fixed", "interchangeable")

# The ICC form to report for total scores under each design.
TOTAL_ICC_KEY: dict[str, str] = {"fixed": "ICC2", "interchangeable": "ICC1"}


@dataclass(frozen=True)
class ApplicableCoefficients:
    total: tuple[str, ...]  # for total scores: keys of icc()
    items: tuple[str, ...]  # for item answers: function names in assessments.agreement


_ITEM_COMMON = (
    "percent_agreement",
    "all_raters_agree",
    "krippendorff_alpha",
    "gwet_ac1",
)


def detect_design(assignments: Mapping[Subject, Iterable[Hashable]]) -> Design:
    """ "fixed" when one panel rated the subjects: some subject was rated by
    every rater (others may miss a rating, as coders do in Krippendorff's
    examples); "interchangeable" when the pool is larger than any subject's
    raters, i.e. reviewers differ between studies."""
    rater_sets = [frozenset(raters) for raters in assignments.values()]
    pool = frozenset().union(*rater_sets)
    widest = max((len(raters) for raters in rater_sets), default=0)
    return "fixed" if widest == len(pool) else "interchangeable"


def coefficients_for_design(design: Design, n_raters: int) -> ApplicableCoefficients:
    """Which coefficients fit: Cohen's kappa and ICC(2,1)/ICC(3,1) assume the
    same raters throughout; otherwise ICC(1,1), Fleiss' kappa and alpha."""
    if design not in ("fixed", "interchangeable"):
        raise ValueError(f"unknown design {design!r}")
    if n_raters < 2:
        return ApplicableCoefficients((), ())
    if design == "interchangeable":
        return ApplicableCoefficients(
            ("ICC1", "ICC1k"), ("fleiss_kappa", *_ITEM_COMMON)
        )
    kappa = "cohen_kappa" if n_raters == 2 else "fleiss_kappa"
    return ApplicableCoefficients(
        ("ICC2", "ICC3", "ICC2k", "ICC3k"), (kappa, *_ITEM_COMMON)
    )


def resolve_design(
    requested: str, assignments: Mapping[Subject, Iterable[Hashable]]
) -> Design:
    """``auto`` detects the design from who rated which subject; ``fixed`` and
    ``interchangeable`` are taken as asked."""
    if requested == "auto":
        return detect_design(assignments)
    if requested in ("fixed", "interchangeable"):
        return requested  # type: ignore[return-value]
    raise ValueError(
        f"unknown design {requested!r}; use auto, fixed or interchangeable"
    )


def rater_columns(
    design: Design, raters_by_subject: Mapping[Subject, Sequence[Rater]]
) -> tuple[list[Rater] | list[str], Callable[[int, Rater], int]]:
    """The matrix's columns and where each rating goes: ``column(i, rater)``
    for the subject's i-th rater in the order given.

    Fixed: one column per rater, in order of first appearance. Interchangeable:
    reviewer "slots" (the first, second ... rater of each subject), since who
    sits in a slot differs between subjects; the web app and the command both
    build their matrices here.
    """
    if design == "fixed":
        order = list(dict.fromkeys(r for rs in raters_by_subject.values() for r in rs))
        index = {rater: j for j, rater in enumerate(order)}
        return order, lambda i, rater: index[rater]
    width = max((len(rs) for rs in raters_by_subject.values()), default=0)
    slots: list[str] = [_("reviewer %(n)s", n=j + 1) for j in range(width)]
    return slots, lambda i, rater: i
