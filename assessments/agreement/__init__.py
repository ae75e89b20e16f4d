"""Inter-rater agreement statistics for appraisal studies (pure; no Django).

Nothing here imports Django or any other module of the project.

* ``ratings``: the subjects x raters matrix (missing ratings as ``None``) and
  the ``Coefficient`` result;
* ``coefficients``: percent agreement, Cohen's and Fleiss' kappa,
  Krippendorff's alpha, Gwet's AC1;
* ``numeric``: the six ICCs with 95% CIs, Bland-Altman limits;
* ``design``: fixed or interchangeable reviewers, and the coefficients each fits;
* ``reporting``: labels, item summaries, the methods sentence, leniency;
* ``csvfile``: the long-format CSV behind ``manage.py agreement`` (not
  re-exported here; import ``assessments.agreement.csvfile``).

scipy, statsmodels and krippendorff are imported inside the functions that
use them: together they cost seconds, and every web process imports this
package. Coefficients the data cannot support come back as ``value=None``
with a ``note`` saying why; programming errors (ragged matrices) still raise.
"""

from .coefficients import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from .design import (
    TOTAL_ICC_KEY,
    ApplicableCoefficients,
    Design,
    coefficients_for_design,
    detect_design,
)
from .numeric import ICC_KEYS, bland_altman, icc
from .ratings import Coefficient, Level, RatingMatrix, Row, Weights
from .reporting import (
    COEFFICIENT_LABELS,
    ItemSummary,
    Leniency,
    MeanDifference,
    leniency,
    methods_sentence,
    summarize_items,
)

__all__ = [
    "COEFFICIENT_LABELS",
    "ICC_KEYS",
    "TOTAL_ICC_KEY",
    "ApplicableCoefficients",
    "Coefficient",
    "Design",
    "ItemSummary",
    "Leniency",
    "Level",
    "MeanDifference",
    "RatingMatrix",
    "Row",
    "Weights",
    "bland_altman",
    "coefficients_for_design",
    "cohen_kappa",
    "detect_design",
    "fleiss_kappa",
    "gwet_ac1",
    "icc",
    "krippendorff_alpha",
    "leniency",
    "methods_sentence",
    "percent_agreement",
    "summarize_items",
]
