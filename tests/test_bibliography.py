"""Parsing of uploaded bibliographies (assessments.bibliography, no Django)."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from pathlib import Path

import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessments.bibliography import (
    FORMATS,
    STUDY_FIELDS,
    ImportFormatError,
    ParseResult,
    RecordProblem,
    StudyRecord,
    detect_format,
    duplicate_keys,
    find_duplicates_within,
    normalise_doi,
    normalise_title,
    parse_studies,
)
from assessments.bibliography.latex import simple_latex_to_text

DATA = Path(__file__).parent / "data" / "imports"

FILES = {
    "studies.ris": "ris",
    "studies.bib": "bibtex",
    "studies.nbib": "medline",
    "studies.xml": "pubmed-xml",
    "studies.csv": "csv",
    "studies_semicolon.csv": "csv",
}


def parse(name: str, fmt: str | None = None) -> ParseResult:
    return parse_studies((DATA / name).read_bytes(), fmt)


def fields(result: ParseResult) -> dict[int, Mapping[str, object]]:
    assert result.problems == []
    return {record.index: record.fields for record in result.records}


def problems(result: ParseResult) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for problem in result.problems:
        found.setdefault(problem.index, []).append(str(problem))
    return found


def assert_problems(result: ParseResult, expected: dict[int, list[str]]) -> None:
    """Every expected fragment appears, in order, and nothing else is reported."""
    found = problems(result)
    assert sorted(found) == sorted(expected), found
    for index, fragments in expected.items():
        assert len(found[index]) == len(fragments), found[index]
        for message, fragment in zip(found[index], fragments, strict=True):
            assert fragment in message, (message, fragment)


# --- each format --------------------------------------------------------------


def test_ris_fields() -> None:
    result = parse("studies.ris")
    records = fields(result)
    assert result.format == "ris"
    assert sorted(records) == [1, 2, 3, 4]
    first = records[1]
    assert first["title"] == (
        "CT radiomics signature for EGFR mutation status in lung adenocarcinoma: "
        "a multicentre study"
    )
    assert first["authors"] == "Müller, Anna; van der Berg, Jan; Rossi, Marco"
    assert first["year"] == 2021
    assert first["journal"] == "European Radiology"
    assert first["doi"] == "10.5555/eurrad.2021.0412"
    assert first["pmid"] == "99000101"
    # Continuation lines of a wrapped abstract are joined.
    abstract = str(first["abstract"])
    assert abstract.startswith("Objectives: To develop")
    assert abstract.endswith("extracted with PyRadiomics.")
    assert "\n" not in abstract


def test_ris_alternative_tags_and_conservative_pmid() -> None:
    records = fields(parse("studies.ris"))
    second, third, fourth = records[2], records[3], records[4]
    # T1 / A1 / Y1 / JF / N2 instead of TI / AU / PY / JO / AB.
    assert str(second["title"]).startswith("Deep learning versus handcrafted")
    assert second["authors"] == "García, Lucía; Chen, Wei"
    assert second["year"] == 2020
    assert second["journal"] == "Radiology"
    assert str(second["abstract"]).startswith("Purpose:")
    # M1 "3" is an issue number and AN a Web of Science id: neither is a PMID.
    assert second["pmid"] == ""
    # DA year, T2 journal, "doi:" prefix; a 10-digit (Embase) AN is no PMID,
    # the 8-digit M1 is.
    assert third["year"] == 2022
    assert third["journal"] == "Frontiers in Oncology"
    assert third["doi"] == "10.5555/fonc.2022.998877"
    assert third["pmid"] == "99000103"
    assert str(fourth["title"]).startswith("Δ-radiomics")
    assert fourth["journal"] == "Eur J Radiol"
    assert fourth["doi"] == ""
    assert fourth["year"] == 2023


def test_ris_agrees_with_rispy_on_a_well_formed_file() -> None:
    text = (DATA / "studies.ris").read_text(encoding="utf-8")
    theirs = rispy.loads(text)
    ours = parse_studies(text).records
    assert len(theirs) == len(ours)
    for entry, record in zip(theirs, ours, strict=True):
        title = entry.get("title") or entry.get("primary_title")
        authors = entry.get("authors") or entry.get("first_authors")
        assert " ".join(title.split()) == record.fields["title"]
        assert "; ".join(authors) == record.fields["authors"]
        assert normalise_doi(entry.get("doi")) == record.fields["doi"]


def test_ris_windows_line_endings() -> None:
    data = (DATA / "studies.ris").read_bytes()
    crlf = parse_studies(data.replace(b"\n", b"\r\n"))
    assert crlf.records == parse_studies(data).records


def test_bibtex_fields() -> None:
    result = parse("studies.bib")
    records = fields(result)
    assert result.format == "bibtex"
    assert sorted(records) == [1, 2, 3, 4]
    first = records[1]
    # Braces and LaTeX accents are cleaned; "{...}" keeps a group author whole.
    assert first["title"] == (
        "CT radiomics signature for EGFR mutation status in lung adenocarcinoma: "
        "a multicentre study"
    )
    assert first["authors"] == (
        "Müller, Anna; van der Berg, Jan; Radiomics Quality Consortium"
    )
    assert first["journal"] == "European Radiology"  # from @string
    assert first["year"] == 2021
    assert first["doi"] == "10.5555/eurrad.2021.0412"
    assert first["pmid"] == "99000101"  # eprint with eprinttype = pubmed
    assert "50% of features" in str(first["abstract"])


def test_biblatex_fields_and_non_pubmed_eprint() -> None:
    records = fields(parse("studies.bib"))
    assert records[2]["year"] == 2022  # date = {2022-11-02}
    assert records[2]["journal"] == "Frontiers in Oncology"  # journaltitle
    assert records[2]["doi"] == "10.5555/fonc.2022.998877"
    assert records[2]["pmid"] == "99000103"
    assert records[3]["authors"] == "García, Lucía; Chen, Wei"
    assert records[3]["journal"] == ""  # inproceedings: booktitle is no journal
    assert records[4]["pmid"] == ""  # an arXiv eprint is not a PMID


def test_medline_fields() -> None:
    result = parse("studies.nbib")
    records = fields(result)
    assert result.format == "medline"
    assert sorted(records) == [1, 2, 3]
    first = records[1]
    assert first["pmid"] == "99000101"
    # TI continues on a line indented 6 spaces.
    assert first["title"] == (
        "CT radiomics signature for EGFR mutation status in lung adenocarcinoma: "
        "a multicentre study."
    )
    # FAU (full names) is preferred to AU; CN is a group author.
    assert first["authors"] == (
        "Müller, Anna; van der Berg, Jan; Radiomics Quality Consortium"
    )
    assert first["year"] == 2021
    assert first["journal"] == "European radiology"  # JT before TA
    assert first["doi"] == "10.5555/eurrad.2021.0412"
    assert str(first["abstract"]).startswith("OBJECTIVES:")
    assert str(first["abstract"]).endswith("in external validation.")


def test_medline_fallbacks() -> None:
    records = fields(parse("studies.nbib"))
    # LID is a [pii]: the DOI comes from AID; no FAU, so AU; only TA.
    assert records[2]["doi"] == "10.5555/radiol.2020.191234"
    assert records[2]["authors"] == "García L; Chen W"
    assert records[2]["journal"] == "Radiology"
    assert records[2]["year"] == 2020  # DP 2020 Dec-2021 Jan
    assert records[3]["doi"] == ""
    assert records[3]["abstract"] == ""


def test_pubmed_xml_fields() -> None:
    result = parse("studies.xml")  # carries the usual efetch DOCTYPE
    records = fields(result)
    assert result.format == "pubmed-xml"
    assert sorted(records) == [1, 2, 3]
    first = records[1]
    assert first["pmid"] == "99000101"
    # Text inside <i> is kept.
    assert first["title"] == (
        "CT radiomics signature for EGFR mutation status in lung adenocarcinoma: "
        "a multicentre study."
    )
    assert first["authors"] == "Müller A; van der Berg J; Radiomics Quality Consortium"
    assert first["journal"] == "European radiology"
    assert first["year"] == 2021
    assert first["doi"] == "10.5555/eurrad.2021.0412"
    assert first["abstract"] == (
        "OBJECTIVES: To develop and validate a CT radiomics signature predicting "
        "EGFR mutation status.\n"
        "METHODS: 412 patients from three centres were included.\n"
        "RESULTS: The signature reached an AUC of 0.81 (95% CI 0.76\u20130.86)."
    )


def test_pubmed_xml_fallbacks_and_reference_list() -> None:
    records = fields(parse("studies.xml"))
    assert records[2]["year"] == 2020  # MedlineDate 2020 Dec-2021 Jan
    assert records[2]["doi"] == "10.5555/radiol.2020.191234"  # ArticleIdList
    # Cited papers' DOIs in ReferenceList are not the article's.
    assert records[3]["doi"] == ""
    assert records[3]["pmid"] == "99000103"


def test_csv_fields() -> None:
    result = parse("studies.csv")
    records = fields(result)
    assert result.format == "csv"
    assert sorted(records) == [1, 2, 3, 4]  # the blank line is skipped
    first = records[1]
    assert first == {
        "title": "CT radiomics signature for EGFR mutation status in lung "
        "adenocarcinoma: a multicentre study",
        "authors": "Müller A; van der Berg J; Rossi M",
        "year": 2021,
        "journal": "European Radiology",
        "doi": "10.5555/eurrad.2021.0412",
        "pmid": "99000101",
        "abstract": "Objectives: To develop a CT radiomics signature.\n"
        'Methods: 412 patients, "three" centres.',
        "modality": "CT",
        "disease": "Lung adenocarcinoma",
        "clinical_task": "diagnosis",
        "method_track": "handcrafted",
        "sample_size": 412,
        "data_url": "https://example.org/data/egfr",
        "code_url": "https://github.com/example/egfr-radiomics",
        "xnat_project": "EGFR_CT",
    }


def test_csv_normalises_values() -> None:
    records = fields(parse("studies.csv"))
    assert records[2]["doi"] == "10.5555/radiol.2020.191234"
    assert records[2]["method_track"] == "both"  # "Both"
    assert records[3]["method_track"] == "deep_learning"  # "Deep learning"
    assert records[3]["authors"] == "Okafor C; Lindqvist S"  # "Okafor C;Lindqvist S"
    assert records[4]["method_track"] == ""
    assert records[4]["sample_size"] is None
    assert records[4]["year"] == 2023


def test_csv_semicolons_bom_and_header_spellings() -> None:
    records = fields(parse("studies_semicolon.csv"))
    assert records[1]["clinical_task"] == "response prediction"  # "Clinical Task"
    assert records[1]["method_track"] == "handcrafted"  # "Method-Track"
    assert records[1]["sample_size"] == 154  # "Sample Size"
    assert records[2]["title"] == (
        "PET/CT radiomics; a systematic review of reproducibility"
    )
    assert records[2]["authors"] == "Kowalski M; Tanaka H"
    assert records[2]["code_url"] == "https://github.com/example/pet-review"


def test_every_record_has_every_field_with_its_type() -> None:
    for name in FILES:
        for record in parse(name).records:
            assert isinstance(record, StudyRecord)
            assert tuple(record.fields) == STUDY_FIELDS
            for key, value in record.fields.items():
                if key in ("year", "sample_size"):
                    assert value is None or isinstance(value, int)
                else:
                    assert isinstance(value, str)
                    assert value == value.strip()


# --- detection, encodings, overrides -------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), FILES.items())
def test_detect_format_from_content(name: str, fmt: str) -> None:
    data = (DATA / name).read_bytes()
    assert detect_format(data) == fmt
    assert detect_format(data.decode("utf-8-sig")) == fmt


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("% JabRef comments first\n\n@Article{k,\n title={T}}\n", "bibtex"),
        ("Provider: Example\n\nTY  - JOUR\nTI  - T\nER  - \n", "ris"),
        ("\n\nPMID- 99000101\nTI  - T\n", "medline"),
        ('<?xml version="1.0"?>\n<PubmedArticle></PubmedArticle>', "pubmed-xml"),
        ("Title;Year\nT;2020\n", "csv"),
        ("TITLE\tDOI\nT\t10.5555/x\n", "csv"),
        ("", None),
        ("just some notes\nabout radiomics\n", None),
        ("name,email\nAnna,anna@example.org\n", None),
        ('<?xml version="1.0"?><rdf:RDF></rdf:RDF>', None),
    ],
)
def test_detect_format_cases(text: str, fmt: str | None) -> None:
    assert detect_format(text) == fmt


@pytest.mark.parametrize("name", FILES)
def test_byte_order_mark_is_ignored(name: str) -> None:
    data = (DATA / name).read_bytes().removeprefix(codecs.BOM_UTF8)
    plain = parse_studies(data)
    assert parse_studies(codecs.BOM_UTF8 + data) == plain
    assert parse_studies("\ufeff" + data.decode("utf-8")) == plain


def test_explicit_format_overrides_detection() -> None:
    # A MEDLINE fragment without a PMID line is not recognised...
    text = "TI  - Radiomics of renal masses on CT.\nDP  - 2020 Jan\n"
    assert detect_format(text) is None
    with pytest.raises(ImportFormatError, match="unrecognised file format"):
        parse_studies(text)
    # ...but can be read when the user says what it is.
    result = parse_studies(text, "medline")
    assert result.format == "medline"
    assert result.records[0].fields["title"] == "Radiomics of renal masses on CT."
    assert result.records[0].fields["year"] == 2020


def test_wrong_explicit_format_finds_no_records() -> None:
    result = parse("studies.csv", "ris")
    assert result.format == "ris"
    assert result.records == []
    assert [str(p) for p in result.problems] == ["file: no ris records found"]


def test_unknown_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'endnote'"):
        parse_studies(b"TY  - JOUR\n", "endnote")


def test_empty_upload() -> None:
    with pytest.raises(ImportFormatError, match="empty"):
        parse_studies(b"  \n")


def test_non_utf8_file_names_the_byte_and_offset() -> None:
    with pytest.raises(ImportFormatError) as caught:
        parse("latin1.csv")
    assert str(caught.value).startswith("not UTF-8 (byte 0xE9 at offset 37, line 2)")


def test_non_utf8_offset_counts_the_byte_order_mark() -> None:
    data = codecs.BOM_UTF8 + (DATA / "latin1.csv").read_bytes()
    with pytest.raises(ImportFormatError, match=r"byte 0xE9 at offset 40"):
        parse_studies(data)


def test_utf16_and_spreadsheet_uploads_are_explained() -> None:
    with pytest.raises(ImportFormatError, match="UTF-16"):
        parse_studies("title\nT\n".encode("utf-16"))
    with pytest.raises(ImportFormatError, match="Excel"):
        parse_studies(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xa1\x00")


# --- malformed files: every problem, by record ----------------------------------


def test_malformed_ris_lists_every_problem() -> None:
    result = parse("malformed.ris")
    assert [r.index for r in result.records] == [1]
    assert_problems(
        result,
        {
            2: ["record 2 (line 6): no title"],
            3: ["no 'ER  -' line before the next record (line 16)"],
            4: [
                "Radiomics-based survival model for glioblastoma: year: '19' "
                "is not a 4-digit year",
                "doi: '10.55/gbm' does not look like a DOI",
            ],
            5: ["does not start with a 'TY  -' line"],
            6: ["no closing 'ER  -' line"],
        },
    )


def test_malformed_bibtex_lists_every_problem() -> None:
    result = parse("malformed.bib")
    # The broken entry does not take the following good one with it.
    assert [r.index for r in result.records] == [1, 3]
    assert_problems(
        result,
        {
            2: ["record 2 (line 7): unreadable BibTeX entry '@article{broken2021,'"],
            4: ["Duplicate entry key 'ok2020'"],
            5: [
                "year: 'circa 2021' is not a 4-digit year",
                "doi: 'pancreas-2021' does not look like a DOI",
                "pmid: 'PMID:99000999' is not a PubMed ID (digits only)",
            ],
            6: ["record 6 (line 29): no title"],
        },
    )


def test_xml_that_is_not_pubmed() -> None:
    data = (DATA / "not_pubmed.xml").read_bytes()
    assert detect_format(data) is None
    with pytest.raises(ImportFormatError, match="not PubMed XML"):
        parse_studies(data)
    with pytest.raises(ImportFormatError, match="root element is <references>"):
        parse_studies(data, "pubmed-xml")


def test_pubmed_xml_with_unusable_records() -> None:
    result = parse("malformed_pubmed.xml")
    assert [r.index for r in result.records] == [1]
    assert_problems(
        result,
        {
            2: ["record 2: <PubmedBookArticle> is not a journal article record"],
            3: [
                "record 3 (PMID 99000303): no title",
                "year: '21' is not a 4-digit year",
            ],
            4: ["record 4 (PMID 99000304): no MedlineCitation/Article element"],
        },
    )


def test_malformed_csv_lists_every_problem() -> None:
    result = parse("malformed.csv")
    assert [r.index for r in result.records] == [1]
    assert_problems(
        result,
        {
            0: ["header: unknown columns: 'Reviewer', 'Notes'"],
            2: ["year: '20l9' is not a 4-digit year"],
            3: ["line 4: no title"],
            4: [
                "doi: '10.5555' does not look like a DOI",
                "pmid: 'PMID:123' is not a PubMed ID",
                "method_track: 'radiomics' is not one of handcrafted, "
                "deep_learning, both",
                "sample_size: '-5' is not a positive integer",
            ],
            5: [
                "values in columns without a header: 10",
                "sample_size: '0' is not a positive integer",
            ],
        },
    )


def test_csv_with_unquoted_semicolon_authors_is_caught() -> None:
    # "; " between authors in a ";"-separated file shifts the columns.
    text = "Title;Authors;Year;DOI\nA radiomics study;Kowalski M; Tanaka H;2019;\n"
    result = parse_studies(text)
    assert_problems(
        result,
        {1: ["year: 'Tanaka H' is not a 4-digit year", "doi: '2019' does not"]},
    )


def test_csv_blank_lines_before_header_and_between_rows() -> None:
    result = parse_studies("\n\ntitle,year\nFirst,2020\n\nSecond,20\n")
    assert [r.fields["title"] for r in result.records] == ["First"]
    assert [str(p) for p in result.problems] == [
        "Second: year: '20' is not a 4-digit year"
    ]


def test_xml_with_blank_lines_before_the_declaration() -> None:
    data = b"\n\n" + (DATA / "studies.xml").read_bytes()
    assert len(parse_studies(data).records) == 3


def test_csv_without_title_column() -> None:
    result = parse_studies("doi,year\n10.5555/x,2020\n")
    assert result.records == []
    assert [str(p) for p in result.problems] == ["header: no 'title' column"]


def test_csv_with_repeated_column() -> None:
    result = parse_studies("title,Title\nA,B\n")
    assert [str(p) for p in result.problems] == [
        "header: columns given more than once: title"
    ]


def test_csv_unclosed_quote_is_not_swallowed_silently() -> None:
    text = 'title,year\nFirst,2020\n"Second, 2021\nThird,2022\n'
    with pytest.raises(ImportFormatError, match="record starting at line 3"):
        parse_studies(text)


def test_problem_reads_as_label_and_message() -> None:
    problem = RecordProblem(3, "record 3", "no title")
    assert str(problem) == "record 3: no title"


def test_long_titles_and_values_are_shortened_in_problems() -> None:
    title = "Radiomics " * 20
    result = parse_studies(f"title,year\n{title},{'9' * 100}\n")
    [problem] = result.problems
    assert len(problem.label) == 80
    assert problem.label.endswith("…")
    assert len(problem.message) < 120


def test_control_characters_are_removed() -> None:
    result = parse_studies("title,year\nRadio\x00mics\x07 study,2020\n")
    assert result.records[0].fields["title"] == "Radiomics study"


# --- PubMed XML safety -----------------------------------------------------------


@pytest.mark.parametrize("name", ["entity_expansion.xml", "external_entity.xml"])
def test_xml_entity_declarations_are_refused(name: str) -> None:
    with pytest.raises(ImportFormatError, match="not allowed in uploads"):
        parse(name)


def test_xml_external_parameter_entity_is_refused() -> None:
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "pubmed.dtd" '
        '[<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n<PubmedArticleSet/>'
    )
    with pytest.raises(ImportFormatError, match="not allowed in uploads"):
        parse_studies(text)


def test_xml_external_dtd_is_not_fetched() -> None:
    # Only a DOCTYPE naming an external DTD, as efetch writes it: allowed,
    # never loaded, and an entity it might define stays unexpanded.
    text = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE PubmedArticleSet SYSTEM "file:///etc/passwd">\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>99000001</PMID>"
        "<Article><ArticleTitle>A &secret; title</ArticleTitle></Article>"
        "</MedlineCitation></PubmedArticle></PubmedArticleSet>"
    )
    [record] = parse_studies(text).records
    assert record.fields["title"] == "A title"


def test_xml_not_well_formed() -> None:
    with pytest.raises(ImportFormatError, match="not well-formed XML"):
        parse_studies("<PubmedArticleSet><PubmedArticle></PubmedArticleSet>")


# --- identifiers and duplicates ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("10.5555/ABC.123", "10.5555/abc.123"),
        ("  doi:10.5555/abc.123 ", "10.5555/abc.123"),
        ("DOI: 10.5555/abc.123", "10.5555/abc.123"),
        ("https://doi.org/10.5555/ABC.123", "10.5555/abc.123"),
        ("http://dx.doi.org/10.5555/abc.123", "10.5555/abc.123"),
        ("https://doi.org/10.5555%2Fabc.123", "10.5555/abc.123"),
        ("10.5555/abc\n.123", "10.5555/abc.123"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_doi(raw: str | None, doi: str) -> None:
    assert normalise_doi(raw) == doi


def test_normalise_title() -> None:
    expected = "radiomics for predicting microvascular invasion in hcc"
    for variant in [
        "Radiomics for predicting microvascular invasion in HCC",
        "RADIOMICS — for predicting microvascular-invasion in HCC!",
        "Radiómics for prédicting  microvascular invasion in HCC.",
        "  radiomics: for predicting microvascular invasion, in hcc ",
    ]:
        assert normalise_title(variant) == expected
    assert normalise_title("Straße ﬁndings") == "strasse findings"
    assert normalise_title(None) == ""


def test_duplicate_keys() -> None:
    keys = duplicate_keys(
        {"doi": "https://doi.org/10.5555/X", "pmid": " 99000601 ", "title": "A, b!"}
    )
    assert keys == [("doi", "10.5555/x"), ("pmid", "99000601"), ("title", "a b")]
    assert duplicate_keys({"doi": "", "pmid": None, "title": "T"}) == [("title", "t")]
    assert duplicate_keys({}) == []


def test_duplicates_within_a_file() -> None:
    result = parse("duplicates.ris")
    found = [
        (earlier.index, later.index, reason)
        for earlier, later, reason in find_duplicates_within(result.records)
    ]
    assert found == [
        (1, 2, "same DOI"),  # case and resolver prefix differ
        (1, 3, "same PMID"),
        (1, 4, "same title"),  # punctuation and case differ
        (1, 5, "same title"),  # accents differ
    ]


def test_duplicate_reported_once_with_strongest_key() -> None:
    records = [
        StudyRecord(1, {"title": "Same title", "doi": "", "pmid": ""}),
        StudyRecord(2, {"title": "Other", "doi": "10.5555/a", "pmid": ""}),
        StudyRecord(3, {"title": "Same title", "doi": "10.5555/A", "pmid": ""}),
    ]
    [(earlier, later, reason)] = find_duplicates_within(records)
    assert (earlier.index, later.index, reason) == (2, 3, "same DOI")


# --- LaTeX fast path -------------------------------------------------------------


@pytest.mark.parametrize(
    "latex",
    [
        r"M{\"u}ller",
        r"Garc{\'\i}a",
        r"\v{S}koda",
        r"\c{C}elik",
        r"\"{O}zt\"urk",
        r"Tom\'a\v{s}",
        r"\H{o} \k{a} \u{g} \={a} \.{z} \^{o} \`a \~n \v s",
        r"50\% of {CT} scans, R\&D, a\_b, \#1, \$5",
        r"CT--based, 1990---2000, ``quoted''",
        r"{Radiomics Quality Consortium}",
    ],
)
def test_latex_fast_path_matches_pylatexenc(latex: str) -> None:
    slow, error = LatexDecodingMiddleware()._transform_python_value_string(latex)
    assert error == ""
    assert simple_latex_to_text(latex) == slow


@pytest.mark.parametrize(
    "latex", [r"$\alpha$", r"\textit{in vivo}", "5 % a comment", "et~al.", r"\{x\}"]
)
def test_latex_fast_path_leaves_the_rest_to_pylatexenc(latex: str) -> None:
    assert simple_latex_to_text(latex) is None


def test_bibtex_macros_still_decoded_by_pylatexenc() -> None:
    text = r"@article{k, title = {Radiomics \textit{in vivo}: $\alpha$ maps}}"
    [record] = parse_studies(text).records
    assert record.fields["title"] == r"Radiomics in vivo: $\alpha$ maps"


# --- robustness --------------------------------------------------------------------

FRAGMENTS = [
    "TY  - ",
    "ER  - ",
    "TI  - ",
    "AU  - ",
    "PY  - ",
    "DO  - ",
    "AN  - ",
    "PMID- ",
    "FAU - ",
    "LID - ",
    " [doi]",
    "\n",
    "\r\n",
    "      ",
    "@article{",
    "@string{",
    "{",
    "}",
    " = ",
    ",",
    ";",
    "\t",
    '"',
    "\\",
    "\\'",
    "$",
    "%",
    "~",
    "title",
    " and ",
    "<?xml version='1.0'?>",
    "<PubmedArticleSet>",
    "</PubmedArticleSet>",
    "<PubmedArticle>",
    "</PubmedArticle>",
    "<MedlineCitation>",
    "<Article>",
    "<ArticleTitle>",
    "</ArticleTitle>",
    "<!DOCTYPE x [",
    "<!ENTITY a 'b'>",
    "]>",
    "&a;",
    "title,year,doi\n",
    "10.5555/x",
    "2021",
    "\ufeff",
    "\x00",
    "é",
]
format_like_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40
).map("".join)
uploads = st.one_of(
    st.binary(max_size=400),
    format_like_text,
    format_like_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=uploads, fmt=st.one_of(st.none(), st.sampled_from(FORMATS)))
def test_arbitrary_input_only_raises_import_format_error(
    data: bytes | str, fmt: str | None
) -> None:
    try:
        result = parse_studies(data, fmt)
    except ImportFormatError:
        return
    assert result.format in FORMATS
    # Every record is either clean or has problems, never both.
    clean = {record.index for record in result.records}
    assert clean.isdisjoint(problem.index for problem in result.problems)


@given(st.text())
def test_title_normalisation_is_idempotent(title: str) -> None:
    assert normalise_title(normalise_title(title)) == normalise_title(title)


@given(st.text())
def test_doi_normalisation_is_idempotent(doi: str) -> None:
    assert normalise_doi(normalise_doi(doi)) == normalise_doi(doi)
