"""Blinding sweep: every read path, every member, against an oracle written here.

The oracle (`hidden_because`) states the blinding policy on its own, without
asking `assessments/access.py`, so the sweep catches access.py being wrong:

* Blinding is per study, across every instrument version of the project: a
  person with a never-submitted reviewer assessment of study S (any version;
  `first_submitted_at` NULL; a reopened assessment that was submitted once does
  not re-blind) sees nothing of anyone else's appraisal of S, the final
  consensus included.
* A reviewer of S with nothing pending on S sees the others' work on S in
  version V once every assigned reviewer of S in V has submitted once.
* Leads and staff who do not review S see everything of S. Adjudicators who
  are not leads see S/V once every reviewer of S in V has submitted. Project
  reviewers not assigned to S, and observers, see final results only.
* One's own assessment is always visible; per-reviewer figures (leniency) are
  for leads and staff only.
* Without blinding (Project.blinding False) the waiting rules are off;
  observers and unassigned reviewers still see final results only.

Where the policy leaves a case open, the oracle takes the lenient reading
(visible): the sweep only reports what must be hidden and shows up.

Every answer of every assessment carries unique markers in its evidence,
comment and a quote from the paper (`MARK-<pk>-EV`, `-CM`, `-QT`), its cached
band carries `MARK-<pk>-BD` (it is printed next to the score), a consensus's
rationales `MARK-<pk>-RA`, and the reviewers' choices a resolution (and the
audit log) records as its sources become each reviewer's `MARK-<pk>-SC`. Each
member requests every read path of the URLconf (pages, JSON, CSV, XLSX) and the
report context builders are called in place of the PDF renderer (the whole
context is searched; a finding says whether the report's HTML shows it); no
marker of an assessment the oracle hides from that member may appear. Scores
and aggregates carry no text, so the dashboard's study rows and counts, the
project report's rows, the agreement figures and the leniency table are checked
structurally.

A route of the URLconf that is neither swept (`SWEEP`, `BUILDERS`) nor listed
in `EXCLUDED` fails `test_every_route_is_swept_or_excluded`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase
from simple_history.utils import bulk_create_with_history

from assessments import access
from assessments.instruments import Definition
from assessments.instruments.crosswalk import (
    bundled_crosswalk_files,
    load_crosswalk_file,
)
from assessments.models import (
    Answer,
    Assessment,
    AuditEvent,
    Drill,
    InstrumentVersion,
    Membership,
    Paper,
    Project,
    Reference,
    Report,
    Resolution,
    Study,
)
from assessments.selectors import dashboard, reports
from assessments.services import answering, assignment, consensus, projects
from assessments.services import reports as report_service
from assessments.services.crosswalk import load_crosswalk
from tests.factories import (
    RQS_13,
    StudyFactory,
    UserFactory,
    load_instrument,
    make_project,
)
from tests.urlsweep import api_routes, app_routes

KEYS = ("rqs-1.0", "metrics-1.0")
REVIEWING = (Membership.Role.LEAD, Membership.Role.REVIEWER)
OTHERS = ("lead", "observer", "adjudicator", "unassigned", "staff")
MARKER = re.compile(r"MARK-(\d+)-(EV|CM|BD|RA|SC|QT)")
MARKER_KINDS = {
    "EV": "evidence",
    "CM": "comment",
    "BD": "band (printed with the score)",
    "RA": "rationale",
    "SC": "choices (as a consensus resolution's source)",
    "QT": "quote from the paper",
}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Complete answer sets that differ on a few items, so consensus has disputes.
RQS_SETS: tuple[dict[str, list[str]], ...] = (
    RQS_13,
    {**RQS_13, "2": ["no"], "16": []},
    {**RQS_13, "2": ["no"], "12": ["one_other"], "16": ["code", "scans"]},
)


def _metrics(no: set[int]) -> dict[str, list[str]]:
    answers = {f"C{n}": ["yes"] for n in range(1, 6)}
    answers.update({str(n): ["no" if n in no else "yes"] for n in range(1, 31)})
    return answers


METRICS_SETS = (_metrics({4, 7}), _metrics({4, 9, 21}), _metrics({1, 7, 30}))
ANSWER_SETS = {"rqs-1.0": RQS_SETS, "metrics-1.0": METRICS_SETS}

# How far each assigned reviewer gets. "reopened" is reopened before the
# consensus step (so it blocks a consensus), "reopened_late" after it (so a
# consensus goes stale), "resubmitted" is reopened and submitted again.
STATES = (
    "assigned",
    "in_progress",
    "submitted",
    "resubmitted",
    "reopened",
    "reopened_late",
)
SUBMITTING = {"submitted", "resubmitted", "reopened", "reopened_late"}


# --- the world ------------------------------------------------------------------------


@dataclass
class World:
    """A project, its members (by label) and what the oracle needs to know."""

    project: Project
    users: dict[str, Any]
    versions: list[InstrumentVersion]
    studies: list[Study] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    study_label: dict[int, str] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)
    memberships: dict[int, Membership] = field(default_factory=dict)
    # None: the full sweep (every dashboard filter value, export variant,
    # version of the agreement and report pages, every route for everyone).
    # A number, for the generated sweep's CI budget (each example draws
    # another): one dashboard view (unfiltered or a filter value), the JSON
    # export and one file variant per version; the agreement page, the
    # agreement JSON, the study reports and the project report for one
    # version each; pages without project data and role-gated pages (for the
    # roles refused by role) for one user each.
    pick: int | None = None

    def reload(self) -> None:
        """Read back the state the services left (after the markers are written)."""
        self.project.refresh_from_db()
        self.studies = list(Study.objects.filter(project=self.project).order_by("pk"))
        self.study_label = {
            s.pk: s.title.split(" ", 1)[0] or f"study {s.pk}" for s in self.studies
        }
        self.assessments = list(
            Assessment.objects.filter(study__project=self.project)
            .select_related("reviewer", "version__instrument", "study")
            .order_by("pk")
        )
        self.memberships = {
            m.user_id: m for m in Membership.objects.filter(project=self.project)
        }
        self.reports = list(Report.objects.filter(project=self.project))

    # -- descriptions for failure messages --

    def label_of(self, user: Any) -> str:
        return next(
            (label for label, u in self.users.items() if u.pk == user.pk), str(user)
        )

    def role_of(self, user: Any) -> str:
        member = self.memberships.get(user.pk)
        parts = []
        if user.is_staff:
            parts.append("staff")
        if member is None:
            parts.append("not a member")
        else:
            parts.append(member.role + (" + adjudicator" if member.adjudicator else ""))
        reviews = sorted(
            {
                f"{self.study_label[a.study_id]}/{a.version.key}"
                for a in self.assessments
                if a.kind == "reviewer" and a.reviewer_id == user.pk
            }
        )
        parts.append(f"reviews {', '.join(reviews)}" if reviews else "reviews nothing")
        return ", ".join(parts)

    def who(self, user: Any) -> str:
        return f"{self.label_of(user)} ({self.role_of(user)})"

    def describe(self, a: Assessment) -> str:
        study = self.study_label[a.study_id]
        if a.kind == "consensus":
            state = "final" if a.status == "submitted" else a.status
            if a.stale:
                state += ", stale"
            return f"the consensus {a.version.key} of {study} ({state})"
        name = self.label_of(a.reviewer) if a.reviewer else "?"
        submitted = "submitted once" if a.first_submitted_at else "never submitted"
        return (
            f"{name}'s {a.version.key} assessment of {study} ({a.status}, {submitted})"
        )

    # -- facts the oracle reads --

    def reviewer_assessments(self, **where: Any) -> list[Assessment]:
        return [
            a
            for a in self.assessments
            if a.kind == "reviewer"
            and all(getattr(a, k) == v for k, v in where.items())
        ]

    def consensus_of(self, study_id: int, version_id: int) -> Assessment | None:
        return next(
            (
                a
                for a in self.assessments
                if a.kind == "consensus"
                and a.study_id == study_id
                and a.version_id == version_id
            ),
            None,
        )


# --- the oracle -----------------------------------------------------------------------


def hidden_because(w: World, user: Any, a: Assessment) -> str | None:
    """Why the policy hides assessment `a` from `user`; None when they may see it."""
    if a.kind == "reviewer" and a.reviewer_id == user.pk:
        return None  # one's own
    member = w.memberships.get(user.pk)
    if member is None and not user.is_staff:
        return "not a member"
    blinding = w.project.blinding
    mine = w.reviewer_assessments(study_id=a.study_id, reviewer_id=user.pk)
    pending = [m for m in mine if m.first_submitted_at is None]
    if blinding and pending:
        return (
            f"they have an unsubmitted {pending[0].version.key} assessment of "
            f"{w.study_label[a.study_id]} (blinding is per study)"
        )
    if a.kind == "consensus" and a.status == Assessment.Status.SUBMITTED:
        return None  # the final result: every member (and staff) not waiting
    others = w.reviewer_assessments(study_id=a.study_id, version_id=a.version_id)
    waiting = [o for o in others if o.first_submitted_at is None]
    unblinded = not blinding or not waiting
    why_waiting = (
        f"not every reviewer of {w.study_label[a.study_id]} in {a.version.key} "
        f"has submitted ({w.label_of(waiting[0].reviewer)} has not)"
        if waiting
        else ""
    )
    if mine:  # a reviewer of the study, whatever their role
        return None if unblinded else f"they review this study and {why_waiting}"
    if user.is_staff or member is None or member.role == "lead":
        return None  # (member None: staff)
    if member.adjudicator:
        return None if unblinded else f"adjudicator, and {why_waiting}"
    if member.role == "observer":
        return "observers see final results only"
    return "a reviewer not assigned to this study sees its final result only"


def hidden_markers(w: World, user: Any) -> dict[int, str]:
    """Assessment pk -> why it is hidden from the user."""
    out = {}
    for a in w.assessments:
        why = hidden_because(w, user, a)
        if why is not None:
            out[a.pk] = why
    return out


def result_visible(w: World, user: Any, study_id: int, version_id: int) -> bool:
    """May the user see the study's result (its score) in the dashboard sense?

    The dashboard's result is the final (non-stale) consensus if any, else the
    mean of the submitted reviewers' totals: visible when every assessment it
    is made of is visible.
    """
    final = w.consensus_of(study_id, version_id)
    if final is not None and final.status == "submitted" and not final.stale:
        return hidden_because(w, user, final) is None
    submitted = [
        a
        for a in w.reviewer_assessments(study_id=study_id, version_id=version_id)
        if a.status == "submitted"
    ]
    return bool(submitted) and all(
        hidden_because(w, user, a) is None for a in submitted
    )


def scored_studies_visible(w: World, user: Any, version_id: int) -> set[int]:
    return {
        s.pk
        for s in w.studies
        if not s.excluded and result_visible(w, user, s.pk, version_id)
    }


def _pending_on(w: World, user: Any, study_id: int) -> bool:
    return w.project.blinding and any(
        a.first_submitted_at is None
        for a in w.reviewer_assessments(study_id=study_id, reviewer_id=user.pk)
    )


def agreement_studies_allowed(w: World, user: Any, version_id: int) -> set[int]:
    """Studies whose independent ratings may enter the user's agreement figures."""
    out = set()
    for s in w.studies:
        rated = w.reviewer_assessments(study_id=s.pk, version_id=version_id)
        complete = len(rated) >= 2 and all(a.first_submitted_at for a in rated)
        if complete and not s.excluded and not _pending_on(w, user, s.pk):
            out.add(s.pk)
    return out


