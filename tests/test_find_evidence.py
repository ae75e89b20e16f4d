"""`manage.py find_evidence`: its JSON contract, its errors, and recall on a fixed set.

The paper is a real PDF (WeasyPrint, read back with PDFium) holding eight
passages from openly licensed radiomics papers (tests/data/evidence-sample.json,
each with its DOI and licence) among filler paragraphs that address no item.
"""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from assessments.instruments import (
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
)
from assessments.papers.extract import extract
from assessments.papers.finder import find, hints_fingerprint, item_query
from assessments.papers.passages import passages, sentence_spans
from tests.factories import load_instrument
from tests.paperpdf import make_pdf

SAMPLE = json.loads(
    (Path(__file__).parent / "data" / "evidence-sample.json").read_text()
)
# Where each sampled item's passage sits in the paper, as in a manuscript.
RESULTS = {"22"}
STATEMENTS = {"29"}


def paper_pages() -> list[str]:
    filler = SAMPLE["filler"]
    methods, results, statements = [], [], []
    for n, passage in enumerate(SAMPLE["passages"]):
        item, text = passage["item"], passage["text"]
        if item in STATEMENTS:
            statements.append(text)
        elif item in RESULTS:
            results += [filler["results"][n % len(filler["results"])], text]
        else:
            methods += [filler["methods"][n % len(filler["methods"])], text]
    return [
        "\n\n".join(
            ["Imaging signature of early recurrence in liver cancer", "Introduction"]
            + filler["introduction"]
        ),
        "\n\n".join(["Materials and methods", *methods]),
        "\n\n".join(["Results", *filler["results"], *results]),
        "\n\n".join(
            [
                "Discussion",
                *filler["discussion"],
                "Availability",
                *statements,
                "References",
                *filler["references"],
            ]
        ),
    ]


@pytest.fixture(scope="module")
def paper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("papers") / "paper.pdf"
    path.write_bytes(make_pdf(paper_pages(), title="Synthetic paper"))
    return path


def run(**options: Any) -> str:
    out = StringIO()
    call_command("find_evidence", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def run_json(**options: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run(json=True, **options))
    return result


def metrics() -> Any:
    path = bundled_definitions_dir() / "metrics-1.0.yaml"
    return parse_definition(load_definition_file(path))


def word_triples(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def is_the_passage(candidate: str, passage: str) -> bool:
    """Half the window is the passage, or the window holds half of the passage."""
    mine, theirs = word_triples(candidate), word_triples(passage)
    shared = len(mine & theirs)
    return shared * 2 >= len(mine) or shared * 2 >= len(theirs)


@pytest.mark.django_db
def test_json_has_every_item_with_short_passages_best_first(paper: Path) -> None:
    result = run_json(instrument="metrics-1.0", pdf=str(paper))
    pages = extract(paper).page_count
    assert result["instrument"] == "metrics-1.0"
    assert list(result["items"]) == [item.code for item in metrics().items]
    for candidates in result["items"].values():
        assert len(candidates) <= 5
        scores = [c["score"] for c in candidates]
        assert scores == sorted(scores, reverse=True)
        for c in candidates:
            assert set(c) == {"page", "text", "score"}
            assert isinstance(c["page"], int) and 1 <= c["page"] <= pages
            assert len(c["text"].split()) <= 80
            assert len(sentence_spans(c["text"])) <= 3
            assert c["score"] > 0


@pytest.mark.django_db
def test_one_item_and_fewer_passages(paper: Path) -> None:
    result = run_json(instrument="metrics-1.0", pdf=str(paper), item="12", top=2)
    assert list(result["items"]) == ["12"]
    assert 1 <= len(result["items"]["12"]) <= 2
    assert "IBSI" in result["items"]["12"][0]["text"]


@pytest.mark.django_db
def test_loaded_version_is_used_when_there_is_one(paper: Path) -> None:
    load_instrument("metrics-1.0")
    bare = run_json(instrument="metrics", pdf=str(paper), item="29")
    assert bare["instrument"] == "metrics-1.0"
    assert "github" in bare["items"]["29"][0]["text"].lower()


@pytest.mark.django_db
def test_without_json_a_readable_table(paper: Path) -> None:
    text = run(instrument="metrics-1.0", pdf=str(paper), item="8")
    assert text.startswith("Item 8: Segmentation method described")
    assert "  1. page " in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"instrument": "nope-9.9"}, "Known: claim-2024, clear-1.0, clear-s-1.0"),
        ({"instrument": "metrics-1.0", "item": "99"}, "has no item '99'"),
        ({"instrument": "metrics-1.0", "top": 0}, "--top must be 1 or more"),
    ],
)
def test_bad_arguments_are_named(
    paper: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        run(pdf=str(paper), **options)


@pytest.mark.django_db
def test_unreadable_pdf_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"this is not a PDF at all")
    with pytest.raises(CommandError, match=r"broken\.pdf: The file is not a PDF"):
        run(instrument="metrics-1.0", pdf=str(broken))
    with pytest.raises(CommandError, match="could not be found"):
        run(instrument="metrics-1.0", pdf=str(tmp_path / "missing.pdf"))


