"""Calibration workflows: references, training and hidden checks, the project's
thresholds, and certificates kept in step with the figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    Answer,
    Assessment,
    AuditEvent,
    CalibrationSettings,
    Certification,
    InstrumentVersion,
    Membership,
    Project,
    Reference,
    Study,
)
from ..selectors.audit import person, version_name
from ..selectors.calibration import calibration_rows, settings_for, threshold_of
from .notifications import notify_assigned

TRAINING, CHECK = Assessment.Kind.TRAINING, Assessment.Kind.CHECK
REVIEWING = (Membership.Role.LEAD, Membership.Role.REVIEWER)
SETTING_FIELDS = CalibrationSettings.RULES


# --- references ------------------------------------------------------------------


def _check_source(source: Assessment) -> str:
    """The source's name as trainees will see it, or why it cannot be one."""
    if source.is_consensus:
        if source.status != Assessment.Status.SUBMITTED or source.stale:
            raise ValidationError(
                _(
                    "Only a finalised consensus can be the reference; this one is "
                    "still open or out of date."
                )
            )
        return "Consensus"
    if source.kind != Assessment.Kind.REVIEWER:
        raise ValidationError(
            _("A training, check or re-read assessment cannot be the reference.")
        )
    if source.status != Assessment.Status.SUBMITTED:
        raise ValidationError(_("Only a submitted assessment can be the reference."))
    return person(source.reviewer)


@transaction.atomic
def mark_reference(
    *,
    source: Assessment,
    user: Any,
    rationales: Mapping[str, str] | None = None,
) -> Reference:
    """Make a finalised consensus or an expert's submitted assessment the
    reference for its study and version, copying its answers as they stand."""
    study, version = source.study, source.version
    expert = _check_source(source)
    definition = version.as_definition()
    codes = {i.code for i in definition.items}
    unknown = sorted(set(rationales or {}) - codes)
    if unknown:
        raise ValidationError(
            _("%(instrument)s has no item %(items)s.")
            % {"instrument": version_name(version), "items": ", ".join(unknown)}
        )
    answers = {
        a.item_code: {
            "choices": a.choices,
            "points": None if a.points is None else str(a.points),
            "evidence": a.evidence,
            "page": a.page,
            "quotes": a.quotes,
        }
        for a in Answer.objects.filter(assessment=source)
    }
    previous = Reference.objects.select_for_update().filter(
        study=study, version=version, current=True
    )
    kept = {}
    for old in previous:
        kept = dict(old.rationales or {})
        old.current = False
        old._change_reason = "replaced"  # type: ignore[attr-defined]
        old.save(update_fields=["current"])
    reference = Reference.objects.create(
        study=study,
        version=version,
        source=source,
        expert=expert,
        answers=answers,
        rationales={
            k: v.strip()
            for k, v in {**kept, **dict(rationales or {})}.items()
            if k in codes and v.strip()
        },
        total=source.total,
        percent=source.percent,
        band=source.band,
        result=source.result,
        created_by=user,
    )
    AuditEvent.objects.record(
        study.project_id,
        user,
        "reference",
        str(study),
        {"version": version.key, "source": expert, "replaced": bool(kept)},
    )
    refresh_certifications(study.project, version)
    return reference


@transaction.atomic
def set_rationales(
    *, reference: Reference, rationales: Mapping[str, str], user: Any
) -> Reference:
    """Explain the reference's answers item by item (blank removes one)."""
    codes = {i.code for i in reference.version.as_definition().items}
    merged = dict(reference.rationales or {})
    for code, text in rationales.items():
        if code not in codes:
            raise ValidationError(
                _("There is no item %(code)s in this instrument.") % {"code": code}
            )
        if text.strip():
            merged[code] = text.strip()
        else:
            merged.pop(code, None)
    reference.rationales = merged
    reference._change_reason = "rationales"  # type: ignore[attr-defined]
    reference.save(update_fields=["rationales"])
    AuditEvent.objects.record(
        reference.study.project_id,
        user,
        "reference-rationale",
        str(reference.study),
        {"version": reference.version.key, "items": sorted(rationales)},
    )
    return reference