def leniency_pairs_allowed(w: World, user: Any, version_id: int) -> int:
    """How many (reviewer, final consensus) pairs the user's leniency may use."""
    member = w.memberships.get(user.pk)
    if not (user.is_staff or (member is not None and member.role == "lead")):
        return 0  # per-reviewer figures are for leads and staff
    n = 0
    for s in w.studies:
        final = w.consensus_of(s.pk, version_id)
        if final is None or final.status != "submitted" or s.excluded:
            continue
        if _pending_on(w, user, s.pk):
            continue
        rated = w.reviewer_assessments(study_id=s.pk, version_id=version_id)
        n += sum(1 for a in rated if a.first_submitted_at is not None)
    return n


# --- read paths -----------------------------------------------------------------------

Urls = Callable[[World], list[str]]


@functools.cache
def _routes() -> dict[str, Any]:
    return {r.name: r for r in app_routes()}


def _url(
    w: World,
    name: str,
    uuid: Any = None,
    version: InstrumentVersion | None = None,
    query: dict[str, Any] | None = None,
) -> str:
    """The route's URL, its parameters filled by their names in the URLconf."""
    kwargs: dict[str, Any] = {}
    for param, converter in _routes()[name].converters.items():
        if param == "slug":
            kwargs[param] = w.project.slug
        elif param == "uuid" and uuid is not None:
            kwargs[param] = uuid
        elif (param.startswith("version") or param == "key") and version is not None:
            kwargs[param] = version.pk if converter == "int" else version.key
        else:
            raise AssertionError(f"the sweep cannot fill <{param}> of route {name}")
    url = reverse(name, kwargs=kwargs or None)
    return f"{url}?{urlencode(query)}" if query else url


def _fixed(name: str, **kwargs: Any) -> Urls:
    return lambda w: [reverse(name, kwargs=kwargs or None)]


def _per_project(name: str) -> Urls:
    return lambda w: [_url(w, name)]


def _per_study(name: str) -> Urls:
    return lambda w: [_url(w, name, uuid=s.uuid) for s in w.studies]


def _per_assessment(name: str, *queries: dict[str, str]) -> Urls:
    return lambda w: [
        _url(w, name, uuid=a.uuid, query=q)
        for a in w.assessments
        for q in ({}, *queries)
    ]


def _per_version_key(name: str, salt: int) -> Urls:
    def urls(w: World) -> list[str]:
        default = [_url(w, name)] if w.pick is None else []  # the first version
        return default + [
            _url(w, name, query={"version": v.key}) for v in _some(w, w.versions, salt)
        ]

    return urls


def _per_report(name: str, *queries: dict[str, str]) -> Urls:
    return lambda w: [
        _url(w, name, uuid=r.uuid, query=q) for r in w.reports for q in ({}, *queries)
    ]


def _consensus_views(w: World) -> list[str]:
    return [
        _url(w, "consensus-view", uuid=s.uuid, version=v)
        for s in w.studies
        for v in w.versions
    ]


def _instrument_details(w: World) -> list[str]:
    return [_url(w, "instrument-detail", version=v) for v in w.versions]


FILE_EXPORTS = [
    {"form": form, "format": fmt, **extra}
    for form in ("wide", "long", "quotes")
    for fmt, extra in (("csv", {}), ("csv", {"european": "1"}), ("xlsx", {}))
]


def _export_downloads(w: World) -> list[str]:
    """JSON (all of it: answers, evidence, scores), then the file forms."""
    variants = [{"form": "json"}, *_some(w, FILE_EXPORTS)]
    return [
        _url(w, "project-export-download", query={"version": v.pk, **variant})
        for v in w.versions
        for variant in variants
    ]


def _some(w: World, values: list[Any], salt: int = 0) -> list[Any]:
    """Every value, or the one the plan picked (see World.pick)."""
    if w.pick is None or not values:
        return values
    return [values[(w.pick + salt) % len(values)]]


