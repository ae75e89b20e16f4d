"""Consensus: reviewers' answers side by side, resolving disputes, the final result.

A consensus is an Assessment of kind consensus, edited with the same form and
autosave as a reviewer's. Each of its items has a Resolution row that keeps
the reviewers' answers it was settled from (``sources``), the outcome, the
rationale and who decided. Agreement between reviewers is judged on their
submitted answers; an item that does not apply (N/A by the conditions) agrees
only when it does not apply for every reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from ..instruments import Definition, Result, score
from ..instruments.result import NOT_APPLICABLE
from ..models import Answer, Assessment, InstrumentVersion, Resolution, Study
from . import workflow
from .catalogue import definition_of

Choices = list[str] | None
STALE = "A reviewer's answers changed since this consensus began; refresh it first."


@dataclass(frozen=True)
class ReviewerAnswer:
    reviewer: str
    choices: Choices
    labels: tuple[str, ...]
    points: Decimal | None
    na: bool
    evidence: str = ""
    page: str = ""
    comment: str = ""


@dataclass
class ItemRow:
    """One item (or condition) of the instrument with every reviewer's answer."""

    code: str
    label: str
    is_condition: bool
    multi: bool
    options: tuple[Any, ...]
    answers: list[ReviewerAnswer]
    agreed: bool
    agreed_choices: Choices
    resolution: Resolution | None = None
    consensus_choices: Choices = None

    @property
    def sources(self) -> dict[str, Choices]:
        return {a.reviewer: a.choices for a in self.answers}

    @property
    def resolved(self) -> bool:
        return self.resolution is not None and is_resolved(self.resolution)

    @property
    def selected(self) -> list[str]:
        """What the consensus holds now, else what the reviewers agreed on."""
        if self.consensus_choices is not None:
            return list(self.consensus_choices)
        return list(self.agreed_choices or [])

    @property
    def any_na(self) -> bool:
        return any(a.na for a in self.answers)


@dataclass
class DisagreementView:
    study: Study
    version: InstrumentVersion
    definition: Definition
    reviewers: list[Assessment]
    rows: list[ItemRow]
    consensus: Assessment | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def disputed(self) -> list[ItemRow]:
        return [row for row in self.rows if not row.agreed]

    @property
    def unresolved(self) -> list[ItemRow]:
        return [row for row in self.rows if not row.resolved]

    @property
    def all_submitted(self) -> bool:
        return bool(self.reviewers) and all(a.is_locked for a in self.reviewers)

    @property
    def editable(self) -> bool:
        c = self.consensus
        return bool(c and not c.is_locked and not c.stale)

    @property
    def ready_to_finalise(self) -> bool:
        c = self.consensus
        return bool(c and not c.is_locked and not c.stale and not self.unresolved)


def is_resolved(resolution: Resolution) -> bool:
    # A disputed item counts as settled once someone gave a rationale for it.
    return resolution.agreed or bool(resolution.rationale.strip())


def _normal(choices: Choices) -> tuple[str, ...]:
    return tuple(sorted(choices or []))


# --- reading ---------------------------------------------------------------------


def disagreements(study: Study, version: InstrumentVersion) -> DisagreementView:
    """Each reviewer's current answer per item in form order, agreement marked."""
    reviewers = list(
        Assessment.objects.filter(
            study=study, version=version, kind=Assessment.Kind.REVIEWER
        )
        .select_related("reviewer", "study__project", "version")
        .order_by("reviewer__username")
    )
    by_assessment: dict[int, dict[str, Answer]] = {a.pk: {} for a in reviewers}
    for answer in Answer.objects.filter(assessment__in=[a.pk for a in reviewers]):
        by_assessment[answer.assessment_id][answer.item_code] = answer
    definition = definition_of(version)
    entries = [(a, by_assessment[a.pk]) for a in reviewers]
    rows = _compare(definition, entries, study.project.floor_percent)
    view = DisagreementView(study, version, definition, reviewers, rows)
    view.consensus = (
        Assessment.objects.filter(
            study=study, version=version, kind=Assessment.Kind.CONSENSUS
        )
        .select_related("study__project", "version")
        .first()
    )
    if view.consensus is not None:
        _attach_consensus(view.rows, view.consensus)
    view.problems = _start_problems(view)
    return view


