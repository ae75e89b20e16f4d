"""Agreement on numeric scores: the six Shrout & Fleiss ICCs with their 95%
CIs, and Bland-Altman limits of agreement.

The ICCs are written out with their published formulas cited, and the tests
check them against pingouin and R's psych. scipy is imported inside the
functions that need it: it costs seconds, and every web process imports this
package.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..words import say as _
from .ratings import (
    Coefficient,
    RatingMatrix,
    Row,
    Unsupported,
    is_missing,
    is_number,
    normalized_rows,
    rated_values,
    reason,
)

ICC_KEYS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
ICC_CI = _(
    "F distribution (Shrout & Fleiss 1979; McGraw & Wong 1996, with "
    "Satterthwaite's degrees of freedom for absolute agreement)"
)


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
    rows = [row for row in normalized_rows(matrix) if rated_values(row)]
    try:
        ms = _mean_squares(_complete_numeric(rows))
    except Unsupported as exc:
        width = len(rows[0]) if rows else 0
        return {
            key: Coefficient(None, None, reason(exc), len(rows), width)
            for key in ICC_KEYS
        }
    values = _icc_values(ms)
    cis = _icc_cis(ms, values["ICC2"])
    return {
        key: replace(
            _icc_coefficient(values[key], cis[key]), n_subjects=ms.n, n_raters=ms.k
        )
        for key in ICC_KEYS
    }


def _complete_numeric(rows: list[Row]) -> np.ndarray:
    missing = sum(v is None for row in rows for v in row)
    if missing:
        raise Unsupported(
            _(
                "ICC needs every rater to rate every subject; ratings missing: %(n)s",
                n=missing,
            )
        )
    if not all(is_number(v) for row in rows for v in row):
        raise Unsupported(_("ICC needs numeric ratings"))
    x = np.array(rows, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise Unsupported(_("ICC needs at least two subjects and two raters"))
    if np.ptp(x) == 0:
        raise Unsupported(_("all ratings are identical: ICC is undefined"))
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
            None, None, _("undefined: its variance estimate is not positive")
        )
    low, high = float(ci[0]), float(ci[1])
    if math.isfinite(low) and math.isfinite(high):
        return Coefficient(value, (low, high), None, ci_method=ICC_CI)
    return Coefficient(value, None, _("95% CI undefined (no residual variance)"))


# --- Bland-Altman -------------------------------------------------------------

# 97.5th percentile of the standard normal; Bland & Altman (1986) rounded it to 2.
_Z975 = 1.959963984540054


def bland_altman(a: Iterable[Any], b: Iterable[Any]) -> dict[str, Any]:
    """Bias (mean of a - b), SD of the differences and 95% limits of agreement;
    pairs with a missing side are skipped."""
    diffs = [
        float(x) - float(y)
        for x, y in zip(a, b, strict=True)
        if not (is_missing(x) or is_missing(y))
    ]
    n = len(diffs)
    if n < 2:
        return {
            "n": n,
            "bias": diffs[0] if diffs else None,
            "sd": None,
            "lower": None,
            "upper": None,
            "note": _("limits of agreement need at least two paired ratings"),
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
