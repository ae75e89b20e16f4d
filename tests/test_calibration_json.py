"""The calibration JSON and command, marking references, and the demo's training
set, through the pages, the endpoint and the commands."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from assessments.demo import ensure_demo_project
from assessments.management.commands.calibration import Command as CalibrationCommand
from assessments.models import Assessment, Membership, Reference
from assessments.services import projects
from tests.calibration_world import (
    RQS_10,
    World,
    fill_and_submit,
    make_lead,
    make_world,
    train,
)
from tests.factories import RQS_13, StudyFactory, UserFactory, load_instrument

pytestmark = pytest.mark.django_db

ISSUE_KEYS = {
    "reviewer",
    "instrument",
    "training_studies",
    "percent_agreement",
    "kappa",
    "ac1",
    "mean_total_difference",
    "certified",
    "certified_at",
    "rereads",
    "intra_rater_icc",
}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def calibration_of(user: Any, world: World) -> Any:
    return client_for(user).get(reverse("calibration-json", args=[world.project.slug]))


def trained_world() -> World:
    """The trainee did all three training studies: 16, 14 and 16 of 16 agreed."""
    w = make_world(n_training=3)
    train(w, w.trainee, w.training[0], RQS_13)
    train(w, w.trainee, w.training[1], RQS_10)
    train(w, w.trainee, w.training[2], RQS_13)
    return w


# --- the JSON --------------------------------------------------------------------


def test_json_has_the_issue_keys_and_types() -> None:
    w = trained_world()
    response = calibration_of(w.lead, w)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    rows = json.loads(response.content)
    assert isinstance(rows, list)
    for row in rows:
        assert row.keys() >= ISSUE_KEYS
        assert isinstance(row["training_studies"], int)
        assert isinstance(row["rereads"], int)
        assert isinstance(row["certified"], bool)
        assert {"value", "ci"} <= row["intra_rater_icc"].keys()
    trainee = next(r for r in rows if r["reviewer"] == w.trainee.username)
    assert trainee["instrument"] == "rqs-1.0"
    assert trainee["training_studies"] == 3
    assert 0 <= trainee["percent_agreement"] <= 1
    assert trainee["percent_agreement"] == pytest.approx(46 / 48)
    # 0, -3 and 0 points against the reference's 13.
    assert trainee["mean_total_difference"] == pytest.approx(-1.0)
    assert trainee["certified"] is False  # certification is off by default
    assert trainee["certified_at"] is None
    assert trainee["reasons"]["certified_at"]


def test_json_gives_a_reason_for_every_figure_it_cannot_support() -> None:
    w = trained_world()
    rows = json.loads(calibration_of(w.lead, w).content)
    other = next(r for r in rows if r["reviewer"] == w.other.username)
    assert other["training_studies"] == 0
    for figure in ("percent_agreement", "ac1", "mean_total_difference"):
        assert other[figure] is None
        assert other["reasons"][figure]
    assert other["kappa"]["median"] is None and other["kappa"]["reason"]
    icc = other["intra_rater_icc"]
    assert icc["value"] is None and icc["ci"] is None and "re-read" in icc["reason"]


def test_a_lead_sees_every_reviewer_a_reviewer_only_their_own_row() -> None:
    w = trained_world()
    everyone = {r["reviewer"] for r in json.loads(calibration_of(w.lead, w).content)}
    assert everyone == {w.expert.username, w.trainee.username, w.other.username}
    own = json.loads(calibration_of(w.trainee, w).content)
    assert [r["reviewer"] for r in own] == [w.trainee.username]
    # Which study was a hidden check must not show in the reviewer's own row.
    assert all("hidden_checks" not in r for r in own)
    assert own[0]["percent_agreement"] == pytest.approx(46 / 48)


def test_observers_get_no_rows_and_non_members_404() -> None:
    w = make_world(n_training=1)
    observer = UserFactory()
    projects.set_membership(
        project=w.project, member=observer, role=Membership.Role.OBSERVER, user=w.lead
    )
    response = calibration_of(observer, w)
    assert response.status_code == 200 and json.loads(response.content) == []
    assert calibration_of(UserFactory(), w).status_code == 404
    anonymous = Client().get(reverse("calibration-json", args=[w.project.slug]))
    assert anonymous.status_code == 302


# --- the command -------------------------------------------------------------------


def test_command_prints_a_json_array_of_every_reviewer() -> None:
    w = trained_world()
    out = StringIO()
    call_command("calibration", project=w.project.slug, json=True, stdout=out)
    rows = json.loads(out.getvalue())
    assert {r["reviewer"] for r in rows} == {
        w.expert.username,
        w.trainee.username,
        w.other.username,
    }
    assert all(r.keys() >= ISSUE_KEYS for r in rows)


def test_command_without_json_prints_a_table_and_the_methods_sentence() -> None:
    w = trained_world()
    out = StringIO()
    call_command("calibration", project=w.project.slug, stdout=out)
    text = out.getvalue()
    assert "RQS 1.0" in text
    trainee_line = next(
        line for line in text.splitlines() if w.trainee.username in line
    )
    assert "96%" in trainee_line  # 46 of 48 items
    assert "completed calibration on 3 training studies" in text


def test_command_names_an_unknown_project_and_exits_1(capsys: Any) -> None:
    with pytest.raises(CommandError, match="no-such-slug"):
        call_command("calibration", project="no-such-slug", json=True)
    with pytest.raises(SystemExit) as exit_info:
        CalibrationCommand().run_from_argv(
            ["manage.py", "calibration", "--project", "no-such-slug"]
        )
    assert exit_info.value.code == 1
    assert "no-such-slug" in capsys.readouterr().err


# --- the demo ----------------------------------------------------------------------


def test_the_demo_has_one_reviewer_part_way_and_one_certified(papers_dir: Any) -> None:
    load_instrument("rqs-1.0")
    load_instrument("metrics-1.0")
    users = {
        name: UserFactory(username=name)
        for name in ("admin", "lead", "reviewer1", "reviewer2")
    }
    project = ensure_demo_project(users)
    counts = (Assessment.objects.count(), Reference.objects.count())
    assert ensure_demo_project(users) == project
    assert (Assessment.objects.count(), Reference.objects.count()) == counts
    out = StringIO()
    call_command("calibration", project=project.slug, json=True, stdout=out)
    rows = {
        r["reviewer"]: r
        for r in json.loads(out.getvalue())
        if r["instrument"] == "rqs-1.0"
    }
    assert set(rows) == {"reviewer1", "reviewer2"}
    part_way, certified = rows["reviewer1"], rows["reviewer2"]
    assert (part_way["training_studies"], part_way["certified"]) == (2, False)
    assert part_way["still_needed"] == ["2 of 3 training studies done"]
    assert (certified["training_studies"], certified["certified"]) == (3, True)
    assert certified["certified_at"]
    assert Reference.objects.filter(study__project=project, current=True).count() == 3
    assert all(r.rationales for r in Reference.objects.filter(study__project=project))
    # The review's own studies are untouched: 8 live studies, as before.
    assert project.studies.filter(training=False).count() == 8


# --- marking references ------------------------------------------------------------


def expert_assessment(w: World, *, submit: bool = True) -> Assessment:
    """A new training study with the expert's assessment (no reference yet)."""
    study = StudyFactory(project=w.project, training=True, title="To be marked")
    source = Assessment.objects.create(
        study=study, version=w.version, reviewer=w.expert, kind="reviewer"
    )
    return fill_and_submit(source, RQS_13, submit=submit)