def _dashboard_filters(w: World) -> list[dict[str, str]]:
    """No filter, then every value of every filter the page offers."""
    reviewers = sorted(
        str(m.user_id) for m in w.memberships.values() if m.role in REVIEWING
    )
    values = {
        "year": sorted({str(s.year) for s in w.studies if s.year}),
        "modality": sorted({s.modality for s in w.studies if s.modality}),
        "disease": sorted({s.disease for s in w.studies if s.disease}),
        "reviewer": reviewers,
        "status": list(dashboard.STATES),
    }
    assert set(values) == set(dashboard.FILTER_FIELDS), "a new dashboard filter"
    return [{name: v} for name, vs in values.items() for v in vs]


def _dashboards(w: World) -> list[str]:
    """Unfiltered (for leads: the stored figures) and filtered (computed live)."""
    urls = []
    for i, v in enumerate(w.versions):
        every = [{}, *_dashboard_filters(w)]
        if w.pick is not None:  # both kinds of view in every example
            unfiltered = (w.pick + i) % 2 == 0 or len(w.versions) == 1
            filtered = (w.pick + i) % 2 == 1 or len(w.versions) == 1
            every = ([{}] if unfiltered else []) + (
                _some(w, every[1:]) if filtered else []
            )
        urls += [
            _url(w, "project-dashboard", query={"version": v.pk, **f}) for f in every
        ]
    return urls


def _dashboard_statuses(w: World) -> list[str]:
    return [
        _url(w, "project-dashboard-status", query={"version": v.pk}) for v in w.versions
    ]


def _api(name: str, *per: str) -> Urls:
    """An API route (the session logs in there too), once per study,
    assessment, version or report of the world as its parameters ask."""

    def urls(w: World) -> list[str]:
        pools: dict[str, list[tuple[str, Any]]] = {
            "study": [("study", s.uuid) for s in w.studies],
            "assessment": [("assessment", a.uuid) for a in w.assessments],
            "version": [("version", v.key) for v in w.versions],
            "report": [("report", r.uuid) for r in w.reports],
        }
        combos: list[dict[str, Any]] = [
            {"slug": w.project.slug} if "slug" in per else {}
        ]
        for param in (p for p in per if p != "slug"):
            combos = [{**c, k: v} for c in combos for k, v in pools[param]]
        return [reverse(name, kwargs=kwargs or None) for kwargs in combos]

    return urls


def _api_exports(w: World) -> list[str]:
    # Every instrument's exports (robvis and RevMan are for judgement
    # instruments only; tests/test_api_exports.py checks their blinding).
    forms = ("json", "long", "wide", "quotes", "redcap-data")
    return [
        reverse("api-export", args=[w.project.slug, v.key, form])
        for v in w.versions
        for form in _some(w, list(forms))
    ]


def _api_assessment_lists(w: World) -> list[str]:
    url = reverse("api-assessments", args=[w.project.slug])
    return [url] + [f"{url}?version={v.key}" for v in w.versions]


# The API's read paths, asked with the same logged-in session.
API_SWEEP: dict[str, Urls] = {
    "api-schema": _fixed("api-schema"),
    "api-docs": _fixed("api-docs"),
    "api-projects": _fixed("api-projects"),
    "api-project": _api("api-project", "slug"),
    "api-versions": _fixed("api-versions"),
    "api-version": _api("api-version", "version"),
    "api-studies": _api("api-studies", "slug"),
    "api-study": _api("api-study", "slug", "study"),
    "api-assessments": _api_assessment_lists,
    "api-assessment": _api("api-assessment", "assessment"),
    "api-consensus": _api("api-consensus", "slug"),
    "api-agreement": _api("api-agreement", "slug", "version"),
    "api-dashboard": _api("api-dashboard", "slug", "version"),
    "api-reports": _api("api-reports", "slug"),
    "api-report": _api("api-report", "slug", "report"),
    "api-report-file": _api("api-report-file", "slug", "report"),
    "api-export": _api_exports,
}

SWEEP: dict[str, Urls] = {
    "healthz": _fixed("healthz"),
    "livez": _fixed("livez"),
    "login": _fixed("login"),
    "password_change": _fixed("password_change"),
    "password_change_done": _fixed("password_change_done"),
    "password_reset": _fixed("password_reset"),
    "password_reset_done": _fixed("password_reset_done"),
    "password_reset_confirm": _fixed(
        "password_reset_confirm", uidb64="MQ", token="set-password"
    ),
    "password_reset_complete": _fixed("password_reset_complete"),
    "home": _fixed("home"),
    "queue": _fixed("queue"),
    "queue-next": _fixed("queue-next"),
    "landing": _fixed("landing"),
    "account-notifications": _fixed("account-notifications"),
    # The scripts' words: no study data.
    "javascript-catalog": _fixed("javascript-catalog"),
    "account-tokens": _fixed("account-tokens"),
    # Two-factor for local accounts
    "two-factor": _fixed("two-factor"),
    "two-factor-setup": _fixed("two-factor-setup"),
    "two-factor-recovery": _fixed("two-factor-recovery"),
    "two-factor-disable": _fixed("two-factor-disable"),
    "two-factor-verify": _fixed("two-factor-verify"),
    "project-disagreements": _per_project("project-disagreements"),
    "instrument-list": _fixed("instrument-list"),
    "instrument-detail": _instrument_details,
    # Reads only the uploaded table (a GET shows the empty form).
    "instrument-audit": lambda w: [
        _url(w, "instrument-audit", version=v) for v in w.versions
    ],
    "project-create": _fixed("project-create"),
    "project-detail": _per_project("project-detail"),
    "project-edit": _per_project("project-edit"),
    "project-members": _per_project("project-members"),
    "project-assign": _per_project("project-assign"),
    "project-audit": _per_project("project-audit"),
    "study-list": _per_project("study-list"),
    "study-add": _per_project("study-add"),
    "study-import": _per_project("study-import"),
    "score-import": _per_project("score-import"),
    "study-detail": _per_study("study-detail"),
    "study-edit": _per_study("study-edit"),
    "assessment-form": _per_assessment("assessment-form"),
    "assessment-history": _per_assessment("assessment-history", {"format": "csv"}),
    "assessment-json": _per_assessment("assessment-json"),
    "consensus-view": _consensus_views,
    "project-agreement": _per_version_key("project-agreement", 0),
    "project-agreement-json": _per_version_key("project-agreement-json", 1),
    "project-export": _per_project("project-export"),
    "project-export-download": _export_downloads,
    "project-dashboard": _dashboards,
    "project-dashboard-status": _dashboard_statuses,
    "project-reports": _per_project("project-reports"),
    "report-status": _per_report("report-status", {"format": "json"}),
    "report-download": _per_report("report-download"),
    # Drills quote published papers, never anyone's appraisal.
    "drill-list": lambda w: [_url(w, "drill-list", version=v) for v in w.versions],
    "drill-next": lambda w: [_url(w, "drill-next", version=v) for v in w.versions],
    "drill-detail": lambda w: [
        reverse("drill-detail", args=[w.project.slug, v.key, d.pk])
        for v in w.versions
        for d in Drill.objects.filter(instrument_id=v.instrument_id)[:2]
    ],
    # Own figures only; the feedback shows the reference (none in the sweep's
    # world) beside the assessment's answers, to whoever may see both.
    "training-home": _per_project("training-home"),
    "training-feedback": _per_assessment("training-feedback"),
    # Per-reviewer calibration names people's figures: leads and staff only.
    "calibration-overview": _per_project("calibration-overview"),
    "calibration-settings": lambda w: [
        _url(w, "calibration-settings", version=v) for v in w.versions
    ],
    # A reference copies its source's answers: the lead sees it only while
    # they may see the source. The calibration JSON: figures, a reviewer's own.
    "reference-detail": lambda w: [
        reverse("reference-detail", args=[w.project.slug, r.pk])
        for r in Reference.objects.filter(study__project=w.project)
    ],
    "calibration-json": _per_project("calibration-json"),
    # Blinding hides people's work, not the paper: any member may read it.
    "paper-file": lambda w: [
        reverse("paper-file", kwargs={"paper": p.uuid})
        for p in Paper.objects.filter(study__project=w.project)
    ],
    **API_SWEEP,
}