@transaction.atomic
def withdraw_reference(*, reference: Reference, user: Any) -> None:
    """The study has no reference any more; feedback already given stays in
    the history, certificates are re-checked."""
    reference.current = False
    reference._change_reason = "withdrawn"  # type: ignore[attr-defined]
    reference.save(update_fields=["current"])
    AuditEvent.objects.record(
        reference.study.project_id,
        user,
        "reference-withdrawn",
        str(reference.study),
        {"version": reference.version.key},
    )
    refresh_certifications(reference.study.project, reference.version)


# --- training and hidden checks ------------------------------------------------


def _trainable(study: Study, version: InstrumentVersion) -> None:
    if not study.training:
        raise ValidationError(
            _("%(study)s: is not a training study.") % {"study": study}
        )
    if study.excluded:
        raise ValidationError(_("%(study)s: is excluded.") % {"study": study})
    if not Reference.objects.filter(
        study=study, version=version, current=True
    ).exists():
        raise ValidationError(
            _("%(study)s: has no %(instrument)s reference yet; mark one first.")
            % {"study": study, "instrument": version_name(version)}
        )


def _may_train(project: Project, reviewer: Any) -> None:
    if not Membership.objects.filter(
        project=project, user_id=reviewer.pk, role__in=REVIEWING
    ).exists():
        raise ValidationError(
            _("%(reviewer)s is not a reviewer of this project.")
            % {"reviewer": person(reviewer)}
        )


@transaction.atomic
def assign_training(
    *,
    project: Project,
    version: InstrumentVersion,
    studies: Sequence[Study],
    reviewers: Sequence[Any],
    user: Any,
) -> int:
    """Give reviewers the training studies, all or nothing; skips what they
    already have. Returns how many training assessments were made."""
    problems: list[str] = []
    for study in studies:
        try:
            _trainable(study, version)
        except ValidationError as exc:
            problems += exc.messages
    for reviewer in reviewers:
        try:
            _may_train(project, reviewer)
        except ValidationError as exc:
            problems += exc.messages
    if problems:
        raise ValidationError([_("Nothing was changed."), *problems])
    have = set(
        Assessment.objects.filter(
            study__in=studies, version=version, reviewer__in=reviewers
        ).values_list("study_id", "reviewer_id")
    )
    made = [
        Assessment(study=s, version=version, reviewer=r, kind=TRAINING)
        for s in studies
        for r in reviewers
        if (s.pk, r.pk) not in have
    ]
    Assessment.objects.bulk_create(made)
    AuditEvent.objects.record(
        project.pk,
        user,
        "assign-training",
        version.key,
        {"studies": len(studies), "reviewers": len(reviewers), "made": len(made)},
    )
    return len(made)


@transaction.atomic
def start_training(
    *, study: Study, version: InstrumentVersion, user: Any
) -> Assessment:
    """A reviewer takes a training study themselves."""
    _trainable(study, version)
    _may_train(study.project, user)
    if Assessment.objects.filter(study=study, version=version, reviewer=user).exists():
        raise ValidationError(
            _(
                "%(study)s: you already have it (training or review); open it from "
                "My training."
            )
            % {"study": study}
        )
    return Assessment.objects.create(
        study=study, version=version, reviewer=user, kind=TRAINING
    )


@transaction.atomic
def assign_hidden_check(
    *, study: Study, version: InstrumentVersion, reviewer: Any, user: Any
) -> Assessment:
    """Assign a gold study like a live one; it feeds calibration, not the review."""
    project = study.project
    if not settings_for(project, version).hidden_checks:
        raise ValidationError(
            _(
                "Hidden checks are off for this instrument; switch them on under "
                "Calibration settings first."
            )
        )
    _trainable(study, version)
    _may_train(project, reviewer)
    if Assessment.objects.filter(study=study, reviewer=reviewer).exists():
        raise ValidationError(
            _("%(reviewer)s has already seen this study; a check must be new to them.")
            % {"reviewer": person(reviewer)}
        )
    check = Assessment.objects.create(
        study=study, version=version, reviewer=reviewer, kind=CHECK
    )
    AuditEvent.objects.record(
        project.pk,
        user,
        "assign-check",
        str(study),
        {"reviewer": person(reviewer), "version": version.key},
    )
    # The same e-mail as any assignment: a check must not announce itself.
    notify_assigned([check])
    return check


