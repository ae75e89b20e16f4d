"""Consensus, the read half: every reviewer's answer per item, side by side.

A study's disagreements for one instrument version, agreement marked, with the
consensus decisions attached once a consensus exists. services/consensus.py
writes; this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..instruments import Definition, Result, score
from ..models import Answer, Assessment, InstrumentVersion, Resolution, Study

Choices = list[str] | None


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


def normal_choices(choices: Choices) -> tuple[str, ...]:
    return tuple(sorted(choices or []))


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
    definition = version.as_definition()
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
    view.problems = start_problems(view)
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
        na=result.is_na(entry.code),
        evidence=answer.evidence if answer else "",
        page=answer.page if answer else "",
        comment=answer.comment if answer else "",
    )


def _row(entry: Any, is_condition: bool, cells: list[ReviewerAnswer]) -> ItemRow:
    keys = {("na",) if c.na else ("answer", *normal_choices(c.choices)) for c in cells}
    agreed = bool(cells) and len(keys) == 1
    same_choices = len({normal_choices(c.choices) for c in cells}) == 1
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


def start_problems(view: DisagreementView) -> list[str]:
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
