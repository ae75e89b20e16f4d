"""Turning a definition, answers and a result into what the form template shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..instruments import Definition, Result
from ..models import Answer, Assessment


@dataclass
class OptionView:
    code: str
    label: str
    points: str
    checked: bool


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

    @property
    def revision(self) -> int:
        return self.answer.revision if self.answer else 0


def points_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return f"+{text}" if value > 0 else text


def _item_view(
    entry: Any, answers: dict[str, Answer], result: Result, is_condition: bool
) -> ItemView:
    answer = answers.get(entry.code)
    chosen = set(answer.choices or []) if answer else set()
    problems = {p.item: p.message for p in result.problems}
    item_result = (result.conditions if is_condition else result.items).get(entry.code)
    options = [
        OptionView(
            o.code, o.label, points_text(getattr(o, "points", None)), o.code in chosen
        )
        for o in entry.options
    ]
    multi = bool(getattr(entry, "is_multi", False))
    weight = getattr(entry, "weight", None)
    tags = [f"RRL {entry.stage}"] if getattr(entry, "stage", None) else []
    if getattr(entry, "tracks", None) and len(entry.tracks) == 1:
        tags.append("handcrafted only" if entry.tracks[0] == "hcr" else "DL only")
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
        weight=f"weight {weight}" if weight is not None else "",
        is_condition=is_condition,
        answered_none=multi and answer is not None and answer.choices == [],
        tags=tags,
    )


def score_context(
    assessment: Assessment, definition: Definition, result: Result
) -> dict[str, Any]:
    return {
        "assessment": assessment,
        "definition": definition,
        "result": result,
        "n_missing": len(result.missing),
        "n_problems": len(result.problems),
    }


def build_form_context(
    assessment: Assessment,
    answers: dict[str, Answer],
    result: Result,
    *,
    editable: bool,
) -> dict[str, Any]:
    definition = assessment.version.as_definition()
    conditions = [_item_view(c, answers, result, True) for c in definition.conditions]
    sections = [
        {
            "code": s.code,
            "label": s.label,
            "help": s.help,
            "items": [_item_view(i, answers, result, False) for i in s.items],
        }
        for s in definition.sections
    ]
    return {
        **score_context(assessment, definition, result),
        "conditions": conditions,
        "sections": sections,
        "editable": editable,
        "study": assessment.study,
        "project": assessment.study.project,
    }
