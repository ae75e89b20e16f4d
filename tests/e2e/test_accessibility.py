"""axe-core on every page and the main states, each as the role that sees it.

axe (tests/e2e/axe, pinned from npm) is served same-origin by Playwright's
router, never by the app, and added as a script *file*: the app's strict CSP
stays as it is, so what axe checks is the page people get. Serious and
critical violations fail; moderate and minor ones are printed.

Each role has one browser context and walks its pages; the signed-in roles
share one build of the demo project (`assessments.demo`, the one `make run`
shows), since building it is the slow part. ROUTES says which role audits
each page route of the URLconf, so a new page fails
`test_every_page_route_is_audited` until it is audited here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.template import loader
from django.urls import URLPattern, reverse
from playwright.sync_api import expect

from assessments.demo import ensure_demo_project
from assessments.models import Assessment, InstrumentVersion, Reference, Report, Study
from assessments.services import answering, calibration, catalogue, consensus
from assessments.services import drills as drill_service
from assessments.services import papers as paper_service
from tests.calibration_world import RQS_10, fill_and_submit
from tests.factories import UserFactory, load_instrument
from tests.paperpdf import make_pdf
from tests.urlsweep import app_routes

from .axe.audit import Audit, serve_axe
from .conftest import login

pytestmark = pytest.mark.browser

RQS = "rqs-1.0"
IV = "assessments_instrumentversion"
SAVED = "All changes saved"
# The pages every ModelAdmin has; the custom ones are ours to audit.
STANDARD = ("_changelist", "_add", "_change", "_delete", "_history", "_autocomplete")

# Which test audits each page route (by URL name). Everything that is not a page
# a person reads is in NOT_PAGES with the reason.
ROUTES: dict[str, str] = {
    "login": "anonymous",
    "password_reset": "anonymous",
    "password_reset_done": "anonymous",
    "password_reset_confirm": "anonymous",
    "password_reset_complete": "anonymous",
    "password_change": "reviewer",
    "password_change_done": "reviewer",
    "home": "reviewer",
    "account-notifications": "reviewer",
    "account-tokens": "reviewer",
    # Two-factor for local accounts: audited by tests/e2e/test_two_factor_relogin.py
    "two-factor": "two-factor",
    "two-factor-setup": "two-factor",
    "two-factor-recovery": "two-factor",
    "two-factor-disable": "two-factor",
    "two-factor-verify": "two-factor",
    "queue": "reviewer",
    "instrument-list": "reviewer",
    "instrument-detail": "reviewer",
    "instrument-audit": "reviewer",
    "assessment-form": "reviewer",
    "project-detail": "lead",
    "project-disagreements": "lead",
    "project-create": "lead",
    "project-edit": "lead",
    "project-members": "lead",
    "project-assign": "lead",
    "project-audit": "lead",
    "study-list": "lead",
    "study-add": "lead",
    "study-import": "lead",
    "score-import": "lead",
    "study-detail": "lead",
    "study-edit": "lead",
    "assessment-history": "lead",
    "project-dashboard": "lead",
    "project-agreement": "lead",
    "project-reports": "lead",
    "report-status": "lead",
    "project-export": "lead",
    "consensus-view": "lead",
    "reference-detail": "lead",
    "drill-list": "reviewer",
    "drill-detail": "reviewer",
    "training-home": "reviewer",
    "training-feedback": "reviewer",
    "calibration-overview": "lead",
    "calibration-settings": "lead",
    # The admin (URL names without the "admin:" namespace); every custom page of
    # the instrument version admin must be here, see the last test.
    "index": "admin",
    f"{IV}_changelist": "admin",
    f"{IV}_change": "admin",
    f"{IV}_compare": "admin",
    f"{IV}_import": "admin",
    f"{IV}_newdraft": "admin",
    f"{IV}_points": "admin",
    f"{IV}_preview": "admin",
}
NOT_PAGES: dict[str, str] = {
    "logout": "POST only; redirects to the login page",
    "healthz": "plain-text health check",
    "livez": "plain-text liveness check",
    "relogin": "JSON for the form's re-login dialog",
    "choose-language": "POST only (the chooser is in every page's footer)",
    "javascript-catalog": "the scripts' words, JavaScript",
    "queue-next": "redirects to the next assessment form",
    "landing": "redirects to the worklist or the project list",
    "study-bulk": "POST only",
    "study-exclude": "POST only",
    "study-conflict": "POST only",
    "study-assign": "POST only",
    "assessment-reassign": "POST only",
    "assessment-answer": "htmx fragment, audited inside the form",
    "assessment-submit": "POST only",
    "assessment-reopen": "POST only",
    "assessment-json": "JSON",
    "project-dashboard-status": "JSON polled by the dashboard",
    "report-request": "POST only",
    "report-download": "the PDF file",
    "report-retry": "POST only",
    "consensus-start": "POST only",
    "consensus-resolve": "POST only",
    "consensus-adopt-quote": "POST only",
    "consensus-finalise": "POST only",
    "consensus-refresh": "POST only",
    "consensus-discard": "POST only",
    "project-agreement-json": "JSON",
    "project-export-download": "the XLSX file",
    "study-paper": "POST only (the upload form is on the study page)",
    "paper-file": "the PDF file",
    "reading-preferences": "POST only",
    "account-token-revoke": "POST only",
    "reference-mark": "POST only (the button is on the study page)",
    "reference-withdraw": "POST only",
    "calibration-json": "JSON",
    "drill-next": "redirects to the next drill",
    "training-start": "POST only",
    "calibration-rereads": "POST only",
    "calibration-assign": "POST only",
}


@pytest.fixture
def audit() -> Audit:
    return Audit()


@pytest.fixture
def role_page(new_context: Callable[..., Any], live_server: Any) -> Callable[..., Any]:
    """A page in its own context for one role, with axe served same-origin."""

    def make(username: str | None = None) -> Any:
        context = new_context()
        serve_axe(context, live_server.url)
        page = context.new_page()
        if username is not None:
            login(page, username)
        return page

    return make


# --- the data --------------------------------------------------------------------


@dataclass
class Demo:
    """The demo project with every state the pages can be in."""

    users: dict[str, Any]
    project: Any
    studies: list[Any]

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(name, kwargs={"slug": self.project.slug, **kwargs})

    def study_url(self, name: str, study: Any, **kwargs: Any) -> str:
        return self.url(name, uuid=study.uuid, **kwargs)

    def mine(self, username: str, study: Any) -> Assessment:
        return Assessment.objects.get(
            study=study, reviewer=self.users[username], version__instrument__code="rqs"
        )


@pytest.fixture
def demo(live_server: Any) -> Demo:
    """Demo data: 2 studies submitted by both reviewers with disagreements, one in
    progress; consensus open with disputes on the first, final on the second."""
    load_instrument(RQS)
    load_instrument("metrics-1.0")
    users = {
        "admin": UserFactory(username="admin", is_staff=True, is_superuser=True),
        "lead": UserFactory(username="lead"),
        "reviewer1": UserFactory(username="reviewer1"),
        "reviewer2": UserFactory(username="reviewer2"),
    }
    project = ensure_demo_project(users)
    users["lead"].user_permissions.add(Permission.objects.get(codename="add_project"))
    studies = list(Study.objects.filter(project=project).order_by("pk"))
    rqs = load_instrument(RQS)
    lead = users["lead"]
    consensus.start_consensus(study=studies[0], version=rqs, user=lead)
    final = consensus.start_consensus(study=studies[1], version=rqs, user=lead)
    for code, choices in (("7", ["no"]), ("12", ["same_institute"])):
        consensus.resolve_item(
            consensus=final,
            item_code=code,
            choices=choices,
            rationale="Re-read the methods together.",
            user=lead,
        )
    consensus.finalise_consensus(consensus=final, user=lead)
    return Demo(users=users, project=project, studies=studies)


def report_rows(demo: Demo) -> dict[str, Report]:
    """A report still rendering and one that failed (the status page's states)."""
    common = {
        "project": demo.project,
        "version": load_instrument(RQS),
        "requested_by": demo.users["lead"],
        "options": {"appendix": False, "scope": {}},
    }
    return {
        "running": Report.objects.create(
            kind=Report.Kind.PROJECT,
            status=Report.Status.RUNNING,
            progress=40,
            fingerprint="a" * 64,
            **common,
        ),
        "failed": Report.objects.create(
            kind=Report.Kind.PROJECT,
            status=Report.Status.FAILED,
            error="The report could not be made.",
            fingerprint="b" * 64,
            **common,
        ),
    }


def main(page: Any) -> Any:
    return page.get_by_role("main")


def open_disclosures(page: Any) -> None:
    """Open every closed <details> and collapsed toggle, as a reader would."""
    closed = page.locator(
        "main details:not([open]) > summary:visible, "
        "main [aria-expanded=false][aria-controls]:visible"
    )
    for _ in range(50):  # each click opens one; a stuck toggle must not hang
        if not closed.count():
            return
        closed.first.click()
    raise AssertionError("a disclosure does not open when clicked")


# --- the tests -------------------------------------------------------------------


def test_pages_before_logging_in(
    live_server: Any, role_page: Callable[..., Any], audit: Audit, mailoutbox: list[Any]
) -> None:
    UserFactory(username="lead")
    UserFactory(username="reviewer2")
    audit.role = "anonymous"
    page = role_page()
    audit.visit(page, reverse("login"), "login")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    audit.check(page, "login with a wrong password")

    audit.visit(page, reverse("password_reset"), "password reset")
    page.get_by_label("Email").fill("lead@example.org")
    main(page).get_by_role("button").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("password_reset_done"))))
    audit.check(page, "password reset sent")
    link = next(w for w in mailoutbox[-1].body.split() if "/accounts/reset/" in w)
    # The mail names the configured site; the path is what matters here.
    audit.visit(page, urlsplit(link).path, "new password form")
    page.locator("input[name=new_password1]").fill("Tricky horse 2026!")
    page.locator("input[name=new_password2]").fill("Tricky horse 2025!")
    main(page).get_by_role("button").click()
    audit.check(page, "new password form with mismatched passwords")
    audit.visit(
        page,
        reverse("password_reset_confirm", args=["MQ", "no-such-token"]),
        "password reset link expired",
    )
    audit.visit(page, reverse("password_reset_complete"), "password reset complete")

    for _ in range(6):
        page.goto(reverse("login"))
        page.get_by_label("Username").fill("reviewer2")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Too many")
    audit.check(page, "locked out after failed log-ins")
    audit.assert_clean(ROUTES)


