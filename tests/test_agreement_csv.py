"""The long-format agreement CSV behind ``manage.py agreement`` (no Django).

Fixtures under tests/data/agreement/ hold the published examples that
test_agreement.py checks as matrices: Fleiss (1971), Krippendorff (2011,
with missing ratings written as an absent row, an empty value and NA), and
Shrout & Fleiss (1979) saved the way Excel does in decimal-comma locales
(BOM, semicolons, CRLF, "2,0").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.agreement.csvfile import AgreementInputError, compute_from_csv

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

DATA = Path(__file__).resolve().parent / "data" / "agreement"
COEFFICIENTS = [
    "percent_agreement",
    "all_raters_agree",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
]
SUFFIXES = ["", "_ci", "_n_subjects", "_n_raters", "_ci_method", "_weights"]
KEYS = [
    "subjects",
    "raters",
    "design",
    "design_note",
    "level",
    *(f"{name}{suffix}" for name in COEFFICIENTS for suffix in SUFFIXES),
    "icc",
    "notes",
]
ICC_KEYS = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
LINE_MESSAGE = re.compile(r"^line \d+: ")


def fixture(name: str) -> str:
    return (DATA / name).read_bytes().decode("utf-8")


def csv_text(rows: list[tuple[str, str, str]], header: str = "subject,rater,value"):
    return "\n".join([header, *(",".join(row) for row in rows)]) + "\n"


def two_rater_rows(table: list[list[int]], labels: list[str]) -> list[tuple]:
    """Long rows for two raters from a contingency table (rows are rater A)."""
    rows, n = [], 0
    for i, counts in enumerate(table):
        for j, count in enumerate(counts):
            for _ in range(count):
                n += 1
                rows += [(f"s{n}", "A", labels[i]), (f"s{n}", "B", labels[j])]
    return rows


SAS_3X3 = two_rater_rows([[0, 4, 1], [0, 8, 0], [0, 1, 5]], ["0", "1", "2"])


# --- results ------------------------------------------------------------------


def test_fleiss_1971_file_gives_published_kappa():
    result = compute_from_csv(fixture("fleiss_1971_diagnoses.csv"))
    assert list(result) == KEYS
    assert (result["subjects"], result["raters"]) == (30, 6)
    assert round(result["fleiss_kappa"], 3) == 0.430
    assert result["cohen_kappa"] is None
    assert (
        "Cohen's kappa: Cohen's kappa needs exactly two raters; found 6"
        in (result["notes"])
    )
    assert result["icc"] is None


def test_krippendorff_2011_file_at_the_nominal_level():
    result = compute_from_csv(fixture("krippendorff_2011.csv"))
    assert (result["subjects"], result["raters"]) == (12, 4)
    assert round(result["krippendorff_alpha"], 3) == 0.743
    assert result["percent_agreement"] == pytest.approx(0.8181818)
    assert result["design"] == "fixed"  # one panel of coders, some units missed
    assert round(result["gwet_ac1"], 5) == 0.77544
    assert [round(x, 3) for x in result["gwet_ac1_ci"]] == [0.461, 1.0]
    # Unequal numbers of ratings: Fleiss' generalised kappa, as irrCAC.
    assert round(result["fleiss_kappa"], 5) == 0.76117
    assert [round(x, 3) for x in result["fleiss_kappa_ci"]] == [0.424, 1.0]
    assert (result["fleiss_kappa_n_subjects"], result["fleiss_kappa_n_raters"]) == (
        11,
        4,
    )
    assert "irrCAC" in result["fleiss_kappa_ci_method"]
    assert result["fleiss_kappa_weights"] == "unweighted"
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize(("level", "alpha"), [("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_2011_file_at_other_levels(level, alpha):
    result = compute_from_csv(fixture("krippendorff_2011.csv"), level=level)
    assert round(result["krippendorff_alpha"], 3) == alpha


def test_interval_level_reports_icc_null_with_a_reason_when_ratings_are_missing():
    result = compute_from_csv(fixture("krippendorff_2011.csv"), level="interval")
    assert result["icc"] is None
    assert any(re.match(r"ICC: .*ratings missing: \d+", n) for n in result["notes"])


def test_excel_semicolon_file_with_bom_gives_shrout_fleiss_iccs():
    result = compute_from_csv(
        fixture("shrout_fleiss_1979_semicolon.csv"), level="interval"
    )
    assert (result["subjects"], result["raters"]) == (6, 4)
    assert list(result["icc"]) == ICC_KEYS
    values = [round(result["icc"][key]["value"], 2) for key in ICC_KEYS]
    assert values == [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    assert round(result["icc"]["ICC2"]["ci95"][0], 3) == 0.019
    assert isinstance(result["icc"]["ICC2"]["ci95"], list)
    json.dumps(result, allow_nan=False)


def test_icc_is_null_below_the_interval_level():
    result = compute_from_csv(
        fixture("shrout_fleiss_1979_semicolon.csv"), level="ordinal"
    )
    assert result["icc"] is None


@pytest.mark.parametrize(
    ("level", "kappa"),
    [("nominal", 0.4842), ("ordinal", 0.4701), ("interval", 0.4502)],
)
def test_cohen_kappa_weights_follow_the_level(level, kappa):
    # Unweighted, linear (SAS printout) and quadratic (hand computed in
    # test_agreement.py) kappa for the same 3x3 table.
    result = compute_from_csv(csv_text(SAS_3X3), level=level)
    assert round(result["cohen_kappa"], 4) == kappa


def test_ordinal_text_values_follow_order():
    words = {"1": "very low", "2": "low", "3": "mid", "4": "high", "5": "very high"}
    lines = fixture("krippendorff_2011.csv").splitlines()
    rows = [lines[0]]
    for line in lines[1:]:
        value, rest = line.split(",", 1)
        rows.append(f"{words.get(value, value)},{rest}")
    order = ["very low", "low", "mid", "high", "very high"]
    result = compute_from_csv("\n".join(rows), level="ordinal", order=order)
    assert round(result["krippendorff_alpha"], 3) == 0.815


def test_item_column_gives_one_result_per_item():
    text = (
        "item,subject,rater,value\n"
        "1.1,s1,ann,yes\n1.1,s1,bob,yes\n1.1,s2,ann,no\n1.1,s2,bob,yes\n"
        "1.2,s1,ann,2\n1.2,s1,bob,2\n1.2,s2,ann,NA\n1.2,s2,bob,1\n"
        "1.2,s3,ann,1\n1.2,s3,bob,1\n"
    )
    result = compute_from_csv(text)
    assert list(result) == ["items"]
    assert list(result["items"]) == ["1.1", "1.2"]
    first, second = result["items"]["1.1"], result["items"]["1.2"]
    assert list(first) == KEYS
    assert first["percent_agreement"] == 0.5
    assert second["percent_agreement"] == 1.0
    assert second["cohen_kappa"] == 1.0
    assert second["cohen_kappa_weights"] == "unweighted"
    assert (
        "Cohen's kappa: subjects rated by one rater only were left out: 1"
        in (second["notes"])
    )


ROTATING = [
    ("s1", "ann", "1"),
    ("s1", "bob", "2"),
    ("s2", "bob", "2"),
    ("s2", "cy", "2"),
    ("s3", "cy", "1"),
    ("s3", "ann", "1"),
    ("s4", "ann", "3"),
    ("s4", "cy", "3"),
]


def test_rotating_reviewers_are_interchangeable_one_way_icc_and_no_cohen():
    """Different raters per subject (the usual review): auto finds the
    interchangeable design; ICC(1,1) comes out instead of "ratings missing"."""
    result = compute_from_csv(csv_text(ROTATING), level="interval")
    assert result["design"] == "interchangeable"
    assert result["raters"] == 3
    assert result["cohen_kappa"] is None
    assert any("Cohen's kappa: not computed" in n for n in result["notes"])
    assert result["icc"]["ICC1"]["value"] is not None
    assert result["icc"]["ICC1"]["n_subjects"] == 4
    assert not any("ratings missing" in n for n in result["notes"])
    assert result["icc"]["ICC2"]["value"] is None
    assert "interchangeable" in result["icc"]["ICC2"]["note"]
    # Unweighted Fleiss and AC1 are left out at the interval level, and say so.
    assert result["fleiss_kappa"] is None and result["gwet_ac1"] is None
    assert any(
        "Fleiss' kappa and Gwet's AC1: not computed at the interval" in n
        for n in result["notes"]
    )


def test_rotating_reviewers_at_the_nominal_level_get_fleiss_and_alpha():
    result = compute_from_csv(csv_text(ROTATING))
    assert result["fleiss_kappa"] is not None
    assert result["krippendorff_alpha"] is not None
    assert result["fleiss_kappa_n_raters"] == 3


def test_design_can_be_forced():
    fixed = compute_from_csv(csv_text(ROTATING), level="interval", design="fixed")
    assert fixed["design"] == "fixed"
    assert fixed["icc"] is None  # each rater missed a subject
    assert any("ratings missing" in n for n in fixed["notes"])
    with pytest.raises(AgreementInputError, match="unknown design 'random'"):
        compute_from_csv(csv_text(ROTATING), design="random")


def test_ratio_level_reproduces_krippendorff_2011():
    result = compute_from_csv(fixture("krippendorff_2011.csv"), level="ratio")
    assert round(result["krippendorff_alpha"], 3) == 0.797
    assert result["krippendorff_alpha_weights"] == "ratio metric"
    assert result["level"] == "ratio"


def test_missing_value_spellings_and_trailing_delimiters():
    text = "subject,rater,value,\ns1,a,1,\ns1,b,NA,\ns2,a,na\ns2,b,\ns3,a,2\ns3,b,2\n"
    result = compute_from_csv(text)
    assert result["subjects"] == 3
    assert result["percent_agreement"] == 1.0


def test_nominal_numbers_match_regardless_of_spelling():
    result = compute_from_csv(csv_text([("s", "a", "1"), ("s", "b", "1.0")]))
    assert result["percent_agreement"] == 1.0


def test_header_columns_are_case_insensitive_and_in_any_order():
    text = "Value , RATER,subject\n1,a,s1\n1,b,s1\n"
    assert compute_from_csv(text)["subjects"] == 1


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the file is empty"),
        ("\ufeff\n  \n", "line 1: the file is empty"),
        ("subject,rater,value\n", "line 1: no ratings after the header"),
        ("\n\nsubject,rater,value\n\n", "line 3: no ratings after the header"),
        ("subject,rater\ns1,a\n", "line 1: missing column(s) value"),
        ("subject,rater,value,score\n", "line 1: unexpected column 'score'"),
        ("s1,a,1\ns1,b,1\n", "line 1: unexpected column 's1'"),
        ("subject,rater,value,Rater\n", "line 1: column 'rater' appears twice"),
        ("subject,rater,value\ns1,a\n", "line 2: expected 3 fields, found 2"),
        ("subject,rater,value\ns1,a,1,x\n", "line 2: expected 3 fields, found 4"),
        ("subject,rater,value\ns1,a,1\n,b,1\n", "line 3: empty subject"),
        ("item,subject,rater,value\n,s1,a,1\n", "line 2: empty item"),
        ('subject,rater,value\ns1,"a\nb",1\ns1,,1\n', "line 4: empty rater"),
    ],
)
def test_bad_files_raise_with_the_line_number(text, message):
    with pytest.raises(AgreementInputError) as error:
        compute_from_csv(text)
    assert str(error.value).startswith(message)


def test_repeated_rating_names_both_lines():
    text = "subject,rater,value\ns1,a,1\ns1,b,2\ns2,a,1\ns1,a,3\n"
    with pytest.raises(AgreementInputError) as error:
        compute_from_csv(text)
    assert str(error.value) == (
        "line 5: a second rating by rater 'a' of subject 's1'; the first is on line 2"
    )


def test_repeated_rating_on_another_item_is_fine_but_not_on_the_same_item():
    text = "item,subject,rater,value\nq1,s1,a,1\nq2,s1,a,1\nq1,s1,a,2\n"
    with pytest.raises(AgreementInputError, match=r"^line 4: .* on item 'q1'.* line 2"):
        compute_from_csv(text)


def test_ordinal_text_without_order_names_line_and_value():
    text = "subject,rater,value\ns1,a,1\ns1,b,high\n"
    with pytest.raises(AgreementInputError) as error:
        compute_from_csv(text, level="ordinal")
    assert str(error.value) == (
        "line 3: value 'high' is not a number (ordinal text values need --order a,b,c)"
    )


@pytest.mark.parametrize("value", ["yes", "nan", "inf", "1_000", "1,5", "1e999"])
def test_interval_level_needs_finite_numbers(value):
    text = f'subject,rater,value\ns1,a,1\ns1,b,"{value}"\n'
    with pytest.raises(
        AgreementInputError, match=r"^line 3: value .* is not a number$"
    ):
        compute_from_csv(text, level="interval")


def test_value_outside_order_is_an_error():
    with pytest.raises(AgreementInputError, match=r"^line 2: value 'mid' is not in"):
        compute_from_csv("subject,rater,value\ns,a,mid\n", order=["low", "high"])


@pytest.mark.parametrize(
    ("level", "order", "message"),
    [
        ("cardinal", None, "unknown level 'cardinal'"),
        ("interval", ["1", "2"], "--order applies to nominal and ordinal"),
        ("ordinal", [], "--order needs values"),
        ("ordinal", ["a", " "], "--order needs values"),
        ("ordinal", ["a", "b", "a"], "--order lists 'a' twice"),
        ("ordinal", ["a", "NA"], "--order cannot list 'NA'"),
    ],
)
def test_bad_options_raise(level, order, message):
    with pytest.raises(AgreementInputError, match=re.escape(message)):
        compute_from_csv("subject,rater,value\ns,a,1\n", level=level, order=order)


def test_csv_module_errors_become_input_errors():
    huge = "x" * 200_000
    with pytest.raises(AgreementInputError, match=r"^line 2: field larger"):
        compute_from_csv(f"subject,rater,value\ns1,a,{huge}\n")


# --- properties ------------------------------------------------------------------

LABELS = st.sampled_from(["s1", "s2", "s3", "s4", "s5"])
RATERS = st.sampled_from(["ann", "bob", "cy", "dee"])
ITEMS = st.sampled_from(["1.1", "1.2", "2"])
VALUES = {
    "nominal": ["yes", "no", "maybe", "1", "2", "", "NA", "na"],
    "ordinal": ["0", "1", "2", "3", " 2 ", "", "NA"],
    "interval": ["0", "1.5", "-3", "10", "1e1", ".5", "", "na"],
}


class Case(NamedTuple):
    level: str
    text: str
    header: list[str]  # column names in file order
    rows: list[dict[str, str]]  # the data rows, cell by column name
    delimiter: str


@st.composite
def well_formed(draw: st.DrawFn) -> Case:
    """A valid file with its parts, so tests can corrupt one of them."""
    level = draw(st.sampled_from(sorted(VALUES)))
    delimiter = draw(st.sampled_from([",", ";"]))
    item = ITEMS if draw(st.booleans()) else st.none()
    keys = draw(
        st.lists(st.tuples(item, LABELS, RATERS), min_size=1, max_size=30, unique=True)
    )
    names = ["subject", "rater", "value", *(["item"] if keys[0][0] else [])]
    header = draw(st.permutations(names))
    values = VALUES[level] + (
        ["2,5"] if delimiter == ";" and level == "interval" else []
    )
    rows = [
        {
            "item": code or "",
            "subject": s,
            "rater": r,
            "value": draw(st.sampled_from(values)),
        }
        for code, s, r in keys
    ]
    spelled = [draw(st.sampled_from([c, c.upper(), f" {c}"])) for c in header]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [spelled, *([row[c] for c in header] for row in rows)]
    text = newline.join(delimiter.join(cells) for cells in lines) + newline
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return Case(level, bom + text, header, rows, delimiter)


def render(case: Case, rows: list[dict[str, str]], header: list[str] | None = None):
    header = case.header if header is None else header
    lines = [header, *([row.get(c, "") for c in header] for row in rows)]
    return "\n".join(case.delimiter.join(cells) for cells in lines) + "\n"


@settings(max_examples=200, deadline=None)
@given(well_formed())
def test_well_formed_files_never_crash(case):
    result = compute_from_csv(case.text, level=case.level)
    parts = result["items"].values() if "items" in result else [result]
    for part in parts:
        assert list(part) == KEYS
        assert part["icc"] is None or list(part["icc"]) == ICC_KEYS
    json.dumps(result, allow_nan=False)


def corrupt(case: Case, how: str, victim: dict[str, str]) -> tuple[str, str]:
    """The text of a broken variant of the file, and the level to read it at."""
    if how == "duplicate":
        return render(case, [*case.rows, victim]), case.level
    if how == "bad number":
        return render(case, [*case.rows, {**victim, "value": "abc"}]), "interval"
    if how in ("empty subject", "empty rater"):
        label = how.removeprefix("empty ")
        return render(case, [*case.rows, {**victim, label: " "}]), case.level
    if how == "extra field":
        extra = case.delimiter.join([*(victim[c] for c in case.header), "oops"])
        return render(case, case.rows) + extra + "\n", case.level
    if how == "no value column":
        header = [c for c in case.header if c != "value"]
        return render(case, case.rows, header), case.level
    return render(case, []), case.level  # header only


CORRUPTIONS = [
    "duplicate",
    "bad number",
    "empty subject",
    "empty rater",
    "extra field",
    "no value column",
    "header only",
]


@settings(max_examples=200, deadline=None)
@given(well_formed(), st.sampled_from(CORRUPTIONS), st.data())
def test_malformed_files_raise_input_errors_naming_a_line(case, how, data):
    text, level = corrupt(case, how, data.draw(st.sampled_from(case.rows)))
    with pytest.raises(AgreementInputError) as error:
        compute_from_csv(text, level=level)
    assert LINE_MESSAGE.match(str(error.value))


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from('subjectravlueim,;"\n\r 12.xNA\ufeff\x00')),
    st.sampled_from(["nominal", "ordinal", "interval", "ratio"]),
)
def test_arbitrary_text_gives_a_result_or_an_input_error(text, level):
    try:
        result = compute_from_csv(text, level=level)
    except AgreementInputError as error:
        assert LINE_MESSAGE.match(str(error))
    else:
        json.dumps(result, allow_nan=False)
