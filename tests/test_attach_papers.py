"""manage.py attach_papers: match a folder of PDFs to studies by DOI or PMID."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from weasyprint import HTML

from assessments.models import AuditEvent, Paper
from tests.factories import StudyFactory, UserFactory, make_project
from tests.paperpdf import make_pdf


@pytest.fixture
def studies(db: None, papers_dir: Path) -> dict[str, Any]:
    lead = UserFactory(username="lead")
    project = make_project(lead=lead, reviewers=[], slug="p")
    make_project(lead=UserFactory(username="other"), reviewers=[], slug="q")
    return {
        "name": StudyFactory(project=project, title="Named", doi="10.1234/Name.1"),
        "page": StudyFactory(project=project, title="Paged", doi="10.5555/page.2"),
        "meta": StudyFactory(project=project, title="Meta", doi="10.7777/meta.3"),
        "pmid": StudyFactory(project=project, title="Pubmed", pmid="12345678"),
        "other": StudyFactory(project=project, title="Other", doi="10.9999/other.5"),
    }


def metadata_only_pdf(doi: str) -> bytes:
    """The DOI in the PDF's keywords only, nowhere in the text."""
    document = (
        f'<html><head><meta name="keywords" content="{doi}"><title>T</title></head>'
        "<body><p>A radiomics paper whose DOI is only in its metadata.</p>"
        "</body></html>"
    )
    pdf: bytes = HTML(string=document).write_pdf()
    return pdf


def run(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("attach_papers", *args, stdout=out)
    except SystemExit as exit:
        return out.getvalue(), int(exit.code or 0)
    return out.getvalue(), 0


def lines(output: str) -> dict[str, str]:
    """Report lines by file name."""
    found = {}
    for line in output.splitlines():
        parts = line.split(": ", 2)
        if len(parts) >= 2:
            found[parts[1].split(" -> ")[0]] = line
    return found


def test_matches_by_file_name_first_page_metadata_and_pmid(
    studies: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "10.1234_name.1.pdf").write_bytes(make_pdf(["No identifier here."]))
    (folder / "second.pdf").write_bytes(make_pdf(["Text."], doi="10.5555/PAGE.2"))
    (folder / "third.pdf").write_bytes(metadata_only_pdf("10.7777/meta.3"))
    (folder / "pmid-12345678.pdf").write_bytes(make_pdf(["Another paper."]))
    output, status = run(str(folder), "--project", "p")
    report = lines(output)
    assert status == 0
    assert (
        "'Named' (by DOI 10.1234/name.1 in the file name): attached"
        in report["10.1234_name.1.pdf"]
    )
    assert "'Paged' (by DOI 10.5555/page.2 on the first page)" in report["second.pdf"]
    assert "'Meta' (by DOI 10.7777/meta.3 in the metadata)" in report["third.pdf"]
    assert "'Pubmed' (by PMID 12345678 in the file name)" in report["pmid-12345678.pdf"]
    assert output.splitlines()[-1] == (
        "Attached 4, already attached 0, unmatched 0, unreadable 0, ambiguous 0"
    )
    attached = dict(Paper.objects.values_list("study__title", "original_name"))
    assert attached == {
        "Named": "10.1234_name.1.pdf",
        "Paged": "second.pdf",
        "Meta": "third.pdf",
        "Pubmed": "pmid-12345678.pdf",
    }
    assert AuditEvent.objects.filter(action="paper-uploaded").count() == 4
    # Again: nothing new, every file already attached.
    output, _ = run(str(folder), "--project", "p")
    assert output.splitlines()[-1].startswith("Attached 0, already attached 4")
    assert Paper.objects.count() == 4


def test_unmatched_unreadable_and_ambiguous_are_reported_and_change_nothing(
    studies: dict[str, Any], tmp_path: Path, papers_dir: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "nothing.pdf").write_bytes(make_pdf(["No identifier at all."]))
    (folder / "stranger.pdf").write_bytes(make_pdf(["x"], doi="10.4444/not.ours"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body")
    (folder / "notes.pdf").write_bytes(b"just some notes")
    two = "See 10.5555/page.2 and also https://doi.org/10.9999/other.5 here."
    (folder / "both.pdf").write_bytes(make_pdf([two]))
    (folder / "10.7777_meta.3.pdf").write_bytes(make_pdf(["Version A."]))
    (folder / "10.7777%2Fmeta.3.pdf").write_bytes(make_pdf(["Version B."]))
    (folder / "readme.txt").write_text("not a PDF file name: ignored")
    output, status = run(str(folder), "--project", "p")
    report = lines(output)
    assert status == 0
    assert report["nothing.pdf"].startswith("unmatched: nothing.pdf: no DOI or PMID")
    assert report["stranger.pdf"] == (
        "unmatched: stranger.pdf: DOI 10.4444/not.ours on the first page: "
        "no study of this project has it"
    )
    assert report["broken.pdf"].startswith("unreadable: broken.pdf: The PDF cannot")
    assert report["notes.pdf"].startswith("unreadable: notes.pdf: The file is not a")
    assert report["both.pdf"].startswith("ambiguous: both.pdf: on the first page")
    assert "'Paged'" in report["both.pdf"] and "'Other'" in report["both.pdf"]
    for name in ("10.7777_meta.3.pdf", "10.7777%2Fmeta.3.pdf"):
        assert report[name].startswith(f"ambiguous: {name}: several files match")
    assert "readme.txt" not in output
    assert output.splitlines()[-1] == (
        "Attached 0, already attached 0, unmatched 2, unreadable 2, ambiguous 3"
    )
    assert not Paper.objects.exists()
    assert not papers_dir.exists() or not any(papers_dir.rglob("*.pdf"))
    _, status = run(str(folder), "--project", "p", "--strict")
    assert status == 1


def test_dry_run_changes_nothing(studies: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "deeper").mkdir(parents=True)
    (folder / "10.1234_name.1.pdf").write_bytes(make_pdf(["One."]))
    (folder / "deeper" / "pmid12345678.pdf").write_bytes(make_pdf(["Two."]))
    output, status = run(str(folder), "--project", "p", "--dry-run")
    assert status == 0 and "would be attached" in output
    assert "pmid12345678" not in output  # not recursive unless asked
    assert output.splitlines()[-1].startswith("Would attach 1,")
    assert not Paper.objects.exists() and not AuditEvent.objects.exists()
    output, _ = run(str(folder), "--project", "p", "--recursive", "--dry-run")
    assert "deeper/pmid12345678.pdf -> 'Pubmed'" in output
    assert output.splitlines()[-1].startswith("Would attach 2,")
    assert not Paper.objects.exists()


def test_copies_of_one_file_attach_once(
    studies: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = make_pdf(["The same file twice."], doi="10.5555/page.2")
    (folder / "a.pdf").write_bytes(data)
    (folder / "b.pdf").write_bytes(data)
    output, _ = run(str(folder), "--project", "p")
    assert output.splitlines()[-1].startswith("Attached 1, already attached 1,")
    assert Paper.objects.count() == 1


def test_bad_arguments(studies: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No project"):
        call_command("attach_papers", str(tmp_path), "--project", "nope")
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("attach_papers", str(tmp_path / "gone"), "--project", "p")
    output, _ = run(str(tmp_path), "--project", "p")
    assert output.strip() == "No PDF files found."
