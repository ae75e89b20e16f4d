"""Calibration reads: each reviewer against the reference, against themselves on
re-reads, over time, and the feedback on one training assessment.

A fixed number of queries whatever the number of reviewers and studies; the
arithmetic is in ``agreement.calibration``. Who may read which rows is
``access.calibration_reviewers``; these functions take the answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _

from ..agreement.calibration import (
    ItemPair,
    Threshold,
    choice_key,
    drift,
    intra_rater_icc,
    item_agreement,
    kappa_per_item,
    meets,
    total_difference,
    unit_of,
)
from ..instruments import Definition
from ..models import (
    Answer,
    Assessment,
    CalibrationSettings,
    Certification,
    InstrumentVersion,
    Membership,
    Project,
    Reference,
)
from ..words import in_words
from .audit import person, version_name
from .studies import project_versions

TRAINING, CHECK, REREAD = (
    Assessment.Kind.TRAINING,
    Assessment.Kind.CHECK,
    Assessment.Kind.REREAD,
)


def settings_for(project: Project, version: InstrumentVersion) -> CalibrationSettings:
    """The project's calibration rules for a version, or the defaults (all off)."""
    found = CalibrationSettings.objects.filter(project=project, version=version).first()
    return found or CalibrationSettings(project=project, version=version)


def threshold_of(settings: CalibrationSettings, definition: Definition) -> Threshold:
    has_total = unit_of(definition.kind) is not None
    return Threshold(
        min_studies=settings.min_training_studies,
        min_agreement=float(settings.min_item_agreement) / 100,
        max_difference=float(settings.max_total_difference) if has_total else None,
    )


def current_references(
    study_ids: Iterable[int], version_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], Reference]:
    """(study, version) -> the current reference, in one query."""
    found = Reference.objects.filter(current=True, study_id__in=list(study_ids))
    if version_ids is not None:
        found = found.filter(version_id__in=list(version_ids))
    return {(r.study_id, r.version_id): r for r in found}


def item_pairs(
    definition: Definition, mine: dict[str, Any], reference: dict[str, Any]
) -> list[ItemPair]:
    return [
        ItemPair(
            item.code,
            tuple(o.code for o in item.options),
            choice_key(mine.get(item.code)),
            choice_key((reference.get(item.code) or {}).get("choices")),
        )
        for item in definition.items
    ]


