"""Calibration figures against hand-computed values, through the services and
the selectors the pages and the JSON read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.agreement import gwet_ac1
from assessments.agreement.calibration import ItemPair, item_agreement
from assessments.models import Assessment, Certification, Membership
from assessments.selectors.calibration import calibration_rows
from assessments.selectors.training import feedback, methods_sentence
from assessments.services import calibration, projects
from tests.calibration_world import RQS_10, make_world, train
from tests.factories import RQS_13, UserFactory

pytestmark = pytest.mark.django_db


def test_ac1_by_hand_two_yes_no_items() -> None:
    # pa = 1/2; pi_yes = 3/4, pi_no = 1/4; pe = 2 * 3/16 = 3/8;
    # AC1 = (1/2 - 3/8) / (5/8) = 1/5.
    pairs = [
        ItemPair("1", ("yes", "no"), "yes", "yes"),
        ItemPair("2", ("yes", "no"), "yes", "no"),
    ]
    found = item_agreement(pairs)
    assert found.percent == 0.5
    assert found.ac1 == pytest.approx(0.2)


def test_ac1_equals_gwet_when_items_share_their_options() -> None:
    ratings = [("a", "a"), ("a", "b"), ("c", "c"), ("b", "b"), ("a", "c")]
    options = ("a", "b", "c")
    pairs = [ItemPair(str(i), options, x, y) for i, (x, y) in enumerate(ratings)]
    expected = gwet_ac1([list(r) for r in ratings], categories=list(options)).value
    assert item_agreement(pairs).ac1 == pytest.approx(expected)


def test_feedback_and_figures_by_hand() -> None:
    w = make_world(n_training=3)
    first = train(w, w.trainee, w.training[0], RQS_10)
    assert first.total == Decimal("10")
    shown = feedback(first)
    assert shown is not None
    assert shown.agreement.agreed == 14 and shown.agreement.items == 16
    assert shown.difference == -3.0 and shown.unit == "points"
    two = next(r for r in shown.rows if r.code == "2")
    assert (two.agrees, two.rationale) == (False, "Protocol on page 3.")
    assert two.reference_points == "1.000" or float(two.reference_points) == 1.0

    train(w, w.trainee, w.training[1], RQS_13)
    row = next(
        r for r in calibration_rows(w.project) if r["reviewer"] == w.trainee.username
    )
    # 14/16 and 16/16 pooled: 30/32.
    assert row["training_studies"] == 2
    assert row["percent_agreement"] == pytest.approx(30 / 32)
    assert row["mean_total_difference"] == pytest.approx(-1.5)
    assert row["mean_absolute_total_difference"] == pytest.approx(1.5)
    assert row["kappa"]["median"] is None and "at least 5" in row["kappa"]["reason"]
    assert row["certified"] is False and row["rereads"] == 0
    assert row["intra_rater_icc"]["value"] is None


def test_certification_follows_the_threshold() -> None:
    w = make_world(n_training=3)
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"certification": True, "min_training_studies": 3},
        user=w.lead,
    )
    for study in w.training[:2]:
        train(w, w.trainee, study, RQS_13)
    assert not Certification.objects.filter(reviewer=w.trainee).exists()
    train(w, w.trainee, w.training[2], RQS_10)
    cert = Certification.objects.get(reviewer=w.trainee)
    assert cert.figures["training_studies"] == 3
    # 46/48 agree; raising the bar withdraws the certificate.
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"min_item_agreement": Decimal("99")},
        user=w.lead,
    )
    assert not Certification.objects.filter(reviewer=w.trainee).exists()


def test_methods_sentence_reports_calibration() -> None:
    w = make_world(n_training=2)
    for study in w.training:
        train(w, w.trainee, study, RQS_13)
        train(w, w.other, study, RQS_10)
    text = methods_sentence(w.project, w.version)
    assert text == (
        "Before scoring, the two reviewers completed calibration on 2 training "
        "studies (median item agreement with the reference 94%, range 88%\u2013100%)."
    )


def test_training_assessment_kind_is_not_a_reviewer() -> None:
    w = make_world(n_training=1)
    a = train(w, w.trainee, w.training[0], RQS_13)
    assert a.kind == Assessment.Kind.TRAINING and a.is_calibration


def test_methods_sentence_says_when_reviewers_did_different_numbers() -> None:
    w = make_world(n_training=3)
    for study in w.training:
        train(w, w.trainee, study, RQS_13)
    train(w, w.other, w.training[0], RQS_10)
    text = methods_sentence(w.project, w.version)
    assert text.startswith(
        "Before scoring, the two reviewers completed calibration on 1 to 3 "
        "training studies each, 3 in all (median item agreement with the "
        "reference 94%, range 88%\u2013100%)"
    )


def _queries_for_rows(w, n_extra: int) -> int:
    for i in range(n_extra):
        user = UserFactory(username=f"{w.project.slug}-extra{i}")
        projects.set_membership(
            project=w.project, member=user, role=Membership.Role.REVIEWER, user=w.lead
        )
        for study in w.training:
            train(w, user, study, RQS_10 if i % 2 else RQS_13)
    with CaptureQueriesContext(connection) as captured:
        rows = calibration_rows(w.project)
    assert len(rows) == 3 + n_extra
    return len(captured.captured_queries)


def test_calibration_rows_take_the_same_queries_for_more_reviewers() -> None:
    small = _queries_for_rows(make_world(n_training=2, slug="small"), 1)
    large = _queries_for_rows(make_world(n_training=2, slug="large"), 5)
    assert small == large
