"""Scoring a CSV of answers, one study per row: the pure core of `score`.

Errors and warnings are Phrases: English as text (the command line prints
them), translatable where a page shows them (words.in_words).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations

from ..words import Phrase
from ..words import say as _
from .answers import entry_choice_problems
from .definition import NA, Condition, Definition, Item
from .engine import score
from .judgement import optional_items
from .reported import OUTPUT as REPORTED_OUTPUT
from .reported import REPORTED, check
from .result import Result, clauses_hold, item_applies

COLUMNS = ("id", "total", "max", "percent", "band")
# Judgement instruments (QUADAS-2): the band is the overall risk of bias, and
# the overall applicability follows it.
JUDGEMENT_COLUMNS = ("applicability",)
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")

Entry = Item | Condition
Answers = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class SpreadsheetResult:
    """Scored rows, or no rows at all when any error was found."""

    rows: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # "row ID: reported X, computed Y" for each reported figure that differs.
    # Every message is a Phrase (see the module's docstring).
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def template_header(definition: Definition) -> list[str]:
    """`id`, the condition codes, then the item codes in publication order."""
    return [
        "id",
        *(c.code for c in definition.conditions),
        *(i.code for i in definition.items),
    ]


def plain(value: Decimal) -> str:
    """14 rather than 14.00 or 1.4E+1."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _has_points(entry: Entry) -> bool:
    return any(o.points is not None for o in entry.options)


def _is_yes_no(entry: Entry) -> bool:
    return {"yes", "no"} <= set(entry.option_codes) and not _has_points(entry)


def _valid_sets(entry: Entry) -> Iterator[tuple[str, ...]]:
    """Option sets in preference order: earliest options first, as index tuples sort."""
    if not entry.is_multi:
        yield from ((code,) for code in entry.option_codes)
        return
    codes = entry.option_codes
    subsets = [
        c for n in range(len(codes) + 1) for c in combinations(range(len(codes)), n)
    ]
    for subset in sorted(subsets):
        chosen = tuple(codes[i] for i in subset)
        if not entry_choice_problems(entry, chosen):
            yield chosen


def _points_of(entry: Entry, chosen: tuple[str, ...]) -> Decimal:
    options = (entry.option(code) for code in chosen)
    return sum((o.points or Decimal(0) for o in options if o), Decimal(0))


def allowed_values(entry: Entry) -> list[str]:
    """What a cell may hold, e.g. `-3, 3, none, either` for RQS item 5."""
    values: list[str] = []
    if _has_points(entry):
        sums = [_points_of(entry, s) for s in _valid_sets(entry)]
        ordered = sorted(set(sums)) if entry.is_multi else list(dict.fromkeys(sums))
        values += [plain(p) for p in ordered]
    values += list(entry.option_codes)
    if _is_yes_no(entry):
        values += ["1", "0"]
    return values


def _allowed_text(entry: Entry) -> str:
    values = ", ".join(allowed_values(entry))
    if entry.is_multi:
        return _("%(values)s (join codes with +)", values=values)
    return values


def _cell_name(entry: Entry) -> Phrase:
    """How an error names the cell's column: "item 5", "condition C1"."""
    if isinstance(entry, Item):
        return _("item %(code)s", code=entry.code)
    return _("condition %(code)s", code=entry.code)


def _choice_problem(entry: Entry, chosen: tuple[str, ...]) -> str:
    """The main problem of codes read from a cell ("" if none), translatable.

    answers.py words its `detail` (code-based, as a cell needs) in English only.
    A cell reads as options (one for a single-choice entry), so its problems
    are repeats and options that need another: said again here as Phrases.
    """
    problems = entry_choice_problems(entry, chosen)
    if not problems:
        return ""
    said = [_("'%(option)s' chosen more than once", option=code) for code in chosen]
    for code in chosen:
        option = entry.option(code)
        said += [
            _(
                "'%(option)s' counts only together with '%(needed)s'",
                option=code,
                needed=n,
            )
            for n in (option.requires if option else ())
        ]
    detail = problems[0].detail
    return next((phrase for phrase in said if phrase == detail), detail)


def _spelling(part: str) -> str:
    """A cell's word in lower case; "n/a" is "na" (the official METRICS
    calculator's exports and CLEAR's checklist write it so)."""
    word = part.strip().lower()
    return NA if word == "n/a" else word


def parse_cell(entry: Entry, text: str) -> tuple[str, ...] | None:
    """Option codes for a non-empty cell (codes, points or 1/0), None if unreadable."""
    raw = text.strip()
    by_code = {code.lower(): code for code in entry.option_codes}
    parts = (
        [_spelling(p) for p in raw.split("+")] if entry.is_multi else [_spelling(raw)]
    )
    if all(p in by_code for p in parts):
        return tuple(by_code[p] for p in parts)
    if _has_points(entry) and _NUMBER.fullmatch(raw):
        wanted = Decimal(raw.replace(",", "."))
        return next(
            (s for s in _valid_sets(entry) if _points_of(entry, s) == wanted), None
        )
    if _is_yes_no(entry) and raw in ("1", "0"):
        return ("yes",) if raw == "1" else ("no",)
    return None


