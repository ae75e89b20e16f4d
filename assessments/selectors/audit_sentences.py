"""How each action of the audit log reads as a sentence, with its details.

A writer per action turns an event's target and stored detail into words;
audit.py fetches a page of events and what they name, then calls these. The
words for instruments and answers live here too (audit.py re-exports them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from ..instruments import Definition
from ..models import InstrumentVersion, Membership, Study

HIDDEN = gettext_lazy(
    "Details hidden: they show reviewers' answers you may not see yet."
)
Said = tuple[str, list[str]]  # a sentence and its detail lines


def version_name(version: InstrumentVersion | Definition) -> str:
    """'RQS 1.0', 'METRICS 1.0': the instrument's short name with its version."""
    name = version.short_name or version.name
    return name if version.version in name else f"{name} {version.version}"


def choices_text(entry: Any, choices: Sequence[str] | None, na: bool = False) -> str:
    """An answer as its option labels ('Does not apply', 'Not answered' otherwise)."""
    if na:
        return _("Does not apply")
    if choices is None:
        return _("Not answered")
    if not choices:
        return _("None of these")
    labels = {o.code: o.label for o in entry.options} if entry is not None else {}
    # A code no frozen definition knows is shown as stored rather than hidden.
    return "; ".join(labels.get(code, code) for code in choices)


@dataclass
class Words:
    """What one page of events needs to be put in words, fetched in bulk."""

    versions: dict[str, InstrumentVersion]
    studies: dict[str, list[Study]]
    seen_studies: set[int]
    definitions: dict[str, Definition] = field(default_factory=dict)

    def version(self, key: Any) -> str:
        found = self.versions.get(str(key))
        return version_name(found) if found else _("an instrument no longer listed")

    def definition(self, key: str) -> Definition | None:
        if key not in self.definitions and key in self.versions:
            self.definitions[key] = self.versions[key].as_definition()
        return self.definitions.get(key)

    def may_see_answers(self, target: str) -> bool:
        found = self.studies.get(target, [])
        return bool(found) and all(s.pk in self.seen_studies for s in found)


Writer = Callable[[str, str, Mapping[str, Any], Words], Said]


def _quoted(title: str) -> str:
    return f"'{title}'" if title else _("a study")


def _value(value: Any) -> str:
    """Any stored detail value as text: lists joined, booleans as yes/no."""
    if value is None or value == "":
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or _("none")
    return str(value)


