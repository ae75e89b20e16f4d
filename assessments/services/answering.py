"""Answering an assessment: autosave, submit, reopen, and the cached score.

Saving an answer never needs the broker: it locks the assessment row, refuses
a save based on an older answer than the one stored, writes the answer (the
history keeps who, when, old and new), re-scores with the engine and stores
the cached result, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..instruments import Definition, Result, choice_problems, score
from ..instruments.judgement import require_reasons
from ..models import (
    Answer,
    Assessment,
    AuditEvent,
)
from ..models.prepared import PreparedQuery
from ..models.rows import HistoryCopy, RowUpdate
from ..selectors.wording import merged_language
from . import calibration
from .changes import bump_data_revision
from .notifications import notify_if_consensus_needed, notify_reopened
from .quotes import QuoteInput, resolve_quotes

MAX_EVIDENCE = 20_000
MAX_COMMENT = 10_000
MAX_PAGE = 20


class StaleSave(Exception):
    """The answer changed since the page loaded it; the newer one is kept."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(
            _(
                "Item %(code)s was changed elsewhere (another tab or device) after "
                "this page loaded it. Your change was not saved; the newer answer "
                "is shown. Re-enter your change if it is still needed."
            )
            % {"code": answer.item_code}
        )
        self.answer = answer


class LockedAssessment(Exception):
    """A submitted assessment takes no changes until a lead reopens it."""


# --- scoring ---------------------------------------------------------------------


def answers_of(assessment: Assessment) -> dict[str, list[str]]:
    rows = Answer.objects.filter(assessment=assessment, choices__isnull=False)
    return {a.item_code: list(a.choices or []) for a in rows}


def score_assessment(
    assessment: Assessment,
    answers: dict[str, list[str]],
    reasons: dict[str, str] | None = None,
) -> Result:
    """`reasons`: each item's comment, when at hand; an overridden overall
    judgement (PROBAST+AI) needs one, read from the stored answers otherwise."""
    floor = assessment.study.project.floor_percent
    definition = assessment.version.as_definition()
    result = score(definition, answers, floor_percent=floor)
    if not result.overrides:
        return result
    if reasons is None and assessment.pk is None:
        reasons = {}  # a preview: nothing stored
    elif reasons is None:
        codes = [o.item for o in result.overrides]
        stored = Answer.objects.filter(assessment=assessment, item_code__in=codes)
        reasons = dict(stored.values_list("item_code", "comment"))
    return require_reasons(definition, result, reasons)


def _four(value: Decimal | None) -> Decimal | None:
    # METRICS scores are exact ratios with many digits; four decimals are kept.
    return None if value is None else round(value, 4)


# The Assessment columns that cache the engine's result.
CACHED_RESULT_FIELDS = ("total", "maximum", "percent", "band", "complete", "result")


def cached_result_fields(result: Result) -> dict[str, Any]:
    """The engine's result as the Assessment row caches it."""
    values = (
        _four(result.total),
        _four(result.maximum),
        _four(result.percent),
        result.band or "",
        result.complete,
        result.as_dict(),
    )
    return dict(zip(CACHED_RESULT_FIELDS, values, strict=True))


def store_result(assessment: Assessment, result: Result) -> list[str]:
    """Set the cached result on the row (not saved); the names of the fields set."""
    fields = cached_result_fields(result)
    for name, value in fields.items():
        setattr(assessment, name, value)
    return list(fields)


def refresh_item_cache(
    assessment: Assessment, result: Result, rows: list[Answer] | None = None
) -> None:
    """Per-answer points/adherence/N/A, kept in SQL for per-item aggregates."""
    changed = []
    if rows is None:
        rows = list(Answer.objects.filter(assessment=assessment))
    for answer in rows:
        item = result.items.get(answer.item_code)
        points = item.points if item else None
        adheres = item.adheres if item else None
        na = bool(item and answer.item_code in result.na)
        if (answer.points, answer.adheres, answer.na) != (points, adheres, na):
            answer.points, answer.adheres, answer.na = points, adheres, na
            changed.append(answer)
    if changed:
        Answer.objects.bulk_update(changed, ["points", "adheres", "na"])


