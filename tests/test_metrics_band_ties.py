"""METRICS bands come from the exact score (issue 18, point 8).

Source: Kocak B, Akinci D'Antonoli T, Mercaldo N, et al. METhodological
RadiomICs Score (METRICS). Insights Imaging 2024;15:8,
doi:10.1186/s13244-023-01572-w: weights of items 1-23 from its Table 1, items
24-30 from the authors' calculator (metricsscore/metrics, METRICS.html), both
as ../shared/reference/instruments.md lists them; bands 0 <= very low < 20 <=
low < 40 <= moderate < 60 <= good < 80 <= excellent <= 100, on the score.

A score of 59.95% (issue 18: one of 204 rows exported from the official
calculator, which shows it "59.9%", "Moderate") is below the paper's 60, so it
is "moderate"; rounding it half up would print 60.0 beside a "moderate" band,
so it is shown cut to 59.9. Scores whose rounding stays in their band are
rounded half up as before (64.78 -> 64.8). The answer sets are found in the
set-up: the Yes items whose weights add up to a given sum.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.instruments import Definition, score
from assessments.instruments.redcap import data_dictionary
from assessments.models import Assessment, InstrumentVersion
from assessments.selectors.reports import score_line
from assessments.services import assignment
from assessments.services.exports import export_json
from assessments.services.score_imports import create_submitted
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project
from tests.test_cli import rqs
from tests.test_spreadsheet import bundled

CONDITIONS = ("C1", "C2", "C3", "C4", "C5")
# The METRICS scoring fingerprint as shipped before this change
# (tests/test_evidence_hints.py pins the same value).
METRICS_SCORING = "f5836913f9ba822c762319a66e50bdaac2ded00a6466efa2e0d0802dcd172147"


def metrics() -> Definition:
    return bundled("metrics-1.0")


@cache
def yes_items(weight: str, conditions: str = "YYYYY") -> frozenset[int]:
    """Items answered Yes whose weights add up to `weight`, among those that
    apply under `conditions` (a subset-sum over the published weights)."""
    answers = answers_for(conditions, set())
    applicable = [
        i for i in metrics().items if i.code not in score(metrics(), answers).na
    ]
    found: dict[Decimal, frozenset[int]] = {Decimal(0): frozenset()}
    for item in applicable:
        for total, chosen in list(found.items()):
            found.setdefault(total + (item.weight or 0), chosen | {int(item.code)})
    return found[Decimal(weight)]


def answers_for(
    conditions: str, yes: set[int] | frozenset[int]
) -> dict[str, list[str]]:
    """`conditions` like "YNYYN"; items that apply Yes if listed, else No."""
    answers = {
        c: ["yes" if v == "Y" else "no"]
        for c, v in zip(CONDITIONS, conditions, strict=True)
    }
    answers.update({str(n): ["yes" if n in yes else "no"] for n in range(1, 31)})
    return answers


# (Yes weight, conditions, exact score, shown, band)
CASES = [
    ("0.5995", "YYYYY", "59.95", "59.9", "moderate"),
    # Conditions Y,N,Y,Y,N leave 0.9575 of the weight: 0.5741 / 0.9575.
    ("0.5741", "YNYYN", "59.958", "59.9", "moderate"),
    ("0.6", "YYYYY", "60", "60.0", "good"),
    ("0.7999", "YYYYY", "79.99", "79.9", "good"),
    ("0.6478", "YYYYY", "64.78", "64.8", "good"),
    ("1", "YYYYY", "100", "100.0", "excellent"),
]


def case_answers(weight: str, conditions: str) -> dict[str, list[str]]:
    return answers_for(conditions, yes_items(weight, conditions))


# --- the engine, through the public API ------------------------------------------


@pytest.mark.parametrize(("weight", "conditions", "exact", "shown", "band"), CASES)
def test_the_band_is_the_exact_scores_and_the_figure_agrees(
    weight: str, conditions: str, exact: str, shown: str, band: str
) -> None:
    result = score(metrics(), case_answers(weight, conditions))
    assert result.complete
    assert result.percent is not None
    assert result.percent.quantize(Decimal(exact)) == Decimal(exact)
    assert str(result.percent_display) == shown
    assert result.band == band
    assert result.as_dict()["percent_display"] == shown
    assert result.as_dict()["band"] == band


@settings(max_examples=300)
@given(
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_no_shown_figure_reads_as_another_band_than_its_own(
    conditions: list[bool], items: list[bool]
) -> None:
    flags = "".join("Y" if c else "N" for c in conditions)
    yes = {n + 1 for n, flag in enumerate(items) if flag}
    result = score(metrics(), answers_for(flags, yes))
    assert result.percent is not None and result.percent_display is not None
    assert result.band == metrics().band_for(result.percent)
    assert metrics().band_for(result.percent_display) == result.band
    assert abs(result.percent_display - result.percent) < Decimal("0.1")


# --- rqs score and manage.py score on a spreadsheet ------------------------------


def sheet(*rows: tuple[str, str, str], extra: str = "") -> str:
    """A METRICS score sheet: one row per (id, weight, conditions)."""
    header = ",".join(["id", *CONDITIONS, *(str(n) for n in range(1, 31))])
    lines = [header + extra]
    for row_id, weight, conditions in rows:
        answers = case_answers(weight, conditions)
        na = score(metrics(), answers).na_codes
        cells = ["" if c in na else answers[c][0] for c in header.split(",")[1:]]
        lines.append(",".join([row_id, *cells]))
    return "\n".join(lines) + "\n"


TABLE = [
    ("tie", "0.5995", "YYYYY"),
    ("sixty", "0.6", "YYYYY"),
    ("high", "0.7999", "YYYYY"),
]
SCORED = [
    "id,total,max,percent,band",
    "tie,59.9,100,59.9,moderate",
    "sixty,60,100,60.0,good",
    "high,79.9,100,79.9,good",
]


def test_rqs_score_shows_59_9_and_moderate(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(sheet(*TABLE))
    done = rqs("score", "--instrument", "metrics-1.0", "m.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == SCORED


@pytest.mark.django_db
def test_manage_py_score_shows_the_same(tmp_path: Path, capsys: Any) -> None:
    load_instrument("metrics-1.0")
    path = tmp_path / "m.csv"
    path.write_text(sheet(*TABLE))
    call_command("score", str(path), instrument="metrics-1.0")
    assert capsys.readouterr().out.splitlines() == SCORED


def test_a_published_60_0_or_59_9_matches_but_good_is_listed(tmp_path: Path) -> None:
    """A table that printed 60.0 (rounded) or 59.9 (as shown here) for 59.95 is
    within its own last decimal; calling it "good" is a mis-banding."""
    rows = sheet(
        *[("tie", "0.5995", "YYYYY")] * 3, extra=",reported_percent,reported_band"
    )
    lines = rows.splitlines()
    lines[1:] = [
        f"{lines[1].replace('tie', 'A', 1)},60.0,moderate",
        f"{lines[2].replace('tie', 'B', 1)},59.9%,Moderate",
        f"{lines[3].replace('tie', 'C', 1)},60,good",
    ]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    done = rqs("score", "--instrument", "metrics-1.0", "t.csv", cwd=tmp_path)
    assert done.returncode == 3
    assert done.stderr.splitlines() == ["row C: reported good, computed moderate"]


def test_a_figure_this_tool_shows_is_never_listed_as_wrong(tmp_path: Path) -> None:
    """59.958 is shown 59.9 (cut: 60.0 would read "good"); a table printing
    the same is not mis-scored, one printing 59.8 is."""
    base = sheet(*[("x", "0.5741", "YNYYN")] * 2, extra=",reported_total")
    lines = base.splitlines()
    lines[1:] = [
        f"{lines[1].replace('x', 'A', 1)},59.9",
        f"{lines[2].replace('x', 'B', 1)},59.8",
    ]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    done = rqs("score", "--instrument", "metrics-1.0", "t.csv", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == ["row B: reported 59.8, computed 59.9%"]


# --- REDCap's own calculation ------------------------------------------------------


def redcap_value(expression: str, values: dict[str, str]) -> Decimal:
    """Evaluate one of the dictionary's calc expressions as REDCap would
    (round half away from zero, rounddown toward zero), in floating point."""
    python = re.sub(r"\[([a-z0-9_]+)\]", r'v["\1"]', expression)
    python = python.replace("<>", "!=").replace(" = ", " == ")

    def redcap_round(x: float, places: int) -> float:
        return float(
            Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), "ROUND_HALF_UP")
        )

    def rounddown(x: float, places: int) -> float:
        return float(
            Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), "ROUND_DOWN")
        )

    names = {
        "v": values,
        "round": redcap_round,
        "rounddown": rounddown,
        "when": lambda test, yes, no: yes if test else no,
    }
    python = re.sub(r"\bif\(", "when(", python)
    return Decimal(repr(eval(python, {"__builtins__": {}}, names)))  # noqa: S307


@pytest.mark.parametrize(("weight", "conditions", "exact", "shown", "band"), CASES)
def test_the_redcap_calculation_shows_what_the_platform_shows(
    weight: str, conditions: str, exact: str, shown: str, band: str
) -> None:
    dictionary = data_dictionary(metrics())
    fields = {f.name: f for f in dictionary.fields}
    answers = case_answers(weight, conditions)
    values: dict[str, Any] = {}
    for code, fld in dictionary.by_entry().items():
        na = code in score(metrics(), answers).na_codes
        values[fld.name] = "" if na else fld.codes[answers[code][0]]
    values["metrics_exact"] = float(
        redcap_value(fields["metrics_exact"].choices, values)
    )
    total = redcap_value(fields["metrics_total"].choices, values)
    assert total == Decimal(shown)


# --- the form's running score --------------------------------------------------------


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    project = make_project(
        lead=lead, reviewers=[alice, bob], keys=("metrics-1.0",), slug="m"
    )
    study = StudyFactory(project=project, title="CT texture of lung nodules")
    version = InstrumentVersion.objects.by_key("metrics-1.0")
    return {"lead": lead, "alice": alice, "bob": bob, "project": project,
            "study": study, "version": version}  # fmt: skip


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_running_score_on_the_form_shows_59_9_moderate(world: dict) -> None:
    assessment = assignment.assign_reviewer(
        study=world["study"],
        version=world["version"],
        reviewer=world["alice"],
        user=world["lead"],
    )
    client = client_for(world["alice"])
    for code, choices in case_answers("0.5995", "YYYYY").items():
        response = client.post(
            f"/a/{assessment.uuid}/answer",
            {"item": code, "choices": choices, "seen": "0"},
            HTTP_X_REQUESTED_WITH="fetch",
        )
        assert response.status_code == 200, response.content
    body = response.json()
    assert body["complete"]
    assert 'data-testid="total">59.9<' in body["score_html"]
    assert 'data-testid="band">moderate<' in body["score_html"]
    assert 'data-summary="59.9%, moderate"' in body["score_html"]
    assessment.refresh_from_db()
    assert (assessment.band, assessment.result["percent_display"]) == (
        "moderate",
        "59.9",
    )


# --- scores already submitted --------------------------------------------------------


def submitted_under_the_old_rule(world: dict, reviewer: Any) -> Assessment:
    """59.95 as it was stored before bands came from the exact score."""
    create_submitted(
        world["study"], world["version"], reviewer, case_answers("0.5995", "YYYYY")
    )
    stored = Assessment.objects.get(study=world["study"], reviewer=reviewer)
    old = {**stored.result, "percent_display": "60.0", "band": "good"}
    Assessment.objects.filter(pk=stored.pk).update(band="good", result=old)
    stored.refresh_from_db()
    return stored


def test_a_submitted_score_keeps_the_band_it_was_submitted_with(world: dict) -> None:
    old = submitted_under_the_old_rule(world, world["alice"])
    create_submitted(
        world["study"], world["version"], world["bob"], case_answers("0.5995", "YYYYY")
    )
    # The reviewer's own form, read-only now.
    page = client_for(world["alice"]).get(f"/a/{old.uuid}/").content.decode()
    assert 'data-testid="total">60.0<' in page
    assert 'data-testid="band">good<' in page
    # The lead's side-by-side view: alice as submitted, bob under the new rule.
    link = reverse(
        "consensus-view",
        kwargs={
            "slug": world["project"].slug,
            "uuid": world["study"].uuid,
            "version_key": world["version"].key,
        },
    )
    view = client_for(world["lead"]).get(link).content.decode()
    assert "60.0%, good" in view
    assert "59.9%, moderate" in view
    # Reports and exports read what was stored.
    assert score_line(old)["band"] == "good"
    assert score_line(old)["percent"] == "60"
    doc = export_json(world["lead"], world["project"], world["version"])
    shown = {
        a["reviewer"]: (a["band"], a["percent_display"])
        for a in json.loads(doc.content)["assessments"]
    }
    assert shown == {"alice": ("good", 60.0), "bob": ("moderate", 59.9)}
    old.refresh_from_db()
    assert old.band == "good" and old.result["percent_display"] == "60.0"


# --- the published definition itself --------------------------------------------------


@pytest.mark.django_db
def test_reloading_the_instruments_changes_no_published_scoring() -> None:
    """An engine fix, not a definition change: the published METRICS version
    reloads as unchanged and keeps its scoring fingerprint."""
    call_command("load_instruments", stdout=StringIO())
    out = StringIO()
    call_command("load_instruments", stdout=out)
    assert "metrics-1.0: unchanged" in out.getvalue()
    version = InstrumentVersion.objects.by_key("metrics-1.0")
    assert version.scoring_hash == METRICS_SCORING
    assert metrics().scoring_fingerprint() == METRICS_SCORING
