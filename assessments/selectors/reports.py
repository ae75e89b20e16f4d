"""What each report shows, for its requester's view (blinding applied).

The renderer (renderers/reports.py) turns these contexts into PDF pages.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import access
from ..instruments.judgement import JUDGEMENT_LABELS, aspect_label, override_text
from ..instruments.result import Override
from ..models import Assessment, InstrumentVersion, Project, Resolution, Study
from . import dashboard
from .agreement import project_agreement
from .consensus import is_resolved, quote_views
from .numbers import local_number
from .report_text import instrument_label, methods_text
from .review import review_studies, review_work
from .studies import study_assessments, study_assignments
from .wording import wording_for

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


# --- labels: what a reader sees instead of codes -------------------------------------

# The render's stages, by the progress percent the task stores on the Report
# row when it enters each one. The status page names the stage from the
# percent alone, so the stage needs no field of its own.
STAGES: tuple[tuple[int, Any], ...] = (
    (0, gettext_lazy("Collecting data")),
    (40, gettext_lazy("Drawing figures")),
    (60, gettext_lazy("Laying out the PDF")),
    (95, gettext_lazy("Saving the file")),
)
COLLECTING, DRAWING, LAYING_OUT, SAVING = (percent for percent, _name in STAGES)
STATUS_WORDS = {
    "queued": gettext_lazy("Waiting for a worker"),
    "done": gettext_lazy("Ready"),
    "failed": gettext_lazy("Failed"),
}
# The dashboard's words, so the summary table and the progress figure agree.
STATE_LABELS = {**dashboard.STATE_LABELS, "excluded": gettext_lazy("Excluded")}


def report_stage(status: str, progress: int) -> str:
    """The stage a report is in, in words, from its status and stored percent."""
    if status != "running":
        return str(STATUS_WORDS.get(status, status.capitalize()))
    return str(next(name for start, name in reversed(STAGES) if progress >= start))


def report_stages(progress: int) -> list[dict[str, Any]]:
    """Every stage of a running render, each done, current or still to come."""
    current = report_stage("running", progress)
    names = [str(name) for _start, name in STAGES]
    at = names.index(current)
    return [
        {"name": name, "state": "done" if i < at else "current" if i == at else "todo"}
        for i, name in enumerate(names)
    ]


def choice_labels(entry: Any, choices: list[str] | None) -> str:
    """Chosen options by their labels; "none" for an empty multi-choice answer."""
    if choices is None:
        return "\N{EM DASH}"
    if not choices:
        return _("none")
    options = {o.code: o.label for o in getattr(entry, "options", ())}
    return "; ".join(options.get(c) or _(JUDGEMENT_LABELS.get(c, c)) for c in choices)


def judgement_label(value: str | None) -> str:
    if not value:
        return _("not judged")
    if value in JUDGEMENT_LABELS:
        return _(JUDGEMENT_LABELS[value])
    return value.replace("_", " ").capitalize()


def status_label(assessment: Assessment) -> str:
    if assessment.kind == "consensus" and assessment.status == "submitted":
        return _("Final")
    return assessment.get_status_display()


def _number(value: Any) -> str:
    if value in (None, ""):
        return ""
    return local_number(round(float(value), 2), trim=True)


def score_line(assessment: Assessment) -> dict[str, Any]:
    """Points out of the maximum first, then the percentage, then the band."""
    result = assessment.result or {}
    wording = wording_for(assessment.version)
    definition = wording.definition
    if result.get("kind") == "judgement" or definition.kind == "judgement":
        judged = result.get("judgements", {})
        return {
            "judgement": True,
            "risk": judgement_label(judged.get("overall_risk_of_bias")),
            "applicability": judgement_label(judged.get("overall_applicability")),
            # "Overall risk of bias", or the instrument's own name for it.
            "risk_heading": _("Overall %(aspect)s")
            % {"aspect": aspect_label(definition, "risk_of_bias").lower()},
            "applicability_heading": aspect_label(
                definition, "applicability", _("Applicability concerns")
            ),
            "overrides": [
                override_text(definition, Override(**o), _=_)
                for o in result.get("overrides", [])
            ],
        }
    percent = result.get("percent_display") or assessment.percent
    return {
        "judgement": False,
        "total": _number(assessment.total),
        "maximum": _number(assessment.maximum),
        "percent": _number(percent),
        "band": wording.band(assessment.band or ""),
    }


def item_number(entry: Any) -> str:
    """The item's number as a reader cites it: "D1", not the key "D1.rob"."""
    code = str(entry.code)
    return code.split(".", 1)[0] if getattr(entry, "judgement", None) else code


