"""Run axe-core in a Playwright page and collect what it finds.

axe is answered at AXE_PATH by the browser context's router (see `serve_axe`)
and added as a script file: the app's CSP refuses inline scripts, and must.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

AXE_FILE = Path(__file__).resolve().parent / "axe.min.js"
AXE_PATH = "/__axe__/axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
# Generous: some pages compute on a busy CI machine (agreement CIs).
PAGE_TIMEOUT_MS = 60_000


def serve_axe(context: Any, base_url: str) -> None:
    """Answer AXE_PATH with the vendored file, same-origin, in this context only."""
    context.route(
        base_url + AXE_PATH,
        lambda route: route.fulfill(
            path=str(AXE_FILE), content_type="application/javascript"
        ),
    )


def describe(violation: dict[str, Any]) -> str:
    """Rule, impact, help and the first few elements (with why, for the first)."""
    nodes = violation["nodes"]
    targets = " | ".join(", ".join(n["target"]) for n in nodes[:4])
    checks = [c["message"] for c in nodes[0]["any"] + nodes[0]["all"]][:1]
    why = f" ({checks[0]})" if checks else ""
    return (
        f"{violation['id']} [{violation['impact']}] {violation['help']}; "
        f"{len(nodes)} element(s): {targets}{why}"
    )


@dataclass
class Audit:
    """Runs axe on pages and collects what it finds, so one test reports every
    page; a finding repeated on several pages (the layout's) is listed once."""

    role: str = ""
    findings: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    routes: dict[str, set[str]] = field(default_factory=dict)

    def check(self, page: Any, state: str) -> None:
        page.wait_for_load_state("load")
        # A page served by the test itself (the 500 page) has no route.
        with contextlib.suppress(Resolver404):
            name = resolve(page.evaluate("location.pathname")).url_name or ""
            self.routes.setdefault(self.role, set()).add(name)
        # A file, not inline content: the CSP refuses inline scripts, and must.
        page.add_script_tag(url=AXE_PATH)
        results = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
        )
        where = f"{self.role}: {state} ({urlsplit(page.url).path})"
        for violation in results["violations"]:
            key = (violation["impact"] or "", describe(violation))
            self.findings.setdefault(key, []).append(where)

    def visit(self, page: Any, url: str, state: str) -> None:
        # Generous: some pages compute on a busy CI machine (agreement CIs).
        response = page.goto(url, timeout=PAGE_TIMEOUT_MS)
        assert response is not None, f"{state}: no response for {url}"
        self.check(page, state)

    def report(self, failing: bool) -> str:
        return "\n".join(
            f"- {what}\n    on {len(pages)} page(s): " + "; ".join(pages)
            for (impact, what), pages in self.findings.items()
            if (impact in FAILING_IMPACTS) == failing
        )

    def assert_clean(self, expected: dict[str, str]) -> None:
        """No serious or critical finding, and every route expected of each
        role audited (`expected` maps a URL name to the role that opens it)."""
        minor = self.report(failing=False)
        if minor:
            print("\nmoderate/minor axe findings (not failing):\n" + minor)
        for role, visited in self.routes.items():
            missing = {n for n, who in expected.items() if who == role} - visited
            assert not missing, f"{role}: pages listed in ROUTES not audited: {missing}"
        failing = self.report(failing=True)
        assert not failing, "serious/critical axe violations:\n" + failing