def test_signed_in_pages(
    demo: Demo, role_page: Callable[..., Any], audit: Audit
) -> None:
    """Reviewer, lead and admin over the same data (building it is the slow part)."""
    for role, username, walk in (
        ("reviewer", "reviewer1", walk_reviewer),
        ("lead", "lead", walk_lead),
        ("admin", "admin", walk_admin),
    ):
        audit.role = role
        walk(demo, role_page(username), audit)
    audit.assert_clean(ROUTES)


def audit_training(demo: Demo, page: Any, audit: Audit) -> None:
    """My training with a study to start, and the feedback on a submitted one."""
    rqs = load_instrument(RQS)
    studies = []
    for title in ("Training: audited feedback", "Training: audited, to start"):
        study = Study.objects.create(project=demo.project, training=True, title=title)
        source = Assessment.objects.create(
            study=study, version=rqs, reviewer=demo.users["reviewer2"]
        )
        fill_and_submit(source, RQS_10)
        calibration.mark_reference(
            source=source, user=demo.users["lead"], rationales={"2": "On page 3."}
        )
        studies.append(study)
    trained = calibration.start_training(
        study=studies[0], version=rqs, user=demo.users["reviewer1"]
    )
    fill_and_submit(trained, RQS_10)
    audit.visit(page, demo.url("training-home"), "my training and my figures")
    feedback = reverse("training-feedback", args=[trained.uuid])
    audit.visit(page, feedback, "feedback on a training study")
    open_disclosures(page)
    audit.check(page, "feedback with the item explanations open")


