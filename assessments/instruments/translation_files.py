"""Instrument translation files: reading, checking, and starting one.

File format (``definitions/translations/<key>.<language>.yaml``)::

    instrument: rqs-1.0
    language: nl
    revision: 1               # this translation's own revision
    translates_revision: 2    # the English wording revision it was made from
    translator: who translated it
    date: "2026-12-03"
    validated: false          # true once checked by a second, bilingual expert
    name: ...                 # optional: short_name, note
    standard_options: {yes: Ja, no: Nee, na: Niet van toepassing, ...}
    domains: {D1: ...}
    sections: {rqs: {label: ..., help: ...}}
    conditions: {<code>: {label: ..., help: ..., options: {<code>: ...}}}
    items: {"1": {label: ..., help: ..., options: {documented: ...}}}
    bands: [...]              # band names, in the definition's order
    aspect_labels: {bias: ...}

An option's translation is its label, or a mapping with `label` and `help`.
A derived definition's translation (CLEAR-S from CLEAR) may say
``derived_from: clear-1.0``: the base translation's entries are used for the
items the two share.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .definition import Condition, Definition, Item
from .files import bundled_definitions_dir, read_definition_text
from .translations import Translation, TranslationError
from .vocabulary import STANDARD_OPTIONS, ProblemsError

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_META: tuple[str, ...] = ("instrument", "language", "revision")
_META += ("translates_revision", "translator", "date", "validated")
_TEXT_KEYS = ("label", "help")


# --- reading files ---------------------------------------------------------


def translations_dir() -> Path:
    return bundled_definitions_dir() / "translations"


def translation_path(key: str, language: str, directory: Path | None = None) -> Path:
    return (directory or translations_dir()) / f"{key}.{language}.yaml"


def bundled_languages(key: str, directory: Path | None = None) -> list[str]:
    """Languages with a translation file for definition `key`, sorted."""
    folder = directory or translations_dir()
    if not folder.is_dir():
        return []
    prefix = f"{key}."
    return sorted(
        p.name[len(prefix) : -len(".yaml")]
        for p in folder.glob(f"{key}.*.yaml")
        if LANGUAGE_CODE.match(p.name[len(prefix) : -len(".yaml")])
    )


def load_translation(
    key: str, language: str, directory: Path | None = None
) -> Translation | None:
    """The translation file for `key` in `language`, or None when there is none.

    Raises TranslationError, naming the file, when it exists but is unusable.
    """
    path = translation_path(key, language, directory)
    if not path.is_file():
        return None
    try:
        doc = read_definition_text(path.read_text(encoding="utf-8"))
    except ProblemsError as exc:
        raise TranslationError([f"{path.name}: {p}" for p in exc.problems]) from exc
    base = str(doc.get("derived_from") or "")
    inherited = load_translation(base, language, directory) if base else None
    if base and inherited is None:
        raise TranslationError(
            [f"{path.name}: derived_from: no {language} translation of {base}"]
        )
    try:
        return parse_translation(doc, inherited=inherited)
    except TranslationError as exc:
        raise TranslationError([f"{path.name}: {p}" for p in exc.problems]) from exc


def parse_translation(
    doc: Mapping[str, Any], *, inherited: Translation | None = None
) -> Translation:
    problems: list[str] = []
    for key in _META:
        if key not in doc:
            problems.append(f"{key}: missing")
    if problems:
        raise TranslationError(problems)
    language = str(doc["language"])
    if not LANGUAGE_CODE.match(language):
        problems.append(
            f"language: {language!r} is not a language code such as nl or de"
        )
    for key in ("revision", "translates_revision"):
        if not isinstance(doc[key], int) or isinstance(doc[key], bool) or doc[key] < 1:
            problems.append(f"{key}: expected a whole number from 1 up")
    if not isinstance(doc["validated"], bool):
        problems.append("validated: expected true or false")
    date = _date(doc["date"], problems)
    entries = dict(inherited.entries) if inherited else {}
    for group in ("conditions", "items"):
        entries.update(_entries(doc.get(group) or {}, group, problems))
    translation = Translation(
        instrument=str(doc["instrument"]),
        language=language,
        revision=doc["revision"] if not problems else 1,
        translates_revision=doc["translates_revision"] if not problems else 1,
        translator=_text(doc["translator"], "translator", problems),
        date=date,
        validated=doc["validated"] is True,
        name=_text(doc.get("name", ""), "name", problems),
        short_name=_text(doc.get("short_name", ""), "short_name", problems),
        note=_text(doc.get("note", ""), "note", problems),
        standard_options={
            **(inherited.standard_options if inherited else {}),
            **_words(doc.get("standard_options") or {}, "standard_options", problems),
        },
        domains={
            **(inherited.domains if inherited else {}),
            **_words(doc.get("domains") or {}, "domains", problems),
        },
        sections={
            **(inherited.sections if inherited else {}),
            **_sections(doc.get("sections") or {}, problems),
        },
        entries=entries,
        bands=tuple(
            _text(b, "bands", problems) for b in _list(doc.get("bands"), problems)
        )
        or (inherited.bands if inherited else ()),
        aspect_labels={
            **(inherited.aspect_labels if inherited else {}),
            **_words(doc.get("aspect_labels") or {}, "aspect_labels", problems),
        },
        derived_from=str(doc.get("derived_from") or ""),
    )
    if not str(doc["translator"]).strip():
        problems.append("translator: say who translated it")
    if problems:
        raise TranslationError(problems)
    return translation


def check_translation(translation: Translation, definition: Definition) -> list[str]:
    """Codes the translation names that `definition` does not have, in words."""
    problems: list[str] = []
    if translation.instrument != definition.key:
        problems.append(
            f"instrument: the file is for {translation.instrument}, "
            f"not {definition.key}"
        )
    every: list[Condition | Item] = [*definition.conditions, *definition.items]
    known = {e.code: e for e in every}
    sections = {s.code for s in definition.sections}
    domains = {d.code for d in definition.domains}
    if not translation.derived_from:
        # A derived translation carries its base's other items on purpose.
        problems += [
            f"sections: no section {c!r}"
            for c in translation.sections
            if c not in sections
        ]
        problems += [
            f"domains: no domain {c!r}" for c in translation.domains if c not in domains
        ]
        problems += [
            f"items: no item or condition {code!r}"
            for code in translation.entries
            if code not in known
        ]
    for code, words in translation.entries.items():
        entry = known.get(code)
        if entry is None:
            continue
        codes = set(entry.option_codes)
        problems += [
            f"items: {code}: no option {o!r}"
            for o in words.get("options", {})
            if o not in codes
        ]
    if len(translation.bands) > len(definition.bands):
        problems.append(
            f"bands: {len(translation.bands)} names for {len(definition.bands)} bands"
        )
    aspects = definition.params.get("aspect_labels") or {}
    problems += [
        f"aspect_labels: no aspect {c!r}"
        for c in translation.aspect_labels
        if c not in aspects
    ]
    return problems


def _date(value: Any, problems: list[str]) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"date: {value!r} is not a date written as 2026-12-03")
        return datetime.date.min


def _text(value: Any, where: str, problems: list[str]) -> str:
    if not isinstance(value, str):
        problems.append(f"{where}: expected text")
        return ""
    return value.strip()


def _list(value: Any, problems: list[str]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append("bands: expected a list of band names")
        return []
    return value


def _words(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected code: words lines")
        return {}
    return {str(k): _text(v, f"{where}: {k}", problems) for k, v in value.items()}


def _texts_of(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    if isinstance(value, str):
        return {"label": value.strip()}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected words, or label: and help: lines")
        return {}
    unknown = [k for k in value if k not in (*_TEXT_KEYS, "options")]
    problems += [f"{where}: unknown key {k!r}" for k in unknown]
    return {
        k: _text(value[k], f"{where} {k}", problems) for k in _TEXT_KEYS if k in value
    }


def _sections(value: Any, problems: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping):
        problems.append("sections: expected section codes")
        return {}
    return {str(k): _texts_of(v, f"sections: {k}", problems) for k, v in value.items()}


def _entries(value: Any, group: str, problems: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        problems.append(f"{group}: expected codes")
        return {}
    found: dict[str, dict[str, Any]] = {}
    for code, raw in value.items():
        where = f"{group}: {code}"
        words: dict[str, Any] = dict(_texts_of(raw, where, problems))
        options = raw.get("options", {}) if isinstance(raw, Mapping) else {}
        if not isinstance(options, Mapping):
            problems.append(f"{where} options: expected option codes")
            options = {}
        words["options"] = {
            str(o): _texts_of(v, f"{where} option {o}", problems)
            for o, v in options.items()
        }
        found[str(code)] = words
    return found


# --- a starting file for translators --------------------------------------


def translation_skeleton(definition: Definition, language: str, translator: str) -> str:
    """A complete translation file holding the English, to be overwritten.

    Standard options (Yes, No, Not applicable, ...) are listed once under
    `standard_options`, not under every item.
    """
    standard = {c: label for opts in STANDARD_OPTIONS.values() for c, label in opts}

    def entry(e: Item | Condition) -> dict[str, Any]:
        out: dict[str, Any] = {"label": e.label}
        if e.help:
            out["help"] = e.help
        options = {
            o.code: ({"label": o.label, "help": o.help} if o.help else o.label)
            for o in e.options
            if standard.get(o.code) != o.label or o.help
        }
        if options:
            out["options"] = options
        return out

    doc: dict[str, Any] = {
        "instrument": definition.key,
        "language": language,
        "revision": 1,
        "translates_revision": definition.revision,
        "translator": translator,
        "date": datetime.date.today().isoformat(),
        "validated": False,
        "name": definition.name,
    }
    if definition.note:
        doc["note"] = definition.note
    every: list[Condition | Item] = [*definition.conditions, *definition.items]
    used = {o.code for e in every for o in e.options}
    doc["standard_options"] = {c: w for c, w in standard.items() if c in used}
    if definition.domains:
        doc["domains"] = {d.code: d.label for d in definition.domains}
    doc["sections"] = {
        s.code: ({"label": s.label, "help": s.help} if s.help else {"label": s.label})
        for s in definition.sections
    }
    if definition.conditions:
        doc["conditions"] = {c.code: entry(c) for c in definition.conditions}
    doc["items"] = {i.code: entry(i) for i in definition.items}
    if definition.bands:
        doc["bands"] = [b.label for b in definition.bands]
    aspects = definition.params.get("aspect_labels") or {}
    if aspects:
        doc["aspect_labels"] = dict(aspects)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=80)
