"""Inter-rater agreement statistics for appraisal studies (pure; no Django).

Ratings arrive as a subjects x raters matrix (rows are studies); ``None`` or
NaN marks a missing rating, so conditional items answered N/A stay missing
rather than becoming a category. When studies get different reviewers the
columns are reviewer "slots" (first, second ... reviewer of the study).

Who computes what: the ``krippendorff`` package computes alpha; statsmodels
(a hard dependency of pingouin, so nothing new is installed) computes Cohen's
and Fleiss' kappa; ICCs and Gwet's AC1 are written out below with their
published formulas cited, and the tests check them against pingouin, R's
psych/irrCAC output and the original papers. scipy, statsmodels and
krippendorff are imported inside functions: together they cost seconds, and
every web process imports this module.

Coefficients the data cannot support come back as ``value=None`` with a
``note`` saying why; programming errors (ragged matrices) still raise.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, ParamSpec, TypeGuard

import numpy as np

Design = Literal["fixed", "interchangeable"]
Level = Literal["nominal", "ordinal", "interval"]
Weights = Literal["linear", "quadratic"] | None
RatingMatrix = Iterable[Iterable[Any]]
Row = list[Hashable | None]

ICC_KEYS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
TOTAL_ICC_KEY: dict[str, str] = {"fixed": "ICC2", "interchangeable": "ICC1"}
COEFFICIENT_LABELS: dict[str, str] = {
    "percent_agreement": "percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "gwet_ac1": "Gwet's AC1",
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(2,1)",
    "ICC3": "ICC(3,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(2,k)",
    "ICC3k": "ICC(3,k)",
}
# Below this, chance agreement is treated as 1 and kappa as undefined (0/0).
_EPS = 1e-12
_P = ParamSpec("_P")


@dataclass(frozen=True)
class Coefficient:
    value: float | None
    ci95: tuple[float, float] | None = None
    note: str | None = None


class _Unsupported(Exception):
    """Raised by helpers when the data cannot support a coefficient."""


def _none_on_unsupported(func: Callable[_P, Coefficient]) -> Callable[_P, Coefficient]:
    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Coefficient:
        try:
            return func(*args, **kwargs)
        except _Unsupported as exc:
            return Coefficient(None, None, str(exc))

    return wrapper


# --- matrix helpers -------------------------------------------------------


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _rows(matrix: RatingMatrix) -> list[Row]:
    rows: list[Row] = [[None if _is_missing(v) else v for v in row] for row in matrix]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("ragged ratings matrix: every row needs one cell per rater")
    return rows


def _rated(row: Row) -> list[Hashable]:
    return [v for v in row if v is not None]


def _is_number(value: object) -> TypeGuard[Real]:
    return isinstance(value, Real) and not isinstance(value, bool)


def _sorted_values(values: Iterable[Hashable]) -> list[Hashable]:
    # Numbers in numeric order, then text; mixed nominal codes stay deterministic.
    def key(v: Hashable) -> tuple[int, float, str]:
        return (0, float(v), "") if _is_number(v) else (1, 0.0, str(v))

    return sorted(set(values), key=key)


def _category_list(
    rows: Sequence[Row], categories: Sequence[Hashable] | None
) -> list[Hashable]:
    observed = {v for row in rows for v in _rated(row)}
    if categories is None:
        return _sorted_values(observed)
    cats = list(categories)
    unknown = observed - set(cats)
    if unknown:
        shown = ", ".join(repr(v) for v in _sorted_values(unknown))
        raise _Unsupported(f"ratings {shown} are not among the given categories")
    return cats


def _counts(rows: Sequence[Row], cats: Sequence[Hashable]) -> np.ndarray:
    """Subjects x categories table of how many raters chose each category."""
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(rows), len(cats)))
    for i, row in enumerate(rows):
        for value in _rated(row):
            table[i, index[value]] += 1
    return table


# --- coefficients -----------------------------------------------------------


def percent_agreement(matrix: RatingMatrix) -> float | None:
    """Share of agreeing rater pairs per subject, averaged over subjects with
    two or more ratings (the plain proportion of agreement for two raters)."""
    shares = []
    for row in _rows(matrix):
        rated = _rated(row)
        if len(rated) >= 2:
            pairs = sum(c * (c - 1) for c in Counter(rated).values())
            shares.append(pairs / (len(rated) * (len(rated) - 1)))
    return statistics.fmean(shares) if shares else None


@_none_on_unsupported
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
    rows = _rows(matrix)
    width = len(rows[0]) if rows else 0
    if width != 2:
        raise _Unsupported(f"Cohen's kappa needs exactly two raters; found {width}")
    cats = _category_list(rows, categories)
    paired = [row for row in rows if len(_rated(row)) == 2]
    if not paired:
        raise _Unsupported("no subject was rated by both raters")
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for a, b in paired:
        table[index[a], index[b]] += 1
    disagreement = _disagreement_weights(weights, len(cats), scores)
    value, ci95 = _kappa_from_table(table, disagreement)
    dropped = sum(1 for row in rows if len(_rated(row)) == 1)
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
        raise _Unsupported("chance agreement is 1 (a single category used): undefined")
    with np.errstate(all="ignore"):
        result = sm_cohens_kappa(table, weights=disagreement)
    low, high = float(result.kappa_low), float(result.kappa_upp)
    ci95 = (low, high) if math.isfinite(low) and math.isfinite(high) else None
    return float(result.kappa), ci95


@_none_on_unsupported
def fleiss_kappa(matrix: RatingMatrix) -> Coefficient:
    """Fleiss' (1971) kappa; every rated subject needs the same number (>=2)
    of ratings, though not from the same raters."""
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    rows = [row for row in _rows(matrix) if _rated(row)]
    sizes = sorted({len(_rated(row)) for row in rows})
    if not sizes:
        raise _Unsupported("no ratings")
    if len(sizes) > 1:
        raise _Unsupported(
            "Fleiss' kappa needs the same number of ratings for every subject; "
            f"found between {sizes[0]} and {sizes[-1]}"
        )
    if sizes[0] < 2:
        raise _Unsupported("Fleiss' kappa needs at least two ratings per subject")
    table = _counts(rows, _category_list(rows, None))
    shares = table.sum(0) / table.sum()
    if (shares**2).sum() > 1 - _EPS:
        raise _Unsupported("every rating is in one category: kappa is undefined")
    return Coefficient(float(sm_fleiss_kappa(table, method="fleiss")))


@_none_on_unsupported
def krippendorff_alpha(
    matrix: RatingMatrix,
    level: Level = "nominal",
    categories: Sequence[Hashable] | None = None,
) -> Coefficient:
    """Krippendorff's alpha for any number of raters with missing ratings;
    ``categories`` gives the order of text values at the ordinal level."""
    import krippendorff

    rows = _rows(matrix)
    pairable = [row for row in rows if len(_rated(row)) >= 2]
    if not pairable:
        raise _Unsupported("no subject has two or more ratings")
    data, domain = _alpha_input(rows, level, categories)
    if len({v for row in pairable for v in _rated(row)}) < 2:
        raise _Unsupported("all paired ratings are identical: alpha is undefined")
    with np.errstate(all="ignore"):
        value = krippendorff.alpha(
            reliability_data=data.T, level_of_measurement=level, value_domain=domain
        )
    if not math.isfinite(value):
        raise _Unsupported("alpha is undefined for these data")
    return Coefficient(float(value), None, None)


def _alpha_input(
    rows: Sequence[Row], level: Level, categories: Sequence[Hashable] | None
) -> tuple[np.ndarray, list[float] | None]:
    """Numbers for the krippendorff package: values at the interval level,
    otherwise category positions (ranks, which is all ordinal alpha uses)."""
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"unknown level of measurement {level!r}")
    if level == "interval":
        if not all(_is_number(v) for row in rows for v in _rated(row)):
            raise _Unsupported("the interval level needs numeric ratings")
        as_float = [[np.nan if v is None else v for v in row] for row in rows]
        return np.array(as_float, dtype=float), None
    cats = _category_list(rows, categories)
    if level == "ordinal" and categories is None and not all(map(_is_number, cats)):
        raise _Unsupported(
            "the ordinal level with text ratings needs the category order"
        )
    index = {c: float(i) for i, c in enumerate(cats)}
    codes = [[np.nan if v is None else index[v] for v in row] for row in rows]
    return np.array(codes, dtype=float), [float(i) for i in range(len(cats))]


@_none_on_unsupported
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
    rows = [row for row in _rows(matrix) if _rated(row)]
    if not any(len(_rated(row)) >= 2 for row in rows):
        raise _Unsupported("no subject has two or more ratings")
    counts = _counts(rows, _category_list(rows, categories))
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


# --- intraclass correlation -------------------------------------------------


@dataclass(frozen=True)
class _MeanSquares:
    n: int
    k: int
    rows: np.float64  # between subjects (BMS)
    cols: np.float64  # between raters (JMS)
    error: np.float64  # residual of the two-way model (EMS)
    within: np.float64  # within subjects, one-way model (WMS)


def icc(matrix: RatingMatrix) -> dict[str, Coefficient]:
    """The six Shrout & Fleiss (1979) ICCs with 95% CIs, keyed as R psych does.

    ICC1 = ICC(1,1) one-way random; ICC2 = ICC(2,1) two-way random, absolute
    agreement (McGraw & Wong's ICC(A,1)); ICC3 = ICC(3,1) two-way mixed,
    consistency (ICC(C,1)); the ``k`` forms are for the mean of k raters.
    Needs a complete numeric matrix; subjects nobody rated are ignored.
    """
    try:
        ms = _mean_squares(_complete_numeric(matrix))
    except _Unsupported as exc:
        return {key: Coefficient(None, None, str(exc)) for key in ICC_KEYS}
    values = _icc_values(ms)
    cis = _icc_cis(ms, values["ICC2"])
    return {key: _icc_coefficient(values[key], cis[key]) for key in ICC_KEYS}


def _complete_numeric(matrix: RatingMatrix) -> np.ndarray:
    rows = [row for row in _rows(matrix) if _rated(row)]
    missing = sum(v is None for row in rows for v in row)
    if missing:
        raise _Unsupported(
            f"ICC needs every rater to rate every subject; {missing} rating(s) missing"
        )
    if not all(_is_number(v) for row in rows for v in row):
        raise _Unsupported("ICC needs numeric ratings")
    x = np.array(rows, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise _Unsupported("ICC needs at least two subjects and two raters")
    if np.ptp(x) == 0:
        raise _Unsupported("all ratings are identical: ICC is undefined")
    return x


def _mean_squares(x: np.ndarray) -> _MeanSquares:
    """Mean squares of the two-way ANOVA without replication (Shrout & Fleiss 1979)."""
    n, k = x.shape
    grand = x.mean()
    row_means, col_means = x.mean(1), x.mean(0)
    ss_rows = k * ((row_means - grand) ** 2).sum()
    ss_cols = n * ((col_means - grand) ** 2).sum()
    # Residuals computed directly, so rounding can never make SS negative.
    residual = x - row_means[:, None] - col_means[None, :] + grand
    ss_error = (residual**2).sum()
    return _MeanSquares(
        n=n,
        k=k,
        rows=np.float64(ss_rows / (n - 1)),
        cols=np.float64(ss_cols / (k - 1)),
        error=np.float64(ss_error / ((n - 1) * (k - 1))),
        within=np.float64((ss_cols + ss_error) / (n * (k - 1))),
    )


def _icc_values(ms: _MeanSquares) -> dict[str, float]:
    """The Shrout & Fleiss (1979) estimators, single-rater and k-rater forms."""
    n, k, bms, jms, ems, wms = ms.n, ms.k, ms.rows, ms.cols, ms.error, ms.within
    fractions = {
        "ICC1": (bms - wms, bms + (k - 1) * wms),
        "ICC2": (bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC3": (bms - ems, bms + (k - 1) * ems),
        "ICC1k": (bms - wms, bms),
        "ICC2k": (bms - ems, bms + (jms - ems) / n),
        "ICC3k": (bms - ems, bms),
    }
    # The denominators estimate a variance; when sampling noise drives one to
    # zero or below, the ratio means nothing (ICC(2,k) of [[0, 1], [1, 0]] is
    # 2), so it becomes NaN here and "undefined" for the caller.
    return {
        key: float(top / bottom) if bottom > 0 else math.nan
        for key, (top, bottom) in fractions.items()
    }


def _icc_cis(ms: _MeanSquares, icc2: float) -> dict[str, tuple[float, float]]:
    """F-based 95% limits (McGraw & Wong 1996), as R psych and pingouin compute."""
    from scipy.stats import f

    n, k = ms.n, ms.k
    with np.errstate(all="ignore"):
        f1 = ms.rows / ms.within
        f1_lo = f1 / f.ppf(0.975, n - 1, n * (k - 1))
        f1_hi = f1 * f.ppf(0.975, n * (k - 1), n - 1)
        f3 = ms.rows / ms.error
        f3_lo = f3 / f.ppf(0.975, n - 1, (n - 1) * (k - 1))
        f3_hi = f3 * f.ppf(0.975, (n - 1) * (k - 1), n - 1)
        lo2, hi2 = _icc2_ci(ms, icc2)
        return {
            "ICC1": ((f1_lo - 1) / (f1_lo + k - 1), (f1_hi - 1) / (f1_hi + k - 1)),
            "ICC2": (lo2, hi2),
            "ICC3": ((f3_lo - 1) / (f3_lo + k - 1), (f3_hi - 1) / (f3_hi + k - 1)),
            "ICC1k": (1 - 1 / f1_lo, 1 - 1 / f1_hi),
            # Spearman-Brown step-up of the single-rater limits, as psych does.
            "ICC2k": (lo2 * k / (1 + lo2 * (k - 1)), hi2 * k / (1 + hi2 * (k - 1))),
            "ICC3k": (1 - 1 / f3_lo, 1 - 1 / f3_hi),
        }


def _icc2_ci(ms: _MeanSquares, icc2: float) -> tuple[float, float]:
    """Absolute-agreement limits with Satterthwaite's approximate df
    (McGraw & Wong 1996, model 2A)."""
    from scipy.stats import f

    n, k, bms, jms, ems = ms.n, ms.k, ms.rows, ms.cols, ms.error
    fj = jms / ems
    base = n * (1 + (k - 1) * icc2) - k * icc2
    v = ((k - 1) * (n - 1) * (k * icc2 * fj + base) ** 2) / (
        (n - 1) * k**2 * icc2**2 * fj**2 + base**2
    )
    f_star = f.ppf(0.975, n - 1, v)
    f_star2 = f.ppf(0.975, v, n - 1)
    spread = k * jms + (k * n - k - n) * ems
    low = n * (bms - f_star * ems) / (f_star * spread + n * bms)
    high = n * (f_star2 * bms - ems) / (spread + n * f_star2 * bms)
    return float(low), float(high)


def _icc_coefficient(value: float, ci: tuple[float, float]) -> Coefficient:
    if not math.isfinite(value):
        return Coefficient(
            None, None, "undefined: its variance estimate is not positive"
        )
    low, high = float(ci[0]), float(ci[1])
    if math.isfinite(low) and math.isfinite(high):
        return Coefficient(value, (low, high), None)
    return Coefficient(value, None, "95% CI undefined (no residual variance)")


# --- Bland-Altman -------------------------------------------------------------

# 97.5th percentile of the standard normal; Bland & Altman (1986) rounded it to 2.
_Z975 = 1.959963984540054


def bland_altman(a: Iterable[Any], b: Iterable[Any]) -> dict[str, Any]:
    """Bias (mean of a - b), SD of the differences and 95% limits of agreement;
    pairs with a missing side are skipped."""
    diffs = [
        float(x) - float(y)
        for x, y in zip(a, b, strict=True)
        if not (_is_missing(x) or _is_missing(y))
    ]
    n = len(diffs)
    if n < 2:
        return {
            "n": n,
            "bias": diffs[0] if diffs else None,
            "sd": None,
            "lower": None,
            "upper": None,
            "note": "limits of agreement need at least two paired ratings",
        }
    bias, sd = statistics.fmean(diffs), statistics.stdev(diffs)
    return {
        "n": n,
        "bias": bias,
        "sd": sd,
        "lower": bias - _Z975 * sd,
        "upper": bias + _Z975 * sd,
        "note": None,
    }


# --- study design -----------------------------------------------------------------


@dataclass(frozen=True)
class ApplicableCoefficients:
    total: tuple[str, ...]  # for total scores: keys of icc()
    items: tuple[str, ...]  # for item answers: function names in this module


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


# --- reporting ----------------------------------------------------------------


@dataclass(frozen=True)
class ItemSummary:
    coefficient: str  # key of COEFFICIENT_LABELS, e.g. "fleiss_kappa"
    median: float
    low: float
    high: float
    n_items: int
    n_undefined: int = 0


def summarize_items(
    coefficient: str, values: Iterable[float | None]
) -> ItemSummary | None:
    """Median and range of one coefficient over items; None when none is defined."""
    values = list(values)
    defined = [v for v in values if v is not None]
    if not defined:
        return None
    return ItemSummary(
        coefficient,
        statistics.median(defined),
        min(defined),
        max(defined),
        len(defined),
        len(values) - len(defined),
    )


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")


def _word(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def _count(n: int, noun: str) -> str:
    return f"{_word(n)} {noun}{'' if n == 1 else 's'}"


def _fmt(x: float) -> str:
    text = f"{x:.2f}"
    text = "0.00" if text == "-0.00" else text
    return text.replace("-", "\N{MINUS SIGN}")


def _fmt_range(low: float, high: float) -> str:
    lo, hi = _fmt(low), _fmt(high)
    # An en dash next to a minus sign reads as a subtraction; spell it out then.
    negative = "\N{MINUS SIGN}" in lo + hi
    return f"{lo} to {hi}" if negative else f"{lo}\N{EN DASH}{hi}"


def methods_sentence(
    *,
    n_reviewers: int,
    n_studies: int,
    instrument: str,
    design: Design,
    total_icc: Coefficient | None,
    item_summary: ItemSummary | None = None,
    reviewers_per_study: int | None = None,
) -> str:
    """A methods/results sentence naming the coefficients that fit the design.

    ``total_icc`` must be the form for the design: ``icc(m)[TOTAL_ICC_KEY[design]]``
    (ICC2 when the same reviewers scored every study, ICC1 otherwise).
    """
    clauses = [
        _opening(n_reviewers, n_studies, instrument, design, reviewers_per_study),
        _total_clause(design, total_icc),
    ]
    if item_summary is not None:
        clauses.append(_item_clause(item_summary))
    return "; ".join(clauses) + "."


def _opening(
    n_reviewers: int,
    n_studies: int,
    instrument: str,
    design: Design,
    per_study: int | None,
) -> str:
    studies = f"{n_studies} stud{'y' if n_studies == 1 else 'ies'}"
    if design == "fixed":
        reviewers = _count(n_reviewers, "reviewer").capitalize()
        return f"{reviewers} independently scored {studies} with {instrument}"
    if per_study:
        who = f"{_word(per_study)} of {_count(n_reviewers, 'reviewer')}"
    else:
        who = f"reviewers drawn from a pool of {_word(n_reviewers)}"
    return f"Each of {studies} was scored independently by {who} with {instrument}"


def _total_clause(design: Design, total: Coefficient | None) -> str:
    if total is None or total.value is None:
        reason = f" ({total.note})" if total is not None and total.note else ""
        return f"agreement on the total score could not be estimated{reason}"
    label = COEFFICIENT_LABELS[TOTAL_ICC_KEY[design]]
    ci = f" (95% CI {_fmt_range(*total.ci95)})" if total.ci95 else ""
    model = (
        "absolute agreement, two-way random effects"
        if design == "fixed"
        else "one-way random effects, as reviewers differed between studies"
    )
    return (
        f"agreement on the total score was {label} = {_fmt(total.value)}{ci}, {model}"
    )


def _item_clause(summary: ItemSummary) -> str:
    label = COEFFICIENT_LABELS[summary.coefficient]
    if summary.n_items == 1:
        text = f"item-level {label} was {_fmt(summary.median)} for the one item"
    else:
        text = (
            f"item-level agreement had a median {label} of {_fmt(summary.median)} "
            f"(range {_fmt_range(summary.low, summary.high)}) "
            f"across {summary.n_items} items"
        )
    if summary.n_undefined:
        more = _count(summary.n_undefined, "more item")
        text += f", and could not be estimated for {more}"
    return text


# --- reviewer leniency ------------------------------------------------------------


@dataclass(frozen=True)
class MeanDifference:
    mean: float
    n: int


@dataclass(frozen=True)
class Leniency:
    overall: MeanDifference
    periods: dict[Hashable, MeanDifference]


def leniency(
    pairs: Iterable[tuple[Hashable, Hashable, Any, Any]],
) -> dict[Hashable, Leniency]:
    """Per reviewer, the mean of (reviewer total - consensus total), overall and
    per period; positive means the reviewer scores more generously than the
    consensus. Pairs missing either total are skipped."""
    diffs: dict[Hashable, dict[Hashable, list[float]]] = {}
    for reviewer, period, own, consensus in pairs:
        if _is_missing(own) or _is_missing(consensus):
            continue
        per_period = diffs.setdefault(reviewer, {})
        per_period.setdefault(period, []).append(float(own) - float(consensus))
    return {
        reviewer: Leniency(
            overall=_mean_difference([d for ds in periods.values() for d in ds]),
            periods={p: _mean_difference(ds) for p, ds in periods.items()},
        )
        for reviewer, periods in diffs.items()
    }


def _mean_difference(values: list[float]) -> MeanDifference:
    return MeanDifference(statistics.fmean(values), len(values))
