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

from .prefill import prefill_problems
from .vocabulary import ITEM_TYPES, NA, STANDARD_OPTIONS, to_decimal

SCHEMA_PATH = Path(__file__).with_name("schema.json")


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_definition(doc: Mapping[str, Any]) -> list[str]:
    """Schema errors, then semantic problems; each names the path or item."""
    if not isinstance(doc, Mapping):
        return ["(document): expected a mapping"]
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.path)))
    if errors:
        return [
            f"{'/'.join(map(str, e.path)) or '(document)'}: {e.message}" for e in errors
        ]
    return [problem for check in _CHECKS for problem in check(doc)]


Entry = Mapping[str, Any]


def _conditions(doc: Entry) -> Iterator[tuple[str, Entry]]:
    for ci, cond in enumerate(doc.get("conditions", [])):
        yield f"condition {cond['code']} (conditions/{ci})", cond


def _items(doc: Entry) -> Iterator[tuple[str, Entry]]:
    for si, section in enumerate(doc["sections"]):
        for ii, item in enumerate(section["items"]):
            yield f"item {item['code']} (sections/{si}/items/{ii})", item


def _answerables(doc: Entry) -> Iterator[tuple[str, Entry]]:
    yield from _conditions(doc)
    yield from _items(doc)


def _duplicates(where: str, noun: str, codes: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for code in codes:
        if code in seen and code not in dupes:
            dupes.append(code)
        seen.add(code)
    return [f"{where}: {noun} code '{c}' is used more than once" for c in dupes]


def _check_codes(doc: Entry) -> list[str]:
    problems = _duplicates("sections", "section", [s["code"] for s in doc["sections"]])
    owner: dict[str, str] = {}
    for where, entry in _answerables(doc):
        if entry["code"] in owner:
            problems.append(f"{where}: code already used by {owner[entry['code']]}")
        owner.setdefault(entry["code"], where)
        codes = [o["code"] for o in entry.get("options", [])]
        problems += _duplicates(where, "option", codes)
    return problems


def _check_options(doc: Entry) -> list[str]:
    problems: list[str] = []
    for where, entry in _answerables(doc):
        kind = entry.get("type", "single")
        codes = [o["code"] for o in entry.get("options", [])]
        standard = STANDARD_OPTIONS.get(kind)
        if standard and codes and sorted(codes) != sorted(c for c, _ in standard):
            expected = ", ".join(c for c, _ in standard)
            problems.append(f"{where}: {kind} options must be exactly {expected}")
        if not standard and len(codes) < (1 if kind == "multi" else 2):
            problems.append(
                f"{where}: needs at least {1 if kind == 'multi' else 2} options"
            )
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
                    f"{where}: option '{option['code']}': requires is only for multi"
                )
            elif needed not in codes or needed == option["code"]:
                problems.append(
                    f"{where}: option '{option['code']}' requires unknown "
                    f"option '{needed}'"
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
            problems.append(f"{where}: applies_when names unknown condition '{code}'")
        elif code not in allowed:
            problems.append(f"{where}: applies_when may only name earlier conditions")
        else:
            unknown = [v for v in clause["in"] if v not in options[code] | {NA}]
            problems += [
                f"{where}: condition {code} has no option '{v}'" for v in unknown
            ]
    return problems


def _check_kind(doc: Entry) -> list[str]:
    kind = doc["kind"]
    problems: list[str] = []
    for where, item in _items(doc):
        if item["type"] not in ITEM_TYPES[kind]:
            problems.append(f"{where}: type {item['type']} is not allowed for {kind}")
        if ("weight" in item) != (kind == "weighted"):
            need = "required" if kind == "weighted" else "only for weighted"
            problems.append(f"{where}: weight is {need}")
        if ("judgement" in item) != (item["type"] == "judgement"):
            problems.append(f"{where}: judgement items (only) need a judgement field")
        if kind == "points":
            problems += [
                f"{where}: option '{o['code']}' needs points"
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
    problems += [f"{where}: weight must be positive" for where, w in weights if w <= 0]
    total = sum((w for _, w in weights), Decimal(0))
    if total != 1:
        problems.append(f"sections: weights sum to {total}, not 1")
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
                f"section {section['code']} (sections/{si}): needs one risk_of_bias "
                "judgement item and at most one applicability item"
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
    known = {item["code"] for _, item in _items(doc)}
    listed = [code for d in domains for code in d["items"]]
    problems = _duplicates("params/domains", "item", listed)
    problems += [
        f"params/domains: unknown item '{c}'" for c in listed if c not in known
    ]
    return problems


def _overall_item_problems(doc: Entry, overall: Mapping[str, str]) -> list[str]:
    """Each overall item is a judgement item of its aspect, alone in its section
    with the other overall items (so that no domain's judgements include it)."""
    if overall and doc["kind"] != "judgement":
        return ["params/overall_items: only for judgement instruments"]
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
                f"params/overall_items/{aspect}: '{code}' is not a judgement item "
                f"of {aspect}"
            )
        elif any(i["code"] not in overall.values() for i in section["items"]):
            problems.append(
                f"params/overall_items/{aspect}: section {section['code']} of "
                f"'{code}' may hold overall items only"
            )
    return problems


def _band_problems(bands: Sequence[Entry]) -> list[str]:
    problems: list[str] = []
    for bi, band in enumerate(bands):
        if to_decimal(band["min"]) >= to_decimal(band["max"]):
            problems.append(f"params/bands/{bi}: min must be below max")
        if bi and to_decimal(band["min"]) != to_decimal(bands[bi - 1]["max"]):
            problems.append(
                f"params/bands/{bi}: must start where the previous band ends"
            )
    if bands and not bands[-1].get("inclusive_max"):
        problems.append(
            f"params/bands/{len(bands) - 1}: the last band needs inclusive_max"
        )
    return problems


def _scope_problems(doc: Entry, scope: Entry) -> list[str]:
    conditions = {c["code"]: c for c in doc.get("conditions", [])}
    stage = conditions.get(scope["stage_condition"])
    track = conditions.get(scope["track_condition"])
    if stage is None or track is None:
        return ["params/scope: stage_condition and track_condition must be conditions"]
    if stage.get("applies_when") or track.get("applies_when"):
        return ["params/scope: scope conditions must always apply"]
    stages = [o["code"] for o in stage["options"]]
    if not all(s.isdigit() for s in stages):
        return [f"condition {stage['code']}: readiness options must be whole numbers"]
    all_tracks = scope.get("all_tracks", "both")
    tracks = {o["code"] for o in track["options"]} - {all_tracks}
    problems = (
        []
        if all_tracks in {o["code"] for o in track["options"]}
        else [f"params/scope: condition {track['code']} has no option '{all_tracks}'"]
    )
    for where, item in _items(doc):
        if item.get("stage") is None or not item.get("tracks"):
            problems.append(f"{where}: scoped instruments need stage and tracks")
        elif item["stage"] > max(map(int, stages)) or not set(item["tracks"]) <= tracks:
            problems.append(f"{where}: stage or tracks outside the scope conditions")
    return problems


def _level_problems(doc: Entry, levels: Entry) -> list[str]:
    """Every item has one declared level on every declared scale, and no more."""
    if doc["kind"] != "checklist":
        return ["params/levels: only for checklist instruments"]
    scales = [s["code"] for s in levels["scales"]]
    values = [v["code"] for v in levels["values"]]
    problems = _duplicates("params/levels/scales", "scale", scales)
    problems += _duplicates("params/levels/values", "level", values)
    known = {item["code"] for _, item in _items(doc)}
    given: Mapping[str, Mapping[str, str]] = levels["items"]
    problems += [
        f"params/levels/items: unknown item '{c}'" for c in given if c not in known
    ]
    for where, item in _items(doc):
        own = given.get(item["code"], {})
        problems += [
            f"{where}: no level on scale '{s}'" for s in scales if s not in own
        ]
        problems += [
            f"{where}: level '{v}' on scale '{s}' is not declared"
            for s, v in own.items()
            if s in scales and v not in values
        ]
        problems += [
            f"{where}: unknown level scale '{s}'" for s in own if s not in scales
        ]
    return problems


def _check_status(doc: Entry) -> list[str]:
    if doc["status"] == "published" and doc["needs_check"]:
        return ["status: a definition that needs checking cannot be published"]
    return []


_CHECKS = (
    _check_codes,
    _check_options,
    _check_applies,
    _check_kind,
    _check_params,
    _check_status,
)
