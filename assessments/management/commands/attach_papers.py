"""Attach a folder of PDFs to a project's studies, matched by DOI or PMID.

Each file's identifiers are read from its name first, then from its first
page, then from its metadata; the first of these that names a study of the
project decides. Every file is reported; a file that cannot be read, matches
no study, or is ambiguous changes nothing, and each attach is atomic.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.models import Paper, Project, Study
from assessments.papers.identifiers import (
    Identifiers,
    identifiers_in,
    identifiers_in_filename,
)
from assessments.services.papers import CheckedPDF, attach_paper, check_pdf

SOURCES = ("in the file name", "on the first page", "in the metadata")


@dataclass
class Outcome:
    """What happened to one file: its status and the words that explain it."""

    path: Path
    name: str
    status: str = "unmatched"  # matched, unmatched, unreadable, ambiguous
    reason: str = ""
    study: Study | None = None
    how: str = ""
    checked: CheckedPDF | None = None
    already: bool = False
    identifiers: list[str] = field(default_factory=list)


class StudyIndex:
    """The project's studies by normalised DOI and PMID."""

    def __init__(self, studies: Iterable[Study]) -> None:
        self.by_doi: dict[str, list[Study]] = defaultdict(list)
        self.by_pmid: dict[str, list[Study]] = defaultdict(list)
        for study in studies:
            doi = normal_doi(study.doi)
            if doi:
                self.by_doi[doi].append(study)
            pmid = study.pmid.strip().lstrip("0")
            if pmid:
                self.by_pmid[pmid].append(study)

    def match(self, found: Identifiers) -> dict[int, tuple[Study, str]]:
        """Studies named by the identifiers: {pk: (study, "DOI 10.x/y")}."""
        out: dict[int, tuple[Study, str]] = {}
        for doi in found.dois:
            for study in self.by_doi.get(doi, []):
                out.setdefault(study.pk, (study, f"DOI {doi}"))
        for pmid in found.pmids:
            for study in self.by_pmid.get(pmid, []):
                out.setdefault(study.pk, (study, f"PMID {pmid}"))
        return out


def normal_doi(value: str) -> str:
    """A study's DOI as identifiers.py writes them (lower case, no resolver)."""
    value = (value or "").strip()
    if not value:
        return ""
    found = identifiers_in(value).dois
    return found[0] if found else value.lower()


def quoted(study: Study) -> str:
    return f"'{study.title}'"


def describe(found: Identifiers) -> str:
    parts = [f"DOI {doi}" for doi in found.dois] + [f"PMID {p}" for p in found.pmids]
    return ", ".join(parts)


