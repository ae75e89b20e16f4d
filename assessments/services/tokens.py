"""Personal access tokens: made for chosen projects, revoked by their owner,
each step in the history of every project the token reaches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..models import ApiToken, AuditEvent, Project
from ..models.tokens import MAX_DAYS


def _check(*, user: Any, name: str, projects: list[Project], days: int) -> None:
    problems = []
    if not name.strip():
        problems.append(_("Give the token a name, so you can tell it apart later."))
    if not 1 <= days <= MAX_DAYS:
        problems.append(
            _("A token lasts between 1 and %(most)s days; %(days)s is outside that.")
            % {"most": MAX_DAYS, "days": days}
        )
    if not projects:
        problems.append(_("Choose at least one project for the token."))
    visible = set(
        access.visible_projects(user)
        .filter(pk__in=[p.pk for p in projects])
        .values_list("pk", flat=True)
    )
    closed = [p.name for p in projects if p.pk not in visible]
    if closed:
        problems.append(
            _(
                "You cannot open these projects, so a token cannot reach them: "
                "%(projects)s."
            )
            % {"projects": ", ".join(closed)}
        )
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def create_token(
    *,
    user: Any,
    name: str,
    projects: Iterable[Project],
    write: bool,
    days: int,
) -> tuple[ApiToken, str]:
    """A new token for `user` limited to `projects`, and its raw value, which
    nobody can see again: the database keeps only its digest."""
    chosen = list(dict.fromkeys(projects))
    name = name.strip()
    _check(user=user, name=name, projects=chosen, days=days)
    token, raw = ApiToken.make(user=user, name=name, days=days, write=write)
    token.projects.set(chosen)
    detail = {"write": write, "expires": token.expires_at.date().isoformat()}
    for project in chosen:
        AuditEvent.objects.record(project.pk, user, "api-token-created", name, detail)
    return token, raw


@transaction.atomic
def revoke_token(*, token: ApiToken, user: Any) -> ApiToken:
    """Stop the token working at once; revoking it again changes nothing."""
    if token.user_id != getattr(user, "pk", None):
        raise PermissionDenied(_("Only the person who made a token can revoke it."))
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    for project_id in token.projects.values_list("pk", flat=True):
        AuditEvent.objects.record(project_id, user, "api-token-revoked", token.name)
    return token
