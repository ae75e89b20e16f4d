"""The XLSX export's columns: a header a reviewer reads, what it means, its
unit and codes (for the codebook), and how to read its value from a row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ...instruments import Condition, Item, cached_na_codes
from ...models import Assessment
from ...selectors.exports import ExportData
from .common import entry_labels, number, reviewer_name

NOT_APPLICABLE = "Not applicable"
NONE_CHOSEN = "None of the options"
BOOLEAN = "TRUE or FALSE"

Codes = tuple[tuple[str, str], ...]
AnswerRow = tuple[Assessment, dict[str, Any]]


@dataclass(frozen=True)
class Column:
    header: str
    meaning: str
    unit: str = ""  # empty: text
    csv: str = ""  # the same column's header in the CSV export, if it has one
    codes: Codes = ()  # (code as in CSV and JSON, label shown here)
    value: Callable[[Any], Any] = field(kw_only=True)


def local_datetime(value: datetime | None) -> datetime | None:
    """An Excel date cell: local time without a zone (Excel has no time zones)."""
    return None if value is None else timezone.localtime(value).replace(tzinfo=None)


def answer_meaning() -> str:
    # The cells keep the English "Not applicable": scripts compare them.
    return _(
        "The option chosen, by its label (several are separated by “; ”); "
        "“%(na)s” where the item does not apply; empty while unanswered."
    ) % {"na": NOT_APPLICABLE}


def when_unit() -> str:
    return _("date and time (%(zone)s)") % {
        "zone": timezone.get_current_timezone_name()
    }


def _choices(choices: Iterable[tuple[str, Any]]) -> Codes:
    """Codes with their labels as text, in the language of the export."""
    return tuple((code, str(label)) for code, label in choices)


def _who(a: Assessment) -> str:
    name = reviewer_name(a)
    return "Consensus" if a.is_consensus or a.reviewer is None else name


def on_assessment(column: Column) -> Column:
    """An assessment's column for rows that carry the assessment first (an
    answer's or a quote's row: (assessment, ...))."""

    def value(row: tuple[Any, ...]) -> Any:
        return column.value(row[0])

    return Column(
        column.header,
        column.meaning,
        column.unit,
        column.csv,
        column.codes,
        value=value,
    )


def head_columns(data: ExportData) -> list[Column]:
    """Columns naming the study and the assessment, shared by both tables."""
    return [
        Column(
            "Study ID",
            _("The study's identifier on this platform, the same in every export."),
            csv="study_uuid",
            value=lambda a: str(a.study.uuid),
        ),
        Column(
            "Study title",
            _("The study's title as entered in the project."),
            csv="title",
            value=lambda a: a.study.title,
        ),
        Column(
            "Reviewer",
            _("The reviewer's user name; “Consensus” for the agreed assessment."),
            csv="reviewer",
            value=_who,
        ),
        Column(
            "Role",
            _("One reviewer's assessment or the consensus of the reviewers."),
            csv="kind",
            codes=_choices(Assessment.Kind.choices),
            value=lambda a: a.get_kind_display(),
        ),
    ]


def study_columns(data: ExportData) -> list[Column]:
    """The study's details and where its assessment stands."""
    study_id, title, reviewer, role = head_columns(data)
    return [
        study_id,
        title,
        Column("DOI", _("The study's DOI."), csv="doi", value=lambda a: a.study.doi),
        Column(
            "PMID",
            _("The study's PubMed identifier."),
            csv="pmid",
            value=lambda a: a.study.pmid,
        ),
        Column(
            "Year",
            _("Year of publication."),
            "year",
            "year",
            value=lambda a: a.study.year,
        ),
        Column(
            "Modality",
            _("Imaging modality."),
            csv="modality",
            value=lambda a: a.study.modality,
        ),
        Column(
            "Disease",
            _("Disease studied."),
            csv="disease",
            value=lambda a: a.study.disease,
        ),
        reviewer,
        role,
        Column(
            "Status",
            _("Where the assessment stands."),
            csv="status",
            codes=_choices(Assessment.Status.choices),
            value=lambda a: a.get_status_display(),
        ),
        Column(
            "Submitted at",
            _("When the assessment was last submitted; empty until then."),
            when_unit(),
            "submitted_at",
            value=lambda a: local_datetime(a.submitted_at),
        ),
        Column(
            "Revised after unblinding",
            _(
                "TRUE when the reviewer changed answers after the reviewers' answers "
                "could be compared."
            ),
            BOOLEAN,
            "revised_after_unblinding",
            value=lambda a: a.revised_after_unblinding,
        ),
    ]


# --- a column per item (wide) ---------------------------------------------------------


