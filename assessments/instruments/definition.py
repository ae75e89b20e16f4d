"""Instrument definitions: frozen dataclasses, file reading, validation, parsing."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

KINDS = ("points", "weighted", "checklist", "judgement")
NA = "na"
SCHEMA_PATH = Path(__file__).with_name("schema.json")

STANDARD_OPTIONS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "yesno": (("yes", "Yes"), ("no", "No")),
    "ynna": (("yes", "Yes"), ("no", "No"), (NA, "Not applicable")),
    "signalling": (("yes", "Yes"), ("no", "No"), ("unclear", "Unclear")),
    "judgement": (("low", "Low"), ("high", "High"), ("unclear", "Unclear")),
}
ITEM_TYPES: Mapping[str, frozenset[str]] = {
    "points": frozenset({"single", "multi", "yesno", "ynna"}),
    "weighted": frozenset({"yesno"}),
    "checklist": frozenset({"ynna", "yesno"}),
    "judgement": frozenset({"signalling", "judgement"}),
}


class DefinitionError(ValueError):
    """A definition document failed validation; `problems` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    help: str = ""
    points: Decimal | None = None
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clause:
    """Holds when the condition's answer is in `values` (`na`: it does not apply)."""

    condition: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    code: str
    label: str
    help: str
    options: tuple[Option, ...]
    applies_when: tuple[Clause, ...] = ()

    is_multi = False

    @property
    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    help: str
    type: str
    section: str
    options: tuple[Option, ...]
    applies_when: tuple[Clause, ...] = ()
    weight: Decimal | None = None
    essential: bool = True
    stage: int | None = None
    tracks: tuple[str, ...] = ()
    judgement: str | None = None

    @property
    def is_multi(self) -> bool:
        return self.type == "multi"

    @property
    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def max_points(self) -> Decimal:
        """Best attainable points: all positive boxes (multi) or the best option."""
        points = [o.points or Decimal(0) for o in self.options]
        if self.is_multi:
            return sum((p for p in points if p > 0), Decimal(0))
        return max(points, default=Decimal(0))


@dataclass(frozen=True)
class Section:
    code: str
    label: str
    help: str
    items: tuple[Item, ...]
    group: str = ""


@dataclass(frozen=True)
class Domain:
    code: str
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Band:
    min: Decimal
    max: Decimal
    label: str
    inclusive_max: bool = False

    def contains(self, value: Decimal) -> bool:
        return self.min <= value < self.max or (
            self.inclusive_max and value == self.max
        )


@dataclass(frozen=True)
class Scope:
    """Readiness-level scoping: items above the chosen stage or off-track are N/A."""

    stage_condition: str
    track_condition: str
    all_tracks: str = "both"


@dataclass(frozen=True)
class Definition:
    key: str
    code: str
    version: str
    status: str
    revision: int
    name: str
    short_name: str
    citation: str
    doi: str
    licence: str
    kind: str
    needs_check: bool
    note: str
    params: Mapping[str, Any] = field(hash=False)
    conditions: tuple[Condition, ...]
    sections: tuple[Section, ...]
    domains: tuple[Domain, ...] = ()
    bands: tuple[Band, ...] = ()
    scope: Scope | None = None
    derived_from: str = ""

    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _index(self) -> dict[str, Item | Condition]:
        entries: list[Item | Condition] = [*self.conditions, *self.items]
        return {entry.code: entry for entry in entries}

    def item(self, code: str) -> Item:
        entry = self._index.get(code)
        if not isinstance(entry, Item):
            raise KeyError(f"{self.key} has no item {code!r}")
        return entry

    def condition(self, code: str) -> Condition:
        entry = self._index.get(code)
        if not isinstance(entry, Condition):
            raise KeyError(f"{self.key} has no condition {code!r}")
        return entry

    def band_for(self, value: Decimal) -> str | None:
        return next((b.label for b in self.bands if b.contains(value)), None)

    def scoring_fingerprint(self) -> str:
        return _sha256(_scoring_view(self))

    def wording_fingerprint(self) -> str:
        return _sha256(_wording_view(self))

    def scoring_differences(self, other: Definition) -> list[str]:
        """What changes in scoring when going from this definition to `other`."""
        old, new = _scoring_view(self), _scoring_view(other)
        found: list[str] = []
        if old["kind"] != new["kind"]:
            found.append(f"kind {old['kind']} -> {new['kind']}")
        for key in sorted(set(old["params"]) | set(new["params"])):
            if old["params"].get(key) != new["params"].get(key):
                found.append(f"params.{key} changed")
        found += _list_differences(old["conditions"], new["conditions"], "condition")
        found += _list_differences(old["items"], new["items"], "item")
        found += _order_difference(old["sections"], new["sections"], "section")
        if not found and old != new:
            found.append("scoring structure changed")
        return found


