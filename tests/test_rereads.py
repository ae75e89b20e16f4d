"""Re-reads: assigned after the interval, blind to the first reading, and the
intra-rater figures they feed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments import access
from assessments.agreement.calibration import intra_rater_icc
from assessments.models import Assessment
from assessments.selectors.calibration import calibration_rows
from assessments.selectors.training import methods_sentence
from assessments.services import calibration, rereads
from tests.calibration_world import RQS_10, fill_and_submit, make_world
from tests.factories import RQS_13, StudyFactory

pytestmark = pytest.mark.django_db


def _reviewed(w, n: int, answers=RQS_13) -> list[Assessment]:
    """n live studies the trainee reviewed and submitted five weeks ago."""
    made = []
    for study in StudyFactory.create_batch(n, project=w.project):
        a = Assessment.objects.create(
            study=study, version=w.version, reviewer=w.trainee, kind="reviewer"
        )
        made.append(fill_and_submit(a, answers))
    past = timezone.now() - timedelta(days=35)
    Assessment.objects.filter(pk__in=[a.pk for a in made]).update(
        first_submitted_at=past
    )
    return made


def _settings(w, fraction: str = "10", days: int = 28) -> None:
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"reread_fraction": Decimal(fraction), "reread_interval_days": days},
        user=w.lead,
    )


def test_a_share_of_studies_is_re_read_after_the_interval() -> None:
    w = make_world(n_training=0)
    _reviewed(w, 12)
    assert rereads.assign_due_rereads(w.project) == 0  # re-reads are off
    _settings(w, "10")
    # ceil(10% of 12) = 2, and running it again adds nothing.
    assert rereads.assign_due_rereads(w.project) == 2
    assert rereads.assign_due_rereads(w.project) == 0
    again = Assessment.objects.filter(kind="reread")
    assert {a.reviewer for a in again} == {w.trainee}
    assert all(a.reread_of.reviewer == w.trainee for a in again)


def test_nothing_is_re_read_before_the_interval() -> None:
    w = make_world(n_training=0)
    _reviewed(w, 5)
    _settings(w, "50", days=60)
    assert rereads.assign_due_rereads(w.project) == 0


def test_the_sweep_assigns_due_re_reads() -> None:
    w = make_world(n_training=0)
    _reviewed(w, 4)
    _settings(w, "50")
    assert rereads.sweep_due_rereads() == 2


def test_a_re_read_is_blind_to_the_earlier_answers() -> None:
    w = make_world(n_training=0)
    first = _reviewed(w, 1)[0]
    client = Client()
    client.force_login(w.trainee)
    form = reverse("assessment-form", args=[first.uuid])
    assert client.get(form).status_code == 200
    _settings(w, "100")
    assert rereads.assign_due_rereads(w.project) == 1
    reread = Assessment.objects.get(kind="reread")
    # Their first reading is hidden while the re-read is open...
    assert client.get(form).status_code == 403
    assert not access.can_see_assessment(w.trainee, first)
    page = client.get(reverse("assessment-form", args=[reread.uuid]))
    assert page.status_code == 200
    assert b"Seen on 1" not in page.content
    # ...and comes back once it is submitted.
    fill_and_submit(reread, RQS_10)
    assert client.get(form).status_code == 200


def test_a_re_read_does_not_blind_the_co_reviewers_again() -> None:
    w = make_world(n_training=0)
    study = w.live[0]
    mine = fill_and_submit(
        Assessment.objects.create(
            study=study, version=w.version, reviewer=w.trainee, kind="reviewer"
        ),
        RQS_13,
    )
    theirs = fill_and_submit(
        Assessment.objects.create(
            study=study, version=w.version, reviewer=w.other, kind="reviewer"
        ),
        RQS_10,
    )
    assert access.can_see_assessment(w.other, mine)
    Assessment.objects.create(
        study=study,
        version=w.version,
        reviewer=w.trainee,
        kind="reread",
        reread_of=mine,
    )
    assert access.can_see_assessment(w.other, mine)
    assert not access.can_see_assessment(w.trainee, theirs)


# Totals of a first reading and a re-read; pingouin's intraclass_corr gives
# ICC(A,1) = 0.964912, 95% CI [0.81, 0.99] for them (its CI is rounded).
PAIRS = [(13, 12), (8, 9), (20, 19), (5, 7), (15, 15), (11, 9), (17, 18)]


def test_intra_rater_icc_on_a_known_data_set() -> None:
    pg = pytest.importorskip("pingouin")
    import pandas as pd

    long = pd.DataFrame(
        [
            {"study": i, "read": r, "total": v}
            for i, pair in enumerate(PAIRS)
            for r, v in enumerate(pair)
        ]
    )
    table = pg.intraclass_corr(long, targets="study", raters="read", ratings="total")
    expected = table.set_index("Type").loc["ICC(A,1)"]
    found = intra_rater_icc([(float(a), float(b)) for a, b in PAIRS])
    assert found["value"] == pytest.approx(0.964912, abs=1e-6)
    assert found["value"] == pytest.approx(expected["ICC"], abs=1e-9)
    assert found["ci"] == pytest.approx([0.81, 0.99], abs=0.005)
    assert found["ci"] == pytest.approx(list(expected["CI95"]), abs=0.005)


def test_intra_rater_figures_reach_the_rows_and_the_sentence() -> None:
    w = make_world(n_training=0)
    firsts = _reviewed(w, 3) + _reviewed(w, 2, RQS_10)  # totals 13, 13, 13, 10, 10
    for first in firsts:
        Assessment.objects.create(
            study=first.study,
            version=w.version,
            reviewer=w.trainee,
            kind="reread",
            reread_of=first,
        )
    again = [RQS_13, RQS_13, RQS_10, RQS_10, RQS_10]  # 13, 13, 10, 10, 10
    found = Assessment.objects.filter(kind="reread").order_by("reread_of_id")
    for reread, given in zip(found, again, strict=True):
        fill_and_submit(reread, given)
    rows = calibration_rows(w.project)
    row = next(r for r in rows if r["reviewer"] == w.trainee.username)
    assert row["rereads"] == 5
    expected = intra_rater_icc([(13, 13), (13, 13), (13, 10), (10, 10), (10, 10)])
    assert row["intra_rater_icc"]["value"] == pytest.approx(expected["value"])
    assert row["intra_rater_kappa"]["items"]["2"] is not None
    sentence = methods_sentence(w.project, w.version)
    assert sentence.startswith("Intra-rater ICC(A,1) on 5 re-read studies was ")
    assert "95% CI" in sentence
