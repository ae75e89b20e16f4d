"""Inter-rater agreement statistics for appraisal studies (pure; no Django).

Nothing here imports Django or any other module of the project.

* ``ratings``: the subjects x raters matrix (missing ratings as ``None``) and
  the ``Coefficient`` result;
* ``coefficients``: mean pairwise agreement, all-raters-agree, Cohen's and
  Fleiss' (generalised) kappa, Krippendorff's alpha, Gwet's AC1, each with its
  n, CI method and weights (``linearised``: Gwet's variances, as irrCAC);
* ``numeric``: the six ICCs with 95% CIs, Bland-Altman limits;
* ``design``: fixed or interchangeable reviewers, and the coefficients each fits;
* ``summary``: which coefficients a design and level get, and their JSON
  (shared by the web app and the command);
* ``reporting``: labels, item summaries, the methods sentence, leniency;
* ``csvfile``: the long-format CSV behind ``manage.py agreement`` (not
  re-exported here; import ``assessments.agreement.csvfile``).

scipy, statsmodels and krippendorff are imported inside the functions that
use them: together they cost seconds, and every web process imports this
package. Coefficients the data cannot support come back as ``value=None``
with a ``note`` saying why; programming errors (ragged matrices) still raise.
"""

from .coefficients import (
    LEVELS,
    all_agree,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    pairwise,
    percent_agreement,
)
from .design import (
    DESIGN_CHOICES,
    TOTAL_ICC_KEY,
    ApplicableCoefficients,
    Design,
    coefficients_for_design,
    detect_design,
    rater_columns,
    resolve_design,
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
from .summary import (
    ITEM_KEYS,
    flat,
    icc_json,
    item_coefficients,
    notes,
    score_coefficients,
)

__all__ = [
    "COEFFICIENT_LABELS",
    "DESIGN_CHOICES",
    "ICC_KEYS",
    "ITEM_KEYS",
    "LEVELS",
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
    "all_agree",
    "bland_altman",
    "coefficients_for_design",
    "cohen_kappa",
    "detect_design",
    "flat",
    "fleiss_kappa",
    "gwet_ac1",
    "icc",
    "icc_json",
    "item_coefficients",
    "krippendorff_alpha",
    "leniency",
    "methods_sentence",
    "notes",
    "pairwise",
    "percent_agreement",
    "rater_columns",
    "resolve_design",
    "score_coefficients",
    "summarize_items",
]
