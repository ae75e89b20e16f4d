"""My training and the feedback page, as a trainee, a lead and an observer see
them: the reference stays hidden until the trainee submits, then the figures
match the hand-computed ones."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from assessments.models import Answer, Assessment, Membership, Reference, Study
from assessments.services import answering, calibration, projects
from tests.calibration_world import RQS_10, World, fill_and_submit, make_world
from tests.factories import RQS_13, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db

RATIONALE = "Rationale-zebra: the protocol is registered on page 3."
EVIDENCE = "Evidence-okapi: a protocol registered before the study began"
QUOTE = "Quote-heron: the study protocol was registered in advance"
SECRETS = (RATIONALE, EVIDENCE, QUOTE, "zebra", "okapi", "heron")
NOT_YET = "Feedback appears once you submit this training study."


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def gold_study(w: World, title: str = "Gold standard nodules") -> Study:
    """A training study whose reference carries distinctive rationale,
    evidence and a quote on item 2."""
    study = StudyFactory(project=w.project, training=True, title=title)
    source = Assessment.objects.create(
        study=study, version=w.version, reviewer=w.expert, kind="reviewer"
    )
    for code, choices in RQS_13.items():
        answering.save_answer(
            assessment=source,
            user=w.expert,
            data=answering.AnswerInput(
                code, choices, evidence=EVIDENCE if code == "2" else ""
            ),
            seen_revision=0,
        )
    answering.submit_assessment(assessment=source, user=w.expert)
    source.refresh_from_db()
    reference = calibration.mark_reference(
        source=source, user=w.lead, rationales={"2": RATIONALE}
    )
    answers = dict(reference.answers)
    answers["2"] = {
        **answers["2"],
        "page": "3",
        "quotes": [{"exact": QUOTE, "page": 3}],
    }
    Reference.objects.filter(pk=reference.pk).update(answers=answers)
    return study


def start(client: Client, w: World, study: Study) -> Assessment:
    before = set(Assessment.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("training-start", args=[w.project.slug]),
        {"study": str(study.uuid), "version": w.version.key},
    )
    assert response.status_code == 302
    started = Assessment.objects.exclude(pk__in=before).get(study=study)
    assert started.kind == "training"
    assert response["Location"] == reverse("assessment-form", args=[started.uuid])
    return started


def assert_no_secret(text: str) -> None:
    shown = [s for s in SECRETS if s.lower() in text.lower()]
    assert not shown, f"the reference shows before submitting: {shown}"


def test_my_training_offers_studies_with_a_reference() -> None:
    w = make_world(n_training=2)
    StudyFactory(project=w.project, training=True, title="No reference yet")
    page = client_for(w.trainee).get(reverse("training-home", args=[w.project.slug]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Training 0" in text and "Training 1" in text
    assert "No reference yet" not in text
    assert text.count(">Start</button>") == 2
    # Live studies are no training.
    assert w.live[0].title not in text


def test_reference_is_never_shown_before_submitting() -> None:
    w = make_world(n_training=0)
    study = gold_study(w)
    trainee = client_for(w.trainee)
    started = start(trainee, w, study)
    fill_and_submit(started, RQS_10, submit=False)

    form = trainee.get(reverse("assessment-form", args=[started.uuid]))
    assert form.status_code == 200
    text = form.content.decode()
    assert "Training study." in text and "compared with a reference" in text
    assert_no_secret(text)
    study_page = trainee.get(reverse("study-detail", args=[w.project.slug, study.uuid]))
    assert study_page.status_code == 200
    assert_no_secret(study_page.content.decode())
    home = trainee.get(reverse("training-home", args=[w.project.slug]))
    assert_no_secret(home.content.decode())

    refused = trainee.get(reverse("training-feedback", args=[started.uuid]))
    assert refused.status_code == 403
    assert NOT_YET in refused.content.decode()
    assert_no_secret(refused.content.decode())


def test_feedback_after_submit_shows_the_hand_computed_figures() -> None:
    w = make_world(n_training=0)
    study = gold_study(w)
    trainee = client_for(w.trainee)
    started = start(trainee, w, study)
    fill_and_submit(started, RQS_10, submit=False)

    submitted = trainee.post(reverse("assessment-submit", args=[started.uuid]))
    feedback_url = reverse("training-feedback", args=[started.uuid])
    assert submitted.status_code == 302 and submitted["Location"] == feedback_url

    page = trainee.get(feedback_url)
    assert page.status_code == 200
    text = page.content.decode()
    # Items 2 and 13 differ: 14 of 16 agree (87.5%, shown 88%); 10 against 13.
    assert "14 of 16 (88%)" in text
    assert "\u22123 points" in text
    assert "Eva Expert" in text
    for secret in (RATIONALE, EVIDENCE, QUOTE):
        assert secret in text
    assert text.count("✗ Differs") == 2 and text.count("✓ Agrees") == 14
    # Kappa per item needs more studies; the page says why.
    assert "needs at least 5 studies" in text
    # The item's explanation from the instrument.
    item_two = w.version.as_definition().item("2")
    assert item_two.help and item_two.help[:40] in text.replace("&#x27;", "'")


def test_form_of_a_submitted_training_links_to_its_feedback() -> None:
    w = make_world(n_training=1)
    trainee = client_for(w.trainee)
    started = start(trainee, w, w.training[0])
    fill_and_submit(started, RQS_13)
    form = trainee.get(reverse("assessment-form", args=[started.uuid]))
    assert reverse("training-feedback", args=[started.uuid]) in form.content.decode()
    home = trainee.get(reverse("training-home", args=[w.project.slug]))
    text = home.content.decode()
    assert "Read feedback" in text
    assert reverse("training-feedback", args=[started.uuid]) in text


def test_my_figures_show_only_my_own_row() -> None:
    w = make_world(n_training=2)
    for study, answers in zip(w.training, (RQS_10, RQS_13), strict=True):
        started = start(client_for(w.trainee), w, study)
        fill_and_submit(started, answers)
    other = start(client_for(w.other), w, w.training[0])
    fill_and_submit(other, RQS_10)
    page = client_for(w.trainee).get(reverse("training-home", args=[w.project.slug]))
    text = page.content.decode()
    # 30 of 32 items pooled: 94%; mean difference (-3 + 0) / 2.
    assert "94%" in text
    assert "\u22121.5 points" in text
    assert "Not required in this project." in text
    assert w.other.username not in text
    assert reverse("drill-list", args=[w.project.slug, w.version.key]) in text


def test_still_needed_is_listed_when_certification_is_on() -> None:
    w = make_world(n_training=1)
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"certification": True},
        user=w.lead,
    )
    fill_and_submit(start(client_for(w.trainee), w, w.training[0]), RQS_13)
    page = client_for(w.trainee).get(reverse("training-home", args=[w.project.slug]))
    assert "Still needed: 1 of 3 training studies done" in page.content.decode()


def test_a_hidden_check_looks_live_and_never_shows_feedback() -> None:
    w = make_world(n_training=1)
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"hidden_checks": True},
        user=w.lead,
    )
    check = calibration.assign_hidden_check(
        study=w.training[0], version=w.version, reviewer=w.trainee, user=w.lead
    )
    live = Assessment.objects.create(
        study=w.live[0], version=w.version, reviewer=w.trainee, kind="reviewer"
    )
    trainee = client_for(w.trainee)
    form = trainee.get(reverse("assessment-form", args=[check.uuid])).content.decode()
    assert "Training study" not in form and "reference" not in form.lower()
    live_form = trainee.get(reverse("assessment-form", args=[live.uuid]))
    assert "Training study" not in live_form.content.decode()

    fill_and_submit(check, RQS_10, submit=False)
    submitted = trainee.post(reverse("assessment-submit", args=[check.uuid]))
    assert submitted["Location"] == reverse("assessment-form", args=[check.uuid])
    refused = trainee.get(reverse("training-feedback", args=[check.uuid]))
    assert refused.status_code == 403 and NOT_YET in refused.content.decode()
    # The same words as for a live assessment: nothing tells the two apart.
    live_refused = trainee.get(reverse("training-feedback", args=[live.uuid]))
    assert live_refused.status_code == 403
    assert "Protocol on page 3." not in refused.content.decode()
    home = trainee.get(reverse("training-home", args=[w.project.slug]))
    text = home.content.decode()
    assert w.training[0].title not in text
    assert "Read feedback" not in text


def test_a_reread_says_the_earlier_answers_are_hidden() -> None:
    w = make_world(n_training=0)
    first = Assessment.objects.create(
        study=w.live[0], version=w.version, reviewer=w.trainee, kind="reviewer"
    )
    fill_and_submit(first, RQS_13)
    again = Assessment.objects.create(
        study=w.live[0],
        version=w.version,
        reviewer=w.trainee,
        kind="reread",
        reread_of=first,
    )
    form = client_for(w.trainee).get(reverse("assessment-form", args=[again.uuid]))
    assert (
        "score the study afresh; your earlier answers are hidden until you submit"
        in form.content.decode()
    )


def test_leads_read_a_trainees_feedback() -> None:
    w = make_world(n_training=1)
    started = start(client_for(w.trainee), w, w.training[0])
    fill_and_submit(started, RQS_10)
    page = client_for(w.lead).get(reverse("training-feedback", args=[started.uuid]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "14 of 16 (88%)" in text and "Protocol on page 3." in text


def test_observers_are_refused_and_outsiders_find_nothing() -> None:
    w = make_world(n_training=1)
    started = start(client_for(w.trainee), w, w.training[0])
    fill_and_submit(started, RQS_13)
    observer = UserFactory(username="calib-observer")
    projects.set_membership(
        project=w.project, member=observer, role=Membership.Role.OBSERVER, user=w.lead
    )
    home = reverse("training-home", args=[w.project.slug])
    feedback = reverse("training-feedback", args=[started.uuid])
    start_url = reverse("training-start", args=[w.project.slug])
    posted = {"study": str(w.training[0].uuid), "version": w.version.key}
    as_observer = client_for(observer)
    assert as_observer.get(home).status_code == 403
    assert as_observer.get(feedback).status_code == 403
    assert as_observer.post(start_url, posted).status_code == 403
    outsider = client_for(UserFactory(username="calib-outsider"))
    assert outsider.get(home).status_code == 404
    assert outsider.get(feedback).status_code == 404
    assert outsider.post(start_url, posted).status_code == 404
    # Another reviewer of the project does not read the trainee's feedback.
    assert client_for(w.other).get(feedback).status_code == 403
    assert not Assessment.objects.filter(reviewer=observer).exists()


def test_start_refuses_a_study_without_reference() -> None:
    w = make_world(n_training=0)
    bare = StudyFactory(project=w.project, training=True, title="Bare training")
    trainee = client_for(w.trainee)
    response = trainee.post(
        reverse("training-start", args=[w.project.slug]),
        {"study": str(bare.uuid), "version": w.version.key},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse(
        "training-home", args=[w.project.slug]
    )
    assert "has no RQS 1.0 reference yet" in response.content.decode()
    assert not Assessment.objects.filter(study=bare).exists()
    # Nor a live study, nor a garbled one.
    live = trainee.post(
        reverse("training-start", args=[w.project.slug]),
        {"study": str(w.live[0].uuid), "version": w.version.key},
        follow=True,
    )
    assert "is not a training study" in live.content.decode()
    garbled = trainee.post(
        reverse("training-start", args=[w.project.slug]),
        {"study": "not-a-uuid", "version": w.version.key},
    )
    assert garbled.status_code == 404
    assert (
        not Answer.objects.filter(assessment__study__project=w.project)
        .exclude(assessment__reviewer=w.expert)
        .exists()
    )


def test_start_refuses_a_second_go_and_wrong_method() -> None:
    w = make_world(n_training=1)
    trainee = client_for(w.trainee)
    start(trainee, w, w.training[0])
    again = trainee.post(
        reverse("training-start", args=[w.project.slug]),
        {"study": str(w.training[0].uuid), "version": w.version.key},
        follow=True,
    )
    assert "you already have it" in again.content.decode()
    assert Assessment.objects.filter(kind="training").count() == 1
    assert (
        trainee.get(reverse("training-start", args=[w.project.slug])).status_code == 405
    )
