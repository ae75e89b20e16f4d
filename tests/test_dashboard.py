"""Dashboard figures against hand-computed values; stored snapshots; query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessments import queue
from assessments.models import Assessment, DashboardSnapshot, InstrumentVersion, Study
from assessments.selectors import dashboard
from assessments.services import assignment, changes, snapshots
from assessments.services.score_imports import create_submitted
from assessments.services.sweeps import run_sweeps
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

BASE = RQS_13  # 13 points


def answers(**changes: list[str]) -> dict[str, list[str]]:
    return {**BASE, **changes}


@pytest.fixture
def small(db: None) -> dict[str, Any]:
    """Three studies: A both submitted (13 and 9), B one submitted (13), C none."""
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    a = StudyFactory(project=project, title="A", year=2020, modality="CT")
    b = StudyFactory(project=project, title="B", year=2021, modality="MRI")
    c = StudyFactory(project=project, title="C", year=2021, modality="MRI")
    create_submitted(a, version, r1, answers())  # 13
    create_submitted(a, version, r2, answers(**{"5": ["none"], "2": ["no"]}))  # 6
    create_submitted(b, version, r1, answers())  # 13
    assignment.assign_reviewer(study=b, version=version, reviewer=r2, user=lead)
    assignment.assign_reviewer(study=c, version=version, reviewer=r1, user=lead)
    return {
        "project": project,
        "version": version,
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "studies": (a, b, c),
    }


def test_figures_match_hand_computed_values(small: dict[str, Any]) -> None:
    board = dashboard.compute(small["project"], small["version"], dashboard.Filters())
    f = board.figures
    # A: mean of 13 and 6 = 9.5 (26.39 %); B: 13 (36.11 %); C: no result.
    assert f["summary"]["n"] == 2
    assert f["summary"]["mean_total"] == pytest.approx(11.25)
    assert f["summary"]["mean_percent"] == pytest.approx(
        (9.5 + 13) / 2 / 36 * 100, abs=0.01
    )
    assert f["distribution"] == [(20, 1), (30, 1)]
    adherence = {code: (yes, n) for code, _l, yes, n, _m in f["adherence"]}
    assert adherence["2"] == (2, 2)  # A: mean 0.5 > 0 adheres; B: 1
    assert adherence["5"] == (1, 2)  # A: mean of -3 and 3 = 0, not adhering
    assert adherence["3"] == (0, 2)
    by_year = {year: (mean, n) for year, mean, n in f["by_year"]}
    assert by_year["2020"] == (26.4, 1) and by_year["2021"] == (36.1, 1)
    domains = dict(f["domains"])
    # Domain 1 (items 1-4, max 5): A 1+0.5, B 1+1 -> mean 1.75 -> 35 %.
    assert domains[next(k for k in domains if "protocol" in k.lower())] == 35.0


def test_progress_counts_each_state(small: dict[str, Any]) -> None:
    board = dashboard.compute(small["project"], small["version"], dashboard.Filters())
    assert board.figures["progress"] == {
        "assigned": 1,
        "in_progress": 1,
        "submitted": 1,
        "in_consensus": 0,
        "final": 0,
    }


def test_consensus_is_the_final_result(small: dict[str, Any]) -> None:
    study = small["studies"][0]
    consensus = Assessment.objects.create(
        study=study,
        version=small["version"],
        kind="consensus",
        status="submitted",
        total=20,
        maximum=36,
        percent=55.5556,
    )
    board = dashboard.compute(small["project"], small["version"], dashboard.Filters())
    assert board.figures["progress"]["final"] == 1
    assert board.figures["summary"]["mean_total"] == pytest.approx((20 + 13) / 2)
    consensus.stale = True
    consensus.save()
    board = dashboard.compute(small["project"], small["version"], dashboard.Filters())
    assert board.figures["summary"]["mean_total"] == pytest.approx(11.25)


def test_floor_is_applied_after_averaging(small: dict[str, Any]) -> None:
    project, version = small["project"], small["version"]
    d = StudyFactory(project=project, title="D", year=2022)
    low = answers(
        **{
            "5": ["none"],
            "12": ["none"],
            "1": [],
            "2": ["no"],
            "6": ["no"],
            "8": ["no"],
            "9": [],
            "13": ["no"],
            "16": [],
        }
    )
    create_submitted(d, version, small["r1"], low)  # -8
    create_submitted(d, version, small["r2"], answers())  # 13 -> mean 2.5
    project.percent_convention = "floored"
    project.save()
    rows = dashboard.annotated_studies(project, version, floor=True).filter(title="D")
    assert rows.get().final_percent == pytest.approx(2.5 / 36 * 100)


def test_filters_apply_to_every_figure(small: dict[str, Any]) -> None:
    filters = dashboard.Filters.from_params({"modality": "mri"})
    board = dashboard.compute(small["project"], small["version"], filters)
    assert sum(board.figures["progress"].values()) == 2
    assert board.figures["summary"]["n"] == 1
    reviewer = dashboard.Filters.from_params({"reviewer": str(small["r2"].pk)})
    board = dashboard.compute(small["project"], small["version"], reviewer)
    assert sum(board.figures["progress"].values()) == 2  # A and B


def test_reviewers_dashboard_leaves_out_studies_they_are_blinded_on(
    small: dict[str, Any],
) -> None:
    # r2 is assigned to B (not yet submitted): B's result is r1's 13 alone.
    board = dashboard.compute(
        small["project"], small["version"], dashboard.Filters(), user=small["r2"]
    )
    assert board.figures["summary"]["n"] == 1  # only A, fully submitted
    client = Client()
    client.force_login(small["r2"])
    page = client.get("/p/p/dashboard/").content.decode()
    assert "36.1" not in page  # B's mean (r1's total alone) is not shown


def test_stored_dashboard_is_never_shown_as_current_when_stale(
    small: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(dashboard, "LIVE_LIMIT", 0)  # behave as a large project
    # The worker has not picked the refresh up yet (in eager mode it would at once).
    monkeypatch.setattr(queue, "refresh_dashboard", lambda project_id: True)
    client = Client()
    client.force_login(small["lead"])
    page = client.get("/p/p/dashboard/").content.decode()
    assert "(current)" in page
    changes.bump_data_revision(small["project"].pk)
    page = client.get("/p/p/dashboard/").content.decode()
    assert "do not include the latest changes" in page
    status = client.get("/p/p/dashboard/status").json()
    assert status["current"] is False
    assert snapshots.refresh_project_dashboards(small["project"].pk) == 1
    assert client.get("/p/p/dashboard/status").json()["current"] is True
    assert "(current)" in client.get("/p/p/dashboard/").content.decode()


def test_sweep_catches_up_a_dashboard_whose_refresh_was_lost(
    small: dict[str, Any],
) -> None:
    snapshots.refresh_project_dashboards(small["project"].pk)
    changes.bump_data_revision(small["project"].pk)
    assert dashboard.stale_snapshots()
    assert run_sweeps()["sweep_stale_dashboards"] == 1
    assert not dashboard.stale_snapshots()
    snap = DashboardSnapshot.objects.get()
    assert (
        snap.data_revision
        == small["project"].__class__.objects.get(pk=small["project"].pk).data_revision
    )


@pytest.mark.parametrize("n", [10, 1000])
def test_dashboard_queries_do_not_grow(
    db: None, n: int, django_assert_max_num_queries: Any
) -> None:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=f"r{i}") for i in range(3)]
    project = make_project(lead=lead, reviewers=reviewers, slug="p")
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    Study.objects.bulk_create(
        Study(
            project=project,
            title=f"S{i}",
            title_key=f"s{i}",
            year=2015 + i % 8,
            modality="CT",
        )
        for i in range(n)
    )
    assignment.auto_assign(project=project, version=version, per_study=2, user=lead)
    Assessment.objects.filter(pk__in=Assessment.objects.values("pk")[: n // 2]).update(
        status="submitted", total=10, maximum=36, percent=27.7778
    )
    client = Client()
    client.force_login(lead)
    with django_assert_max_num_queries(32):
        assert client.get("/p/p/dashboard/?year=2016").status_code == 200
    with django_assert_max_num_queries(32):
        assert client.get("/p/p/dashboard/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get("/p/p/dashboard/").status_code == 200  # stored, current


def test_risk_of_bias_charts_name_domains_in_words(db: None) -> None:
    lead, alice = UserFactory(username="lead"), UserFactory(username="alice")
    project = make_project(lead=lead, reviewers=[alice], keys=("quadas-2-1.0",))
    version = InstrumentVersion.objects.get(instrument__code="quadas-2")
    study = StudyFactory(project=project)
    answers = {f"D{n}.rob": ["low"] for n in range(1, 5)} | {"1.1": ["yes"]}
    create_submitted(study, version, alice, answers)
    client = Client()
    client.force_login(lead)
    page = client.get(f"/p/{project.slug}/dashboard/").content.decode()
    assert "Patient selection" in page  # "Risk of bias: patient selection"
    assert ">D1.rob<" not in page and ">D1<" not in page


def test_a_current_stored_dashboard_carries_each_reviewers_progress(
    small: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(dashboard, "LIVE_LIMIT", 0)  # behave as a large project
    monkeypatch.setattr(queue, "refresh_dashboard", lambda project_id: True)
    snapshots.refresh_project_dashboards(small["project"].pk)
    client = Client()
    client.force_login(small["lead"])

    with CaptureQueriesContext(connection) as stored:
        page = client.get("/p/p/dashboard/").content.decode()
    # r1: 3 assignments, 2 submitted; r2: 2 assignments, 1 submitted.
    assert "67%" in page and "50%" in page
    # The per-reviewer counts come from the snapshot: no query groups by reviewer.
    assert not [
        q["sql"]
        for q in stored.captured_queries
        if 'LEFT OUTER JOIN "auth_user"' in q["sql"] and "GROUP BY" in q["sql"]
    ]
    # Stale: the same table, counted live until the worker catches up.
    assignment.assign_reviewer(
        study=small["studies"][2],
        version=small["version"],
        reviewer=small["r2"],
        user=small["lead"],
    )
    page = client.get("/p/p/dashboard/").content.decode()
    assert "do not include the latest changes" in page
    assert "33%" in page  # r2: 1 of 3 submitted, counted live
