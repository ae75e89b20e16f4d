"""Reads: what pages, reports and exports show, aggregated in SQL, blinding applied.

studies (lists, queues, a study's assessments), dashboard (the figures' SQL),
agreement (rating matrices and coefficients), consensus (disagreements side by
side), reports (what a report shows), exports (what an export holds).
"""

from .audit import audit_lines
from .history import assessment_history
from .studies import (
    answers_by_item,
    next_open_assessment,
    project_progress,
    project_version,
    project_versions,
    queue_totals,
    reviewer_progress,
    reviewer_queue,
    study_assessments,
    study_assignments,
    study_list,
    with_question_counts,
)

__all__ = [
    "answers_by_item",
    "assessment_history",
    "audit_lines",
    "next_open_assessment",
    "project_progress",
    "project_version",
    "project_versions",
    "queue_totals",
    "reviewer_progress",
    "reviewer_queue",
    "study_assessments",
    "study_assignments",
    "study_list",
    "with_question_counts",
]