@dataclass
class _Row:
    answers: Answers = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    values: dict[str, str | None] = field(default_factory=dict)

    def read(self, entry: Entry, text: str) -> tuple[str, ...] | None:
        """Codes for an entry that applies; records an error and returns None if bad."""
        name = _cell_name(entry)
        if not text.strip():
            self.errors.append(
                _(
                    "%(name)s: empty; allowed: %(allowed)s",
                    name=name,
                    allowed=_allowed_text(entry),
                )
            )
            return None
        parsed = parse_cell(entry, text)
        if parsed is None:
            self.errors.append(
                _(
                    "%(name)s: '%(value)s' not allowed; allowed: %(allowed)s",
                    name=name,
                    value=text.strip(),
                    allowed=_allowed_text(entry),
                )
            )
            return None
        problem = _choice_problem(entry, parsed)
        if problem:
            self.errors.append(_("%(name)s: %(problem)s", name=name, problem=problem))
            return None
        return parsed

    def ignore(self, entry: Entry, text: str, quiet: Sequence[str]) -> None:
        """A value where the entry does not apply: harmless unless it says something."""
        raw = text.strip()
        if not raw or _spelling(raw) == NA:
            return
        name = _cell_name(entry)
        parsed = parse_cell(entry, raw)
        if parsed is None:
            self.errors.append(
                _(
                    "%(name)s: '%(value)s' not allowed; allowed: empty or na",
                    name=name,
                    value=raw,
                )
            )
        elif parsed not in [(q,) for q in quiet]:
            self.warnings.append(
                _(
                    "%(name)s: '%(value)s' ignored because it does not apply",
                    name=name,
                    value=raw,
                )
            )


def _read_condition(row: _Row, cond: Condition, text: str) -> None:
    applies = clauses_hold(cond.applies_when, row.values)
    if applies is not True:
        row.values[cond.code] = NA if applies is False else None
        if applies is False:
            # The reference reads a condition that does not apply as "no".
            row.ignore(cond, text, quiet=("no",))
        return
    parsed = row.read(cond, text)
    row.values[cond.code] = parsed[0] if parsed else None
    if parsed:
        row.answers[cond.code] = parsed


def parse_row_answers(
    definition: Definition, cells: Mapping[str, str]
) -> tuple[Answers, list[str], list[str]]:
    """Answers from one row of cells keyed by code, plus (errors, warnings)."""
    row = _Row()
    for cond in definition.conditions:
        _read_condition(row, cond, cells.get(cond.code, ""))
    optional = optional_items(definition)
    for item in definition.items:
        text = cells.get(item.code, "")
        applies = item_applies(definition, item, row.values)
        if applies is False:
            row.ignore(item, text, quiet=())
        elif item.code in optional and not text.strip():
            continue  # an overall judgement left to the domains (PROBAST+AI)
        elif applies is True:
            parsed = row.read(item, text)
            if parsed is not None:
                row.answers[item.code] = parsed
    return row.answers, row.errors, row.warnings


# --- whole files -----------------------------------------------------------------


def _delimiter(text: str) -> str:
    # The header holds only codes, so it cannot contain decimal commas.
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header_errors(definition: Definition, header: Sequence[str]) -> list[str]:
    expected = template_header(definition)
    names = [h.strip() for h in header]
    errors: list[str] = (
        []
        if names[:1] and names[0].lower() == "id"
        else [_("the first column must be id")]
    )
    seen: set[str] = set()
    for name in names[1:]:
        if name in seen:
            errors.append(_("duplicate column '%(name)s'", name=name))
        elif name and name not in expected and name not in REPORTED:
            errors.append(_("unknown column '%(name)s'", name=name))
        seen.add(name)
    missing = [code for code in expected[1:] if code not in seen]
    if missing:
        # The score table page's tests read this English; translations may
        # say "columns" for any number.
        errors.append(_("missing column(s): %(codes)s", codes=", ".join(missing)))
    return errors


def _records(
    header: Sequence[str], reader: Iterator[list[str]]
) -> Iterator[tuple[int, dict[str, str], bool]]:
    """(row number, cells by column, extra non-empty cells?) for each non-blank row."""
    names = [h.strip() for h in header]
    # Row numbers as a spreadsheet shows them: the header is row 1.
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        extra = any(c.strip() for c in cells[len(names) :])
        padded = cells + [""] * (len(names) - len(cells))
        yield number, {n: padded[i] for i, n in enumerate(names) if n}, extra


def score_csv(definition: Definition, text: str) -> SpreadsheetResult:
    """Score every row; any error anywhere means no rows are returned."""
    try:
        return _score_csv(definition, text)
    except csv.Error as exc:
        # Bare CR line endings, runaway quotes, cells beyond the csv module's limit.
        return SpreadsheetResult(
            errors=[_("the file is not readable CSV: %(problem)s", problem=str(exc))]
        )