def _compare(
    definition: Definition,
    entries: list[tuple[Assessment, dict[str, Answer]]],
    floor: bool,
) -> list[ItemRow]:
    results = [
        score(
            definition,
            {c: a.choices for c, a in answers.items() if a.choices is not None},
            floor_percent=floor,
        )
        for _, answers in entries
    ]
    rows = []
    form_order: list[tuple[Any, bool]] = [(c, True) for c in definition.conditions]
    form_order += [(i, False) for i in definition.items]
    for entry, is_condition in form_order:
        cells = [
            _cell(entry, is_condition, assessment, answers.get(entry.code), result)
            for (assessment, answers), result in zip(entries, results, strict=True)
        ]
        rows.append(_row(entry, is_condition, cells))
    return rows


def _cell(
    entry: Any,
    is_condition: bool,
    assessment: Assessment,
    answer: Answer | None,
    result: Result,
) -> ReviewerAnswer:
    item = (result.conditions if is_condition else result.items).get(entry.code)
    choices = None if answer is None or answer.choices is None else answer.choices
    labels = {o.code: o.label for o in entry.options}
    return ReviewerAnswer(
        reviewer=assessment.reviewer.get_username() if assessment.reviewer else "",
        choices=None if choices is None else list(choices),
        labels=tuple(labels.get(c, c) for c in choices or []),
        points=item.points if item else None,
        na=bool(item and item.state == NOT_APPLICABLE),
        evidence=answer.evidence if answer else "",
        page=answer.page if answer else "",
        comment=answer.comment if answer else "",
    )


def _row(entry: Any, is_condition: bool, cells: list[ReviewerAnswer]) -> ItemRow:
    keys = {("na",) if c.na else ("answer", *_normal(c.choices)) for c in cells}
    agreed = bool(cells) and len(keys) == 1
    same_choices = len({_normal(c.choices) for c in cells}) == 1
    agreed_choices = cells[0].choices if agreed and same_choices else None
    return ItemRow(
        code=entry.code,
        label=entry.label,
        is_condition=is_condition,
        multi=bool(getattr(entry, "is_multi", False)),
        options=tuple(entry.options),
        answers=cells,
        agreed=agreed,
        agreed_choices=agreed_choices,
    )


def _attach_consensus(rows: list[ItemRow], consensus: Assessment) -> None:
    resolutions = {r.item_code: r for r in consensus.resolutions.all()}
    answers = dict(
        Answer.objects.filter(assessment=consensus).values_list("item_code", "choices")
    )
    for row in rows:
        row.resolution = resolutions.get(row.code)
        row.consensus_choices = answers.get(row.code)


def _start_problems(view: DisagreementView) -> list[str]:
    """Why a consensus cannot be started or refreshed now (empty when it can)."""
    if view.study.excluded:
        return ["This study is excluded."]
    if not view.reviewers:
        return ["Nobody is assigned to this study for this instrument."]
    return [
        f"{a.reviewer} has not submitted ({a.get_status_display().lower()})."
        for a in view.reviewers
        if not a.is_locked
    ]


# --- writing ---------------------------------------------------------------------


def _lock_consensus(consensus: Assessment) -> Assessment:
    locked = (
        Assessment.objects.select_for_update()
        .select_related("study__project", "version")
        .get(pk=consensus.pk)
    )
    if not locked.is_consensus:
        raise ValidationError("This is a reviewer's assessment, not a consensus.")
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
    result = workflow.score_assessment(consensus, workflow.answers_of(consensus))
    workflow._store_result(consensus, result)
    consensus.save()
    workflow._refresh_item_cache(consensus, result)


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
    workflow._audit(
        study.project_id,
        user,
        "consensus-start",
        str(study),
        {"version": version.key, "agreed": len(agreed), "disputed": len(view.disputed)},
    )
    workflow.bump_data_revision(study.project_id)
    return consensus


class StaleResolution(Exception):
    """The item was decided by someone else since the page was loaded."""

    def __init__(self, resolution: Resolution) -> None:
        super().__init__(f"Item {resolution.item_code} was decided meanwhile.")
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
    _check_choices(definition_of(locked.version), item_code, choices)
    overrides = resolution.agreed and _normal(choices) != _normal(resolution.choices)
    if (not resolution.agreed or overrides) and not rationale.strip():
        raise ValidationError(f"Item {item_code}: give a rationale for the decision.")
    _save_consensus_answer(locked, item_code, choices, user)
    resolution.choices = list(choices or [])
    resolution.rationale = rationale.strip()
    resolution.resolved_by = user
    resolution.revision += 1
    resolution.save()
    workflow._audit(
        locked.study.project_id,
        user,
        "consensus-resolve",
        str(locked.study),
        {"item": item_code, "choices": choices, "sources": resolution.sources},
    )
    workflow.bump_data_revision(locked.study.project_id)
    return resolution


