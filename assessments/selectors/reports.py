"""What each report shows, for its requester's view (blinding applied).

The renderer (renderers/reports.py) turns these contexts into PDF pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import access
from ..models import Assessment, InstrumentVersion, Project, Resolution, Study
from . import dashboard
from .agreement import project_agreement
from .studies import study_assessments, study_assignments

logger = logging.getLogger(__name__)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    project: Project
    version: InstrumentVersion
    user: Any
    study: Study | None = None
    assessment: Assessment | None = None
    appendix: bool = False


def item_rows(assessment: Assessment) -> list[dict[str, Any]]:
    definition = assessment.version.as_definition()
    # Prefetched where many assessments are listed (the project appendix).
    answers = {a.item_code: a for a in assessment.answers.all()}
    result = assessment.result or {}
    rows = []
    entries: tuple[Any, ...] = (*definition.conditions, *definition.items)
    for entry in entries:
        answer = answers.get(entry.code)
        chosen = set(answer.choices or []) if answer else set()
        labels = [o.label for o in entry.options if o.code in chosen]
        item = result.get("items", {}).get(entry.code, {})
        rows.append(
            {
                "code": entry.code,
                "label": entry.label,
                "answer": "; ".join(labels)
                or ("none" if answer and answer.choices == [] else "—"),
                "points": item.get("points") or "",
                "na": entry.code in result.get("na", []),
                "evidence": answer.evidence if answer else "",
                "page": answer.page if answer else "",
                "comment": answer.comment if answer else "",
            }
        )
    return rows


def assessment_context(req: ReportRequest) -> dict[str, Any]:
    assessment = req.assessment
    assert assessment is not None
    return {
        "assessment": assessment,
        "rows": item_rows(assessment),
        "definition": assessment.version.as_definition(),
        "study": assessment.study,
    }


def study_context(req: ReportRequest) -> dict[str, Any]:
    study = req.study
    assert study is not None
    visible = [
        a for a in study_assessments(req.user, study) if a.version_id == req.version.pk
    ]
    reviewers = [a for a in visible if a.kind == "reviewer"]
    consensus = next((a for a in visible if a.kind == "consensus"), None)
    columns = [item_rows(a) for a in reviewers]
    definition = req.version.as_definition()
    entries: tuple[Any, ...] = (*definition.conditions, *definition.items)
    codes = [e.code for e in entries]
    grid = (
        [
            {
                "code": code,
                "label": columns[0][i]["label"] if columns else code,
                "cells": [col[i] for col in columns],
            }
            for i, code in enumerate(codes)
        ]
        if columns
        else []
    )
    # A resolution records each reviewer's answer: those sources reach the
    # report only for someone who may see every reviewer's answers on the study.
    show_sources = access.reviewers_visible(req.user, study, req.version)
    resolutions = _resolutions(consensus, show_sources) if consensus else []
    hidden = study_assignments(study)
    return {
        "study": study,
        "reviewers": reviewers,
        "grid": grid,
        "consensus": consensus,
        "resolutions": resolutions,
        "show_sources": show_sources,
        "consensus_rows": item_rows(consensus) if consensus else [],
        "definition": definition,
        "n_blinded": len(
            [
                a
                for a in hidden
                if a.version_id == req.version.pk and a.kind == "reviewer"
            ]
        )
        - len(reviewers),
    }


def _resolutions(consensus: Assessment, with_sources: bool) -> list[dict[str, Any]]:
    rows = Resolution.objects.filter(consensus=consensus).select_related("resolved_by")
    return [
        {
            "item_code": r.item_code,
            "agreed": r.agreed,
            "choices": r.choices,
            "rationale": r.rationale,
            "resolved_by": r.resolved_by,
            "sources": r.sources if with_sources else {},
        }
        for r in rows
    ]


def project_context(req: ReportRequest, progress: Progress) -> dict[str, Any]:
    project, version = req.project, req.version
    board = dashboard.compute(project, version, dashboard.Filters(), user=req.user)
    progress(30)
    progress(50)
    studies = dashboard.filtered_studies(
        project, version, dashboard.Filters(), floor=project.floor_percent
    )
    studies = dashboard.for_viewer(studies, req.user, project, version)
    rows = list(
        studies.order_by("title", "pk").values(  # type: ignore[misc]
            "uuid", "title", "year", "state", "final_total", "final_percent", "is_final"
        )
    )
    context = {
        "board": board,
        "rows": rows,
        "methods": _methods(project, version, board, req.user),
        "definition": version.as_definition(),
    }
    if req.appendix:
        context["appendix"] = appendix(project, version, req.user)
    return context


def _methods(
    project: Project,
    version: InstrumentVersion,
    board: dashboard.Dashboard,
    user: Any,
) -> str:
    n_reviewers = (
        Assessment.objects.filter(
            study__project=project, version=version, kind="reviewer"
        )
        .values("reviewer")
        .distinct()
        .count()
    )
    sentence = ""
    try:
        sentence = project_agreement(project, version, user).get("methods_sentence", "")
    except Exception:  # agreement is optional context in the report, never fatal
        logger.exception("Agreement figures unavailable for the report")
    definition = version.as_definition()
    convention = (
        "floored at 0" if project.floor_percent else "raw (negative totals allowed)"
    )
    return (
        f"Studies were appraised with {definition.name} (version "
        f"{definition.version}, wording revision {definition.revision}; "
        f"{definition.citation} doi:{definition.doi}) by {n_reviewers} reviewers, "
        f"{project.reviewers_per_study} per study, "
        f"{'blinded' if project.blinding else 'unblinded'} to each other's "
        f"answers until all had submitted. Percentages are {convention}. " + sentence
    )


def appendix(project: Project, version: InstrumentVersion, user: Any) -> list[Any]:
    finals = (
        access.visible_assessments(user, project)
        .filter(version=version, kind="consensus", status="submitted")
        .select_related("study", "version__instrument")
        .prefetch_related("answers")
    )
    return [{"assessment": a, "rows": item_rows(a)} for a in finals[:2000]]


def report_context(req: ReportRequest, progress: Progress) -> dict[str, Any]:
    """The content of one report of any kind."""
    builders = {
        "assessment": lambda: assessment_context(req),
        "study": lambda: study_context(req),
        "project": lambda: project_context(req, progress),
    }
    return builders[req.kind]()
