"""An instrument version as a REDCap data dictionary, so partner sites can mirror it.

REDCap builds a project's forms from an 18-column CSV, one row per field (the
header below is the one REDCap's "Download the current Data Dictionary" writes).
This module only turns a `Definition` into those rows and says how one answer
sheet becomes a row of REDCap's flat import CSV; reading the assessments and
writing the bytes is the renderers' work.

Choices: REDCap raw codes must be plain values, and a checkbox's code becomes
part of a column name (`rqs_1___2`), so every option gets a number 1, 2, 3...
in the definition's order; the Field Annotation keeps the mapping back to our
option codes (and points), so no codebook is needed beside the file.

What is and is not expressed:
- conditions are radio fields; an item's `applies_when` clauses and a
  readiness-level scope become branching logic (`[metrics_c1] = '1'`);
- a points instrument's total is a calc field (a sum of `if()` and checkbox
  terms); a weighted instrument's percentage is a calc field over the same
  branching, rounded to one decimal (REDCap's `round`, which may differ from
  the project's convention at exact halves). With bands (METRICS) the exact
  percentage is a calc field of its own and the shown one follows the
  platform's rule: cut (`rounddown`) rather than rounded where rounding would
  cross into the next band (59.95 shows 59.9, "moderate"). The platform's own
  total and percentage come with the data in text fields either way;
- not expressed: options that require other options (REDCap has no such
  rule for checkboxes), the maximum and percentage of a points instrument
  whose scope changes the maximum, and overall judgements (the platform's are
  given in text fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .definition import Clause, Condition, Definition, Item, Option
from .vocabulary import NA

HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
# REDCap's documented limit; it recommends 26 characters at most.
MAX_NAME = 100
# What REDCap's `<form>_complete` field holds: 0 Incomplete, 2 Complete.
INCOMPLETE, COMPLETE = "0", "2"


@dataclass(frozen=True)
class Field:
    """One row of the dictionary; `entry` is our item or condition code, if any."""

    name: str
    form: str
    type: str
    label: str
    section: str = ""
    choices: str = ""
    note: str = ""
    validation: str = ""
    branching: str = ""
    annotation: str = ""
    entry: str = ""
    codes: Mapping[str, str] = field(default_factory=dict)

    def row(self) -> list[str]:
        cells = dict.fromkeys(HEADER, "")
        cells.update(
            {
                HEADER[0]: self.name,
                HEADER[1]: self.form,
                HEADER[2]: self.section,
                HEADER[3]: self.type,
                HEADER[4]: self.label,
                HEADER[5]: self.choices,
                HEADER[6]: self.note,
                HEADER[7]: self.validation,
                HEADER[11]: self.branching,
                HEADER[17]: self.annotation,
            }
        )
        return list(cells.values())

    def columns(self) -> list[str]:
        """The field's columns in REDCap's import CSV (a checkbox: one per code)."""
        if self.type == "checkbox":
            return [f"{self.name}___{raw}" for raw in self.codes.values()]
        return [] if self.type == "calc" else [self.name]


@dataclass(frozen=True)
class Dictionary:
    form: str
    fields: tuple[Field, ...]

    def rows(self) -> list[list[str]]:
        return [f.row() for f in self.fields]

    def columns(self) -> list[str]:
        """The import CSV's header: every field but calc ones, then `<form>_complete`.

        Calc fields are left out: REDCap computes them itself.
        """
        names = [c for f in self.fields for c in f.columns()]
        return [*names, f"{self.form}_complete"]

    def by_entry(self) -> dict[str, Field]:
        return {f.entry: f for f in self.fields if f.entry}


def redcap_name(text: str) -> str:
    """Lower-case letters, digits and underscores, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = "v_" + name
    return name[:MAX_NAME].rstrip("_")


def data_dictionary(definition: Definition, platform: Sequence[str] = ()) -> Dictionary:
    """The dictionary of one instrument version, in one REDCap form.

    `platform` names extra text fields for results the platform computed
    (for example `overall_bias`), filled by the data export.
    """
    form = redcap_name(f"{definition.code}_{definition.version}")
    prefix = redcap_name(definition.code)
    names = _Names()
    fields = [*_record_fields(form, names)]
    # REDCap shows a Section Header above the field that carries it.
    headers = {c.code: "Conditions" for c in definition.conditions[:1]}
    for section in definition.sections:
        headers.update({i.code: section.label for i in section.items[:1]})
    everything: list[Item | Condition] = [*definition.conditions, *definition.items]
    entries = {
        e.code: _entry_field(form, prefix, names, e, headers.get(e.code, ""))
        for e in everything
    }
    # Branching needs every field's name and codes, hence a second pass.
    entries = {
        code: _replace(f, branching=_logic(definition, definition.entry(code), entries))
        for code, f in entries.items()
    }
    fields += entries.values()
    fields += _total_fields(definition, form, prefix, names, entries)
    fields += [
        Field(names.take(redcap_name(f"platform_{p}")), form, "text", _words(p))
        for p in platform
    ]
    return Dictionary(form, tuple(fields))


