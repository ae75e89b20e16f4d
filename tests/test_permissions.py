"""Permission sweep generated from the URLconf: every route, every kind of user.

A route without an entry in RULES fails the sweep, so a new page cannot ship
without someone deciding who may open it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from assessments.models import Drill, InstrumentVersion, Membership, Paper, Reference
from assessments.services import assignment, projects
from rqs.storage import PrivateFileSystemStorage
from tests.factories import StudyFactory, UserFactory, make_project
from tests.urlsweep import app_routes

# Who may GET each route: public, any (logged-in user), member (of the
# project), own (the reviewer whose assessment it is), lead, staff.
RULES: dict[str, str] = {
    "healthz": "public",
    "livez": "public",
    "login": "public",
    "logout": "any",
    "password_change": "any",
    "password_change_done": "any",
    "password_reset": "public",
    "password_reset_done": "public",
    "password_reset_confirm": "public",
    "password_reset_complete": "public",
    "relogin": "public",
    "home": "any",
    "queue": "any",
    "queue-next": "any",
    "landing": "any",
    "account-notifications": "any",
    # The language chooser and the scripts' words serve the login page too.
    "choose-language": "public",
    "javascript-catalog": "public",
    "account-tokens": "any",
    "account-token-revoke": "any-post",
    # Two-factor for local accounts; the code step is before logging in.
    "two-factor": "any",
    "two-factor-setup": "any",
    "two-factor-recovery": "any",
    "two-factor-disable": "any",
    "two-factor-verify": "public",
    "project-disagreements": "lead",
    "study-bulk": "lead-post",
    "instrument-list": "any",
    "instrument-detail": "any",
    "instrument-audit": "any",
    "project-create": "staff",
    "project-detail": "member",
    "project-edit": "lead",
    "project-members": "lead",
    "project-assign": "lead",
    "project-audit": "lead",
    "study-list": "member",
    "study-add": "lead",
    "study-import": "lead",
    "score-import": "lead",
    "study-detail": "member",
    "study-edit": "lead",
    "study-exclude": "lead-post",
    "study-conflict": "reviewer-post",
    "study-assign": "lead-post",
    "assessment-reassign": "lead-post",
    "assessment-form": "seer",
    "assessment-answer": "own-post",
    "assessment-submit": "own-post",
    "assessment-reopen": "lead-post",
    "assessment-history": "lead",
    "assessment-json": "seer",
    "consensus-view": "lead-blinded",
    "consensus-start": "lead-post",
    "consensus-resolve": "lead-post",
    "consensus-finalise": "lead-post",
    "consensus-refresh": "lead-post",
    "consensus-discard": "lead-post",
    "consensus-adopt-quote": "lead-post",
    "project-agreement": "member",
    "project-agreement-json": "member",
    "project-export": "member",
    "project-export-download": "member",
    "project-dashboard": "member",
    "project-dashboard-status": "member",
    "project-reports": "member",
    "report-request": "member-post",
    "report-status": "requester",
    "report-download": "requester",
    "report-retry": "member-post",
    "study-paper": "reviewer-post",
    "paper-file": "member",
    "reading-preferences": "any-post",
    "reference-mark": "lead-post",
    "reference-detail": "lead",
    "reference-withdraw": "lead-post",
    "calibration-json": "member",
    "drill-list": "member",
    "drill-next": "member",
    "drill-detail": "member",
    "calibration-overview": "lead",
    "calibration-settings": "lead",
    "calibration-rereads": "lead-post",
    "calibration-assign": "lead-post",
    "training-home": "reviewer",
    "training-start": "reviewer-post",
    # The sweep's assessment is a live one: leads and staff only. The trainee's
    # own after submitting: tests/test_training_pages.py.
    "training-feedback": "lead",
}

USERS = (
    "anonymous",
    "outsider",
    "other_reviewer",
    "observer",
    "reviewer",
    "co_reviewer",
    "lead",
    "staff",
)


@pytest.fixture
def world(db: None, monkeypatch: Any, tmp_path: Any) -> dict[str, Any]:
    return build_world(monkeypatch, tmp_path)


def build_world(monkeypatch: Any, tmp_path: Any) -> dict[str, Any]:
    """The sweep's project and people (tests/test_api_permissions.py too)."""
    # Papers in a folder of this test's own (the storage has no URL anyway).
    storage = PrivateFileSystemStorage(location=tmp_path)
    monkeypatch.setattr(Paper._meta.get_field("file"), "storage", storage)
    lead = UserFactory(username="lead")
    reviewer = UserFactory(username="reviewer")
    co_reviewer = UserFactory(username="co_reviewer")
    observer = UserFactory(username="observer")
    project = make_project(lead=lead, reviewers=[reviewer, co_reviewer], slug="p")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    other_lead = UserFactory(username="other_lead")
    other = make_project(
        lead=other_lead, reviewers=[UserFactory(username="other_reviewer")], slug="q"
    )
    study = StudyFactory(project=project)
    StudyFactory(project=other)
    version = InstrumentVersion.objects.by_key("rqs-1.0")
    mine = assignment.assign_reviewer(
        study=study, version=version, reviewer=reviewer, user=lead
    )
    assignment.assign_reviewer(
        study=study, version=version, reviewer=co_reviewer, user=lead
    )
    users = {name: UserFactory(username=name) for name in ("outsider",)}
    users["staff"] = UserFactory(username="staff", is_staff=True, is_superuser=True)
    users.update(
        lead=lead,
        reviewer=reviewer,
        co_reviewer=co_reviewer,
        observer=observer,
        other_reviewer=other.memberships.get(role="reviewer").user,
    )
    paper = Paper(study=study, sha256="0" * 64, size=9, original_name="paper.pdf")
    paper.file.save("paper.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    return {
        "users": users,
        "project": project,
        "study": study,
        "assessment": mine,
        "version": version,
        "paper": paper,
        # The lead may see its source (they do not review the study).
        "reference": Reference.objects.create(
            study=study, version=version, source=mine, expert="An expert"
        ),
        "drill": Drill.objects.create(
            instrument=version.instrument,
            item_code="1",
            passage="A passage.",
            satisfies=True,
            reason="Yes.",
            key="sweep:1:own",
        ),
    }


