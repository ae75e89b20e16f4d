"""What the CSV, JSON and XLSX exports share: reading an assessment's cells."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...agreement.reporting import instrument_name, modified_from
from ...instruments import Condition, Definition, Item
from ...models import Assessment, Project
from ...selectors.exports import ExportData

Cell = str | int | float | bool | None


def number(value: Decimal | int | float | None) -> int | float | None:
    """Decimals as plain numbers: integral values as int (-3, not -3.0000)."""
    if value is None:
        return None
    as_decimal = Decimal(value)
    return (
        int(as_decimal)
        if as_decimal == as_decimal.to_integral_value()
        else float(as_decimal)
    )


def reviewer_name(assessment: Assessment) -> str:
    if assessment.is_consensus or assessment.reviewer is None:
        return "consensus"
    return assessment.reviewer.get_username()


def entry_labels(definition: Definition) -> dict[str, str]:
    entries: list[Condition | Item] = [*definition.conditions, *definition.items]
    return {entry.code: entry.label for entry in entries}


def judgement_keys(definition: Definition) -> list[str]:
    aspects = dict.fromkeys(i.judgement for i in definition.items if i.judgement)
    return [f"overall_{aspect}" for aspect in aspects]


def shown_percent(assessment: Assessment) -> Decimal | None:
    # The percentage as the pages show it: one decimal, the project's convention.
    shown = (assessment.result or {}).get("percent_display")
    return Decimal(shown) if shown is not None else assessment.percent


def instrument_meta(data: ExportData) -> dict[str, Any]:
    version, definition = data.version, data.definition
    return {
        "key": version.key,
        "code": version.instrument.code,
        "name": version.name,
        "short_name": version.short_name,
        "version": version.version,
        "revision": version.revision,
        "status": version.status,
        "kind": version.kind,
        "citation": version.citation,
        "doi": version.doi,
        "licence": version.licence,
        "scoring_hash": version.scoring_hash or definition.scoring_fingerprint(),
        "modified_from": modified_from(version, definition),
        "wording": wording_meta(data),
    }


def wording_meta(data: ExportData) -> dict[str, Any]:
    """The language of the labels, and who translated them when not English."""
    words = data.wording.translation if data.wording else None
    if words is None:
        return {"language": "en"}
    return {
        "language": words.language,
        "translation_revision": words.revision,
        "translator": words.translator,
        "date": words.date.isoformat(),
        "validated": words.validated,
    }


def instrument_title(data: ExportData) -> str:
    """The instrument's name for a reader, marked when it is a modified copy."""
    version = data.version
    return instrument_name(
        version.short_name or version.name, modified_from(version, data.definition)
    )


def project_meta(project: Project) -> dict[str, Any]:
    return {
        "slug": project.slug,
        "name": project.name,
        "percent_convention": project.percent_convention,
        "blinding": project.blinding,
        "reviewers_per_study": project.reviewers_per_study,
    }


def ordered_answers(
    data: ExportData, answers: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Answers in the instrument's order; codes it no longer has at the end."""
    order = data.order
    return sorted(
        answers.values(),
        key=lambda r: (order.get(r["item_code"], len(order)), r["item_code"]),
    )