def record_values(
    dictionary: Dictionary,
    answers: Mapping[str, tuple[str, ...] | None],
    *,
    na: Iterable[str] = (),
    record: Mapping[str, str] | None = None,
    complete: bool = False,
) -> dict[str, str]:
    """One assessment as a row of the import CSV, keyed by column.

    `answers`: our chosen option codes per item/condition (None: unanswered);
    `na`: codes that do not apply (left empty, as REDCap hides them);
    `record`: values of the record and platform fields by field name.
    """
    skipped = set(na)
    row = dict.fromkeys(dictionary.columns(), "")
    row.update({k: v for k, v in (record or {}).items() if k in row})
    for entry, fld in dictionary.by_entry().items():
        chosen = answers.get(entry)
        if fld.type == "checkbox":
            picked = set(chosen or ()) if entry not in skipped else set()
            for ours, raw in fld.codes.items():
                row[f"{fld.name}___{raw}"] = "1" if ours in picked else "0"
        elif chosen and entry not in skipped:
            row[fld.name] = fld.codes.get(chosen[0], "")
    row[f"{dictionary.form}_complete"] = COMPLETE if complete else INCOMPLETE
    return row


# --- fields ---------------------------------------------------------------------------


class _Names:
    """Field names handed out once each: a clash gets a numbered suffix."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.used:
            n += 1
            candidate = f"{name[: MAX_NAME - 4]}_{n}"
        self.used.add(candidate)
        return candidate


def _record_fields(form: str, names: _Names) -> list[Field]:
    wanted = [
        ("record_id", "Record ID", "One assessment: the platform's assessment id"),
        ("study_id", "Study ID", "The platform's study id (several rows per study)"),
        ("study_title", "Study title", ""),
        ("study_doi", "Study DOI", ""),
        ("reviewer", "Reviewer code", "R1, R2, ... per project, or consensus"),
    ]
    return [
        Field(names.take(n), form, "text", label, note=note, section=section)
        for (n, label, note), section in zip(
            wanted, ["Study and reviewer", "", "", "", ""], strict=True
        )
    ]


def _entry_field(
    form: str, prefix: str, names: _Names, entry: Item | Condition, section: str
) -> Field:
    codes = {o.code: str(n) for n, o in enumerate(entry.options, start=1)}
    choices = " | ".join(f"{codes[o.code]}, {_text(o.label)}" for o in entry.options)
    kind = "Condition" if isinstance(entry, Condition) else "Item"
    return Field(
        name=names.take(redcap_name(f"{prefix}_{entry.code}")),
        form=form,
        type="checkbox" if entry.is_multi else "radio",
        label=_text(f"{entry.code}. {entry.label}"),
        section=section,
        choices=choices,
        note=_text(entry.help),
        annotation=_annotation(kind, entry.code, entry.options, codes),
        entry=entry.code,
        codes=codes,
    )


def _annotation(
    kind: str, code: str, options: Sequence[Option], codes: Mapping[str, str]
) -> str:
    # Plain words only: a leading "@" would be read as an action tag.
    mapping = ", ".join(f"{codes[o.code]} = {o.code}" for o in options)
    text = f"Platform {kind.lower()} {code}. Codes: {mapping}."
    points = [o for o in options if o.points is not None]
    if points:
        text += " Points: " + ", ".join(
            f"{codes[o.code]} = {_num(o.points)}"
            for o in points
            if o.points is not None
        )
        text += "."
    return text


def _total_fields(
    definition: Definition,
    form: str,
    prefix: str,
    names: _Names,
    entries: Mapping[str, Field],
) -> list[Field]:
    calc = _calculation(definition, entries)
    fields = []
    if calc and definition.kind == "weighted" and not definition.bands:
        calc = f"round({calc}, 1)"
    elif calc and definition.kind == "weighted":
        exact = Field(
            names.take(f"{prefix}_exact"),
            form,
            "calc",
            "Score (%) before rounding, calculated by REDCap",
            section="Totals",
            choices=calc,
        )
        fields.append(exact)
        calc = _shown(definition, f"[{exact.name}]")
    if calc:
        label = "Total points" if definition.kind == "points" else "Score (%)"
        fields.append(
            Field(
                names.take(f"{prefix}_total"),
                form,
                "calc",
                f"{label}, calculated by REDCap",
                section="" if fields else "Totals",
                choices=calc,
            )
        )
    if definition.kind in ("points", "weighted"):
        fields += [
            Field(
                names.take(name),
                form,
                "text",
                label,
                section="" if fields else "Totals",
                validation="number",
            )
            for name, label in (
                ("platform_total", "Total, as the platform scored it"),
                ("platform_percent", "Percentage, as the platform shows it"),
            )
        ]
    return fields


def _replace(fld: Field, **changes: str) -> Field:
    values = {**fld.__dict__, **changes}
    return Field(**values)


# --- branching and calculations -------------------------------------------------------


def _logic(
    definition: Definition,
    entry: Item | Condition | None,
    entries: Mapping[str, Field],
) -> str:
    """When REDCap shows the field: every clause (and the scope) must hold."""
    if entry is None:
        return ""
    parts = [_clause(c, definition, entries) for c in entry.applies_when]
    if isinstance(entry, Item) and definition.scope is not None:
        parts += _scope(definition, entry, entries)
    parts = [p for p in parts if p]
    return " and ".join(parts)


def _clause(
    clause: Clause, definition: Definition, entries: Mapping[str, Field]
) -> str:
    fld = entries.get(clause.condition)
    if fld is None:
        return ""
    # A condition that does not apply is hidden, so its value is empty.
    tests = [
        f"[{fld.name}] = ''" if v == NA else f"[{fld.name}] = '{fld.codes[v]}'"
        for v in clause.values
        if v == NA or v in fld.codes
    ]
    return _any(tests)


def _scope(
    definition: Definition, item: Item, entries: Mapping[str, Field]
) -> list[str]:
    scope = definition.scope
    stage, track = (
        (entries.get(scope.stage_condition), entries.get(scope.track_condition))
        if scope
        else (None, None)
    )
    if scope is None or stage is None or track is None:
        return []
    reached = [
        f"[{stage.name}] = '{raw}'"
        for ours, raw in stage.codes.items()
        if ours.isdigit() and item.stage is not None and item.stage <= int(ours)
    ]
    tracks = [
        f"[{track.name}] = '{raw}'"
        for ours, raw in track.codes.items()
        if ours == scope.all_tracks or ours in item.tracks
    ]
    return [_answered(stage, reached), _answered(track, tracks)]


def _answered(fld: Field, tests: list[str]) -> str:
    # Every answer shows the item: only an unanswered stage or track hides it.
    if len(tests) == len(fld.codes):
        return f"[{fld.name}] <> ''"
    return _any(tests) or "1 = 0"


def _any(tests: list[str]) -> str:
    if len(tests) == 1:
        return tests[0]
    return f"({' or '.join(tests)})" if tests else ""


def _calculation(definition: Definition, entries: Mapping[str, Field]) -> str:
    if definition.kind == "points":
        terms = [_points_term(i, entries[i.code]) for i in definition.items]
        return " + ".join(t for t in terms if t) or "0"
    if definition.kind == "weighted":
        return _weighted(definition, entries)
    return ""


def _points_term(item: Item, fld: Field) -> str:
    """The item's points: hidden or unanswered fields count 0."""
    scored = [o for o in item.options if o.points]
    if item.is_multi:
        return " + ".join(
            _times(f"[{fld.name}({fld.codes[o.code]})]", o.points)
            for o in scored
            if o.points is not None
        )
    expression = "0"
    for o in reversed(scored):
        expression = (
            f"if([{fld.name}] = '{fld.codes[o.code]}', {_num(o.points)}, {expression})"
        )
    return "" if expression == "0" else expression