# Pages that show no project data at all (auth, the instrument catalogue).
STATIC = {
    "healthz",
    "livez",
    "login",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "instrument-list",
    "instrument-detail",
    "instrument-audit",
    "project-create",
    "account-notifications",
    "javascript-catalog",
    "api-schema",
    "api-docs",
    "api-versions",
    "api-version",
    "account-tokens",
    # Two-factor for local accounts
    "two-factor",
    "two-factor-setup",
    "two-factor-recovery",
    "two-factor-disable",
    "two-factor-verify",
}

# Routes only some roles may open at all, whatever the blinding (who exactly is
# tests/test_permissions.py's business). With World.pick set, the sweep asks
# them for those roles and for one other member per example.
GATED = {
    "assessment-history": "manage",
    "consensus-view": "adjudicate",
    "project-disagreements": "adjudicate",
    "project-edit": "manage",
    "project-members": "manage",
    "project-assign": "manage",
    "project-audit": "manage",
    "study-add": "manage",
    "study-edit": "manage",
    "study-import": "manage",
    "score-import": "manage",
    "reference-detail": "manage",
    "calibration-overview": "manage",
    "calibration-settings": "manage",
}


def _passes(w: World, user: Any, gate: str) -> bool:
    member = w.memberships.get(user.pk)
    if user.is_staff or (member is not None and member.role == "lead"):
        return True
    return gate == "adjudicate" and member is not None and member.adjudicator


# Routes that may refuse everyone (not ready, not comparable yet); any other
# route refusing every user every URL means the sweep's URLs went stale.
MAY_REFUSE_EVERYONE = {"report-download", "consensus-view", "api-report-file"}

# Routes answering no GET, or pure actions; a reason word each.
EXCLUDED: dict[str, str] = {
    "logout": "post-only",
    "relogin": "post-only",
    "choose-language": "post-only",
    "study-exclude": "action",
    "study-bulk": "action",
    "study-conflict": "action",
    "study-assign": "action",
    "assessment-reassign": "action",
    "assessment-answer": "action",
    "assessment-submit": "action",
    "assessment-reopen": "action",
    "consensus-start": "action",
    "consensus-resolve": "action",
    "consensus-finalise": "action",
    "consensus-refresh": "action",
    "consensus-discard": "action",
    "consensus-adopt-quote": "action",
    "report-retry": "action",
    "study-paper": "action",
    "reading-preferences": "action",
    "account-token-revoke": "action",
    "reference-mark": "action",
    "reference-withdraw": "action",
    "calibration-rereads": "action",
    "calibration-assign": "action",
    "bench-baseline": "post-only",
    "training-start": "action",
    "api-assignments": "action",
    "api-answer": "action",
    "api-submit": "action",
}


# --- report contents, in place of the PDFs --------------------------------------------


def _text_of(obj: Any) -> str:
    """Every string reachable from a report context (models: their loaded fields)."""
    out: list[str] = []
    seen: set[int] = set()
    keep: list[Any] = []  # visited objects stay alive, so no id is reused

    def walk(value: Any, depth: int) -> None:
        if value is None or isinstance(value, bool | int | float | Decimal):
            return
        if isinstance(value, str):
            out.append(value)
            return
        if depth > 12 or id(value) in seen or isinstance(value, Definition):
            return  # the instrument's own text carries no marker
        seen.add(id(value))
        keep.append(value)
        if isinstance(value, Model):
            walk({k: v for k, v in vars(value).items() if k != "_state"}, depth + 1)
            walk(dict(value._state.fields_cache), depth + 1)
            prefetched = getattr(value, "_prefetched_objects_cache", {})
            walk(list(prefetched.values()), depth + 1)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k, depth + 1)
                walk(v, depth + 1)
        elif isinstance(value, QuerySet | list | tuple | set | frozenset):
            for item in value:
                walk(item, depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name), depth + 1)
        elif hasattr(value, "__dict__") and not callable(value):
            walk(vars(value), depth + 1)
        else:
            out.append(str(value))

    walk(obj, 0)
    return "\n".join(out)


@dataclass
class Built:
    """One report's content as the PDF renderer would get it."""

    label: str
    req: reports.ReportRequest
    context: dict[str, Any]

    @property
    def text(self) -> str:
        return _text_of(self.context)

    def rendered(self) -> str:
        """The report's HTML (no PDF), to tell a shown leak from a context-only one."""
        extra = {"project": self.req.project, "version": self.req.version}
        extra |= {"generated_at": None, "requested_by": self.req.user}
        return render_to_string(f"reports/{self.req.kind}.html", self.context | extra)


def _report_contexts(w: World, user: Any) -> Iterator[Built]:
    """Every report the user may request, built as the view would (no PDF)."""
    for a in w.assessments:
        try:
            # The request view fetches the assessment exactly like this.
            target = access.get_own_assessment(user, a.uuid)
        except (Http404, PermissionDenied):
            continue
        req = reports.ReportRequest(
            kind="assessment",
            project=w.project,
            version=target.version,
            user=user,
            study=target.study,
            assessment=target,
        )
        label = f"assessment report of {w.describe(a)}"
        yield Built(label, req, reports.assessment_context(req))
    for s in w.studies:
        for v in _some(w, w.versions, salt=2):
            req = reports.ReportRequest(
                kind="study", project=w.project, version=v, user=user, study=s
            )
            label = f"study report of {w.study_label[s.pk]}/{v.key}"
            yield Built(label, req, reports.study_context(req))
    for v in _some(w, w.versions, salt=3):
        req = reports.ReportRequest(
            kind="project", project=w.project, version=v, user=user, appendix=True
        )
        label = f"project report {v.key} (appendix)"
        yield Built(label, req, reports.project_context(req, lambda _: None))


BUILDERS = {"report-request": _report_contexts}


# --- the sweep ------------------------------------------------------------------------


@dataclass
class Finding:
    who: str
    where: str
    what: str


def _body(response: Any) -> str:
    raw = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    if raw[:2] == b"PK":  # XLSX: the sheets' XML
        with zipfile.ZipFile(io.BytesIO(raw)) as book:
            return "\n".join(
                book.read(name).decode("utf-8", "replace")
                for name in book.namelist()
                if name.endswith(".xml")
            )
    return raw.decode("utf-8", "replace")


def _marker_findings(
    w: World, user: Any, where: str, text: str, hidden: dict[int, str]
) -> list[Finding]:
    by_pk = {a.pk: a for a in w.assessments}
    found = []
    for pk, kind in sorted({(int(p), k) for p, k in MARKER.findall(text)}):
        if pk in hidden:
            what = (
                f"MARK-{pk}-{kind}: {MARKER_KINDS[kind]} of {w.describe(by_pk[pk])}; "
                f"hidden because {hidden[pk]}"
            )
            found.append(Finding(w.who(user), where, what))
    return found


def _version_of(w: World, url: str) -> InstrumentVersion | None:
    # The pages take ?version=, the API a path segment (/agreement/rqs-1.0/).
    match = re.search(r"[?&]version=([^&]+)", url) or re.search(
        r"/api/v1/.*/(?:agreement|dashboard)/([^/?]+)/", url
    )
    if match is None:
        return w.versions[0] if w.versions else None
    value = match.group(1)
    return next((v for v in w.versions if value in (str(v.pk), v.key)), None)


