"""PROBAST+AI: its two parts as judgement instruments, the reasoned override of
the derived overall judgement, its words (quality vs risk of bias) and plots."""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from assessments import charts
from assessments.instruments import (
    Definition,
    bundled_definitions_dir,
    load_definition_file,
    parse_definition,
    score,
    validate_definition,
)
from assessments.instruments.judgement import require_reasons
from assessments.models import Answer, Assessment, InstrumentVersion
from assessments.renderers import figures, reports
from assessments.selectors.consensus import total_text
from assessments.selectors.reports import ReportRequest
from assessments.services import answering, assignment, catalogue
from assessments.services.exports import export
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project

DEV, EVAL = "probast-ai-development-1.0", "probast-ai-evaluation-1.0"
ROB = ("D1.rob", "D2.rob", "D3.rob", "D4.rob")
APP = ("D1.app", "D2.app", "D3.app")
OVERALL = {DEV: "overall.quality", EVAL: "overall.bias"}
ANSWERS = ["y", "py", "pn", "n", "ni"]
LABELS = ["Yes", "Probably yes", "Probably no", "No", "No information"]
LEVEL = {"L": "low", "H": "high", "U": "unclear"}


@cache
def definition(key: str) -> Definition:
    path = bundled_definitions_dir() / f"{key}.yaml"
    return parse_definition(load_definition_file(path))


def questions(d: Definition) -> list[str]:
    return [i.code for i in d.items if i.type != "judgement"]


def answers(key: str, rob: str, app: str = "LLL") -> dict[str, list[str]]:
    """Every question "y", judgements as letters per domain (rob="LLHU")."""
    out = {code: ["y"] for code in questions(definition(key))}
    out |= {code: [LEVEL[v]] for code, v in zip(ROB, rob, strict=True)}
    out |= {code: [LEVEL[v]] for code, v in zip(APP, app, strict=True)}
    return out


# --- structure ----------------------------------------------------------------


@pytest.mark.parametrize("key", [DEV, EVAL])
def test_both_parts_validate_and_are_drafts_to_check(key: str) -> None:
    doc = load_definition_file(bundled_definitions_dir() / f"{key}.yaml")
    assert validate_definition(doc) == []
    d = parse_definition(doc)
    assert d.kind == "judgement" and d.status == "draft" and d.needs_check
    text = (bundled_definitions_dir() / f"{key}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# PROBAST+AI") and "Supplementary" in text[:1200]


@pytest.mark.parametrize(
    ("key", "per_domain", "with_na"),
    [
        (DEV, [3, 4, 4, 5], {"4.4"}),
        (EVAL, [3, 4, 4, 7], {"4.4", "4.5", "4.6"}),
    ],
)
def test_structure_equals_the_reference(
    key: str, per_domain: list[int], with_na: set[str]
) -> None:
    d = definition(key)
    domains = [s for s in d.sections if s.code.startswith("D")]
    assert [s.label for s in domains] == [
        "Participants and data sources",
        "Predictors",
        "Outcome",
        "Analysis",
    ]
    counted = [len([i for i in s.items if i.type != "judgement"]) for s in domains]
    assert counted == per_domain and sum(counted) == (16 if key == DEV else 18)
    numbered = [[i.code for i in s.items if i.type != "judgement"] for s in domains]
    assert numbered == [
        [f"{n}.{q}" for q in range(1, count + 1)]
        for n, count in enumerate(per_domain, 1)
    ]
    for code in questions(d):
        item = d.item(code)
        expected = ANSWERS + (["na"] if code in with_na else [])
        assert list(item.option_codes) == expected, code
        labels = LABELS + (["Not applicable"] if code in with_na else [])
        assert [o.label for o in item.options] == labels
    judged = [(i.code, i.judgement) for i in d.items if i.type == "judgement"]
    assert judged == [
        ("D1.rob", "risk_of_bias"),
        ("D1.app", "applicability"),
        ("D2.rob", "risk_of_bias"),
        ("D2.app", "applicability"),
        ("D3.rob", "risk_of_bias"),
        ("D3.app", "applicability"),
        ("D4.rob", "risk_of_bias"),
        (OVERALL[key], "risk_of_bias"),
        ("overall.applicability", "applicability"),
    ]
    for code, _ in judged:
        assert d.item(code).option_codes == ("low", "high", "unclear")


