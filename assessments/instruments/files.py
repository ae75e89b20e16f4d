"""Reading definition files: untrusted YAML/JSON text into plain documents.

Bounded in size and YAML alias expansion; `derived_from` files (CLEAR-S from
CLEAR) come back resolved, and standard item types carry their options.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..words import say as _
from .vocabulary import STANDARD_OPTIONS, DefinitionError

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
        raise DefinitionError([in_file(path, _too_large(path.stat().st_size))])
    text = path.read_text(encoding="utf-8")
    try:
        doc = read_definition_text(text, json_format=path.suffix == ".json")
    except DefinitionError as exc:
        raise DefinitionError([in_file(path, p) for p in exc.problems]) from exc
    if "include_items" in doc:
        doc = _resolve_derived(doc, path.parent)
    return with_standard_options(doc)


def in_file(path: Path, problem: str) -> str:
    """A problem of a named file: "rqs-1.0.yaml: ..." (still translatable)."""
    # Translators: a file's name, then what is wrong with it.
    return _("%(file)s: %(problem)s", file=path.name, problem=problem)


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
        # The parser's own account of where and why stays as it wrote it.
        raise DefinitionError(
            [_("not readable as YAML or JSON: %(error)s", error=str(exc))]
        ) from exc
    except RecursionError as exc:
        raise DefinitionError([_("the document is nested too deeply")]) from exc
    except ValueError as exc:  # e.g. an integer beyond int()'s digit limit
        raise DefinitionError(
            [_("not a usable definition: %(error)s", error=str(exc))]
        ) from exc
    if not isinstance(doc, dict):
        raise DefinitionError([_("expected a mapping (key: value lines) at the top")])
    if bad is not None:
        raise DefinitionError(
            [
                _(
                    "%(where)s: not a finite number (NaN or infinity); use an "
                    "ordinary number",
                    where=bad,
                )
            ]
        )
    return doc


def _too_large(size: int) -> str:
    return _(
        "the file is %(size)s bytes; definition files are limited to %(limit)s bytes",
        size=f"{size:,}",
        limit=f"{MAX_DEFINITION_BYTES:,}",
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
            raise DefinitionError([_("a YAML alias refers to itself; write it out")])
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
                    _(
                        "the document has more than %(limit)s values once its YAML "
                        "aliases (*name) are written out; use fewer aliases or a "
                        "smaller document",
                        limit=f"{MAX_DEFINITION_VALUES:,}",
                    )
                ]
            )
        sizes[key] = total
        return total

    size(root)


def _non_finite_path(value: Any, where: str = "") -> str | None:
    """Where the first NaN or infinity sits (e.g. `params/bands/0/min`), if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or _("the document")
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
        raise DefinitionError(
            [_("derived_from: no definition file for %(key)s", key=repr(base_key))]
        )
    base = load_definition_file(base_path)
    wanted = _expand_codes(doc["include_items"])
    known = {item["code"] for s in base["sections"] for item in s["items"]}
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise DefinitionError(
            [_("include_items: unknown items %(codes)s", codes=", ".join(unknown))]
        )
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
