"""E-mail notifications: assigned, reopened, consensus needed, report ready.

Mails are written inside the workflow's transaction (so they describe what
was committed) and sent after it commits. A mail server that is down is
logged and never fails the workflow: the work is saved, only the e-mail is
lost. Each person can switch every kind off (NotificationPreferences).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import access
from ..models import (
    Assessment,
    InstrumentVersion,
    Membership,
    NotificationPreferences,
    Report,
    Study,
)
from ..selectors.disagreements import disputed_items
from ..selectors.worklist import instrument_label
from . import languages

logger = logging.getLogger(__name__)
P = ParamSpec("P")
Kind = NotificationPreferences.Kind
# A mail's subject and template context, drawn in the recipient's language.
Compose = Callable[[], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Mail:
    kind: str
    username: str
    address: str
    subject: str
    body: str


def _never_fails(notify: Callable[P, None]) -> Callable[P, None]:
    """A notification is a courtesy: whatever goes wrong, the workflow goes on."""

    @functools.wraps(notify)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            # A savepoint: a failed read here leaves the caller's transaction usable.
            with transaction.atomic():
                notify(*args, **kwargs)
        except Exception:
            logger.exception("A notification e-mail could not be prepared.")

    return guarded


def link(name: str, *args: Any) -> str:
    """An absolute address of a page, for a mail read outside the browser."""
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


def _wanting(kind: str, users: Iterable[Any]) -> list[Any]:
    """The users with an e-mail address who have not switched this kind off."""
    users = [u for u in users if u is not None and u.email]
    off = set(
        NotificationPreferences.objects.filter(
            user_id__in=[u.pk for u in users], **{kind: False}
        ).values_list("user_id", flat=True)
    )
    return [u for u in users if u.pk not in off]


def _deliver(mails: Sequence[Mail]) -> None:
    for mail in mails:
        try:
            send_mail(mail.subject, mail.body, None, [mail.address])
        except Exception:
            label = Kind(mail.kind).label.lower()
            logger.exception(
                "The e-mail '%s' to %s could not be sent (notification: %s); "
                "the work itself is saved.",
                mail.subject,
                mail.username,
                label,
            )


def _send_on_commit(
    kind: str, users: Iterable[Any], template: str, compose: Compose
) -> int:
    settings_url = link("account-notifications")
    mails = []
    for user in _wanting(kind, users):
        # Each person reads the mail in their own language, whoever caused it.
        with translation.override(languages.of_user(user)):
            subject, context = compose()
            body = render_to_string(
                template, {**context, "user": user, "settings_url": settings_url}
            )
        mails.append(Mail(kind, user.get_username(), user.email, subject, body))
    if mails:
        transaction.on_commit(lambda: _deliver(mails))
    return len(mails)


def _study_words(study: Study) -> str:
    title = str(study.title)
    return title if len(title) <= 80 else title[:79] + "…"


# --- the four kinds ------------------------------------------------------------


@_never_fails
def notify_assigned(assessments: Iterable[Assessment]) -> None:
    """Tell each reviewer what was assigned to them: one mail per reviewer."""
    uuids = [a.uuid for a in assessments if a.reviewer_id is not None]
    if not uuids:
        return
    by_reviewer: dict[Any, list[Assessment]] = defaultdict(list)
    found = (
        Assessment.objects.filter(uuid__in=uuids)
        .select_related("study__project", "version__instrument")
        .order_by("study__title", "pk")
    )
    for assessment in found:
        by_reviewer[assessment.reviewer_id].append(assessment)
    reviewers = get_user_model().objects.in_bulk(list(by_reviewer))
    for reviewer_id, rows in by_reviewer.items():
        project = rows[0].study.project
        items = [
            {
                "study": _study_words(a.study),
                "instrument": instrument_label(a.version),
                "url": link("assessment-form", a.uuid),
            }
            for a in rows
        ]
        context = {"project": project, "items": items, "worklist": link("queue")}

        def compose(
            items: list[dict[str, Any]] = items,
            project: Any = project,
            context: dict[str, Any] = context,
        ) -> tuple[str, dict[str, Any]]:
            if len(items) == 1:
                subject = _("New review in %(project)s: %(study)s") % {
                    "project": project.name,
                    "study": items[0]["study"],
                }
            else:
                subject = ngettext(
                    "%(n)d new review in %(project)s",
                    "%(n)d new reviews in %(project)s",
                    len(items),
                ) % {"n": len(items), "project": project.name}
            return subject, context

        _send_on_commit(
            Kind.ASSIGNED, [reviewers.get(reviewer_id)], "email/assigned.txt", compose
        )


@_never_fails
def notify_reopened(assessment: Assessment, reason: str) -> None:
    """Tell the reviewer a lead reopened their submitted assessment, and why."""
    if assessment.is_consensus or assessment.reviewer is None:
        return
    study = assessment.study
    context = {
        "project": study.project,
        "study": _study_words(study),
        "instrument": instrument_label(assessment.version),
        "reason": reason.strip(),
        "url": link("assessment-form", assessment.uuid),
    }

    def compose() -> tuple[str, dict[str, Any]]:
        subject = _("Reopened for changes: %(study)s") % {"study": context["study"]}
        return subject, context

    _send_on_commit(Kind.REOPENED, [assessment.reviewer], "email/reopened.txt", compose)


def _deciders(study: Study, version: InstrumentVersion) -> list[Any]:
    """Leads and adjudicators who may open this study's comparison now."""
    members = Membership.objects.filter(
        Q(role=Membership.Role.LEAD) | Q(adjudicator=True), project=study.project
    ).select_related("user")
    return [m.user for m in members if access.may_compare(m.user, study, version)]