def mark(user: Any, source: Assessment) -> Any:
    url = reverse("reference-mark", args=[source.study.project.slug, source.study.uuid])
    return client_for(user).post(url, {"assessment": str(source.uuid)}, follow=True)


def test_a_lead_marks_a_submitted_assessment_as_the_reference() -> None:
    w = make_world(n_training=0)
    source = expert_assessment(w)
    page = client_for(w.lead).get(
        reverse("study-detail", args=[w.project.slug, source.study.uuid])
    )
    assert "Make this the reference" in page.content.decode()
    response = mark(w.lead, source)
    reference = Reference.objects.get(study=source.study, current=True)
    assert reference.source == source and reference.expert == "Eva Expert"
    assert response.redirect_chain[-1][0] == reverse(
        "reference-detail", args=[w.project.slug, reference.pk]
    )
    assert "are now the RQS 1.0 reference" in response.content.decode()
    study_page = client_for(w.lead).get(
        reverse("study-detail", args=[w.project.slug, source.study.uuid])
    )
    html = study_page.content.decode()
    assert "the reference is Eva Expert's assessment" in html
    assert 'data-testid="reference-badge"' in html


def test_only_leads_may_mark_a_reference() -> None:
    w = make_world(n_training=0)
    source = expert_assessment(w)
    url = reverse("reference-mark", args=[w.project.slug, source.study.uuid])
    refused = client_for(w.trainee).post(url, {"assessment": str(source.uuid)})
    assert refused.status_code == 403
    outsider = client_for(UserFactory()).post(url, {"assessment": str(source.uuid)})
    assert outsider.status_code == 404
    assert client_for(w.lead).get(url).status_code == 405
    assert not Reference.objects.exists()
    page = client_for(w.trainee).get(
        reverse("study-detail", args=[w.project.slug, source.study.uuid])
    )
    assert "Make this the reference" not in page.content.decode()


