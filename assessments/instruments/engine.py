"""Scoring entry point: check the answers, then hand over to the kind's engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from . import checklist, judgement, points, weighted
from .definition import Definition
from .result import Answers, Result, Sheet, evaluate


class Engine(Protocol):
    def __call__(self, sheet: Sheet, floor_percent: bool = False) -> Result: ...


ENGINES: Mapping[str, Engine] = {
    "points": points.score,
    "weighted": weighted.score,
    "checklist": checklist.score,
    "judgement": judgement.score,
}


def score(
    definition: Definition, answers: Answers, *, floor_percent: bool = False
) -> Result:
    """Score an answer set; incomplete or invalid answers score what they can."""
    sheet = evaluate(definition, answers)
    return ENGINES[definition.kind](sheet, floor_percent=floor_percent)
