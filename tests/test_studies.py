"""Studies: import (each format, duplicates, malformed files), assignment, exclusion."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from assessments.models import Assessment, AuditEvent, ConflictOfInterest, Study
from assessments.services import assignment
from tests.factories import StudyFactory, UserFactory, make_project

DATA = Path(__file__).parent / "data" / "imports"


@pytest.fixture
def project(db: None) -> Any:
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=f"r{i}") for i in range(1, 5)]
    return make_project(lead=lead, reviewers=reviewers, slug="p")


def lead_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="lead"))
    return client


def upload(client: Client, name: str, data: bytes, fmt: str = "") -> Any:
    return client.post(
        "/p/p/studies/import/", {"file": SimpleUploadedFile(name, data), "format": fmt}
    )


@pytest.mark.parametrize(
    "name",
    [
        "studies.ris",
        "studies.bib",
        "studies.nbib",
        "studies.xml",
        "studies.csv",
        "studies_semicolon.csv",
    ],
)
def test_each_format_previews_then_imports(project: Any, name: str) -> None:
    client = lead_client()
    preview = upload(client, name, (DATA / name).read_bytes())
    assert preview.status_code == 200
    report = preview.context["report"]
    assert report.ok and report.new, report.problems
    assert Study.objects.count() == 0  # nothing saved by the preview
    done = client.post(
        "/p/p/studies/import/",
        {"token": preview.context["token"], "format": report.format},
    )
    assert done.status_code == 302
    assert Study.objects.filter(project=project).count() == len(report.new)
    assert AuditEvent.objects.filter(action="import-studies").exists()


def test_byte_order_mark_and_format_override(project: Any) -> None:
    data = b"\xef\xbb\xbf" + (DATA / "studies.ris").read_bytes()
    report = upload(lead_client(), "x.txt", data, fmt="ris").context["report"]
    assert report.ok and report.format == "ris"


def test_duplicates_are_skipped_and_listed(project: Any) -> None:
    StudyFactory(project=project, title="Existing", doi="10.5555/demo.dup")
    text = (DATA / "studies.ris").read_text()
    first = text.split("ER  -")[0] + "ER  -\n"
    client = lead_client()
    call_command(
        "import_studies", str(DATA / "studies.ris"), project="p", stdout=StringIO()
    )
    count = Study.objects.count()
    report = upload(client, "again.ris", first.encode()).context["report"]
    assert report.ok and not report.new and len(report.duplicates) == 1
    assert "same" in report.duplicates[0][1]
    assert Study.objects.count() == count


@pytest.mark.parametrize(
    "name",
    [
        "malformed.ris",
        "malformed.bib",
        "malformed.csv",
        "malformed_pubmed.xml",
        "not_pubmed.xml",
        "latin1.csv",
        "entity_expansion.xml",
    ],
)
def test_malformed_files_change_nothing_and_name_each_problem(
    project: Any, name: str
) -> None:
    response = upload(lead_client(), name, (DATA / name).read_bytes())
    report = response.context["report"]
    assert report.problems and not response.context["token"]
    assert Study.objects.count() == 0
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_studies", str(DATA / name), project="p", stderr=err)
    assert exit_info.value.code == 1
    assert "Nothing was imported" in err.getvalue()
    assert Study.objects.count() == 0


def test_import_command_dry_run_saves_nothing(project: Any) -> None:
    out = StringIO()
    call_command(
        "import_studies",
        str(DATA / "studies.bib"),
        project="p",
        dry_run=True,
        stdout=out,
    )
    assert "would import" in out.getvalue()
    assert Study.objects.count() == 0


def test_auto_assign_is_balanced_and_honours_conflicts(project: Any) -> None:
    StudyFactory.create_batch(10, project=project)
    version = project.instruments.get()
    lead = UserFactory(username="lead")
    conflicted = Study.objects.first()
    r1 = UserFactory(username="r1")
    assignment.declare_conflict(
        study=conflicted, reviewer=r1, reason="co-author", user=lead
    )
    client = lead_client()
    client.post("/p/p/assign/", {"version": version.pk, "per_study": 2})
    rows = Assessment.objects.filter(version=version)
    assert rows.count() == 20
    per_reviewer = sorted(rows.values_list("reviewer__username", flat=True))
    counts = {name: per_reviewer.count(name) for name in set(per_reviewer)}
    assert set(counts) == {"r1", "r2", "r3", "r4"}  # leads are not auto-assigned
    assert max(counts.values()) - min(counts.values()) <= 1
    for study in Study.objects.all():
        reviewers = list(study.assessments.values_list("reviewer", flat=True))
        assert len(reviewers) == len(set(reviewers)) == 2
    assert not rows.filter(study=conflicted, reviewer=r1).exists()
    client.post("/p/p/assign/", {"version": version.pk, "per_study": 2})
    assert rows.count() == 20  # idempotent


def test_manual_assignment_refuses_conflicts(project: Any) -> None:
    study = StudyFactory(project=project)
    r2 = UserFactory(username="r2")
    ConflictOfInterest.objects.create(study=study, user=r2)
    response = lead_client().post(
        f"/p/p/s/{study.uuid}/assign/",
        {"version": project.instruments.get().pk, "reviewer": r2.pk},
        follow=True,
    )
    assert "conflict of interest" in response.content.decode()
    assert not Assessment.objects.exists()


def test_reviewer_declares_own_conflict(project: Any) -> None:
    study = StudyFactory(project=project)
    client = Client()
    client.force_login(UserFactory(username="r3"))
    client.post(
        f"/p/p/s/{study.uuid}/conflict/", {"reason": "my own study", "user": "1"}
    )
    conflict = ConflictOfInterest.objects.get()
    assert conflict.user.username == "r3"  # a reviewer cannot declare for others


def test_exclude_and_reassign_are_audited(project: Any) -> None:
    study = StudyFactory(project=project)
    version = project.instruments.get()
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    assessment = assignment.assign_reviewer(
        study=study, version=version, reviewer=r1, user=lead
    )
    client = lead_client()
    client.post(f"/p/p/a/{assessment.uuid}/reassign/", {"reviewer": r2.pk})
    assessment.refresh_from_db()
    assert assessment.reviewer == r2
    client.post(f"/p/p/s/{study.uuid}/exclude/", {"reason": "not a radiomics study"})
    study.refresh_from_db()
    assert study.excluded and study.exclusion_reason == "not a radiomics study"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"reassign", "exclude"} <= actions
    assert study.history.filter(excluded=True).exists()


def test_membership_changes_are_audited(project: Any) -> None:
    UserFactory(username="newbie")
    client = lead_client()
    client.post("/p/p/members/", {"add": "1", "username": "newbie", "role": "observer"})
    assert project.memberships.filter(user__username="newbie", role="observer").exists()
    assert project.memberships.model.history.filter(user__username="newbie").exists()
    assert AuditEvent.objects.filter(action="member-set", target="newbie").exists()


def test_score_import_creates_submitted_assessments_all_or_nothing(
    project: Any,
) -> None:
    s1 = StudyFactory(project=project, doi="10.5555/a")
    StudyFactory(project=project, doi="10.5555/b")
    version = project.instruments.get()
    header = "id,reviewer," + ",".join(str(i) for i in range(1, 17))
    good = "10.5555/a,r1,1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1"
    bad = "10.5555/b,r2,1,1,0,0,0,1,0,1,2,1,0,2,2,0,0,1"  # item 5 cannot be 0
    client = lead_client()
    response = client.post(
        "/p/p/scores/import/",
        {
            "version": version.pk,
            "file": SimpleUploadedFile("s.csv", f"{header}\n{good}\n{bad}\n".encode()),
        },
    )
    assert response.status_code == 400 and "item 5" in response.content.decode()
    assert not Assessment.objects.exists()
    client.post(
        "/p/p/scores/import/",
        {
            "version": version.pk,
            "file": SimpleUploadedFile("s.csv", f"{header}\n{good}\n".encode()),
        },
    )
    imported = Assessment.objects.get(study=s1)
    assert imported.status == "submitted" and imported.total == 15
    assert imported.reviewer.username == "r1" and imported.first_submitted_at


@pytest.mark.django_db
def test_next_assessment_skips_the_current_one_and_submitted_work(
    client: Client,
) -> None:
    lead, reviewer = UserFactory(), UserFactory()
    project = make_project(lead=lead, reviewers=[reviewer], n_studies=3)
    version = project.instruments.get()
    first, second, third = (
        assignment.assign_reviewer(
            study=s, version=version, reviewer=reviewer, user=lead
        )
        for s in project.studies.order_by("title")
    )
    first.status, third.status = "in_progress", "submitted"
    first.save()
    third.save()
    client.force_login(reviewer)
    nxt = reverse("queue-next")
    assert client.get(nxt, {"after": str(first.uuid)})["Location"] == reverse(
        "assessment-form", args=[second.uuid]
    )
    started = reverse("assessment-form", args=[first.uuid])
    assert client.get(nxt)["Location"] == started
    assert client.get(nxt, {"after": "not-a-uuid"})["Location"] == started
    Assessment.objects.filter(pk__in=[first.pk, second.pk]).update(status="submitted")
    response = client.get(nxt, follow=True)
    assert response.redirect_chain[-1][0] == reverse("queue")
    assert "Nothing else is waiting for you." in response.content.decode()
