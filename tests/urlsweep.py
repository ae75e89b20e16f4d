"""Walk the URLconf so permission tests cover every route, including new ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

DUMMY = {
    "slug": "no-such-project",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "int": "999999",
    "str": "x",
    "path": "x",
}


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    converters: dict[str, str]

    def path(self, values: dict[str, str] | None = None) -> str:
        values = values or {}

        def fill(match: re.Match[str]) -> str:
            conv, _, name = match.group(1).rpartition(":")
            return values.get(name, DUMMY.get(conv or "str", "x"))

        return "/" + re.sub(r"<([^>]+)>", fill, self.pattern)


def _walk(patterns: list[object], prefix: str, ns: str) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            sub_ns = f"{ns}{entry.namespace}:" if entry.namespace else ns
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), sub_ns)
        elif isinstance(entry, URLPattern):
            raw = prefix + str(entry.pattern)
            if raw.startswith("^") or "(?P" in raw:
                continue  # regex routes (static serving) are not ours
            converters = {
                m.group(2): m.group(1) or "str"
                for m in re.finditer(r"<(?:(\w+):)?(\w+)>", raw)
            }
            yield Route(f"{ns}{entry.name or ''}", raw, converters)


def app_routes() -> list[Route]:
    """Every page route of ours (the admin has its own tests upstream; the API
    has its own sweep, tests/test_api_sweep.py, over `api_routes`)."""
    return [
        r
        for r in _walk(get_resolver().url_patterns, "", "")
        if not r.name.startswith("admin:") and not r.pattern.startswith("api/")
    ]


def api_routes() -> list[Route]:
    """Every route under /api/."""
    return [
        r
        for r in _walk(get_resolver().url_patterns, "", "")
        if r.pattern.startswith("api/")
    ]
