"""Reads through the crosswalk between instruments.

Beside an item of a reviewer's own assessment: that reviewer's own answers to
the mapped items in their other assessments of the study (never anyone
else's; the rule is ``access.own_other_assessments``). On the dashboard:
adherence on each concept's items, per instrument version, over the results
the viewer may see. A constant number of queries either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import access
from ..instruments import Definition
from ..instruments.crosswalk import Concept
from ..instruments.crosswalk import Crosswalk as CrosswalkDocument
from ..models import Answer, Assessment, Crosswalk, InstrumentVersion, Project, Study
from .studies import project_versions

EVIDENCE_CHARS = 120
NOT_ANSWERED = gettext_lazy("not answered yet")
NONE_OF_THESE = gettext_lazy("None of these")


@dataclass(frozen=True)
class MappedAnswer:
    """The reviewer's own answer to a mapped item of another instrument."""

    instrument: str  # "CLEAR 1.0", the version's label
    item_code: str
    item_label: str
    concepts: tuple[str, ...]  # concept labels
    answer: str  # option labels, in words
    pages: tuple[str, ...]  # quoted pages and the page field, as typed
    evidence: str  # the typed evidence, shortened

    @property
    def item_words(self) -> str:
        return f"{self.instrument} {self.item_code}"

    @property
    def where(self) -> str:
        """ "quoted p. 4, 7" or "" when no page is given."""
        if not self.pages:
            return ""
        return _("quoted p. %(pages)s") % {"pages": ", ".join(self.pages)}


def current_crosswalk() -> CrosswalkDocument | None:
    row = Crosswalk.objects.current()
    return row.as_crosswalk() if row is not None else None


def mapped_answers(user: Any, assessment: Assessment) -> dict[str, list[MappedAnswer]]:
    """Per item code of the assessment: the user's own mapped answers elsewhere.

    Empty unless the assessment is the user's own review and they have
    another one of the same study. Read only: nothing is copied.
    """
    others = list(
        access.own_other_assessments(user, assessment).select_related(
            "version__instrument"
        )
    )
    crosswalk = current_crosswalk() if others else None
    if crosswalk is None:
        return {}
    key = assessment.version.key
    concepts = [c for c in crosswalk.concepts if c.codes_for(key)]
    wanted = Q(pk__in=[])
    for other in others:
        codes = {code for c in concepts for code in c.codes_for(other.version.key)}
        if codes:
            wanted |= Q(assessment_id=other.pk, item_code__in=codes)
    answers = {
        (a.assessment_id, a.item_code): a
        for a in Answer.objects.filter(wanted).only(
            "assessment_id", "item_code", "choices", "page", "evidence", "quotes"
        )
    }
    shown: dict[str, list[MappedAnswer]] = {}
    for concept in concepts:
        for code in concept.codes_for(key):
            for other in others:
                _add(shown.setdefault(code, []), concept, other, answers)
    return {code: rows for code, rows in shown.items() if rows}


def _add(
    rows: list[MappedAnswer],
    concept: Concept,
    other: Assessment,
    answers: dict[tuple[int, str], Answer],
) -> None:
    """Append the other assessment's answers to the concept's items (merged
    when an item comes through two concepts)."""
    definition = other.version.as_definition()
    for code in concept.codes_for(other.version.key):
        answer = answers.get((other.pk, code))
        entry = definition.entry(code)
        if answer is None or entry is None:
            continue
        found = next(
            (
                i
                for i, r in enumerate(rows)
                if (r.instrument, r.item_code) == (other.version.label, code)
            ),
            None,
        )
        if found is not None:
            old = rows[found]
            if concept.label not in old.concepts:
                rows[found] = _with_concept(old, concept.label)
            continue
        rows.append(_mapped(other.version, definition, code, concept, answer))


def _with_concept(row: MappedAnswer, label: str) -> MappedAnswer:
    return MappedAnswer(
        row.instrument,
        row.item_code,
        row.item_label,
        (*row.concepts, label),
        row.answer,
        row.pages,
        row.evidence,
    )


def _mapped(
    version: InstrumentVersion,
    definition: Definition,
    code: str,
    concept: Concept,
    answer: Answer,
) -> MappedAnswer:
    entry = definition.entry(code)
    assert entry is not None  # checked by the caller
    return MappedAnswer(
        instrument=version.label,
        item_code=code,
        item_label=entry.label,
        concepts=(concept.label,),
        answer=answer_words(entry, answer.choices),
        pages=_pages(answer),
        evidence=Truncator(" ".join(answer.evidence.split())).chars(EVIDENCE_CHARS),
    )


