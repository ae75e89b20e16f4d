"""Security review findings on study and score imports (4, 6, 8 and 14).

Score import names only the project's reviewers and leads, honours conflicts,
exclusions and started consensus, and answers 400 to bad rows; study import
validates every record as the study form does; uploads have a size limit and
their previews do not outlive a day.
"""

from __future__ import annotations

import os
import time
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from assessments.models import Assessment, ConflictOfInterest, Membership, Study
from assessments.services import assignment, consensus
from assessments.services.score_imports import create_submitted
from assessments.tasks import sweep_task
from tests.factories import RQS_13, StudyFactory, UserFactory, make_project

HEADER = "id,reviewer," + ",".join(str(i) for i in range(1, 17))
SCORES = "1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1"
STUDY_CSV_HEADER = "title,doi,journal,data_url,code_url"


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def world(db: None, media: Path) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    r1, r2 = UserFactory(username="r1"), UserFactory(username="r2")
    project = make_project(lead=lead, reviewers=[r1, r2], slug="p")
    observer = UserFactory(username="olga")
    Membership.objects.create(
        project=project, user=observer, role=Membership.Role.OBSERVER
    )
    UserFactory(username="alice")  # an account, but no member of the project
    return {
        "lead": lead,
        "r1": r1,
        "r2": r2,
        "project": project,
        "version": project.instruments.get(),
        "a": StudyFactory(project=project, doi="10.5555/a"),
        "b": StudyFactory(project=project, doi="10.5555/b"),
    }


