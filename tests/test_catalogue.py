"""The instrument catalogue: loading, immutability, drafts, admin, score command."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from assessments.instruments import (
    bundled_definitions_dir,
    iter_bundled,
    load_definition_file,
)
from assessments.models import InstrumentVersion, Item, Option
from assessments.services import answering, catalogue
from tests.factories import StudyFactory, UserFactory, load_instrument, make_project


def rqs_doc() -> dict[str, Any]:
    return load_definition_file(bundled_definitions_dir() / "rqs-1.0.yaml")


def write(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "def.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


@pytest.mark.django_db
def test_load_instruments_is_idempotent() -> None:
    bundled = len(iter_bundled())
    out = StringIO()
    call_command("load_instruments", stdout=out)
    assert out.getvalue().count(": created") == bundled
    hashes = dict(InstrumentVersion.objects.values_list("pk", "scoring_hash"))
    out = StringIO()
    call_command("load_instruments", stdout=out)
    assert out.getvalue().count(": unchanged") == bundled
    assert dict(InstrumentVersion.objects.values_list("pk", "scoring_hash")) == hashes
    statuses = {v.key: v.status for v in InstrumentVersion.objects.all()}
    assert statuses["rqs-2.0"] == "draft" and statuses["rqs-1.0"] == "published"


@pytest.mark.django_db
def test_newer_wording_revision_is_applied(tmp_path: Path) -> None:
    load_instrument("rqs-1.0")
    doc = rqs_doc()
    doc["revision"] += 1
    doc["sections"][0]["items"][0]["label"] = "Imaging protocol, reworded"
    out = StringIO()
    call_command("load_instruments", write(tmp_path, doc), stdout=out)
    assert "reworded" in out.getvalue()
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    assert version.revision == doc["revision"]
    assert version.items.get(code="1").label == "Imaging protocol, reworded"
    assert version.as_definition().item("1").label.endswith("reworded")


@pytest.mark.django_db
def test_a_scoring_change_to_a_published_version_is_an_error(tmp_path: Path) -> None:
    load_instrument("rqs-1.0")
    doc = rqs_doc()
    doc["revision"] += 1
    item5 = next(i for i in doc["sections"][0]["items"] if i["code"] == "5")
    item5["options"][0]["points"] = -2
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("load_instruments", write(tmp_path, doc), stderr=err)
    assert "item 5" in err.getvalue() and "-3 -> -2" in err.getvalue()
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    assert version.revision == rqs_doc()["revision"]
    assert (
        Option.objects.get(item__version=version, item__code="5", code="none").points
        == -3
    )


@pytest.mark.django_db
def test_a_draft_edited_in_the_database_is_left_alone(tmp_path: Path) -> None:
    draft = load_instrument("rqs-2.0")
    Item.objects.filter(version=draft, code="1").update(label="Edited by an admin")
    err = StringIO()
    call_command(
        "load_instruments", str(bundled_definitions_dir() / "rqs-2.0.yaml"), stderr=err
    )
    assert "edited in the database" in err.getvalue()
    assert draft.items.get(code="1").label == "Edited by an admin"


@pytest.mark.django_db
def test_published_versions_cannot_be_changed_through_the_service() -> None:
    version = load_instrument("rqs-1.0")
    with pytest.raises(catalogue.PublishedVersionError):
        catalogue.ensure_editable(version)
    with pytest.raises(ValidationError):
        catalogue.publish_version(version=version)


@pytest.mark.django_db
def test_new_draft_then_publish_leaves_old_scores_alone() -> None:
    lead, reviewer = UserFactory(username="lead"), UserFactory(username="r1")
    project = make_project(lead=lead, reviewers=[reviewer])
    old = InstrumentVersion.objects.by_key("rqs-1.0")
    study = StudyFactory(project=project)
    from assessments.services.score_imports import create_submitted

    create_submitted(
        study,
        old,
        reviewer,
        {
            "1": ["documented"],
            "2": ["yes"],
            "3": ["no"],
            "4": ["no"],
            "5": ["none"],
            "6": ["no"],
            "7": ["no"],
            "8": ["no"],
            "9": [],
            "10": [],
            "11": ["no"],
            "12": ["none"],
            "13": ["no"],
            "14": ["no"],
            "15": ["no"],
            "16": [],
        },
    )
    draft = catalogue.new_draft_from(version=old, new_version="1.1")
    assert draft.items.count() == 16 and draft.status == "draft"
    Option.objects.filter(item__version=draft, item__code="5", code="none").update(
        points=-2
    )
    # A modified copy publishes under a name of its own.
    InstrumentVersion.objects.filter(pk=draft.pk).update(
        name="Local radiomics score", short_name="RQS-local"
    )
    draft.refresh_from_db()
    catalogue.publish_version(version=draft)
    changed = [
        (d.what, d.left, d.right) for d in catalogue.compare_versions(old, draft)
    ]
    assert (
        "Item 5, option “Neither reduction nor adjustment”: points",
        "-3",
        "-2",
    ) in changed
    assessment = study.assessments.get()
    assert assessment.version == old and assessment.total == -6
    result = answering.score_assessment(assessment, answering.answers_of(assessment))
    assert result.total == -6  # still scored with the pinned, frozen definition


@pytest.mark.django_db
def test_publishing_an_invalid_draft_lists_the_problems() -> None:
    draft = catalogue.new_draft_from(
        version=load_instrument("metrics-1.0"), new_version="1.1"
    )
    Item.objects.filter(version=draft, code="1").update(weight="0.5")
    with pytest.raises(ValidationError) as info:
        catalogue.publish_version(version=draft)
    assert any("weight" in m for m in info.value.messages)
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
def test_the_admin_shows_published_versions_read_only() -> None:
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    version = load_instrument("rqs-1.0")
    client = Client()
    client.force_login(admin)
    url = f"/admin/assessments/instrumentversion/{version.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = client.post(url, {"name": "Hacked", "version": "1.0"})
    assert response.status_code == 403
    item = version.items.get(code="5")
    response = client.post(
        f"/admin/assessments/item/{item.pk}/change/", {"label": "Hacked", "code": "5"}
    )
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.name != "Hacked" and version.items.get(code="5").label != "Hacked"


@pytest.mark.django_db
def test_admin_import_export_compare_and_new_draft() -> None:
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    doc = load_definition_file(bundled_definitions_dir() / "metrics-1.0.yaml")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("m.yaml", yaml.safe_dump(doc).encode())
    client.post("/admin/assessments/instrumentversion/import/", {"file": upload})
    metrics = InstrumentVersion.objects.by_key("metrics-1.0")
    exported = client.post(
        "/admin/assessments/instrumentversion/",
        {"action": "export", "_selected_action": [metrics.pk]},
    )
    assert yaml.safe_load(exported.content)["code"] == "metrics"
    client.post(
        f"/admin/assessments/instrumentversion/{metrics.pk}/new-draft/",
        {"new_version": "1.1"},
    )
    draft = InstrumentVersion.objects.get(version="1.1")
    page = client.get(
        "/admin/assessments/instrumentversion/compare/",
        {"left": metrics.pk, "right": draft.pk},
    )
    assert b"No differences" in page.content
    edit = client.get(f"/admin/assessments/instrumentversion/{draft.pk}/change/")
    assert b'name="_save"' in edit.content


@pytest.mark.django_db
def test_preview_page_lists_items_with_points() -> None:
    load_instrument("rqs-1.0")
    client = Client()
    client.force_login(UserFactory(username="anyone"))
    page = client.get("/instruments/rqs-1.0/").content.decode()
    assert "10.1038/nrclinonc.2017.141" in page
    assert "(-3)" in page and "(7)" in page


RQS_HEADER = "id," + ",".join(str(i) for i in range(1, 17))


@pytest.mark.django_db
def test_score_command_on_a_valid_spreadsheet(tmp_path: Path, capsys: Any) -> None:
    load_instrument("rqs-1.0")
    path = tmp_path / "s.csv"
    path.write_text(
        f"{RQS_HEADER}\nA,1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1\n"
        "B,0,0,0,0,-3,0,0,0,0,0,0,-5,0,0,0,0\n"
    )
    call_command("score", str(path), instrument="rqs")
    out = capsys.readouterr().out.splitlines()
    assert out == ["id,total,max,percent,band", "A,15,36,41.7,", "B,-8,36,-22.2,"]


@pytest.mark.django_db
def test_score_command_metrics_worked_example(tmp_path: Path, capsys: Any) -> None:
    load_instrument("metrics-1.0")
    yes = {
        "1",
        "2",
        "3",
        "6",
        "8",
        "11",
        "12",
        "13",
        "15",
        "16",
        "18",
        "20",
        "21",
        "26",
    }
    cells = ["ex", "yes", "no", "yes", "yes", "no"] + [
        ("" if str(i) in {"9", "17"} else "yes" if str(i) in yes else "no")
        for i in range(1, 31)
    ]
    header = "id,C1,C2,C3,C4,C5," + ",".join(str(i) for i in range(1, 31))
    path = tmp_path / "m.csv"
    path.write_text(header + "\n" + ";".join(cells).replace(";", ",") + "\n")
    call_command("score", str(path), instrument="metrics-1.0")
    assert capsys.readouterr().out.splitlines()[1] == "ex,64.8,100,64.8,good"


@pytest.mark.django_db
def test_score_command_rejects_invalid_rows_with_no_output(
    tmp_path: Path, capsys: Any
) -> None:
    load_instrument("rqs-1.0")
    path = tmp_path / "s.csv"
    path.write_text(
        f"{RQS_HEADER}\nA,1,1,0,0,0,1,0,1,2,1,0,2,2,0,0,1\n"
        "A,1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,\n"
    )
    with pytest.raises(SystemExit) as info:
        call_command("score", str(path), instrument="rqs-1.0")
    assert info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "item 5" in captured.err and "duplicate id" in captured.err


@pytest.mark.django_db
def test_score_command_template_codes_and_drafts(capsys: Any) -> None:
    load_instrument("rqs-2.0")
    load_instrument("rqs-1.0")
    call_command("score", instrument="rqs-1.0", template=True)
    assert capsys.readouterr().out.strip() == RQS_HEADER
    call_command("score", instrument="rqs-1.0", codes=True)
    assert "either" in capsys.readouterr().out
    with pytest.raises(CommandError, match="draft"):
        call_command("score", instrument="rqs-2.0", template=True)
    call_command("score", instrument="rqs-2.0", template=True, allow_draft=True)
    with pytest.raises(CommandError, match="load_instruments"):
        call_command("score", instrument="nope-9", template=True)


@pytest.mark.django_db
def test_demo_refuses_without_debug_and_is_idempotent(
    settings: Any, papers_dir: Any
) -> None:
    call_command("load_instruments", stdout=StringIO())
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo")
    settings.DEBUG = True
    call_command("demo", stdout=StringIO())
    from assessments.models import Assessment, Paper, Project
    from assessments.services.papers import run_extraction

    counts = (Project.objects.count(), Assessment.objects.count())
    call_command("demo", stdout=StringIO())
    assert (Project.objects.count(), Assessment.objects.count()) == counts
    # One study carries a made-up paper (its extraction is the worker's job).
    paper = Paper.objects.get()
    assert run_extraction(paper.pk) == "done"
    paper.refresh_from_db()
    assert paper.page_count == 3
    assert Assessment.objects.filter(status="submitted").exists()
    assert Assessment.objects.filter(status="in_progress").exists()
