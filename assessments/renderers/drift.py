"""The calibration drift charts, per instrument version, as dicts for the page."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from ..charts import Chart
from ..charts.drift import drift_charts


def _as_dict(chart: Chart) -> dict[str, Any]:
    return {
        "title": chart.title,
        "src": chart.data_uri,
        "alt": chart.alt,
        "table": {
            "caption": chart.table.caption,
            "headers": chart.table.headers,
            "rows": chart.table.rows,
        },
    }


def render_drift(
    series: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Instrument version key -> its drift charts (none: no month qualifies).

    ``series`` is ``selectors.calibration.drift_series``; ``names`` gives each
    version key the name to title its charts with. Unchanged figures reuse the
    SVG drawn before, since the page is opened far more often than it changes.
    """
    key = json.dumps(
        {"series": list(series), "names": dict(names)}, sort_keys=True, default=str
    )
    # Titles and axes are in the reader's language: one drawing per language.
    return copy.deepcopy(_cached(key, translation.get_language() or ""))


@lru_cache(maxsize=64)
def _cached(key: str, language: str) -> dict[str, list[dict[str, Any]]]:
    data = json.loads(key)
    found: dict[str, list[dict[str, Any]]] = {}
    for version_key, name in data["names"].items():
        mine = [s for s in data["series"] if s["instrument"] == version_key]
        unit = next((s["unit"] for s in mine), None)
        drawn = drift_charts(name, mine, unit, _=gettext)
        found[version_key] = [_as_dict(c) for c in drawn]
    return found
