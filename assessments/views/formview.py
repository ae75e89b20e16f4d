"""Turning a definition, answers and a result into what the form template shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ..instruments import (
    Condition,
    Definition,
    Item,
    Problem,
    Result,
    entry_choice_problems,
)
from ..instruments.judgement import (
    JUDGEMENT_LABELS,
    aspect_label,
    no_reason_text,
    override_text,
)
from ..instruments.result import as_submitted
from ..models import Answer, Assessment, Paper, ReadingPreferences
from ..selectors.crosswalk import mapped_answers
from ..selectors.numbers import local_number
from ..selectors.papers import readable_paper
from ..selectors.wording import Wording, wording_for
from ..services.papers import findings_for
from .scorepanel import score_panel

NONE_OF_THESE = gettext_lazy("None of these")
# What the browser sends back of a quote; the server fills in the rest.
QUOTE_CLIENT_FIELDS = ("id", "paper", "page", "exact", "prefix", "suffix")
QUOTE_SHOWN_CHARS = 160
EXCERPT_CHARS = 120
FINDER_TOP = 5
# The finder needs the text; until then the form says where extraction is.
TEXT_STATE_WORDS = {
    Paper.TextState.QUEUED: gettext_lazy("The paper's text is still being extracted."),
    Paper.TextState.RUNNING: gettext_lazy("The paper's text is still being extracted."),
    Paper.TextState.NO_TEXT: gettext_lazy(
        "No text layer: scanned PDF. Quotes cannot be checked against it and "
        "the paper cannot be searched."
    ),
    Paper.TextState.FAILED: gettext_lazy("The paper's text could not be extracted."),
}


@dataclass
class QuoteView:
    """One quote of an answer, as the item card shows it."""

    id: str
    page: int
    exact: str
    prefix: str
    suffix: str
    # True: found on its page; False: not found; None: the text is not there yet.
    verified: bool | None
    # From the study's current paper: "Show in paper" can find it there.
    on_current_paper: bool
    client_json: str

    @property
    def short(self) -> str:
        return Truncator(" ".join(self.exact.split())).chars(QUOTE_SHOWN_CHARS)


@dataclass
class FindingView:
    """A passage the finder thinks may address the item: a place to look."""

    page: int
    text: str

    @property
    def excerpt(self) -> str:
        return Truncator(" ".join(self.text.split())).chars(EXCERPT_CHARS)


@dataclass
class OptionView:
    code: str
    label: str
    points: str
    checked: bool
    # The English label, when the form shows a translation that differs.
    english_label: str = ""


@dataclass
class ItemView:
    code: str
    label: str
    help: str
    multi: bool
    options: list[OptionView]
    answer: Answer | None
    na: bool
    missing: bool
    problem: str
    points: str
    weight: str
    is_condition: bool = False
    answered_none: bool = False
    tags: list[str] = field(default_factory=list)
    quotes: list[QuoteView] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)
    # The reader's own answers to this item's mapped items elsewhere.
    mapped: list[Any] = field(default_factory=list)
    # The English wording, when the form shows a translation that differs.
    english_label: str = ""
    english_help: str = ""

    @property
    def revision(self) -> int:
        return self.answer.revision if self.answer else 0

    @property
    def has_notes(self) -> bool:
        """Evidence, page or comment hold text: their fields start open."""
        a = self.answer
        return bool(a and (a.evidence.strip() or a.page.strip() or a.comment.strip()))

    @property
    def chosen_labels(self) -> list[str]:
        """The answer in words, for a form that is read, not edited."""
        chosen = [o.label for o in self.options if o.checked]
        return chosen or ([str(NONE_OF_THESE)] if self.answered_none else [])


def points_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = local_number(value.normalize())
    return f"+{text}" if value > 0 else text


def problem_texts(
    result: Result, definition: Definition | None = None
) -> dict[str, str]:
    """Each invalid item's problem, naming its options by label; with the
    definition shown, in the reader's language and wording (the result keeps
    the English)."""
    if definition is None:
        return {p.item: p.text or p.message for p in result.problems}
    return {p.item: problem_text(definition, result, p) for p in result.problems}


def problem_text(definition: Definition, result: Result, problem: Problem) -> str:
    """A problem in the reader's words, from the definition as the form shows it."""
    entry = definition.entry(problem.item)
    found = entry_choice_problems(entry, problem.value, _=_) if entry else []
    if found:
        return found[0].message
    override = next(
        (o for o in result.overrides if o.item == problem.item and not o.reason), None
    )
    if override is not None:
        return no_reason_text(definition, override, _=_, in_sentence=in_sentence)
    return problem.text or problem.message


