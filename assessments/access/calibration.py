"""Calibration: who sees references, training rows and studies (see the package)."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef

from ..models import Assessment, Project, Study
from .policy import (
    TRAINING,
    Action,
    AnyUser,
    Viewer,
    allows,
    calibrating_filter,
    can_see_assessment,
)


def may_see_reference(user: AnyUser, assessment: Assessment) -> bool:
    """The reference answers beside this assessment: the trainee after they
    submit their training; leads and staff who are not training on the study.
    A hidden check never shows its reference to the reviewer."""
    if assessment.reviewer_id == user.pk:
        return assessment.kind == TRAINING and assessment.first_submitted_at is not None
    viewer = Viewer.of(user, assessment.study.project)
    if viewer is None or not viewer.manages:
        return False
    return not (
        Study.objects.filter(pk=assessment.study_id)
        .filter(calibrating_filter(viewer, OuterRef("pk")))
        .exists()
    )


def may_see_study_reference(user: AnyUser, reference: Any) -> bool:
    """A study's reference: leads and staff who may see the work it copies."""
    manages = allows(user, reference.study.project, Action.MANAGE)
    return manages and can_see_assessment(user, reference.source)


def calibration_reviewers(user: AnyUser, project: Project) -> list[Any] | None:
    """Whose calibration rows the user may read: None for everyone's."""
    if allows(user, project, Action.MANAGE):
        return None
    return [user.pk] if allows(user, project, Action.VIEW) else []


def sees_training_studies(user: AnyUser, project: Project) -> bool:
    """Leads only: a hidden check must look like any other study."""
    return allows(user, project, Action.MANAGE)
