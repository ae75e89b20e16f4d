"""Agreement from the subjects x categories table, with Gwet's linearised
variances: mean pairwise agreement, Fleiss' generalised kappa and the 95% CI
of Krippendorff's alpha.

Gwet, Handbook of Inter-Rater Reliability, 4th ed. (2014), chapters 2 and 5,
as R irrCAC implements them (``pa.coeff.raw``, ``fleiss.kappa.raw`` and
``krippen.alpha.raw`` in ``R/agree.coeff3.raw.r``), term by term: the same
weights, the same finite-sample variance (an infinite population, so no
correction), a t quantile on n - 1 degrees of freedom and the upper limit
capped at 1. The tests check each against irrCAC's published output.

Fleiss' kappa here is the generalised form: subjects may have different
numbers of ratings (pi_k averages each subject's shares r_ik / r_i). With the
same number of ratings everywhere it is Fleiss' (1971) kappa exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..words import say as _

WeightKind = Literal["identity", "linear", "quadratic", "ratio"]

CI_METHOD = _(
    "Gwet's linearised variance, t distribution on n - 1 degrees of freedom, "
    "upper limit capped at 1 (Gwet 2014; as R irrCAC)"
)


@dataclass(frozen=True)
class Estimate:
    value: float
    ci95: tuple[float, float] | None


def weight_matrix(kind: WeightKind, values: Sequence[float]) -> np.ndarray:
    """irrCAC's agreement weights (1 on the diagonal) over ordered categories.

    ``values`` are the categories' numbers: the scores themselves for numeric
    data, so quadratic weights are spaced by value as irrCAC spaces them (R irr
    and statsmodels space them by rank).
    """
    x = np.asarray(values, dtype=float)
    q = len(x)
    if kind == "identity" or q == 1:
        return np.eye(q)
    gap = x[:, None] - x[None, :]
    span = x.max() - x.min()
    if kind == "linear":
        return 1 - np.abs(gap) / span
    if kind == "quadratic":
        return 1 - gap**2 / span**2
    if kind == "ratio":
        total = x[:, None] + x[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(total == 0, 0.0, gap / total) ** 2
        top = (span / (x.max() + x.min())) ** 2
        return 1 - ratio / top
    raise ValueError(f"unknown weights {kind!r}")


def _t_interval(
    value: float, terms: np.ndarray, centre: float, n: int, df: int
) -> tuple[float, float] | None:
    from scipy.stats import t

    if n < 2 or df < 1:
        return None
    variance = float(((terms - centre) ** 2).sum()) / (n * (n - 1))
    half = float(t.ppf(0.975, df)) * math.sqrt(variance)
    if not math.isfinite(half):
        return None
    return (value - half, min(1.0, value + half))


def _agreeing_pairs(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per subject, the (weighted) number of agreeing ordered rater pairs."""
    weighted = counts @ weights.T
    return (counts * (weighted - 1)).sum(1)


def pairwise_agreement(counts: np.ndarray) -> Estimate:
    """Mean over subjects rated twice or more of the share of agreeing pairs
    (irrCAC ``pa.coeff.raw``); ``counts`` has one row per rated subject."""
    r = counts.sum(1)
    paired = r >= 2
    n, n2 = len(r), int(paired.sum())
    pairs = _agreeing_pairs(counts, np.eye(counts.shape[1]))
    den = r * (r - 1)
    den = np.where(den == 0, -1, den)
    share = pairs / den
    pa = float(share[paired].sum() / n2)
    terms = (n / n2) * share
    return Estimate(pa, _t_interval(pa, terms, pa, n, n - 1))


def fleiss_generalised(counts: np.ndarray, weights: np.ndarray) -> Estimate:
    """Fleiss' generalised kappa and its CI (irrCAC ``fleiss.kappa.raw``)."""
    r = counts.sum(1)
    paired = r >= 2
    n, n2 = len(r), int(paired.sum())
    pairs = _agreeing_pairs(counts, weights)
    den = r * (r - 1)
    den = np.where(den == 0, -1, den)
    pa = float((pairs[paired] / den[paired]).sum() / n2)
    pi = (counts / r[:, None]).mean(0)
    pe = float((weights * np.outer(pi, pi)).sum())
    kappa = (pa - pe) / (1 - pe)
    kappa_i = (n / n2) * (pairs / den - pe * paired) / (1 - pe)
    pi_w = (weights @ pi + weights.T @ pi) / 2
    pe_i = (counts @ pi_w) / r
    terms = kappa_i - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    return Estimate(kappa, _t_interval(kappa, terms, kappa, n, n - 1))


def alpha_estimate(counts: np.ndarray, weights: np.ndarray) -> Estimate:
    """Krippendorff's alpha and its CI from Gwet's variance (irrCAC
    ``krippen.alpha.raw``). With identity, quadratic or ratio weights the value
    equals Krippendorff's nominal, interval or ratio alpha."""
    n0 = len(counts)
    pairs_all = _agreeing_pairs(counts, weights)
    r_all = counts.sum(1)
    keep = r_all >= 2
    a, pairs, r = counts[keep], pairs_all[keep], r_all[keep]
    n, r_bar = len(r), float(r.mean())
    eps = 1 / float(r.sum())
    share = pairs / (r_bar * (r - 1))
    pa_prime = float(share.sum() / n)
    pa = (1 - eps) * pa_prime + eps
    pi = (a / r_bar).mean(0)
    pe = float((weights * np.outer(pi, pi)).sum())
    alpha = (pa - pe) / (1 - pe)
    alpha_prime = (pa_prime - pe) / (1 - pe)
    pa_i = share - pa_prime * (r - r_bar) / r_bar
    alpha_i = (pa_i - pe) / (1 - pe)
    pi_w = (weights @ pi + weights.T @ pi) / 2
    pe_i = (a @ pi_w) / r_bar - pe * (r - r_bar) / r_bar
    terms = alpha_i - 2 * (1 - alpha_prime) * (pe_i - pe) / (1 - pe)
    return Estimate(alpha, _t_interval(alpha, terms, alpha_prime, n, n0 - 1))
