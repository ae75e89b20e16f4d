"""Consensus: reviewers' answers side by side, resolving disputes, the final result.

A consensus is an Assessment of kind consensus, edited with the same form and
autosave as a reviewer's. Each of its items has a Resolution row that keeps
the reviewers' answers it was settled from (``sources``), the outcome, the
rationale and who decided. Agreement between reviewers is judged on their
submitted answers; an item that does not apply (N/A by the conditions) agrees
only when it does not apply for every reviewer.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from ..instruments import Definition, Result, choice_problems
from ..models import (
    Answer,
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Resolution,
    Study,
)
from ..selectors.consensus import (
    Choices,
    ItemRow,
    disagreements,
    is_resolved,
    normal_choices,
)
from . import answering, changes
from .quotes import MAX_QUOTES, QuoteInput

STALE = gettext_lazy(
    "A reviewer's answers changed since this consensus began; refresh it first."
)


# --- writing ---------------------------------------------------------------------


def _lock_consensus(consensus: Assessment) -> Assessment:
    locked = (
        Assessment.objects.select_for_update()
        .select_related("study__project", "version")
        .get(pk=consensus.pk)
    )
    if not locked.is_consensus:
        raise ValidationError(_("This is a reviewer's assessment, not a consensus."))
    return locked


def _write_answers(
    consensus: Assessment, choices: dict[str, Choices], user: Any
) -> None:
    """Write several consensus answers at once, then re-score as autosave does."""
    consensus.revision += 1
    existing = {a.item_code: a for a in Answer.objects.filter(assessment=consensus)}
    for code, value in choices.items():
        answer = existing.get(code) or Answer(assessment=consensus, item_code=code)
        answer.choices = value
        answer.revision = consensus.revision
        answer.updated_by = user
        answer.save()  # one by one, so the history records each answer
    result = answering.score_assessment(consensus, answering.answers_of(consensus))
    answering.store_result(consensus, result)
    consensus.save()
    answering.refresh_item_cache(consensus, result)


def _resolution(consensus: Assessment, row: ItemRow) -> Resolution:
    return Resolution(
        consensus=consensus,
        item_code=row.code,
        agreed=row.agreed,
        sources=row.sources,
        choices=list(row.agreed_choices or []),
    )


@transaction.atomic
def start_consensus(
    *, study: Study, version: InstrumentVersion, user: Any
) -> Assessment:
    """Create the study's consensus, pre-filled with the agreed items (idempotent)."""
    # Locking the study serialises two adjudicators starting at the same moment.
    study = Study.objects.select_for_update().select_related("project").get(pk=study.pk)
    view = disagreements(study, version)
    if view.consensus is not None:
        return view.consensus
    if view.problems:
        raise ValidationError(view.problems)
    consensus = Assessment.objects.create(
        study=study,
        version=version,
        kind=Assessment.Kind.CONSENSUS,
        status=Assessment.Status.IN_PROGRESS,
        started_at=timezone.now(),
    )
    bulk_create_with_history(
        [_resolution(consensus, row) for row in view.rows],
        Resolution,
        default_user=user if getattr(user, "pk", None) else None,
        default_change_reason="consensus started",
    )
    agreed = {r.code: r.agreed_choices for r in view.rows if r.agreed}
    _write_answers(consensus, agreed, user)
    AuditEvent.objects.record(
        study.project_id,
        user,
        "consensus-start",
        str(study),
        {"version": version.key, "agreed": len(agreed), "disputed": len(view.disputed)},
    )
    changes.bump_data_revision(study.project_id)
    return consensus


class StaleResolution(Exception):
    """The item was decided by someone else since the page was loaded."""

    def __init__(self, resolution: Resolution) -> None:
        super().__init__(
            _("Item %(code)s was decided meanwhile.") % {"code": resolution.item_code}
        )
        self.resolution = resolution


@transaction.atomic
def resolve_item(
    *,
    consensus: Assessment,
    item_code: str,
    choices: Choices,
    rationale: str,
    user: Any,
    revision: int | None = None,
) -> Resolution:
    """Settle one item of a consensus; a disputed item needs a rationale.

    With the revision the page showed, a decision made meanwhile by someone
    else is never overwritten (StaleResolution carries the newer one).
    """
    locked = _lock_consensus(consensus)
    resolution = _decidable(locked, item_code)
    if revision is not None and revision != resolution.revision:
        raise StaleResolution(resolution)
    _check_choices(locked.version.as_definition(), item_code, choices)
    overrides = resolution.agreed and normal_choices(choices) != normal_choices(
        resolution.choices
    )
    if (not resolution.agreed or overrides) and not rationale.strip():
        raise ValidationError(
            _("Item %(code)s: give a rationale for the decision.") % {"code": item_code}
        )
    _save_consensus_answer(locked, item_code, choices, user)
    resolution.choices = list(choices or [])
    resolution.rationale = rationale.strip()
    resolution.resolved_by = user
    resolution.revision += 1
    resolution.save()
    AuditEvent.objects.record(
        locked.study.project_id,
        user,
        "consensus-resolve",
        str(locked.study),
        {
            "version": locked.version.key,
            "item": item_code,
            "choices": choices,
            "sources": resolution.sources,
        },
    )
    changes.bump_data_revision(locked.study.project_id)
    return resolution