def test_domains_1_to_3_ask_the_same_questions_in_both_parts() -> None:
    dev, ev = definition(DEV), definition(EVAL)
    for code in ("1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "3.1", "3.4"):
        assert dev.item(code).label == ev.item(code).label


@pytest.mark.parametrize("key", [DEV, EVAL])
def test_not_applicable_is_refused_where_the_reference_does_not_allow_it(
    key: str,
) -> None:
    given = answers(key, "LLLL")
    assert score(definition(key), given).complete
    allowed = {"4.4"} if key == DEV else {"4.4", "4.5", "4.6"}
    for code in questions(definition(key)):
        result = score(definition(key), given | {code: ["na"]})
        if code in allowed:
            assert result.complete and result.is_na(code)
            continue
        (problem,) = result.problems
        assert problem.item == code
        assert f"Item {code} (" in problem.text
        assert "'Not applicable' is not an option of this item" in problem.text
        assert "'No information'" in problem.text


def test_an_unknown_answer_code_names_the_options_by_label() -> None:
    (problem,) = score(definition(DEV), answers(DEV, "LLLL") | {"2.3": ["x"]}).problems
    assert problem.text.startswith("Item 2.3 (Predictors assessed blind")
    assert "'Probably yes'" in problem.text


# --- overall judgement ----------------------------------------------------------


@pytest.mark.parametrize("key", [DEV, EVAL])
@pytest.mark.parametrize(
    ("rob", "app", "overall_rob", "overall_app"),
    [
        ("LLLL", "LLL", "low", "low"),
        ("LHLL", "LUL", "high", "unclear"),
        ("LULL", "HUL", "unclear", "high"),
        ("UUHU", "LLL", "high", "low"),
    ],
)
def test_overall_is_the_worst_domain_per_aspect(
    key: str, rob: str, app: str, overall_rob: str, overall_app: str
) -> None:
    result = score(definition(key), answers(key, rob, app))
    assert result.complete and not result.overrides
    assert result.judgements["overall_risk_of_bias"] == overall_rob
    assert result.judgements["derived_risk_of_bias"] == overall_rob
    assert result.judgements["overall_applicability"] == overall_app
    assert result.band == overall_rob


def test_the_overall_waits_for_every_domain() -> None:
    given = answers(DEV, "LLLL")
    del given["D3.rob"]
    result = score(definition(DEV), given)
    assert result.judgements["overall_risk_of_bias"] is None
    assert result.missing == ("D3.rob",)  # the overall items are optional


def test_choosing_the_derived_value_is_no_override() -> None:
    given = answers(DEV, "LHLL") | {"overall.quality": ["high"]}
    result = score(definition(DEV), given)
    assert result.complete and not result.overrides


def test_an_override_with_a_reason_is_accepted_and_shown_as_an_override() -> None:
    d = definition(EVAL)
    given = answers(EVAL, "LHLL") | {"overall.bias": ["low"]}
    result = require_reasons(d, score(d, given), {"overall.bias": "NI only on 4.3"})
    assert result.complete
    assert result.judgements["overall_risk_of_bias"] == "low"
    assert result.judgements["derived_risk_of_bias"] == "high"
    (override,) = result.overrides
    assert (override.item, override.derived, override.chosen) == (
        "overall.bias",
        "high",
        "low",
    )
    assert result.as_dict()["overrides"] == [
        {
            "aspect": "risk_of_bias",
            "item": "overall.bias",
            "derived": "high",
            "chosen": "low",
            "reason": "NI only on 4.3",
        }
    ]


def test_an_override_without_a_reason_is_refused_naming_the_item() -> None:
    d = definition(DEV)
    given = answers(DEV, "LLLL", "LLL") | {"overall.applicability": ["high"]}
    result = require_reasons(d, score(d, given), {"overall.applicability": "  "})
    assert not result.complete
    (problem,) = result.problems
    assert problem.item == "overall.applicability"
    assert problem.text.startswith(
        "Item overall.applicability (Overall applicability concerns (override)):"
    )
    assert "High differs" in problem.text and "(Low)" in problem.text
    assert "reason" in problem.text


def test_quadas_2_has_no_overall_items_and_scores_as_before() -> None:
    path = bundled_definitions_dir() / "quadas-2-1.0.yaml"
    quadas = parse_definition(load_definition_file(path))
    given = {i.code: ["yes"] for i in quadas.items if i.type == "signalling"}
    given |= {c: ["low"] for c in ROB} | {"D2.rob": ["high"]}
    given |= {c: ["low"] for c in APP}
    result = score(quadas, given)
    assert "derived_risk_of_bias" not in result.judgements
    assert result.judgements["overall_risk_of_bias"] == "high"
    assert "overrides" not in result.as_dict()


# --- through the platform ---------------------------------------------------------


@pytest.mark.django_db
def test_load_instruments_loads_both_parts_as_drafts() -> None:
    call_command("load_instruments", stdout=io.StringIO())
    for key in (DEV, EVAL):
        version = InstrumentVersion.objects.by_key(key)
        assert version.status == "draft"
        assert version.as_definition().scoring_fingerprint() == (
            definition(key).scoring_fingerprint()
        )


@pytest.mark.django_db
def test_score_command_scores_with_allow_draft(tmp_path: Path, capsys: Any) -> None:
    load_instrument(EVAL)
    d = definition(EVAL)
    codes = [*questions(d), *ROB, *APP, "overall.bias", "overall.applicability"]
    header = ["id", *codes]
    rows = [
        {"id": "A", **{c: "Y" for c in questions(d)}, "4.5": "NA"},
        {"id": "B", **{c: "PN" for c in questions(d)}},
    ]
    rows[0] |= {c: "low" for c in (*ROB, *APP)}
    rows[1] |= {c: "low" for c in (*ROB, *APP)} | {"D4.rob": "high"}
    path = tmp_path / "s.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(Exception, match="draft"):
        call_command("score", str(path), instrument=EVAL)
    call_command("score", str(path), instrument=EVAL, allow_draft=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "id,total,max,percent,band,applicability",
        "A,,,,low,low",
        "B,,,,high,low",
    ]


def _published(key: str) -> None:
    """The part as it will be once checked: projects take published versions."""
    doc = load_definition_file(bundled_definitions_dir() / f"{key}.yaml")
    outcome = catalogue.load_definition(
        doc | {"status": "published", "needs_check": False}
    )
    assert outcome.action != "error", outcome.messages


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    _published(DEV)
    _published(EVAL)
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(
        lead=lead, reviewers=[reviewer], keys=(DEV, EVAL), slug="pai"
    )
    study = StudyFactory(project=project, authors="Smith, J", year=2024)
    versions = {key: InstrumentVersion.objects.by_key(key) for key in (DEV, EVAL)}
    return {
        "lead": lead,
        "reviewer": reviewer,
        "project": project,
        "study": study,
        "versions": versions,
    }


def _assign(world: dict[str, Any], key: str) -> Assessment:
    return assignment.assign_reviewer(
        study=world["study"],
        version=world["versions"][key],
        reviewer=world["reviewer"],
        user=world["lead"],
    )


def _fill(assessment: Assessment, given: dict[str, list[str]], user: Any) -> None:
    for code, choices in given.items():
        answer = Answer.objects.filter(assessment=assessment, item_code=code).first()
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=answering.AnswerInput(item_code=code, choices=choices),
            seen_revision=answer.revision if answer else 0,
        )


