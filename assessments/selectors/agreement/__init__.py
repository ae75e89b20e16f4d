"""Rating matrices from the database, and the agreement figures a methods section needs.

Only reviewers' first independent submissions count: item ratings come from
``Answer.independent_choices`` and totals from ``Assessment.independent_*``,
so answers revised after unblinding never move agreement. A study enters only
when every reviewer assigned to it has submitted (blinding holds until then)
and it is not excluded. Items that do not apply (N/A) are missing ratings,
not a category. The reads are a fixed handful of queries whatever the number
of studies; the statistics are the pure functions of ``agreement``.

``ratings`` reads the matrices; ``figures`` turns them into what the page, its
JSON and the reports show, each figure with its n, CI and whether the sample
is large enough for a reliable estimate (minimums in ``agreement.reporting``).
"""

from .figures import (
    DESIGN_NOTES,
    LENIENCY_MIN_STUDIES,
    NOTES,
    project_agreement,
)
from .ratings import RatingData, Scale, item_scale, rating_data

__all__ = [
    "DESIGN_NOTES",
    "LENIENCY_MIN_STUDIES",
    "NOTES",
    "RatingData",
    "Scale",
    "item_scale",
    "project_agreement",
    "rating_data",
]