def _decidable(consensus: Assessment, item_code: str) -> Resolution:
    """The item's resolution, locked, when the consensus takes decisions now."""
    if consensus.is_locked:
        raise answering.LockedAssessment(
            _("This consensus is final; a lead must reopen it first.")
        )
    if consensus.stale:
        raise ValidationError(STALE)
    resolution = (
        Resolution.objects.select_for_update()
        .filter(consensus=consensus, item_code=item_code)
        .first()
    )
    if resolution is None:
        raise ValidationError(
            _("'%(code)s' is not an item of this consensus.") % {"code": item_code}
        )
    return resolution


def _check_choices(definition: Definition, item_code: str, choices: Choices) -> None:
    """A decision names options of the item (None: leave it unanswered)."""
    refused = [
        p.message
        for p in choice_problems(definition, item_code, choices)
        if not p.incomplete
    ]
    if refused:
        raise ValidationError(" ".join(refused))


def _save_consensus_answer(
    consensus: Assessment, item_code: str, choices: Choices, user: Any
) -> None:
    """Through the autosave service, keeping any evidence typed in the form."""
    answer = Answer.objects.filter(assessment=consensus, item_code=item_code).first()
    data = answering.AnswerInput(
        item_code=item_code,
        choices=None if choices is None else list(choices),
        evidence=answer.evidence if answer else "",
        page=answer.page if answer else "",
        comment=answer.comment if answer else "",
    )
    answering.save_answer(
        assessment=consensus,
        user=user,
        data=data,
        seen_revision=answer.revision if answer else 0,
    )


def _place(quote: dict[str, Any]) -> tuple[Any, Any, Any]:
    # The same text at the same place of the same paper is one quote.
    return (quote.get("paper"), quote.get("page"), quote.get("exact"))


def _reviewer_quote(
    consensus: Assessment, item_code: str, source: str, quote_id: str
) -> dict[str, Any]:
    """The quote as a reviewer of the consensus's study and version stored it.

    Only the answers the disagreement view shows (the reviewers' assessments
    of this study in this version) can be adopted from.
    """
    try:
        source_uuid = uuid.UUID(source)
    except ValueError:
        answer = None
    else:
        answer = Answer.objects.filter(
            assessment__uuid=source_uuid,
            assessment__study_id=consensus.study_id,
            assessment__version_id=consensus.version_id,
            assessment__kind=Assessment.Kind.REVIEWER,
            item_code=item_code,
        ).first()
    found = next(
        (
            q
            for q in (answer.quotes if answer else [])
            if isinstance(q, dict) and q.get("id") == quote_id
        ),
        None,
    )
    if found is None:
        raise ValidationError(
            _(
                "Item %(code)s: that quote is not one of the reviewers' quotes on "
                "this item, so it cannot be adopted."
            )
            % {"code": item_code}
        )
    return dict(found)


def _quote_input(quote: dict[str, Any]) -> QuoteInput:
    return QuoteInput(
        paper=str(quote.get("paper") or ""),
        page=int(quote.get("page") or 0),
        exact=str(quote.get("exact") or ""),
        prefix=str(quote.get("prefix") or ""),
        suffix=str(quote.get("suffix") or ""),
        id=str(quote.get("id") or ""),
    )


@transaction.atomic
def adopt_quote(
    *,
    consensus: Assessment,
    item_code: str,
    source: str,
    quote_id: str,
    user: Any,
    revision: int,
) -> dict[str, Any]:
    """Copy a reviewer's quote into the consensus's answer to the same item.

    The copy keeps the quote's id, paper, selectors, verdict and who quoted it,
    and records who adopted it and when. It is saved through autosave, based on
    the consensus answer's revision the page showed (StaleSave when it changed
    meanwhile), so the history keeps it like any other change of the answer.
    """
    locked = _lock_consensus(consensus)
    _decidable(locked, item_code)
    quote = _reviewer_quote(locked, item_code, source, quote_id)
    answer = Answer.objects.filter(assessment=locked, item_code=item_code).first()
    if answer is not None and answer.revision != revision:
        raise answering.StaleSave(answer)
    held = [q for q in (answer.quotes if answer else []) if isinstance(q, dict)]
    if any(q.get("id") == quote_id or _place(q) == _place(quote) for q in held):
        raise ValidationError(
            _("Item %(code)s: the consensus already has this quote.")
            % {"code": item_code}
        )
    if len(held) >= MAX_QUOTES:
        raise ValidationError(
            _(
                "Item %(code)s: the consensus holds %(most)s quotes already, "
                "the most an item can hold."
            )
            % {"code": item_code, "most": MAX_QUOTES}
        )
    adopted = {
        **quote,
        "adopted_by": user.get_username(),
        "adopted_at": timezone.now().isoformat(),
    }
    quotes = [*held, adopted]
    # Stored first, exactly as it will stay: autosave then keeps every quote it
    # already holds as stored (its author, time and verdict included).
    if answer is None:
        Answer.objects.bulk_create(
            [Answer(assessment=locked, item_code=item_code, quotes=quotes)]
        )
    else:
        Answer.objects.filter(pk=answer.pk).update(quotes=quotes)
    answering.save_answer(
        assessment=locked,
        user=user,
        data=answering.AnswerInput(
            item_code=item_code,
            choices=answer.choices if answer else None,
            evidence=answer.evidence if answer else "",
            page=answer.page if answer else "",
            comment=answer.comment if answer else "",
            quotes=tuple(_quote_input(q) for q in quotes),
        ),
        seen_revision=answer.revision if answer else 0,
    )
    AuditEvent.objects.record(
        locked.study.project_id,
        user,
        "consensus-adopt-quote",
        str(locked.study),
        {"version": locked.version.key, "item": item_code, "quote": quote_id},
    )
    return adopted


