from django.conf import settings
from django.urls import include, path

from .views import (
    assessments,
    calibration_lead,
    dashboard,
    drills,
    health,
    languages,
    pages,
    papers,
    projects,
    references,
    reports,
    score_audit,
    studies,
    tokens,
    training,
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("", pages.home, name="home"),
    path("queue/", pages.queue, name="queue"),
    path("queue/next", pages.queue_next, name="queue-next"),
    # Worklist, disagreements, bulk study actions, e-mail choices (issue 12).
    path("start/", pages.landing, name="landing"),
    path(
        "account/notifications/",
        pages.account_notifications,
        name="account-notifications",
    ),
    # The interface's language, and the words of its scripts (issue 17).
    path("account/language", languages.choose_language, name="choose-language"),
    path("jsi18n/", languages.javascript_catalog, name="javascript-catalog"),
    # Personal access tokens for the REST API (issue 15).
    path("account/tokens/", tokens.account_tokens, name="account-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke",
        tokens.account_token_revoke,
        name="account-token-revoke",
    ),
    path(
        "p/<slug:slug>/disagreements/",
        projects.project_disagreements,
        name="project-disagreements",
    ),
    path("p/<slug:slug>/studies/bulk", studies.study_bulk, name="study-bulk"),
    # The paper beside the form (issue 13): papers stream only through here.
    path(
        "p/<slug:slug>/studies/<uuid:uuid>/paper/",
        papers.study_paper,
        name="study-paper",
    ),
    path("papers/<uuid:paper>/file", papers.paper_file, name="paper-file"),
    path("account/reading/", papers.reading_preferences, name="reading-preferences"),
    path("instruments/", pages.instrument_list, name="instrument-list"),
    path("instruments/<str:key>/", pages.instrument_detail, name="instrument-detail"),
    path(
        "instruments/<str:key>/audit/",
        score_audit.instrument_audit,
        name="instrument-audit",
    ),
    path("accounts/relogin", assessments.relogin, name="relogin"),
    path("projects/new/", projects.project_create, name="project-create"),
    path("p/<slug:slug>/", projects.project_detail, name="project-detail"),
    path("p/<slug:slug>/edit/", projects.project_edit, name="project-edit"),
    path("p/<slug:slug>/members/", projects.project_members, name="project-members"),
    path("p/<slug:slug>/assign/", projects.project_assign, name="project-assign"),
    path("p/<slug:slug>/audit/", projects.project_audit, name="project-audit"),
    path("p/<slug:slug>/studies/", studies.study_list, name="study-list"),
    path("p/<slug:slug>/studies/add/", studies.study_add, name="study-add"),
    path("p/<slug:slug>/studies/import/", studies.study_import, name="study-import"),
    path("p/<slug:slug>/scores/import/", studies.score_import, name="score-import"),
    path("p/<slug:slug>/s/<uuid:uuid>/", studies.study_detail, name="study-detail"),
    path("p/<slug:slug>/s/<uuid:uuid>/edit/", studies.study_edit, name="study-edit"),
    path(
        "p/<slug:slug>/s/<uuid:uuid>/exclude/",
        studies.study_exclude,
        name="study-exclude",
    ),
    path(
        "p/<slug:slug>/s/<uuid:uuid>/conflict/",
        studies.study_conflict,
        name="study-conflict",
    ),
    path(
        "p/<slug:slug>/s/<uuid:uuid>/assign/", studies.study_assign, name="study-assign"
    ),
    path(
        "p/<slug:slug>/a/<uuid:uuid>/reassign/",
        studies.assessment_reassign,
        name="assessment-reassign",
    ),
    path("a/<uuid:uuid>/", assessments.assessment_form, name="assessment-form"),
    path(
        "a/<uuid:uuid>/answer", assessments.assessment_answer, name="assessment-answer"
    ),
    path(
        "a/<uuid:uuid>/submit", assessments.assessment_submit, name="assessment-submit"
    ),
    path(
        "a/<uuid:uuid>/reopen", assessments.assessment_reopen, name="assessment-reopen"
    ),
    path(
        "a/<uuid:uuid>/history/",
        assessments.assessment_history,
        name="assessment-history",
    ),
    path("a/<uuid:uuid>.json", assessments.assessment_json, name="assessment-json"),
    path(
        "p/<slug:slug>/dashboard/",
        dashboard.project_dashboard,
        name="project-dashboard",
    ),
    path(
        "p/<slug:slug>/dashboard/status",
        dashboard.dashboard_status,
        name="project-dashboard-status",
    ),
    path("p/<slug:slug>/reports/", reports.report_list, name="project-reports"),
    path(
        "p/<slug:slug>/reports/request", reports.report_request, name="report-request"
    ),
    path(
        "p/<slug:slug>/reports/<uuid:uuid>/",
        reports.report_status,
        name="report-status",
    ),
    path(
        "p/<slug:slug>/reports/<uuid:uuid>/download",
        reports.report_download,
        name="report-download",
    ),
    path(
        "p/<slug:slug>/reports/<uuid:uuid>/retry",
        reports.report_retry,
        name="report-retry",
    ),
    # Micro-drills per item (issue 14): practice between patients.
    path(
        "p/<slug:slug>/drills/<str:version_key>/",
        drills.drill_list,
        name="drill-list",
    ),
    path(
        "p/<slug:slug>/drills/<str:version_key>/next",
        drills.drill_next,
        name="drill-next",
    ),
    path(
        "p/<slug:slug>/drills/<str:version_key>/<int:drill_id>/",
        drills.drill_detail,
        name="drill-detail",
    ),
    # The reviewer's training and the feedback after it (issue 14).
    path("p/<slug:slug>/training/", training.training_home, name="training-home"),
    path(
        "p/<slug:slug>/training/start", training.training_start, name="training-start"
    ),
    path(
        "a/<uuid:uuid>/feedback", training.training_feedback, name="training-feedback"
    ),
    # Gold references and the calibration JSON (issue 14).
    path(
        "p/<slug:slug>/studies/<uuid:uuid>/reference",
        references.reference_mark,
        name="reference-mark",
    ),
    path(
        "p/<slug:slug>/references/<int:reference_id>/",
        references.reference_detail,
        name="reference-detail",
    ),
    path(
        "p/<slug:slug>/references/<int:reference_id>/withdraw",
        references.reference_withdraw,
        name="reference-withdraw",
    ),
    path(
        "p/<slug:slug>/calibration.json",
        references.project_calibration_json,
        name="calibration-json",
    ),
    # The lead's calibration pages (issue 14).
    path(
        "p/<slug:slug>/calibration/",
        calibration_lead.calibration_overview,
        name="calibration-overview",
    ),
    path(
        "p/<slug:slug>/calibration/rereads",
        calibration_lead.calibration_rereads,
        name="calibration-rereads",
    ),
    path(
        "p/<slug:slug>/calibration/<str:version_key>/settings",
        calibration_lead.calibration_settings,
        name="calibration-settings",
    ),
    path(
        "p/<slug:slug>/calibration/<str:version_key>/assign",
        calibration_lead.calibration_assign,
        name="calibration-assign",
    ),
    path("", include("assessments.urls_consensus")),
    path("", include("assessments.urls_exports")),
]

if settings.BENCH_ENDPOINTS:
    from .views import bench

    urlpatterns.append(path("bench/baseline", bench.baseline, name="bench-baseline"))
