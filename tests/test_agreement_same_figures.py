"""The agreement page's JSON and ``manage.py agreement`` give the same figures
on the same ratings (issue 18): a project's independent answers written out
as the long-format CSV a lead would keep, read back by the command, per item
and for the totals, under both designs."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from assessments import agreement as ag
from assessments.instruments.result import ANSWERED, evaluate
from assessments.models import Assessment, InstrumentVersion
from assessments.selectors.agreement import item_scale
from assessments.services.score_imports import create_submitted
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db

SUFFIXES = ("", "_ci", "_n_subjects", "_n_raters", "_ci_method", "_weights")
N_STUDIES = 12


def _answers(definition: Any, rng: random.Random, truth: dict[str, str]) -> dict:
    """The study's "true" option per single-choice item, departed from now and
    then, so reviewers mostly but not always agree."""
    answers = dict(RQS_13)
    for item in definition.items:
        if item.is_multi or item.code not in RQS_13:
            continue
        codes = [o.code for o in item.options]
        pick = truth[item.code] if rng.random() < 0.7 else rng.choice(codes)
        answers[item.code] = [pick]
    return answers


def _world(design: str) -> tuple[Any, InstrumentVersion]:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=n) for n in ("alice", "bob", "carol")]
    project = make_project(lead=lead, reviewers=reviewers, slug=f"p-{design}")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    definition = version.as_definition()
    rng = random.Random(18)
    pairs = [(0, 1), (1, 2), (0, 2)] if design == "interchangeable" else [(0, 1)]
    for i, study in enumerate(StudyFactory.create_batch(N_STUDIES, project=project)):
        truth = {
            item.code: rng.choice([o.code for o in item.options])
            for item in definition.items
            if item.options
        }
        for k in pairs[i % len(pairs)]:
            create_submitted(
                study, version, reviewers[k], _answers(definition, rng, truth)
            )
    return lead, version


def _page_json(lead: Any, version: InstrumentVersion) -> dict[str, Any]:
    client = Client()
    client.force_login(lead)
    project = lead.memberships.get().project
    url = reverse("project-agreement-json", args=[project.slug])
    response = client.get(url, {"version": version.key})
    assert response.status_code == 200
    return response.json()


def _long_csv(version: InstrumentVersion) -> tuple[dict[str, str], str]:
    """Per item, subject,rater,value with the value the page compares (the
    option's points for scored items, N/A missing); and the totals file."""
    definition = version.as_definition()
    scales = {item.code: item_scale(item) for item in definition.items}
    per_item: dict[str, list[str]] = {code: [] for code in scales}
    totals = ["subject,rater,value"]
    reviewers = Assessment.objects.filter(kind="reviewer").order_by("study_id", "pk")
    for a in reviewers.select_related("reviewer"):
        chosen = {x.item_code: x.independent_choices for x in a.answers.all()}
        sheet = evaluate(definition, chosen)
        for code, result in sheet.items.items():
            value = ""
            if result.state == ANSWERED:
                value = _text(scales[code].value(result.value))
            per_item[code].append(f"s{a.study_id},{a.reviewer.username},{value}")
        totals.append(f"s{a.study_id},{a.reviewer.username},{a.independent_total}")
    files = {
        c: "\n".join(["subject,rater,value", *rows]) for c, rows in per_item.items()
    }
    return files, "\n".join(totals)


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _command(tmp_path: Path, text: str, *args: str) -> dict[str, Any]:
    path = tmp_path / "ratings.csv"
    path.write_text(text + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command("agreement", str(path), *args, stdout=out)
    return json.loads(out.getvalue())


def _same(page: Any, command: Any) -> bool:
    if isinstance(page, float) or isinstance(command, float):
        return page == pytest.approx(command, abs=1e-12)
    if isinstance(page, list):
        return len(page) == len(command) and all(map(_same, page, command))
    return page == command


@pytest.mark.parametrize("design", ["fixed", "interchangeable"])
def test_page_and_command_agree_on_every_item_and_the_totals(
    design: str, tmp_path: Path
) -> None:
    lead, version = _world(design)
    page = _page_json(lead, version)
    assert page["design"] == design
    files, totals = _long_csv(version)
    compared = 0
    for item in page["items"]:
        scale = item_scale(version.as_definition().item(item["code"]))
        args = ["--level", scale.level]
        if scale.categories:
            # "=" so an order starting with a negative score is not an option.
            args.append("--order=" + ",".join(_text(c) for c in scale.categories))
        command = _command(tmp_path, files[item["code"]], *args)
        assert command["design"] == design
        for name in ag.ITEM_KEYS:
            for suffix in SUFFIXES:
                key = name + suffix
                assert _same(item[key], command[key]), (item["code"], key)
        compared += item["fleiss_kappa"] is not None
    assert compared >= 5  # the data gave real figures, not only nulls
    command = _command(tmp_path, totals, "--level", "interval")
    for form, entry in page["totals"]["icc_by_form"].items():
        assert _same(entry["value"], command["icc"][form]["value"]), form
        assert _same(entry["ci95"], command["icc"][form]["ci95"]), form
    if design == "interchangeable":
        assert command["icc"]["ICC2"]["value"] is None
        assert command["cohen_kappa"] is None
    else:
        assert command["icc"]["ICC2"]["value"] is not None
