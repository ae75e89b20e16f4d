"""Consensus, the read half: every reviewer's answer per item, side by side.

A study's disagreements for one instrument version, agreement marked, with the
consensus decisions attached once a consensus exists. services/consensus.py
writes; this module only reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..instruments import Definition, Result, score
from ..instruments.judgement import aspect_label
from ..instruments.result import as_submitted
from ..models import Answer, Assessment, InstrumentVersion, Resolution, Study
from .audit import choices_text, person, status_label, version_name
from .wording import wording_for

Choices = list[str] | None

# The server's verdict on a quote, in words (None: the paper's text was not
# there yet when the quote was saved).
VERIFIED_WORDS = {
    True: gettext_lazy("verified in the paper"),
    False: gettext_lazy("not found in the paper"),
    None: gettext_lazy("not checked yet: the paper's text is still being extracted"),
}


@dataclass(frozen=True)
class QuoteView:
    """One quote of an answer as pages and reports print it."""

    id: str
    exact: str
    page: int | None
    verified: bool | None
    paper: str
    prefix: str = ""
    suffix: str = ""
    by: str = ""
    adopted_by: str = ""
    # What the paper viewer needs to find it again: page and W3C selectors.
    show: str = ""

    @property
    def mark(self) -> str:
        return str(VERIFIED_WORDS.get(self.verified, VERIFIED_WORDS[None]))

    @property
    def place(self) -> tuple[str, int | None, str]:
        """Two quotes of the same text at the same place are one quote."""
        return (self.paper, self.page, self.exact)


def quote_views(quotes: Any) -> tuple[QuoteView, ...]:
    """An answer's stored quotes (Answer.quotes) for display; junk is skipped."""
    out = []
    for q in quotes if isinstance(quotes, list) else []:
        if not isinstance(q, dict) or not str(q.get("exact") or "").strip():
            continue
        page, verified = q.get("page"), q.get("verified")
        selectors = {k: q.get(k) or "" for k in ("exact", "prefix", "suffix")}
        out.append(
            QuoteView(
                id=str(q.get("id") or ""),
                exact=str(q["exact"]),
                page=page if isinstance(page, int) else None,
                verified=verified if isinstance(verified, bool) else None,
                paper=str(q.get("paper") or ""),
                prefix=str(selectors["prefix"]),
                suffix=str(selectors["suffix"]),
                by=str(q.get("by") or ""),
                adopted_by=str(q.get("adopted_by") or ""),
                show=json.dumps(
                    {"paper": q.get("paper") or "", "page": page, **selectors},
                    ensure_ascii=False,
                ),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class ReviewerAnswer:
    reviewer: str  # user name: the key of Resolution.sources
    choices: Choices
    labels: tuple[str, ...]
    points: Decimal | None
    na: bool
    evidence: str = ""
    page: str = ""
    comment: str = ""
    name: str = ""  # as people know the reviewer
    text: str = ""  # the answer in words
    quotes: tuple[QuoteView, ...] = ()
    assessment: str = ""  # the reviewer's assessment's uuid: where quotes come from


@dataclass(frozen=True)
class Total:
    """Someone's total in the instrument's own unit, as words."""

    who: str
    text: str
    complete: bool = True


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
    # The consensus's answer as scored now: its words, points and N/A.
    decided_text: str = ""
    decided_points: Decimal | None = None
    decided_na: bool = False
    # The consensus's own quotes on the item, and the revision of its answer
    # (0: no answer yet) that adopting a quote must be based on.
    consensus_quotes: tuple[QuoteView, ...] = ()
    consensus_revision: int = 0

    @property
    def adopted(self) -> set[str]:
        """Ids of the reviewers' quotes that the consensus holds already."""
        held = {q.id for q in self.consensus_quotes}
        held_text = {q.place for q in self.consensus_quotes}
        return {
            q.id
            for a in self.answers
            for q in a.quotes
            if q.id in held or q.place in held_text
        }

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

    @property
    def settled_how(self) -> str:
        """How the item was settled, in words: agreed, decided by whom, or not yet."""
        r = self.resolution
        if r is None:
            return ""
        local = timezone.localtime(r.resolved_at) if r.resolved_at else None
        when = dateformat.format(local, "j M Y, H:i") if local else _("an unknown date")
        if r.rationale:
            return _("Decided by %(person)s on %(when)s") % {
                "person": person(r.resolved_by),
                "when": when,
            }
        if r.agreed:
            return _("The reviewers agreed")
        return _("Not decided yet")


@dataclass
class DisagreementView:
    study: Study
    version: InstrumentVersion
    definition: Definition
    reviewers: list[Assessment]
    rows: list[ItemRow]
    consensus: Assessment | None = None
    problems: list[str] = field(default_factory=list)
    totals: list[Total] = field(default_factory=list)
    consensus_total: Total | None = None

    @property
    def instrument(self) -> str:
        return version_name(self.definition)

    @property
    def status(self) -> str:
        """The consensus's state in words ('Final' once finalised)."""
        c = self.consensus
        if c is None:
            return _("Not started")
        if c.stale:
            return _("Out of date: a reviewer's answers changed")
        return status_label(c.kind, c.status)

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
    # The reader's wording; scores come out the same from any language's copy.
    definition = wording_for(version).definition
    entries = [(a, by_assessment[a.pk]) for a in reviewers]
    floor = study.project.floor_percent
    rows, results = _compare(definition, entries, floor)
    view = DisagreementView(study, version, definition, reviewers, rows)
    view.totals = [
        Total(
            person(a.reviewer),
            total_text(definition, _submitted_figures(a, r)),
            r.complete,
        )
        for a, r in zip(reviewers, results, strict=True)
    ]
    view.consensus = (
        Assessment.objects.filter(
            study=study, version=version, kind=Assessment.Kind.CONSENSUS
        )
        .select_related("study__project", "version")
        .first()
    )
    if view.consensus is not None:
        decided = _attach_consensus(view.rows, view.consensus, definition, floor)
        view.consensus_total = Total(
            _("Consensus"),
            total_text(definition, _submitted_figures(view.consensus, decided)),
            decided.complete,
        )
    view.problems = start_problems(view)
    return view


def _submitted_figures(assessment: Assessment, result: Result) -> Result:
    """A submitted assessment keeps the percentage and band it was submitted with."""
    return as_submitted(result, assessment.result) if assessment.is_locked else result


def _compare(
    definition: Definition,
    entries: list[tuple[Assessment, dict[str, Answer]]],
    floor: bool,
) -> tuple[list[ItemRow], list[Result]]:
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
    return rows, results


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
    na = result.is_na(entry.code)
    return ReviewerAnswer(
        reviewer=assessment.reviewer.get_username() if assessment.reviewer else "",
        choices=None if choices is None else list(choices),
        labels=tuple(labels.get(c, c) for c in choices or []),
        points=item.points if item else None,
        na=na,
        evidence=answer.evidence if answer else "",
        page=answer.page if answer else "",
        comment=answer.comment if answer else "",
        name=person(assessment.reviewer),
        text=choices_text(entry, choices, na=na and choices is None),
        quotes=quote_views(answer.quotes) if answer else (),
        assessment=str(assessment.uuid),
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


def _attach_consensus(
    rows: list[ItemRow], consensus: Assessment, definition: Definition, floor: bool
) -> Result:
    """Each row's resolution and decided answer; the consensus scored as it stands."""
    resolutions = {
        r.item_code: r for r in consensus.resolutions.select_related("resolved_by")
    }
    stored = {
        code: (choices, quotes, revision)
        for code, choices, quotes, revision in Answer.objects.filter(
            assessment=consensus
        ).values_list("item_code", "choices", "quotes", "revision")
    }
    answers = {code: value[0] for code, value in stored.items()}
    given = {code: c for code, c in answers.items() if c is not None}
    result = score(definition, given, floor_percent=floor)
    for row in rows:
        row.resolution = resolutions.get(row.code)
        row.consensus_choices = answers.get(row.code)
        _choices, quotes, revision = stored.get(row.code, (None, [], 0))
        row.consensus_quotes = quote_views(quotes)
        row.consensus_revision = revision
        scored = (result.conditions if row.is_condition else result.items).get(row.code)
        row.decided_points = scored.points if scored else None
        row.decided_na = result.is_na(row.code)
        entry = definition.entry(row.code)
        na_only = row.decided_na and row.consensus_choices is None
        row.decided_text = choices_text(entry, row.consensus_choices, na=na_only)
    return result


def total_text(definition: Definition, result: Result) -> str:
    """A total in the instrument's unit: points of the maximum, a percentage and
    band, or the overall judgements."""
    if result.kind == "judgement":
        return "; ".join(
            f"{_heading(definition, key, label)}: "
            f"{_judgement_label(definition, result.judgements.get(key))}"
            for key, label in JUDGEMENTS
        )
    pct = f"{result.percent_display}%" if result.percent_display is not None else ""
    band = f", {result.band}" if result.band else ""
    if result.kind == "weighted":
        return f"{pct or '0.0%'}{band}"
    figures = {"total": _number(result.total), "maximum": _number(result.maximum)}
    if result.kind == "checklist":
        if result.maximum is not None:
            words = _("%(total)s of %(maximum)s items reported") % figures
        else:
            words = _("%(total)s items reported") % figures
    elif result.maximum is not None:
        words = _("%(total)s of %(maximum)s points") % figures
    else:
        words = _("%(total)s points") % figures
    return words + (f" ({pct}{band})" if pct else band)


JUDGEMENTS = (
    ("overall_risk_of_bias", gettext_lazy("risk of bias")),
    ("overall_applicability", gettext_lazy("applicability concerns")),
)


def _heading(definition: Definition, key: str, label: Any) -> str:
    """Overall risk of bias, or in the instrument's words ("Overall quality
    concerns" for PROBAST+AI development)."""
    aspect = key.removeprefix("overall_")
    own = aspect_label(definition, aspect, str(label))
    return _("Overall %(aspect)s") % {"aspect": f"{own[0].lower()}{own[1:]}"}


def _judgement_label(definition: Definition, code: str | None) -> str:
    if code is None:
        return _("not yet judged")
    for item in definition.items:
        option = item.option(code) if item.judgement else None
        if option is not None:
            return option.label
    return code.capitalize()


def _number(value: Decimal | None) -> str:
    if value is None:
        return "0"
    return f"{value.normalize():f}"


def start_problems(view: DisagreementView) -> list[str]:
    """Why a consensus cannot be started or refreshed now (empty when it can)."""
    if view.study.excluded:
        return [_("This study is excluded.")]
    if not view.reviewers:
        return [_("Nobody is assigned to this study for this instrument.")]
    return [
        _("%(reviewer)s has not submitted (%(status)s).")
        % {"reviewer": a.reviewer, "status": a.get_status_display().lower()}
        for a in view.reviewers
        if not a.is_locked
    ]