def decimal_words(value: Decimal | None) -> str:
    """36 -> "36", 2.50 -> "2.5", as the score panel prints numbers."""
    if value is None:
        return "0"
    return local_number(value.normalize())


def judgement_label(code: str | None) -> str:
    if not code:
        return _("not yet judged")
    return _(JUDGEMENT_LABELS.get(code, code))


def aspect_headings(definition: Definition | None) -> tuple[str, str]:
    """Risk of bias and Applicability concerns, or the instrument's own
    names for them ("Quality concerns" for PROBAST+AI development)."""
    if definition is None:
        return _("Risk of bias"), _("Applicability concerns")
    return (
        aspect_label(definition, "risk_of_bias", _("Risk of bias")),
        aspect_label(definition, "applicability", _("Applicability concerns")),
    )


def in_sentence(words: str) -> str:
    """A heading's words inside a sentence: lower case, except in German,
    whose nouns keep their capital ("Gesamturteil Verzerrungsrisiko")."""
    return words if (get_language() or "").startswith("de") else words.lower()


def score_summary(result: Result, definition: Definition | None = None) -> str:
    """The running score in one sentence, for screen readers and the final line."""
    if result.kind == "judgement":
        risk, applicability = aspect_headings(definition)
        return _(
            "Overall %(risk)s: %(risk_judgement)s; "
            "%(applicability)s: %(applicability_judgement)s"
        ) % {
            "risk": in_sentence(risk),
            "risk_judgement": judgement_label(
                result.judgements.get("overall_risk_of_bias")
            ),
            "applicability": in_sentence(applicability),
            "applicability_judgement": judgement_label(
                result.judgements.get("overall_applicability")
            ),
        }
    shown = result.percent_display
    percent = "" if shown is None else f"{local_number(shown)}%"
    if result.kind == "weighted":
        band = f", {result.band}" if result.band else ""
        return f"{percent or local_number('0.0') + '%'}{band}"
    numbers = {
        "total": decimal_words(result.total),
        "maximum": decimal_words(result.maximum),
    }
    if result.kind == "checklist":
        text = _("%(total)s of %(maximum)s items met") % numbers
    else:
        text = _("%(total)s of %(maximum)s points") % numbers
    return f"{text} ({percent})" if percent else text


def submit_errors(definition: Definition, result: Result) -> list[dict[str, str]]:
    """Why submitting is refused, one line per item, in form order."""
    problems = problem_texts(result, definition)
    entries: list[tuple[bool, Condition | Item]] = [
        *((True, c) for c in definition.conditions),
        *((False, i) for i in definition.items),
    ]
    errors = []
    for is_condition, entry in entries:
        if entry.code in result.missing:
            words = {"code": entry.code, "label": entry.label}
            if is_condition:
                text = _("Condition %(code)s (%(label)s) is not answered.") % words
            else:
                text = _("Item %(code)s (%(label)s) is not answered.") % words
            errors.append({"code": entry.code, "text": text})
        elif entry.code in problems:
            errors.append({"code": entry.code, "text": problems[entry.code]})
    return errors