def _study_by_uuid(w: World, uuid: str) -> Study | None:
    return next((s for s in w.studies if str(s.uuid) == uuid), None)


STALE_PARSER = "the %s page changed: update the sweep's reading of it"


def _dashboard_findings(w: World, user: Any, url: str, html: str) -> list[Finding]:
    version = _version_of(w, url)
    if version is None:
        return []
    out = []
    allowed = scored_studies_visible(w, user, version.pk)
    body = html.split('<h2 class="h5 mt-4">Studies</h2>', 1)[-1]
    for row in body.split("<tr>")[1:]:
        match = re.search(rf"/s/({UUID})/", row)
        study = _study_by_uuid(w, match.group(1)) if match else None
        if study is not None and "%)" in row and study.pk not in allowed:
            out.append(
                Finding(
                    w.who(user),
                    f"GET {url}",
                    f"the study table shows a score for {w.study_label[study.pk]} "
                    f"({version.key}) whose result is hidden from them",
                )
            )
    count = re.search(r"<p>(\d+) studies with a result", html)
    if count is None:
        return [Finding("the sweep", f"GET {url}", STALE_PARSER % "dashboard")]
    if int(count.group(1)) > len(allowed):
        out.append(
            Finding(
                w.who(user),
                f"GET {url}",
                f"the figures count {count.group(1)} studies with a result, but only "
                f"{len(allowed)} results are visible to them "
                f"({_names(w, allowed) or 'none'}): hidden studies enter the figures",
            )
        )
    return out


def _names(w: World, pks: Iterable[int]) -> str:
    return ", ".join(sorted(w.study_label[pk] for pk in pks))


def _agreement_findings(
    w: World, user: Any, url: str, data: dict[str, Any] | None, html: str | None
) -> list[Finding]:
    version = _version_of(w, url)
    if version is None:
        return []
    out = []
    allowed = agreement_studies_allowed(w, user, version.pk)
    if data is not None:
        n_studies = data.get("n_studies") or 0
        leniency = data.get("leniency") or []
        pairs = sum(int(row.get("n") or 0) for row in leniency)
    else:
        assert html is not None
        match = re.search(r'data-testid="n-studies">(\d+)', html)
        if match is None:
            return [Finding("the sweep", f"GET {url}", STALE_PARSER % "agreement")]
        n_studies = int(match.group(1))
        _, heading, rest = html.partition('id="leniency-heading"')
        shown = heading and "<table" in rest.split("</section>", 1)[0]
        pairs = -1 if shown else 0  # a leniency table, its count unknown
    if n_studies > len(allowed):
        out.append(
            Finding(
                w.who(user),
                f"GET {url}",
                f"agreement over {n_studies} studies of {version.key}, but only "
                f"{len(allowed)} may enter for them ({_names(w, allowed) or 'none'}): "
                "a study they are blinded to enters the figures",
            )
        )
    may = leniency_pairs_allowed(w, user, version.pk)
    if pairs != 0 and (may == 0 or pairs > may):
        out.append(
            Finding(
                w.who(user),
                f"GET {url}",
                f"reviewer leniency shown ({'a table' if pairs < 0 else pairs} "
                f"pairs); allowed {may}: per-reviewer figures are for leads and "
                "staff, and never from a study they are blinded to",
            )
        )
    return out


def _report_structure_findings(
    w: World, user: Any, label: str, context: dict[str, Any]
) -> list[Finding]:
    if "board" not in context:
        return []
    version = context["board"].version
    allowed = scored_studies_visible(w, user, version.pk)
    out = []
    for row in context.get("rows", []):
        study = _study_by_uuid(w, str(row["uuid"]))
        shown = row.get("final_total") is not None or row.get("is_final")
        if study is not None and shown and study.pk not in allowed:
            out.append(
                Finding(
                    w.who(user),
                    label,
                    f"the study table shows the result of {w.study_label[study.pk]} "
                    "hidden from them",
                )
            )
    n = context["board"].figures.get("summary", {}).get("n", 0)
    if n > len(allowed):
        out.append(
            Finding(
                w.who(user),
                label,
                f"the figures count {n} studies with a result, only {len(allowed)} "
                "visible to them",
            )
        )
    return out


