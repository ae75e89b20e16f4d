"""Item-level agreement coefficients: mean pairwise agreement, the share of
subjects on which all raters agree, Cohen's and Fleiss' kappa, Krippendorff's
alpha and Gwet's AC1, each with its n, CI method and weights.

Who computes what: the ``krippendorff`` package computes alpha; statsmodels
(a hard dependency of pingouin, so nothing new is installed) computes Cohen's
kappa and its asymptotic CI; Fleiss' generalised kappa, the CIs of alpha and
pairwise agreement (``linearised``) and Gwet's AC1 are written out with their
published formulas cited, and the tests check them against R's irrCAC output
and the original papers. scipy, statsmodels and krippendorff are imported
inside functions: together they cost seconds, and every web process imports
this package.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

from ..words import say as _
from .linearised import CI_METHOD as LINEARISED_CI
from .linearised import (
    WeightKind,
    alpha_estimate,
    fleiss_generalised,
    pairwise_agreement,
    weight_matrix,
)
from .ratings import (
    Coefficient,
    Level,
    RatingMatrix,
    Row,
    Unsupported,
    Weights,
    category_counts,
    category_list,
    is_number,
    need_paired,
    none_on_unsupported,
    normalized_rows,
    rated_values,
    sample,
)

LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
COHEN_CI = _(
    "asymptotic standard error, normal approximation, limits capped at -1 and 1 "
    "(Fleiss, Cohen & Everitt 1969; statsmodels)"
)
WILSON_CI = _("Wilson score interval for a proportion")
NO_PAIRED = _("no subject has two or more ratings")
AC1_CI = LINEARISED_CI

# Below this, chance agreement is treated as 1 and kappa as undefined (0/0).
_EPS = 1e-12


def percent_agreement(matrix: RatingMatrix) -> float | None:
    """Mean pairwise agreement: the share of agreeing rater pairs per subject,
    averaged over subjects with two or more ratings (for two raters, the plain
    proportion of agreement); None when no subject has two."""
    return pairwise(matrix).value


@none_on_unsupported
def pairwise(matrix: RatingMatrix) -> Coefficient:
    """Mean pairwise agreement with Gwet's CI (irrCAC ``pa.coeff.raw``)."""
    rows = [row for row in normalized_rows(matrix) if rated_values(row)]
    n_subjects, n_raters = sample(rows)
    if not n_subjects:
        raise Unsupported(NO_PAIRED)
    counts = category_counts(rows, category_list(rows, None))
    estimate = pairwise_agreement(counts)
    return Coefficient(
        estimate.value,
        estimate.ci95,
        None if estimate.ci95 else _("95% CI needs at least two subjects"),
        n_subjects,
        n_raters,
        LINEARISED_CI if estimate.ci95 else None,
        "unweighted",
    )


@none_on_unsupported
def all_agree(matrix: RatingMatrix) -> Coefficient:
    """The share of subjects rated twice or more on which every rating is the
    same, with a Wilson 95% CI."""
    rows = normalized_rows(matrix)
    n_subjects, n_raters = sample(rows)
    if not n_subjects:
        raise Unsupported(NO_PAIRED)
    agreeing = sum(
        1
        for row in rows
        if len(rated_values(row)) >= 2 and len(set(rated_values(row))) == 1
    )
    share = agreeing / n_subjects
    return Coefficient(
        share,
        _wilson(agreeing, n_subjects),
        None,
        n_subjects,
        n_raters,
        WILSON_CI,
        "unweighted",
    )


