"""Fingerprints and differences of a definition: what scores, and what it says.

The scoring fingerprint covers everything that can change a number (codes,
points, weights, conditions, bands); the wording fingerprint covers the texts.
`Definition` offers these as methods; this module holds how they are computed.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..words import Phrase
from ..words import say as _

if TYPE_CHECKING:  # types only: `definition` imports this module at run time
    from .definition import Band, Clause, Condition, Definition, Item, Option


def scoring_fingerprint(definition: Definition) -> str:
    return _sha256(_scoring_view(definition))


def wording_fingerprint(definition: Definition) -> str:
    return _sha256(_wording_view(definition))


def scoring_differences(
    old_definition: Definition, new_definition: Definition
) -> list[str]:
    """What changes in scoring when going from `old_definition` to `new_definition`.

    Each difference is a `Phrase` (English text, translatable where shown);
    codes, keys and values in it are the definition file's own.
    """
    old, new = _scoring_view(old_definition), _scoring_view(new_definition)
    found: list[str] = []
    if old["kind"] != new["kind"]:
        found.append(_("kind %(old)s -> %(new)s", old=old["kind"], new=new["kind"]))
    for key in sorted(set(old["params"]) | set(new["params"])):
        if old["params"].get(key) != new["params"].get(key):
            found.append(_("params.%(key)s changed", key=key))
    found += _list_differences(old["conditions"], new["conditions"], "condition")
    found += _list_differences(old["items"], new["items"], "item")
    found += _order_difference(old["sections"], new["sections"], "section")
    if not found and old != new:
        found.append(_("scoring structure changed"))
    return found


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


# Params that are only words people read (judgement instruments' aspect names).
WORDING_PARAMS = ("aspect_labels",)


def _is_wording(key: str) -> bool:
    return key.endswith("note") or key in WORDING_PARAMS


def _scoring_params(
    params: Mapping[str, Any], bands: tuple[Band, ...]
) -> dict[str, Any]:
    # Notes and domain labels are wording; band labels are stored results, so stay.
    kept = {k: copy.deepcopy(v) for k, v in params.items() if not _is_wording(k)}
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
            # Finder hints are wording: a change needs a wording revision.
            list(getattr(entry, "evidence_hints", ())),
        ]

    return {
        "meta": [d.name, d.short_name, d.citation, d.doi, d.licence, d.note],
        "notes": {k: v for k, v in d.params.items() if _is_wording(k)},
        "domains": [[dom.code, dom.label] for dom in d.domains],
        "conditions": [texts(c) for c in d.conditions],
        "sections": [[s.code, s.label, s.help, s.group] for s in d.sections],
        "items": [texts(i) for i in d.items],
    }


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return _("none") if value is None else str(value)


def _named(noun: str, code: str) -> Phrase:
    """A condition, item or section by its code: "item 5"."""
    if noun == "condition":
        return _("condition %(code)s", code=code)
    if noun == "item":
        return _("item %(code)s", code=code)
    return _("section %(code)s", code=code)


_ORDER_CHANGED = {
    "condition": _("condition order changed"),
    "item": _("item order changed"),
    "section": _("section order changed"),
}


def _order_difference(old: list[str], new: list[str], noun: str) -> list[str]:
    found: list[str] = [
        _("%(what)s removed", what=_named(noun, c)) for c in old if c not in new
    ]
    found += [_("%(what)s added", what=_named(noun, c)) for c in new if c not in old]
    common = [c for c in old if c in new]
    if common != [c for c in new if c in old]:
        found.append(_ORDER_CHANGED[noun])
    return found


def _list_differences(
    old: list[dict[str, Any]], new: list[dict[str, Any]], noun: str
) -> list[str]:
    before = {e["code"]: e for e in old}
    after = {e["code"]: e for e in new}
    found = _order_difference(list(before), list(after), noun)
    for code in (c for c in before if c in after):
        found += _entry_differences(_named(noun, code), before[code], after[code])
    return found


def _entry_differences(
    label: Phrase, old: dict[str, Any], new: dict[str, Any]
) -> list[str]:
    found: list[str] = [
        # Translators: "item 5: weight 0.1 -> 0.2"; the key is the file's own.
        _(
            "%(what)s: %(key)s %(old)s -> %(new)s",
            what=label,
            key=key,
            old=_show(old[key]),
            new=_show(new[key]),
        )
        for key in old
        if key not in ("code", "options") and old[key] != new[key]
    ]
    if "options" in old:
        found += _option_differences(label, old, new)
    return found


def _option_differences(
    label: Phrase, old: dict[str, Any], new: dict[str, Any]
) -> list[str]:
    before = {o["code"]: o for o in old["options"]}
    after = {o["code"]: o for o in new["options"]}
    found: list[str] = [
        _("%(what)s: option '%(code)s' removed", what=label, code=c)
        for c in before
        if c not in after
    ]
    found += [
        _("%(what)s: option '%(code)s' added", what=label, code=c)
        for c in after
        if c not in before
    ]
    common = [c for c in before if c in after]
    if common != [c for c in after if c in before]:
        found.append(_("%(what)s: option order changed", what=label))
    for code in common:
        a, b = before[code], after[code]
        found += [
            _(
                "%(what)s: option '%(code)s' %(key)s %(old)s -> %(new)s",
                what=label,
                code=code,
                key=key,
                old=_show(a[key]),
                new=_show(b[key]),
            )
            for key in ("points", "requires")
            if a[key] != b[key]
        ]
    return found
