"""robvis-ready CSVs of a judgement instrument's final results (QUADAS-2).

robvis (McGuinness & Higgins, R) reads a summary table by position: the
first column names the study, then one column per domain, the overall
judgement second to last and a numeric weight last. It keeps only the first
letter of each word of a judgement, so the words must be the template's own:
the QUADAS-2 template knows High, Some concerns, Low and No information (h,
s, l, n); "Unclear" would become "u", which that template has no colour for.
QUADAS-2's "unclear" risk of bias is therefore written "Some concerns", as
robvis's own QUADAS-2 figures label it.

Applicability has three domains, which the QUADAS-2 template (four) refuses,
so it is a second file for robvis's "Generic" template: its columns are
headed by the domain names (the Generic template prints them in the caption)
and it reads "Unclear" as it is.

Final results only, as on the dashboard: a study's submitted consensus that
is not stale. A study without one (one reviewer's assessment, or reviewers
still disagreeing) is left out rather than shown as if agreed.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence

from django.utils.translation import gettext as _

from ...instruments import Definition, Item, judgement
from ...models import Assessment
from ...selectors.exports import ExportData, ExportError

ASPECTS = ("risk_of_bias", "applicability")
WORDS = {
    "risk_of_bias": {"low": "Low", "high": "High", "unclear": "Some concerns"},
    "applicability": {"low": "Low", "high": "High", "unclear": "Unclear"},
}
NO_INFORMATION = "No information"
WEIGHT = 1
# Text a spreadsheet would run as a formula (OWASP), as the other exports.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
INITIALS = re.compile(r"[A-Z]{1,3}\.?")


def check_judgement(data: ExportData, form: str) -> None:
    if data.definition.kind != "judgement":
        name = data.version.short_name or data.version.name
        raise ExportError(
            _(
                "The %(form)s form is for instruments of domain judgements such as "
                "QUADAS-2; %(name)s is scored, not judged, so use the wide or long "
                "form."
            )
            % {"form": form, "name": name}
        )


def final_assessments(data: ExportData) -> list[Assessment]:
    """Each study's final result, in the order of their labels."""
    final = [
        a
        for a in data.assessments
        if a.is_consensus and a.status == Assessment.Status.SUBMITTED and not a.stale
    ]
    labels = study_labels(final)
    return sorted(final, key=lambda a: (labels[a.pk].casefold(), a.study_id))


def study_labels(assessments: Sequence[Assessment]) -> dict[int, str]:
    """First author and year ("Smith 2020"), else the title; a, b, ... on repeats.

    robvis draws one row per distinct label, so two studies sharing one would
    be drawn on top of each other.
    """
    base = {a.pk: _label(a) for a in assessments}
    repeated = Counter(base.values())
    seen: Counter[str] = Counter()
    labels = {}
    for a in sorted(assessments, key=lambda a: (a.study.title, a.study_id)):
        label = base[a.pk]
        if repeated[label] > 1:
            label += "abcdefghijklmnopqrstuvwxyz"[seen[label] % 26]
            seen[base[a.pk]] += 1
        labels[a.pk] = label
    return labels


def _label(a: Assessment) -> str:
    author = first_author(a.study.authors)
    if not author:
        return " ".join(a.study.title.split())
    return f"{author} {a.study.year}" if a.study.year else author


def first_author(authors: str) -> str:
    """The family name of the first of "; "-separated authors.

    "Smith, John" and "Smith JA" (PubMed) give "Smith"; a group name is kept.
    """
    first = " ".join(authors.split(";")[0].split())
    if "," in first:
        return first.split(",")[0].strip()
    words = first.split(" ")
    if len(words) > 1 and INITIALS.fullmatch(words[-1]):
        return " ".join(words[:-1])
    return first


def domain_items(definition: Definition, aspect: str) -> list[Item]:
    """The domains' judgement items (not an instrument's overall override item)."""
    return judgement.domain_items(definition, aspect)


def judgement_word(value: str | None, aspect: str) -> str:
    return WORDS[aspect].get(value or "", NO_INFORMATION)


def robvis_table(data: ExportData, aspect: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows for robvis: Study, domains, Overall, Weight."""
    items = domain_items(data.definition, aspect)
    if aspect == "risk_of_bias":
        heads = [i.section for i in items]
    else:
        sections = {s.code: s.label for s in data.definition.sections}
        heads = [sections.get(i.section, i.section) for i in items]
    final = final_assessments(data)
    labels = study_labels(final)
    rows = []
    for a in final:
        given = (a.result or {}).get("judgements", {})
        cells = [judgement_word(given.get(i.code), aspect) for i in items]
        overall = judgement_word(given.get(f"overall_{aspect}"), aspect)
        rows.append([labels[a.pk], *cells, overall, str(WEIGHT)])
    return ["Study", *heads, "Overall", "Weight"], rows


def inert(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(headers: list[str], rows: list[list[str]]) -> bytes:
    """Plain UTF-8 without a byte-order mark: R's read.csv would take the mark
    into the first column's name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([inert(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8")


def robvis_csv(data: ExportData, aspect: str) -> tuple[bytes, int]:
    """The robvis file of one aspect and its number of studies."""
    headers, rows = robvis_table(data, aspect)
    return csv_bytes(headers, rows), len(rows)
