"""Signing in through an institution: find or make the account of an identity.

Both protocols (OIDC and SAML) end here with what the provider asserted. The
account is found by (protocol, issuer, subject) alone. A first sign-in makes a
new account with no project access: a lead adds the person to a project as
they would a local user. It never joins an existing account, local or not,
because the e-mail matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ExternalIdentity

User = get_user_model()
_USERNAME_MAX = User._meta.get_field("username").max_length or 150


@dataclass(frozen=True)
class Asserted:
    """What the identity provider said about the person, already verified."""

    protocol: str  # ExternalIdentity.Protocol
    issuer: str
    subject: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    # A hint for the new account's username (preferred_username, uid, the
    # e-mail's local part); it is made unique and never used to match.
    username_hint: str = ""


class SignInRefused(Exception):
    """The identity is known but its account may not sign in (deactivated)."""


def sign_in(asserted: Asserted) -> AbstractBaseUser:
    """The account for this identity, made on first sign-in; names and e-mail
    follow the provider on every sign-in."""
    if not asserted.issuer or not asserted.subject:
        raise SignInRefused(_("The identity provider sent no stable identifier."))
    try:
        with transaction.atomic():
            user = _find_or_make(asserted)
    except IntegrityError:
        # Two first sign-ins of one person at once: the other made the account.
        user = _find_or_make(asserted)
    if not user.is_active:
        raise SignInRefused(
            _("This account is deactivated. Ask the platform's administrator.")
        )
    return user


def _find_or_make(asserted: Asserted) -> AbstractBaseUser:
    identity = (
        ExternalIdentity.objects.select_related("user")
        .filter(
            protocol=asserted.protocol,
            issuer=asserted.issuer,
            subject=asserted.subject,
        )
        .first()
    )
    if identity is None:
        # No password (unusable): the institution decides who this is.
        user = User.objects.create_user(username=_free_username(asserted))
        identity = ExternalIdentity(
            user=user,
            protocol=asserted.protocol,
            issuer=asserted.issuer,
            subject=asserted.subject,
        )
    user = identity.user
    _sync(user, asserted)
    identity.last_login_at = timezone.now()
    identity.save()
    return user


def _sync(user: AbstractBaseUser, asserted: Asserted) -> None:
    wanted = {
        "email": asserted.email.strip(),
        "first_name": asserted.first_name.strip()[:150],
        "last_name": asserted.last_name.strip()[:150],
    }
    changed = [k for k, v in wanted.items() if v and getattr(user, k) != v]
    for name in changed:
        setattr(user, name, wanted[name])
    if changed:
        user.save()


def _free_username(asserted: Asserted) -> str:
    hint = asserted.username_hint or asserted.email.split("@")[0] or "user"
    base = re.sub(r"[^\w.@+-]", "", hint)[: _USERNAME_MAX - 6] or "user"
    if not base[0].isalnum():
        base = "u" + base
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate
