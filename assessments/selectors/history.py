"""An assessment's history in words: its statuses and every change of its answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..instruments import Definition
from ..models import Answer, Assessment
from .audit import AuditLine, choices_text, person, status_label, version_name
from .quote_history import quote_changes, quote_details
from .wording import wording_for

HistoryLine = AuditLine


@dataclass(frozen=True)
class History:
    title: str
    statuses: list[HistoryLine]
    answers: list[HistoryLine]


ANSWER_FIELDS = (
    ("evidence", gettext_lazy("Evidence")),
    ("page", gettext_lazy("Page")),
    ("comment", gettext_lazy("Comment")),
)


def assessment_title(assessment: Assessment) -> str:
    """Whose assessment of which study with which instrument, in words."""
    words = {"study": assessment.study, "version": version_name(assessment.version)}
    if assessment.is_consensus:
        return _("The consensus of '%(study)s' with %(version)s") % words
    return _("%(person)s's assessment of '%(study)s' with %(version)s") % {
        **words,
        "person": person(assessment.reviewer),
    }


def assessment_history(
    assessment: Assessment, *, statuses: int = 200, answers: int = 500
) -> History:
    """The newest status and answer changes of one assessment, in words."""
    definition = wording_for(assessment.version).definition
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
        details = [_("Reason: %(reason)s") % {"reason": reason}] if reason else []
        words = {"actor": actor, "status": now}
        if h.history_type == "+":
            sentence = _("%(actor)s created it: %(status)s") % words
        elif older is not None and older.status != h.status:
            before = status_label(assessment.kind, older.status)
            sentence = _("%(actor)s changed the status to %(status)s") % words
            details.insert(
                0,
                _("Status: %(before)s -> %(after)s") % {"before": before, "after": now},
            )
        elif reason:
            sentence = _("%(actor)s updated it (%(status)s)") % words
        else:
            continue
        lines.append(HistoryLine(h.history_date, actor, sentence, details))
    return lines


def _reason(text: str) -> str:
    """The person's reason, without the status word the services prefix it with."""
    head, _sep, rest = text.partition(": ")
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
    if entry:
        what = _("item %(code)s (%(label)s)") % {
            "code": h.item_code,
            "label": entry.label,
        }
    else:
        what = _("item %(code)s") % {"code": h.item_code}
    new = choices_text(entry, h.choices)
    old_row = h.previous_row
    words = {"actor": actor, "item": what}
    if h.history_type == "-":
        return HistoryLine(
            h.history_date, actor, _("%(actor)s removed the answer to %(item)s") % words
        )
    if old_row is None:
        details = [
            f"{label}: {_short(getattr(h, name))}"
            for name, label in ANSWER_FIELDS
            if getattr(h, name)
        ] + quote_details(h.quotes)
        sentence = _("%(actor)s answered %(item)s: %(answer)s") % {
            **words,
            "answer": new,
        }
        return HistoryLine(h.history_date, actor, sentence, details)
    details = list(_changes(entry, old_row, h))
    sentence = _("%(actor)s changed the answer to %(item)s") % words
    return HistoryLine(
        h.history_date, actor, sentence, details or [_("No visible change")]
    )


def _changes(entry: Any, old: Any, new: Any) -> Iterable[str]:
    if old.choices != new.choices:
        before, after = (
            choices_text(entry, old.choices),
            choices_text(entry, new.choices),
        )
        yield _("Answer: %(before)s -> %(after)s") % {"before": before, "after": after}
    for name, label in ANSWER_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield f"{label}: {_short(before)} -> {_short(after)}"
    yield from quote_changes(old.quotes, new.quotes)


def _short(text: str, limit: int = 200) -> str:
    if not text:
        return _("(empty)")
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
