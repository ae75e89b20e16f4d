"""Importing studies (bibliographies, CSV) and scores (spreadsheets), all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..bibliography import (
    ImportFormatError,
    RecordProblem,
    StudyRecord,
    duplicate_keys,
    normalise_title,
    parse_studies,
)
from ..instruments import score
from ..instruments.spreadsheet import parse_row_answers
from ..models import Answer, Assessment, InstrumentVersion, Project, Study
from .catalogue import definition_of
from .workflow import _audit, bump_data_revision, cached_result_fields


@dataclass
class ImportReport:
    format: str = ""
    new: list[StudyRecord] = field(default_factory=list)
    duplicates: list[tuple[StudyRecord, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    created: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _existing_keys(project: Project) -> dict[tuple[str, str], str]:
    keys: dict[tuple[str, str], str] = {}
    for doi, pmid, title_key, title in Study.objects.filter(
        project=project
    ).values_list("doi", "pmid", "title_key", "title"):
        for kind, value in (("doi", doi), ("pmid", pmid), ("title", title_key)):
            if value:
                keys[(kind, value)] = title
    return keys


REASONS = {"doi": "same DOI", "pmid": "same PMID", "title": "same title"}


def preview_import(*, project: Project, data: bytes, fmt: str | None) -> ImportReport:
    """Parse and sort records into new, duplicates and problems; saves nothing."""
    report = ImportReport()
    try:
        parsed = parse_studies(data, fmt or None)
    except ImportFormatError as exc:
        report.problems.append(f"The file cannot be read: {exc}")
        return report
    report.format = parsed.format
    report.problems = [_problem_text(p) for p in parsed.problems]
    seen = _existing_keys(project)
    for record in parsed.records:
        reason = _duplicate_reason(record, seen)
        if reason:
            report.duplicates.append((record, reason))
            continue
        for key in duplicate_keys(record.fields):
            seen.setdefault(key, f"record {record.index} of this file")
        report.new.append(record)
    return report


def _problem_text(problem: RecordProblem) -> str:
    return str(problem) if problem.index == 0 else f"Record {problem.index} ({problem})"


def _duplicate_reason(record: StudyRecord, seen: dict[tuple[str, str], str]) -> str:
    for key in duplicate_keys(record.fields):
        if key in seen:
            return f"{REASONS[key[0]]} as “{seen[key][:80]}”"
    return ""


@transaction.atomic
def import_studies(
    *, project: Project, data: bytes, fmt: str | None, user: Any, dry_run: bool = False
) -> ImportReport:
    """Create every new study of the file, or none if any record has a problem."""
    report = preview_import(project=project, data=data, fmt=fmt)
    if not report.ok or dry_run:
        return report
    studies = [_study(project, record.fields, user) for record in report.new]
    Study.objects.bulk_create(studies, batch_size=2000)
    report.created = len(studies)
    _audit(
        project.pk,
        user,
        "import-studies",
        report.format,
        {"created": report.created, "duplicates": len(report.duplicates)},
    )
    bump_data_revision(project.pk)
    return report


def _study(project: Project, fields: dict[str, Any], user: Any) -> Study:
    values = {k: (v if v is not None else None) for k, v in fields.items()}
    for name in ("year", "sample_size"):
        values[name] = values.get(name) or None
    for name, value in list(values.items()):
        if value is None and name not in ("year", "sample_size"):
            values[name] = ""
    return Study(
        project=project,
        created_by=user,
        title_key=normalise_title(str(values["title"])),
        **values,
    )


# --- scores from spreadsheets ---------------------------------------------------------


@dataclass
class ScoreImportReport:
    created: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _sniff_rows(text: str) -> list[dict[str, str]]:
    text = text.lstrip("\ufeff")
    sample = text.splitlines()[0] if text else ""
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def _find_study(project: Project, ident: str) -> Study | None:
    ident = ident.strip()
    q = Q(doi__iexact=ident) | Q(pmid=ident)
    if len(ident) == 36:
        q |= Q(uuid=ident)
    return Study.objects.filter(project=project).filter(q).first()


@transaction.atomic
def import_scores(
    *, project: Project, version: InstrumentVersion, text: str, user: Any
) -> ScoreImportReport:
    """Create submitted assessments from a `score` sheet with a reviewer column."""
    report = ScoreImportReport()
    definition = definition_of(version)
    if "\x00" in text:
        report.problems.append(
            "The file contains NUL characters: it is not a text spreadsheet."
        )
        return report
    try:
        rows = _sniff_rows(text)
    except csv.Error as exc:
        report.problems.append(f"The file is not readable CSV: {exc}")
        return report
    if not rows or "reviewer" not in rows[0] or "id" not in rows[0]:
        report.problems.append(
            "The file needs an `id` column, a `reviewer` column "
            "and one column per item."
        )
        return report
    users = get_user_model().objects
    pending = []
    for n, row in enumerate(rows, start=2):
        # A row shorter than the header gives None for the missing cells.
        ident, username = row.pop("id", "") or "", row.pop("reviewer", "") or ""
        study = _find_study(project, ident)
        reviewer = users.filter(username=username.strip()).first()
        cells = {k: (v or "") for k, v in row.items() if k is not None}
        answers, errors, warnings = parse_row_answers(definition, cells)
        where = f"line {n} ({ident or 'no id'})"
        report.problems += [f"{where}: {e}" for e in errors]
        report.warnings += [f"{where}: {w}" for w in warnings]
        if study is None:
            report.problems.append(f"{where}: no study with this DOI, PMID or UUID.")
        if reviewer is None:
            report.problems.append(f"{where}: no user '{username}'.")
        elif (
            study is not None
            and Assessment.objects.filter(
                study=study, version=version, reviewer=reviewer
            ).exists()
        ):
            report.problems.append(f"{where}: {username} already has an assessment.")
        if study is not None and reviewer is not None:
            pending.append((study, reviewer, answers))
    if report.problems:
        return report
    for study, reviewer, answers in pending:
        _create_submitted(study, version, reviewer, answers)
    report.created = len(pending)
    _audit(project.pk, user, "import-scores", version.key, {"created": report.created})
    bump_data_revision(project.pk)
    return report


def _create_submitted(
    study: Study, version: InstrumentVersion, reviewer: Any, answers: dict[str, Any]
) -> None:
    result = score(
        definition_of(version), answers, floor_percent=study.project.floor_percent
    )
    now = timezone.now()
    cached = cached_result_fields(result)
    assessment = Assessment.objects.create(
        study=study,
        version=version,
        reviewer=reviewer,
        kind="reviewer",
        status="submitted",
        submitted_at=now,
        first_submitted_at=now,
        revision=1,
        independent_total=cached["total"],
        independent_percent=cached["percent"],
        independent_band=cached["band"],
        **cached,
    )
    Answer.objects.bulk_create(
        Answer(
            assessment=assessment,
            item_code=code,
            choices=list(choices),
            independent_choices=list(choices),
            revision=1,
            points=result.items[code].points if code in result.items else None,
            independent_points=(
                result.items[code].points if code in result.items else None
            ),
            adheres=result.items[code].adheres if code in result.items else None,
            na=code in result.na,
        )
        for code, choices in answers.items()
    )