# --- answering -------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    item_code: str
    choices: list[str] | None
    evidence: str = ""
    page: str = ""
    comment: str = ""
    # None: the save leaves the item's quotes as they are.
    quotes: tuple[QuoteInput, ...] | None = None


def validate_answer_input(definition: Definition, data: AnswerInput) -> None:
    """Reject what no form of this instrument could send (4xx, nothing saved).

    An answer the instrument's rules refuse only at submit (RQS 'resampling'
    without its statistic) is saved: the form then says what is missing.
    """
    refused = [
        p.message
        for p in choice_problems(definition, data.item_code, data.choices)
        if not p.incomplete
    ]
    if refused:
        raise ValidationError(" ".join(refused))
    _check_lengths(data)


def _check_lengths(data: AnswerInput) -> None:
    limits = (("evidence", MAX_EVIDENCE), ("comment", MAX_COMMENT), ("page", MAX_PAGE))
    for name, limit in limits:
        if len(getattr(data, name)) > limit:
            raise ValidationError(
                _too_long(name) % {"code": data.item_code, "limit": limit}
            )


def _too_long(name: str) -> str:
    # One whole sentence per field, so a translation can inflect the noun.
    if name == "evidence":
        return _("The evidence of item %(code)s is longer than %(limit)s characters.")
    if name == "comment":
        return _("The comment of item %(code)s is longer than %(limit)s characters.")
    return _("The page of item %(code)s is longer than %(limit)s characters.")


@dataclass(frozen=True)
class SaveOutcome:
    assessment: Assessment
    answer: Answer
    result: Result


@transaction.atomic
def save_answer(
    *,
    assessment: Assessment,
    user: Any,
    data: AnswerInput,
    seen_revision: int,
    wording: str = "",
) -> SaveOutcome:
    """Autosave one item's answer, evidence, page and comment.

    `wording`: the language of the instrument wording the form showed ("en",
    "nl"); the assessment records it, for agreement split by language.
    """
    locked = (
        # Lock the assessment row only: joined rows (the project) are shared by
        # every reviewer of the project and must not serialise their saves.
        Assessment.objects.select_for_update(of=("self",))
        .select_related("study__project", "version")
        .get(pk=assessment.pk)
    )
    return _save_locked(locked, user, data, seen_revision, wording)


@transaction.atomic
def save_own_answer(
    *, uuid: Any, user: Any, data: AnswerInput, seen_revision: int, wording: str = ""
) -> SaveOutcome | None:
    """The reviewer's own autosave with the access check and the row lock in
    one query; None when the plain rule does not settle it (the caller then
    checks access in full and calls ``save_answer``)."""
    locked = access.lock_own_assessment(user, uuid)
    if locked is None:
        return None
    return _save_locked(locked, user, data, seen_revision, wording)


