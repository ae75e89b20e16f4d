"""Study design: whether the same reviewers rated every study, and which
agreement coefficients that design supports."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Design = Literal["fixed", "interchangeable"]

# The ICC form to report for total scores under each design.
TOTAL_ICC_KEY: dict[str, str] = {"fixed": "ICC2", "interchangeable": "ICC1"}


@dataclass(frozen=True)
class ApplicableCoefficients:
    total: tuple[str, ...]  # for total scores: keys of icc()
    items: tuple[str, ...]  # for item answers: function names in assessments.agreement


_ITEM_COMMON = ("percent_agreement", "krippendorff_alpha", "gwet_ac1")


def detect_design(assignments: Mapping[Hashable, Iterable[Hashable]]) -> Design:
    """ "fixed" when every subject has the same set of raters, else
    "interchangeable" (reviewers differ between studies)."""
    rater_sets = {frozenset(raters) for raters in assignments.values()}
    return "fixed" if len(rater_sets) <= 1 else "interchangeable"


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
