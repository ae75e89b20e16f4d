"""The project's audit log and an assessment's history, in a reader's words.

Events and history rows store codes (actions, version keys, option codes,
statuses) so they stay stable; this module turns a page of them into
sentences with names, titles and option labels, in a fixed number of
queries whatever the page holds. Answer details (choices, sources, totals) of
a study are shown only to someone who may see every assessment of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import Substr

from .. import access
from ..instruments import Definition
from ..models import (
    Assessment,
    AuditEvent,
    InstrumentVersion,
    Membership,
    Project,
    Study,
)

HIDDEN = "Details hidden: they show reviewers' answers you may not see yet."
Said = tuple[str, list[str]]  # a sentence and its detail lines
# The part of a study's title that AuditEvent.target keeps (Study.__str__).
TITLE_CHARS = 80


# --- words for people, instruments and answers ---------------------------------------


def person(user: Any) -> str:
    """A person's name as others know them: full name, else user name."""
    if user is None or not getattr(user, "pk", None):
        return "The system"
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def version_name(version: InstrumentVersion | Definition) -> str:
    """'RQS 1.0', 'METRICS 1.0': the instrument's short name with its version."""
    name = version.short_name or version.name
    return name if version.version in name else f"{name} {version.version}"


def choices_text(entry: Any, choices: Sequence[str] | None, na: bool = False) -> str:
    """An answer as its option labels ('Does not apply', 'Not answered' otherwise)."""
    if na:
        return "Does not apply"
    if choices is None:
        return "Not answered"
    if not choices:
        return "None of these"
    labels = {o.code: o.label for o in entry.options} if entry is not None else {}
    # A code no frozen definition knows is shown as stored rather than hidden.
    return "; ".join(labels.get(code, code) for code in choices)


def status_label(assessment_kind: str, status: str) -> str:
    """A status in words; a submitted consensus is the study's final result."""
    if assessment_kind == Assessment.Kind.CONSENSUS and status == "submitted":
        return "Final"
    labels = dict(Assessment.Status.choices)
    return str(labels.get(status, status.replace("_", " ").capitalize()))


# --- the project audit log -----------------------------------------------------------


@dataclass(frozen=True)
class AuditLine:
    """One audit event as a sentence, with its details as 'field: value' lines."""

    when: datetime
    actor: str
    sentence: str
    details: list[str] = field(default_factory=list)


@dataclass
class _Words:
    """What one page of events needs to be put in words, fetched in bulk."""

    versions: dict[str, InstrumentVersion]
    studies: dict[str, list[Study]]
    seen_studies: set[int]
    definitions: dict[str, Definition] = field(default_factory=dict)

    def version(self, key: Any) -> str:
        found = self.versions.get(str(key))
        return version_name(found) if found else "an instrument no longer listed"

    def definition(self, key: str) -> Definition | None:
        if key not in self.definitions and key in self.versions:
            self.definitions[key] = self.versions[key].as_definition()
        return self.definitions.get(key)

    def may_see_answers(self, target: str) -> bool:
        found = self.studies.get(target, [])
        return bool(found) and all(s.pk in self.seen_studies for s in found)


Writer = Callable[[str, Mapping[str, Any], _Words], Said]


def audit_lines(
    user: Any, project: Project, events: Sequence[AuditEvent]
) -> list[AuditLine]:
    """A page of the project's audit events (actors fetched with them), in words."""
    words = _words_for(user, project, events)
    return [_line(event, words) for event in events]


def _words_for(user: Any, project: Project, events: Sequence[AuditEvent]) -> _Words:
    versions = {
        v.key: v for v in InstrumentVersion.objects.select_related("instrument")
    }
    targets = {e.target for e in events if e.target}
    studies: dict[str, list[Study]] = {}
    if targets:
        found = (
            Study.objects.filter(project=project)
            .annotate(short=Substr("title", 1, TITLE_CHARS))
            .filter(short__in=targets)
            .only("pk", "title")
        )
        for study in found:
            studies.setdefault(str(study), []).append(study)
    ids = [s.pk for group in studies.values() for s in group]
    return _Words(versions, studies, _fully_visible(user, project, ids))