@_never_fails
def notify_if_consensus_needed(assessment: Assessment) -> None:
    """After a reviewer's submission: the last one in, and they disagree."""
    if assessment.kind != Assessment.Kind.REVIEWER:
        return  # consensus and calibration work never call for a consensus
    study, version = assessment.study, assessment.version
    if study.training:
        return  # a training study's consensus is a reference, not the review's
    reviewers = Assessment.objects.filter(
        study=study, version=version, kind=Assessment.Kind.REVIEWER
    )
    if reviewers.count() < 2 or reviewers.exclude(status="submitted").exists():
        return
    if Assessment.objects.filter(
        study=study, version=version, kind=Assessment.Kind.CONSENSUS, stale=False
    ).exists():
        return  # a consensus is already under way
    disputed = disputed_items(study, version)
    if not disputed:
        return
    context = {
        "project": study.project,
        "study": _study_words(study),
        "instrument": instrument_label(version),
        "disputed": disputed,
        "url": link("consensus-view", study.project.slug, study.uuid, version.key),
        "list_url": link("project-disagreements", study.project.slug),
    }

    def compose() -> tuple[str, dict[str, Any]]:
        subject = _("Consensus needed: %(study)s") % {"study": context["study"]}
        return subject, context

    _send_on_commit(
        Kind.CONSENSUS_NEEDED,
        _deciders(study, version),
        "email/consensus_needed.txt",
        compose,
    )


@_never_fails
def notify_report_ready(report: Report) -> None:
    """Tell the person who asked for a report that it can be downloaded."""
    report = Report.objects.select_related(
        "project", "version__instrument", "study", "requested_by"
    ).get(pk=report.pk)
    context = {
        "project": report.project,
        "study": _study_words(report.study) if report.study else "",
        "instrument": instrument_label(report.version),
        "url": link("report-status", report.project.slug, report.uuid),
    }

    def compose() -> tuple[str, dict[str, Any]]:
        # Each kind named in a sentence of its own: languages inflect the name
        # (German capitalises it, Dutch chooses its article).
        if report.kind == Report.Kind.ASSESSMENT:
            subject = _("Your assessment report is ready: %(project)s")
        elif report.kind == Report.Kind.STUDY:
            subject = _("Your study report is ready: %(project)s")
        else:
            subject = _("Your project report is ready: %(project)s")
        return subject % {"project": report.project.name}, {
            **context,
            "kind": report.kind,
        }

    _send_on_commit(
        Kind.REPORT_READY, [report.requested_by], "email/report_ready.txt", compose
    )