def test_form_page_reads_quality_for_development(world: dict[str, Any]) -> None:
    assessment = _assign(world, DEV)
    client = Client()
    client.force_login(world["reviewer"])
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Overall quality concerns:" in page
    assert "Overall risk of bias" not in page
    assert "Probably yes" in page and "No information" in page
    assert "Quality concerns: participants and data sources" in page


def test_form_page_reads_risk_of_bias_for_evaluation(world: dict[str, Any]) -> None:
    assessment = _assign(world, EVAL)
    client = Client()
    client.force_login(world["reviewer"])
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Overall risk of bias:" in page and "Quality concerns" not in page


def test_an_override_needs_its_comment_before_submit(world: dict[str, Any]) -> None:
    assessment = _assign(world, DEV)
    user = world["reviewer"]
    _fill(assessment, answers(DEV, "LHLL") | {"overall.quality": ["low"]}, user)
    with pytest.raises(ValidationError) as refused:
        answering.submit_assessment(assessment=assessment, user=user)
    assert any(
        m.startswith("Item overall.quality (Overall quality concerns (override))")
        for m in refused.value.messages
    )
    client = Client()
    client.force_login(user)
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Override" in page and "overriding High derived" in page
    answer = Answer.objects.get(assessment=assessment, item_code="overall.quality")
    answering.save_answer(
        assessment=assessment,
        user=user,
        data=answering.AnswerInput(
            item_code="overall.quality",
            choices=["low"],
            comment="High only from NI on 4.1; sample size reported elsewhere",
        ),
        seen_revision=answer.revision,
    )
    result = answering.submit_assessment(assessment=assessment, user=user)
    assessment.refresh_from_db()
    assert assessment.status == "submitted" and assessment.band == "low"
    (override,) = result.overrides
    assert override.reason.startswith("High only from NI")
    assert assessment.result["overrides"][0]["derived"] == "high"
    page = client.get(f"/a/{assessment.uuid}/").content.decode()
    assert "Reason: High only from NI on 4.1" in page