def _values(route: Any, world: dict[str, Any]) -> dict[str, str]:
    values = {
        "slug": world["project"].slug,
        "key": "rqs-1.0",
        "version_key": world["version"].key,
    }
    uses_assessment = route.name.startswith("assessment") or route.name.endswith(
        "feedback"
    )
    values["uuid"] = str(
        world["assessment"].uuid if uses_assessment else world["study"].uuid
    )
    if route.name.startswith("report"):
        values["uuid"] = "00000000-0000-4000-8000-000000000000"
    values["paper"] = str(world["paper"].uuid)
    values["drill_id"] = str(world["drill"].pk)
    values["reference_id"] = str(world["reference"].pk)
    return values


def _allowed(rule: str, who: str) -> bool:
    kind = rule.removesuffix("-post").removesuffix("-blinded")
    return {
        "public": True,
        "any": who != "anonymous",
        "member": who in {"observer", "reviewer", "co_reviewer", "lead", "staff"},
        "reviewer": who in {"reviewer", "co_reviewer", "lead", "staff"},
        "own": who in {"reviewer"},
        # Their own, or any for leads and staff who do not review this study.
        "seer": who in {"reviewer", "lead", "staff"},
        "lead": who in {"lead", "staff"},
        "staff": who in {"staff"},
        "requester": False,  # nobody requested the dummy report: 404 for all
    }[kind]


def _expected(rule: str, who: str, route: Any) -> set[int]:
    if rule == "public":
        return {200, 302, 405}
    if who == "anonymous":
        return {302}
    allowed = _allowed(rule, who)
    project_scoped = "<slug:slug>" in route.pattern or route.pattern.startswith(
        ("a/", "papers/")
    )
    if allowed and rule.endswith("-blinded"):
        # The disagreement view waits until every reviewer has submitted.
        return {403}
    if allowed:
        # Allowed users get the page, a redirect after a POST, or 405 for a GET
        # on a POST-only route; never 403/404.
        return {200, 302, 400, 405}
    if rule.endswith("-post"):
        return {405}  # a GET is refused before any permission is revealed
    if (
        who in {"outsider", "other_reviewer"} and project_scoped
    ) or rule == "requester":
        return {404}
    return {403}


def test_every_route_has_a_rule() -> None:
    names = {r.name for r in app_routes()}
    assert names - RULES.keys() == set(), "add the new routes to RULES"


@pytest.mark.parametrize("who", USERS)
def test_permission_sweep(world: dict[str, Any], who: str) -> None:
    client = Client()
    if who != "anonymous":
        client.force_login(world["users"][who])
    failures = []
    for route in app_routes():
        if route.name not in RULES or route.name == "logout":
            continue
        response = client.get(route.path(_values(route, world)))
        expected = _expected(RULES[route.name], who, route)
        if response.status_code not in expected:
            failures.append(f"{route.name}: {response.status_code} not in {expected}")
        if who == "anonymous" and RULES[route.name] != "public":
            assert "/accounts/login/" in response["Location"]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "who", ["outsider", "other_reviewer", "observer", "co_reviewer"]
)
def test_nobody_else_can_save_into_an_assessment(
    world: dict[str, Any], who: str
) -> None:
    client = Client()
    client.force_login(world["users"][who])
    url = f"/a/{world['assessment'].uuid}/answer"
    response = client.post(
        url,
        {"item": "2", "choices": ["yes"], "seen": "0"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code in {403, 404}
    assert not world["assessment"].answers.exists()


@pytest.mark.parametrize(
    "who,status",
    [("outsider", 404), ("reviewer", 403), ("observer", 403), ("lead", 302)],
)
def test_lead_actions_by_post(world: dict[str, Any], who: str, status: int) -> None:
    client = Client()
    client.force_login(world["users"][who])
    study = world["study"]
    response = client.post(f"/p/p/s/{study.uuid}/exclude/", {"reason": "not radiomics"})
    assert response.status_code == status
    study.refresh_from_db()
    assert study.excluded is (status == 302)