def item_rows(assessment: Assessment) -> list[dict[str, Any]]:
    definition = wording_for(assessment.version).definition
    # Prefetched where many assessments are listed (the project appendix).
    answers = {a.item_code: a for a in assessment.answers.all()}
    result = assessment.result or {}
    rows = []
    entries: tuple[Any, ...] = (*definition.conditions, *definition.items)
    for entry in entries:
        answer = answers.get(entry.code)
        item = result.get("items", {}).get(entry.code, {})
        points = item.get("points")
        rows.append(
            {
                "code": item_number(entry),
                "label": entry.label,
                "answer": choice_labels(entry, answer.choices if answer else None),
                "points": "" if points in (None, "") else _number(points),
                "na": entry.code in result.get("na", []),
                "evidence": answer.evidence if answer else "",
                "page": answer.page if answer else "",
                "comment": answer.comment if answer else "",
                # Part of the answer: shown wherever the answer is.
                "quotes": quote_views(answer.quotes) if answer else (),
            }
        )
    return rows


def item_table(assessment: Assessment) -> dict[str, Any]:
    """An assessment's items with the total row that closes the table."""
    return {"rows": item_rows(assessment), "score": score_line(assessment)}


def assessment_context(req: ReportRequest) -> dict[str, Any]:
    assessment = req.assessment
    assert assessment is not None
    definition = wording_for(assessment.version).definition
    return {
        "assessment": assessment,
        "table": item_table(assessment),
        "status": status_label(assessment),
        "definition": definition,
        "instrument": instrument_label(definition, assessment.version),
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
    definition = wording_for(req.version).definition
    entries: tuple[Any, ...] = (*definition.conditions, *definition.items)
    grid = [
        {
            "code": item_number(entry),
            "label": entry.label,
            "cells": [col[i] for col in columns],
        }
        for i, entry in enumerate(entries)
        if columns
    ]
    # A resolution records each reviewer's answer: those sources reach the
    # report only for someone who may see every reviewer's answers on the study.
    show_sources = access.reviewers_visible(req.user, study, req.version)
    resolutions = _resolutions(consensus, definition, show_sources) if consensus else []
    hidden = study_assignments(study)
    n_hidden = len(
        [a for a in hidden if a.version_id == req.version.pk and a.kind == "reviewer"]
    )
    return {
        "study": study,
        "reviewers": reviewers,
        "columns": [
            {"assessment": a, "name": str(a.reviewer), "score": score_line(a)}
            for a in reviewers
        ],
        "grid": grid,
        "consensus": consensus,
        "consensus_status": status_label(consensus) if consensus else "",
        "consensus_score": score_line(consensus) if consensus else None,
        "resolutions": resolutions,
        "n_disputed": len([r for r in resolutions if not r["agreed"]]),
        "n_resolved": len([r for r in resolutions if not r["agreed"] and r["done"]]),
        "show_sources": show_sources,
        "table": item_table(consensus) if consensus else None,
        "definition": definition,
        "instrument": instrument_label(definition, req.version),
        "n_blinded": n_hidden - len(reviewers),
    }


def _resolutions(
    consensus: Assessment, definition: Any, with_sources: bool
) -> list[dict[str, Any]]:
    rows = Resolution.objects.filter(consensus=consensus).select_related("resolved_by")
    out = []
    for r in rows:
        entry = definition.entry(r.item_code)
        sources = r.sources if with_sources else {}
        out.append(
            {
                "item_code": r.item_code,
                "label": entry.label if entry else r.item_code,
                "agreed": r.agreed,
                "done": is_resolved(r),
                "decided": choice_labels(entry, r.choices),
                "rationale": r.rationale,
                "resolved_by": r.resolved_by,
                "sources": [
                    (who, choice_labels(entry, choices))
                    for who, choices in sources.items()
                ],
            }
        )
    return out


def project_context(req: ReportRequest, progress: Progress) -> dict[str, Any]:
    project, version = req.project, req.version
    definition = wording_for(version).definition
    board = dashboard.compute(project, version, dashboard.Filters(), user=req.user)
    board.figures = dashboard.in_wording(board.figures, wording_for(version))
    progress(COLLECTING + 10)
    studies = dashboard.filtered_studies(
        project, version, dashboard.Filters(), floor=project.floor_percent
    )
    # The rule that decides whose results the report may show is access.py's,
    # the same one report_scope records for the download check.
    studies = dashboard.for_viewer(studies, req.user, project, version)
    rows = [
        _study_row(row)
        for row in studies.order_by("title", "pk").values(  # type: ignore[misc]
            "uuid",
            "title",
            "year",
            "state",
            "final_total",
            "final_max",
            "final_percent",
            "is_final",
            "n_submitted",
        )
    ]
    agreement = _agreement(project, version, req.user)
    progress(COLLECTING + 25)
    context = {
        "board": board,
        "rows": rows,
        "summary": summary_table(project, definition, board, rows),
        "n_single": len([r for r in rows if r["single"]]),
        "methods": methods_text(project, version),
        "agreement": agreement,
        "definition": definition,
        "instrument": instrument_label(definition, version),
        "adherence": _adherence(board),
    }
    if req.appendix:
        context["appendix"] = appendix(project, version, req.user)
    return context


def _study_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "state_label": STATE_LABELS.get(row["state"], row["state"]),
        # One reviewer's word: no consensus yet and no second submission.
        "single": not row["is_final"] and row["n_submitted"] == 1,
    }


