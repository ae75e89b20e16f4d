"""RevMan Web risk-of-bias CSV of a judgement instrument's final results.

RevMan Web imports risk-of-bias judgements and the support for each
judgement from a CSV, one row per study for a study-level tool (its RoB 1
template; RoB 2 is one row per result). Its templates are downloads without
a published column specification, and none is offered for QUADAS-2, so this
file follows their layout: the study as RevMan names it ("Smith 2020"), then
for each domain a judgement column and a "support for judgement" column,
headed by the domain's name. The judgement words are RevMan's ("Low risk",
"High risk", "Unclear risk"; "... concern" for applicability). The support
is the consensus's rationale for the domain, the adjudicator's comment and
evidence, and every quote (with its page) taken from the paper for the
domain's questions, on one line.

Final results only, as the robvis file: see robvis.final_assessments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...instruments import Definition, Item
from ...instruments.judgement import aspect_label
from ...models import Assessment
from ...selectors.exports import ExportData
from .robvis import (
    ASPECTS,
    csv_bytes,
    domain_items,
    final_assessments,
    study_labels,
)

WORDS = {
    "risk_of_bias": {"low": "Low risk", "high": "High risk", "unclear": "Unclear risk"},
    "applicability": {
        "low": "Low concern",
        "high": "High concern",
        "unclear": "Unclear concern",
    },
}
# (consensus pk, item code) -> the rationale given when the item was settled.
Rationales = Mapping[tuple[int, str], str]


def revman_table(
    data: ExportData, rationales: Rationales
) -> tuple[list[str], list[list[str]]]:
    items = [i for aspect in ASPECTS for i in domain_items(data.definition, aspect)]
    sections = {s.code: s.label for s in data.definition.sections}
    headers = ["Study"]
    for item in items:
        aspect = _aspect_name(data.definition, item)
        name = f"{aspect}: {sections.get(item.section, item.section)}"
        headers += [f"{name} - Judgement", f"{name} - Support for judgement"]
    final = final_assessments(data)
    labels = study_labels(final)
    rows = []
    for a in final:
        given = (a.result or {}).get("judgements", {})
        row = [labels[a.pk]]
        for item in items:
            row.append(WORDS[item.judgement or ""].get(given.get(item.code) or "", ""))
            row.append(support(data, a, item, rationales))
        rows.append(row)
    return headers, rows


def _aspect_name(definition: Definition, item: Item) -> str:
    """Risk of bias / Applicability, or the instrument's own names for them."""
    return aspect_label(definition, item.judgement or "risk_of_bias")


def support(data: ExportData, a: Assessment, item: Item, rationales: Rationales) -> str:
    """Rationale, comment, evidence and the domain's quotes, as one line."""
    answers = data.answers[a.pk]
    own: dict[str, Any] = answers.get(item.code) or {}
    parts = [
        _part("Rationale", rationales.get((a.pk, item.code), "")),
        _part("Comment", own.get("comment") or ""),
        _part("Evidence", own.get("evidence") or ""),
    ]
    section = [i.code for i in data.definition.items if i.section == item.section]
    for code in section:
        for quote in (answers.get(code) or {}).get("quotes") or []:
            if isinstance(quote, dict) and str(quote.get("exact") or "").strip():
                parts.append(_quote(quote))
    return " ".join(p for p in parts if p)


def _part(name: str, text: str) -> str:
    text = " ".join(text.split())
    return f"{name}: {text}" if text else ""


def _quote(quote: dict[str, Any]) -> str:
    exact = " ".join(str(quote["exact"]).split())
    page = quote.get("page")
    return f"Quote (p. {page}): “{exact}”" if page else f"Quote: “{exact}”"


def revman_csv(data: ExportData, rationales: Rationales) -> tuple[bytes, int]:
    headers, rows = revman_table(data, rationales)
    return csv_bytes(headers, rows), len(rows)