def walk_reviewer(demo: Demo, page: Any, audit: Audit) -> None:
    audit.check(page, "reviewer's landing page after log-in")
    audit.visit(page, reverse("home"), "project list")
    audit.visit(page, reverse("queue"), "worklist")
    audit.visit(page, reverse("account-notifications"), "e-mail notifications")
    audit.visit(page, reverse("account-tokens"), "API tokens")
    audit.visit(page, demo.url("project-detail"), "project page (reviewer)")
    audit.visit(page, demo.url("study-list"), "study list (reviewer)")
    audit.visit(page, reverse("instrument-list"), "instrument list")
    audit.visit(
        page, reverse("instrument-detail", args=[RQS]), "instrument detail (RQS)"
    )
    audit.visit(
        page,
        reverse("instrument-detail", args=["metrics-1.0"]),
        "instrument detail (METRICS)",
    )
    audit.visit(page, reverse("instrument-audit", args=[RQS]), "score table check")
    drill_service.seed_drills()
    drills = reverse("drill-list", args=[demo.project.slug, "metrics-1.0"])
    audit.visit(page, drills, "practice drills")
    main(page).get_by_role("link", name="Start practising").click()
    audit.check(page, "a drill, not answered")
    main(page).get_by_role("button", name="No").click()
    expect(main(page).get_by_role("link", name="Next")).to_be_visible()
    audit.check(page, "a drill, answered")

    audit_training(demo, page, audit)

    editing = demo.mine("reviewer1", demo.studies[3])
    form = reverse("assessment-form", args=[editing.uuid])
    audit.visit(page, form, "assessment form, nothing answered")
    page.locator("#opt-1-documented").click()
    page.locator("#opt-5-either").click()
    expect(page.locator("[data-testid=total]")).to_have_text("4")
    # Evidence folds away until used; the explanation opens with "?".
    page.locator("#item-5").get_by_role("button", name=re.compile("evidence")).click()
    page.locator("#item-1").get_by_role("button", name=re.compile("Explain")).click()
    typed = "LASSO with 10-fold cross-validation (p. 4)."
    page.locator("#ev-5").fill(typed)
    # The status still reads "saved" from the clicks until the typing's debounced
    # save leaves, so wait for the evidence itself before the other tab reads it.
    for _ in range(150):
        if editing.answers.filter(item_code="5", evidence=typed).exists():
            break
        page.wait_for_timeout(100)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    audit.check(page, "assessment form while editing")

    # Another tab changes item 5; this one still shows the old answer.
    answer = editing.answers.get(item_code="5")
    answering.save_answer(
        assessment=editing,
        user=demo.users["reviewer1"],
        data=answering.AnswerInput(
            item_code="5", choices=["either"], evidence="From the other tab.", page=""
        ),
        seen_revision=answer.revision,
    )
    page.locator("#opt-5-none").click()
    expect(page.locator("#save-error")).to_be_visible()
    audit.check(page, "assessment form after a two-tab conflict")

    # Incomplete: the page answers with what is missing (or asks to confirm).
    page.get_by_role("button", name=re.compile(r"^Submit")).first.click()
    audit.check(page, "assessment form after Submit on an incomplete assessment")
    audit_form_with_paper(demo, page, audit, editing)

    submitted = demo.mine("reviewer1", demo.studies[0])
    audit.visit(
        page, reverse("assessment-form", args=[submitted.uuid]), "submitted, read-only"
    )
    audit.visit(page, reverse("password_change"), "password change")
    page.locator("input[name=old_password]").fill("pw")
    page.locator("input[name=new_password1]").fill("Tricky horse 2026!")
    page.locator("input[name=new_password2]").fill("Tricky horse 2026!")
    main(page).get_by_role("button").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("password_change_done"))))
    audit.check(page, "password changed")

    audit.visit(page, reverse("project-create"), "not allowed (403)")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    audit.visit(page, "/p/no-such-project/", "not found (404)")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