def _adherence(board: dashboard.Dashboard) -> dict[str, Any]:
    rows = [
        {
            "code": code,
            "label": label,
            "yes": yes,
            "n": n,
            "percent": round(100 * yes / n) if n else None,
        }
        for code, label, yes, n, _mean in board.figures.get("adherence", [])
    ]
    return {"rows": rows, "studies": max((r["n"] for r in rows), default=0)}


def summary_table(
    project: Project,
    definition: Any,
    board: dashboard.Dashboard,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Studies per state, and the spread of the totals the reader may see."""
    counts = board.figures.get("progress", {})
    states = [
        {"label": STATE_LABELS[s], "n": counts.get(s, 0)} for s in dashboard.STATES
    ]
    excluded = review_studies(project).filter(excluded=True).count()
    states.append({"label": STATE_LABELS["excluded"], "n": excluded})
    scored = [r for r in rows if r["final_total"] is not None]
    maxima = sorted({float(r["final_max"]) for r in scored if r["final_max"]})
    return {
        "states": states,
        "n_studies": sum(s["n"] for s in states),
        "judgement": definition.kind == "judgement",
        "n_scored": len(scored),
        "n_single": len([r for r in rows if r["single"]]),
        "points": describe([float(r["final_total"]) for r in scored]),
        "percent": describe(
            [
                float(r["final_percent"])
                for r in scored
                if r["final_percent"] is not None
            ]
        ),
        "maximum": _("%(low)s to %(high)s")
        % {"low": _number(maxima[0]), "high": _number(maxima[-1])}
        if len(maxima) > 1
        else (_number(maxima[0]) if maxima else ""),
    }


def describe(values: list[float]) -> dict[str, str]:
    """Mean +- SD, median [IQR] and range, as a table of a paper prints them."""
    dash = "\N{EM DASH}"
    if not values:
        return {"mean_sd": dash, "median_iqr": dash, "range": dash, "n": "0"}
    mean = statistics.fmean(values)

    def one(value: float) -> str:
        return local_number(value, 1)

    sd = (
        f" \N{PLUS-MINUS SIGN} {local_number(statistics.stdev(values), 1)}"
        if len(values) > 1
        else ""
    )
    q1, q2, q3 = (
        statistics.quantiles(values, n=4, method="inclusive")
        if len(values) > 1
        else (values[0],) * 3
    )
    return {
        "n": str(len(values)),
        "mean_sd": f"{one(mean)}{sd}",
        "median_iqr": f"{one(q2)} [{one(q1)}\N{EN DASH}{one(q3)}]",
        "range": f"{one(min(values))}\N{EN DASH}{one(max(values))}",
    }


def _agreement(
    project: Project, version: InstrumentVersion, user: Any
) -> dict[str, Any]:
    """The agreement figures as agreement reporting gives them, for this viewer."""
    try:
        return project_agreement(project, version, user)
    except Exception:  # agreement is optional context in the report, never fatal
        logger.exception("Agreement figures unavailable for the report")
        return {}


def appendix(project: Project, version: InstrumentVersion, user: Any) -> list[Any]:
    finals = (
        access.visible_assessments(user, project)
        .filter(review_work(), version=version, kind="consensus", status="submitted")
        .select_related("study", "version__instrument")
        .prefetch_related("answers")
    )
    return [{"assessment": a, "table": item_table(a)} for a in finals[:2000]]


def report_context(req: ReportRequest, progress: Progress) -> dict[str, Any]:
    """The content of one report of any kind."""
    builders = {
        "assessment": lambda: assessment_context(req),
        "study": lambda: study_context(req),
        "project": lambda: project_context(req, progress),
    }
    return builders[req.kind]()
