"""Importing submitted scores from a spreadsheet, all or nothing."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
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
from ..words import in_words
from .answering import cached_result_fields
from .assignment import REVIEWING_ROLES
from .changes import bump_data_revision


@dataclass
class ScoreImportReport:
    """Problems and warnings in the reader's language, by sheet row."""

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
            _("The file contains NUL characters: it is not a text spreadsheet.")
        )
        return []
    try:
        rows = _sniff_rows(text)
    except csv.Error as exc:
        report.problems.append(
            _("The file is not readable CSV: %(problem)s") % {"problem": exc}
        )
        return []
    if not rows or "reviewer" not in rows[0] or "id" not in rows[0]:
        report.problems.append(
            _(
                "The file needs an `id` column, a `reviewer` column "
                "and one column per item."
            )
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
    ident = {"ident": row.ident}
    if row.study is None:
        if not row.ident:
            return _("no study id (DOI, PMID or UUID) is given.")
        return (
            _("no study with the DOI, PMID or UUID '%(ident)s' in this project.")
            % ident
        )
    if row.study.excluded:
        return _("the study '%(ident)s' is excluded from this project.") % ident
    if row.study.pk in checks.consensus:
        return (
            _(
                "consensus on the study '%(ident)s' has already started, "
                "so reviewer scores can no longer be added."
            )
            % ident
        )
    return ""


def _reviewer_problem(row: _Row, checks: _Checks) -> str:
    if not row.username:
        return _("no reviewer is given.")
    if row.username in checks.reviewers:
        return ""
    who = {"user": row.username}
    # As on the members page: a lead may learn whether an account exists.
    if row.username not in checks.accounts:
        return _("no user '%(user)s'.") % who
    return _("'%(user)s' is not a reviewer of this project.") % who


def _pair_problem(row: _Row, study: Study, reviewer: Any, checks: _Checks) -> str:
    pair = (study.pk, reviewer.pk)
    who = {"user": row.username}
    if pair in checks.conflicts:
        return _("'%(user)s' declared a conflict of interest on this study.") % who
    if pair in checks.assessed:
        return _("'%(user)s' already has an assessment of this study.") % who
    if pair in checks.seen:
        return _("repeats row %(row)s (same study and reviewer).") % {
            "row": checks.seen[pair]
        }
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
        report.problems += [_row_says(row.number, p) for p in problems]
        report.warnings += [_row_says(row.number, w) for w in warnings]
        if not problems and row.study is not None:
            pending.append((row.study, checks.reviewers[row.username], answers))
    if report.problems:
        return report
    for study, reviewer, answers in pending:
        create_submitted(study, version, reviewer, answers)
    now = timezone.now()
    for study in {study for study, _reviewer, _answers in pending}:
        # Submitted here, not in the form: record who can now see the others.
        access.newly_unblinded(study).update(unblinded_at=now)
    report.created = len(pending)
    AuditEvent.objects.record(
        project.pk, user, "import-scores", version.key, {"created": report.created}
    )
    bump_data_revision(project.pk)
    return report


def _row_says(number: int, text: str) -> str:
    """`text` (a spreadsheet Phrase, or words of this module) for the reader."""
    return _("row %(row)s: %(problem)s") % {
        "row": number,
        "problem": in_words(text, _),
    }


def create_submitted(
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
