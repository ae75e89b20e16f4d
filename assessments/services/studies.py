"""Adding and editing studies by hand (imports are services/imports.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..bibliography import normalise_title
from ..models import Project, Study
from .changes import bump_data_revision


@transaction.atomic
def add_study(*, project: Project, study: Study, user: Any) -> Study:
    """Save a new study unless one with the same title is in the project."""
    study.project, study.created_by = project, user
    study.title_key = normalise_title(study.title)
    duplicate = project.studies.filter(title_key=study.title_key).first()
    if duplicate is not None:
        raise ValidationError(
            _("A study with this title exists: %(study)s.") % {"study": duplicate},
            code="duplicate",
        )
    study.full_clean(exclude=["title_key"])
    study.save()
    bump_data_revision(project.pk)
    return study


@transaction.atomic
def update_study(*, study: Study, user: Any) -> Study:
    """Save a study's edited details (year, modality... feed the figures)."""
    study.title_key = normalise_title(study.title)
    study.save()
    bump_data_revision(study.project_id)
    return study