def audit_form_with_paper(
    demo: Demo, page: Any, audit: Audit, editing: Assessment
) -> None:
    """The form with the study's paper beside it, a passage selected to quote."""
    paper = paper_service.upload_paper(
        study=editing.study,
        user=demo.users["lead"],
        uploaded_file=ContentFile(
            make_pdf(["Validated on an external cohort.", "Code is shared."]),
            name="paper.pdf",
        ),
        filename="paper.pdf",
    )
    try:
        paper_service.run_extraction(paper.pk, force=False)
        form = reverse("assessment-form", args=[editing.uuid])
        page.goto(form)
        expect(page.locator("#paper-viewer")).to_have_attribute(
            "data-first-page", "ready"
        )
        page.evaluate(
            """() => { const span = document.querySelector('.textLayer span');
                 const range = document.createRange(); range.selectNodeContents(span);
                 getSelection().removeAllRanges(); getSelection().addRange(range); }"""
        )
        expect(page.locator("#quote-toolbar")).to_be_visible()
        page.get_by_role("button", name="How to use the paper viewer").click()
        audit.check(page, "assessment form with the paper, a passage selected")
    finally:
        paper.file.delete(save=False)


def walk_lead(demo: Demo, page: Any, audit: Audit) -> None:
    reports = report_rows(demo)
    audit.check(page, "lead's landing page after log-in")
    audit.visit(page, reverse("home"), "project list (lead)")
    audit.visit(page, reverse("project-create"), "new project")
    for name, state in (
        ("project-detail", "project page"),
        ("project-disagreements", "disagreements to resolve"),
        ("project-edit", "project settings"),
        ("project-members", "members"),
        ("project-assign", "assign reviewers"),
        ("project-audit", "audit log"),
        ("study-list", "study list"),
        ("study-add", "add a study"),
        ("study-import", "import studies"),
        ("score-import", "import scores"),
        ("project-agreement", "agreement"),
        ("project-reports", "reports"),
        ("project-export", "exports"),
        ("calibration-overview", "calibration"),
    ):
        audit.visit(page, demo.url(name), state)

    audit.visit(
        page,
        demo.url("calibration-settings", version_key=RQS),
        "calibration settings",
    )
    audit.visit(page, demo.url("project-dashboard"), "dashboard")
    open_disclosures(page)
    audit.check(page, "dashboard with its data tables open")

    disputed, final, in_progress = demo.studies[:3]
    audit.visit(page, demo.study_url("study-detail", disputed), "study page")
    audit.visit(page, demo.study_url("study-detail", in_progress), "study page, blind")
    reference = Reference.objects.filter(study__project=demo.project).first()
    assert reference is not None, "the demo has a training set with references"
    audit.visit(
        page,
        demo.study_url("study-detail", reference.study),
        "training study page with its reference",
    )
    audit.visit(
        page,
        demo.url("reference-detail", reference_id=reference.pk),
        "a reference with its rationales",
    )
    paper = paper_service.upload_paper(
        study=final,
        user=demo.users["lead"],
        uploaded_file=ContentFile(make_pdf(["The paper's text."]), name="paper.pdf"),
        filename="paper.pdf",
    )
    try:
        audit.visit(page, demo.study_url("study-detail", final), "study page, paper")
    finally:
        paper.file.delete(save=False)
    audit.visit(page, demo.study_url("study-edit", disputed), "edit a study")
    audit.visit(
        page,
        demo.study_url("consensus-view", disputed, version_key=RQS),
        "consensus with disagreements",
    )
    audit.visit(
        page,
        demo.study_url("consensus-view", final, version_key=RQS),
        "consensus finalised",
    )
    history = demo.mine("reviewer2", disputed)
    audit.visit(
        page, reverse("assessment-history", args=[history.uuid]), "answer history"
    )
    for state, report in reports.items():
        audit.visit(
            page, demo.url("report-status", uuid=report.uuid), f"report {state}"
        )


