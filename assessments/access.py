"""The one place that decides who may see and do what.

Every view, export, report, JSON endpoint and command asks here. A non-member
gets 404 (no hint that the object exists); a member whose role does not allow
the action gets 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Membership, Project

AnyUser = AbstractBaseUser | AnonymousUser


def visible_projects(user: AnyUser) -> QuerySet[Project]:
    """Projects the user may open: members' projects, every project for staff."""
    if not user.is_authenticated:
        return Project.objects.none()
    if getattr(user, "is_staff", False):
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def role_in(user: AnyUser, project: Project) -> str | None:
    if not user.is_authenticated:
        return None
    membership = Membership.objects.filter(project=project, user=user).first()
    return membership.role if membership else None