# --- reading files -------------------------------------------------------------

# Definition files are a few kB; anything near these limits is a mistake or an
# attack (an alias "billion laughs" bomb of a few hundred bytes expands to GBs).
MAX_DEFINITION_BYTES = 1_000_000
MAX_DEFINITION_VALUES = 100_000


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads bare yes/no/on/off as booleans; option codes need them as text."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def bundled_definitions_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "definitions"


def iter_bundled() -> list[dict[str, Any]]:
    """Every bundled definition file, resolved into standalone documents."""
    return [
        load_definition_file(p)
        for p in sorted(bundled_definitions_dir().iterdir())
        if p.suffix in (".yaml", ".yml", ".json")
    ]


def load_definition_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML/JSON definition; `derived_from` files come back fully resolved."""
    path = Path(path)
    if path.stat().st_size > MAX_DEFINITION_BYTES:
        raise DefinitionError([f"{path.name}: {_too_large(path.stat().st_size)}"])
    text = path.read_text(encoding="utf-8")
    try:
        doc = read_definition_text(text, json_format=path.suffix == ".json")
    except DefinitionError as exc:
        raise DefinitionError([f"{path.name}: {p}" for p in exc.problems]) from exc
    if "include_items" in doc:
        doc = _resolve_derived(doc, path.parent)
    return with_standard_options(doc)


def read_definition_text(text: str, *, json_format: bool = False) -> dict[str, Any]:
    """Parse untrusted definition text: bounded in size and alias expansion.

    Raises DefinitionError, in words meant for the person who wrote the file,
    for anything that is not a plain mapping of finite values.
    """
    if len(text.encode("utf-8")) > MAX_DEFINITION_BYTES:
        raise DefinitionError([_too_large(len(text.encode("utf-8")))])
    try:
        doc = json.loads(text) if json_format else _parse_yaml(text)
        bad = _non_finite_path(doc)
    except DefinitionError:
        raise
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DefinitionError([f"not readable as YAML or JSON: {exc}"]) from exc
    except RecursionError as exc:
        raise DefinitionError(["the document is nested too deeply"]) from exc
    except ValueError as exc:  # e.g. an integer beyond int()'s digit limit
        raise DefinitionError([f"not a usable definition: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise DefinitionError(["expected a mapping (key: value lines) at the top"])
    if bad is not None:
        raise DefinitionError(
            [f"{bad}: not a finite number (NaN or infinity); use an ordinary number"]
        )
    return doc


def _too_large(size: int) -> str:
    return (
        f"the file is {size:,} bytes; definition files are limited to "
        f"{MAX_DEFINITION_BYTES:,} bytes"
    )


def _parse_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Count values as if every alias were written out, without building them."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise DefinitionError(["a YAML alias refers to itself; write it out"])
        in_progress.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1 + sum(size(child) for child in children)
        in_progress.discard(key)
        if total > MAX_DEFINITION_VALUES:
            raise DefinitionError(
                [
                    f"the document has more than {MAX_DEFINITION_VALUES:,} values "
                    "once its YAML aliases (*name) are written out; use fewer "
                    "aliases or a smaller document"
                ]
            )
        sizes[key] = total
        return total

    size(root)


def _non_finite_path(value: Any, where: str = "") -> str | None:
    """Where the first NaN or infinity sits (e.g. `params/bands/0/min`), if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "the document"
    if isinstance(value, dict):
        entries: Iterator[tuple[Any, Any]] = iter(value.items())
    elif isinstance(value, list):
        entries = enumerate(value)
    else:
        return None
    for key, child in entries:
        found = _non_finite_path(key, f"{where}/{key}".lstrip("/"))
        found = found or _non_finite_path(child, f"{where}/{key}".lstrip("/"))
        if found:
            return found
    return None


def _resolve_derived(doc: dict[str, Any], directory: Path) -> dict[str, Any]:
    base_key = str(doc.get("derived_from", ""))
    candidates = [directory / f"{base_key}{suffix}" for suffix in (".yaml", ".json")]
    base_path = next((p for p in candidates if p.exists()), None)
    if not base_key or base_path is None:
        raise DefinitionError([f"derived_from: no definition file for {base_key!r}"])
    base = load_definition_file(base_path)
    wanted = _expand_codes(doc["include_items"])
    known = {item["code"] for s in base["sections"] for item in s["items"]}
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise DefinitionError([f"include_items: unknown items {', '.join(unknown)}"])
    merged = {**base, **{k: v for k, v in doc.items() if k != "include_items"}}
    merged["sections"] = [
        {**s, "items": [i for i in s["items"] if i["code"] in wanted]}
        for s in base["sections"]
        if any(i["code"] in wanted for i in s["items"])
    ]
    return _filter_domains(merged, wanted)


