"""Projects and their members: creating, editing settings, roles.

Every change is written to the project's audit log. A project always keeps at
least one lead, because only a lead can manage it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Assessment, AuditEvent, InstrumentVersion, Membership, Project
from .changes import bump_data_revision

ROLE_LABELS = dict(Membership.Role.choices)


def version_label(version: InstrumentVersion) -> str:
    return f"{version.short_name or version.name} ({version.key})"


def _lock(project: Project) -> Project:
    # Concurrent edits of one project wait for each other, so two leads
    # demoting each other at once cannot leave the project without a lead.
    return Project.objects.select_for_update().get(pk=project.pk)


# --- projects --------------------------------------------------------------------


@transaction.atomic
def create_project(
    *,
    name: str,
    slug: str,
    versions: Sequence[InstrumentVersion],
    user: Any,
    **fields: Any,
) -> Project:
    _check_published(versions)
    if not versions:
        raise ValidationError(_("Choose at least one published instrument version."))
    project = Project.objects.create(name=name, slug=slug, created_by=user, **fields)
    for position, version in enumerate(versions):
        project.projectinstrument_set.create(version=version, position=position)
    Membership.objects.create(project=project, user=user, role=Membership.Role.LEAD)
    return project


def _check_published(versions: Sequence[InstrumentVersion]) -> None:
    not_published = [version_label(v) for v in versions if v.status != "published"]
    if not_published:
        raise ValidationError(
            _("Not published: %(versions)s.") % {"versions": ", ".join(not_published)}
        )


@transaction.atomic
def update_project(
    *, project: Project, versions: Sequence[InstrumentVersion], user: Any
) -> tuple[list[InstrumentVersion], list[InstrumentVersion]]:
    """Save the settings already set on `project`, and its instrument versions.

    Returns the versions added and removed. Removing a version that
    assessments use is refused, and then nothing at all is saved.
    """
    before = _lock(project)
    current = list(before.instruments.all())
    added = [v for v in versions if v not in current]
    removed = [v for v in current if v not in versions]
    if not versions:
        raise ValidationError(_("Keep at least one instrument version."))
    _check_published(added)
    _refuse_removing_used(project, removed)
    project.save()
    if added or removed:
        _change_instruments(project, added, removed, user)
    if before.blinding != project.blinding:
        _audit_blinding(project, user, before.blinding)
    return added, removed


def _refuse_removing_used(
    project: Project, removed: Sequence[InstrumentVersion]
) -> None:
    used = dict(
        Assessment.objects.filter(study__project=project, version__in=removed)
        .order_by()
        .values("version")
        .annotate(n=Count("id"))
        .values_list("version", "n")
    )
    problems = [
        ngettext(
            "%(version)s cannot be removed: %(count)s assessment in this project "
            "uses it.",
            "%(version)s cannot be removed: %(count)s assessments in this project "
            "use it.",
            used[v.pk],
        )
        % {"version": version_label(v), "count": used[v.pk]}
        for v in removed
        if used.get(v.pk)
    ]
    if problems:
        problems.append(_("Nothing was changed; keep that version ticked."))
        raise ValidationError(" ".join(problems))


def _change_instruments(
    project: Project,
    added: Sequence[InstrumentVersion],
    removed: Sequence[InstrumentVersion],
    user: Any,
) -> None:
    links = project.projectinstrument_set
    links.filter(version__in=removed).delete()
    start = max(links.values_list("position", flat=True), default=-1) + 1
    for position, version in enumerate(added, start=start):
        links.create(version=version, position=position)
    AuditEvent.objects.record(
        project.pk,
        user,
        "instruments changed",
        str(project),
        {
            "added": ", ".join(map(version_label, added)) or "none",
            "removed": ", ".join(map(version_label, removed)) or "none",
        },
    )
    bump_data_revision(project.pk)


def _audit_blinding(project: Project, user: Any, old: bool) -> None:
    # Unblinding shows reviewers each other's answers: the log must say who
    # did it and when.
    state = {True: "on", False: "off"}
    AuditEvent.objects.record(
        project.pk,
        user,
        f"blinding turned {state[project.blinding]}",
        str(project),
        {"old": state[old], "new": state[project.blinding]},
    )


# --- members -----------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in ROLE_LABELS:
        raise ValidationError(
            _("'%(role)s' is not a role; choose %(roles)s.")
            % {"role": role, "roles": ", ".join(map(str, ROLE_LABELS.values()))}
        )


def _keep_a_lead(
    project: Project, existing: Membership | None, role: str | None
) -> None:
    if existing is None or existing.role != Membership.Role.LEAD:
        return
    if role == Membership.Role.LEAD:
        return
    others = Membership.objects.filter(project=project, role=Membership.Role.LEAD)
    if others.exclude(pk=existing.pk).exists():
        return
    if role is None:
        raise ValidationError(
            _(
                "%(member)s is the only lead of this project and cannot be removed. "
                "Make another member lead first."
            )
            % {"member": existing.user}
        )
    raise ValidationError(
        _(
            "%(member)s is the only lead of this project and cannot be made "
            "%(role)s. Make another member lead first."
        )
        % {"member": existing.user, "role": str(ROLE_LABELS[role]).lower()}
    )


@transaction.atomic
def set_membership(
    *,
    project: Project,
    member: Any,
    role: str | None,
    user: Any,
    adjudicator: bool = False,
) -> Membership | None:
    """Add, change or (role None) remove a member; every change is in the history."""
    if role is not None:
        _check_role(role)
    _lock(project)
    existing = Membership.objects.filter(project=project, user=member).first()
    _keep_a_lead(project, existing, role)
    if role is None:
        if existing is not None:
            existing.delete()
        AuditEvent.objects.record(project.pk, user, "member-removed", str(member))
        return None
    membership = existing or Membership(project=project, user=member)
    membership.role = role
    membership.adjudicator = adjudicator
    membership.save()
    AuditEvent.objects.record(
        project.pk,
        user,
        "member-set",
        str(member),
        {"role": role, "adjudicator": adjudicator},
    )
    return membership


@transaction.atomic
def create_member_account(
    *, project: Project, username: str, email: str, role: str, user: Any
) -> Any:
    """A new account, added to the project, that nobody can log in to yet.

    The new member chooses a password through the link that the caller
    e-mails. The random password nobody knows (instead of an unusable one)
    lets "Forgotten your password?" send a new link once that one expired.
    """
    member = get_user_model().objects.create_user(
        username=username, email=email, password=secrets.token_urlsafe(32)
    )
    set_membership(project=project, member=member, role=role, user=user)
    AuditEvent.objects.record(
        project.pk, user, "account-created", username, {"email": email}
    )
    return member


def invite_new_account(
    *, project: Project, username: str, email: str, role: str, user: Any, site: str
) -> Any:
    """Create an account, add it to the project and mail it a set-password link.

    One transaction: if the e-mail cannot be sent, no account is left behind
    that nobody could ever log in to. `site` is the address the link starts with.
    """
    with transaction.atomic():
        member = create_member_account(
            project=project, username=username, email=email, role=role, user=user
        )
        try:
            _send_set_password_link(
                project, member, ROLE_LABELS[role].lower(), user, site
            )
        except OSError as exc:  # smtplib's errors are OSErrors
            raise ValidationError(
                _(
                    "The account was not created: the e-mail to %(email)s could "
                    "not be sent (%(problem)s). Try again, or ask an administrator "
                    "to check the e-mail settings."
                )
                % {"email": email, "problem": exc}
            ) from exc
    return member


def _send_set_password_link(
    project: Project, member: Any, role: str, invited_by: Any, site: str
) -> None:
    """The link is Django's one-time password-reset link, so the page that
    follows it is the usual "Choose a new password" page."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(member.pk)),
            "token": default_token_generator.make_token(member),
        },
    )
    context = {
        "member": member,
        "project": project,
        "invited_by": invited_by,
        "role": role,
        "link": site.rstrip("/") + path,
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = render_to_string("registration/account_created_subject.txt", context)
    body = render_to_string("registration/account_created_email.txt", context)
    send_mail(" ".join(subject.split()), body, None, [member.email])
