"""The project's audit log and an assessment's history, in a reader's words.

Events and history rows store codes (actions, version keys, option codes,
statuses) so they stay stable; this module turns a page of them into
sentences with names, titles and option labels, in a fixed number of
queries whatever the page holds. Answer details (choices, sources, totals) of
a study are shown only to someone who may see every assessment of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from .. import access
from ..models import (
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Project,
    Study,
)
from .audit_sentences import (
    SENTENCES,
    Words,
    choices_text,
    generic_sentence,
    version_name,
)

__all__ = [
    "AuditLine",
    "audit_lines",
    "choices_text",
    "person",
    "status_label",
    "version_name",
]

# The part of a study's title that AuditEvent.target keeps (Study.__str__).
TITLE_CHARS = 80


# --- words for people and statuses ---------------------------------------------------


def person(user: Any) -> str:
    """A person's name as others know them: full name, else user name."""
    if user is None or not getattr(user, "pk", None):
        return _("The system")
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def status_label(assessment_kind: str, status: str) -> str:
    """A status in words; a submitted consensus is the study's final result."""
    if assessment_kind == Assessment.Kind.CONSENSUS and status == "submitted":
        return _("Final")
    labels = dict(Assessment.Status.choices)
    return str(labels.get(status, status.replace("_", " ").capitalize()))


# --- the project audit log -----------------------------------------------------------


@dataclass(frozen=True)
class AuditLine:
    """One audit event as a sentence, with its details as 'field: value' lines."""

    when: datetime
    actor: str
    sentence: str
    details: list[str] = field(default_factory=list)


def audit_lines(
    user: Any, project: Project, events: Sequence[AuditEvent]
) -> list[AuditLine]:
    """A page of the project's audit events (actors fetched with them), in words."""
    words = _words_for(user, project, events)
    return [_line(event, words) for event in events]


def _words_for(user: Any, project: Project, events: Sequence[AuditEvent]) -> Words:
    versions = {
        v.key: v for v in InstrumentVersion.objects.select_related("instrument")
    }
    targets = {e.target for e in events if e.target}
    studies: dict[str, list[Study]] = {}
    if targets:
        found = (
            Study.objects.filter(project=project)
            .annotate(short=Substr("title", 1, TITLE_CHARS))
            .filter(short__in=targets)
            .only("pk", "title")
        )
        for study in found:
            studies.setdefault(str(study), []).append(study)
    ids = [s.pk for group in studies.values() for s in group]
    return Words(versions, studies, _fully_visible(user, project, ids))


def _fully_visible(user: Any, project: Project, study_ids: list[int]) -> set[int]:
    """Studies every assessment of which access.py lets the user see."""
    if not study_ids:
        return set()

    def counts(qs: QuerySet[Assessment]) -> dict[int, int]:
        rows = qs.filter(study_id__in=study_ids).values("study_id")
        return {r["study_id"]: r["n"] for r in rows.annotate(n=Count("pk"))}

    every = counts(Assessment.objects.all())
    shown = counts(access.visible_assessments(user, project))
    return {pk for pk in study_ids if shown.get(pk, 0) == every.get(pk, 0)}


def _line(event: AuditEvent, words: Words) -> AuditLine:
    detail = event.detail if isinstance(event.detail, dict) else {}
    writer = SENTENCES.get(event.action)
    actor = person(event.actor)
    if writer is None:
        sentence, details = generic_sentence(actor, event.action, event.target, detail)
    else:
        sentence, details = writer(actor, event.target, detail, words)
    return AuditLine(event.created_at, actor, sentence, details)