def answer_words(entry: Any, choices: list[str] | None) -> str:
    if choices is None:
        return str(NOT_ANSWERED)
    if not choices:
        return str(NONE_OF_THESE)
    labels = []
    for choice in choices:
        option = entry.option(choice)
        labels.append(option.label if option is not None else str(choice))
    return "; ".join(labels)


def _pages(answer: Answer) -> tuple[str, ...]:
    pages: dict[str, None] = {}
    for quote in answer.quotes or []:
        if isinstance(quote, dict) and quote.get("page"):
            pages[str(quote["page"])] = None
    if answer.page.strip():
        pages[answer.page.strip()] = None
    return tuple(pages)


# --- the dashboard comparison ----------------------------------------------------


@dataclass(frozen=True)
class Cell:
    adhering: int
    answered: int

    @property
    def percent(self) -> float | None:
        if not self.answered:
            return None
        return round(100.0 * self.adhering / self.answered, 1)


@dataclass(frozen=True)
class ConceptRow:
    label: str
    help: str
    cells: tuple[Cell | None, ...]  # one per column; None: no mapped item


@dataclass
class Comparison:
    columns: list[str]  # version labels
    rows: list[ConceptRow] = field(default_factory=list)


def concept_comparison(user: Any, project: Project) -> Comparison | None:
    """Adherence per concept and instrument version, over results the user may see.

    An answer adheres when it meets its item (the engines' own judgement);
    counted over final answers (the consensus, or each submitted reviewer
    before one), not-applicable answers left out. None unless at least two
    of the project's versions are in the crosswalk.
    """
    crosswalk = current_crosswalk()
    if crosswalk is None:
        return None
    versions = [
        v
        for v in project_versions(project)
        if any(c.codes_for(v.key) for c in crosswalk.concepts)
    ]
    if len(versions) < 2:
        return None
    counts = _counts(user, project, crosswalk, versions)
    comparison = Comparison(columns=[v.label for v in versions])
    for concept in crosswalk.concepts:
        cells = tuple(_cell(concept, v, counts) for v in versions)
        if sum(cell is not None for cell in cells) >= 2:
            comparison.rows.append(ConceptRow(concept.label, concept.help, cells))
    return comparison


def _cell(
    concept: Concept, version: InstrumentVersion, counts: dict[tuple[int, str], Cell]
) -> Cell | None:
    codes = concept.codes_for(version.key)
    if not codes:
        return None
    found = [counts.get((version.pk, code), Cell(0, 0)) for code in codes]
    return Cell(sum(c.adhering for c in found), sum(c.answered for c in found))


def _counts(
    user: Any,
    project: Project,
    crosswalk: CrosswalkDocument,
    versions: list[InstrumentVersion],
) -> dict[tuple[int, str], Cell]:
    """(version, item) -> adhering and answered, in one grouped query."""
    where = Q(pk__in=[])
    for version in versions:
        codes = {code for c in crosswalk.concepts for code in c.codes_for(version.key)}
        studies = Study.objects.filter(project=project, training=False, excluded=False)
        rule = access.result_filter(user, project, version)
        if rule is not None:
            studies = studies.filter(rule)
        where |= Q(
            assessment__version=version,
            assessment__study__in=studies.values("pk"),
            item_code__in=codes,
        )
    final = Assessment.objects.filter(
        study_id=OuterRef("assessment__study_id"),
        version_id=OuterRef("assessment__version_id"),
        kind=Assessment.Kind.CONSENSUS,
        status=Assessment.Status.SUBMITTED,
        stale=False,
    )
    rows = (
        Answer.objects.filter(where)
        .filter(assessment__status=Assessment.Status.SUBMITTED, na=False)
        .exclude(adheres=None)
        .filter(
            Q(assessment__kind=Assessment.Kind.CONSENSUS, assessment__stale=False)
            | Q(assessment__kind=Assessment.Kind.REVIEWER) & ~Q(Exists(final))
        )
        .order_by()
        .values("assessment__version_id", "item_code")
        .annotate(yes=Count("pk", filter=Q(adheres=True)), n=Count("pk"))
    )
    return {
        (r["assessment__version_id"], r["item_code"]): Cell(r["yes"], r["n"])
        for r in rows
    }