def answer_columns(data: ExportData) -> list[Column]:
    """The answer, by its label, of every condition and item; points beside them."""
    na_codes: dict[int, set[str]] = {}

    def not_applicable(a: Assessment) -> set[str]:
        if a.pk not in na_codes:
            na_codes[a.pk] = set(cached_na_codes(a.result or {}))
        return na_codes[a.pk]

    columns = []
    entries: list[Condition | Item] = [
        *data.definition.conditions,
        *data.definition.items,
    ]
    for entry in entries:
        kind = "Condition" if isinstance(entry, Condition) else "Item"
        name = f"{kind} {entry.code}: {entry.label}"
        points = entry.code in data.by_points
        columns.append(
            Column(
                f"{name} — answer",
                answer_meaning(),
                csv="" if points else entry.code,
                codes=tuple((o.code, o.label) for o in entry.options),
                value=_answer_of(data, entry, not_applicable),
            )
        )
        if points:
            columns.append(
                Column(
                    f"{name} — points",
                    _(
                        "The points this answer scores; empty where the item does not "
                        "apply or is unanswered."
                    ),
                    "points",
                    entry.code,
                    value=_points_of(data, entry.code, not_applicable),
                )
            )
    return columns


def _answer_of(
    data: ExportData,
    entry: Condition | Item,
    not_applicable: Callable[[Assessment], set[str]],
) -> Callable[[Assessment], str | None]:
    labels = {o.code: o.label for o in entry.options}

    def value(a: Assessment) -> str | None:
        answer = data.answers[a.pk].get(entry.code)
        if entry.code in not_applicable(a) or (answer is not None and answer["na"]):
            return NOT_APPLICABLE
        if answer is None or answer["choices"] is None:
            return None
        return answer_text(labels, answer["choices"])

    return value


def _points_of(
    data: ExportData, code: str, not_applicable: Callable[[Assessment], set[str]]
) -> Callable[[Assessment], int | float | None]:
    def value(a: Assessment) -> int | float | None:
        answer = data.answers[a.pk].get(code)
        if answer is None or answer["na"] or code in not_applicable(a):
            return None
        return number(answer["points"])

    return value


def answer_text(labels: dict[str, str], choices: list[str]) -> str:
    return "; ".join(labels.get(c, c) for c in choices) or NONE_CHOSEN


# --- a row per answer (long) ----------------------------------------------------------


def long_columns(data: ExportData) -> list[Column]:
    """The answer's assessment, then the item, the answer and its evidence."""
    wording = entry_labels(data.definition)
    entries: list[Condition | Item] = [
        *data.definition.conditions,
        *data.definition.items,
    ]
    options = {e.code: {o.code: o.label for o in e.options} for e in entries}
    every_option = tuple(
        (f"item {code}: {option}", label)
        for code, labels in options.items()
        for option, label in labels.items()
    )

    def answer(pair: AnswerRow) -> str | None:
        row = pair[1]
        if row["na"]:
            return NOT_APPLICABLE
        if row["choices"] is None:
            return None
        return answer_text(options.get(row["item_code"], {}), row["choices"])

    return [
        *(on_assessment(c) for c in head_columns(data)),
        Column(
            "Item",
            _("The item's number (or code) in the instrument."),
            csv="item",
            value=lambda p: p[1]["item_code"],
        ),
        Column(
            "Item wording",
            _("The item as the instrument words it."),
            csv="item_label",
            value=lambda p: wording.get(p[1]["item_code"], ""),
        ),
        Column(
            "Answer", answer_meaning(), csv="choices", codes=every_option, value=answer
        ),
        Column(
            "Points",
            _("The points this answer scores, for instruments that score by points."),
            "points",
            "points",
            value=lambda p: number(p[1]["points"]),
        ),
        Column(
            "Not applicable",
            _("TRUE when the item was marked as not applicable."),
            BOOLEAN,
            "na",
            value=lambda p: bool(p[1]["na"]),
        ),
        Column(
            "Evidence",
            _("The reviewer's evidence: a quotation or where it is in the paper."),
            csv="evidence",
            value=lambda p: p[1]["evidence"],
        ),
        Column(
            "Page",
            _("The page of the evidence."),
            csv="page",
            value=lambda p: p[1]["page"],
        ),
        Column(
            "Comment",
            _("The reviewer's comment on the answer."),
            csv="comment",
            value=lambda p: p[1]["comment"],
        ),
        Column(
            "Last changed",
            _("When the answer was last saved."),
            when_unit(),
            "updated_at",
            value=lambda p: local_datetime(p[1]["updated_at"]),
        ),
    ]
