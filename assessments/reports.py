"""PDF reports: build the content a requester may see, render it with WeasyPrint.

WeasyPrint is imported only here, inside the render function: web processes
never pay its import cost. Its URL fetcher is restricted to data: URIs and the
app's own static files, so text typed by reviewers (escaped by the templates)
can never pull in a resource from the network or the file system.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from . import access, dashboard, selectors
from .figures import render_charts
from .models import Assessment, InstrumentVersion, Project, Resolution, Study
from .services.catalogue import definition_of

logger = logging.getLogger(__name__)
RENDERER_VERSION = "1"
Progress = Callable[[int], None]


class FetchRefused(ValueError):
    """A resource outside the app's static files was asked for."""


def restricted_fetcher() -> Any:
    """A WeasyPrint fetcher for data: URIs and our static files, refusing the rest."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class RestrictedFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)  # decoded in memory, no I/O
            parsed = urlparse(url)
            found = (
                finders.find(unquote(parsed.path).lstrip("/"))
                if (parsed.scheme == "static")
                else None
            )
            if not found:
                logger.warning("Report renderer refused to fetch %r", url[:200])
                raise FetchRefused(f"refused to fetch {url[:80]!r}")
            body = Path(str(found)).read_bytes()
            return URLFetcherResponse(url, body, {"Content-Type": _mime(str(found))})

    return RestrictedFetcher(allowed_protocols={"data", "static"})


def _mime(path: str) -> str:
    return "text/css" if path.endswith(".css") else "application/octet-stream"


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(
        string=html, base_url="static:///", url_fetcher=restricted_fetcher()
    ).write_pdf()
    return pdf


# --- what goes into each report ------------------------------------------------------


@dataclass(frozen=True)
class ReportRequest:
    kind: str
    project: Project
    version: InstrumentVersion
    user: Any
    study: Study | None = None
    assessment: Assessment | None = None
    appendix: bool = False


def _item_rows(assessment: Assessment) -> list[dict[str, Any]]:
    definition = definition_of(assessment.version)
    answers = selectors.answers_by_item(assessment)
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
        "rows": _item_rows(assessment),
        "definition": definition_of(assessment.version),
        "study": assessment.study,
    }


def study_context(req: ReportRequest) -> dict[str, Any]:
    study = req.study
    assert study is not None
    visible = [
        a
        for a in selectors.study_assessments(req.user, study)
        if a.version_id == req.version.pk
    ]
    reviewers = [a for a in visible if a.kind == "reviewer"]
    consensus = next((a for a in visible if a.kind == "consensus"), None)
    columns = [_item_rows(a) for a in reviewers]
    definition = definition_of(req.version)
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
    resolutions = (
        Resolution.objects.filter(consensus=consensus).select_related("resolved_by")
        if consensus
        else []
    )
    # A resolution records each reviewer's answer: shown only to someone who
    # may see every reviewer's answers on the study.
    show_sources = access.reviewers_visible(req.user, study, req.version)
    hidden = selectors.study_assignments(study)
    return {
        "study": study,
        "reviewers": reviewers,
        "grid": grid,
        "consensus": consensus,
        "resolutions": resolutions,
        "show_sources": show_sources,
        "consensus_rows": _item_rows(consensus) if consensus else [],
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


def project_context(req: ReportRequest, progress: Progress) -> dict[str, Any]:
    project, version = req.project, req.version
    board = dashboard.compute(project, version, dashboard.Filters(), user=req.user)
    progress(30)
    charts = render_charts(board.figures)
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
        "charts": charts,
        "rows": rows,
        "methods": _methods(project, version, board, req.user),
        "definition": definition_of(version),
    }
    if req.appendix:
        context["appendix"] = _appendix(project, version, req.user)
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
        from .agreement_data import project_agreement

        sentence = project_agreement(project, version, user).get("methods_sentence", "")
    except Exception:  # agreement is optional context in the report, never fatal
        logger.exception("Agreement figures unavailable for the report")
    definition = definition_of(version)
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


def _appendix(project: Project, version: InstrumentVersion, user: Any) -> list[Any]:
    finals = (
        access.visible_assessments(user, project)
        .filter(version=version, kind="consensus", status="submitted")
        .select_related("study", "version")
    )
    return [{"assessment": a, "rows": _item_rows(a)} for a in finals[:2000]]


def render_report(req: ReportRequest, progress: Progress | None = None) -> bytes:
    """The PDF bytes of one report, for the requester's view (blinding applied)."""
    progress = progress or (lambda _: None)
    progress(5)
    builders = {
        "assessment": lambda: assessment_context(req),
        "study": lambda: study_context(req),
        "project": lambda: project_context(req, progress),
    }
    context = builders[req.kind]()
    context.update(
        {
            "project": req.project,
            "version": req.version,
            "generated_at": timezone.now(),
            "requested_by": req.user,
            "renderer_version": RENDERER_VERSION,
            "settings_name": getattr(settings, "SITE_NAME", "RQS platform"),
        }
    )
    html = render_to_string(f"reports/{req.kind}.html", context)
    progress(60)
    pdf = html_to_pdf(html)
    progress(95)
    return pdf
