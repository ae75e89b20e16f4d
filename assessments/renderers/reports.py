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
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from ..selectors.numbers import local_number
from ..selectors.reports import (
    COLLECTING,
    DRAWING,
    LAYING_OUT,
    SAVING,
    Progress,
    ReportRequest,
    instrument_label,
    report_context,
)
from ..words import in_words
from .figures import render_charts

logger = logging.getLogger(__name__)
# Raised when what a report prints changes, so cached reports render again.
RENDERER_VERSION = "3"


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
    """The PDF bytes of one report, for the requester's view (blinding applied).

    `progress` receives the percent at which each stage starts (STAGES), which
    the status page turns back into the stage's name.
    """
    progress = progress or (lambda _percent: None)
    progress(COLLECTING + 5)
    context = report_context(req, progress)
    # The requester's wording: the names drawn into the figures.
    definition = context.get("definition") or req.version.as_definition()
    if req.kind == "project":
        progress(DRAWING)
        names = {item.code: item.label for item in definition.items}
        drawn = render_charts({**context["board"].figures, "item_labels": names})
        context["charts"] = figure_pages(drawn)
        context["agreement"] = agreement_section(context["agreement"])
    context.update(
        {
            "project": req.project,
            "version": req.version,
            "instrument": instrument_label(definition, req.version),
            "generated_at": timezone.now(),
            "requested_by": req.user,
            "renderer_version": RENDERER_VERSION,
            "settings_name": getattr(settings, "SITE_NAME", "RQS platform"),
        }
    )
    html = render_to_string(f"reports/{req.kind}.html", context)
    progress(LAYING_OUT)
    pdf = html_to_pdf(html)
    progress(SAVING)
    return pdf


def figure_pages(charts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Charts two to a page, numbered: a supplement page holds two comfortably."""
    numbered = [{**chart, "number": i} for i, chart in enumerate(charts, 1)]
    return [numbered[i : i + 2] for i in range(0, len(numbered), 2)]


def agreement_section(data: dict[str, Any]) -> dict[str, Any]:
    """Agreement figures as table rows, each with its n and CI.

    Below the minimum sample the reporting's sentence is its reason for giving
    none ("too few studies ..."): it is printed as given, never a weak estimate.
    The agreement package's sentences are said in the report's language
    (``project_agreement`` already says them so; figures given here raw too).
    """
    data = in_words(data, gettext)
    figures = []
    for title, key in ((_("Total score"), "totals"), (_("Percentage"), "percents")):
        block = data.get(key) or {}
        n = block.get("n_studies")
        for c in block.get("icc", []):
            if c.get("applies"):
                figures.append(_figure(f"{title}: {c['label']}", c, n))
        limits = block.get("bland_altman")
        if limits:
            bias = _("%(figure)s: Bland–Altman bias")  # noqa: RUF001
            name = bias % {"figure": title}
            figures.append(_limits(name, limits))
    items = [
        {
            "code": item["code"].split(".", 1)[0],
            "label": item["label"],
            "figures": [
                _figure(_weighted(c), c, item["n_studies"])
                for c in item["coefficients"][:1]
            ],
        }
        for item in data.get("items", [])
    ]
    first = (data.get("coefficients", {}).get("items") or [{}])[0]
    return {
        "available": bool(data.get("design")),
        "sentence": data.get("methods_sentence", ""),
        "n_studies": data.get("n_studies", 0),
        "n_pending": data.get("n_pending", 0),
        "figures": figures,
        "items": items,
        "item_coefficient": first.get("label", ""),
    }


def _weighted(c: dict[str, Any]) -> str:
    """A weighted kappa says so: unweighted and weighted are different figures."""
    weights = c.get("weights")
    if weights == "linear":
        return _("%(coefficient)s (linear weights)") % {"coefficient": c["label"]}
    if weights == "quadratic":
        return _("%(coefficient)s (quadratic weights)") % {"coefficient": c["label"]}
    return str(c["label"])


def _figure(name: str, c: dict[str, Any], n: Any) -> dict[str, Any]:
    ci, value = c.get("ci95"), c.get("value")
    return {
        "name": name,
        "value": _dash(value),
        "ci": _("%(low)s to %(high)s") % {"low": _dash(ci[0]), "high": _dash(ci[1])}
        if ci
        else "\N{EM DASH}",
        "n": c.get("n_subjects", n),
        "note": c.get("caveat") or c.get("note") or "",
    }


def _limits(name: str, ba: dict[str, Any]) -> dict[str, Any]:
    low, high = ba.get("lower"), ba.get("upper")
    known = low is not None and high is not None
    limits = _("limits %(low)s to %(high)s") % {"low": _dash(low), "high": _dash(high)}
    return {
        "name": name,
        "value": _dash(ba.get("bias")),
        "ci": limits if known else "\N{EM DASH}",
        "n": ba.get("n_subjects", ba.get("n")),
        "note": ba.get("caveat") or ba.get("note") or "",
    }


def _dash(value: float | None) -> str:
    """Two decimals with a true minus sign; a dash where there is no estimate."""
    if value is None:
        return "\N{EM DASH}"
    return local_number(value, 2).replace("-", "\N{MINUS SIGN}")
