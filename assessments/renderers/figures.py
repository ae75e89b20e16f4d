"""Dashboard figures drawn as charts: the same SVGs serve the page and the PDF."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from .. import charts
from ..selectors.dashboard import STATE_LABELS, STATES


def _chart_dict(chart: charts.Chart, *, results: bool = True) -> dict[str, Any]:
    """`results`: drawn from studies' results (not only their states)."""
    return {
        "title": chart.title,
        "results": results,
        "src": chart.data_uri,
        "alt": chart.alt,
        "table": {
            "caption": chart.table.caption,
            "headers": chart.table.headers,
            "rows": chart.table.rows,
        },
    }


def _progress(figures: dict[str, Any]) -> charts.Chart:
    counts = figures["progress"]
    return charts.bar_chart(
        _("Progress of the studies"),
        [str(STATE_LABELS[s]) for s in STATES],
        [counts.get(s, 0) for s in STATES],
        xlabel=_("Studies"),
        ylabel=_("State"),
        horizontal=True,
        _=_,
    )


def _distribution(figures: dict[str, Any]) -> charts.Chart:
    bins = figures.get("distribution", [])
    return charts.bar_chart(
        _("Distribution of final scores"),
        [_("%(low)s to %(high)s") % {"low": lo, "high": lo + 10} for lo, _n in bins],
        [n for _lo, n in bins],
        # xgettext:no-python-format
        xlabel=_("Score (% of the maximum)"),
        ylabel=_("Studies"),
        _=_,
    )


def _adherence(figures: dict[str, Any]) -> charts.Chart:
    items = [
        (code, label, (yes / n) if n else None)
        for code, label, yes, n, _mean in figures.get("adherence", [])
    ]
    return charts.adherence_chart(_("Per-item adherence"), items, _=_)


def _groups(figures: dict[str, Any], key: str, title: str, what: str) -> charts.Chart:
    rows = figures.get(key, [])
    return charts.bar_chart(
        title,
        [f"{label} (n={n})" for label, _mean, n in rows],
        [mean for _label, mean, _n in rows],
        xlabel=what,
        # xgettext:no-python-format
        ylabel=_("Mean score (% of the maximum)"),
        percent=True,
        _=_,
    )


def _domains(figures: dict[str, Any]) -> charts.Chart:
    rows = [(label, value) for label, value in figures.get("domains", [])]
    return charts.bar_chart(
        # xgettext:no-python-format
        _("Domain scores as % of the ideal"),
        [label for label, _value in rows],
        [value or 0.0 for _label, value in rows],
        # xgettext:no-python-format
        xlabel=_("% of the ideal score"),
        ylabel=_("Domain"),
        horizontal=True,
        percent=True,
        _=_,
    )


def _bands(figures: dict[str, Any]) -> charts.Chart:
    rows = figures.get("bands", [])
    return charts.bar_chart(
        _("Studies per quality band"),
        [label for label, _n in rows],
        [n for _label, n in rows],
        xlabel=_("Quality band"),
        ylabel=_("Studies"),
        _=_,
    )


def _domain_name(code: str, names: dict[str, str]) -> str:
    """A domain by the name its risk-of-bias item gives it, not its code."""
    label = names.get(code, "")
    return label.split(":", 1)[-1].strip().capitalize() if label else code


def _aspect_name(codes: list[str], names: dict[str, str]) -> str:
    """What the domains judge, as their items name it: "Risk of bias: patient
    selection" gives "Risk of bias" (PROBAST+AI development: "Quality concerns")."""
    label = next((names[c] for c in codes if ":" in names.get(c, "")), "")
    return label.split(":", 1)[0].strip() or "Risk of bias"


def _judgement_charts(
    figures: dict[str, Any], names: dict[str, str]
) -> list[charts.Chart]:
    counts = figures.get("judgements", {})
    domains = sorted(code for code in counts if code.endswith(".rob"))
    labels = [_domain_name(code, names) for code in domains]
    label_of = dict(zip(domains, labels, strict=True))
    aspect = _aspect_name(domains, names)
    summary = charts.rob_summary(
        _("%(aspect)s: summary") % {"aspect": aspect},
        labels,
        {label: counts[code] for label, code in zip(labels, domains, strict=True)},
        overall=False,
        # None: the chart's own "Risk-of-bias", in the reader's language.
        aspect=None if aspect == "Risk of bias" else aspect,
        _=_,
    )
    rows = figures.get("traffic", [])
    judgements = {
        (study, label_of.get(code) or _domain_name(code, names)): value
        for study, values in rows
        for code, value in values.items()
        if code.endswith(".rob")
    }
    for study, values in rows:
        judgements[(study, "Overall")] = values.get("overall_risk_of_bias")
    light = charts.traffic_light(
        _("%(aspect)s per study") % {"aspect": aspect},
        [study for study, _values in rows],
        labels,
        judgements,
        overall=True,
        _=_,
    )
    return [light, summary]


def render_charts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every chart of the dashboard, as JSON-safe dicts for the page and the store.

    Charts are a pure function of the figures, so identical figures (a filter
    opened again, an unchanged progress chart) reuse the SVG drawn before.
    An optional `figures["item_labels"]` (item code to label) names
    risk-of-bias domains in words rather than by their codes.
    """
    key = json.dumps(figures, sort_keys=True, default=str)
    # Titles and axes are in the reader's language: one drawing per language.
    return copy.deepcopy(_render_cached(key, translation.get_language() or ""))


@lru_cache(maxsize=256)
def _render_cached(key: str, language: str) -> list[dict[str, Any]]:
    return _render(json.loads(key))


def _render(figures: dict[str, Any]) -> list[dict[str, Any]]:
    names: dict[str, str] = figures.get("item_labels") or {}
    progress = _chart_dict(_progress(figures), results=False)
    drawn: list[charts.Chart] = []
    if figures["kind"] == "judgement":
        drawn += _judgement_charts(figures, names)
        return [progress, *(_chart_dict(c) for c in drawn)]
    drawn += [_distribution(figures), _adherence(figures)]
    if figures.get("domains"):
        drawn.append(_domains(figures))
    if figures.get("bands"):
        drawn.append(_bands(figures))
    drawn += [
        _groups(
            figures,
            "by_year",
            _("Mean score by publication year"),
            _("Publication year"),
        ),
        _groups(figures, "by_modality", _("Mean score by modality"), _("Modality")),
        _groups(figures, "by_disease", _("Mean score by disease"), _("Disease")),
    ]
    return [progress, *(_chart_dict(c) for c in drawn)]
