"""Quotes are found again in the stored page text of real PDFs, forged ones are not.

The PDFs are made by WeasyPrint (tests/paperpdf.py) and read back by PDFium,
so line breaks, hyphenation and ligatures are the ones a real layout makes.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessments.papers.extract import extract
from assessments.papers.quotes import Span, locate, normalise
from tests import paperpdf

VALIDATION = (
    "The model was validated on an independent external cohort from a second "
    "hospital, and discrimination was measured with the area under the curve."
)
LIGATURES = (
    "The final figures show a significant effect of the flip angle, and the "
    "office workflow was efficient and fluent."
)
CURLY = (
    "The authors call this the \u201cradiomics signature\u201d of the tumour "
    "\u2014 a score."
)
HYPHENATED = (
    "Radiomics reproducibility characterisation demonstrates considerable "
    "heterogeneity across institutional acquisition protocols and "
    "reconstruction methodologies in multicentre investigations."
)
REPEATED = (
    "Segmentation was repeated by a second reader. The features were stable.\n\n"
    "Imaging was repeated after six months. The features were stable.\n\n"
    "Treatment changed the texture. The features were stable."
)


@cache
def paper() -> list[str]:
    """The page texts of one two-page paper, as they would be stored."""
    pdf = paperpdf.make_pdf(
        [
            f"{VALIDATION} {VALIDATION}\n\n{LIGATURES}\n\n{CURLY}\n\n{REPEATED}",
            "Page two reports the calibration plots and the decision curve analysis.",
        ],
        font_size="12pt",
    )
    return extract(pdf).pages


@cache
def hyphenated_page() -> str:
    return extract(paperpdf.make_pdf([HYPHENATED], hyphenate=True)).pages[0]


def quoted(text: str, span: Span | None) -> str:
    assert span is not None, "the quote was not found"
    return text[span.start : span.end]


def test_a_quote_across_a_line_break_is_found_at_its_offsets_in_the_page() -> None:
    page = paper()[0]
    exact = "validated on an independent external cohort from a second hospital"
    text = quoted(page, locate(page, exact))
    assert "\n" in text, (
        "the sentence should wrap in the PDF for this test to mean much"
    )
    assert normalise(text) == normalise(exact)


def test_a_quote_across_an_end_of_line_hyphenation_is_found() -> None:
    page = hyphenated_page()
    broken = [line for line in page.split("\n") if line.endswith("\u2010")]
    assert broken, "WeasyPrint should have hyphenated some words here"
    for exact in [
        "demonstrates considerable heterogeneity across institutional",
        "reconstruction methodologies in multicentre investigations.",
    ]:
        text = quoted(page, locate(page, exact))
        assert "\u2010\n" in text
        assert normalise(text) == normalise(exact)


def test_a_quote_selected_with_the_hyphen_and_line_break_is_found_too() -> None:
    page = hyphenated_page()
    line = next(line for line in page.split("\n") if line.endswith("\u2010"))
    after = page.split(line + "\n", 1)[1].split("\n", 1)[0]
    assert locate(page, f"{line}\n{after}") is not None
    # A browser may give a space for the line break.
    assert locate(page, f"{line.replace(chr(0x2010), '-')} {after}") is not None


def test_a_hyphen_typed_at_a_line_end_is_stored_as_on_the_page_and_found() -> None:
    pdf = paperpdf.make_pdf(
        ["<p>The radio-<br>mics features were well-<br>known to the readers.</p>"],
        html_pages=True,
    )
    page = extract(pdf).pages[0]
    # PDFium marks such a hyphen and drops the line break; the text keeps both.
    assert "radio-\nmics" in page and "\x02" not in page
    assert (
        quoted(page, locate(page, "The radiomics features"))
        == "The radio-\nmics features"
    )
    assert locate(page, "were well-known to the readers") is not None


def test_a_quote_across_ligatures_is_found() -> None:
    pdf = paperpdf.make_pdf([LIGATURES])
    # WeasyPrint shapes DejaVu Sans with ligature glyphs ...
    assert {"fi", "fl"} <= paperpdf.ligatures_in(pdf)
    page = extract(pdf).pages[0]
    # ... and PDFium gives their letters back through the fonts' ToUnicode maps.
    assert "final figures" in page and "\ufb01" not in page
    text = quoted(page, locate(page, "significant effect of the flip angle"))
    assert text.replace("\n", " ") == "significant effect of the flip angle"


def test_ligature_characters_in_the_page_text_match_plain_letters() -> None:
    # PDFs whose fonts map a ligature glyph to the ligature character itself.
    page = (
        "The \ufb01nal \ufb01gures show the \ufb02ip angle "
        "and the of\ufb01ce work\ufb02ow."
    )
    assert quoted(page, locate(page, "final figures show the flip angle")) == (
        "\ufb01nal \ufb01gures show the \ufb02ip angle"
    )
    assert quoted(page, locate(page, "office workflow")) == "of\ufb01ce work\ufb02ow"
    # Selecting half a ligature still finds it, with the whole glyph.
    assert quoted(page, locate(page, "inal")) == "\ufb01nal"


def test_quotes_with_curly_or_straight_quotation_marks_and_dashes_match() -> None:
    page = paper()[0]
    assert (
        locate(page, 'call this the "radiomics signature" of the tumour - a')
        is not None
    )
    assert locate(page, "\u201cradiomics signature\u201d of the tumour \u2013 a score")
    plain = "He said 'stable' and \"repeatable\" -- twice."
    assert (
        locate(plain, "said \u2018stable\u2019 and \u201crepeatable\u201d") is not None
    )


def test_case_and_whitespace_do_not_matter() -> None:
    page = paper()[0]
    assert locate(page, "THE MODEL   WAS\tvalidated\n on an independent") is not None


def test_a_forged_quote_is_not_found() -> None:
    page = paper()[0]
    assert (
        locate(page, "validated on an internal cohort from the same hospital") is None
    )
    assert locate(page, "The model was never validated.") is None
    assert locate(page, "") is None


def test_a_quote_on_page_two_is_not_found_on_page_one() -> None:
    first, second = paper()
    exact = "the calibration plots and the decision curve analysis"
    assert locate(first, exact) is None
    assert locate(second, exact) is not None


def test_a_repeated_phrase_is_told_apart_by_its_prefix_or_suffix() -> None:
    page = paper()[0]
    exact = "The features were stable."
    starts = [i for i in range(len(page)) if page.startswith("The features", i)]
    assert len(starts) == 3
    assert locate(page, exact) == Span(starts[0], starts[0] + len(exact))
    second = locate(page, exact, prefix="Imaging was repeated after six months. ")
    assert second == Span(starts[1], starts[1] + len(exact))
    third = locate(page, exact, prefix="the texture. ")
    assert third is not None and third.start == starts[2]
    # The suffix chooses as well: what follows the first one is "Imaging".
    by_suffix = locate(page, "The features were", suffix=" stable. Treatment")
    assert by_suffix is not None and by_suffix.start == starts[1]


def test_a_prefix_that_matches_nothing_does_not_hide_the_quote() -> None:
    page = paper()[0]
    assert locate(page, "area under the curve", prefix="nothing like this") is not None


def test_spaces_placed_differently_by_the_viewer_are_tolerated() -> None:
    page = "The radiomics features were extracted with PyRadiomics."
    assert quoted(page, locate(page, "radiomicsfeatures were extracted")) == (
        "radiomics features were extracted"
    )


@pytest.mark.parametrize("exact", ["a", "ab", " . ", "--"])
def test_a_very_short_quote_is_never_verified(exact: str) -> None:
    assert locate("a ab abc . -- a", exact) is None


def test_normalise_is_the_documented_folding() -> None:
    assert normalise(
        "The \ufb01rst \u201cbest\u201d radio-\nmics\u00a0score \u2014 x"
    ) == ('the first "best" radiomics score - x')
    assert (
        normalise("soft\u00adhyphen and soft\u00ad\nbreak")
        == "softhyphen and softbreak"
    )
    assert normalise("T2-\nWeighted") == "t2- weighted"
    assert normalise("COVID-19  and\n\npre- and post-operative") == (
        "covid-19 and preand postoperative"
    )


@given(st.data())
def test_any_run_of_whole_words_of_a_page_is_found(data: st.DataObject) -> None:
    page = data.draw(st.sampled_from([paper()[0], hyphenated_page()]))
    words = [match.span() for match in re.finditer(r"\S+", page)]
    first = data.draw(st.integers(0, len(words) - 1))
    last = data.draw(st.integers(first, min(first + 30, len(words) - 1)))
    exact = page[words[first][0] : words[last][1]]
    wanted = normalise(exact).strip().rstrip("-").rstrip()
    span = locate(page, exact)
    if len(wanted) < 3:
        assert span is None
    else:
        assert normalise(quoted(page, span)) == wanted