def _filter_domains(doc: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    params = copy.deepcopy(doc.get("params", {}))
    if "domains" in params:
        domains = [
            {**d, "items": [c for c in d["items"] if c in wanted]}
            for d in params["domains"]
        ]
        params["domains"] = [d for d in domains if d["items"]]
    return {**doc, "params": params}


def _expand_codes(spec: Sequence[Any]) -> set[str]:
    """Accept "7-43" ranges so derived files can list items compactly."""
    codes: set[str] = set()
    for entry in spec:
        match = re.fullmatch(r"(\d+)-(\d+)", str(entry).strip())
        if match:
            codes.update(str(n) for n in range(int(match[1]), int(match[2]) + 1))
        else:
            codes.add(str(entry).strip())
    return codes


def with_standard_options(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of `doc` where standard item types carry their options explicitly."""
    out = copy.deepcopy(dict(doc))
    # Runs before validation, so malformed parts are skipped, not trusted.
    sections = out.get("sections")
    for section in sections if isinstance(sections, list) else []:
        items = section.get("items") if isinstance(section, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("options"):
                continue
            standard = STANDARD_OPTIONS.get(str(item.get("type", "")), ())
            if standard:
                item["options"] = [{"code": c, "label": lab} for c, lab in standard]
    return out


# --- validation ----------------------------------------------------------------


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
    if "scope" in params:
        problems += _scope_problems(doc, params["scope"])
    return problems


def _domain_problems(doc: Entry, domains: Sequence[Entry]) -> list[str]:
    known = {item["code"] for _, item in _items(doc)}
    listed = [code for d in domains for code in d["items"]]
    problems = _duplicates("params/domains", "item", listed)
    problems += [
        f"params/domains: unknown item '{c}'" for c in listed if c not in known
    ]
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


# --- parsing -------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal:
    """Exact Decimal from YAML/JSON numbers or numeric strings (floats via repr)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    return Decimal(str(value))


_META_KEYS: tuple[str, ...] = ("code", "version", "status", "revision", "name")
_META_KEYS += ("short_name", "citation", "doi", "licence", "kind", "needs_check")


def parse_definition(doc: Mapping[str, Any]) -> Definition:
    """Validate and freeze a definition document; raises DefinitionError."""
    problems = validate_definition(doc)
    if problems:
        raise DefinitionError(problems)
    full = with_standard_options(doc)
    params = copy.deepcopy(full.get("params", {}))
    return Definition(
        key=f"{full['code']}-{full['version']}",
        **{k: full[k] for k in _META_KEYS},
        note=full.get("note", ""),
        params=params,
        conditions=tuple(_condition(c) for c in full.get("conditions", [])),
        sections=tuple(_section(s) for s in full["sections"]),
        domains=tuple(
            Domain(d["code"], d["label"], tuple(d["items"]))
            for d in params.get("domains", [])
        ),
        bands=tuple(_band(b) for b in params.get("bands", [])),
        scope=Scope(**params["scope"]) if "scope" in params else None,
        derived_from=full.get("derived_from", ""),
    )


def _option(raw: Entry) -> Option:
    points = raw.get("points")
    return Option(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        points=None if points is None else to_decimal(points),
        requires=tuple(raw.get("requires", [])),
    )


def _clauses(raw: Entry) -> tuple[Clause, ...]:
    return tuple(
        Clause(c["condition"], tuple(c["in"])) for c in raw.get("applies_when", [])
    )


def _condition(raw: Entry) -> Condition:
    return Condition(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        options=tuple(_option(o) for o in raw["options"]),
        applies_when=_clauses(raw),
    )


def _item(raw: Entry, section: str) -> Item:
    weight = raw.get("weight")
    return Item(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        type=raw["type"],
        section=section,
        options=tuple(_option(o) for o in raw["options"]),
        applies_when=_clauses(raw),
        weight=None if weight is None else to_decimal(weight),
        essential=raw.get("essential", True),
        stage=raw.get("stage"),
        tracks=tuple(raw.get("tracks", [])),
        judgement=raw.get("judgement"),
    )


def _section(raw: Entry) -> Section:
    return Section(
        code=raw["code"],
        label=raw["label"],
        help=raw.get("help", ""),
        items=tuple(_item(i, raw["code"]) for i in raw["items"]),
        group=raw.get("group", ""),
    )


def _band(raw: Entry) -> Band:
    return Band(
        to_decimal(raw["min"]),
        to_decimal(raw["max"]),
        raw["label"],
        bool(raw.get("inclusive_max", False)),
    )


# --- fingerprints and differences ----------------------------------------------


def _num(value: Decimal | None) -> str | None:
    """Canonical text so that 1, 1.0 and "1" fingerprint alike."""
    return None if value is None else format(value.normalize(), "f")


def _sha256(view: Any) -> str:
    text = json.dumps(view, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clause_view(clauses: tuple[Clause, ...]) -> list[str]:
    return [f"{c.condition} in {'/'.join(c.values)}" for c in clauses]


def _options_view(options: tuple[Option, ...]) -> list[dict[str, Any]]:
    return [
        {"code": o.code, "points": _num(o.points), "requires": list(o.requires)}
        for o in options
    ]


def _scoring_params(
    params: Mapping[str, Any], bands: tuple[Band, ...]
) -> dict[str, Any]:
    # Notes and domain labels are wording; band labels are stored results, so stay.
    kept = {k: copy.deepcopy(v) for k, v in params.items() if not k.endswith("note")}
    if "domains" in kept:
        kept["domains"] = [
            {"code": d["code"], "items": d["items"]} for d in kept["domains"]
        ]
    if "bands" in kept:
        kept["bands"] = [
            [_num(b.min), _num(b.max), b.label, b.inclusive_max] for b in bands
        ]
    return kept


def _scoring_view(d: Definition) -> dict[str, Any]:
    return {
        "kind": d.kind,
        "params": _scoring_params(d.params, d.bands),
        "conditions": [
            {
                "code": c.code,
                "options": _options_view(c.options),
                "applies_when": _clause_view(c.applies_when),
            }
            for c in d.conditions
        ],
        "sections": [s.code for s in d.sections],
        "items": [
            {
                "code": i.code,
                "section": i.section,
                "type": i.type,
                "weight": _num(i.weight),
                "applies_when": _clause_view(i.applies_when),
                "essential": i.essential,
                "stage": i.stage,
                "tracks": list(i.tracks),
                "judgement": i.judgement,
                "options": _options_view(i.options),
            }
            for i in d.items
        ],
    }


def _wording_view(d: Definition) -> dict[str, Any]:
    def texts(entry: Condition | Item) -> list[Any]:
        return [
            entry.code,
            entry.label,
            entry.help,
            [[o.code, o.label, o.help] for o in entry.options],
        ]

    return {
        "meta": [d.name, d.short_name, d.citation, d.doi, d.licence, d.note],
        "notes": {k: v for k, v in d.params.items() if k.endswith("note")},
        "domains": [[dom.code, dom.label] for dom in d.domains],
        "conditions": [texts(c) for c in d.conditions],
        "sections": [[s.code, s.label, s.help, s.group] for s in d.sections],
        "items": [texts(i) for i in d.items],
    }


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return "none" if value is None else str(value)


def _order_difference(old: list[str], new: list[str], noun: str) -> list[str]:
    found = [f"{noun} {c} removed" for c in old if c not in new]
    found += [f"{noun} {c} added" for c in new if c not in old]
    common = [c for c in old if c in new]
    if common != [c for c in new if c in old]:
        found.append(f"{noun} order changed")
    return found


def _list_differences(
    old: list[dict[str, Any]], new: list[dict[str, Any]], noun: str
) -> list[str]:
    before = {e["code"]: e for e in old}
    after = {e["code"]: e for e in new}
    found = _order_difference(list(before), list(after), noun)
    for code in (c for c in before if c in after):
        found += _entry_differences(f"{noun} {code}", before[code], after[code])
    return found


def _entry_differences(
    label: str, old: dict[str, Any], new: dict[str, Any]
) -> list[str]:
    found = [
        f"{label}: {key} {_show(old[key])} -> {_show(new[key])}"
        for key in old
        if key not in ("code", "options") and old[key] != new[key]
    ]
    if "options" in old:
        found += [f"{label}: {text}" for text in _option_differences(old, new)]
    return found


def _option_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before = {o["code"]: o for o in old["options"]}
    after = {o["code"]: o for o in new["options"]}
    found = _order_difference(
        [f"'{c}'" for c in before], [f"'{c}'" for c in after], "option"
    )
    for code in (c for c in before if c in after):
        a, b = before[code], after[code]
        found += [
            f"option '{code}' {key} {_show(a[key])} -> {_show(b[key])}"
            for key in ("points", "requires")
            if a[key] != b[key]
        ]
    return found
