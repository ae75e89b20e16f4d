"""Importing studies (bibliographies, CSV) and scores (spreadsheets), all or nothing."""

from __future__ import annotations

import contextlib
import csv
import io
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import access
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
from ..models import (
    Answer,
    Assessment,
    AuditEvent,
    ConflictOfInterest,
    InstrumentVersion,
    Membership,
    Project,
    Study,
)
from .answering import cached_result_fields
from .assignment import REVIEWING_ROLES
from .changes import bump_data_revision


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
    problems = list(parsed.problems)
    seen = _existing_keys(project)
    for record in parsed.records:
        reason = _duplicate_reason(record, seen)
        if reason:
            report.duplicates.append((record, reason))
            continue
        invalid = _record_problems(project, record)
        if invalid:
            problems += invalid
            continue
        for key in duplicate_keys(record.fields):
            seen.setdefault(key, f"record {record.index} of this file")
        report.new.append(record)
    # Stable sort: each record's problems together, in file order.
    report.problems = [
        _problem_text(p) for p in sorted(problems, key=lambda p: p.index)
    ]
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
    AuditEvent.objects.record(
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


# --- the study form's validation, applied to every imported record --------------

# Set by the import itself, not read from the file. Uniqueness is left to the
# duplicate check, which already compared every DOI, PMID and title.
_NOT_FROM_FILE = ["project", "created_by", "title_key", "excluded", "exclusion_reason"]
_LINK_FIELDS = ("data_url", "code_url")
_WEB_SCHEMES = ("http", "https")
_LABEL_LENGTH = 80


def _record_problems(project: Project, record: StudyRecord) -> list[RecordProblem]:
    """What full_clean (as for the study form) finds wrong with one record."""
    study = _study(project, record.fields, None)
    label = _record_label(record)
    return [
        RecordProblem(record.index, label, f"{_field_label(name)}: {message}")
        for name, messages in _field_errors(study).items()
        for message in messages
    ]


def _field_errors(study: Study) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        study.full_clean(
            exclude=_NOT_FROM_FILE, validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        errors = exc.message_dict
    for name in _LINK_FIELDS:
        link = getattr(study, name)
        # URLValidator also accepts ftp; a javascript: or data: link would run
        # or render content when clicked on the study page.
        if link and not _is_web_link(link):
            errors[name] = ["only web links starting with http:// or https://"]
    key_length = Study._meta.get_field("title_key").max_length or 0
    if len(study.title_key) > key_length:
        errors.setdefault("title", []).append(
            f"too long (at most {key_length} characters)"
        )
    return errors


def _is_web_link(value: str) -> bool:
    try:
        scheme = urlsplit(value).scheme
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return scheme.lower() in _WEB_SCHEMES


def _field_label(name: str) -> str:
    if name == NON_FIELD_ERRORS:
        return "record"
    return str(getattr(Study._meta.get_field(name), "verbose_name", name))


def _record_label(record: StudyRecord) -> str:
    title = str(record.fields.get("title") or "")
    if not title:
        return f"record {record.index}"
    if len(title) > _LABEL_LENGTH:
        return title[: _LABEL_LENGTH - 1] + "…"
    return title


# --- previews of uploads, kept until confirmed, cancelled or a day old --------------

PREVIEW_MAX_AGE = timedelta(days=1)


def preview_dir(project_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(project_id)


def sweep_import_previews() -> int:
    """Delete uploads whose preview was neither confirmed nor cancelled in time."""
    cutoff = time.time() - PREVIEW_MAX_AGE.total_seconds()
    removed = 0
    for path in (Path(settings.MEDIA_ROOT) / "imports").glob("*/*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # confirmed or cancelled in the meantime
            continue
    return removed


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
    if not ident:
        return None
    q = Q(doi__iexact=ident) | Q(pmid=ident)
    with contextlib.suppress(ValueError):  # not a UUID: a DOI or PMID
        q |= Q(uuid=uuid.UUID(ident))
    return Study.objects.filter(project=project).filter(q).first()


@dataclass
class _Row:
    number: int
    ident: str
    username: str
    cells: dict[str, str]
    study: Study | None = None


@dataclass
class _Checks:
    """What every row is checked against, loaded once for the whole sheet."""

    reviewers: dict[str, Any]
    accounts: set[str]
    conflicts: set[tuple[int, int]]
    consensus: set[int]
    assessed: set[tuple[int, int]]
    seen: dict[tuple[int, int], int] = field(default_factory=dict)


def _read_sheet(text: str, report: ScoreImportReport) -> list[_Row]:
    """The sheet's rows, numbered as in a spreadsheet (the header is row 1)."""
    if "\x00" in text:
        report.problems.append(
            "The file contains NUL characters: it is not a text spreadsheet."
        )
        return []
    try:
        rows = _sniff_rows(text)
    except csv.Error as exc:
        report.problems.append(f"The file is not readable CSV: {exc}")
        return []
    if not rows or "reviewer" not in rows[0] or "id" not in rows[0]:
        report.problems.append(
            "The file needs an `id` column, a `reviewer` column "
            "and one column per item."
        )
        return []
    return [
        _Row(
            number=n,
            # A row shorter than the header gives None for the missing cells.
            ident=(row.pop("id", "") or "").strip(),
            username=(row.pop("reviewer", "") or "").strip(),
            cells={k: (v or "") for k, v in row.items() if k is not None},
        )
        for n, row in enumerate(rows, start=2)
    ]


def _load_checks(
    project: Project, version: InstrumentVersion, rows: list[_Row]
) -> _Checks:
    study_ids = sorted({row.study.pk for row in rows if row.study is not None})
    # Locked as start_consensus locks them, so no consensus starts on these
    # studies between the check below and the import's commit.
    list(Study.objects.select_for_update().filter(pk__in=study_ids).order_by("pk"))
    members = Membership.objects.filter(project=project, role__in=REVIEWING_ROLES)
    reviewers = {m.user.username: m.user for m in members.select_related("user")}
    wanted = {row.username for row in rows} - set(reviewers)
    in_version = Assessment.objects.filter(version=version, study_id__in=study_ids)
    return _Checks(
        reviewers=reviewers,
        accounts=set(
            get_user_model()
            .objects.filter(username__in=wanted)
            .values_list("username", flat=True)
        ),
        conflicts=set(
            ConflictOfInterest.objects.filter(study_id__in=study_ids).values_list(
                "study_id", "user_id"
            )
        ),
        consensus=set(
            in_version.filter(kind=Assessment.Kind.CONSENSUS).values_list(
                "study_id", flat=True
            )
        ),
        assessed=set(
            in_version.filter(kind=Assessment.Kind.REVIEWER).values_list(
                "study_id", "reviewer_id"
            )
        ),
    )


def _study_problem(row: _Row, checks: _Checks) -> str:
    if row.study is None:
        if not row.ident:
            return "no study id (DOI, PMID or UUID) is given."
        return f"no study with the DOI, PMID or UUID '{row.ident}' in this project."
    if row.study.excluded:
        return f"the study '{row.ident}' is excluded from this project."
    if row.study.pk in checks.consensus:
        return (
            f"consensus on the study '{row.ident}' has already started, "
            "so reviewer scores can no longer be added."
        )
    return ""


def _reviewer_problem(row: _Row, checks: _Checks) -> str:
    if not row.username:
        return "no reviewer is given."
    if row.username in checks.reviewers:
        return ""
    # As on the members page: a lead may learn whether an account exists.
    if row.username not in checks.accounts:
        return f"no user '{row.username}'."
    return f"'{row.username}' is not a reviewer of this project."


def _pair_problem(row: _Row, study: Study, reviewer: Any, checks: _Checks) -> str:
    pair = (study.pk, reviewer.pk)
    if pair in checks.conflicts:
        return f"'{row.username}' declared a conflict of interest on this study."
    if pair in checks.assessed:
        return f"'{row.username}' already has an assessment of this study."
    if pair in checks.seen:
        return f"repeats row {checks.seen[pair]} (same study and reviewer)."
    checks.seen[pair] = row.number
    return ""


def _check_row(row: _Row, checks: _Checks) -> list[str]:
    problems = [_study_problem(row, checks), _reviewer_problem(row, checks)]
    if not any(problems) and row.study is not None:
        reviewer = checks.reviewers[row.username]
        problems.append(_pair_problem(row, row.study, reviewer, checks))
    return [p for p in problems if p]


@transaction.atomic
def import_scores(
    *, project: Project, version: InstrumentVersion, text: str, user: Any
) -> ScoreImportReport:
    """Create submitted assessments from a `score` sheet with a reviewer column.

    Only the project's reviewers and leads can be named, never on a study they
    declared a conflict on, an excluded study, or one whose consensus started.
    """
    report = ScoreImportReport()
    rows = _read_sheet(text, report)
    if not rows:
        return report
    for row in rows:
        row.study = _find_study(project, row.ident)
    checks = _load_checks(project, version, rows)
    definition = version.as_definition()
    pending = []
    for row in rows:
        answers, errors, warnings = parse_row_answers(definition, row.cells)
        problems = errors + _check_row(row, checks)
        report.problems += [f"row {row.number}: {p}" for p in problems]
        report.warnings += [f"row {row.number}: {w}" for w in warnings]
        if not problems and row.study is not None:
            pending.append((row.study, checks.reviewers[row.username], answers))
    if report.problems:
        return report
    for study, reviewer, answers in pending:
        _create_submitted(study, version, reviewer, answers)
    now = timezone.now()
    for study in {study for study, _, _ in pending}:
        # Submitted here, not in the form: record who can now see the others.
        access.newly_unblinded(study).update(unblinded_at=now)
    report.created = len(pending)
    AuditEvent.objects.record(
        project.pk, user, "import-scores", version.key, {"created": report.created}
    )
    bump_data_revision(project.pk)
    return report


def _create_submitted(
    study: Study, version: InstrumentVersion, reviewer: Any, answers: dict[str, Any]
) -> None:
    result = score(
        version.as_definition(), answers, floor_percent=study.project.floor_percent
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