def _weighted(definition: Definition, entries: Mapping[str, Field]) -> str:
    """100 x weight answered Yes / weight of the items shown."""
    earned, fixed, gated = [], Decimal(0), []
    for item in definition.items:
        fld, weight = entries[item.code], item.weight or Decimal(0)
        yes = fld.codes.get("yes")
        if yes is None or not weight:
            continue
        earned.append(f"if([{fld.name}] = '{yes}', {_num(weight)}, 0)")
        shown = fld.branching or _logic(definition, item, entries)
        if shown:
            gated.append(f"if({shown}, {_num(weight)}, 0)")
        else:
            fixed += weight
    if not earned:
        return ""
    possible = " + ".join([_num(fixed), *gated]) if fixed else " + ".join(gated)
    return f"100 * ({' + '.join(earned)}) / ({possible})"


def _shown(definition: Definition, exact: str) -> str:
    """The percentage to one decimal as the platform shows it (result.shown_percent).

    Rounded, but cut where rounding would reach a band the exact score is
    below. `round(x, 6)` first clears floating-point noise (an exact 60 summed
    as 59.999999999), far below the smallest real step of METRICS scores.
    """
    expression = f"round({exact}, 1)"
    for band in reversed(definition.bands[1:]):
        edge = _num(band.min)
        crosses = f"round({exact}, 6) < {edge} and round({exact}, 1) >= {edge}"
        expression = f"if({crosses}, rounddown(round({exact}, 6), 1), {expression})"
    return expression


def _times(term: str, points: Decimal | None) -> str:
    return term if points == 1 else f"{term} * {_num(points)}"


def _num(value: Decimal | None) -> str:
    if value is None:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _text(text: str) -> str:
    """One line, without the pipe that separates REDCap choices."""
    return " ".join(text.replace("|", "/").split())


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize()