def walk_admin(demo: Demo, page: Any, audit: Audit) -> None:
    rqs = load_instrument(RQS)
    draft = catalogue.new_draft_from(version=rqs, new_version="1.1")
    audit.visit(page, reverse("admin:index"), "admin index")
    audit.visit(page, reverse(f"admin:{IV}_changelist"), "instrument versions")
    audit.visit(page, reverse(f"admin:{IV}_change", args=[draft.pk]), "a draft")
    audit.visit(page, reverse(f"admin:{IV}_points", args=[draft.pk]), "draft points")
    audit.visit(page, reverse(f"admin:{IV}_preview", args=[draft.pk]), "preview")
    compare = reverse(f"admin:{IV}_compare")
    audit.visit(page, compare, "compare, nothing chosen")
    audit.visit(page, f"{compare}?left={rqs.pk}&right={draft.pk}", "compare two")
    audit.visit(page, reverse(f"admin:{IV}_import"), "import a definition file")
    audit.visit(page, reverse(f"admin:{IV}_newdraft", args=[rqs.pk]), "new draft")
    audit.visit(page, reverse("admin:assessments_item_changelist"), "items")


def test_server_error_page(
    role_page: Callable[..., Any], live_server: Any, audit: Audit
) -> None:
    # No view fails on purpose, so the page is served as the handler renders it.
    audit.role = "anyone"
    page = role_page()
    body = loader.get_template("500.html").render()
    page.route(
        live_server.url + "/__500__",
        lambda route: route.fulfill(status=500, body=body, content_type="text/html"),
    )
    audit.visit(page, "/__500__", "server error (500)")
    audit.assert_clean(ROUTES)


def test_every_page_route_is_audited() -> None:
    names = {route.name for route in app_routes()}
    unlisted = names - ROUTES.keys() - NOT_PAGES.keys()
    assert not unlisted, (
        f"routes neither audited nor listed as non-pages: {sorted(unlisted)}; "
        "add them to ROUTES and visit them in that role's walk"
    )
    assert not NOT_PAGES.keys() - names, "stale entries in NOT_PAGES"
    version_admin = admin.site.get_model_admin(InstrumentVersion)
    custom = {
        p.name
        for p in version_admin.get_urls()
        if isinstance(p, URLPattern) and p.name and not p.name.endswith(STANDARD)
    }
    assert not custom - ROUTES.keys(), (
        f"admin pages not audited: {custom - ROUTES.keys()}"
    )
    admin_names = {n for n, who in ROUTES.items() if who == "admin"}
    assert not ROUTES.keys() - names - admin_names, "stale entries in ROUTES"
