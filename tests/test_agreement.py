"""Agreement statistics against published worked examples (no Django, no DB).

Sources of the expected figures:
- Shrout & Fleiss (1979) Psychol Bull 86:420-428, the 6 targets x 4 judges
  example; the 95% CIs are R psych::ICC's printout for the same data.
- Fleiss (1971) Psychol Bull 76:378-382, Table 1 (R irr::diagnoses).
- Krippendorff (2011) "Computing Krippendorff's alpha-reliability", the
  4 coders x 12 units example with missing values.
- Gwet's AC1, percent agreement, Fleiss' generalised kappa and the CI of
  Krippendorff's alpha for the same 12 units: R irrCAC's README for
  cac.raw4raters (AC1 0.77544, CI 0.461 to 1; pa 0.8181818, CI 0.542 to 1;
  Fleiss 0.76117, CI 0.424 to 1; alpha 0.74342, CI 0.423 to 1). The ratio
  level's 0.797 is Krippendorff (2011) again.
- Cohen's kappa: Wikipedia's 50-application example (kappa 0.40) and SAS
  PROC FREQ's printout for a 3x3 table (kappa 0.4842, weighted 0.4701).
- Bland & Altman (1986) Lancet i:307-310, peak expiratory flow by Wright vs
  mini Wright meter (first readings): bias -2.1, SD 38.8 l/min.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments import agreement as ag

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

ROOT = Path(__file__).resolve().parent.parent

SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]

# Krippendorff (2011), transposed to units x coders A-D; None = not coded.
KRIPPENDORFF_2011 = [
    list(unit)
    for unit in zip(
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
        strict=True,
    )
]

# Fleiss (1971) Table 1: 30 patients x 6 psychiatrists, diagnoses 1-5
# (depression, personality disorder, schizophrenia, neurosis, other).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip


def pairs_from_table(table: list[list[int]], labels: list[str]) -> list[list[str]]:
    """Two-rater matrix from a contingency table (rows rater 1, columns rater 2)."""
    return [
        [labels[i], labels[j]]
        for i, row in enumerate(table)
        for j, count in enumerate(row)
        for _ in range(count)
    ]


# Wikipedia "Cohen's kappa": 50 applications, yes/no by readers A (rows) and B.
WIKIPEDIA_50 = pairs_from_table([[20, 5], [10, 15]], ["yes", "no"])
# SAS PROC FREQ example as reproduced in statsmodels' tests: 19 subjects.
SAS_3X3 = pairs_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]], ["a", "b", "c"])


# --- ICC ---------------------------------------------------------------------


def test_icc_reproduces_shrout_fleiss_1979_table():
    result = ag.icc(SHROUT_FLEISS)
    published = {
        "ICC1": 0.17,
        "ICC2": 0.29,
        "ICC3": 0.71,
        "ICC1k": 0.44,
        "ICC2k": 0.62,
        "ICC3k": 0.91,
    }
    assert {key: round(result[key].value, 2) for key in ag.ICC_KEYS} == published


def test_icc_confidence_intervals_match_r_psych():
    # psych::ICC prints the lower bound to 3 decimals, the upper to 2.
    printed = {
        "ICC1": (-0.133, 0.72),
        "ICC2": (0.019, 0.76),
        "ICC3": (0.342, 0.95),
        "ICC1k": (-0.884, 0.91),
        "ICC2k": (0.071, 0.93),
        "ICC3k": (0.676, 0.99),
    }
    result = ag.icc(SHROUT_FLEISS)
    for key, (low, high) in printed.items():
        ci = result[key].ci95
        assert ci is not None
        assert (round(ci[0], 3), round(ci[1], 2)) == (low, high), key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_icc_matches_pingouin_on_random_complete_data(seed):
    pd = pytest.importorskip("pandas")
    pg = pytest.importorskip("pingouin")
    x = np.random.default_rng(seed).normal(size=(12, 3)) + np.arange(12)[:, None] / 4
    long = pd.DataFrame(
        [(i, j, x[i, j]) for i in range(12) for j in range(3)],
        columns=["subject", "rater", "score"],
    )
    table = pg.intraclass_corr(long, "subject", "rater", "score")
    ours = ag.icc(x.tolist())
    # pingouin orders its rows ICC(1,1), ICC(A,1), ICC(C,1) and the k forms,
    # which are Shrout-Fleiss ICC1, ICC2, ICC3...; it rounds CIs to 2 decimals.
    for key, (_, row) in zip(ag.ICC_KEYS, table.iterrows(), strict=True):
        assert ours[key].value == pytest.approx(row["ICC"], abs=1e-12)
        ci95 = row["CI95"] if "CI95" in row else row["CI95%"]  # renamed in 0.7
        assert ours[key].ci95 == pytest.approx(tuple(ci95), abs=0.005 + 1e-9)


def test_icc_is_none_with_reason_when_a_rating_is_missing():
    matrix = [row[:] for row in SHROUT_FLEISS]
    matrix[2][1] = None
    result = ag.icc(matrix)
    assert set(result) == set(ag.ICC_KEYS)
    assert all(c.value is None for c in result.values())
    assert "ratings missing: 1" in result["ICC2"].note


def test_icc_treats_nan_as_missing():
    matrix = np.array(SHROUT_FLEISS, dtype=float)
    matrix[0, 0] = np.nan
    assert ag.icc(matrix)["ICC1"].value is None


@pytest.mark.parametrize(
    ("matrix", "reason"),
    [
        ([[1, 2, 3]], "at least two subjects"),
        ([[1], [2], [3]], "at least two subjects and two raters"),
        ([[3, 3], [3, 3]], "identical"),
        ([["a", "b"], ["b", "a"]], "numeric"),
    ],
)
def test_icc_is_none_with_reason_for_unusable_data(matrix, reason):
    assert reason in ag.icc(matrix)["ICC1"].note


def test_icc_of_perfect_agreement_is_one_without_an_interval():
    result = ag.icc([[1, 1], [2, 2], [4, 4]])
    assert result["ICC2"].value == pytest.approx(1.0)
    assert result["ICC2"].ci95 is None
    assert "CI undefined" in result["ICC2"].note


def test_icc_form_with_a_non_positive_variance_estimate_is_undefined():
    # Raters disagree perfectly: the ICC(2,k) denominator is -0.5 and the raw
    # ratio 2.0, which psych and pingouin would print; we say "undefined".
    result = ag.icc([[0, 1], [1, 0]])
    assert result["ICC2k"].value is None
    assert "not positive" in result["ICC2k"].note
    assert result["ICC1"].value == pytest.approx(-1.0)


# --- kappas, alpha, AC1 --------------------------------------------------------


def test_fleiss_kappa_reproduces_fleiss_1971():
    assert round(ag.fleiss_kappa(FLEISS_1971).value, 3) == 0.430


def test_fleiss_kappa_accepts_different_raters_with_equal_counts():
    # Rotation: each subject rated twice, by different people.
    matrix = [[1, 1, None], [None, 2, 2], [1, None, 2], [2, 2, None]]
    assert ag.fleiss_kappa(matrix).value == pytest.approx(
        ag.fleiss_kappa([[1, 1], [2, 2], [1, 2], [2, 2]]).value
    )


def test_fleiss_kappa_generalises_to_unequal_numbers_of_ratings_as_irrcac():
    result = ag.fleiss_kappa(KRIPPENDORFF_2011)
    assert round(result.value, 5) == 0.76117
    assert (round(result.ci95[0], 3), result.ci95[1]) == (0.424, 1.0)
    assert (result.n_subjects, result.n_raters) == (11, 4)
    assert "irrCAC" in result.ci_method and result.weights == "unweighted"


def test_fleiss_kappa_equals_statsmodels_fleiss_1971_when_counts_are_equal():
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(7)
    matrix = rng.integers(0, 4, size=(25, 5)).tolist()
    table, _ = aggregate_raters(np.array(matrix))
    assert ag.fleiss_kappa(matrix).value == pytest.approx(sm_fleiss(table))


def test_fleiss_kappa_is_none_when_everyone_chose_one_category():
    assert "one category" in ag.fleiss_kappa([[1, 1], [1, 1]]).note


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_reproduces_krippendorff_2011(level, published):
    value = ag.krippendorff_alpha(KRIPPENDORFF_2011, level).value
    assert round(value, 3) == published


def test_krippendorff_alpha_carries_irrcac_ci_and_its_metric():
    nominal = ag.krippendorff_alpha(KRIPPENDORFF_2011, "nominal")
    assert (round(nominal.ci95[0], 3), nominal.ci95[1]) == (0.423, 1.0)
    assert (nominal.n_subjects, nominal.n_raters) == (11, 4)
    assert nominal.weights == "nominal metric"
    ordinal = ag.krippendorff_alpha(KRIPPENDORFF_2011, "ordinal")
    assert ordinal.ci95 is None and "ordinal level" in ordinal.note


@pytest.mark.parametrize("level", ["nominal", "interval", "ratio"])
def test_gwet_alpha_behind_the_ci_equals_krippendorff_package(level):
    """The CI's formulas reproduce the krippendorff package's value on random
    data with missing ratings, so the CI belongs to the value printed."""
    from assessments.agreement.linearised import alpha_estimate, weight_matrix
    from assessments.agreement.ratings import category_counts, normalized_rows

    rng = np.random.default_rng(11)
    matrix = rng.integers(1, 6, size=(30, 4)).astype(float)
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    rows = [
        r for r in normalized_rows(matrix.tolist()) if any(v is not None for v in r)
    ]
    cats = sorted({v for r in rows for v in r if v is not None})
    kind = {"nominal": "identity", "interval": "quadratic", "ratio": "ratio"}[level]
    gwet = alpha_estimate(category_counts(rows, cats), weight_matrix(kind, cats))
    assert gwet.value == pytest.approx(ag.krippendorff_alpha(rows, level).value)


def test_krippendorff_alpha_orders_text_categories_as_given():
    words = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    matrix = [[words.get(v) for v in unit] for unit in KRIPPENDORFF_2011]
    order = ["very low", "low", "mid", "high", "very high"]
    assert round(ag.krippendorff_alpha(matrix, "ordinal", order).value, 3) == 0.815
    assert "category order" in ag.krippendorff_alpha(matrix, "ordinal").note


def test_krippendorff_alpha_is_none_without_pairable_or_varied_ratings():
    assert "two or more" in ag.krippendorff_alpha([[1, None], [None, 2]]).note
    assert "identical" in ag.krippendorff_alpha([[1, 1], [1, 1], [2, None]]).note


def test_gwet_ac1_reproduces_irrcac_example_with_missing_ratings():
    result = ag.gwet_ac1(KRIPPENDORFF_2011)
    assert round(result.value, 5) == 0.77544
    assert (round(result.ci95[0], 3), result.ci95[1]) == (0.461, 1.0)
    assert (result.n_subjects, result.n_raters) == (11, 4)


def test_pairwise_agreement_and_its_ci_reproduce_irrcac():
    result = ag.pairwise(KRIPPENDORFF_2011)
    assert result.value == pytest.approx(0.8181818)
    assert (round(result.ci95[0], 3), result.ci95[1]) == (0.542, 1.0)


def test_all_raters_agree_counts_subjects_where_every_rating_is_the_same():
    # Krippendorff (2011): 8 of the 11 units rated twice or more are unanimous
    # (units 2, 6 and 8 are not).
    result = ag.all_agree(KRIPPENDORFF_2011)
    assert result.value == pytest.approx(8 / 11)
    assert result.ci_method.startswith("Wilson")
    assert 0 < result.ci95[0] < 8 / 11 < result.ci95[1] < 1


def test_gwet_ac1_two_raters_hand_computed():
    # Wikipedia's 50 applications: pa = 35/50 = 0.70; "yes" shares are
    # 25/50 (A) and 30/50 (B), so pi_yes = 0.55 and pe = 2 x 0.55 x 0.45 =
    # 0.495 (q = 2); AC1 = (0.70 - 0.495) / (1 - 0.495) = 0.40594.
    assert ag.gwet_ac1(WIKIPEDIA_50).value == pytest.approx(0.205 / 0.505)


def test_gwet_ac1_counts_listed_categories_even_if_unused():
    # pe = sum pi (1 - pi) / (q - 1): listing a third category lowers it.
    observed = ag.gwet_ac1(WIKIPEDIA_50).value
    listed = ag.gwet_ac1(WIKIPEDIA_50, categories=["yes", "no", "maybe"]).value
    assert listed == pytest.approx((0.70 - 0.495 / 2) / (1 - 0.495 / 2))
    assert listed > observed


def test_gwet_ac1_is_null_on_one_category_unless_the_others_are_known():
    alone = ag.gwet_ac1([[1, 1], [1, 1]])
    assert alone.value is None and "one category" in alone.note
    # With the item's options known, chance agreement is defined (pe = 0).
    assert ag.gwet_ac1([[1, 1], [1, 1]], categories=[0, 1]).value == 1.0


CHANCE_CORRECTED = {
    "cohen_kappa": lambda m: ag.cohen_kappa(m),
    "fleiss_kappa": ag.fleiss_kappa,
    "krippendorff_alpha": ag.krippendorff_alpha,
    "gwet_ac1": lambda m: ag.gwet_ac1(m),
}


@pytest.mark.parametrize("name", CHANCE_CORRECTED)
@pytest.mark.parametrize(
    ("matrix", "why"),
    [
        ([["a", "b"]], "at least two subjects"),  # one subject: kappa would be -1
        ([["a", "b"], ["a", None]], "at least two subjects"),
        ([["a", "a"], ["a", "a"], ["a", "a"]], "one category|identical|chance"),
    ],
    ids=["one subject", "one subject rated twice", "all equal"],
)
def test_degenerate_data_give_null_with_a_reason_never_a_bare_number(name, matrix, why):
    result = CHANCE_CORRECTED[name](matrix)
    assert result.value is None
    assert re.search(why, result.note), result.note


def test_icc_on_one_subject_or_all_equal_is_null_with_a_reason():
    assert "two subjects" in ag.icc([[3, 4]])["ICC1"].note
    assert "identical" in ag.icc([[3, 3], [3, 3]])["ICC2"].note


def test_percent_agreement_is_pairwise_over_subjects_with_two_ratings():
    assert ag.percent_agreement(WIKIPEDIA_50) == pytest.approx(0.70)
    assert ag.percent_agreement(KRIPPENDORFF_2011) == pytest.approx(0.8181818)
    # Subject 1: 1 of 3 pairs agree; subject 2 has a single rating, so it is left out.
    assert ag.percent_agreement([["a", "a", "b"], ["a", None, None]]) == 1 / 3
    assert ag.percent_agreement([[1, None], [None, 2]]) is None


def test_cohen_kappa_reproduces_wikipedia_example():
    assert ag.cohen_kappa(WIKIPEDIA_50).value == pytest.approx(0.40)


def test_cohen_kappa_reproduces_sas_printout_with_confidence_limits():
    plain = ag.cohen_kappa(SAS_3X3)
    linear = ag.cohen_kappa(SAS_3X3, "linear", categories=["a", "b", "c"])
    assert round(plain.value, 4) == 0.4842
    assert tuple(round(x, 4) for x in plain.ci95) == (0.2137, 0.7547)
    assert round(linear.value, 4) == 0.4701
    assert tuple(round(x, 4) for x in linear.ci95) == (0.1845, 0.7558)
    assert (plain.weights, linear.weights) == ("unweighted", "linear")
    assert (plain.n_subjects, plain.n_raters) == (19, 2)
    assert plain.ci_method.startswith("asymptotic standard error")


def test_cohen_kappa_ci_never_leaves_minus_one_to_one():
    # Near-perfect agreement on few subjects: the normal limits pass 1.
    matrix = [["a", "a"]] * 5 + [["b", "b"]] * 5 + [["a", "b"]]
    result = ag.cohen_kappa(matrix)
    assert result.ci95[1] == 1.0 and result.ci95[0] < result.value


def test_weighted_cohen_kappa_hand_computed():
    # Row totals (5, 8, 6), column totals (0, 13, 6), n = 19. Disagreement
    # weights |i - j| / 2 (linear) or (i - j)^2 / 4 (quadratic):
    # linear: observed 4(.5) + 1(1) + 1(.5) = 3.5; expected x n:
    # (.5*5*13 + 1*5*6 + .5*8*6 + .5*6*13) / 19 = 125.5 / 19, kappa =
    # 1 - 3.5 * 19 / 125.5. Quadratic: 2.25 and 77.75 / 19 likewise.
    linear = ag.cohen_kappa(SAS_3X3, "linear", categories=["a", "b", "c"])
    quadratic = ag.cohen_kappa(SAS_3X3, "quadratic", categories=["a", "b", "c"])
    assert linear.value == pytest.approx(1 - 3.5 * 19 / 125.5)
    assert quadratic.value == pytest.approx(1 - 2.25 * 19 / 77.75)


def test_weighted_cohen_kappa_uses_scores_for_spacing():
    code = {"a": 0, "b": 1, "c": 2}
    numeric = [[code[a], code[b]] for a, b in SAS_3X3]
    # Scores 0, 1, 2 are the default positions, so the result is unchanged...
    same = ag.cohen_kappa(numeric, "linear", categories=[0, 1, 2], scores=[0, 1, 2])
    assert same.value == pytest.approx(1 - 3.5 * 19 / 125.5)
    # ...while pulling "c" further away changes the weights.
    apart = ag.cohen_kappa(numeric, "linear", categories=[0, 1, 2], scores=[0, 1, 5])
    assert apart.value != pytest.approx(same.value)


def test_cohen_kappa_is_none_with_reason_for_three_raters():
    result = ag.cohen_kappa([[1, 1, 2], [2, 2, 2]])
    assert result.value is None
    assert result.note == "Cohen's kappa needs exactly two raters; found 3"


def test_cohen_kappa_leaves_out_subjects_rated_once_and_says_so():
    result = ag.cohen_kappa([*WIKIPEDIA_50, ["yes", None], [None, "no"]])
    assert result.value == pytest.approx(0.40)
    assert result.note == "subjects rated by one rater only were left out: 2"


def test_cohen_kappa_is_none_when_chance_agreement_is_total():
    assert "undefined" in ag.cohen_kappa([["x", "x"], ["x", "x"]]).note
    assert "not among" in ag.cohen_kappa([["x", "y"]], categories=["x"]).note


# --- Bland-Altman, design, reporting ------------------------------------------

WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178]
WRIGHT += [423, 427]
MINI_WRIGHT = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477]
MINI_WRIGHT += [259, 350, 451]


def test_bland_altman_reproduces_bland_altman_1986():
    result = ag.bland_altman(WRIGHT, MINI_WRIGHT)
    assert result["n"] == 17
    assert (round(result["bias"], 1), round(result["sd"], 1)) == (-2.1, 38.8)
    # The paper used 2 SD (-79.7 to 75.5); 1.96 SD gives -78.1 to 73.9.
    assert (round(result["lower"], 1), round(result["upper"], 1)) == (-78.1, 73.9)


def test_bland_altman_skips_missing_pairs_and_needs_two():
    result = ag.bland_altman([Decimal("10"), None, 3.0], [8, 1, float("nan")])
    assert result["n"] == 1
    assert result["bias"] == 2.0
    assert result["sd"] is None
    assert "two paired" in result["note"]


def test_detect_design_fixed_when_every_study_has_the_same_reviewers():
    assert ag.detect_design({"s1": {"ann", "bob"}, "s2": {"bob", "ann"}}) == "fixed"
    assert ag.detect_design({}) == "fixed"


def test_detect_design_fixed_for_one_panel_with_missing_ratings():
    # Krippendorff (2011): coders A-D, each missing some units.
    panel = {"u1": {"A", "B", "D"}, "u2": {"A", "B", "C", "D"}, "u12": {"C"}}
    assert ag.detect_design(panel) == "fixed"


def test_detect_design_interchangeable_for_a_balanced_rotation():
    rotation = {"s1": {"ann", "bob"}, "s2": {"bob", "cy"}, "s3": {"cy", "ann"}}
    assert ag.detect_design(rotation) == "interchangeable"


def test_coefficients_for_design():
    fixed_two = ag.coefficients_for_design("fixed", 2)
    assert fixed_two.total[:2] == ("ICC2", "ICC3")
    assert fixed_two.items[0] == "cohen_kappa"
    assert ag.coefficients_for_design("fixed", 3).items[0] == "fleiss_kappa"
    rotating = ag.coefficients_for_design("interchangeable", 2)
    assert rotating.total == ("ICC1", "ICC1k")
    assert {"fleiss_kappa", "krippendorff_alpha"} <= set(rotating.items)
    assert "cohen_kappa" not in rotating.items
    assert ag.coefficients_for_design("fixed", 1) == ag.ApplicableCoefficients((), ())
    with pytest.raises(ValueError, match="unknown design"):
        ag.coefficients_for_design("crossed", 2)


def test_methods_sentence_for_two_fixed_reviewers():
    sentence = ag.methods_sentence(
        n_reviewers=2,
        n_studies=24,
        instrument="RQS 1.0",
        design="fixed",
        total_icc=ag.Coefficient(0.62, (0.31, 0.83)),
    )
    assert sentence == (
        "Two reviewers independently scored 24 studies with RQS 1.0; agreement on "
        "the total score was ICC(2,1) = 0.62 (95% CI 0.31\u20130.83), absolute "
        "agreement, two-way random effects."
    )


def test_methods_sentence_for_rotating_reviewers_with_item_summary():
    items = ag.summarize_items("fleiss_kappa", [0.48, -0.12, 0.75, 0.30, None])
    sentence = ag.methods_sentence(
        n_reviewers=5,
        n_studies=30,
        instrument="METRICS",
        design="interchangeable",
        total_icc=ag.icc(SHROUT_FLEISS)["ICC1"],
        item_summary=items,
        reviewers_per_study=2,
    )
    assert sentence == (
        "Each of 30 studies was scored independently by two of five reviewers with "
        "METRICS; agreement on the total score was ICC(1,1) = 0.17 (95% CI "
        "\u22120.13 to 0.72), one-way random effects, as reviewers differed between "
        "studies; item-level agreement had a median Fleiss' kappa of 0.39 (range "
        "\u22120.12 to 0.75) across 4 items, and could not be estimated for one "
        "more item."
    )


def test_methods_sentence_says_when_the_total_could_not_be_estimated():
    sentence = ag.methods_sentence(
        n_reviewers=3,
        n_studies=1,
        instrument="CLEAR",
        design="fixed",
        total_icc=ag.icc([[1, 2, 3]])["ICC2"],
    )
    assert sentence.startswith("Three reviewers independently scored 1 study")
    assert "could not be estimated (ICC needs at least two subjects" in sentence


def test_leniency_per_reviewer_overall_and_per_period():
    result = ag.leniency(
        [
            ("ann", "2024", 20, 18),
            ("ann", "2024", 15, 15),
            ("ann", "2025", Decimal("12.5"), Decimal("14")),
            ("bob", "2024", 10, 12),
            ("bob", "2025", None, 12),
        ]
    )
    assert list(result) == ["ann", "bob"]
    assert result["ann"].overall == ag.MeanDifference(mean=0.5 / 3, n=3)
    assert result["ann"].periods == {
        "2024": ag.MeanDifference(1.0, 2),
        "2025": ag.MeanDifference(-1.5, 1),
    }
    assert result["bob"].overall == ag.MeanDifference(-2.0, 1)


# --- robustness -------------------------------------------------------------------

ratings = st.one_of(st.none(), st.sampled_from([0, 1, 2]), st.just(float("nan")))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda k: st.lists(st.lists(ratings, min_size=k, max_size=k), max_size=7)
    )
)
def test_coefficients_never_raise_and_stay_in_range(matrix):
    results = [
        ag.cohen_kappa(matrix, "quadratic"),
        ag.fleiss_kappa(matrix),
        ag.krippendorff_alpha(matrix, "interval"),
        ag.gwet_ac1(matrix),
        *ag.icc(matrix).values(),
    ]
    for result in results:
        if result.value is None:
            assert result.note
        else:
            assert math.isfinite(result.value)
            assert result.value <= 1 + 1e-9
    percent = ag.percent_agreement(matrix)
    assert percent is None or 0 <= percent <= 1


def test_importing_agreement_leaves_heavy_libraries_unloaded():
    heavy = ("scipy", "statsmodels", "pingouin", "pandas", "krippendorff")
    code = (
        "import sys, assessments.agreement; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]", out.stderr