# --- settings and certificates -------------------------------------------------


@transaction.atomic
def save_settings(
    *,
    project: Project,
    version: InstrumentVersion,
    values: Mapping[str, Any],
    user: Any,
) -> CalibrationSettings:
    """Store the lead's calibration rules and re-check every certificate."""
    settings = settings_for(project, version)
    before = {name: str(getattr(settings, name)) for name in SETTING_FIELDS}
    for name in SETTING_FIELDS:
        if name in values:
            setattr(settings, name, values[name])
    settings.updated_by = user
    settings.full_clean()
    settings.save()
    after = {name: str(getattr(settings, name)) for name in SETTING_FIELDS}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    AuditEvent.objects.record(
        project.pk, user, "calibration-settings", version.key, {"changed": changed}
    )
    refresh_certifications(project, version)
    return settings


def refresh_certifications(
    project: Project,
    version: InstrumentVersion,
    reviewer_ids: Iterable[Any] | None = None,
) -> dict[str, int]:
    """Certify whoever now meets the threshold; withdraw certificates that no
    longer do (the history keeps them). Nothing while certification is off."""
    settings = settings_for(project, version)
    existing = {
        c.reviewer_id: c
        for c in Certification.objects.filter(project=project, version=version)
    }
    if not settings.certification:
        return {"certified": 0, "withdrawn": 0}
    threshold = threshold_of(settings, version.as_definition())
    ids = None if reviewer_ids is None else list(reviewer_ids)
    rows = [r for r in calibration_rows(project, ids) if r["instrument"] == version.key]
    users = dict(
        Membership.objects.filter(project=project).values_list(
            "user__username", "user_id"
        )
    )
    certified = withdrawn = 0
    now = timezone.now()
    for row in rows:
        user_id = users.get(row["reviewer"])
        if user_id is None:
            continue
        found = existing.get(user_id)
        if not row["still_needed"] and found is None:
            Certification.objects.create(
                project=project,
                version=version,
                reviewer_id=user_id,
                certified_at=now,
                figures=_figures_kept(row),
                threshold=threshold.__dict__,
            )
            certified += 1
        elif row["still_needed"] and found is not None:
            found._change_reason = "no longer meets the threshold"  # type: ignore[attr-defined]
            found.delete()
            withdrawn += 1
    if certified or withdrawn:
        AuditEvent.objects.record(
            project.pk,
            None,
            "certification",
            version.key,
            {"certified": certified, "withdrawn": withdrawn},
        )
    return {"certified": certified, "withdrawn": withdrawn}


def _figures_kept(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in (
            "training_studies",
            "percent_agreement",
            "ac1",
            "mean_total_difference",
            "mean_absolute_total_difference",
            "unit",
        )
    }


def uncertified(project: Project, version: InstrumentVersion) -> set[Any] | None:
    """Reviewers automatic assignment must skip; None while certification is off."""
    if not settings_for(project, version).certification:
        return None
    members = set(
        Membership.objects.filter(project=project, role__in=REVIEWING).values_list(
            "user_id", flat=True
        )
    )
    done = set(
        Certification.objects.filter(project=project, version=version).values_list(
            "reviewer_id", flat=True
        )
    )
    return members - done


def certification_warning(
    project: Project, version: InstrumentVersion, reviewer: Any
) -> str | None:
    """The warning a manual assignment of an uncertified reviewer carries."""
    skip = uncertified(project, version)
    if skip is None or reviewer.pk not in skip:
        return None
    return _(
        "%(reviewer)s is not yet certified for %(instrument)s in this project; "
        "the assignment was made anyway."
    ) % {"reviewer": person(reviewer), "instrument": version_name(version)}


def on_submitted(assessment: Assessment) -> None:
    """After a training or check submission: the reviewer may now be certified."""
    if assessment.kind in (TRAINING, CHECK):
        refresh_certifications(
            assessment.study.project, assessment.version, [assessment.reviewer_id]
        )
