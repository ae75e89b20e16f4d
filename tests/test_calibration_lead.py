"""The lead's calibration pages: figures per reviewer, thresholds, re-reads,
training and hidden checks given out, and the drift chart."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments.charts.drift import drift_charts
from assessments.models import Assessment, Certification
from assessments.services import calibration
from tests.calibration_world import RQS_10, World, fill_and_submit, make_world, train
from tests.factories import RQS_13, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db

RQS = "rqs-1.0"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _overview(w: World) -> str:
    response = _client(w.lead).get(
        reverse("calibration-overview", args=[w.project.slug])
    )
    assert response.status_code == 200
    return response.content.decode()


def _settings_url(w: World) -> str:
    return reverse("calibration-settings", args=[w.project.slug, RQS])


def _assign_url(w: World) -> str:
    return reverse("calibration-assign", args=[w.project.slug, RQS])


def _settings(**changes: Any) -> dict[str, Any]:
    """The settings form as a lead would post it (unticked boxes are absent)."""
    values = {
        "certification": "on",
        "min_training_studies": "3",
        "min_item_agreement": "80",
        "max_total_difference": "3",
        "reread_fraction": "0",
        "reread_interval_days": "28",
        **changes,
    }
    return {k: v for k, v in values.items() if v is not None}


def _row_of(html: str, name: str) -> str:
    found = re.search(
        rf"<th scope=\"row\">{re.escape(name)}</th>(.*?)</tr>", html, re.S
    )
    assert found, f"no row for {name}"
    return found.group(1)


def _chart_svgs(html: str) -> list[str]:
    return [
        base64.b64decode(data).decode()
        for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    ]


# --- the overview ---------------------------------------------------------------------


def test_overview_shows_a_trainees_figures_and_certification() -> None:
    w = make_world(n_training=3)
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"certification": True},
        user=w.lead,
    )
    for study in w.training[:2]:
        train(w, w.trainee, study, RQS_13)
    train(w, w.trainee, w.training[2], RQS_10)
    StudyFactory(project=w.project, training=True, title="Training without gold")

    html = _overview(w)
    assert "Certification is required: at least 3 training studies, item " in html
    assert (
        "agreement of 80% or more, a mean difference in the total of 3 points" in html
    )
    mine = _row_of(html, w.trainee.username)
    # 16 + 16 + 14 of 48 items alike; totals 0, 0 and -3 points from 13.
    assert "<td>3</td>" in mine and "96%" in mine
    assert "\N{MINUS SIGN}1.00 points" in mine and "mean size 1.00 points" in mine
    assert "Certified" in mine and "on 3 training studies, item agreement 96%" in mine
    assert "threshold: at least 3 studies, agreement 80% or more" in mine
    assert "needs at least 5 re-read studies" in mine
    other = _row_of(html, w.other.username)
    assert "Not yet certified" in other
    assert "Still needed: 0 of 3 training studies done" in other
    assert (
        "Before scoring, the one reviewer completed calibration on 3 training" in html
    )
    assert "reference by <a" in html and "Eva Expert" in html
    assert "Training without gold" in html and "No reference yet" in html
    assert _settings_url(w) in html


def test_project_page_links_calibration_for_leads_only() -> None:
    w = make_world(n_training=1)
    url = reverse("calibration-overview", args=[w.project.slug])
    page = reverse("project-detail", args=[w.project.slug])
    assert url in _client(w.lead).get(page).content.decode()
    assert url not in _client(w.trainee).get(page).content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_reviewers_get_403_and_outsiders_404(method: str) -> None:
    w = make_world(n_training=1)
    slug = w.project.slug
    urls = {
        "get": [
            reverse("calibration-overview", args=[slug]),
            reverse("calibration-settings", args=[slug, RQS]),
        ],
        "post": [
            reverse("calibration-rereads", args=[slug]),
            reverse("calibration-assign", args=[slug, RQS]),
            reverse("calibration-settings", args=[slug, RQS]),
        ],
    }[method]
    outsider = UserFactory(username="outsider")
    for url in urls:
        assert getattr(_client(w.trainee), method)(url).status_code == 403
        assert getattr(_client(outsider), method)(url).status_code == 404
    assert not Assessment.objects.filter(kind__in=["training", "reread"]).exists()


def test_settings_of_a_version_the_project_does_not_use_is_404() -> None:
    w = make_world(n_training=1)
    url = reverse("calibration-settings", args=[w.project.slug, "metrics-1.0"])
    assert _client(w.lead).get(url).status_code == 404


# --- settings and re-reads ---------------------------------------------------------


def test_saving_settings_certifies_and_a_stricter_threshold_withdraws() -> None:
    w = make_world(n_training=3)
    for study in w.training:
        train(w, w.trainee, study, RQS_10)  # 14 of 16 alike (88%), 3 points under
    client = _client(w.lead)
    assert "Require certification" in client.get(_settings_url(w)).content.decode()

    response = client.post(_settings_url(w), _settings(), follow=True)
    assert "Calibration settings saved. 1 reviewer now certified." in (
        response.content.decode()
    )
    cert = Certification.objects.get(reviewer=w.trainee, version=w.version)
    assert cert.threshold["min_agreement"] == pytest.approx(0.8)

    response = client.post(
        _settings_url(w), _settings(min_item_agreement="90"), follow=True
    )
    assert "1 certificate withdrawn" in response.content.decode()
    assert not Certification.objects.filter(reviewer=w.trainee).exists()
    assert "Not yet certified" in _row_of(_overview(w), w.trainee.username)


def test_settings_refuse_out_of_range_values_with_clear_messages() -> None:
    w = make_world(n_training=1)
    response = _client(w.lead).post(
        _settings_url(w),
        _settings(min_item_agreement="150", reread_interval_days="0"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Item agreement is a percentage from 0 to 100." in html
    assert "Re-read after 1 day at the earliest." in html
    assert not w.project.calibration_settings.exists()


def test_assign_due_rereads_button() -> None:
    w = make_world(n_training=1)
    for study in w.live:
        review = Assessment.objects.create(
            study=study, version=w.version, reviewer=w.trainee, kind="reviewer"
        )
        fill_and_submit(review, RQS_13)
    client = _client(w.lead)
    client.post(_settings_url(w), _settings(certification=None, reread_fraction="50"))
    button = reverse("calibration-rereads", args=[w.project.slug])
    assert "Assign due re-reads now" in client.get(_settings_url(w)).content.decode()

    response = client.post(button, {"version": RQS}, follow=True)
    assert "0 re-reads assigned." in response.content.decode()  # not yet due

    Assessment.objects.filter(reviewer=w.trainee, kind="reviewer").update(
        first_submitted_at=timezone.now() - timedelta(days=40)
    )
    response = client.post(button, {"version": RQS}, follow=True)
    assert response.redirect_chain[-1][0] == _settings_url(w)
    assert "1 re-read assigned." in response.content.decode()  # half of 2
    reread = Assessment.objects.get(kind="reread")
    assert reread.reviewer == w.trainee and reread.reread_of.study in w.live


# --- training and hidden checks ----------------------------------------------------


def test_assign_form_makes_training_assessments() -> None:
    w = make_world(n_training=2)
    client = _client(w.lead)
    html = _overview(w)
    assert 'name="train-rqs-1.0-studies"' in html
    response = client.post(
        _assign_url(w),
        {
            "what": "training",
            "train-rqs-1.0-studies": [str(s.uuid) for s in w.training],
            "train-rqs-1.0-reviewers": [w.other.username, w.trainee.username],
        },
        follow=True,
    )
    assert "4 training assessments assigned." in response.content.decode()
    made = Assessment.objects.filter(kind="training", reviewer=w.other)
    assert {a.study for a in made} == set(w.training)


def test_assign_form_refuses_a_study_without_reference_and_changes_nothing() -> None:
    w = make_world(n_training=1)
    bare = StudyFactory(project=w.project, training=True, title="No gold here")
    response = _client(w.lead).post(
        _assign_url(w),
        {
            "train-rqs-1.0-studies": [str(w.training[0].uuid), str(bare.uuid)],
            "train-rqs-1.0-reviewers": [w.other.username],
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Nothing was changed." in html
    assert "No gold here: has no RQS 1.0 reference yet" in html
    assert not Assessment.objects.filter(kind="training").exists()


def test_assign_form_names_what_is_missing() -> None:
    w = make_world(n_training=1)
    response = _client(w.lead).post(
        _assign_url(w),
        {"train-rqs-1.0-studies": [str(w.training[0].uuid)]},
        follow=True,
    )
    assert "Choose at least one reviewer." in response.content.decode()
    assert not Assessment.objects.filter(kind="training").exists()


def test_hidden_check_refused_while_off_then_assigned_once_on() -> None:
    w = make_world(n_training=1)
    gold = w.training[0]
    post = {
        "what": "check",
        "check-rqs-1.0-study": str(gold.uuid),
        "check-rqs-1.0-reviewer": w.other.username,
    }
    client = _client(w.lead)
    assert "Assign a hidden check" not in _overview(w)
    response = client.post(_assign_url(w), post, follow=True)
    assert "Hidden checks are off for this instrument" in response.content.decode()
    assert not Assessment.objects.filter(kind="check").exists()

    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"hidden_checks": True},
        user=w.lead,
    )
    assert "Assign a hidden check" in _overview(w)
    response = client.post(_assign_url(w), post, follow=True)
    assert f"Hidden check assigned to {w.other.username}" in response.content.decode()
    check = Assessment.objects.get(kind="check")
    assert (check.study, check.reviewer) == (gold, w.other)


# --- drift --------------------------------------------------------------------------


def _month(year: int, month: int) -> datetime:
    return timezone.make_aware(datetime(year, month, 15, 12))


def test_drift_chart_shows_a_month_of_three_studies_and_omits_one_of_two() -> None:
    w = make_world(n_training=5)
    done = [train(w, w.trainee, s, RQS_13) for s in w.training]
    Assessment.objects.filter(pk__in=[a.pk for a in done[:3]]).update(
        first_submitted_at=_month(2025, 11)
    )
    Assessment.objects.filter(pk__in=[a.pk for a in done[3:]]).update(
        first_submitted_at=_month(2025, 12)
    )
    html = _overview(w)
    svgs = _chart_svgs(html)
    assert len(svgs) == 2  # agreement and leniency
    for svg in svgs:
        assert "2025-11" in svg and "2025-12" not in svg
        assert "<title" in svg and "<desc>" in svg
    assert "<td>2025-11</td><td>3</td><td>100.0%</td>" in html
    assert "2025-12" not in html


def test_drift_says_so_in_words_when_no_month_qualifies() -> None:
    w = make_world(n_training=2)
    for study in w.training:
        train(w, w.trainee, study, RQS_13)
    html = _overview(w)
    assert not _chart_svgs(html)
    assert "no drift to show" in html


def test_drift_charts_floor_keeps_only_months_with_three_studies() -> None:
    series = [
        {
            "name": "Ann",
            "periods": [
                {"month": "2026-01", "studies": 3, "agreement": 0.75, "leniency": -2.0},
                {"month": "2026-02", "studies": 2, "agreement": 0.5, "leniency": 4.0},
            ],
        }
    ]
    agreement, leniency = drift_charts("RQS 1.0", series, "points")
    for chart in (agreement, leniency):
        assert "2026-01" in chart.svg and "2026-02" not in chart.svg
        assert [r[1] for r in chart.table.rows] == ["2026-01"]
        assert 'role="img"' in chart.svg and f"<desc>{chart.alt}</desc>" in chart.svg
    assert agreement.table.rows == [["Ann", "2026-01", "3", "75.0%"]]
    assert leniency.table.rows == [["Ann", "2026-01", "3", "-2"]]
    # No total (a checklist without one): agreement only; nothing qualifies: none.
    assert [c.title for c in drift_charts("X", series, None)] == [
        "Item agreement by month, X"
    ]
    assert (
        drift_charts(
            "X", [{"name": "Bob", "periods": series[0]["periods"][1:]}], "points"
        )
        == []
    )


def test_the_project_page_shows_leads_who_is_certified() -> None:
    w = make_world(n_training=1, slug="certpage")
    calibration.save_settings(
        project=w.project,
        version=w.version,
        values={"certification": True, "min_training_studies": 1},
        user=w.lead,
    )
    train(w, w.trainee, w.training[0], RQS_13)
    page = Client()
    page.force_login(w.lead)
    text = page.get(reverse("project-detail", args=[w.project.slug])).content.decode()
    assert "Certified reviewers" in text
    assert f"{w.trainee.username}</strong> for RQS 1.0, since" in text
    assert "1 training study, item agreement 100%" in text
    page.force_login(w.other)
    text = page.get(reverse("project-detail", args=[w.project.slug])).content.decode()
    assert "Certified reviewers" not in text
