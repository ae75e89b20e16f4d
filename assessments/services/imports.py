"""Importing studies from bibliographies and CSV: preview, then all or nothing.

Scores from spreadsheets are services/score_imports.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..bibliography import (
    ImportFormatError,
    RecordProblem,
    StudyRecord,
    duplicate_keys,
    normalise_title,
    parse_studies,
)
from ..models import (
    AuditEvent,
    Project,
    Study,
)
from ..words import in_words
from .changes import bump_data_revision


@dataclass
class ImportReport:
    """What an import found; `problems` and the duplicates' reasons are in the
    reader's language (the bibliography's Phrases are translated here)."""

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


def preview_import(*, project: Project, data: bytes, fmt: str | None) -> ImportReport:
    """Parse and sort records into new, duplicates and problems; saves nothing."""
    report = ImportReport()
    try:
        parsed = parse_studies(data, fmt or None)
    except ImportFormatError as exc:
        report.problems.append(
            _("The file cannot be read: %(problem)s") % {"problem": _said(exc)}
        )
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
            seen.setdefault(
                key, _("record %(index)s of this file") % {"index": record.index}
            )
        report.new.append(record)
    # Stable sort: each record's problems together, in file order.
    report.problems = [
        _problem_text(p) for p in sorted(problems, key=lambda p: p.index)
    ]
    return report


def _said(exc: ImportFormatError) -> str:
    """The error's message (a Phrase from the bibliography) in the reader's words."""
    message = exc.args[0] if exc.args else ""
    return str(in_words(message, _)) if isinstance(message, str) else str(exc)


def _problem_text(problem: RecordProblem) -> str:
    text = str(in_words(problem.phrase, _))
    if problem.index == 0:
        return text
    return _("Record %(index)s (%(problem)s)") % {
        "index": problem.index,
        "problem": text,
    }


def _duplicate_reason(record: StudyRecord, seen: dict[tuple[str, str], str]) -> str:
    for key in duplicate_keys(record.fields):
        if key in seen:
            return _reason(key[0]) % {"title": seen[key][:80]}
    return ""


def _reason(kind: str) -> str:
    if kind == "doi":
        return _("same DOI as “%(title)s”")
    if kind == "pmid":
        return _("same PMID as “%(title)s”")
    return _("same title as “%(title)s”")


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
            errors[name] = [_("only web links starting with http:// or https://")]
    key_length = Study._meta.get_field("title_key").max_length or 0
    if len(study.title_key) > key_length:
        errors.setdefault("title", []).append(
            _("too long (at most %(most)s characters)") % {"most": key_length}
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
        return _("record")
    return str(getattr(Study._meta.get_field(name), "verbose_name", name))


def _record_label(record: StudyRecord) -> str:
    title = str(record.fields.get("title") or "")
    if not title:
        return _("record %(index)s") % {"index": record.index}
    if len(title) > _LABEL_LENGTH:
        return title[: _LABEL_LENGTH - 1] + "…"
    return title


# --- previews of uploads, kept until confirmed, cancelled or a day old --------------

PREVIEW_MAX_AGE = timedelta(days=1)
PREVIEW_FOLDER = "imports"


def preview_name(project_id: int, token: str) -> str:
    """Where an upload waits in the default storage (shared by every web process:
    the one that confirms may not be the one that received it)."""
    return f"{PREVIEW_FOLDER}/{project_id}/{token}"


def keep_preview(project: Project, data: bytes) -> str:
    """Store an uploaded file between its preview and the confirmation."""
    token = uuid.uuid4().hex
    default_storage.save(preview_name(project.pk, token), ContentFile(data))
    return token


def is_preview_token(token: str) -> bool:
    return len(token) == 32 and token.isalnum()


def discard_preview(project: Project, token: str) -> None:
    if is_preview_token(token):
        default_storage.delete(preview_name(project.pk, token))


def import_preview(
    *, project: Project, token: str, fmt: str | None, user: Any
) -> ImportReport | None:
    """Import a previewed upload (None when it expired); the file is then gone.

    A failed import is uploaded again after the fix, never retried.
    """
    if not is_preview_token(token):
        return None
    name = preview_name(project.pk, token)
    try:
        with default_storage.open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    try:
        return import_studies(project=project, data=data, fmt=fmt, user=user)
    finally:
        default_storage.delete(name)


def sweep_import_previews() -> int:
    """Delete uploads whose preview was neither confirmed nor cancelled in time."""
    cutoff = timezone.now() - PREVIEW_MAX_AGE
    removed = 0
    try:
        projects, _files = default_storage.listdir(PREVIEW_FOLDER)
    except FileNotFoundError:  # no upload yet
        return 0
    for project in projects:
        _folders, tokens = default_storage.listdir(f"{PREVIEW_FOLDER}/{project}")
        for token in tokens:
            name = f"{PREVIEW_FOLDER}/{project}/{token}"
            try:
                if default_storage.get_modified_time(name) < cutoff:
                    default_storage.delete(name)
                    removed += 1
            except FileNotFoundError:  # confirmed or cancelled in the meantime
                continue
    return removed