def _decidable(consensus: Assessment, item_code: str) -> Resolution:
    """The item's resolution, locked, when the consensus takes decisions now."""
    if consensus.is_locked:
        raise workflow.LockedAssessment(
            "This consensus is final; a lead must reopen it first."
        )
    if consensus.stale:
        raise ValidationError(STALE)
    resolution = (
        Resolution.objects.select_for_update()
        .filter(consensus=consensus, item_code=item_code)
        .first()
    )
    if resolution is None:
        raise ValidationError(f"'{item_code}' is not an item of this consensus.")
    return resolution


def _check_choices(definition: Definition, item_code: str, choices: Choices) -> None:
    """A decision names one option of a single-choice item (None: leave it N/A)."""
    try:
        entry: Any = definition.item(item_code)
    except KeyError:
        entry = definition.condition(item_code)
    if choices is not None and not entry.is_multi and len(choices) != 1:
        raise ValidationError(f"Item {item_code}: choose one answer.")


def _save_consensus_answer(
    consensus: Assessment, item_code: str, choices: Choices, user: Any
) -> None:
    """Through the autosave service, keeping any evidence typed in the form."""
    answer = Answer.objects.filter(assessment=consensus, item_code=item_code).first()
    data = workflow.AnswerInput(
        item_code=item_code,
        choices=None if choices is None else list(choices),
        evidence=answer.evidence if answer else "",
        page=answer.page if answer else "",
        comment=answer.comment if answer else "",
    )
    workflow.save_answer(
        assessment=consensus,
        user=user,
        data=data,
        seen_revision=answer.revision if answer else 0,
    )


@transaction.atomic
def discard_consensus(*, consensus: Assessment, user: Any) -> None:
    """Remove a consensus that is not final (the reviewers' answers stay).

    Needed before another reviewer joins the study; the history keeps every
    decision that was made.
    """
    locked = _lock_consensus(consensus)
    if locked.status == Assessment.Status.SUBMITTED:
        raise ValidationError(
            "A final consensus cannot be discarded: reopen it first (with a reason)."
        )
    study = locked.study
    for resolution in Resolution.objects.filter(consensus=locked):
        resolution.delete()  # one by one so the history records each removal
    for answer in Answer.objects.filter(assessment=locked):
        answer.delete()
    locked.delete()
    workflow._audit(
        study.project_id,
        user,
        "consensus-discard",
        str(study),
        {"version": locked.version.key},
    )
    workflow.bump_data_revision(study.project_id)


@transaction.atomic
def finalise_consensus(*, consensus: Assessment, user: Any) -> Result:
    """Check that every item is settled, then submit the consensus as the result."""
    locked = _lock_consensus(consensus)
    if locked.stale:
        raise ValidationError(STALE)
    problems = _finalise_problems(locked)
    if problems:
        raise ValidationError(problems)
    result = workflow.submit_assessment(assessment=locked, user=user)
    workflow._audit(
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
            problems.append(f"Item {code} is disputed and not resolved yet.")
        elif _normal(answers.get(code)) != _normal(resolution.choices):
            # Changed in the form after it was settled: the record of who
            # decided what would no longer describe the result.
            problems.append(
                f"Item {code} was changed after it was settled; resolve it again "
                "with a rationale."
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
        workflow.reopen_assessment(
            assessment=locked,
            user=user,
            reason="Refreshed: a reviewer's answers changed after the consensus.",
        )
        locked = _lock_consensus(locked)
    asked_again, rewrite = _reset_changed(locked, view.rows)
    _write_answers(locked, rewrite, user)
    locked.stale = False
    locked.save(update_fields=["stale", "updated_at"])
    workflow._audit(
        locked.study.project_id,
        user,
        "consensus-refresh",
        str(locked.study),
        {"asked_again": asked_again, "rewritten": sorted(rewrite)},
    )
    workflow.bump_data_revision(locked.study.project_id)
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