@pytest.mark.django_db
def test_the_true_passage_is_in_the_top_five_for_seven_of_eight(paper: Path) -> None:
    # Seven of eight, not eight: bench/evidence.py measures recall@5 of about
    # 0.85 over all 89 passages, so one miss here is within what the finder
    # does, and a hint reworded for other papers must not break this test. A
    # broken finder does break it: ranking at random, five of this paper's ~40
    # windows would find about one of the eight.
    result = run_json(instrument="metrics-1.0", pdf=str(paper))
    found = [
        p["item"]
        for p in SAMPLE["passages"]
        if any(is_the_passage(c["text"], p["text"]) for c in result["items"][p["item"]])
    ]
    assert len(found) >= 7, f"found only items {found}"


def test_windows_keep_offsets_into_the_page_text() -> None:
    page = (
        "Smith et al. used e.g. PyRadiomics 3.0.1 (Fig. 2) vs. LIFEx. The AUC was "
        "0.85. Two readers, i.e. A.V. and J. Smith, segmented each lesion."
    )
    spans = sentence_spans(page)
    assert [page[a:b] for a, b in spans] == [
        "Smith et al. used e.g. PyRadiomics 3.0.1 (Fig. 2) vs. LIFEx.",
        "The AUC was 0.85.",
        "Two readers, i.e. A.V. and J. Smith, segmented each lesion.",
    ]
    windows = passages([page, "", "word " * 200])
    assert windows[0].page == 1 and windows[0].text == page
    assert page[windows[0].start : windows[0].end] == page
    # A run-on "sentence" of 200 words is cut into windows of at most 80.
    assert {w.page for w in windows} == {1, 3}
    assert all(len(w.text.split()) <= 80 for w in windows)


def test_reference_lists_and_tables_are_not_passages() -> None:
    references = " ".join(SAMPLE["filler"]["references"])
    table = "Table 2 0.81 0.77 0.85 0.69 0.74 0.90 0.88 0.71 (0.70-0.84) 12 14 9"
    assert passages([references, table]) == []


def test_hints_fingerprint_follows_the_queries() -> None:
    definition = metrics()
    first = definition.items[0]
    assert first.label in item_query(first)
    assert all(hint in item_query(first) for hint in first.evidence_hints)
    assert len(hints_fingerprint(definition)) == 64
    assert hints_fingerprint(definition) == hints_fingerprint(metrics())


@pytest.mark.django_db
def test_a_condition_with_hints_is_searched_when_asked_for(paper: Path) -> None:
    result = run_json(instrument="metrics-1.0", pdf=str(paper), item="C1")
    assert list(result["items"]) == ["C1"] and result["items"]["C1"]


def test_conditions_with_hints_are_searched_beside_the_items(paper: Path) -> None:
    found = find(metrics(), passages(extract(paper).pages))
    assert [c for c in found if c.startswith("C")] == ["C1", "C2", "C3", "C4", "C5"]
    assert {item.code for item in metrics().items} <= set(found)
