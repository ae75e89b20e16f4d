"""An assessment's history in words: its statuses and every change of its answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..instruments import Definition
from ..models import Answer, Assessment
from .audit import AuditLine, choices_text, person, status_label, version_name
from .quote_history import quote_changes, quote_details

HistoryLine = AuditLine


@dataclass(frozen=True)
class History:
    title: str
    statuses: list[HistoryLine]
    answers: list[HistoryLine]


ANSWER_FIELDS = (("evidence", "Evidence"), ("page", "Page"), ("comment", "Comment"))


def assessment_title(assessment: Assessment) -> str:
    """Whose assessment of which study with which instrument, in words."""
    whose = (
        "The consensus"
        if assessment.is_consensus
        else f"{person(assessment.reviewer)}'s assessment"
    )
    study = f"'{assessment.study}'"
    return f"{whose} of {study} with {version_name(assessment.version)}"


def assessment_history(
    assessment: Assessment, *, statuses: int = 200, answers: int = 500
) -> History:
    """The newest status and answer changes of one assessment, in words."""
    definition = assessment.version.as_definition()
    status_rows = assessment.history.select_related("history_user").order_by(
        "-history_date", "-history_id"
    )[:statuses]
    answer_rows = (
        Answer.history.filter(assessment_id=assessment.pk)
        .select_related("history_user", "updated_by")
        .order_by("-history_date", "-history_id")[:answers]
    )
    return History(
        title=assessment_title(assessment),
        statuses=_status_lines(assessment, list(status_rows)),
        answers=_answer_lines(definition, list(answer_rows)),
    )


def _status_lines(assessment: Assessment, rows: list[Any]) -> list[HistoryLine]:
    """Creation and each change of status (saves that kept it are left out)."""
    lines = []
    for h, older in zip(rows, [*rows[1:], None], strict=True):
        now = status_label(assessment.kind, h.status)
        actor = person(h.history_user)
        reason = _reason(h.history_change_reason or "")
        details = [f"Reason: {reason}"] if reason else []
        if h.history_type == "+":
            sentence = f"{actor} created it: {now}"
        elif older is not None and older.status != h.status:
            before = status_label(assessment.kind, older.status)
            sentence = f"{actor} changed the status to {now}"
            details.insert(0, f"Status: {before} -> {now}")
        elif reason:
            sentence = f"{actor} updated it ({now})"
        else:
            continue
        lines.append(HistoryLine(h.history_date, actor, sentence, details))
    return lines


def _reason(text: str) -> str:
    """The person's reason, without the status word the services prefix it with."""
    head, _, rest = text.partition(": ")
    if head.lower() in {s.value for s in Assessment.Status} | {"reopened"}:
        return rest.strip()
    return text.strip()


def _answer_lines(definition: Definition, rows: list[Any]) -> list[HistoryLine]:
    # Rows come newest first: the next older row of the same answer is its "old".
    older: dict[int, Any] = {}
    for h in reversed(rows):
        h.previous_row = older.get(h.id)
        older[h.id] = h
    return [_answer_line(definition, h) for h in rows]


def _answer_line(definition: Definition, h: Any) -> HistoryLine:
    entry = definition.entry(h.item_code)
    # Saves made outside a request (services, imports) still name their author.
    actor = person(h.history_user or h.updated_by)
    what = f"item {h.item_code}" + (f" ({entry.label})" if entry else "")
    new = choices_text(entry, h.choices)
    old_row = h.previous_row
    if h.history_type == "-":
        return HistoryLine(
            h.history_date, actor, f"{actor} removed the answer to {what}"
        )
    if old_row is None:
        details = [
            f"{label}: {_short(getattr(h, name))}"
            for name, label in ANSWER_FIELDS
            if getattr(h, name)
        ] + quote_details(h.quotes)
        sentence = f"{actor} answered {what}: {new}"
        return HistoryLine(h.history_date, actor, sentence, details)
    details = list(_changes(entry, old_row, h))
    sentence = f"{actor} changed the answer to {what}"
    return HistoryLine(
        h.history_date, actor, sentence, details or ["No visible change"]
    )


def _changes(entry: Any, old: Any, new: Any) -> Iterable[str]:
    if old.choices != new.choices:
        before, after = (
            choices_text(entry, old.choices),
            choices_text(entry, new.choices),
        )
        yield f"Answer: {before} -> {after}"
    for name, label in ANSWER_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield f"{label}: {_short(before)} -> {_short(after)}"
    yield from quote_changes(old.quotes, new.quotes)


def _short(text: str, limit: int = 200) -> str:
    if not text:
        return "(empty)"
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