def quote_views(answer: Answer | None, paper: Paper | None) -> list[QuoteView]:
    """The answer's quotes; ones from a replaced paper are shown but not sought."""
    current = paper.uuid.hex if paper is not None else ""
    views = []
    for quote in (answer.quotes if answer is not None else None) or []:
        if not isinstance(quote, dict):
            continue
        client = {name: quote.get(name) for name in QUOTE_CLIENT_FIELDS}
        paper_key = str(quote.get("paper") or "").replace("-", "").lower()
        try:
            page = int(quote.get("page") or 0)
        except (TypeError, ValueError):
            page = 0
        views.append(
            QuoteView(
                id=str(quote.get("id") or ""),
                page=page,
                exact=str(quote.get("exact") or ""),
                prefix=str(quote.get("prefix") or ""),
                suffix=str(quote.get("suffix") or ""),
                verified=quote.get("verified"),
                on_current_paper=bool(current) and paper_key == current,
                client_json=json.dumps(client),
            )
        )
    return views


def finding_views(candidates: list[dict[str, Any]]) -> list[FindingView]:
    return [
        FindingView(page=int(c.get("page") or 0), text=str(c.get("text") or ""))
        for c in candidates[:FINDER_TOP]
        if c.get("text")
    ]


def paper_context(assessment: Assessment, reader: Any) -> dict[str, Any]:
    """The study's paper for the viewer, and the finder's candidates per item.

    No paper (or its file is gone, or a preview's unsaved study): the form is
    the one without a viewer, free-text evidence only.
    """
    study = assessment.study
    paper = readable_paper(study)
    if paper is None:
        return {"paper": None, "findings": {}, "finder_on": False}
    if reader is None and assessment.reviewer_id is not None:
        reader = assessment.reviewer
    finder_on = reader is None or ReadingPreferences.of(reader).evidence_finder
    has_text = paper.text_state == Paper.TextState.DONE
    findings = findings_for(paper, assessment.version) if finder_on and has_text else {}
    state = str(TEXT_STATE_WORDS.get(Paper.TextState(paper.text_state), ""))
    if paper.text_state == Paper.TextState.FAILED and paper.text_error:
        state = f"{state} {paper.text_error}"
    return {
        "paper": paper,
        "paper_file_url": reverse("paper-file", args=[paper.uuid]),
        "paper_has_text": has_text,
        "paper_text_state": state,
        "findings": {str(code): found for code, found in findings.items()},
        "finder_on": finder_on,
    }


def _item_view(
    entry: Any,
    answers: dict[str, Answer],
    result: Result,
    is_condition: bool,
    paper: dict[str, Any] | None,
    english: Any,
    problems: dict[str, str],
) -> ItemView:
    paper = paper or {"paper": None, "findings": {}}
    english = english or entry
    english_options = {o.code: o.label for o in english.options}
    answer = answers.get(entry.code)
    chosen = set(answer.choices or []) if answer else set()
    item_result = (result.conditions if is_condition else result.items).get(entry.code)
    options = [
        OptionView(
            o.code,
            o.label,
            points_text(getattr(o, "points", None)),
            o.code in chosen,
            _differs(english_options.get(o.code, ""), o.label),
        )
        for o in entry.options
    ]
    multi = bool(getattr(entry, "is_multi", False))
    weight = getattr(entry, "weight", None)
    tags = [f"RRL {entry.stage}"] if getattr(entry, "stage", None) else []
    if getattr(entry, "tracks", None) and len(entry.tracks) == 1:
        tags.append(_("handcrafted only") if entry.tracks[0] == "hcr" else _("DL only"))
    return ItemView(
        code=entry.code,
        label=entry.label,
        help=entry.help,
        multi=multi,
        options=options,
        answer=answer,
        na=result.is_na(entry.code),
        missing=entry.code in result.missing,
        problem=problems.get(entry.code, ""),
        points=points_text(item_result.points) if item_result else "",
        weight="" if weight is None else _("weight %(weight)s") % {"weight": weight},
        is_condition=is_condition,
        answered_none=multi and answer is not None and answer.choices == [],
        tags=tags,
        quotes=quote_views(answer, paper["paper"]),
        # Conditions with hints of their own are searched too (METRICS C1-C5).
        findings=finding_views(paper["findings"].get(entry.code, [])),
        english_label=_differs(english.label, entry.label),
        english_help=_differs(english.help, entry.help),
    )