def _wilson(successes: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@none_on_unsupported
def cohen_kappa(
    matrix: RatingMatrix,
    weights: Weights = None,
    categories: Sequence[Hashable] | None = None,
    scores: Sequence[float] | None = None,
) -> Coefficient:
    """Cohen's (weighted) kappa for exactly two raters with its asymptotic 95% CI.

    Weighted kappa measures distance between categories by their position in
    ``categories`` (Cicchetti-Allison linear or Fleiss-Cohen quadratic weights);
    pass ``scores`` to use other spacings, e.g. the numeric values themselves.
    """
    rows = normalized_rows(matrix)
    width = len(rows[0]) if rows else 0
    if width != 2:
        raise Unsupported(
            _("Cohen's kappa needs exactly two raters; found %(n)s", n=width)
        )
    cats = category_list(rows, categories)
    paired = [row for row in rows if len(rated_values(row)) == 2]
    need_paired(rows, "Cohen's kappa")
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for a, b in paired:
        table[index[a], index[b]] += 1
    disagreement = _disagreement_weights(weights, len(cats), scores)
    value, ci95 = _kappa_from_table(table, disagreement)
    dropped = sum(1 for row in rows if len(rated_values(row)) == 1)
    note = (
        _("subjects rated by one rater only were left out: %(n)s", n=dropped)
        if dropped
        else None
    )
    return Coefficient(
        value,
        ci95,
        note,
        len(paired),
        2,
        COHEN_CI if ci95 else None,
        weights or "unweighted",
    )


def _disagreement_weights(
    weights: Weights, n_cats: int, scores: Sequence[float] | None
) -> np.ndarray | None:
    if weights is None:
        return None
    if weights not in ("linear", "quadratic"):
        raise ValueError(f"unknown kappa weights {weights!r}")
    s = np.arange(n_cats, dtype=float) if scores is None else np.asarray(scores, float)
    if s.shape != (n_cats,):
        raise ValueError("scores need one number per category")
    distance = np.abs(s[:, None] - s[None, :])
    if weights == "quadratic":
        distance = distance**2
    # statsmodels' variance formula assumes disagreement weights scaled to [0, 1].
    top = distance.max()
    return distance / top if top > 0 else distance


def _kappa_from_table(
    table: np.ndarray, disagreement: np.ndarray | None
) -> tuple[float, tuple[float, float] | None]:
    from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n**2
    if disagreement is None:
        undefined = np.trace(expected) > 1 - _EPS
    else:
        undefined = (disagreement * expected).sum() < _EPS
    if undefined:
        raise Unsupported(
            _("chance agreement is 1 (a single category used): undefined")
        )
    with np.errstate(all="ignore"):
        result = sm_cohens_kappa(table, weights=disagreement)
    low, high = float(result.kappa_low), float(result.kappa_upp)
    # The normal approximation knows no bounds; kappa has them (irrCAC caps too).
    ci95 = (
        (max(-1.0, low), min(1.0, high))
        if math.isfinite(low) and math.isfinite(high)
        else None
    )
    return float(result.kappa), ci95


@none_on_unsupported
def fleiss_kappa(matrix: RatingMatrix) -> Coefficient:
    """Fleiss' kappa in its generalised form (Gwet 2014; irrCAC): subjects may
    have different numbers of ratings, from different raters; with the same
    number everywhere it is Fleiss' (1971) kappa. Unweighted."""
    rows = [row for row in normalized_rows(matrix) if rated_values(row)]
    if not rows:
        raise Unsupported(_("no ratings"))
    need_paired(rows, "Fleiss' kappa")
    counts = category_counts(rows, category_list(rows, None))
    shares = counts.sum(0) / counts.sum()
    if (shares**2).sum() > 1 - _EPS:
        raise Unsupported(_("every rating is in one category: kappa is undefined"))
    estimate = fleiss_generalised(counts, np.eye(counts.shape[1]))
    n_subjects, n_raters = sample(rows)
    return Coefficient(
        estimate.value,
        estimate.ci95,
        None,
        n_subjects,
        n_raters,
        LINEARISED_CI if estimate.ci95 else None,
        "unweighted",
    )


# Gwet's weights that make his alpha equal Krippendorff's at each level; the
# ordinal metric depends on the observed frequencies, so it has no such weights.
_ALPHA_WEIGHTS: dict[str, WeightKind] = {
    "nominal": "identity",
    "interval": "quadratic",
    "ratio": "ratio",
}


@none_on_unsupported
def krippendorff_alpha(
    matrix: RatingMatrix,
    level: Level = "nominal",
    categories: Sequence[Hashable] | None = None,
) -> Coefficient:
    """Krippendorff's alpha for any number of raters with missing ratings;
    ``categories`` gives the order of text values at the ordinal level. The
    95% CI is Gwet's (as irrCAC's) at the nominal, interval and ratio levels."""
    import krippendorff

    rows = normalized_rows(matrix)
    need_paired(rows, "Krippendorff's alpha")
    pairable = [row for row in rows if len(rated_values(row)) >= 2]
    data, domain = _alpha_input(rows, level, categories)
    if len({v for row in pairable for v in rated_values(row)}) < 2:
        raise Unsupported(_("all paired ratings are identical: alpha is undefined"))
    with np.errstate(all="ignore"):
        value = krippendorff.alpha(
            reliability_data=data.T, level_of_measurement=level, value_domain=domain
        )
    if not math.isfinite(value):
        raise Unsupported(_("alpha is undefined for these data"))
    n_subjects, n_raters = sample(rows)
    ci95, note = _alpha_ci(rows, level, categories)
    return Coefficient(
        float(value),
        ci95,
        note,
        n_subjects,
        n_raters,
        LINEARISED_CI if ci95 else None,
        f"{level} metric",
    )


def _alpha_ci(
    rows: Sequence[Row], level: Level, categories: Sequence[Hashable] | None
) -> tuple[tuple[float, float] | None, str | None]:
    kind = _ALPHA_WEIGHTS.get(level)
    if kind is None:
        return None, _(
            "no 95% CI at the ordinal level: Krippendorff's ordinal metric "
            "depends on the observed frequencies"
        )
    rated = [row for row in rows if rated_values(row)]
    cats = category_list(rated, categories if level == "nominal" else None)
    # Numeric levels weigh by the values (checked numeric above), nominal by none.
    values = [
        float(c) if kind != "identity" and is_number(c) else float(i)
        for i, c in enumerate(cats)
    ]
    counts = category_counts(rated, cats)
    return alpha_estimate(counts, weight_matrix(kind, values)).ci95, None


_NEEDS_NUMBERS = {
    "interval": _("the interval level needs numeric ratings"),
    "ratio": _("the ratio level needs numeric ratings"),
}


def _alpha_input(
    rows: Sequence[Row], level: Level, categories: Sequence[Hashable] | None
) -> tuple[np.ndarray, list[float] | None]:
    """Numbers for the krippendorff package: values at the interval level,
    otherwise category positions (ranks, which is all ordinal alpha uses)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement {level!r}")
    if level in ("interval", "ratio"):
        if not all(is_number(v) for row in rows for v in rated_values(row)):
            raise Unsupported(_NEEDS_NUMBERS[level])
        if level == "ratio" and any(
            is_number(v) and v < 0 for row in rows for v in rated_values(row)
        ):
            raise Unsupported(_("the ratio level needs ratings of zero or more"))
        as_float = [[np.nan if v is None else v for v in row] for row in rows]
        return np.array(as_float, dtype=float), None
    cats = category_list(rows, categories)
    if level == "ordinal" and categories is None and not all(map(is_number, cats)):
        raise Unsupported(
            _("the ordinal level with text ratings needs the category order")
        )
    index = {c: float(i) for i, c in enumerate(cats)}
    codes = [[np.nan if v is None else index[v] for v in row] for row in rows]
    return np.array(codes, dtype=float), [float(i) for i in range(len(cats))]


@none_on_unsupported
def gwet_ac1(
    matrix: RatingMatrix, categories: Sequence[Hashable] | None = None
) -> Coefficient:
    """Gwet's AC1 (unweighted, any number of raters, missing ratings allowed).

    Gwet (2008) Br J Math Stat Psychol 61:29-48 and Handbook of Inter-Rater
    Reliability, 4th ed. (2014), as implemented in R irrCAC::gwet.ac1.raw:
    pa averages agreeing pairs over subjects with >=2 ratings; pi_k averages
    r_ik / r_i over every rated subject; pe = sum pi_k (1 - pi_k) / (q - 1),
    where q counts the observed categories unless ``categories`` lists them.
    """
    rows = [row for row in normalized_rows(matrix) if rated_values(row)]
    need_paired(rows, "Gwet's AC1")
    counts = category_counts(rows, category_list(rows, categories))
    if counts.shape[1] < 2:
        # irrCAC returns 1 here (pe = 1e-15); with no other category known
        # there was nothing to disagree on, and 1 would claim a finding.
        raise Unsupported(
            _("every rating is in one category and no other is known: AC1 is undefined")
        )
    r = counts.sum(1)
    paired = r >= 2
    pa_i = np.zeros(len(r))
    pa_i[paired] = (counts * (counts - 1)).sum(1)[paired] / (r * (r - 1))[paired]
    pa = float(pa_i[paired].mean())
    pi = (counts / r[:, None]).mean(0)
    q = counts.shape[1]
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    ac1 = (pa - pe) / (1 - pe)
    ci95 = _ac1_ci(counts, pa_i, paired, pi, pe, ac1)
    n_subjects, n_raters = sample(rows)
    return Coefficient(
        ac1,
        ci95,
        None,
        n_subjects,
        n_raters,
        AC1_CI if ci95 else None,
        "unweighted",
    )


def _ac1_ci(
    counts: np.ndarray,
    pa_i: np.ndarray,
    paired: np.ndarray,
    pi: np.ndarray,
    pe: float,
    ac1: float,
) -> tuple[float, float] | None:
    """Gwet's (2008) linearised variance and a t-based 95% CI with the upper
    bound capped at 1, following irrCAC::gwet.ac1.raw term by term."""
    from scipy.stats import t

    n, n2, q = len(counts), int(paired.sum()), counts.shape[1]
    if n < 2:
        return None
    r = counts.sum(1)
    star = (n / n2) * (pa_i - pe * paired) / (1 - pe)
    pe_i = (counts @ (1 - pi)) / r / (q - 1) if q > 1 else np.zeros(n)
    terms = star - 2 * (1 - ac1) * (pe_i - pe) / (1 - pe)
    half = float(t.ppf(0.975, n - 1)) * math.sqrt(
        ((terms - ac1) ** 2).sum() / (n * (n - 1))
    )
    return (ac1 - half, min(1.0, ac1 + half))