@transaction.atomic
def discard_consensus(*, consensus: Assessment, user: Any) -> None:
    """Remove a consensus that is not final (the reviewers' answers stay).

    Needed before another reviewer joins the study; the history keeps every
    decision that was made.
    """
    locked = _lock_consensus(consensus)
    if locked.status == Assessment.Status.SUBMITTED:
        raise ValidationError(
            _("A final consensus cannot be discarded: reopen it first (with a reason).")
        )
    study = locked.study
    for resolution in Resolution.objects.filter(consensus=locked):
        resolution.delete()  # one by one so the history records each removal
    for answer in Answer.objects.filter(assessment=locked):
        answer.delete()
    locked.delete()
    AuditEvent.objects.record(
        study.project_id,
        user,
        "consensus-discard",
        str(study),
        {"version": locked.version.key},
    )
    changes.bump_data_revision(study.project_id)


@transaction.atomic
def finalise_consensus(*, consensus: Assessment, user: Any) -> Result:
    """Check that every item is settled, then submit the consensus as the result."""
    locked = _lock_consensus(consensus)
    if locked.stale:
        raise ValidationError(STALE)
    problems = _finalise_problems(locked)
    if problems:
        raise ValidationError(problems)
    result = answering.submit_assessment(assessment=locked, user=user)
    AuditEvent.objects.record(
        locked.study.project_id,
        user,
        "consensus-finalise",
        str(locked.study),
        {"version": locked.version.key, "total": str(result.total)},
    )
    return result


def _finalise_problems(consensus: Assessment) -> list[str]:
    answers = dict(
        Answer.objects.filter(assessment=consensus).values_list("item_code", "choices")
    )
    problems = []
    for resolution in Resolution.objects.filter(consensus=consensus):
        code = resolution.item_code
        if not is_resolved(resolution):
            problems.append(
                _("Item %(code)s is disputed and not resolved yet.") % {"code": code}
            )
        elif normal_choices(answers.get(code)) != normal_choices(resolution.choices):
            # Changed in the form after it was settled: the record of who
            # decided what would no longer describe the result.
            problems.append(
                _(
                    "Item %(code)s was changed after it was settled; resolve it "
                    "again with a rationale."
                )
                % {"code": code}
            )
    return problems


@transaction.atomic
def refresh_stale_consensus(*, consensus: Assessment, user: Any) -> list[str]:
    """Re-read the reviewers' answers; keep resolutions whose sources did not change.

    Returns the codes of the items that need a decision again.
    """
    locked = _lock_consensus(consensus)
    if not locked.stale:
        return []  # reviewers' answers change only after a reopen, which marks it
    view = disagreements(locked.study, locked.version)
    if view.problems:
        raise ValidationError(view.problems)
    if locked.is_locked:
        answering.reopen_assessment(
            assessment=locked,
            user=user,
            reason="Refreshed: a reviewer's answers changed after the consensus.",
        )
        locked = _lock_consensus(locked)
    asked_again, rewrite = _reset_changed(locked, view.rows)
    _write_answers(locked, rewrite, user)
    locked.stale = False
    locked.save(update_fields=["stale", "updated_at"])
    AuditEvent.objects.record(
        locked.study.project_id,
        user,
        "consensus-refresh",
        str(locked.study),
        {"asked_again": asked_again, "rewritten": sorted(rewrite)},
    )
    changes.bump_data_revision(locked.study.project_id)
    return asked_again


def _reset_changed(
    consensus: Assessment, rows: list[ItemRow]
) -> tuple[list[str], dict[str, Choices]]:
    existing = {
        r.item_code: r
        for r in Resolution.objects.select_for_update().filter(consensus=consensus)
    }
    asked_again: list[str] = []
    rewrite: dict[str, Choices] = {}
    for row in rows:
        resolution = existing.get(row.code)
        if resolution is not None and resolution.sources == row.sources:
            continue
        fresh = _resolution(consensus, row)
        if resolution is not None:
            fresh.pk = resolution.pk
        fresh.save()
        if row.agreed:
            rewrite[row.code] = row.agreed_choices
        else:
            asked_again.append(row.code)
    return asked_again, rewrite
