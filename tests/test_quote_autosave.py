"""Quotes from the paper saved as part of an answer, through the form's autosave."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.base import ContentFile

from assessments.models import Answer, Paper, PaperText
from assessments.services import quotes
from tests.factories import RQS_13, StudyFactory
from tests.test_assessment_flow import client_for, fill, save
from tests.test_assessment_flow import setup as flow_setup  # noqa: F401

PAGE_1 = (
    "Introduction\nRadiomics extracts quantitative features from images.\n"
    "Methods\nFeatures were extracted with PyRadio-\nmics following the IBSI "
    "reference manual, and the signature was validated in an external cohort."
)
PAGE_2 = "Results\nThe calibration slope was 0.94 in the validation cohort."


@pytest.fixture
def paper(flow_setup: dict[str, Any], papers_dir: Any) -> Paper:  # noqa: F811
    study = flow_setup["study"]
    paper = Paper.objects.create(
        study=study,
        sha256="a" * 64,
        size=10,
        page_count=2,
        text_state=Paper.TextState.DONE,
        original_name="paper.pdf",
    )
    paper.file.save("paper.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    PaperText.objects.create(paper=paper, pages=[PAGE_1, PAGE_2])
    return paper


def quote(paper: Paper, page: int, exact: str, **extra: Any) -> dict[str, Any]:
    return {"paper": str(paper.uuid), "page": page, "exact": exact, **extra}


def save_quotes(client: Any, assessment: Any, item: str, items: list[dict]) -> Any:
    return save(client, assessment, item, ["yes"], quotes=json.dumps(items))


def test_a_quote_on_its_page_is_verified_and_stamped(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    c1 = client_for(flow_setup["r1"])
    # Selected across a line break and an end-of-line hyphen, as PDF.js gives it.
    exact = "extracted with PyRadiomics following the IBSI reference manual"
    response = save_quotes(c1, flow_setup["a1"], "2", [quote(paper, 1, exact)])
    assert response.status_code == 200, response.content
    stored = response.json()["quotes"]
    assert len(stored) == 1
    q = stored[0]
    assert q["verified"] is True
    assert q["by"] == "r1" and q["sha256"] == paper.sha256 and q["at"]
    assert PAGE_1[q["start"] : q["end"]].startswith("extracted with PyRadio-")
    answer = Answer.objects.get(assessment=flow_setup["a1"], item_code="2")
    assert answer.quotes == stored


def test_a_forged_quote_or_one_on_another_page_is_kept_but_not_found(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    c1 = client_for(flow_setup["r1"])
    items = [
        quote(paper, 1, "The model was perfectly calibrated in every cohort"),
        quote(paper, 1, "The calibration slope was 0.94"),  # it is on page 2
    ]
    stored = save_quotes(c1, flow_setup["a1"], "2", items).json()["quotes"]
    assert [q["verified"] for q in stored] == [False, False]
    assert [q["exact"] for q in stored] == [i["exact"] for i in items]


def test_quotes_are_kept_when_a_save_does_not_send_them_and_removed_when_it_does(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    c1 = client_for(flow_setup["r1"])
    a1 = flow_setup["a1"]
    first = save_quotes(c1, a1, "2", [quote(paper, 2, "calibration slope was 0.94")])
    kept = first.json()["quotes"]
    assert save(c1, a1, "2", ["no"], evidence="typed").status_code == 200
    assert Answer.objects.get(assessment=a1, item_code="2").quotes == kept
    # The form sends the quotes it holds, ids and all: an existing one is kept
    # exactly (who and when included), a missing one is removed.
    again = save_quotes(c1, a1, "2", [kept[0]]).json()["quotes"]
    assert again == kept
    assert save_quotes(c1, a1, "2", []).json()["quotes"] == []


def test_a_stale_save_of_quotes_is_refused_with_the_current_quotes(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    c1 = client_for(flow_setup["r1"])
    a1 = flow_setup["a1"]
    save_quotes(c1, a1, "2", [quote(paper, 2, "calibration slope was 0.94")])
    stale = save(
        c1,
        a1,
        "2",
        ["yes"],
        seen=0,
        quotes=json.dumps([quote(paper, 1, "Radiomics extracts quantitative")]),
    )
    assert stale.status_code == 409
    current = stale.json()["current"]["quotes"]
    assert [q["exact"] for q in current] == ["calibration slope was 0.94"]


@pytest.mark.parametrize(
    "payload, message",
    [
        ("not json", "could not be read"),
        (
            '[{"page": 1, "exact": "x", "paper": "00000000000000000000000000000000"}]',
            "not attached to this study",
        ),
        ('[{"page": "one", "exact": "x"}]', "no page number"),
        ('[{"page": 1, "exact": "  "}]', "no text"),
    ],
)
def test_malformed_quotes_are_refused_and_change_nothing(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
    payload: str,
    message: str,
) -> None:
    c1 = client_for(flow_setup["r1"])
    response = save(c1, flow_setup["a1"], "2", ["yes"], quotes=payload)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert "item 2" in response.json()["error"]
    assert not Answer.objects.filter(assessment=flow_setup["a1"]).exists()


def test_a_page_beyond_the_paper_is_refused(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    c1 = client_for(flow_setup["r1"])
    response = save_quotes(c1, flow_setup["a1"], "2", [quote(paper, 9, "Results")])
    assert response.status_code == 400
    assert "page 9 is not in the paper, which has 2 pages" in response.json()["error"]


def test_a_paper_of_another_study_cannot_be_quoted(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    other = StudyFactory(project=flow_setup["project"], title="Another study")
    foreign = Paper.objects.create(study=other, sha256="b" * 64, page_count=1)
    c1 = client_for(flow_setup["r1"])
    response = save_quotes(c1, flow_setup["a1"], "2", [quote(foreign, 1, "Results")])
    assert response.status_code == 400


def test_quotes_made_before_extraction_are_verified_when_the_text_arrives(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    PaperText.objects.filter(paper=paper).delete()
    c1 = client_for(flow_setup["r1"])
    stored = save_quotes(
        c1, flow_setup["a1"], "2", [quote(paper, 2, "calibration slope was 0.94")]
    ).json()["quotes"]
    assert stored[0]["verified"] is None
    PaperText.objects.create(paper=paper, pages=[PAGE_1, PAGE_2])
    assert quotes.verify_pending_quotes(paper) == 1
    answer = Answer.objects.get(assessment=flow_setup["a1"], item_code="2")
    assert answer.quotes[0]["verified"] is True


def test_quotes_are_blinded_like_answers_and_shown_in_the_history(
    flow_setup: dict[str, Any],  # noqa: F811
    paper: Paper,
) -> None:
    c1, c2 = client_for(flow_setup["r1"]), client_for(flow_setup["r2"])
    a1, a2 = flow_setup["a1"], flow_setup["a2"]
    save_quotes(c1, a1, "2", [quote(paper, 2, "calibration slope was 0.94")])
    assert c2.get(f"/a/{a1.uuid}.json").status_code == 403
    assert "calibration slope" not in c2.get(f"/a/{a2.uuid}/").content.decode()
    save_quotes(c1, a1, "3", [quote(paper, 1, "Radiomics extracts quantitative")])
    save(c1, a1, "3", ["yes"], quotes="[]")
    fill(c1, a1, RQS_13)
    fill(c2, a2, RQS_13)
    c1.post(f"/a/{a1.uuid}/submit")
    c2.post(f"/a/{a2.uuid}/submit")
    answers = c2.get(f"/a/{a1.uuid}.json").json()["answers"]
    assert answers["2"]["quotes"][0]["exact"] == "calibration slope was 0.94"
    lead = client_for(flow_setup["lead"])
    history = lead.get(f"/a/{a1.uuid}/history/").content.decode()
    assert "Quote: “calibration slope was 0.94” (p. 2)" in history
    assert "Quote removed: “Radiomics extracts quantitative” (p. 1)" in history
