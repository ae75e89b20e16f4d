"""What an export holds: the assessments a user may see and their answers.

Same permissions and blinding as the pages: rows come only from
`access.visible_assessments`, so nobody exports a co-reviewer's answers before
every assigned reviewer has submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.utils.translation import gettext as _

from .. import access
from ..instruments import Definition
from ..models import (
    Answer,
    Assessment,
    InstrumentVersion,
    Paper,
    Project,
    ProjectInstrument,
)
from .review import review_work
from .wording import Wording, wording_for

ANSWER_FIELDS = ["assessment_id", "item_code", "choices", "points", "na", "evidence"]
ANSWER_FIELDS += ["page", "comment", "updated_at", "quotes"]


class ExportError(ValueError):
    """A parameter no export can be made from (the view answers 400)."""


@dataclass(frozen=True)
class ExportData:
    """What the user may see, read with a constant number of queries."""

    project: Project
    version: InstrumentVersion
    definition: Definition
    assessments: list[Assessment]
    answers: dict[int, dict[str, dict[str, Any]]]
    # What the labels are in: the reader's language when the instrument has
    # a translation into it, else English. Codes are the same in every one.
    wording: Wording | None = None

    @cached_property
    def order(self) -> dict[str, int]:
        return {code: n for n, code in enumerate(entry_codes(self.definition))}

    @cached_property
    def by_points(self) -> set[str]:
        """Items whose wide cell is their points rather than the chosen codes."""
        if self.definition.kind != "points":
            return set()
        return {item.code for item in self.definition.items}

    @cached_property
    def has_papers(self) -> bool:
        """Whether any study of the project has a paper, so answers may quote it.

        Papers are no secret among members (blinding hides answers, not the
        paper), so this says nothing about anyone's answers.
        """
        return Paper.objects.filter(study__project=self.project).exists()


def export_data(user: Any, project: Project, version: InstrumentVersion) -> ExportData:
    """Visible review assessments of live studies and their answers: three queries.

    Training studies and calibration work are never part of an export.
    """
    if not ProjectInstrument.objects.filter(project=project, version=version).exists():
        raise ExportError(
            _("%(version)s is not an instrument of this project.")
            % {"version": version.key}
        )
    visible = access.visible_assessments(user, project).filter(
        review_work(), version=version, study__excluded=False
    )
    assessments = list(
        visible.select_related("study", "reviewer").order_by(
            "study__title", "study_id", "-kind", "reviewer__username"
        )
    )
    answers: dict[int, dict[str, dict[str, Any]]] = {a.pk: {} for a in assessments}
    # A subquery, not a list of ids: the SQL stays one statement at any size.
    rows = Answer.objects.filter(assessment__in=visible.values("pk")).values(
        *ANSWER_FIELDS
    )
    for row in rows:
        # An assessment that became visible between the two reads is left out.
        if row["assessment_id"] in answers:
            answers[row["assessment_id"]][row["item_code"]] = row
    wording = wording_for(version)
    return ExportData(
        project, version, wording.definition, assessments, answers, wording
    )


def entry_codes(definition: Definition) -> list[str]:
    return [c.code for c in definition.conditions] + [i.code for i in definition.items]