def _save_locked(
    locked: Assessment, user: Any, data: AnswerInput, seen_revision: int, wording: str
) -> SaveOutcome:
    if locked.is_locked:
        raise LockedAssessment(
            _("This assessment is submitted; ask the lead to reopen it.")
        )
    validate_answer_input(locked.version.as_definition(), data)
    # Every answer as plain values (what scoring and the item cache read); one
    # model instance is made, for the answer saved.
    rows = {row[1]: row for row in _ANSWER_ROWS.tuples(locked.pk)}
    stored = rows.get(data.item_code)
    if stored is not None and stored[_REVISION] != seen_revision:
        raise StaleSave(Answer.objects.select_related("assessment").get(pk=stored[0]))
    locked.revision += 1
    now = timezone.now()
    answer = Answer(
        pk=stored[0] if stored else None,
        assessment=locked,
        item_code=data.item_code,
        choices=data.choices,
        evidence=data.evidence,
        page=data.page,
        comment=data.comment,
        quotes=stored[_QUOTES] if stored else [],
        revision=locked.revision,
        updated_by=user if getattr(user, "pk", None) else None,
        updated_at=now,
    )
    if data.quotes is not None:
        answer.quotes = resolve_quotes(
            study=locked.study,
            item_code=data.item_code,
            incoming=data.quotes,
            existing=list(answer.quotes or []),
            user=user,
        )
    answers = {c: list(r[2]) for c, r in rows.items() if r[2] is not None}
    reasons = {c: r[_COMMENT] for c, r in rows.items()}
    if data.choices is None:
        answers.pop(data.item_code, None)
    else:
        answers[data.item_code] = list(data.choices)
    reasons[data.item_code] = data.comment
    result = score_assessment(locked, answers, reasons)
    _set_item_cache(answer, result)
    if stored is None:
        answer.save()  # a first answer: simple-history records its creation
    else:
        _write_answer(answer, now)
    locked.wording_language = merged_language(locked.wording_language, wording)
    first_change = locked.status == Assessment.Status.ASSIGNED
    if first_change:
        # Status history is kept: the ORM's save, with simple-history.
        written = store_result(locked, result)
        locked.status = Assessment.Status.IN_PROGRESS
        locked.started_at = now
        locked.save(
            update_fields=[
                "revision",
                "updated_at",
                "status",
                "started_at",
                "wording_language",
                *written,
            ]
        )
    else:
        # The cached score of each keystroke has no history (it is excluded).
        fields = cached_result_fields(result)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.updated_at = now
        _SCORE_UPDATE.run(
            locked.pk,
            {
                **fields,
                "revision": locked.revision,
                "updated_at": now,
                "wording_language": locked.wording_language,
            },
        )
    _refresh_other_items(result, [r for c, r in rows.items() if c != answer.item_code])
    if first_change:
        bump_data_revision(locked.study.project_id)
    return SaveOutcome(locked, answer, result)


# The save path's read of every answer, compiled once (see models.prepared).
_ANSWER_ROWS: PreparedQuery[Any] = PreparedQuery(
    lambda pk: (
        Answer.objects.filter(assessment_id=pk)
        .order_by()
        .values_list(
            "id",
            "item_code",
            "choices",
            "revision",
            "comment",
            "quotes",
            "points",
            "adheres",
            "na",
        )
    ),
    (-7_654_321,),
)
_REVISION, _COMMENT, _QUOTES, _CACHE = 3, 4, 5, slice(6, 9)
# What one autosave writes, as fixed statements (see models.rows).
_ANSWER_UPDATE = RowUpdate(
    Answer,
    (
        "choices",
        "evidence",
        "page",
        "comment",
        "quotes",
        "revision",
        "updated_by",
        "points",
        "adheres",
        "na",
        "updated_at",
    ),
)
_ANSWER_HISTORY = HistoryCopy(Answer)
_SCORE_UPDATE = RowUpdate(
    Assessment, ("revision", "updated_at", *CACHED_RESULT_FIELDS, "wording_language")
)


def _write_answer(answer: Answer, now: Any) -> None:
    """The answer's UPDATE and its history row, as simple-history keeps them:
    the same columns, '~' for a change, the person who saved it."""
    values = {f.name: getattr(answer, f.attname) for f in _ANSWER_UPDATE.fields}
    _ANSWER_UPDATE.run(answer.pk, values)
    _ANSWER_HISTORY.record(
        answer.pk, history_type="~", user_pk=answer.updated_by_id, when=now
    )


def _refresh_other_items(result: Result, rows: list[tuple]) -> None:
    """The per-item cache of the other answers, when this save changed it
    (a condition that makes items not applicable, a rule across items)."""
    changed = []
    for row in rows:
        item = result.items.get(row[1])
        wanted = (
            item.points if item else None,
            item.adheres if item else None,
            bool(item and row[1] in result.na),
        )
        if tuple(row[_CACHE]) != wanted:
            changed.append(
                Answer(pk=row[0], points=wanted[0], adheres=wanted[1], na=wanted[2])
            )
    if changed:
        Answer.objects.bulk_update(changed, ["points", "adheres", "na"])