def _final(world: dict[str, Any], key: str, given: dict[str, list[str]]) -> None:
    version = world["versions"][key]
    result = score(version.as_definition(), given)
    now = timezone.now()
    final = Assessment.objects.create(
        study=world["study"],
        version=version,
        kind="consensus",
        status="submitted",
        submitted_at=now,
        first_submitted_at=now,
        **answering.cached_result_fields(result),
    )
    Answer.objects.bulk_create(
        Answer(assessment=final, item_code=code, choices=choices)
        for code, choices in given.items()
    )


def test_exports_head_the_aspect_as_the_part_names_it(world: dict[str, Any]) -> None:
    _final(world, DEV, answers(DEV, "LHLL", "LUL"))
    _final(world, EVAL, answers(EVAL, "LLLU"))
    dev, ev = world["versions"][DEV], world["versions"][EVAL]
    lead, project = world["lead"], world["project"]
    head = next(
        csv.reader(io.StringIO(export(lead, project, dev, "revman").content.decode()))
    )
    assert "Quality concerns: Participants and data sources - Judgement" in head
    assert "Applicability concerns: Predictors - Judgement" in head
    assert not any("Risk of bias" in h or "overall" in h for h in head)
    head = next(
        csv.reader(io.StringIO(export(lead, project, ev, "revman").content.decode()))
    )
    assert "Risk of bias: Analysis - Judgement" in head
    rows = list(
        csv.reader(io.StringIO(export(lead, project, dev, "robvis").content.decode()))
    )
    assert rows == [
        ["Study", "D1", "D2", "D3", "D4", "Overall", "Weight"],
        ["Smith 2024", "Low", "High", "Low", "Low", "High", "1"],
    ]


def test_traffic_light_and_summary_plots_render_for_probast_ai() -> None:
    d = definition(DEV)
    names = {i.code: i.label for i in d.items}
    drawn = figures.render_charts(
        {
            "kind": "judgement",
            "progress": {},
            "judgements": {
                "D1.rob": {"low": 2},
                "D2.rob": {"low": 1, "high": 1},
                "D3.rob": {"unclear": 2},
                "D4.rob": {"low": 2},
            },
            "traffic": [
                [
                    "Smith 2024",
                    {"D1.rob": "low", "D2.rob": "high", "overall_risk_of_bias": "high"},
                ],
                ["Zhang 2023", {"D1.rob": "low", "D3.rob": "unclear"}],
            ],
            "item_labels": names,
        }
    )
    titles = [c["title"] for c in drawn]
    assert titles[1:] == ["Quality concerns per study", "Quality concerns: summary"]
    light, summary = drawn[1], drawn[2]
    for chart in (light, summary):
        assert chart["src"].startswith("data:image/svg+xml")
        assert "Risk of bias" not in chart["alt"]
    assert light["table"]["headers"] == [
        "Study",
        "Participants and data sources",
        "Predictors",
        "Outcome",
        "Analysis",
        "Overall",
    ]
    assert light["table"]["rows"][0][-1] == "High"
    assert summary["alt"].startswith("Quality concerns summary")
    assert [r[0] for r in summary["table"]["rows"]] == light["table"]["headers"][1:5]
    chart = charts.rob_summary(
        "Risk of bias: summary", ["Analysis"], {"Analysis": {"low": 1}}
    )
    assert chart.alt.startswith("Risk-of-bias summary")  # QUADAS-2's words stay


def test_report_names_the_aspect_and_the_override(
    world: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(reports, "html_to_pdf", lambda html: html.encode())
    assessment = _assign(world, DEV)
    user = world["reviewer"]
    given = answers(DEV, "LHLL") | {"overall.quality": ["low"]}
    _fill(assessment, given, user)
    answer = Answer.objects.get(assessment=assessment, item_code="overall.quality")
    answer.comment = "Domain 2 high only for want of information"
    answer.save()
    answering.submit_assessment(assessment=assessment, user=user)
    assessment.refresh_from_db()
    html = reports.render_report(
        ReportRequest(
            kind="assessment",
            project=world["project"],
            version=world["versions"][DEV],
            user=user,
            study=world["study"],
            assessment=assessment,
        )
    ).decode()
    assert "Overall quality concerns: Low" in html
    assert "Override: Quality concerns: Low chosen by the reviewer" in html
    assert "Reason: Domain 2 high only" in html
    assert "Overall risk of bias" not in html


def test_consensus_total_line_uses_the_parts_words() -> None:
    dev = definition(DEV)
    text = total_text(dev, score(dev, answers(DEV, "LHLL", "LUL")))
    assert (
        text
        == "Overall quality concerns: High; Overall applicability concerns: Unclear"
    )
    ev = definition(EVAL)
    assert total_text(ev, score(ev, answers(EVAL, "LLLL"))).startswith(
        "Overall risk of bias: Low"
    )
