"""The running score panel as HTML, built in Python rather than by a template.

Every autosave answers with this panel; through the template engine it was a
tenth of the request's work. The form page and the admin preview use the same
function, so the panel a page shows and the one an autosave swaps in are one.
Every value is escaped by format_html. The words are looked up per request
(gettext, the reader's language): a dictionary lookup, not a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template.defaultfilters import floatformat
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from ..selectors.numbers import local_number


def score_panel(context: Mapping[str, Any]) -> SafeString:
    """`context` is formview.score_context's dict."""
    result, definition = context["result"], context["definition"]
    missing, problems = context["n_missing"], context["n_problems"]
    open_parts: list[str] = []
    if missing:
        open_parts.append(
            ngettext("%(count)s still to answer", "%(count)s still to answer", missing)
            % {"count": missing}
        )
    if problems:
        open_parts.append(
            ngettext("%(count)s to correct", "%(count)s to correct", problems)
            % {"count": problems}
        )
    summary = "; ".join([context["summary"], *open_parts])
    return format_html(
        '<div class="score-panel card" id="score" data-summary="{}" '
        'data-complete="{}">\n  <div class="card-body py-2">\n'
        '    <h2 class="h6 mb-1">{} <span class="text-muted small">'
        "({})</span></h2>\n    {}\n    {}\n"
        '    <p class="mb-0 small {}" data-testid="completeness">{}</p>\n'
        "  </div>\n</div>\n",
        summary,
        "0" if open_parts else "1",
        _("Running score"),
        definition.short_name or definition.name,
        _score_line(context, result),
        _subtotals(result),
        "text-danger" if open_parts else "text-success",
        "; ".join(open_parts) if open_parts else _("Complete: ready to submit"),
    )


def _score_line(context: Mapping[str, Any], result: Any) -> SafeString:
    if result.kind == "judgement":
        override = _("Override")
        overrides = format_html_join(
            "",
            '<p class="mb-1 small" data-testid="override"><span class="badge '
            'text-bg-warning">{}</span> {}</p>',
            ((override, text) for text in context["overrides"]),
        )
        return format_html(
            '<p class="mb-1">{}: <strong data-testid="overall">{}</strong><br>'
            '{}: <strong data-testid="applicability">{}</strong></p>{}',
            context["risk_heading"],
            context["overall_risk"],
            context["applicability_heading"],
            context["overall_applicability"],
            overrides,
        )
    band = (
        format_html(
            '<span class="badge text-bg-secondary ms-2" data-testid="band">{}</span>',
            result.band,
        )
        if result.band
        else ""
    )
    if result.kind == "weighted":
        percent = result.percent_display
        return format_html(
            '<p class="mb-1 score-line"><strong class="fs-5" data-testid="percent">'
            '<span data-testid="total">{}</span>%</strong>{}</p>',
            local_number("0.0" if percent is None else percent),
            band,
        )
    percent = (
        format_html(
            '<span class="ms-2" data-testid="percent">{}%</span>',
            local_number(result.percent_display),
        )
        if result.percent_display is not None
        else ""
    )
    return format_html(
        '<p class="mb-1 score-line"><strong class="fs-5"><span data-testid="total">'
        "{}</span> / {}</strong> {}{}{}</p>",
        context["total_text"],
        context["maximum_text"],
        _("items met") if result.kind == "checklist" else _("points"),
        percent,
        band,
    )


def _subtotals(result: Any) -> SafeString:
    if not result.subtotals:
        return mark_safe("")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (s.label, floatformat(s.total, "-2"), floatformat(s.maximum, "-2"))
            for s in result.subtotals
        ),
    )
    subtotals = _("Subtotals")
    return format_html(
        '<details class="score-subtotals"><summary class="small">{}</summary>'
        '<table class="table table-sm small mb-0"><caption class="visually-hidden">'
        '{}</caption><thead><tr><th scope="col">{}</th><th scope="col">'
        '{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>'
        "</details>",
        subtotals,
        subtotals,
        _("Part"),
        _("Score"),
        pgettext("short for maximum", "Max"),
        rows,
    )
