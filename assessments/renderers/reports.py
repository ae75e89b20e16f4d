"""PDF reports: the content selectors/reports.py gives, rendered with WeasyPrint.

WeasyPrint is imported only here, inside the render function: web processes
never pay its import cost. Its URL fetcher is restricted to data: URIs and the
app's own static files, so text typed by reviewers (escaped by the templates)
can never pull in a resource from the network or the file system.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from ..selectors.reports import Progress, ReportRequest, report_context
from .figures import render_charts

logger = logging.getLogger(__name__)
RENDERER_VERSION = "1"


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


def render_report(req: ReportRequest, progress: Progress | None = None) -> bytes:
    """The PDF bytes of one report, for the requester's view (blinding applied)."""
    progress = progress or (lambda _: None)
    progress(5)
    context = report_context(req, progress)
    if req.kind == "project":
        context["charts"] = render_charts(context["board"].figures)
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