def _figures_as_table(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Charts without drawing them: the figures they show, as one data table."""
    text = json.dumps(figures, sort_keys=True, default=str)
    table = {"caption": "figures", "headers": ["figures"], "rows": [[text]]}
    return [{"title": "figures", "src": "", "alt": "", "table": table}]


@contextlib.contextmanager
def undrawn_charts() -> Iterator[None]:
    """Charts show the figures only, and drawing them (matplotlib) costs tenths
    of a second for each new set of figures: the sweep puts the figures
    themselves in their place (the same data), to fit a CI budget. The charts'
    own tests draw them.
    """
    with contextlib.ExitStack() as stack:
        for name in (
            "assessments.renderers.figures",
            "assessments.renderers.reports",
            "assessments.views.dashboard",
        ):
            module = importlib.import_module(name)
            if hasattr(module, "render_charts"):
                stack.enter_context(
                    mock.patch.object(module, "render_charts", _figures_as_table)
                )
        yield


def sweep(w: World, labels: Iterable[str] | None = None) -> list[Finding]:
    """Every read path for every (chosen) user; what they must not see."""
    # Refusals are expected by the hundred; their warnings would flood the log.
    quiet = logging.getLogger("django.request")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with undrawn_charts():
            return _sweep(w, labels)
    finally:
        quiet.setLevel(level)


def _sweep(w: World, labels: Iterable[str] | None) -> list[Finding]:
    names = {r.name for r in [*app_routes(), *api_routes()]}
    findings: list[Finding] = []
    User = get_user_model()
    labels = list(labels or w.users)
    answered: dict[str, set[int]] = {}  # statuses per route, everyone's
    for label in labels:
        user = User.objects.get(pk=w.users[label].pk)  # no cached memberships
        hidden = hidden_markers(w, user)
        client = Client()
        client.force_login(user)
        routes = names & SWEEP.keys()
        if label not in _some(w, labels):
            routes -= STATIC
        if label not in _some(w, labels, salt=1):
            routes -= {r for r, gate in GATED.items() if not _passes(w, user, gate)}
        for name in sorted(routes):
            for url in SWEEP[name](w):
                where = f"GET {url} [{name}]"
                try:
                    response = client.get(url)
                except Exception as exc:  # a 500: the view crashed
                    findings.append(Finding(w.who(user), where, f"raised {exc!r}"))
                    continue
                if response.status_code >= 500:
                    findings.append(
                        Finding(w.who(user), where, f"status {response.status_code}")
                    )
                    continue
                answered.setdefault(name, set()).add(response.status_code)
                text = _body(response)
                findings += _marker_findings(w, user, where, text, hidden)
                if response.status_code != 200:
                    continue
                if name == "project-dashboard":
                    findings += _dashboard_findings(w, user, url, text)
                elif name in ("project-agreement-json", "api-agreement"):
                    findings += _agreement_findings(
                        w, user, url, json.loads(text), None
                    )
                elif name == "project-agreement":
                    findings += _agreement_findings(w, user, url, None, text)
        for name, build in BUILDERS.items():
            try:
                contexts = list(build(w, user))
            except Exception as exc:
                findings.append(Finding(w.who(user), name, f"raised {exc!r}"))
                continue
            for built in contexts:
                where = f"{built.label} [{name}]"
                found = _marker_findings(w, user, where, built.text, hidden)
                if found:
                    findings += _shown_or_not(built, found)
                ctx = built.context
                findings += _report_structure_findings(w, user, where, ctx)
    everyone = set(labels) == set(w.users)
    for name, statuses in sorted(answered.items()):
        if w.pick is not None and name in STATIC:
            continue  # asked by one user only
        if everyone and min(statuses) >= 400 and name not in MAY_REFUSE_EVERYONE:
            why = f"every user got {sorted(statuses)} for every URL of {name}"
            findings.append(Finding("the sweep", name, f"{why}: fix its URLs"))
    return findings


def _shown_or_not(built: Built, found: list[Finding]) -> list[Finding]:
    """Say whether the report's HTML shows the marker or only its context has it."""
    try:
        html = built.rendered()
    except Exception as exc:  # the annotation must not hide the finding
        html, note = "", f" (the report HTML did not render: {exc!r})"
    else:
        note = ""
    for f in found:
        marker = f.what.split(":", 1)[0]
        if note:
            f.what += note
        elif marker in html:
            f.what += " (shown in the report)"
        else:
            f.what += " (in the report context, which the template hides)"
    return found


def summary(findings: list[Finding], limit: int = 60) -> str:
    """One line per user and leak, with the first few paths it showed up in."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        grouped.setdefault((f.who, f.what), []).append(f.where)
    lines = [f"{len(grouped)} leaks (user, what, where):"]
    for (who, what), wheres in sorted(grouped.items())[:limit]:
        more = f" (+{len(wheres) - 3} more paths)" if len(wheres) > 3 else ""
        lines.append(f"- {who} sees {what}\n    in {'; '.join(wheres[:3])}{more}")
    if len(grouped) > limit:
        lines.append(f"... and {len(grouped) - limit} more")
    return "\n".join(lines)


# --- building a world through the services --------------------------------------------


def marked_sources(consensus: Assessment) -> dict[str, list[str]]:
    """A resolution's sources (reviewer -> choices) as each reviewer's marker."""
    reviewers = Assessment.objects.filter(
        study_id=consensus.study_id, version_id=consensus.version_id, kind="reviewer"
    ).select_related("reviewer")
    return {a.reviewer.get_username(): [f"MARK-{a.pk}-SC"] for a in reviewers}


def marked_quote(a: Assessment) -> dict[str, Any]:
    """A quote (Answer.quotes) whose text and selectors carry the marker."""
    mark = f"MARK-{a.pk}-QT"
    return {
        "id": f"{a.pk:032x}",
        "paper": "00000000-0000-4000-8000-000000000000",
        "sha256": "0" * 64,
        "page": 1,
        "exact": mark,
        "prefix": mark,
        "suffix": mark,
        "start": None,
        "end": None,
        "verified": False,
        "by": "someone",
        "at": "2025-01-01T00:00:00+00:00",
    }


def write_markers(w: World) -> None:
    """Unique markers in every answer, band and rationale (survive as .update()).

    A consensus's resolutions record each reviewer's choices: those become the
    reviewer's marker (`-SC`), so showing them is caught like their evidence.
    """
    for a in Assessment.objects.filter(study__project=w.project):
        Answer.objects.filter(assessment=a).update(
            evidence=f"MARK-{a.pk}-EV",
            comment=f"MARK-{a.pk}-CM",
            quotes=[marked_quote(a)],
        )
        Assessment.objects.filter(pk=a.pk).update(band=f"MARK-{a.pk}-BD")
        if a.kind == "consensus":
            Resolution.objects.filter(consensus=a).update(
                rationale=f"MARK-{a.pk}-RA", sources=marked_sources(a)
            )
    w.reload()


def fill(assessment: Assessment, user: Any, answers: dict[str, list[str]]) -> None:
    """Answer through autosave, the markers typed as evidence and comment."""
    for code, choices in answers.items():
        current = Answer.objects.filter(assessment=assessment, item_code=code).first()
        data = answering.AnswerInput(
            code,
            choices,
            evidence=f"MARK-{assessment.pk}-EV",
            page="4",
            comment=f"MARK-{assessment.pk}-CM",
        )
        answering.save_answer(
            assessment=assessment,
            user=user,
            data=data,
            seen_revision=current.revision if current else 0,
        )


def submit(assessment: Assessment, user: Any, answers: dict[str, list[str]]) -> None:
    """The first answers through autosave, the rest at once (with their history)."""
    typed = dict(list(answers.items())[:2])
    fill(assessment, user, typed)
    rest = [
        Answer(
            assessment=assessment,
            item_code=code,
            choices=choices,
            evidence=f"MARK-{assessment.pk}-EV",
            comment=f"MARK-{assessment.pk}-CM",
            updated_by=user,
        )
        for code, choices in answers.items()
        if code not in typed
    ]
    bulk_create_with_history(rest, Answer, default_user=user)
    answering.submit_assessment(assessment=assessment, user=user)


def reopen(assessment: Assessment, actor: Any) -> None:
    answering.reopen_assessment(
        assessment=Assessment.objects.get(pk=assessment.pk),
        user=actor,
        reason="recheck the validation cohort",
    )


def run_consensus(
    study: Study, version: InstrumentVersion, actor: Any, final: bool
) -> Assessment | None:
    """Start (and maybe finalise) a consensus; None when the service refuses."""
    try:
        target = consensus.start_consensus(study=study, version=version, user=actor)
    except ValidationError:
        return None
    if not final:
        return target
    view = consensus.disagreements(study, version)
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    try:
        for row in view.disputed:
            consensus.resolve_item(
                consensus=target,
                item_code=row.code,
                choices=row.answers[0].choices,
                rationale=f"MARK-{target.pk}-RA",
                user=actor,
            )
        consensus.finalise_consensus(consensus=target, user=actor)
    except (ValidationError, answering.LockedAssessment):
        pass  # refused (e.g. stale): it stays started
    # The audit log keeps each decision's sources too: the same markers.
    for event in AuditEvent.objects.filter(
        pk__gt=before or 0, action="consensus-resolve", detail__has_key="sources"
    ):
        event.detail["sources"] = marked_sources(target)
        event.save(update_fields=["detail"])
    return target


@dataclass(frozen=True)
class Assignment:
    who: str  # label of the reviewer
    state: str
    answers: int  # index into the version's answer sets


@dataclass(frozen=True)
class Plan:
    keys: tuple[str, ...]
    n_reviewers: int
    blinding: bool
    adjudicator_role: str
    studies: tuple[tuple[int, str, str], ...]  # year, modality, disease
    assignments: dict[tuple[int, str], tuple[Assignment, ...]]
    consensus: dict[tuple[int, str], str]  # none, started, final
    late: dict[tuple[int, str], bool]  # assign one more reviewer afterwards
    reporter: str  # who requested a report
    pick: int  # which filter values and export options to sweep


@st.composite
def plans(draw: Any) -> Plan:
    # Repeated values weigh the draws towards the richer cases.
    keys = draw(st.sampled_from([KEYS, ("rqs-1.0",), KEYS, KEYS]))
    n_reviewers = draw(st.integers(2, 4))
    adjudicator_role = draw(st.sampled_from(["reviewer", "observer"]))
    lead_reviews = draw(st.booleans())
    pool = [f"r{n}" for n in range(1, n_reviewers + 1)]
    if adjudicator_role == "reviewer":
        pool.append("adjudicator")
    if lead_reviews:
        pool.append("lead")
    n_studies = draw(st.integers(2, 3))
    studies = tuple(
        draw(
            st.tuples(
                st.sampled_from([2021, 2022]),
                st.sampled_from(["CT", "MRI"]),
                st.sampled_from(["lung cancer", "glioma"]),
            )
        )
        for _ in range(n_studies)
    )
    some = st.lists(st.sampled_from(pool), unique=True, min_size=1, max_size=2)
    states = st.sampled_from(["submitted", *STATES, "submitted", "assigned"])
    assignments, plan_consensus, late = {}, {}, {}
    for i in range(n_studies):
        first = draw(some)
        for key in keys:
            # The same reviewers on every instrument of a study, or others
            # (maybe nobody: the study is not appraised with that instrument).
            same = key == keys[0] or draw(st.sampled_from([True, False, True]))
            who = (
                first
                if same
                else draw(st.lists(st.sampled_from(pool), unique=True, max_size=2))
            )
            assignments[(i, key)] = tuple(
                Assignment(w, draw(states), draw(st.integers(0, 2))) for w in who
            )
            plan_consensus[(i, key)] = draw(
                st.sampled_from(["final", "none", "started", "final"])
            )
            late[(i, key)] = draw(st.booleans())
    return Plan(
        keys=keys,
        n_reviewers=n_reviewers,
        blinding=draw(st.sampled_from([True, False, True, True])),
        adjudicator_role=adjudicator_role,
        studies=studies,
        assignments=assignments,
        consensus=plan_consensus,
        late=late,
        reporter=draw(st.sampled_from([*pool, *OTHERS])),
        pick=draw(st.integers(0, 59)),
    )


def make_world(
    keys: tuple[str, ...],
    n_reviewers: int,
    *,
    blinding: bool = True,
    adjudicator_role: str = "reviewer",
) -> World:
    """Members: r1..rn, lead, observer, adjudicator, unassigned reviewer, staff."""
    lead = UserFactory(username="lead")
    reviewers = [UserFactory(username=f"r{n}") for n in range(1, n_reviewers + 1)]
    unassigned = UserFactory(username="unassigned")
    project = make_project(
        lead=lead,
        reviewers=[*reviewers, unassigned],
        keys=keys,
        slug="p",
        blinding=blinding,
    )
    observer = UserFactory(username="observer")
    projects.set_membership(
        project=project, member=observer, role=Membership.Role.OBSERVER, user=lead
    )
    adjudicator = UserFactory(username="adjudicator")
    projects.set_membership(
        project=project,
        member=adjudicator,
        role=adjudicator_role,
        adjudicator=True,
        user=lead,
    )
    staff = UserFactory(username="staff", is_staff=True, is_superuser=True)
    users = {f"r{n}": u for n, u in enumerate(reviewers, start=1)}
    users.update(
        lead=lead,
        observer=observer,
        adjudicator=adjudicator,
        unassigned=unassigned,
        staff=staff,
    )
    versions = [InstrumentVersion.objects.by_key(k) for k in keys]
    return World(project=project, users=users, versions=versions)


def add_reports(w: World, labels: Iterable[str], study: Study) -> None:
    """Study report requests, queued and never rendered (no PDF in this test)."""
    with mock.patch.object(report_service, "enqueue", lambda report: None):
        for label in labels:
            req = reports.ReportRequest(
                kind="study",
                project=w.project,
                version=w.versions[0],
                user=w.users[label],
                study=study,
            )
            report_service.request_report(req)


def build(plan: Plan) -> World:
    w = make_world(
        plan.keys,
        plan.n_reviewers,
        blinding=plan.blinding,
        adjudicator_role=plan.adjudicator_role,
    )
    actor = w.users["staff"]
    studies = [
        StudyFactory(
            project=w.project,
            title=f"S{i + 1} radiomics of {disease} on {modality}",
            year=year,
            modality=modality,
            disease=disease,
        )
        for i, (year, modality, disease) in enumerate(plan.studies)
    ]
    version = {v.key: v for v in w.versions}
    made: dict[tuple[int, str], list[tuple[Assessment, Assignment]]] = {}
    for (i, key), assigned in plan.assignments.items():  # assign first, then work
        for step in assigned:
            try:
                a = assignment.assign_reviewer(
                    study=studies[i],
                    version=version[key],
                    reviewer=w.users[step.who],
                    user=actor,
                )
            except ValidationError:
                continue  # the service refuses: skip the step
            made.setdefault((i, key), []).append((a, step))
    for (_, key), pairs in made.items():
        for a, step in pairs:
            reviewer = w.users[step.who]
            answers = ANSWER_SETS[key][step.answers]
            if step.state == "in_progress":
                fill(a, reviewer, dict(list(answers.items())[:3]))
            elif step.state in SUBMITTING:
                submit(a, reviewer, answers)
            if step.state == "resubmitted":
                reopen(a, actor)
                answering.submit_assessment(assessment=a, user=reviewer)
            elif step.state == "reopened":
                reopen(a, actor)
    for (i, key), wanted in plan.consensus.items():
        if wanted != "none":
            run_consensus(studies[i], version[key], actor, final=wanted == "final")
    for pairs in made.values():
        for a, step in pairs:
            if step.state == "reopened_late":
                reopen(a, actor)
    for (i, key), late in plan.late.items():
        started = Assessment.objects.filter(
            study=studies[i], version=version[key], kind="consensus"
        ).exists()
        if not (late and started):
            continue
        taken = {a.reviewer_id for a, _ in made.get((i, key), [])}
        for label in sorted(u for u in w.users if re.fullmatch(r"r\d", u)):
            if w.users[label].pk in taken:
                continue
            # Once a consensus has started the service refuses: nothing to test.
            with contextlib.suppress(ValidationError):
                assignment.assign_reviewer(
                    study=studies[i],
                    version=version[key],
                    reviewer=w.users[label],
                    user=actor,
                )
            break
    add_reports(w, [plan.reporter], studies[0])
    write_markers(w)
    w.pick = plan.pick
    return w


# --- the generated sweep --------------------------------------------------------------


class BlindingSweep(HypothesisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        for key in KEYS:
            load_instrument(key)
        # The form's crosswalk panel and the dashboard's concept table are read
        # paths too: with both instruments mapped, the sweep covers them.
        doc = load_crosswalk_file(bundled_crosswalk_files()[0])
        assert load_crosswalk(doc).action == "created"

    # Each example sweeps ~600 requests and report contexts for 7-9 users:
    # 25 take about 2.5 minutes here, well inside CI's budget (see World.pick
    # for what each example samples rather than expands).
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(plans())
    def test_nobody_sees_what_the_blinding_policy_hides(self, plan: Plan) -> None:
        world = build(plan)
        findings = sweep(world)
        assert not findings, summary(findings)


# --- the URLconf is covered -----------------------------------------------------------


def test_every_route_is_swept_or_excluded() -> None:
    names = {r.name for r in [*app_routes(), *api_routes()]}
    covered = SWEEP.keys() | BUILDERS.keys()
    assert not covered & EXCLUDED.keys(), "a route is both swept and excluded"
    missing = names - covered - EXCLUDED.keys()
    assert not missing, f"routes with no blinding sweep entry: {sorted(missing)}"
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)?", r) for r in EXCLUDED.values())


@pytest.mark.django_db
def test_excluded_routes_answer_no_get() -> None:
    client = Client()
    client.force_login(UserFactory(username="staff", is_staff=True, is_superuser=True))
    refused = {}
    for route in [*app_routes(), *api_routes()]:
        if route.name in EXCLUDED:
            status = client.get(route.path()).status_code
            if status != 405:
                refused[route.name] = status
    assert not refused, f"excluded routes that answer a GET: {refused}"


# --- specific scenarios ---------------------------------------------------------------


def _study(w: World, title: str = "S1 radiomics of lung nodules") -> Study:
    return StudyFactory(project=w.project, title=title)


def _assign(w: World, study: Study, key: str, *labels: str) -> list[Assessment]:
    """Assign first (the service refuses some assignments once work is visible)."""
    version = InstrumentVersion.objects.by_key(key)
    return [
        assignment.assign_reviewer(
            study=study, version=version, reviewer=w.users[label], user=w.users["staff"]
        )
        for label in labels
    ]


def _submit(a: Assessment, n: int = 0) -> Assessment:
    submit(a, a.reviewer, ANSWER_SETS[a.version.key][n])
    return a


def _finalised(w: World, study: Study, key: str) -> Assessment:
    version = InstrumentVersion.objects.by_key(key)
    target = run_consensus(study, version, w.users["staff"], final=True)
    assert target is not None
    target.refresh_from_db()
    assert target.status == "submitted"
    return target


def _assert_no_leak(w: World, *labels: str, every_variant: bool = False) -> None:
    w.pick = None if every_variant else 0
    findings = sweep(w, labels)
    assert not findings, summary(findings)


@pytest.mark.django_db
def test_reviewer_assigned_after_final_consensus_sees_nothing_of_study() -> None:
    w = make_world(("rqs-1.0",), 3)
    study = _study(w)
    first, second = _assign(w, study, "rqs-1.0", "r1", "r2")
    _submit(first, 0), _submit(second, 1)
    _finalised(w, study, "rqs-1.0")
    # The assignment service is to refuse this; the state can exist all the same.
    Assessment.objects.create(
        study=study,
        version=first.version,
        reviewer=w.users["r3"],
        kind=Assessment.Kind.REVIEWER,
    )
    write_markers(w)
    assert len(hidden_markers(w, w.users["r3"])) == 3  # r1, r2 and the consensus
    _assert_no_leak(w, "r3")


@pytest.mark.django_db
def test_pending_rqs_review_hides_coreviewer_metrics_evidence_on_same_study() -> None:
    w = make_world(("rqs-1.0", "metrics-1.0"), 2)
    study = _study(w)
    (rqs,) = _assign(w, study, "rqs-1.0", "r1")
    mine, theirs = _assign(w, study, "metrics-1.0", "r1", "r2")
    fill(rqs, w.users["r1"], dict(list(RQS_13.items())[:2]))  # started, not sent
    _submit(mine, 0), _submit(theirs, 1)
    run_consensus(study, theirs.version, w.users["staff"], final=False)
    write_markers(w)
    assert theirs.pk in hidden_markers(w, w.users["r1"])
    # Every dashboard filter value and export variant, for this one reviewer.
    _assert_no_leak(w, "r1", every_variant=True)


@pytest.mark.django_db
def test_observer_never_sees_individual_answers_in_study_report() -> None:
    w = make_world(("rqs-1.0",), 2)
    study = _study(w)
    mine, theirs = _assign(w, study, "rqs-1.0", "r1", "r2")
    _submit(mine, 0), _submit(theirs, 2)
    final = _finalised(w, study, "rqs-1.0")
    write_markers(w)
    req = reports.ReportRequest(
        kind="study",
        project=w.project,
        version=final.version,
        user=w.users["observer"],
        study=study,
    )
    text = _text_of(reports.study_context(req))
    for a in (mine, theirs):
        for kind in ("EV", "CM", "BD"):
            assert f"MARK-{a.pk}-{kind}" not in text, f"observer sees {w.describe(a)}"
    assert f"MARK-{final.pk}-EV" in text  # the final result is in the report
    _assert_no_leak(w, "observer")


@pytest.mark.django_db
def test_unassigned_reviewer_sees_only_final_result() -> None:
    w = make_world(("rqs-1.0",), 2)
    done, open_ = _study(w), _study(w, "S2 radiomics of glioma")
    for study in (done, open_):
        first, second = _assign(w, study, "rqs-1.0", "r1", "r2")
        _submit(first, 0), _submit(second, 1)
    final = _finalised(w, done, "rqs-1.0")
    write_markers(w)
    client = Client()
    client.force_login(w.users["unassigned"])
    response = client.get(reverse("assessment-json", kwargs={"uuid": final.uuid}))
    assert response.status_code == 200
    assert f"MARK-{final.pk}-EV" in response.content.decode()
    assert len(hidden_markers(w, w.users["unassigned"])) == 4
    _assert_no_leak(w, "unassigned")


@pytest.mark.django_db
def test_leniency_hidden_from_observers_and_reviewers() -> None:
    w = make_world(("rqs-1.0",), 3, adjudicator_role="reviewer")
    for n in range(3):  # enough final studies for a leniency figure
        study = _study(w, f"S{n + 1} radiomics of lung")
        first, second = _assign(w, study, "rqs-1.0", "r1", "r2")
        _submit(first, 0), _submit(second, n)
        _finalised(w, study, "rqs-1.0")
    w.reload()
    url = reverse("project-agreement-json", kwargs={"slug": w.project.slug})
    shown = {}
    for label in w.users:
        client = Client()
        client.force_login(w.users[label])
        response = client.get(url, {"version": "rqs-1.0"})
        assert response.status_code == 200
        shown[label] = bool(response.json().get("leniency"))
    assert shown["lead"] and shown["staff"]  # the figure exists, for leads
    leaked = sorted(label for label, seen in shown.items() if seen)
    assert leaked == ["lead", "staff"], f"leniency shown to {leaked}"
    _assert_no_leak(w, "observer", "r1")


@pytest.mark.django_db
def test_reopened_assessment_does_not_reblind_its_reviewer() -> None:
    w = make_world(("rqs-1.0",), 2)
    study = _study(w)
    mine, theirs = _assign(w, study, "rqs-1.0", "r1", "r2")
    _submit(mine, 0), _submit(theirs, 1)
    reopen(mine, w.users["staff"])
    write_markers(w)
    assert hidden_markers(w, w.users["r1"]) == {}
    client = Client()
    client.force_login(w.users["r1"])
    response = client.get(reverse("assessment-json", kwargs={"uuid": theirs.uuid}))
    assert response.status_code == 200
    assert f"MARK-{theirs.pk}-EV" in response.content.decode()
    _assert_no_leak(w, "r1")


@pytest.mark.django_db
def test_without_blinding_observers_and_unassigned_still_see_final_results_only() -> (
    None
):
    w = make_world(("rqs-1.0",), 2, blinding=False)
    study = _study(w)
    mine, _ = _assign(w, study, "rqs-1.0", "r1", "r2")
    _submit(mine, 0)
    write_markers(w)
    assert hidden_markers(w, w.users["r2"]) == {}  # no waiting without blinding
    _assert_no_leak(w, "observer", "unassigned", "r2")


@pytest.mark.django_db
def test_lead_who_reviews_a_study_waits_for_its_other_instruments_too() -> None:
    w = make_world(("rqs-1.0", "metrics-1.0"), 2)
    study = _study(w)
    (mine,) = _assign(w, study, "rqs-1.0", "lead")
    first, _ = _assign(w, study, "metrics-1.0", "r1", "r2")
    _submit(mine, 0), _submit(first, 0)  # r2 has not submitted METRICS yet
    write_markers(w)
    assert first.pk in hidden_markers(w, w.users["lead"])
    _assert_no_leak(w, "lead")


@pytest.mark.django_db
def test_adjudicator_waits_until_every_reviewer_submitted() -> None:
    w = make_world(("rqs-1.0",), 2, adjudicator_role="observer")
    study = _study(w)
    first, second = _assign(w, study, "rqs-1.0", "r1", "r2")
    _submit(first, 0)
    write_markers(w)
    assert first.pk in hidden_markers(w, w.users["adjudicator"])
    _assert_no_leak(w, "adjudicator")
    _submit(Assessment.objects.get(pk=second.pk), 1)
    run_consensus(study, first.version, w.users["staff"], final=False)
    write_markers(w)
    assert hidden_markers(w, w.users["adjudicator"]) == {}  # unblinded now
    client = Client()
    client.force_login(w.users["adjudicator"])
    response = client.get(reverse("assessment-json", kwargs={"uuid": first.uuid}))
    assert f"MARK-{first.pk}-EV" in response.content.decode()
