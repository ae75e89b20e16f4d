"""Item-level agreement coefficients: percent agreement, Cohen's and Fleiss'
kappa, Krippendorff's alpha and Gwet's AC1.

Who computes what: the ``krippendorff`` package computes alpha; statsmodels
(a hard dependency of pingouin, so nothing new is installed) computes Cohen's
and Fleiss' kappa; Gwet's AC1 is written out below with its published formulas
cited, and the tests check it against R's irrCAC output and the original
papers. scipy, statsmodels and krippendorff are imported inside functions:
together they cost seconds, and every web process imports this package.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

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
    none_on_unsupported,
    normalized_rows,
    rated_values,
)

# Below this, chance agreement is treated as 1 and kappa as undefined (0/0).
_EPS = 1e-12


def percent_agreement(matrix: RatingMatrix) -> float | None:
    """Share of agreeing rater pairs per subject, averaged over subjects with
    two or more ratings (the plain proportion of agreement for two raters)."""
    shares = []
    for row in normalized_rows(matrix):
        rated = rated_values(row)
        if len(rated) >= 2:
            pairs = sum(c * (c - 1) for c in Counter(rated).values())
            shares.append(pairs / (len(rated) * (len(rated) - 1)))
    return statistics.fmean(shares) if shares else None


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
        raise Unsupported(f"Cohen's kappa needs exactly two raters; found {width}")
    cats = category_list(rows, categories)
    paired = [row for row in rows if len(rated_values(row)) == 2]
    if not paired:
        raise Unsupported("no subject was rated by both raters")
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for a, b in paired:
        table[index[a], index[b]] += 1
    disagreement = _disagreement_weights(weights, len(cats), scores)
    value, ci95 = _kappa_from_table(table, disagreement)
    dropped = sum(1 for row in rows if len(rated_values(row)) == 1)
    note = (
        f"{dropped} subject(s) rated by one rater only were left out"
        if dropped
        else None
    )
    return Coefficient(value, ci95, note)


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
        raise Unsupported("chance agreement is 1 (a single category used): undefined")
    with np.errstate(all="ignore"):
        result = sm_cohens_kappa(table, weights=disagreement)
    low, high = float(result.kappa_low), float(result.kappa_upp)
    ci95 = (low, high) if math.isfinite(low) and math.isfinite(high) else None
    return float(result.kappa), ci95


@none_on_unsupported
def fleiss_kappa(matrix: RatingMatrix) -> Coefficient:
    """Fleiss' (1971) kappa; every rated subject needs the same number (>=2)
    of ratings, though not from the same raters."""
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    rows = [row for row in normalized_rows(matrix) if rated_values(row)]
    sizes = sorted({len(rated_values(row)) for row in rows})
    if not sizes:
        raise Unsupported("no ratings")
    if len(sizes) > 1:
        raise Unsupported(
            "Fleiss' kappa needs the same number of ratings for every subject; "
            f"found between {sizes[0]} and {sizes[-1]}"
        )
    if sizes[0] < 2:
        raise Unsupported("Fleiss' kappa needs at least two ratings per subject")
    table = category_counts(rows, category_list(rows, None))
    shares = table.sum(0) / table.sum()
    if (shares**2).sum() > 1 - _EPS:
        raise Unsupported("every rating is in one category: kappa is undefined")
    return Coefficient(float(sm_fleiss_kappa(table, method="fleiss")))


@none_on_unsupported
def krippendorff_alpha(
    matrix: RatingMatrix,
    level: Level = "nominal",
    categories: Sequence[Hashable] | None = None,
) -> Coefficient:
    """Krippendorff's alpha for any number of raters with missing ratings;
    ``categories`` gives the order of text values at the ordinal level."""
    import krippendorff

    rows = normalized_rows(matrix)
    pairable = [row for row in rows if len(rated_values(row)) >= 2]
    if not pairable:
        raise Unsupported("no subject has two or more ratings")
    data, domain = _alpha_input(rows, level, categories)
    if len({v for row in pairable for v in rated_values(row)}) < 2:
        raise Unsupported("all paired ratings are identical: alpha is undefined")
    with np.errstate(all="ignore"):
        value = krippendorff.alpha(
            reliability_data=data.T, level_of_measurement=level, value_domain=domain
        )
    if not math.isfinite(value):
        raise Unsupported("alpha is undefined for these data")
    return Coefficient(float(value), None, None)


def _alpha_input(
    rows: Sequence[Row], level: Level, categories: Sequence[Hashable] | None
) -> tuple[np.ndarray, list[float] | None]:
    """Numbers for the krippendorff package: values at the interval level,
    otherwise category positions (ranks, which is all ordinal alpha uses)."""
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"unknown level of measurement {level!r}")
    if level == "interval":
        if not all(is_number(v) for row in rows for v in rated_values(row)):
            raise Unsupported("the interval level needs numeric ratings")
        as_float = [[np.nan if v is None else v for v in row] for row in rows]
        return np.array(as_float, dtype=float), None
    cats = category_list(rows, categories)
    if level == "ordinal" and categories is None and not all(map(is_number, cats)):
        raise Unsupported(
            "the ordinal level with text ratings needs the category order"
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
    if not any(len(rated_values(row)) >= 2 for row in rows):
        raise Unsupported("no subject has two or more ratings")
    counts = category_counts(rows, category_list(rows, categories))
    r = counts.sum(1)
    paired = r >= 2
    pa_i = np.zeros(len(r))
    pa_i[paired] = (counts * (counts - 1)).sum(1)[paired] / (r * (r - 1))[paired]
    pa = float(pa_i[paired].mean())
    pi = (counts / r[:, None]).mean(0)
    q = counts.shape[1]
    # One category in use: nobody could disagree, so chance agreement adds
    # nothing (irrCAC sets pe to 1e-15); AC1 then equals percent agreement.
    pe = float((pi * (1 - pi)).sum() / (q - 1)) if q > 1 else 0.0
    ac1 = (pa - pe) / (1 - pe)
    ci95 = _ac1_ci(counts, pa_i, paired, pi, pe, ac1)
    return Coefficient(ac1, ci95, None)


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