def _field(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").capitalize()


def generic_sentence(
    actor: str, action: str, target: str, detail: Mapping[str, Any]
) -> Said:
    # An action without a sentence of its own: its code, as the log stored it.
    sentence = f"{actor} " + action.replace("-", " ").replace("_", " ")
    if target:
        sentence += f": {target}"
    if set(detail) == {"old", "new"}:
        return sentence, [
            _("Changed: %(old)s -> %(new)s")
            % {"old": _value(detail["old"]), "new": _value(detail["new"])}
        ]
    return sentence, [f"{_field(k)}: {_value(v)}" for k, v in detail.items()]


def _export(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
    if d.get("form") == "history":
        return _("%(actor)s downloaded an assessment's full history (CSV)") % {
            "actor": actor
        }, []
    details = [_("Rows: %(rows)s") % {"rows": d["rows"]}] if "rows" in d else []
    if d.get("european"):
        details.append(_("Spreadsheet style: European (semicolons, decimal commas)"))
    sentence = _("%(actor)s exported the %(form)s table of %(version)s as %(format)s")
    return sentence % {
        "actor": actor,
        "form": str(d.get("form", "")).replace("_", " "),
        "version": w.version(d.get("instrument")),
        "format": str(d.get("format", "")).upper(),
    }, details


def _reopen(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
    # The target is str(assessment): "<title> / <version key> / <reviewer>".
    parts = target.rsplit(" / ", 2)
    title, key, who = parts if len(parts) == 3 else (target, "", "")
    words = {
        "actor": actor,
        "reviewer": who,
        "study": _quoted(title),
        "version": w.version(key),
    }
    if who == "consensus":
        sentence = _("%(actor)s reopened the consensus of %(study)s (%(version)s)")
    else:
        sentence = _(
            "%(actor)s reopened %(reviewer)s's assessment of %(study)s (%(version)s)"
        )
    return sentence % words, [
        _("Reason: %(reason)s") % {"reason": _value(d.get("reason"))}
    ]


def _consensus(with_version: Any, without_version: Any) -> Writer:
    def write(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
        words = {"actor": actor, "study": _quoted(target)}
        if "version" in d:
            sentence = str(with_version) % {**words, "version": w.version(d["version"])}
        else:
            sentence = str(without_version) % words
        if not w.may_see_answers(target):
            return sentence, [str(HIDDEN)] if set(d) - {"version"} else []
        details = []
        if "agreed" in d:
            details.append(
                _("Agreed items filled in: %(agreed)s; disputed: %(disputed)s")
                % {"agreed": d["agreed"], "disputed": d["disputed"]}
            )
        if "total" in d:
            details.append(_("Final total: %(total)s") % {"total": d["total"]})
        if d.get("asked_again"):
            details.append(
                _("To decide again: item %(items)s")
                % {"items": _value(d["asked_again"])}
            )
        if d.get("rewritten"):
            details.append(
                _("Rewritten as agreed: item %(items)s")
                % {"items": _value(d["rewritten"])}
            )
        return sentence, details

    return write


def _resolve(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
    code = str(d.get("item", ""))
    words = {"actor": actor, "code": code, "study": _quoted(target)}
    if "version" in d:
        sentence = _(
            "%(actor)s decided item %(code)s of the consensus on %(study)s "
            "(%(version)s)"
        ) % {**words, "version": w.version(d["version"])}
    else:
        sentence = (
            _("%(actor)s decided item %(code)s of the consensus on %(study)s") % words
        )
    if not w.may_see_answers(target):
        return sentence, [str(HIDDEN)]
    entry = _entry(w, d, code)
    details = [
        _("Decided: %(answer)s") % {"answer": choices_text(entry, d.get("choices"))}
    ]
    sources = d.get("sources") or {}
    if isinstance(sources, Mapping):
        details += [
            _("%(reviewer)s had: %(answer)s")
            % {"reviewer": who, "answer": choices_text(entry, c)}
            for who, c in sources.items()
        ]
    return sentence, details


def _entry(w: Words, d: Mapping[str, Any], code: str) -> Any:
    """The item decided; older events name no version: one whose options fit."""
    sources = d.get("sources") if isinstance(d.get("sources"), Mapping) else {}
    wanted = {str(c) for c in d.get("choices") or []}
    for given in (sources or {}).values():
        wanted |= {str(c) for c in given or []}
    keys = [str(d["version"])] if d.get("version") else list(w.versions)
    for key in keys:
        definition = w.definition(key)
        found = definition.entry(code) if definition else None
        if found is not None and wanted <= {o.code for o in found.options}:
            return found
    return None


def _member_set(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
    role = dict(Membership.Role.choices).get(str(d.get("role")), _value(d.get("role")))
    words = {"actor": actor, "member": target, "role": role}
    if d.get("adjudicator"):
        return _(
            "%(actor)s made %(member)s a member of the project: %(role)s, adjudicator"
        ) % words, []
    return _("%(actor)s made %(member)s a member of the project: %(role)s") % words, []


def _simple(template: Any, *keys: str) -> Writer:
    """A sentence with the actor, the target and named detail values filled in."""

    def write(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
        values = {k: _value(d.get(k)) for k in keys}
        if "version" in d:
            values["version"] = w.version(d["version"])
        text = str(template) % {
            "actor": actor,
            "target": _quoted(target),
            "name": target,
            **values,
        }
        shown = set(keys) | {"version"}
        return text, [
            f"{_field(k)}: {_value(v)}" for k, v in d.items() if k not in shown
        ]

    return write


def _by_version(template: Any) -> Writer:
    def write(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
        details = [f"{_field(k)}: {_value(v)}" for k, v in d.items()]
        return str(template) % {"actor": actor, "version": w.version(target)}, details

    return write


# Requested or downloaded, by report kind: (without, with) the version.
REPORT_SENTENCES: dict[tuple[str, str], tuple[Any, Any]] = {
    ("requested", "assessment"): (
        gettext_lazy("%(actor)s requested an assessment report"),
        gettext_lazy("%(actor)s requested an assessment report (%(version)s)"),
    ),
    ("requested", "study"): (
        gettext_lazy("%(actor)s requested a study report"),
        gettext_lazy("%(actor)s requested a study report (%(version)s)"),
    ),
    ("requested", "project"): (
        gettext_lazy("%(actor)s requested a project report"),
        gettext_lazy("%(actor)s requested a project report (%(version)s)"),
    ),
    ("downloaded", "assessment"): (
        gettext_lazy("%(actor)s downloaded an assessment report"),
        gettext_lazy("%(actor)s downloaded an assessment report (%(version)s)"),
    ),
    ("downloaded", "study"): (
        gettext_lazy("%(actor)s downloaded a study report"),
        gettext_lazy("%(actor)s downloaded a study report (%(version)s)"),
    ),
    ("downloaded", "project"): (
        gettext_lazy("%(actor)s downloaded a project report"),
        gettext_lazy("%(actor)s downloaded a project report (%(version)s)"),
    ),
}


def _report(verb: str) -> Writer:
    def write(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
        which = f" ({w.version(d['version'])})" if "version" in d else ""
        known = REPORT_SENTENCES.get((verb, target))
        if known is None:
            # A kind of report this log does not know: its code, in English.
            return (
                f"{actor} {verb} {_article(target)} {target or 'a'} report{which}",
                [],
            )
        words = {"actor": actor}
        if "version" in d:
            words["version"] = w.version(d["version"])
            return str(known[1]) % words, []
        return str(known[0]) % words, []

    return write


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _studies_import(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
    words = {
        "actor": actor,
        "count": _value(d.get("created")),
        "format": target.upper(),
    }
    if target:
        sentence = _("%(actor)s imported %(count)s studies from %(format)s file")
    else:
        sentence = _("%(actor)s imported %(count)s studies from a file")
    return sentence % words, [
        _("Duplicates skipped: %(count)s") % {"count": _value(d.get("duplicates"))}
    ]


def _on_off(value: Any) -> str:
    if value == "on":
        return pgettext("blinding", "on")
    if value == "off":
        return pgettext("blinding", "off")
    return _value(value)


def _blinding(actor: str, target: str, d: Mapping[str, Any], w: Words) -> Said:
    new = d.get("new")
    if new == "on":
        sentence = _("%(actor)s turned blinding on") % {"actor": actor}
    elif new == "off":
        sentence = _("%(actor)s turned blinding off") % {"actor": actor}
    else:
        sentence = f"{actor} turned blinding {_value(new)}"
    return sentence, [
        _("Blinding: %(old)s -> %(new)s")
        % {"old": _on_off(d.get("old")), "new": _on_off(new)}
    ]


SENTENCES: dict[str, Writer] = {
    "export": _export,
    "reopen": _reopen,
    "consensus-start": _consensus(
        gettext_lazy("%(actor)s started the consensus on %(study)s (%(version)s)"),
        gettext_lazy("%(actor)s started the consensus on %(study)s"),
    ),
    "consensus-finalise": _consensus(
        gettext_lazy("%(actor)s finalised the consensus on %(study)s (%(version)s)"),
        gettext_lazy("%(actor)s finalised the consensus on %(study)s"),
    ),
    "consensus-discard": _consensus(
        gettext_lazy("%(actor)s discarded the consensus on %(study)s (%(version)s)"),
        gettext_lazy("%(actor)s discarded the consensus on %(study)s"),
    ),
    "consensus-refresh": _consensus(
        gettext_lazy("%(actor)s refreshed the consensus on %(study)s (%(version)s)"),
        gettext_lazy("%(actor)s refreshed the consensus on %(study)s"),
    ),
    "consensus-resolve": _resolve,
    "consensus-adopt-quote": _simple(
        gettext_lazy(
            "%(actor)s adopted a reviewer's quote for item %(item)s in the "
            "consensus of %(target)s"
        ),
        "item",
        "quote",
    ),
    "paper-uploaded": _simple(gettext_lazy("%(actor)s attached a paper to %(target)s")),
    "paper-replaced": _simple(
        gettext_lazy("%(actor)s replaced the paper of %(target)s")
    ),
    "paper-restored": _simple(
        gettext_lazy("%(actor)s made an earlier paper of %(target)s current again")
    ),
    "member-set": _member_set,
    "member-removed": _simple(
        gettext_lazy("%(actor)s removed %(name)s from the project")
    ),
    "account-created": _simple(
        gettext_lazy("%(actor)s created an account for %(name)s")
    ),
    "exclude": _simple(gettext_lazy("%(actor)s excluded %(target)s from the review")),
    "conflict": _simple(
        gettext_lazy(
            "%(actor)s recorded that %(reviewer)s has a conflict of interest with "
            "%(target)s"
        ),
        "reviewer",
    ),
    "reassign": _simple(
        gettext_lazy(
            "%(actor)s handed an assessment of %(target)s from %(from)s to %(to)s"
        ),
        "from",
        "to",
        "assessment",
    ),
    "assign-not-independent": _simple(
        gettext_lazy(
            "%(actor)s assigned %(reviewer)s to review %(target)s (%(version)s) "
            "although they may have seen others' answers"
        ),
        "reviewer",
    ),
    "auto-assign": _by_version(
        gettext_lazy("%(actor)s assigned reviewers automatically for %(version)s")
    ),
    "bulk-assign": _by_version(
        gettext_lazy("%(actor)s assigned reviewers to chosen studies for %(version)s")
    ),
    "include": _simple(
        gettext_lazy("%(actor)s included %(target)s in the review again")
    ),
    "import-scores": _by_version(
        gettext_lazy("%(actor)s imported scores for %(version)s")
    ),
    "import-studies": _studies_import,
    "report-request": _report("requested"),
    "download": _report("downloaded"),
    "blinding turned on": _blinding,
    "blinding turned off": _blinding,
    "instruments changed": _simple(
        gettext_lazy("%(actor)s changed the project's instruments")
    ),
    # Through the REST API (assessments/api): reads of answers and every write.
    "api-read-answers": _simple(
        gettext_lazy("%(actor)s read the answers of %(target)s through the API")
    ),
    "api-answer": _simple(
        gettext_lazy("%(actor)s saved item %(item)s of %(target)s through the API"),
        "item",
    ),
    "api-submit": _simple(
        gettext_lazy("%(actor)s submitted an assessment of %(target)s through the API")
    ),
    "api-assign": _simple(
        gettext_lazy(
            "%(actor)s assigned %(reviewer)s to review %(target)s (%(version)s) "
            "through the API"
        ),
        "reviewer",
    ),
    "api-study-add": _simple(
        gettext_lazy("%(actor)s added %(target)s through the API")
    ),
    "api-import-studies": _simple(
        gettext_lazy("%(actor)s imported %(created)s studies through the API"),
        "created",
    ),
    "api-token-created": _simple(
        gettext_lazy(
            "%(actor)s made the API token %(target)s, valid until %(expires)s "
            "(read and write: %(write)s)"
        ),
        "expires",
        "write",
    ),
    "api-token-revoked": _simple(
        gettext_lazy("%(actor)s revoked the API token %(target)s")
    ),
}