def _differs(english: str, shown: str) -> str:
    return english if english != shown else ""


def score_context(
    assessment: Assessment,
    definition: Definition,
    result: Result,
    wording: Wording | None = None,
) -> dict[str, Any]:
    if assessment.is_locked:
        # Shown with the percentage and band it was submitted with.
        result = as_submitted(result, assessment.result)
    return {"assessment": assessment, **score_view(definition, result, wording)}


def score_view(
    definition: Definition, result: Result, wording: Wording | None = None
) -> dict[str, Any]:
    """What the score panel shows of `result`, in the reader's words."""
    if wording is not None:
        # Results name bands and subtotals in English; the reader sees theirs.
        result = wording.result(result)
    risk, applicability = aspect_headings(definition)
    return {
        "definition": definition,
        "result": result,
        "n_missing": len(result.missing),
        "n_problems": len(result.problems),
        "summary": score_summary(result, definition),
        "risk_heading": _("Overall %(aspect)s") % {"aspect": in_sentence(risk)},
        "applicability_heading": _("Overall %(aspect)s")
        % {"aspect": in_sentence(applicability)},
        "overrides": [override_text(definition, o, _=_) for o in result.overrides],
        "overall_risk": judgement_label(result.judgements.get("overall_risk_of_bias")),
        "overall_applicability": judgement_label(
            result.judgements.get("overall_applicability")
        ),
        "maximum_text": decimal_words(result.maximum),
        "total_text": decimal_words(result.total),
    }


def build_form_context(
    assessment: Assessment,
    answers: dict[str, Answer],
    result: Result,
    *,
    editable: bool,
    attempted: bool = False,
    user: Any = None,
) -> dict[str, Any]:
    """Everything the form shows; `attempted`: a submit was refused, and the
    assessment is not submitted since; `user`: who reads it (their reading
    preferences; the assessment's reviewer when not given)."""
    wording = wording_for(assessment.version)
    definition, english = wording.definition, wording.english
    paper = paper_context(assessment, user)
    mapped = mapped_answers(user, assessment) if user is not None else {}
    problems = problem_texts(result, definition)
    conditions = [
        _item_view(c, answers, result, True, paper, english.entry(c.code), problems)
        for c in definition.conditions
    ]
    sections = [
        {
            "code": s.code,
            "label": s.label,
            "help": s.help,
            "english_label": _differs(e.label, s.label),
            "english_help": _differs(e.help, s.help),
            "items": [
                replace(
                    _item_view(
                        i,
                        answers,
                        result,
                        False,
                        paper,
                        english.entry(i.code),
                        problems,
                    ),
                    mapped=mapped.get(i.code, []),
                )
                for i in s.items
            ],
        }
        for s, e in zip(definition.sections, english.sections, strict=True)
    ]
    scores = score_context(assessment, definition, result, wording)
    return {
        **scores,
        "wording": wording,
        "score_html": score_panel(scores),
        **paper,
        # "Use as evidence for item ...": the items, as the form names them.
        "quote_items": [
            {"code": i.code, "label": f"{i.code} · {Truncator(i.label).chars(60)}"}
            for i in definition.items
        ],
        "conditions": conditions,
        "sections": sections,
        "editable": editable,
        "attempted": attempted,
        "submit_errors": (
            submit_errors(definition, result) if attempted and editable else []
        ),
        "study": assessment.study,
        "project": assessment.study.project,
        # The reader's own answers to mapped items elsewhere (never another's).
        "crosswalk_items": [
            {"code": i.code, "label": i.label, "mapped": mapped[i.code]}
            for i in definition.items
            if i.code in mapped
        ],
    }