def _set_item_cache(answer: Answer, result: Result) -> None:
    item = result.items.get(answer.item_code)
    answer.points = item.points if item else None
    answer.adheres = item.adheres if item else None
    answer.na = bool(item and answer.item_code in result.na)


@transaction.atomic
def submit_assessment(*, assessment: Assessment, user: Any) -> Result:
    """Check completeness and the instrument's rules, then lock the assessment."""
    locked = (
        Assessment.objects.select_for_update()
        .select_related("study__project", "version")
        .get(pk=assessment.pk)
    )
    if locked.is_locked:
        raise LockedAssessment(_("This assessment is already submitted."))
    result = score_assessment(locked, answers_of(locked))
    if not result.complete:
        raise ValidationError(_incomplete_messages(locked, result))
    store_result(locked, result)
    now = timezone.now()
    locked.status = Assessment.Status.SUBMITTED
    locked.submitted_at = now
    if locked.first_submitted_at is None:
        _keep_independent(locked, now)
    elif not locked.is_consensus and locked.unblinded_at is not None:
        # Resubmitted after the others' work became visible to this reviewer.
        locked.revised_after_unblinding = True
    locked._change_reason = "submitted"  # type: ignore[attr-defined]
    locked.save()
    refresh_item_cache(locked, result)
    if locked.first_submitted_at == now:
        Answer.objects.filter(assessment=locked).update(
            independent_choices=F("choices"), independent_points=F("points")
        )
        if not locked.is_consensus:
            access.newly_unblinded(locked.study).update(unblinded_at=now)
    bump_data_revision(locked.study.project_id)
    if locked.is_calibration:
        calibration.on_submitted(locked)
    else:
        notify_if_consensus_needed(locked)
    return result


def _keep_independent(assessment: Assessment, now: Any) -> None:
    assessment.first_submitted_at = now
    assessment.independent_total = assessment.total
    assessment.independent_percent = assessment.percent
    assessment.independent_band = assessment.band


def _incomplete_messages(assessment: Assessment, result: Result) -> list[str]:
    definition = assessment.version.as_definition()
    labels = {i.code: i.label for i in definition.items}
    labels.update({c.code: c.label for c in definition.conditions})
    messages = [
        _("Item %(code)s (%(label)s) is not answered.")
        % {"code": code, "label": labels.get(code, "")}
        for code in result.missing
    ]
    messages += [p.text or p.message for p in result.problems]
    return messages


@transaction.atomic
def reopen_assessment(*, assessment: Assessment, user: Any, reason: str) -> Assessment:
    """A lead reopens a submitted assessment (resubmitting it after unblinding
    marks it revised)."""
    if not reason.strip():
        raise ValidationError(_("Give a reason for reopening."))
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.status != Assessment.Status.SUBMITTED:
        raise ValidationError(_("Only a submitted assessment can be reopened."))
    if not locked.is_consensus:
        # Assessments made outside the form (score import) get their moment
        # of unblinding recorded here at the latest.
        access.newly_unblinded(locked.study).update(unblinded_at=timezone.now())
        locked.refresh_from_db(fields=["unblinded_at"])
        locked.revised_after_unblinding |= locked.unblinded_at is not None
    locked.status = Assessment.Status.REOPENED
    locked.reopen_reason = reason.strip()
    locked._change_reason = f"reopened: {reason.strip()}"  # type: ignore[attr-defined]
    locked.save()
    # Calibration work never fed the consensus, so it cannot make it stale.
    if locked.kind == Assessment.Kind.REVIEWER:
        Assessment.objects.filter(
            study_id=locked.study_id,
            version_id=locked.version_id,
            kind=Assessment.Kind.CONSENSUS,
        ).update(stale=True)
    AuditEvent.objects.record(
        locked.study.project_id, user, "reopen", str(locked), {"reason": reason}
    )
    bump_data_revision(locked.study.project_id)
    notify_reopened(locked, reason)
    return locked
