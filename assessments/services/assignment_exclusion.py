"""Which studies are in the review, and who may not review one: exclusion,
inclusion again and conflicts of interest (assignment.py honours them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import AuditEvent, ConflictOfInterest, Study
from .changes import bump_data_revision


def refuse_all(problems: list[str]) -> None:
    if problems:
        raise ValidationError(
            [_("Nothing was changed."), *problems[:10], *_more(len(problems) - 10)]
        )


def _more(n: int) -> list[str]:
    return [_("... and %(n)s more.") % {"n": n}] if n > 0 else []


@transaction.atomic
def exclude_study(*, study: Study, reason: str, user: Any) -> Study:
    if not reason.strip():
        raise ValidationError(_("Give a reason for excluding the study."))
    study.excluded = True
    study.exclusion_reason = reason.strip()
    study._change_reason = f"excluded: {reason.strip()}"  # type: ignore[attr-defined]
    study.save(update_fields=["excluded", "exclusion_reason"])
    AuditEvent.objects.record(
        study.project_id, user, "exclude", str(study), {"reason": reason}
    )
    bump_data_revision(study.project_id)
    return study


@transaction.atomic
def exclude_studies(*, studies: Sequence[Study], reason: str, user: Any) -> int:
    """Exclude the chosen studies, all or nothing (each audited as by hand)."""
    if not reason.strip():
        raise ValidationError(_("Give a reason for excluding the studies."))
    already = [str(s) for s in studies if s.excluded]
    refuse_all([_("%(study)s: already excluded.") % {"study": t} for t in already])
    for study in studies:
        exclude_study(study=study, reason=reason, user=user)
    return len(studies)


@transaction.atomic
def include_study(*, study: Study, user: Any) -> Study:
    """Take an excluded study back into the review."""
    if not study.excluded:
        raise ValidationError(_("%(study)s: is not excluded.") % {"study": study})
    study.excluded = False
    study.exclusion_reason = ""
    study._change_reason = "included again"  # type: ignore[attr-defined]
    study.save(update_fields=["excluded", "exclusion_reason"])
    AuditEvent.objects.record(study.project_id, user, "include", str(study), {})
    bump_data_revision(study.project_id)
    return study


@transaction.atomic
def include_studies(*, studies: Sequence[Study], user: Any) -> int:
    """Include the chosen excluded studies again, all or nothing."""
    refuse_all(
        [
            _("%(study)s: is not excluded.") % {"study": s}
            for s in studies
            if not s.excluded
        ]
    )
    for study in studies:
        include_study(study=study, user=user)
    return len(studies)


@transaction.atomic
def declare_conflict(*, study: Study, reviewer: Any, reason: str, user: Any) -> None:
    ConflictOfInterest.objects.get_or_create(
        study=study, user=reviewer, defaults={"reason": reason, "declared_by": user}
    )
    AuditEvent.objects.record(
        study.project_id, user, "conflict", str(study), {"reviewer": str(reviewer)}
    )
