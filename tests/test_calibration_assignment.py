"""Certification gates automatic assignment; a manual one goes ahead with a
warning. Hidden checks and training never become reviewers of the review."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from assessments.models import Assessment
from assessments.selectors.training import available_training
from assessments.services import assignment, calibration
from tests.calibration_world import make_world, train
from tests.factories import RQS_13, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _certify_on(w, studies: int = 1) -> None:
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"certification": True, "min_training_studies": studies},
        user=w.lead,
    )


def test_auto_assignment_skips_uncertified_reviewers() -> None:
    w = make_world(n_training=1)
    _certify_on(w)
    train(w, w.trainee, w.training[0], RQS_13)
    train(w, w.other, w.training[0], RQS_13)
    # The expert has no training: not certified, so never picked automatically.
    made = assignment.auto_assign(
        project=w.project, version=w.version, per_study=2, user=w.lead
    )
    assert made == 4
    picked = set(
        Assessment.objects.filter(kind="reviewer", study__in=w.live).values_list(
            "reviewer__username", flat=True
        )
    )
    assert picked == {w.trainee.username, w.other.username}


def test_auto_assignment_says_when_too_few_are_certified() -> None:
    w = make_world(n_training=1)
    _certify_on(w)
    train(w, w.trainee, w.training[0], RQS_13)
    with pytest.raises(ValidationError, match="certified"):
        assignment.auto_assign(
            project=w.project, version=w.version, per_study=2, user=w.lead
        )


def test_auto_assignment_never_takes_training_studies() -> None:
    w = make_world(n_training=2)
    assignment.auto_assign(
        project=w.project, version=w.version, per_study=2, user=w.lead
    )
    assert (
        not Assessment.objects.filter(kind="reviewer", study__training=True)
        .exclude(reviewer=w.expert)
        .exists()
    )


def test_manual_assignment_of_an_uncertified_reviewer_warns() -> None:
    w = make_world(n_training=1)
    _certify_on(w)
    client = Client()
    client.force_login(w.lead)
    study = w.live[0]
    response = client.post(
        reverse("study-assign", args=[w.project.slug, study.uuid]),
        {"version": w.version.key, "reviewer": w.trainee.pk},
    )
    assert response.status_code == 302
    words = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("not yet certified" in m for m in words), words
    assert Assessment.objects.filter(study=study, reviewer=w.trainee).exists()


def test_no_warning_while_certification_is_off() -> None:
    w = make_world(n_training=1)
    assert calibration.certification_warning(w.project, w.version, w.trainee) is None


def test_hidden_checks_need_switching_on_and_a_new_study() -> None:
    w = make_world(n_training=2)
    with pytest.raises(ValidationError, match="Hidden checks are off"):
        calibration.assign_hidden_check(
            study=w.training[0], version=w.version, reviewer=w.trainee, user=w.lead
        )
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"hidden_checks": True},
        user=w.lead,
    )
    train(w, w.trainee, w.training[0], RQS_13)
    with pytest.raises(ValidationError, match="already seen"):
        calibration.assign_hidden_check(
            study=w.training[0], version=w.version, reviewer=w.trainee, user=w.lead
        )
    check = calibration.assign_hidden_check(
        study=w.training[1], version=w.version, reviewer=w.trainee, user=w.lead
    )
    assert check.kind == "check"
    with pytest.raises(ValidationError, match="not a training study"):
        calibration.assign_hidden_check(
            study=w.live[0], version=w.version, reviewer=w.other, user=w.lead
        )


def test_a_trainee_cannot_then_review_the_study_independently() -> None:
    w = make_world(n_training=1)
    train(w, w.trainee, w.training[0], RQS_13)
    with pytest.raises(ValidationError, match="trained"):
        assignment.assign_reviewer(
            study=w.training[0], version=w.version, reviewer=w.trainee, user=w.lead
        )


def test_training_needs_a_reference_and_a_reviewer() -> None:
    w = make_world(n_training=0)
    bare = StudyFactory(project=w.project, training=True)
    outsider = UserFactory(username="outsider")
    with pytest.raises(ValidationError) as raised:
        calibration.assign_training(
            project=w.project,
            version=w.version,
            studies=[bare],
            reviewers=[outsider],
            user=w.lead,
        )
    text = " ".join(raised.value.messages)
    assert "no RQS 1.0 reference yet" in text and "is not a reviewer" in text
    assert not Assessment.objects.filter(kind="training").exists()


def test_with_hidden_checks_on_training_is_assigned_not_offered() -> None:
    w = make_world(n_training=2)
    assert len(available_training(w.project, w.trainee)) == 2
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"hidden_checks": True},
        user=w.lead,
    )
    # A study offered here could later be recognised as a check.
    assert available_training(w.project, w.trainee) == []
