"""What the write endpoints accept and answer (assessments/api/write.py).

Input serializers check the shape of a body; what a study, an answer or an
assignment may hold is then decided by the same form and services as the
pages, so the API never accepts what a page would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from ..forms import STUDY_FIELDS, ImportForm
from ..instruments import Result
from ..models import Answer, Study

# --- studies ----------------------------------------------------------------------


class StudyInput(serializers.ModelSerializer):
    """One study's details, as the page's study form takes them."""

    class Meta:
        model = Study
        fields = [*STUDY_FIELDS, "training"]


class ImportInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="RIS, BibTeX, PubMed MEDLINE (.nbib), PubMed XML or CSV; UTF-8."
    )
    format = serializers.ChoiceField(
        choices=[(code, label) for code, label in ImportForm.FORMAT_CHOICES if code],
        required=False,
        help_text="Leave out to detect the format from the content.",
    )


class StudyCreated(serializers.ModelSerializer):
    class Meta:
        model = Study
        fields = ["uuid", *STUDY_FIELDS, "training", "created_at"]


class Duplicate(serializers.Serializer):
    record = serializers.IntegerField(help_text="The record's place in the file.")
    title = serializers.CharField()
    reason = serializers.CharField(help_text="Why it was skipped, in plain words.")


class ImportResult(serializers.Serializer):
    created = serializers.IntegerField()
    format = serializers.CharField()
    duplicates = Duplicate(many=True)


class ImportRefused(serializers.Serializer):
    detail = serializers.CharField()
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every problem of the file, each naming its record.",
    )


# --- assignments ----------------------------------------------------------------


class AssignmentInput(serializers.Serializer):
    study = serializers.UUIDField(help_text="The study's UUID.")
    version = serializers.CharField(help_text="An instrument version key: rqs-1.0.")
    reviewer = serializers.CharField(help_text="The reviewer's username.")
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed when the reviewer may already have seen other "
        "reviewers' answers on the study.",
    )


class AssignmentMade(serializers.Serializer):
    assessment = serializers.UUIDField()
    study = serializers.UUIDField()
    version = serializers.CharField()
    reviewer = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    not_independent = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())


# --- answers and submit -----------------------------------------------------------


class QuoteInput(serializers.Serializer):
    paper = serializers.CharField(required=False, allow_blank=True)
    page = serializers.IntegerField()
    exact = serializers.CharField(trim_whitespace=False)
    prefix = serializers.CharField(required=False, allow_blank=True)
    suffix = serializers.CharField(required=False, allow_blank=True)
    id = serializers.CharField(required=False, allow_blank=True)


def _text(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text=help_text,
    )


class AnswerInput(serializers.Serializer):
    choices = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        allow_empty=True,
        help_text="Option codes; [] is 'none of these' (multi-choice items), "
        "null leaves the item unanswered.",
    )
    evidence = _text("Where in the paper, or why.")
    page = _text("Page or section.")
    comment = _text("A note for the consensus.")
    revision = serializers.IntegerField(
        min_value=0,
        help_text="The answer's revision you last saw; 0 for an item not yet "
        "answered. A stale revision gets 409 with the newer answer.",
    )
    quotes = QuoteInput(
        many=True,
        required=False,
        allow_null=True,
        help_text="Quotes from the paper; leave out to keep the item's quotes.",
    )


class AnswerOutput(serializers.Serializer):
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)
    evidence = serializers.CharField()
    page = serializers.CharField()
    comment = serializers.CharField()
    quotes = serializers.ListField(child=serializers.DictField())
    revision = serializers.IntegerField()


class ScoreOutput(serializers.Serializer):
    total = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    band = serializers.CharField()
    complete = serializers.BooleanField()


class AnswerSaved(serializers.Serializer):
    saved = serializers.BooleanField()
    item = serializers.CharField()
    revision = serializers.IntegerField()
    status = serializers.CharField()
    answer = AnswerOutput()
    score = ScoreOutput()
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of items still to answer."
    )
    problems = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class StaleAnswer(serializers.Serializer):
    detail = serializers.CharField()
    current = AnswerOutput(help_text="The newer answer, kept; with its revision.")


class Submitted(serializers.Serializer):
    submitted = serializers.BooleanField()
    status = serializers.CharField()
    score = ScoreOutput()


class SubmitRefused(serializers.Serializer):
    detail = serializers.CharField()
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="What stops the submit, one a line."
    )
    items = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of the unanswered items."
    )


class Refused(serializers.Serializer):
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


# --- building the outputs -------------------------------------------------------


def answer_output(answer: Answer) -> dict[str, Any]:
    return {
        "choices": answer.choices,
        "evidence": answer.evidence,
        "page": answer.page,
        "comment": answer.comment,
        "quotes": answer.quotes or [],
        "revision": answer.revision,
    }


def _number(value: Decimal | None) -> float | None:
    # Four decimals, as the assessment row caches them.
    return None if value is None else float(round(value, 4))


def score_output(result: Result) -> dict[str, Any]:
    return {
        "total": _number(result.total),
        "maximum": _number(result.maximum),
        "percent": _number(result.percent),
        "band": result.band or "",
        "complete": result.complete,
    }


def refused(
    errors: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A body of field errors as {"detail", "fields"}: the detail names each
    field by its label, so a person reading it knows what to fix."""
    fields = {name: _messages(value) for name, value in errors.items()}
    names = {"non_field_errors": "The body", **(labels or {})}
    named = [
        f"{names.get(name, name)}: {' '.join(messages)}"
        for name, messages in fields.items()
    ]
    return {"detail": "; ".join(named), "fields": fields}


def _messages(value: Any) -> list[str]:
    """DRF nests errors of lists and nested bodies; flatten them to sentences."""
    if isinstance(value, Mapping):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [m for v in value for m in _messages(v)]
    return [str(value)]
