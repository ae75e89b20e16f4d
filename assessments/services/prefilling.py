"""Conditions answered from the study when an assessment is created.

An instrument may declare (`params.prefill`) that a condition is filled in
from a field of the study, as IBSI's imaging modality is from the study's
modality. The answer is written as any answer is, with its history row saying
where it came from, and the reviewer changes it on the form like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from ..instruments.prefill import Prefill, prefills
from ..models import Answer, Assessment
from .answering import cached_result_fields, score_assessment


@transaction.atomic
def prefill_conditions(*, assessments: Sequence[Assessment]) -> int:
    """Answer the pre-filled conditions of these assessments from their studies,
    never over an answer already there. Returns the answers written."""
    rules: dict[int, tuple[Prefill, ...]] = {}
    for assessment in assessments:
        if assessment.version_id not in rules:
            # The callers' own version objects: no query for other instruments.
            rules[assessment.version_id] = prefills(assessment.version.as_definition())
    ids = [a.pk for a in assessments if rules[a.version_id]]
    if not ids:
        return 0
    wanted = list(
        Assessment.objects.filter(pk__in=ids)
        .select_related("study__project", "version")
        .order_by("pk")
    )
    stored: dict[int, dict[str, Answer]] = {a.pk: {} for a in wanted}
    for row in Answer.objects.filter(assessment__in=wanted):
        stored[row.assessment_id][row.item_code] = row
    written = 0
    for assessment in wanted:
        written += _prefill_one(assessment, rules[assessment.version_id], stored)
    return written


def _prefill_one(
    assessment: Assessment,
    rules: Sequence[Prefill],
    stored: dict[int, dict[str, Answer]],
) -> int:
    rows = stored[assessment.pk]
    new: list[Answer] = []
    for rule in rules:
        option = rule.option_for(getattr(assessment.study, rule.study_field, ""))
        if option is None or rule.condition in rows:
            continue  # unrecognised, or answered (even just a comment) already
        answer = Answer(
            assessment=assessment,
            item_code=rule.condition,
            choices=[option],
            revision=assessment.revision,
        )
        bulk_create_with_history([answer], Answer, default_change_reason=rule.reason)
        rows[rule.condition] = answer
        new.append(answer)
    if new:
        answers = {c: list(a.choices) for c, a in rows.items() if a.choices is not None}
        reasons = {c: a.comment for c, a in rows.items()}
        result = score_assessment(assessment, answers, reasons)
        Assessment.objects.filter(pk=assessment.pk).update(
            **cached_result_fields(result)
        )
    return len(new)