def lead_client(world: dict[str, Any], **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(world["lead"])
    return client


def import_scores(world: dict[str, Any], *rows: str) -> Any:
    sheet = "\n".join([HEADER, *rows]) + "\n"
    return lead_client(world).post(
        "/p/p/scores/import/",
        {
            "version": world["version"].pk,
            "file": SimpleUploadedFile("s.csv", sheet.encode()),
        },
    )


def row(ident: str, reviewer: str) -> str:
    return f"{ident},{reviewer},{SCORES}"


def upload_studies(client: Client, data: bytes, name: str = "s.csv") -> Any:
    return client.post(
        "/p/p/studies/import/", {"file": SimpleUploadedFile(name, data), "format": ""}
    )


def studies_csv(*records: str) -> bytes:
    return ("\n".join([STUDY_CSV_HEADER, *records]) + "\n").encode()


# --- finding 4: who may be named as reviewer in a score import -----------------------


def test_score_import_refuses_non_members_and_observers_and_saves_nothing(
    world: dict[str, Any],
) -> None:
    response = import_scores(
        world,
        row("10.5555/a", "r1"),
        row("10.5555/a", "alice"),
        row("10.5555/b", "olga"),
    )
    text = response.content.decode()
    assert response.status_code == 400
    assert "row 3: &#x27;alice&#x27; is not a reviewer of this project" in text
    assert "row 4: &#x27;olga&#x27; is not a reviewer of this project" in text
    assert "row 2" not in text  # r1's row is fine, and still not saved
    assert not Assessment.objects.exists()


def test_score_import_refuses_a_reviewer_with_a_declared_conflict(
    world: dict[str, Any],
) -> None:
    assignment.declare_conflict(
        study=world["b"], reviewer=world["r2"], reason="co-author", user=world["lead"]
    )
    assert ConflictOfInterest.objects.filter(user=world["r2"]).exists()
    response = import_scores(world, row("10.5555/a", "r2"), row("10.5555/b", "r2"))
    text = response.content.decode()
    assert response.status_code == 400
    assert "row 3: &#x27;r2&#x27; declared a conflict of interest" in text
    assert not Assessment.objects.exists()


def test_score_import_refuses_an_excluded_study(world: dict[str, Any]) -> None:
    assignment.exclude_study(
        study=world["b"], reason="not radiomics", user=world["lead"]
    )
    response = import_scores(world, row("10.5555/a", "r1"), row("10.5555/b", "r1"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "row 3: the study &#x27;10.5555/b&#x27; is excluded" in text
    assert not Assessment.objects.exists()


def test_score_import_refuses_a_study_whose_consensus_has_started(
    world: dict[str, Any],
) -> None:
    study, version = world["a"], world["version"]
    create_submitted(study, version, world["r1"], RQS_13)
    consensus.start_consensus(study=study, version=version, user=world["lead"])
    before = Assessment.objects.count()
    response = import_scores(world, row("10.5555/a", "r2"), row("10.5555/b", "r2"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "row 2: consensus on the study &#x27;10.5555/a&#x27; has already" in text
    assert Assessment.objects.count() == before


def test_score_import_accepts_reviewers_and_leads_of_the_project(
    world: dict[str, Any],
) -> None:
    response = import_scores(world, row("10.5555/a", "r1"), row("10.5555/a", "lead"))
    assert response.status_code == 302
    named = Assessment.objects.values_list("reviewer__username", flat=True)
    assert set(named) == {"r1", "lead"}


# --- finding 14: rows that used to give a 500 ---------------------------------------


def test_score_import_with_two_identical_rows_is_a_400_naming_both_rows(
    world: dict[str, Any],
) -> None:
    response = import_scores(world, row("10.5555/a", "r1"), row("10.5555/a", "r1"))
    assert response.status_code == 400
    assert "row 3: repeats row 2 (same study and reviewer)" in response.content.decode()
    assert not Assessment.objects.exists()


def test_score_import_with_a_36_character_id_that_is_no_uuid_is_a_400(
    world: dict[str, Any],
) -> None:
    ident = "x" * 36
    response = import_scores(world, row(ident, "r1"), row("10.5555/b", "r1"))
    assert response.status_code == 400
    text = response.content.decode()
    assert f"row 2: no study with the DOI, PMID or UUID &#x27;{ident}&#x27;" in text
    assert not Assessment.objects.exists()


def test_score_import_finds_a_study_by_its_uuid(world: dict[str, Any]) -> None:
    response = import_scores(world, row(str(world["a"].uuid), "r1"))
    assert response.status_code == 302
    assert Assessment.objects.get().study == world["a"]


# --- finding 6: imported studies are validated as the study form validates ---------


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "ftp://example.org/data",
    ],
)
def test_study_import_preview_refuses_links_that_are_not_web_links(
    world: dict[str, Any], link: str
) -> None:
    data = studies_csv(
        "Radiomics of the liver,10.1000/ok,Radiology,https://example.org/d,",
        f'Radiomics of the lung,10.1000/bad,Radiology,,"{link}"',
    )
    response = upload_studies(lead_client(world), data)
    report = response.context["report"]
    assert response.status_code == 400 and not response.context["token"]
    assert report.problems == [
        "Record 2 (Radiomics of the lung: link to code: "
        "only web links starting with http:// or https://)"
    ]
    assert not Study.objects.filter(doi__startswith="10.1000/").exists()


def test_study_import_lists_over_long_fields_by_record_and_field(
    world: dict[str, Any],
) -> None:
    data = studies_csv(
        "Short and fine,10.1000/a,Radiology,,",
        f"Long journal,10.1000/b,{'J' * 301},,",
        f"Long link,10.1000/c,Radiology,https://example.org/{'x' * 500},",
    )
    response = upload_studies(lead_client(world), data)
    problems = response.context["report"].problems
    assert response.status_code == 400 and not response.context["token"]
    assert problems == [
        "Record 2 (Long journal: journal: "
        "Ensure this value has at most 300 characters (it has 301).)",
        "Record 3 (Long link: link to data: "
        "Ensure this value has at most 500 characters (it has 520).)",
    ]
    assert not Study.objects.filter(doi__startswith="10.1000/").exists()


def test_study_import_refuses_a_title_too_long_to_compare(
    world: dict[str, Any],
) -> None:
    data = studies_csv(f"{'word ' * 120},10.1000/a,Radiology,,")
    problems = upload_studies(lead_client(world), data).context["report"].problems
    assert len(problems) == 1
    assert "title: too long (at most 500 characters)" in problems[0]
    assert not Study.objects.filter(doi="10.1000/a").exists()


def test_import_studies_command_refuses_invalid_records_and_saves_nothing(
    world: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(
        studies_csv(
            "Fine study,10.1000/a,Radiology,,",
            f"Bad link,10.1000/b,{'J' * 301},javascript:alert(1),",
        )
    )
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_studies", str(path), project="p", stderr=err)
    assert exit_info.value.code == 1
    assert "Record 2 (Bad link: journal: Ensure this value" in err.getvalue()
    assert "Record 2 (Bad link: link to data: only web links" in err.getvalue()
    assert "Nothing was imported" in err.getvalue()
    assert not Study.objects.filter(doi__startswith="10.1000/").exists()


# --- finding 8: upload size limit ----------------------------------------------------


@pytest.mark.parametrize("url", ["/p/p/studies/import/", "/p/p/scores/import/"])
def test_an_upload_declaring_more_than_the_limit_is_refused_before_it_is_read(
    world: dict[str, Any], settings: Any, url: str
) -> None:
    settings.UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    # The test client's body is small: reading past it fails the test, so a
    # 413 here proves the claimed 21 MB were never read.
    response = lead_client(world).post(
        url,
        {"file": SimpleUploadedFile("big.ris", b"TY  - JOUR\n")},
        CONTENT_LENGTH=str(21 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "larger than the upload limit of 20 MB" in response.content.decode()


@pytest.mark.parametrize("url", ["/p/p/studies/import/", "/p/p/scores/import/"])
def test_a_file_larger_than_the_limit_is_refused_with_413_naming_the_limit(
    world: dict[str, Any], settings: Any, url: str
) -> None:
    settings.UPLOAD_MAX_BYTES = 4096
    data = studies_csv(*(f"Study {i},10.1000/{i},Radiology,," for i in range(200)))
    assert len(data) > 4096
    response = lead_client(world).post(
        url,
        {"version": world["version"].pk, "file": SimpleUploadedFile("s.csv", data)},
    )
    assert response.status_code == 413
    assert "larger than the upload limit of 4,096 bytes" in response.content.decode()
    assert not Study.objects.filter(doi__startswith="10.1000/").exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_the_import_pages_still_check_the_csrf_token(world: dict[str, Any]) -> None:
    client = lead_client(world, enforce_csrf_checks=True)
    data = studies_csv("Fine study,10.1000/a,Radiology,,")
    assert upload_studies(client, data).status_code == 403


# --- finding 8: previews do not outlive their use ------------------------------------


def preview(world: dict[str, Any], client: Client, title: str) -> Path:
    data = studies_csv(f"{title},,Radiology,,")
    token = upload_studies(client, data).context["token"]
    path = Path(os.fspath(world["media"])) / "imports" / str(world["project"].pk)
    return path / token


@pytest.fixture
def previews(world: dict[str, Any], media: Path) -> dict[str, Any]:
    world["media"] = media
    return world


def test_cancelling_a_preview_deletes_the_upload_and_saves_nothing(
    previews: dict[str, Any],
) -> None:
    client = lead_client(previews)
    path = preview(previews, client, "Radiomics of the pancreas")
    assert path.exists()
    response = client.post(
        "/p/p/studies/import/",
        {"token": path.name, "format": "csv", "cancel": "1"},
        follow=True,
    )
    assert "Import cancelled" in response.content.decode()
    assert not path.exists()
    assert not Study.objects.filter(title__contains="pancreas").exists()


def test_confirming_a_preview_deletes_the_upload(previews: dict[str, Any]) -> None:
    client = lead_client(previews)
    path = preview(previews, client, "Radiomics of the pancreas")
    response = client.post(
        "/p/p/studies/import/", {"token": path.name, "format": "csv"}
    )
    assert response.status_code == 302
    assert Study.objects.filter(title__contains="pancreas").exists()
    assert not path.exists()


def test_sweep_deletes_previews_older_than_a_day_and_keeps_fresh_ones(
    previews: dict[str, Any],
) -> None:
    client = lead_client(previews)
    old = preview(previews, client, "Radiomics of the pancreas")
    fresh = preview(previews, client, "Radiomics of the kidney")
    a_day_ago = time.time() - 24 * 3600 - 60
    os.utime(old, (a_day_ago, a_day_ago))
    assert sweep_task()["sweep_import_previews"] == 1
    assert not old.exists() and fresh.exists()
    expired = client.post(
        "/p/p/studies/import/", {"token": old.name, "format": "csv"}, follow=True
    )
    assert "expired" in expired.content.decode()
    assert not Study.objects.filter(title__contains="pancreas").exists()


def test_forged_tokens_still_find_no_upload(previews: dict[str, Any]) -> None:
    client = lead_client(previews)
    for token in ("../" * 10 + "xx", uuid.uuid4().hex[:31]):
        response = client.post("/p/p/studies/import/", {"token": token, "cancel": "1"})
        assert response.status_code == 404


def test_the_study_form_refuses_links_that_are_not_web_links(
    world: dict[str, Any],
) -> None:
    study = StudyFactory(project=world["project"])
    response = lead_client(world).post(
        f"/p/{world['project'].slug}/s/{study.uuid}/edit/",
        {"title": study.title, "data_url": "ftp://example.org/data"},
    )
    assert response.status_code == 200 and "data_url" in response.context["form"].errors
    study.refresh_from_db()
    assert study.data_url == ""


def test_a_stored_script_link_is_not_rendered_as_a_link(world: dict[str, Any]) -> None:
    study = StudyFactory(project=world["project"])
    Study.objects.filter(pk=study.pk).update(
        data_url="javascript:alert(1)", code_url="https://example.org/code"
    )
    page = lead_client(world).get(f"/p/{world['project'].slug}/s/{study.uuid}/")
    body = page.content.decode()
    assert (
        "javascript:alert(1)" not in body and 'href="https://example.org/code"' in body
    )
