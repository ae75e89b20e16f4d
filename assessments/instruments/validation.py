"""Checking a definition document: the JSON schema, then the semantic rules.

Works on plain documents (as `files` reads them), before anything is frozen;
every problem names the path or the item it concerns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ..words import say as _
from .prefill import prefill_problems
from .vocabulary import ITEM_TYPES, NA, STANDARD_OPTIONS, to_decimal

SCHEMA_PATH = Path(__file__).with_name("schema.json")


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_definition(doc: Mapping[str, Any]) -> list[str]:
    """Schema errors, then semantic problems; each names the path or item.

    Every problem is a `Phrase`: English as text, translatable where shown.
    """
    if not isinstance(doc, Mapping):
        return [_("(document): expected a mapping")]
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.path)))
    if errors:
        # The schema validator's own message (jsonschema's English) stays as it is.
        return [
            # Translators: a path in the definition file, then the schema's message.
            _(
                "%(where)s: %(message)s",
                where="/".join(map(str, e.path)) or _("(document)"),
                message=e.message,
            )
            for e in errors
        ]
    return [problem for check in _CHECKS for problem in check(doc)]


Entry = Mapping[str, Any]


def _conditions(doc: Entry) -> Iterator[tuple[str, Entry]]:
    for ci, cond in enumerate(doc.get("conditions", [])):
        where = _(
            "condition %(code)s (%(path)s)", code=cond["code"], path=f"conditions/{ci}"
        )
        yield where, cond


def _items(doc: Entry) -> Iterator[tuple[str, Entry]]:
    for si, section in enumerate(doc["sections"]):
        for ii, item in enumerate(section["items"]):
            path = f"sections/{si}/items/{ii}"
            yield _("item %(code)s (%(path)s)", code=item["code"], path=path), item


def _answerables(doc: Entry) -> Iterator[tuple[str, Entry]]:
    yield from _conditions(doc)
    yield from _items(doc)


def _duplicates(codes: Sequence[str]) -> list[str]:
    """The codes used more than once, each once, in order of first repeat."""
    seen: set[str] = set()
    dupes: list[str] = []
    for code in codes:
        if code in seen and code not in dupes:
            dupes.append(code)
        seen.add(code)
    return dupes


def _check_codes(doc: Entry) -> list[str]:
    problems: list[str] = [
        _("sections: section code '%(code)s' is used more than once", code=c)
        for c in _duplicates([s["code"] for s in doc["sections"]])
    ]
    owner: dict[str, str] = {}
    for where, entry in _answerables(doc):
        if entry["code"] in owner:
            problems.append(
                _(
                    "%(where)s: code already used by %(owner)s",
                    where=where,
                    owner=owner[entry["code"]],
                )
            )
        owner.setdefault(entry["code"], where)
        codes = [o["code"] for o in entry.get("options", [])]
        problems += [
            _(
                "%(where)s: option code '%(code)s' is used more than once",
                where=where,
                code=c,
            )
            for c in _duplicates(codes)
        ]
    return problems


def _check_options(doc: Entry) -> list[str]:
    problems: list[str] = []
    for where, entry in _answerables(doc):
        kind = entry.get("type", "single")
        codes = [o["code"] for o in entry.get("options", [])]
        standard = STANDARD_OPTIONS.get(kind)
        wanted = [c for c, _label in standard or ()]
        if standard and codes and sorted(codes) != sorted(wanted):
            problems.append(
                _(
                    "%(where)s: %(kind)s options must be exactly %(expected)s",
                    where=where,
                    kind=kind,
                    expected=", ".join(wanted),
                )
            )
        if not standard and kind == "multi" and not codes:
            problems.append(_("%(where)s: needs at least 1 option", where=where))
        elif not standard and kind != "multi" and len(codes) < 2:
            problems.append(_("%(where)s: needs at least 2 options", where=where))
        problems += _requires_problems(where, kind, entry.get("options", []), codes)
    return problems


def _requires_problems(
    where: str, kind: str, options: Sequence[Entry], codes: Sequence[str]
) -> list[str]:
    problems: list[str] = []
    for option in options:
        for needed in option.get("requires", []):
            if kind != "multi":
                problems.append(
                    _(
                        "%(where)s: option '%(option)s': requires is only for multi",
                        where=where,
                        option=option["code"],
                    )
                )
            elif needed not in codes or needed == option["code"]:
                problems.append(
                    _(
                        "%(where)s: option '%(option)s' requires unknown "
                        "option '%(needed)s'",
                        where=where,
                        option=option["code"],
                        needed=needed,
                    )
                )
    return problems


def _check_applies(doc: Entry) -> list[str]:
    options = {
        c["code"]: {o["code"] for o in c["options"]} for c in doc.get("conditions", [])
    }
    problems: list[str] = []
    earlier: set[str] = set()
    for where, cond in _conditions(doc):
        problems += _clause_problems(where, cond, options, earlier)
        earlier.add(cond["code"])
    for where, item in _items(doc):
        problems += _clause_problems(where, item, options, set(options))
    return problems


def _clause_problems(
    where: str, entry: Entry, options: Mapping[str, set[str]], allowed: set[str]
) -> list[str]:
    problems: list[str] = []
    for clause in entry.get("applies_when", []):
        code = clause["condition"]
        if code not in options:
            problems.append(
                _(
                    "%(where)s: applies_when names unknown condition '%(code)s'",
                    where=where,
                    code=code,
                )
            )
        elif code not in allowed:
            problems.append(
                _(
                    "%(where)s: applies_when may only name earlier conditions",
                    where=where,
                )
            )
        else:
            unknown = [v for v in clause["in"] if v not in options[code] | {NA}]
            problems += [
                _(
                    "%(where)s: condition %(code)s has no option '%(option)s'",
                    where=where,
                    code=code,
                    option=v,
                )
                for v in unknown
            ]
    return problems


def _check_kind(doc: Entry) -> list[str]:
    kind = doc["kind"]
    problems: list[str] = []
    for where, item in _items(doc):
        if item["type"] not in ITEM_TYPES[kind]:
            problems.append(
                _(
                    "%(where)s: type %(type)s is not allowed for %(kind)s",
                    where=where,
                    type=item["type"],
                    kind=kind,
                )
            )
        if "weight" not in item and kind == "weighted":
            problems.append(_("%(where)s: weight is required", where=where))
        elif "weight" in item and kind != "weighted":
            problems.append(_("%(where)s: weight is only for weighted", where=where))
        if ("judgement" in item) != (item["type"] == "judgement"):
            problems.append(
                _(
                    "%(where)s: judgement items (only) need a judgement field",
                    where=where,
                )
            )
        if kind == "points":
            problems += [
                _(
                    "%(where)s: option '%(option)s' needs points",
                    where=where,
                    option=o["code"],
                )
                for o in item.get("options", [])
                if "points" not in o and o["code"] != NA
            ]
    return problems + _weight_problems(doc) + _judgement_problems(doc)


def _weight_problems(doc: Entry) -> list[str]:
    if doc["kind"] != "weighted":
        return []
    problems: list[str] = []
    weights = [
        (where, to_decimal(item.get("weight", 0))) for where, item in _items(doc)
    ]
    problems += [
        _("%(where)s: weight must be positive", where=where)
        for where, w in weights
        if w <= 0
    ]
    total = sum((w for _where, w in weights), Decimal(0))
    if total != 1:
        problems.append(_("sections: weights sum to %(total)s, not 1", total=total))
    return problems


def _judgement_problems(doc: Entry) -> list[str]:
    if doc["kind"] != "judgement":
        return []
    problems: list[str] = []
    for si, section in enumerate(doc["sections"]):
        kinds = [
            i.get("judgement") for i in section["items"] if i["type"] == "judgement"
        ]
        if kinds.count("risk_of_bias") != 1 or kinds.count("applicability") > 1:
            problems.append(
                _(
                    "section %(code)s (%(path)s): needs one risk_of_bias judgement "
                    "item and at most one applicability item",
                    code=section["code"],
                    path=f"sections/{si}",
                )
            )
    return problems


def _check_params(doc: Entry) -> list[str]:
    params = doc.get("params", {})
    problems = _domain_problems(doc, params.get("domains", []))
    problems += _band_problems(params.get("bands", []))
    problems += _overall_item_problems(doc, params.get("overall_items", {}))
    problems += prefill_problems(doc)
    if "scope" in params:
        problems += _scope_problems(doc, params["scope"])
    if "levels" in params:
        problems += _level_problems(doc, params["levels"])
    return problems


def _domain_problems(doc: Entry, domains: Sequence[Entry]) -> list[str]:
    known = {item["code"] for _where, item in _items(doc)}
    listed = [code for d in domains for code in d["items"]]
    problems: list[str] = [
        _("params/domains: item code '%(code)s' is used more than once", code=c)
        for c in _duplicates(listed)
    ]
    problems += [
        _("params/domains: unknown item '%(code)s'", code=c)
        for c in listed
        if c not in known
    ]
    return problems


def _overall_item_problems(doc: Entry, overall: Mapping[str, str]) -> list[str]:
    """Each overall item is a judgement item of its aspect, alone in its section
    with the other overall items (so that no domain's judgements include it)."""
    if overall and doc["kind"] != "judgement":
        return [_("params/overall_items: only for judgement instruments")]
    where = {
        item["code"]: (section, item)
        for section in doc["sections"]
        for item in section["items"]
    }
    problems: list[str] = []
    for aspect, code in overall.items():
        section, item = where.get(code, (None, None))
        if item is None or item.get("judgement") != aspect:
            problems.append(
                _(
                    "params/overall_items/%(aspect)s: '%(code)s' is not a judgement "
                    "item of %(aspect)s",
                    aspect=aspect,
                    code=code,
                )
            )
        elif any(i["code"] not in overall.values() for i in section["items"]):
            problems.append(
                _(
                    "params/overall_items/%(aspect)s: section %(section)s of "
                    "'%(code)s' may hold overall items only",
                    aspect=aspect,
                    section=section["code"],
                    code=code,
                )
            )
    return problems


def _band_problems(bands: Sequence[Entry]) -> list[str]:
    problems: list[str] = []
    for bi, band in enumerate(bands):
        if to_decimal(band["min"]) >= to_decimal(band["max"]):
            problems.append(
                _("params/bands/%(index)s: min must be below max", index=bi)
            )
        if bi and to_decimal(band["min"]) != to_decimal(bands[bi - 1]["max"]):
            problems.append(
                _(
                    "params/bands/%(index)s: must start where the previous band ends",
                    index=bi,
                )
            )
    if bands and not bands[-1].get("inclusive_max"):
        problems.append(
            _(
                "params/bands/%(index)s: the last band needs inclusive_max",
                index=len(bands) - 1,
            )
        )
    return problems


def _scope_problems(doc: Entry, scope: Entry) -> list[str]:
    conditions = {c["code"]: c for c in doc.get("conditions", [])}
    stage = conditions.get(scope["stage_condition"])
    track = conditions.get(scope["track_condition"])
    if stage is None or track is None:
        return [
            _("params/scope: stage_condition and track_condition must be conditions")
        ]
    if stage.get("applies_when") or track.get("applies_when"):
        return [_("params/scope: scope conditions must always apply")]
    stages = [o["code"] for o in stage["options"]]
    if not all(s.isdigit() for s in stages):
        return [
            _(
                "condition %(code)s: readiness options must be whole numbers",
                code=stage["code"],
            )
        ]
    all_tracks = scope.get("all_tracks", "both")
    tracks = {o["code"] for o in track["options"]} - {all_tracks}
    problems: list[str] = (
        []
        if all_tracks in {o["code"] for o in track["options"]}
        else [
            _(
                "params/scope: condition %(code)s has no option '%(option)s'",
                code=track["code"],
                option=all_tracks,
            )
        ]
    )
    for where, item in _items(doc):
        if item.get("stage") is None or not item.get("tracks"):
            problems.append(
                _("%(where)s: scoped instruments need stage and tracks", where=where)
            )
        elif item["stage"] > max(map(int, stages)) or not set(item["tracks"]) <= tracks:
            problems.append(
                _(
                    "%(where)s: stage or tracks outside the scope conditions",
                    where=where,
                )
            )
    return problems


def _level_problems(doc: Entry, levels: Entry) -> list[str]:
    """Every item has one declared level on every declared scale, and no more."""
    if doc["kind"] != "checklist":
        return [_("params/levels: only for checklist instruments")]
    scales = [s["code"] for s in levels["scales"]]
    values = [v["code"] for v in levels["values"]]
    problems: list[str] = [
        _("params/levels/scales: scale code '%(code)s' is used more than once", code=c)
        for c in _duplicates(scales)
    ]
    problems += [
        _("params/levels/values: level code '%(code)s' is used more than once", code=c)
        for c in _duplicates(values)
    ]
    known = {item["code"] for _where, item in _items(doc)}
    given: Mapping[str, Mapping[str, str]] = levels["items"]
    problems += [
        _("params/levels/items: unknown item '%(code)s'", code=c)
        for c in given
        if c not in known
    ]
    for where, item in _items(doc):
        own = given.get(item["code"], {})
        problems += [
            _("%(where)s: no level on scale '%(scale)s'", where=where, scale=s)
            for s in scales
            if s not in own
        ]
        problems += [
            _(
                "%(where)s: level '%(level)s' on scale '%(scale)s' is not declared",
                where=where,
                level=v,
                scale=s,
            )
            for s, v in own.items()
            if s in scales and v not in values
        ]
        problems += [
            _("%(where)s: unknown level scale '%(scale)s'", where=where, scale=s)
            for s in own
            if s not in scales
        ]
    return problems


def _check_status(doc: Entry) -> list[str]:
    if doc["status"] == "published" and doc["needs_check"]:
        return [_("status: a definition that needs checking cannot be published")]
    return []


_CHECKS = (
    _check_codes,
    _check_options,
    _check_applies,
    _check_kind,
    _check_params,
    _check_status,
)