def _fully_visible(user: Any, project: Project, study_ids: list[int]) -> set[int]:
    """Studies every assessment of which access.py lets the user see."""
    if not study_ids:
        return set()

    def counts(qs: QuerySet[Assessment]) -> dict[int, int]:
        rows = qs.filter(study_id__in=study_ids).values("study_id")
        return {r["study_id"]: r["n"] for r in rows.annotate(n=Count("pk"))}

    every = counts(Assessment.objects.all())
    shown = counts(access.visible_assessments(user, project))
    return {pk for pk in study_ids if shown.get(pk, 0) == every.get(pk, 0)}


def _line(event: AuditEvent, words: _Words) -> AuditLine:
    detail = event.detail if isinstance(event.detail, dict) else {}
    writer = SENTENCES.get(event.action)
    if writer is None:
        sentence, details = _generic(event.action, event.target, detail)
    else:
        sentence, details = writer(event.target, detail, words)
    actor = person(event.actor)
    return AuditLine(event.created_at, actor, f"{actor} {sentence}", details)


def _quoted(title: str) -> str:
    return f"'{title}'" if title else "a study"


def _value(value: Any) -> str:
    """Any stored detail value as text: lists joined, booleans as yes/no."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "none"
    return str(value)


def _field(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").capitalize()


def _generic(action: str, target: str, detail: Mapping[str, Any]) -> Said:
    sentence = action.replace("-", " ").replace("_", " ")
    if target:
        sentence += f": {target}"
    if set(detail) == {"old", "new"}:
        return sentence, [
            f"Changed: {_value(detail['old'])} -> {_value(detail['new'])}"
        ]
    return sentence, [f"{_field(k)}: {_value(v)}" for k, v in detail.items()]


def _export(target: str, d: Mapping[str, Any], w: _Words) -> Said:
    if d.get("form") == "history":
        return "downloaded an assessment's full history (CSV)", []
    fmt = str(d.get("format", "")).upper()
    form = str(d.get("form", "")).replace("_", " ")
    details = [f"Rows: {d['rows']}"] if "rows" in d else []
    if d.get("european"):
        details.append("Spreadsheet style: European (semicolons, decimal commas)")
    return f"exported the {form} table of {w.version(d.get('instrument'))} as {fmt}", (
        details
    )


def _reopen(target: str, d: Mapping[str, Any], w: _Words) -> Said:
    # The target is str(assessment): "<title> / <version key> / <reviewer>".
    parts = target.rsplit(" / ", 2)
    title, key, who = parts if len(parts) == 3 else (target, "", "")
    whose = "the consensus" if who == "consensus" else f"{who}'s assessment"
    return f"reopened {whose} of {_quoted(title)} ({w.version(key)})", [
        f"Reason: {_value(d.get('reason'))}"
    ]


def _consensus(verb: str) -> Writer:
    def write(target: str, d: Mapping[str, Any], w: _Words) -> Said:
        which = f" ({w.version(d['version'])})" if "version" in d else ""
        sentence = f"{verb} the consensus on {_quoted(target)}{which}"
        if not w.may_see_answers(target):
            return sentence, [HIDDEN] if set(d) - {"version"} else []
        details = []
        if "agreed" in d:
            details.append(
                f"Agreed items filled in: {d['agreed']}; disputed: {d['disputed']}"
            )
        if "total" in d:
            details.append(f"Final total: {d['total']}")
        if d.get("asked_again"):
            details.append(f"To decide again: item {_value(d['asked_again'])}")
        if d.get("rewritten"):
            details.append(f"Rewritten as agreed: item {_value(d['rewritten'])}")
        return sentence, details

    return write


def _resolve(target: str, d: Mapping[str, Any], w: _Words) -> Said:
    code = str(d.get("item", ""))
    which = f" ({w.version(d['version'])})" if "version" in d else ""
    sentence = f"decided item {code} of the consensus on {_quoted(target)}{which}"
    if not w.may_see_answers(target):
        return sentence, [HIDDEN]
    entry = _entry(w, d, code)
    details = [f"Decided: {choices_text(entry, d.get('choices'))}"]
    sources = d.get("sources") or {}
    if isinstance(sources, Mapping):
        details += [
            f"{who} had: {choices_text(entry, c)}" for who, c in sources.items()
        ]
    return sentence, details


def _entry(w: _Words, d: Mapping[str, Any], code: str) -> Any:
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


def _member_set(target: str, d: Mapping[str, Any], w: _Words) -> Said:
    role = dict(Membership.Role.choices).get(str(d.get("role")), _value(d.get("role")))
    also = ", adjudicator" if d.get("adjudicator") else ""
    return f"made {target} a member of the project: {role}{also}", []


def _simple(template: str, *keys: str) -> Writer:
    """A sentence with the target and named detail values filled in."""

    def write(target: str, d: Mapping[str, Any], w: _Words) -> Said:
        values = {k: _value(d.get(k)) for k in keys}
        if "version" in d:
            values["version"] = w.version(d["version"])
        text = template.format(target=_quoted(target), name=target, **values)
        shown = set(keys) | {"version"}
        return text, [
            f"{_field(k)}: {_value(v)}" for k, v in d.items() if k not in shown
        ]

    return write


def _by_version(template: str) -> Writer:
    def write(target: str, d: Mapping[str, Any], w: _Words) -> Said:
        details = [f"{_field(k)}: {_value(v)}" for k, v in d.items()]
        return template.format(version=w.version(target)), details

    return write


def _report(verb: str) -> Writer:
    def write(target: str, d: Mapping[str, Any], w: _Words) -> Said:
        which = f" ({w.version(d['version'])})" if "version" in d else ""
        return f"{verb} {_article(target)} {target or 'a'} report{which}", []

    return write


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _studies_import(target: str, d: Mapping[str, Any], w: _Words) -> Said:
    fmt = target.upper() or "a"
    return f"imported {_value(d.get('created'))} studies from {fmt} file", [
        f"Duplicates skipped: {_value(d.get('duplicates'))}"
    ]


def _blinding(target: str, d: Mapping[str, Any], w: _Words) -> Said:
    return f"turned blinding {_value(d.get('new'))}", [
        f"Blinding: {_value(d.get('old'))} -> {_value(d.get('new'))}"
    ]


SENTENCES: dict[str, Writer] = {
    "export": _export,
    "reopen": _reopen,
    "consensus-start": _consensus("started"),
    "consensus-finalise": _consensus("finalised"),
    "consensus-discard": _consensus("discarded"),
    "consensus-refresh": _consensus("refreshed"),
    "consensus-resolve": _resolve,
    "consensus-adopt-quote": _simple(
        "adopted a reviewer's quote for item {item} in the consensus of {target}",
        "item",
        "quote",
    ),
    "paper-uploaded": _simple("attached a paper to {target}"),
    "paper-replaced": _simple("replaced the paper of {target}"),
    "paper-restored": _simple("made an earlier paper of {target} current again"),
    "member-set": _member_set,
    "member-removed": _simple("removed {name} from the project"),
    "account-created": _simple("created an account for {name}"),
    "exclude": _simple("excluded {target} from the review"),
    "conflict": _simple(
        "recorded that {reviewer} has a conflict of interest with {target}",
        "reviewer",
    ),
    "reassign": _simple(
        "handed an assessment of {target} from {from} to {to}",
        "from",
        "to",
        "assessment",
    ),
    "assign-not-independent": _simple(
        "assigned {reviewer} to review {target} ({version}) although they may "
        "have seen others' answers",
        "reviewer",
    ),
    "auto-assign": _by_version("assigned reviewers automatically for {version}"),
    "bulk-assign": _by_version("assigned reviewers to chosen studies for {version}"),
    "include": _simple("included {target} in the review again"),
    "import-scores": _by_version("imported scores for {version}"),
    "import-studies": _studies_import,
    "report-request": _report("requested"),
    "download": _report("downloaded"),
    "blinding turned on": _blinding,
    "blinding turned off": _blinding,
    "instruments changed": _simple("changed the project's instruments"),
    # Through the REST API (assessments/api): reads of answers and every write.
    "api-read-answers": _simple("read the answers of {target} through the API"),
    "api-answer": _simple("saved item {item} of {target} through the API", "item"),
    "api-submit": _simple("submitted an assessment of {target} through the API"),
    "api-assign": _simple(
        "assigned {reviewer} to review {target} ({version}) through the API",
        "reviewer",
    ),
    "api-study-add": _simple("added {target} through the API"),
    "api-import-studies": _simple(
        "imported {created} studies through the API", "created"
    ),
    "api-token-created": _simple(
        "made the API token {target}, valid until {expires} (read and write: {write})",
        "expires",
        "write",
    ),
    "api-token-revoked": _simple("revoked the API token {target}"),
}
