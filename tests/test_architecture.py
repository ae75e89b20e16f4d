"""The house rules of assessments/ that no linter checks (docs/architecture.md).

The layering itself is import-linter's contract in pyproject.toml (`lint-imports`
in .ci/run); these tests hold the rest: short modules, no private names across
modules, no imports hidden inside functions, task names in one place.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "assessments"
MAX_LINES = 500
# Django's documented way to register Celery tasks once the app registry is
# ready: the one import of ours that must happen inside a function.
INNER_IMPORT_ALLOWED = {"apps.py"}


def app_modules() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)


def is_ours(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").startswith("assessments")
    return any(alias.name.startswith("assessments") for alias in node.names)


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(APP)): n
        for p in app_modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, "split these into a package"


def test_no_private_name_is_imported_from_another_module() -> None:
    found = []
    for path in app_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and is_ours(node):
                found += [
                    f"{path.relative_to(APP)}:{node.lineno} {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
    assert found == [], "make the name public where it belongs"


def test_no_module_of_ours_is_imported_inside_a_function() -> None:
    found = []
    for path in app_modules():
        if path.name in INNER_IMPORT_ALLOWED:
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [
                    f"{path.relative_to(APP)}:{node.lineno}"
                    for node in ast.walk(fn)
                    if isinstance(node, ast.Import | ast.ImportFrom) and is_ours(node)
                ]
    assert sorted(set(found)) == [], "import at the top (the layers allow it)"


def test_task_names_appear_only_in_the_queue_module() -> None:
    users = [
        str(p.relative_to(APP))
        for p in app_modules()
        if '"assessments.tasks.' in p.read_text() and p.name != "queue.py"
    ]
    assert users == [], "send work through assessments/queue.py"
