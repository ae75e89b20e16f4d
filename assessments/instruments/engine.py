"""Scoring entry point: check the answers, then hand over to the kind's engine."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Protocol

from . import checklist, judgement, points, weighted
from .definition import Definition
from .memo import Identity
from .result import Answers, Result, Sheet, evaluate, given


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
    """Score an answer set; incomplete or invalid answers score what they can.

    Scoring is pure: the same answers to the same (immutable) definition give
    the same result, which is kept per process. Most autosaves change only
    evidence text, so the choices they score are the ones scored last time.
    """
    # The answers as scoring reads them (`given`), so the key means the same.
    chosen = ((code, given(answers, code)) for code in answers)
    key = tuple(sorted((code, value) for code, value in chosen if value is not None))
    return _remembered(Identity(definition), key, floor_percent)


def _score(definition: Definition, answers: Answers, floor_percent: bool) -> Result:
    sheet = evaluate(definition, answers)
    return ENGINES[definition.kind](sheet, floor_percent=floor_percent)


# Bounded: a report scoring thousands of assessments passes through it.
@lru_cache(maxsize=512)
def _remembered(
    definition: Identity[Definition],
    answers: tuple[tuple[str, tuple[str, ...]], ...],
    floor_percent: bool,
) -> Result:
    return _score(definition.value, dict(answers), floor_percent)
