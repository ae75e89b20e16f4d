"""What every API view shares: the login rule, the project, the version, the
audit trail, and the `warnings` array."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from rest_framework.request import Request
from rest_framework.views import APIView

from .. import access, selectors
from ..models import AuditEvent, InstrumentVersion, Project


class ApiView(APIView):
    """An API view: DRF authenticates (a token or the session), so the site's
    login-required middleware, which would redirect to a login page, stands
    aside."""

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return login_not_required(super().as_view(**initkwargs))


def project_for(
    request: Request, slug: str, action: access.Action = access.Action.VIEW
) -> Project:
    """404 for non-members and outside the token's scope; 403 for the role."""
    return access.get_project(request.user, slug, action)


def version_for(project: Project, key: str) -> InstrumentVersion:
    version = selectors.project_version(project, key)
    if version is None or key != version.key:
        raise Http404(f"This project does not use the instrument version '{key}'.")
    return version


def audit(
    request: Request,
    project: Project,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """API reads of answers and every API write, in the project's history."""
    token = getattr(request.auth, "name", None)
    AuditEvent.objects.record(
        project.pk,
        request.user,
        action,
        target,
        {**(detail or {}), "token": token} if token else detail,
    )