class Command(BaseCommand):
    help = (
        "Attach PDFs in DIR to the studies of a project, matched by DOI or PMID in "
        "the file name, the first page or the PDF's metadata. Every file is "
        "reported (matched, already attached, unmatched, unreadable, ambiguous); "
        "files that cannot be matched or read change nothing. Exits 0 after "
        "reporting, or 1 with --strict when any file was not attached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dir", type=Path, help="folder holding the PDF files")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--recursive", action="store_true", help="also look in sub-folders"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report only, attach nothing"
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="exit 1 when any file is unmatched, unreadable or ambiguous",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        folder: Path = options["dir"]
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        pattern = folder.rglob("*") if options["recursive"] else folder.glob("*")
        files = sorted(p for p in pattern if p.is_file() and p.suffix.lower() == ".pdf")
        index = StudyIndex(project.studies.all())
        outcomes = [self.inspect(path, folder, index) for path in files]
        one_file_per_study(outcomes)
        dry_run = options["dry_run"]
        counts: dict[str, int] = defaultdict(int)
        for outcome in outcomes:
            if outcome.status == "matched" and not dry_run:
                self.attach(outcome)
            counts[self.count_key(outcome)] += 1
            self.stdout.write(self.line(outcome, dry_run))
        self.stdout.write(summary(counts, dry_run, len(files)))
        refused = counts["unmatched"] + counts["unreadable"] + counts["ambiguous"]
        if options["strict"] and refused:
            sys.exit(1)

    def inspect(self, path: Path, folder: Path, index: StudyIndex) -> Outcome:
        outcome = Outcome(path=path, name=str(path.relative_to(folder)))
        try:
            with path.open("rb") as handle:
                outcome.checked = check_pdf(File(handle, name=path.name))
        except ValidationError as exc:
            outcome.status, outcome.reason = "unreadable", " ".join(exc.messages)
            return outcome
        except OSError as exc:
            outcome.status = "unreadable"
            outcome.reason = f"The file could not be read ({exc.strerror})."
            return outcome
        extraction = outcome.checked.extraction
        first_page = extraction.pages[0] if extraction.pages else ""
        sources = (
            identifiers_in_filename(path.name),
            identifiers_in(first_page),
            identifiers_in(extraction.metadata_text),
        )
        for where, found in zip(SOURCES, sources, strict=True):
            if found:
                outcome.identifiers.append(f"{describe(found)} {where}")
            matches = index.match(found)
            if len(matches) > 1:
                named = "; ".join(f"{quoted(s)} ({how})" for s, how in matches.values())
                outcome.status = "ambiguous"
                outcome.reason = f"{where}, it matches {len(matches)} studies: {named}"
                return outcome
            if matches:
                study, how = next(iter(matches.values()))
                outcome.status, outcome.study = "matched", study
                outcome.how = f"by {how} {where}"
                current = Paper.objects.filter(study=study, current=True).first()
                outcome.already = bool(
                    current and current.sha256 == outcome.checked.sha256
                )
                return outcome
        if outcome.identifiers:
            outcome.reason = (
                "; ".join(outcome.identifiers) + ": no study of this project has it"
            )
        else:
            outcome.reason = "no DOI or PMID in the file name, first page or metadata"
        return outcome

    def attach(self, outcome: Outcome) -> None:
        assert outcome.study is not None
        try:
            with outcome.path.open("rb") as handle:
                done = attach_paper(
                    study=outcome.study,
                    user=None,
                    uploaded_file=File(handle, name=outcome.path.name),
                    filename=outcome.path.name,
                )
        except (ValidationError, OSError) as exc:
            outcome.status = "unreadable"
            outcome.reason = (
                " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            )
            return
        outcome.already = done.already

    @staticmethod
    def count_key(outcome: Outcome) -> str:
        if outcome.status == "matched":
            return "already" if outcome.already else "attached"
        return outcome.status

    @staticmethod
    def line(outcome: Outcome, dry_run: bool) -> str:
        if outcome.status != "matched" or outcome.study is None:
            return f"{outcome.status}: {outcome.name}: {outcome.reason}"
        text = f"matched: {outcome.name} -> {quoted(outcome.study)} ({outcome.how})"
        if outcome.already:
            return text + ": already attached"
        return text + (": would be attached" if dry_run else ": attached")


def one_file_per_study(outcomes: list[Outcome]) -> None:
    """Two different files for one study: neither is attached, both are reported."""
    by_study: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.status == "matched" and outcome.study is not None:
            by_study[outcome.study.pk].append(outcome)
    for group in by_study.values():
        if len(group) < 2:
            continue
        hashes = {o.checked.sha256 for o in group if o.checked is not None}
        if len(hashes) == 1:
            # Copies of one file: the first is attached, the others are that paper.
            for copy in group[1:]:
                copy.already = True
                copy.how += f", the same file as {group[0].name}"
            continue
        names = ", ".join(o.name for o in group)
        study = group[0].study
        assert study is not None
        for outcome in group:
            outcome.status = "ambiguous"
            outcome.reason = f"several files match the study {quoted(study)}: {names}"
            outcome.study = None


def summary(counts: dict[str, int], dry_run: bool, total: int) -> str:
    if not total:
        return "No PDF files found."
    verb = "Would attach" if dry_run else "Attached"
    return (
        f"{verb} {counts['attached']}, already attached {counts['already']}, "
        f"unmatched {counts['unmatched']}, unreadable {counts['unreadable']}, "
        f"ambiguous {counts['ambiguous']}"
    )