def _answers_of(assessment_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """First blind submission's choices per assessment (the trainee's attempt)."""
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = Answer.objects.filter(assessment_id__in=assessment_ids).values_list(
        "assessment_id", "item_code", "independent_choices", "choices"
    )
    for assessment_id, code, first, now in rows:
        answers[assessment_id][code] = first if first is not None else now
    return answers


@dataclass
class _Attempt:
    """One submitted training or check, compared with its reference."""

    reviewer_id: int
    version_id: int
    study_id: int
    kind: str
    month: str
    pairs: list[ItemPair]
    difference: float | None


def _submitted(
    project: Project,
    versions: dict[int, Definition],
    kinds: list[str],
    reviewer_ids: list[Any] | None,
) -> Any:
    """Submitted calibration work of these kinds, of only these reviewers if given."""
    found = Assessment.objects.filter(
        study__project=project,
        kind__in=kinds,
        first_submitted_at__isnull=False,
        version_id__in=list(versions),
    )
    return found if reviewer_ids is None else found.filter(reviewer_id__in=reviewer_ids)


def _attempts(
    project: Project,
    versions: dict[int, Definition],
    reviewer_ids: list[Any] | None = None,
) -> list[_Attempt]:
    rows = list(
        _submitted(project, versions, [TRAINING, CHECK], reviewer_ids).values(
            "pk",
            "reviewer_id",
            "version_id",
            "study_id",
            "kind",
            "first_submitted_at",
            "independent_total",
            "independent_percent",
        )
    )
    references = current_references({r["study_id"] for r in rows})
    answers = _answers_of([r["pk"] for r in rows])
    attempts = []
    for row in rows:
        reference = references.get((row["study_id"], row["version_id"]))
        if reference is None:
            continue
        definition = versions[row["version_id"]]
        mine = {
            "total": row["independent_total"],
            "percent": row["independent_percent"],
        }
        theirs = {"total": reference.total, "percent": reference.percent}
        attempts.append(
            _Attempt(
                row["reviewer_id"],
                row["version_id"],
                row["study_id"],
                row["kind"],
                f"{row['first_submitted_at']:%Y-%m}",
                item_pairs(definition, answers[row["pk"]], reference.answers),
                total_difference(definition.kind, mine, theirs),
            )
        )
    return attempts


@dataclass
class _Reread:
    reviewer_id: int
    version_id: int
    first: dict[str, Any]
    second: dict[str, Any]
    totals: tuple[float, float] | None


def _rereads(
    project: Project,
    versions: dict[int, Definition],
    reviewer_ids: list[Any] | None = None,
) -> list[_Reread]:
    rows = list(
        _submitted(project, versions, [REREAD], reviewer_ids).values(
            "pk",
            "reviewer_id",
            "version_id",
            "reread_of_id",
            "independent_total",
            "independent_percent",
            "reread_of__independent_total",
            "reread_of__independent_percent",
        )
    )
    answers = _answers_of([r["pk"] for r in rows] + [r["reread_of_id"] for r in rows])
    found = []
    for row in rows:
        kind = versions[row["version_id"]].kind
        field = "total" if kind == "points" else "percent"
        first: Any = row  # the field names below are built, not literal
        a, b = first[f"reread_of__independent_{field}"], first[f"independent_{field}"]
        totals = (float(a), float(b)) if a is not None and b is not None else None
        found.append(
            _Reread(
                row["reviewer_id"],
                row["version_id"],
                answers[row["reread_of_id"]],
                answers[row["pk"]],
                totals if unit_of(kind) else None,
            )
        )
    return found


def _reviewers(project: Project, reviewer_ids: list[Any] | None) -> list[Any]:
    """Everyone who reviews in the project, or who has calibration work in it."""
    members = Membership.objects.filter(
        project=project, role__in=[Membership.Role.LEAD, Membership.Role.REVIEWER]
    )
    calibrating = Assessment.objects.filter(
        study__project=project, kind__in=[TRAINING, CHECK, REREAD]
    )
    users = get_user_model().objects.filter(
        Q(pk__in=members.filter(role=Membership.Role.REVIEWER).values("user_id"))
        | Q(pk__in=calibrating.values("reviewer_id"))
    )
    if reviewer_ids is not None:
        users = users.filter(pk__in=reviewer_ids)
    return list(users.order_by("username"))


def calibration_rows(
    project: Project, reviewer_ids: list[Any] | None = None
) -> list[dict[str, Any]]:
    """One row per reviewer and instrument version (the calibration JSON).

    ``reviewer_ids`` None: every reviewer; otherwise only those.
    """
    versions = {v.pk: v for v in project_versions(project)}
    definitions = {pk: v.as_definition() for pk, v in versions.items()}
    # Grouped once: the loop below reads each reviewer's work by key.
    attempts: dict[tuple[int, int], list[_Attempt]] = defaultdict(list)
    for a in _attempts(project, definitions, reviewer_ids):
        attempts[(a.reviewer_id, a.version_id)].append(a)
    rereads: dict[tuple[int, int], list[_Reread]] = defaultdict(list)
    for r in _rereads(project, definitions, reviewer_ids):
        rereads[(r.reviewer_id, r.version_id)].append(r)
    certificates = {
        (c.reviewer_id, c.version_id): c
        for c in Certification.objects.filter(project=project)
    }
    rules = {
        s.version_id: s for s in CalibrationSettings.objects.filter(project=project)
    }
    rows = []
    for user in _reviewers(project, reviewer_ids):
        for pk, version in versions.items():
            definition = definitions[pk]
            figures = reviewer_figures(
                definition, attempts[(user.pk, pk)], rereads[(user.pk, pk)]
            )
            settings = rules.get(pk) or CalibrationSettings(
                project=project, version=version
            )
            certificate = certificates.get((user.pk, pk))
            rows.append(
                {
                    "reviewer": user.get_username(),
                    "name": person(user),
                    "instrument": version.key,
                    "instrument_name": version_name(version),
                    **figures,
                    "certification_required": settings.certification,
                    "certified": certificate is not None,
                    "certified_at": (
                        certificate.certified_at.isoformat() if certificate else None
                    ),
                    "still_needed": meets(threshold_of(settings, definition), figures),
                }
            )
    return rows


def reviewer_figures(
    definition: Definition, attempts: Sequence[_Attempt], rereads: Sequence[_Reread]
) -> dict[str, Any]:
    """One reviewer's figures in one version: training, checks, re-reads."""
    training = [a for a in attempts if a.kind == TRAINING]
    checks = [a for a in attempts if a.kind == CHECK]
    overall = item_agreement(p for a in training for p in a.pairs)
    differences = [a.difference for a in training if a.difference is not None]
    reasons: dict[str, str] = {}
    if not training:
        reasons["training"] = _("no training study with a reference submitted yet")
    for name, why in overall.reasons.items():
        reasons[name if name == "ac1" else "percent_agreement"] = why
    unit = unit_of(definition.kind)
    if unit is None:
        reasons["total_difference"] = _("%(instrument)s has no total score") % {
            "instrument": definition.short_name
        }
    kappa = kappa_per_item(
        [{p.code: (p.mine, p.reference) for p in a.pairs} for a in training]
    )
    check_agreement = item_agreement(p for a in checks for p in a.pairs)
    intra_pairs = [
        {
            item.code: (
                choice_key(r.first.get(item.code)),
                choice_key(r.second.get(item.code)),
            )
            for item in definition.items
        }
        for r in rereads
    ]
    totals = [r.totals for r in rereads if r.totals is not None]
    return {
        "training_studies": len(training),
        "percent_agreement": overall.percent,
        "ac1": overall.ac1,
        "kappa": kappa,
        "unit": unit,
        "mean_total_difference": (
            sum(differences) / len(differences) if differences else None
        ),
        "mean_absolute_total_difference": (
            sum(abs(d) for d in differences) / len(differences) if differences else None
        ),
        "hidden_checks": {
            "studies": len(checks),
            "percent_agreement": check_agreement.percent,
        },
        "rereads": len(rereads),
        "intra_rater_kappa": kappa_per_item(intra_pairs),
        "intra_rater_icc": intra_rater_icc(totals),
        "reasons": reasons,
    }


def drift_series(
    project: Project, reviewer_ids: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Per reviewer and version, by month: agreement with the reference (training
    and checks) or the finalised consensus (live reviews), and leniency."""
    versions = {v.pk: v for v in project_versions(project)}
    definitions = {pk: v.as_definition() for pk, v in versions.items()}
    points: dict[tuple[int, int], list[tuple[str, Any, float | None]]] = defaultdict(
        list
    )
    for a in _attempts(project, definitions, reviewer_ids):
        points[(a.reviewer_id, a.version_id)].append(
            (a.month, item_agreement(a.pairs).percent, a.difference)
        )
    for key, row in _live_against_consensus(project, definitions):
        points[key].append(row)
    names = {u.pk: u for u in _reviewers(project, reviewer_ids)}
    series = []
    for (reviewer_id, version_id), rows in sorted(points.items()):
        if reviewer_id not in names:
            continue
        periods = drift(rows)
        series.append(
            {
                "reviewer": names[reviewer_id].get_username(),
                "name": person(names[reviewer_id]),
                "instrument": versions[version_id].key,
                "unit": unit_of(definitions[version_id].kind),
                "periods": [p.__dict__ for p in periods],
            }
        )
    return series


def _live_against_consensus(
    project: Project, definitions: dict[int, Definition]
) -> list[tuple[tuple[int, int], tuple[str, Any, float | None]]]:
    """Each live reviewer's first submission against the study's final consensus."""
    finals = Assessment.objects.filter(
        study__project=project,
        study__training=False,
        kind=Assessment.Kind.CONSENSUS,
        status=Assessment.Status.SUBMITTED,
        stale=False,
        version_id__in=list(definitions),
    ).values("pk", "study_id", "version_id", "total", "percent")
    by_study = {(f["study_id"], f["version_id"]): f for f in finals}
    reviews = list(
        Assessment.objects.filter(
            study__project=project,
            study__training=False,
            kind=Assessment.Kind.REVIEWER,
            first_submitted_at__isnull=False,
            version_id__in=list(definitions),
        ).values(
            "pk",
            "reviewer_id",
            "study_id",
            "version_id",
            "first_submitted_at",
            "independent_total",
            "independent_percent",
        )
    )
    reviews = [r for r in reviews if (r["study_id"], r["version_id"]) in by_study]
    answers = _answers_of(
        [r["pk"] for r in reviews] + [f["pk"] for f in by_study.values()]
    )
    found = []
    for r in reviews:
        final = by_study[(r["study_id"], r["version_id"])]
        definition = definitions[r["version_id"]]
        reference = {c: {"choices": v} for c, v in answers[final["pk"]].items()}
        pairs = item_pairs(definition, answers[r["pk"]], reference)
        mine = {"total": r["independent_total"], "percent": r["independent_percent"]}
        difference = total_difference(definition.kind, mine, final)
        found.append(
            (
                (r["reviewer_id"], r["version_id"]),
                (
                    f"{r['first_submitted_at']:%Y-%m}",
                    item_agreement(pairs).percent,
                    difference,
                ),
            )
        )
    return found


# The keys first, in its order; the rest of a row follows them.
JSON_KEYS = (
    "reviewer",
    "instrument",
    "training_studies",
    "percent_agreement",
    "kappa",
    "ac1",
    "mean_total_difference",
    "certified",
    "certified_at",
    "rereads",
    "intra_rater_icc",
)


def calibration_json(
    project: Project, reviewer_ids: list[Any] | None = None, *, checks: bool = True
) -> list[dict[str, Any]]:
    """The calibration rows as JSON values: every null figure has a reason.

    ``checks`` False leaves out the hidden-check figures (a reviewer must not
    learn which of their studies was a check). Reasons, gaps and units are
    said in the active language (the command runs in the default, English).
    """
    out = []
    for row in calibration_rows(project, reviewer_ids):
        reasons = dict(row["reasons"])
        why = reasons.get("training") or _("no study was compared")
        for name in ("percent_agreement", "ac1", "mean_total_difference"):
            if row[name] is None:
                reasons.setdefault(name, reasons.get("total_difference") or why)
        if not row["certified"]:
            reasons.setdefault(
                "certified_at",
                _("not certified yet")
                if row["certification_required"]
                else _("certification is off for this instrument"),
            )
        row = {**{k: row[k] for k in JSON_KEYS}, **row, "reasons": reasons}
        if not checks:
            row.pop("hidden_checks", None)
        out.append(in_words(_finite(row), _))
    return out


def _finite(value: Any) -> Any:
    """NaN and infinities (a kappa of constant answers) become null: JSON has none."""
    if isinstance(value, float):
        return value if value - value == 0 else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def certificates(project: Project) -> list[Certification]:
    """Who is certified for which version, when, on what figures."""
    return list(
        Certification.objects.filter(project=project)
        .select_related("reviewer", "version__instrument")
        .order_by("version__instrument__code", "reviewer__username")
    )