@dataclass
class TableRow:
    """One data row: its output row when it scores, else the reasons it cannot.

    Messages are whole ("row A, item 5: ..."), ready to print; Phrases, to
    translate where shown.
    """

    row_id: str
    line: int
    row: dict[str, str] | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def read_table(definition: Definition, text: str) -> tuple[list[str], list[TableRow]]:
    """(problems with the file as a whole, every data row scored on its own).

    `score_csv` refuses a file with any problem; the score table audit page
    lists each row's. Raises csv.Error for text that is not CSV.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    header = next(reader, None)
    if not header:
        return [_("the file is empty")], []
    errors = _header_errors(definition, header)
    if errors:
        return errors, []
    reports = any(h.strip() in REPORTED for h in header)
    rows: list[TableRow] = []
    first_line: dict[str, int] = {}
    for number, cells, extra in _records(header, reader):
        row_id = cells.get(header[0].strip(), "").strip()
        problem = _id_problem(row_id, number, first_line, extra)
        if problem:
            rows.append(TableRow(row_id, number, errors=[problem]))
            continue
        first_line[row_id] = number
        answers, row_errors, row_warnings = parse_row_answers(definition, cells)
        out = TableRow(
            row_id,
            number,
            errors=[
                _("row %(row)s, %(problem)s", row=row_id, problem=e) for e in row_errors
            ],
            warnings=[
                _("row %(row)s, %(problem)s", row=row_id, problem=w)
                for w in row_warnings
            ],
        )
        rows.append(out)
        if row_errors:
            continue
        result = score(definition, answers)
        out.row = format_row(definition, row_id, result)
        if reports:
            checked = check(definition, result, out.row["total"], cells)
            out.errors += [
                _("row %(row)s, %(problem)s", row=row_id, problem=e)
                for e in checked.errors
            ]
            out.differences += [
                _("row %(row)s: %(difference)s", row=row_id, difference=d)
                for d in checked.differences
            ]
            out.row.update(checked.cells)
    if not rows:
        return [_("the file has no data rows")], []
    return [], rows


def _score_csv(definition: Definition, text: str) -> SpreadsheetResult:
    errors, table = read_table(definition, text)
    warnings = [w for r in table for w in r.warnings]
    errors += [e for r in table for e in r.errors]
    if errors:
        return SpreadsheetResult(warnings=warnings, errors=errors)
    return SpreadsheetResult(
        rows=[r.row for r in table if r.row is not None],
        warnings=warnings,
        differences=[d for r in table for d in r.differences],
    )


def _id_problem(
    row_id: str, number: int, first_line: Mapping[str, int], extra: bool
) -> str:
    if not row_id:
        return _("line %(line)s: empty id", line=number)
    if row_id in first_line:
        return _(
            "row %(row)s: duplicate id (lines %(first)s and %(line)s)",
            row=row_id,
            first=first_line[row_id],
            line=number,
        )
    if extra:
        return _(
            "row %(row)s: more cells than columns (line %(line)s)",
            row=row_id,
            line=number,
        )
    return ""


def format_row(definition: Definition, row_id: str, result: Result) -> dict[str, str]:
    """`id,total,max,percent,band` as text; judgement rows carry the band (the
    overall risk of bias) and the overall applicability."""

    def text(value: Decimal | None) -> str:
        return "" if value is None else plain(value)

    percent = result.percent_display
    total = percent if definition.kind == "weighted" else result.total
    row = {
        "id": row_id,
        "total": text(total),
        "max": text(result.maximum),
        "percent": "" if percent is None else f"{percent:.1f}",
        "band": result.band or "",
    }
    if definition.kind == "judgement":
        row["applicability"] = result.judgements.get("overall_applicability") or ""
    return row


def rows_to_csv(rows: Sequence[Mapping[str, str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    extra = [c for c in (*JUDGEMENT_COLUMNS, *REPORTED_OUTPUT) if rows and c in rows[0]]
    writer = csv.DictWriter(
        out, fieldnames=[*COLUMNS, *extra], delimiter=delimiter, lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _applies_note(definition: Definition, entry: Entry) -> str:
    clauses = [f"{c.condition} = {'/'.join(c.values)}" for c in entry.applies_when]
    scope = definition.scope
    if scope and isinstance(entry, Item) and entry.stage is not None:
        clauses.append(f"{scope.stage_condition} >= {entry.stage}")
        if entry.tracks and set(entry.tracks) != set(_tracks(definition)):
            tracks = "/".join([*entry.tracks, scope.all_tracks])
            clauses.append(f"{scope.track_condition} = {tracks}")
    return f" (only when {' and '.join(clauses)})" if clauses else ""


def _tracks(definition: Definition) -> tuple[str, ...]:
    scope = definition.scope
    if scope is None:
        return ()
    codes = definition.condition(scope.track_condition).option_codes
    return tuple(c for c in codes if c != scope.all_tracks)


def accepted_codes(definition: Definition) -> list[str]:
    """One line per column: its code, accepted values, our label, when it applies."""
    entries: list[Entry] = [*definition.conditions, *definition.items]
    return [
        f"{e.code}: {_allowed_text(e)} - {e.label}{_applies_note(definition, e)}"
        for e in entries
    ]