def test_an_unsubmitted_assessment_is_refused_with_a_message() -> None:
    w = make_world(n_training=0)
    source = expert_assessment(w, submit=False)
    response = mark(w.lead, source)
    assert "Only a submitted assessment can be the reference." in (
        response.content.decode()
    )
    assert not Reference.objects.exists()


def test_rationales_are_saved_and_shown_then_the_reference_withdrawn() -> None:
    w = make_world(n_training=1)
    reference = Reference.objects.get(study=w.training[0], current=True)
    url = reverse("reference-detail", args=[w.project.slug, reference.pk])
    lead = client_for(w.lead)
    page = lead.get(url).content.decode()
    assert "Protocol on page 3." in page  # the rationale given when marking
    assert 'data-testid="answer-5"' in page
    saved = lead.post(
        url,
        {"rationale-2": "", "rationale-12": "Internal validation only."},
        follow=True,
    )
    assert "Rationales saved." in saved.content.decode()
    reference.refresh_from_db()
    assert reference.rationales == {"12": "Internal validation only."}
    assert "Internal validation only." in lead.get(url).content.decode()
    assert client_for(w.trainee).get(url).status_code == 403

    withdraw = reverse("reference-withdraw", args=[w.project.slug, reference.pk])
    assert client_for(w.trainee).post(withdraw).status_code == 403
    done = lead.post(withdraw, follow=True).content.decode()
    assert "has no RQS 1.0 reference any more" in done
    assert "No reference yet" in done
    reference.refresh_from_db()
    assert reference.current is False
    assert "replaced or withdrawn" in lead.get(url).content.decode()


def test_a_lead_training_on_the_study_does_not_see_its_reference() -> None:
    w = make_world(n_training=1)
    study = w.training[0]
    second = UserFactory()
    make_lead(w.project, second, by=w.lead)
    Assessment.objects.create(
        study=study, version=w.version, reviewer=second, kind="training"
    )
    reference = Reference.objects.get(study=study, current=True)
    url = reverse("reference-detail", args=[w.project.slug, reference.pk])
    assert client_for(second).get(url).status_code == 403
    page = client_for(second).get(
        reverse("study-detail", args=[w.project.slug, study.uuid])
    )
    html = page.content.decode()
    assert "Make this the reference" not in html
    assert reverse("reference-detail", args=[w.project.slug, reference.pk]) not in html
    source = reference.source
    refused = client_for(second).post(
        reverse("reference-mark", args=[w.project.slug, study.uuid]),
        {"assessment": str(source.uuid)},
    )
    assert refused.status_code == 404
